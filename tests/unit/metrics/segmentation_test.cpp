#include "metrics/segmentation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace medpipe {
namespace {

LabelVolume square(int size, int y0, int x0, int side, std::uint8_t value = 1) {
  LabelVolume v;
  v.height = v.width = size;
  v.labels.assign(static_cast<std::size_t>(size) * size, 0);
  for (int y = y0; y < y0 + side; ++y)
    for (int x = x0; x < x0 + side; ++x) v.labels[y * size + x] = value;
  return v;
}

TEST(SegmentationMetrics, OverlapByHand) {
  // two 4x4 squares overlapping in 2x4 = 8 pixels: Dice 2*8/32, Jaccard 8/24
  RegionScores s = region_scores(square(10, 2, 2, 4), square(10, 4, 2, 4), 1);
  EXPECT_DOUBLE_EQ(s.dice, 0.5);
  EXPECT_DOUBLE_EQ(s.jaccard, 8.0 / 24.0);
}

TEST(SegmentationMetrics, ShiftedSquareDistancesByHand) {
  // A = rows 2-6, B = rows 4-8, both cols 2-6. A's 16 surface pixels to B's surface:
  // row 2: 5 px at 2; row 3 sides: 2 px at 1; rows 4-5 sides: 4 px at 0; row 6: cols 2..6 at
  // 0, 1, 2, 1, 0 (B's interior is not surface). Sum 16 / 16 = 1; B to A is the mirror image.
  // Sorted: six 0s, four 1s, six 2s: P95 (rank 14.25) = 2.
  LabelVolume a = square(12, 2, 2, 5), b = square(12, 4, 2, 5);
  RegionScores s = region_scores(a, b, 1);
  EXPECT_DOUBLE_EQ(s.hausdorff95, 2.0);
  EXPECT_NEAR(s.assd, 1.0, 1e-12);
}

TEST(SegmentationMetrics, SpacingScalesDistances) {
  LabelVolume a = square(12, 2, 2, 5), b = square(12, 4, 2, 5);
  a.spacing_mm = b.spacing_mm = {0.5, 3.0, 1.0};  // rows are 3 mm apart
  EXPECT_DOUBLE_EQ(region_scores(a, b, 1).hausdorff95, 6.0);
}

TEST(SegmentationMetrics, EmptyMaskConventions) {
  LabelVolume empty = square(8, 0, 0, 0), full = square(8, 1, 1, 3);
  RegionScores both = region_scores(empty, empty, 1);
  EXPECT_EQ(both.dice, 1.0);
  EXPECT_EQ(both.hausdorff95, 0.0);
  RegionScores one = region_scores(full, empty, 1);
  EXPECT_EQ(one.dice, 0.0);
  EXPECT_TRUE(std::isnan(one.hausdorff95));
  EXPECT_TRUE(std::isnan(one.assd));
  nlohmann::json m = segmentation_metrics({{"a", full, full}, {"b", full, empty}}, 2);
  EXPECT_EQ(m["n"], 2);
  EXPECT_DOUBLE_EQ(m["dice"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["hausdorff95"].get<double>(), 0.0);  // the undefined one is left out
  EXPECT_EQ(m["hausdorff95_undefined"], 1);
  EXPECT_TRUE(m["per_image"][1]["assd"].is_null());
  EXPECT_EQ(m["distance_units"], "pixels");
}

TEST(SegmentationMetrics, PercentileMatchesNumpyLinear) {
  std::vector<double> v = {4, 1, 3, 2};  // numpy.percentile([1,2,3,4], 95) = 3.85
  EXPECT_NEAR(percentile_linear(v, 95), 3.85, 1e-12);
}

TEST(SegmentationMetrics, SurfaceIncludesArrayBorder) {
  // a full 3x3 mask: every pixel but the centre is on the surface (the border is outside)
  std::vector<std::uint8_t> mask(9, 1);
  auto s = surface_of(mask, 1, 3, 3);
  EXPECT_EQ(s[4], 0);
  EXPECT_EQ(std::count(s.begin(), s.end(), 1), 8);
}

}  // namespace
}  // namespace medpipe
