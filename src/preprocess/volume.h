// preprocess/volume.h: a volume (depth > 1) to a 3D network's input: resampled to the input's
// grid, cropped or padded to its box, its channels converted. preprocess_image calls it for a
// spec with depth_px > 0; the intensities are then normalised as for 2D images.
#pragma once
#include <array>
#include <vector>

#include "core/error.h"
#include "core/image.h"
#include "preprocess/preprocess.h"

namespace medpipe {

// The input grid of a set of volumes: a cube of `size_px`^2 x `depth_px` voxels and, where the
// volumes' spacings differ, the common spacing they are resampled to (then the box is cut from
// the centre or padded with the volume's minimum), else zeros (each volume is resized to the box).
struct VolumeGrid {
  int size_px = 0;
  int depth_px = 0;
  std::array<double, 3> spacing_mm{0, 0, 0};  // x, y, z
};

// The grid for these volumes (headers suffice: their sizes and spacings), no side above
// `max_side`: the volumes' own size where it fits, else scaled down; spacings that differ by
// more than 1% give the median spacing, coarsened until the median extent fits.
VolumeGrid choose_volume_grid(const std::vector<Image>& headers, int max_side);

// channels x depth_px x size_px x size_px floats (CDHW), before intensity normalisation.
Result<std::vector<float>> volume_to_input(const Image& volume, const PreprocessSpec& spec);

// Resamples an interleaved [depth][height][width][channels] volume to new sizes, separably, with
// a linear kernel widened to the step where it shrinks (antialiased; the identity where a size is
// kept). The volume's spacing follows its new sizes.
Image resample_volume(const Image& volume, int depth, int height, int width);

}  // namespace medpipe
