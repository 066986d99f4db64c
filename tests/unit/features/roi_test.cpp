#include "features/roi.h"

#include <gtest/gtest.h>

#include "features_test_util.h"

namespace medpipe {
namespace {

using test::volume;

TEST(Discretise, FixedBinNumberPutsTheMaximumInTheLastBin) {
  Image image = volume(4, 1, 1, {0, 1, 2, 4});
  FeatureSettings s;
  s.bin_count = 4;
  Result<RoiVolume> roi = prepare_whole_image(image, s);
  ASSERT_TRUE(roi.ok());
  // floor(4 * (x - 0) / 4) + 1, the maximum clipped to 4
  EXPECT_EQ(roi.value().levels, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(roi.value().level_count, 4);
}

TEST(Discretise, FixedBinSizeStartsAtTheResegmentationMinimum) {
  Image image = volume(4, 1, 1, {-500, -476, -475, 399});
  FeatureSettings s;
  s.discretisation = "fixed_bin_size";
  s.bin_width = 25;
  s.resegment_min = -500;
  s.resegment_max = 400;
  Result<RoiVolume> roi = prepare_whole_image(image, s);
  ASSERT_TRUE(roi.ok());
  // floor((x + 500) / 25) + 1
  EXPECT_EQ(roi.value().levels, (std::vector<int>{1, 1, 2, 36}));
}

TEST(Resegment, RangeAndOutliersShrinkOnlyTheIntensityMask) {
  std::vector<float> values(20, 10.0f);
  values[0] = 1000;   // an outlier far beyond 3 sigma of the rest
  values[1] = -2000;  // below the range
  Image image = volume(20, 1, 1, values);
  FeatureSettings s;
  s.resegment_min = -1000;
  s.outlier_sigma = 3;
  Result<RoiVolume> roi = prepare_whole_image(image, s);
  ASSERT_TRUE(roi.ok());
  EXPECT_EQ(roi.value().morph_count(), 20u);
  EXPECT_EQ(roi.value().int_count(), 19u);  // the range drops -2000; 1000 is within 3 sigma here
}

TEST(PrepareRoi, EmptyMaskSaysSo) {
  Image image = volume(3, 3, 1, std::vector<float>(9, 1.0f));
  Image mask = volume(3, 3, 1, std::vector<float>(9, 0.0f));
  Result<RoiVolume> roi = prepare_roi(image, mask, FeatureSettings{});
  ASSERT_FALSE(roi.ok());
  EXPECT_NE(roi.error().find("mask is empty"), std::string::npos) << roi.error();
}

TEST(PrepareRoi, GeometryMismatchGivesBothGeometriesAndTheTolerance) {
  Image image = volume(3, 3, 2, std::vector<float>(18, 1.0f), 1.0);
  Image mask = volume(3, 3, 2, std::vector<float>(18, 1.0f), 1.5);
  Result<RoiVolume> roi = prepare_roi(image, mask, FeatureSettings{});
  ASSERT_FALSE(roi.ok());
  const std::string& e = roi.error();
  EXPECT_NE(e.find("do not share a voxel grid"), std::string::npos) << e;
  EXPECT_NE(e.find("spacing 1 x 1 x 1 mm"), std::string::npos) << e;
  EXPECT_NE(e.find("spacing 1.5 x 1.5 x 1.5 mm"), std::string::npos) << e;
  EXPECT_NE(e.find("tolerance"), std::string::npos) << e;
}

TEST(PrepareRoi, MaskOutsideTheImageSaysSo) {
  Image image = volume(3, 3, 2, std::vector<float>(18, 1.0f));
  Image mask = image;
  mask.origin_mm = {100, 0, 0};
  Result<RoiVolume> roi = prepare_roi(image, mask, FeatureSettings{});
  ASSERT_FALSE(roi.ok());
  EXPECT_NE(roi.error().find("outside the image"), std::string::npos) << roi.error();
}

TEST(RegionFeatures, SingleValuedRegionWarnsAndWritesNaN) {
  Image image = volume(4, 4, 1, std::vector<float>(16, 7.0f));
  Result<RegionFeatures> f = region_features(image, nullptr, FeatureSettings{});
  ASSERT_TRUE(f.ok());
  ASSERT_GE(f.value().warnings.size(), 2u);
  EXPECT_NE(f.value().warnings[0].find("single intensity"), std::string::npos);
  EXPECT_TRUE(std::isnan(test::feature(f.value().values, "stat_skew_KE2A")));
  EXPECT_DOUBLE_EQ(test::feature(f.value().values, "stat_mean_Q4LE"), 7.0);
}

TEST(Interpolation, GridIsCentredAndCeiled) {
  // 5 voxels of 1 mm to 2 mm: ceil(5 * 1 / 2) = 3 points, centred on voxel 2: voxels 0, 2, 4
  Image image = volume(5, 1, 1, {0, 1, 2, 3, 4});
  image.spacing_mm = {1, 1, 1};
  FeatureSettings s;
  s.new_spacing_mm = 2;
  s.interpolate_in_plane = true;
  s.families = "stat";
  Result<RoiVolume> roi = prepare_whole_image(image, s);
  ASSERT_TRUE(roi.ok());
  ASSERT_EQ(roi.value().nx, 3);
  EXPECT_FLOAT_EQ(roi.value().intensity[0], 0.0f);
  EXPECT_FLOAT_EQ(roi.value().intensity[1], 2.0f);
  EXPECT_FLOAT_EQ(roi.value().intensity[2], 4.0f);
}

}  // namespace
}  // namespace medpipe
