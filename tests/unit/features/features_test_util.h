// Helpers shared by the features unit tests: small images and masks built in code.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "core/image.h"
#include "features/features.h"

namespace medpipe::test {

inline Image volume(int nx, int ny, int nz, std::vector<float> values, double spacing = 1.0) {
  Image image;
  image.width = nx;
  image.height = ny;
  image.depth = nz;
  image.pixels = std::move(values);
  image.spacing_mm = {spacing, spacing, spacing};
  image.spacing_known = true;
  return image;
}

inline double feature(const FeatureRow& row, const std::string& name) {
  for (const auto& f : row) {
    if (f.name == name) return f.value;
  }
  return std::nan("missing");
}

// Grey levels used as they are (fixed bin size 1 from the minimum), given families only.
inline FeatureSettings raw_levels(const std::string& families, const std::string& aggregation) {
  FeatureSettings s;
  s.families = families;
  s.aggregation = aggregation;
  s.discretisation = "fixed_bin_size";
  s.bin_width = 1;
  return s;
}

}  // namespace medpipe::test
