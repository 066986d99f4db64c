#include "features/resample.h"

#include <gtest/gtest.h>

#include <random>

namespace medpipe {
namespace {

TEST(VolumeSampler, CubicSplineInterpolatesTheSamples) {
  std::mt19937 rng(1);
  std::vector<float> values(6 * 5 * 4);
  for (auto& v : values) v = static_cast<float>(rng() % 100);
  VolumeSampler cubic(values, 6, 5, 4, VolumeSampler::Method::kCubic);
  for (int z = 0; z < 4; ++z)
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 6; ++x) {
        EXPECT_NEAR(cubic.at(x, y, z), values[(z * 5 + y) * 6 + x], 1e-4);
      }
}

TEST(VolumeSampler, LinearAndCubicReproduceARamp) {
  std::vector<float> ramp(8 * 3 * 3);
  for (int z = 0; z < 3; ++z)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 8; ++x) ramp[(z * 3 + y) * 8 + x] = 2.0f * x + 1.0f;
  VolumeSampler linear(ramp, 8, 3, 3, VolumeSampler::Method::kLinear);
  VolumeSampler cubic(ramp, 8, 3, 3, VolumeSampler::Method::kCubic);
  EXPECT_NEAR(linear.at(2.25, 1, 1), 5.5, 1e-12);
  EXPECT_NEAR(cubic.at(3.5, 1.5, 0.5), 8.0, 1e-3);  // away from the mirrored edges
  EXPECT_NEAR(linear.at(-3, 1, 1), 1.0, 1e-12);     // outside: the nearest edge value
}

}  // namespace
}  // namespace medpipe
