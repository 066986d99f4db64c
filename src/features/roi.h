// features/roi.h: an image and its region, prepared as IBSI's image processing scheme says:
// interpolation, re-segmentation into the intensity mask, and discretisation to grey levels.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/image.h"
#include "features/settings.h"

namespace medpipe {

// A volume of nx * ny * nz voxels, x fastest.
struct RoiVolume {
  int nx = 0, ny = 0, nz = 0;
  std::array<double, 3> spacing_mm{1, 1, 1};
  std::vector<float> intensity;          // every voxel, the region's and its surroundings'
  std::vector<std::uint8_t> morph_mask;  // the region as drawn (morphology, distance maps)
  std::vector<std::uint8_t> int_mask;    // after re-segmentation (intensity and texture)
  std::vector<int> levels;               // discretised grey level 1..level_count; 0 outside
  int level_count = 0;                   // Ng
  double bin_lower_bound = 0;            // intensity where grey level 1 starts
  double bin_width = 0;                  // fixed bin size, or the fixed bin number's width
  std::vector<std::string> warnings;     // things the user should know about this region

  std::size_t size() const { return static_cast<std::size_t>(nx) * ny * nz; }
  std::size_t index(int x, int y, int z) const {
    return (static_cast<std::size_t>(z) * ny + y) * nx + x;
  }
  std::size_t int_count() const;
  std::size_t morph_count() const;
};

// Geometry of an image as text, for messages: size, spacing, origin.
std::string describe_geometry(const Image& image);

// The region of `mask` (same grid as `image`: size, spacing within 1e-3 mm, origin within half a
// voxel) in `image`, processed per `settings`. A failure names what is wrong with this image
// and mask (empty region, geometry mismatch with both geometries and the tolerance, no voxel
// left after re-segmentation) and what to do.
Result<RoiVolume> prepare_roi(const Image& image, const Image& mask,
                              const FeatureSettings& settings);

// The whole image as the region (classification images without a mask).
Result<RoiVolume> prepare_whole_image(const Image& image, const FeatureSettings& settings);

// Grey levels of the intensity mask's voxels by the settings' discretisation (exposed for tests).
void discretise(RoiVolume& roi, const FeatureSettings& settings);

}  // namespace medpipe
