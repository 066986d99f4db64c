#include "preprocess/volume.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "preprocess/augment.h"

namespace medpipe {
namespace {

// A ball of radius `radius_mm` at the volume's centre, on a grid of the given spacing.
Image ball(int depth, int size, std::array<double, 3> spacing_mm, double radius_mm) {
  Image v;
  v.depth = depth;
  v.height = v.width = size;
  v.spacing_mm = spacing_mm;
  v.spacing_known = true;
  v.pixels.resize(v.voxel_count());
  for (int z = 0; z < depth; ++z)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const double dx = (x - (size - 1) / 2.0) * spacing_mm[0],
                     dy = (y - (size - 1) / 2.0) * spacing_mm[1],
                     dz = (z - (depth - 1) / 2.0) * spacing_mm[2];
        v.at(z, y, x, 0) = std::sqrt(dx * dx + dy * dy + dz * dz) < radius_mm ? 100.0f : 0.0f;
      }
  return v;
}

TEST(Volume, ResamplingToTheSameSizeIsTheIdentity) {
  Image v = ball(7, 9, {1, 1, 1}, 3);
  std::mt19937 rng(1);
  for (float& p : v.pixels) p = std::uniform_real_distribution<float>(-5, 5)(rng);
  EXPECT_EQ(resample_volume(v, 7, 9, 9).pixels, v.pixels);
}

TEST(Volume, ShrinkingKeepsTheMeanAndFollowsTheSpacing) {
  const Image v = ball(16, 32, {0.5, 0.5, 2.0}, 5);
  const Image half = resample_volume(v, 8, 16, 16);
  auto mean = [](const Image& i) {
    return std::accumulate(i.pixels.begin(), i.pixels.end(), 0.0) / i.pixels.size();
  };
  EXPECT_NEAR(mean(half), mean(v), 0.02 * mean(v));
  EXPECT_DOUBLE_EQ(half.spacing_mm[0], 1.0);
  EXPECT_DOUBLE_EQ(half.spacing_mm[2], 4.0);
}

TEST(Volume, TheSameSpacingsKeepTheVolumesSizeUpToTheCap) {
  std::vector<Image> headers = {ball(28, 28, {1, 1, 1}, 5), ball(28, 28, {1, 1, 1}, 5)};
  VolumeGrid grid = choose_volume_grid(headers, 64);
  EXPECT_EQ(grid.size_px, 28);
  EXPECT_EQ(grid.depth_px, 28);
  EXPECT_EQ(grid.spacing_mm[0], 0.0);  // no resampling
  grid = choose_volume_grid(headers, 16);
  EXPECT_EQ(grid.size_px, 16);
}

// Relative L1 distance between two inputs.
double distance(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, total = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += std::abs(a[i] - b[i]);
    total += std::abs(b[i]);
  }
  return diff / total;
}

// The same ball scanned at two spacings and fields of view becomes the same input once resampled
// to the common spacing; resized to the box instead, its size would follow the field of view.
TEST(Volume, DifferentSpacingsAreResampledToACommonOne) {
  const Image fine = ball(60, 60, {0.5, 0.5, 0.5}, 6), coarse = ball(20, 20, {1, 1, 1}, 6);
  const VolumeGrid grid = choose_volume_grid({fine, coarse, coarse}, 64);
  EXPECT_DOUBLE_EQ(grid.spacing_mm[0], 1.0);  // the median
  EXPECT_EQ(grid.size_px, 20);
  EXPECT_EQ(grid.depth_px, 20);
  PreprocessSpec spec;
  spec.size_px = grid.size_px;
  spec.depth_px = grid.depth_px;
  spec.spacing_mm = grid.spacing_mm;
  const auto a = volume_to_input(fine, spec), b = volume_to_input(coarse, spec);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a.value().size(), static_cast<std::size_t>(20 * 20 * 20));
  spec.spacing_mm = {0, 0, 0};
  const auto stretched = volume_to_input(fine, spec);
  const double resampled = distance(a.value(), b.value());
  EXPECT_LT(resampled, 0.25);  // the ball's rim differs
  EXPECT_LT(resampled, 0.5 * distance(stretched.value(), b.value()));
}

TEST(Volume, TwoDImagesAndUnknownSpacingsAreRefused) {
  PreprocessSpec spec;
  spec.size_px = 8;
  spec.depth_px = 8;
  Image flat = ball(1, 8, {1, 1, 1}, 2);
  EXPECT_FALSE(volume_to_input(flat, spec));
  spec.spacing_mm = {1, 1, 1};
  Image unknown = ball(8, 8, {1, 1, 1}, 2);
  unknown.spacing_known = false;
  const auto refused = volume_to_input(unknown, spec);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("spacing"), std::string::npos);
}

TEST(Volume, AugmentationKeepsTheBoxAndIsOffWhenDisabled) {
  const Image v = ball(12, 12, {1, 1, 1}, 4);
  std::vector<float> data = v.pixels;
  AugmentSpec off;
  off.enabled = false;
  std::mt19937 rng(3);
  augment_volume(data.data(), 1, 12, 12, off, rng);
  EXPECT_EQ(data, v.pixels);
  AugmentSpec on;
  on.rotation_deg = 0;
  on.shift_fraction = 0;
  double changed = 0;
  for (int k = 0; k < 8; ++k) {
    std::vector<float> copy = v.pixels;
    augment_volume(copy.data(), 1, 12, 12, on, rng);
    // a centred ball stays a centred ball: flips and quarter turns move nothing, the scale
    // changes its radius by 10% at most, the intensity changes by 10% and 0.1
    const double before = std::accumulate(v.pixels.begin(), v.pixels.end(), 0.0);
    const double after = std::accumulate(copy.begin(), copy.end(), 0.0);
    EXPECT_NEAR(after / before, 1.0, 0.45);
    changed += after != before;
  }
  EXPECT_GT(changed, 0);
}

}  // namespace
}  // namespace medpipe
