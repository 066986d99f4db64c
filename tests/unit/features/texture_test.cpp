// Texture families on images small enough to count by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "features/autocorrelation.h"
#include "features_test_util.h"

namespace medpipe {
namespace {

using test::feature;
using test::raw_levels;
using test::volume;

FeatureRow features_of(const Image& image, const FeatureSettings& s) {
  Result<RoiVolume> roi = prepare_whole_image(image, s);
  EXPECT_TRUE(roi.ok());
  return compute_features(roi.value(), s);
}

TEST(Glcm, ThreePixelsCountedByHand) {
  // levels 1 2 2 in a row: horizontal pairs (1,2), (2,2), symmetric: p12 = p21 = 1/4, p22 = 1/2;
  // the other directions have no pairs and are left out of the average
  FeatureRow f = features_of(volume(3, 1, 1, {1, 2, 2}), raw_levels("cm", "2D"));
  EXPECT_DOUBLE_EQ(feature(f, "cm_joint_max_GYBY_BTW3"), 0.5);
  EXPECT_DOUBLE_EQ(feature(f, "cm_joint_avg_60VM_BTW3"), 1.75);
  EXPECT_DOUBLE_EQ(feature(f, "cm_contrast_ACUI_BTW3"), 0.5);
  EXPECT_DOUBLE_EQ(feature(f, "cm_energy_8ZQL_BTW3"), 0.375);
  EXPECT_DOUBLE_EQ(feature(f, "cm_joint_entr_TU9B_BTW3"), 1.5);
  EXPECT_DOUBLE_EQ(feature(f, "cm_diff_avg_TF7R_BTW3"), 0.5);
  // sum distribution: p(3) = 1/2, p(4) = 1/2
  EXPECT_DOUBLE_EQ(feature(f, "cm_sum_avg_ZGXS_BTW3"), 3.5);
  EXPECT_DOUBLE_EQ(feature(f, "cm_sum_var_OEEB_BTW3"), 0.25);
}

TEST(Glrlm, RunsCountedByHand) {
  // 1 1 2 / 2 2 2 (two rows): horizontal runs (1,len2), (2,len1), (2,len3)
  FeatureRow f = features_of(volume(3, 2, 1, {1, 1, 2, 2, 2, 2}), raw_levels("rlm", "2D"));
  // run percentage of the 4 directions merged: runs / (4 directions x 6 voxels);
  // horizontal 3 runs; vertical: columns (1,2), (1,2), (2,2): 5; diagonal (1,1): lines
  // (1,2), (1,2), (2), (2): 6; anti-diagonal (1,-1): lines (1), (2,1), (2,2), (2): 5
  EXPECT_DOUBLE_EQ(feature(f, "rlm_r_perc_9ZK5_SUJT"), 19.0 / 24.0);
}

TEST(Glszm, ZonesCountedByHand) {
  // 1 1 2
  // 2 1 2   -> 8-connected zones: level 1 {3 voxels}, level 2 {(2,0),(2,1)} and {(0,1)}:
  // (0,1) touches (1,0)? no, that is level 1; (0,1) and (2,*) are not neighbours -> 3 zones
  FeatureRow f = features_of(volume(3, 2, 1, {1, 1, 2, 2, 1, 2}), raw_levels("szm", "2D"));
  EXPECT_DOUBLE_EQ(feature(f, "szm_z_perc_P30P_8QNN"), 3.0 / 6.0);
  // sizes 3, 2, 1: small zone emphasis = (1/9 + 1/4 + 1) / 3
  EXPECT_DOUBLE_EQ(feature(f, "szm_sze_5QRC_8QNN"), (1.0 / 9 + 1.0 / 4 + 1.0) / 3);
}

TEST(Gldzm, EdgeVoxelsAreAtDistanceOne) {
  // a 3 x 3 square of one level: one zone; its centre is at distance 2 but the zone's distance
  // is its smallest, 1
  FeatureRow f = features_of(volume(3, 3, 1, std::vector<float>(9, 5.0f)), raw_levels("dzm", "2D"));
  EXPECT_DOUBLE_EQ(feature(f, "dzm_sde_0GBI_8QNN"), 1.0);
}

TEST(Ngtdm, TwoLevelsByHand) {
  // 1 2 in a row: each voxel's only neighbour has the other level: s1 = |1-2| = 1, s2 = 1,
  // p1 = p2 = 1/2; coarseness = 1 / (p1 s1 + p2 s2) = 1; strength = sum (pi+pj)(i-j)^2 / sum s
  // = 2 * 1 / 2 = 1
  FeatureRow f = features_of(volume(2, 1, 1, {1, 2}), raw_levels("ngt", "2D"));
  EXPECT_DOUBLE_EQ(feature(f, "ngt_coarseness_QCDE_8QNN"), 1.0);
  EXPECT_DOUBLE_EQ(feature(f, "ngt_strength_1X9X_8QNN"), 1.0);
}

TEST(Ngldm, DependenceCountsTheVoxelItself) {
  // 2 x 2 of one level: each voxel has 3 equal neighbours: dependence 4 for all
  FeatureRow f = features_of(volume(2, 2, 1, {3, 3, 3, 3}), raw_levels("ngl", "2D"));
  EXPECT_DOUBLE_EQ(feature(f, "ngl_hde_IMOQ_8QNN"), 16.0);
  EXPECT_DOUBLE_EQ(feature(f, "ngl_dc_perc_6XV8_8QNN"), 1.0);
}

TEST(Autocorrelation, FftEqualsTheDirectPairSum) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(0, 10);
  std::vector<float> pixels(7 * 6 * 5);
  for (auto& p : pixels) p = value(rng);
  Image image = volume(7, 6, 5, pixels, 1.0);
  image.spacing_mm = {0.8, 1.0, 2.5};
  Image mask = image;
  for (auto& m : mask.pixels) m = rng() % 3 ? 1.0f : 0.0f;
  Result<RoiVolume> roi = prepare_roi(image, mask, FeatureSettings{});
  ASSERT_TRUE(roi.ok());
  auto [moran, geary] = morans_i_gearys_c(roi.value(), 1 << 30);
  // the direct O(n^2) sums, here
  const RoiVolume& r = roi.value();
  std::vector<std::array<double, 4>> v;
  for (int z = 0; z < r.nz; ++z)
    for (int y = 0; y < r.ny; ++y)
      for (int x = 0; x < r.nx; ++x)
        if (r.int_mask[r.index(x, y, z)])
          v.push_back({x * 0.8, y * 1.0, z * 2.5, double(r.intensity[r.index(x, y, z)])});
  double n = v.size(), mean = 0, den = 0, w = 0, num_i = 0, num_c = 0;
  for (const auto& a : v) mean += a[3] / n;
  for (const auto& a : v) den += (a[3] - mean) * (a[3] - mean);
  for (const auto& a : v)
    for (const auto& b : v) {
      if (&a == &b) continue;
      double wab = 1 / std::hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
      w += wab;
      num_i += wab * (a[3] - mean) * (b[3] - mean);
      num_c += wab * (a[3] - b[3]) * (a[3] - b[3]);
    }
  EXPECT_NEAR(moran, n / w * num_i / den, 1e-10);
  EXPECT_NEAR(geary, (n - 1) / (2 * w) * num_c / den, 1e-10);
}

}  // namespace
}  // namespace medpipe
