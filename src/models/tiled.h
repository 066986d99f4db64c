// models/tiled.h: a segmentation network over an image of any size, in bounded memory:
// overlapping patch-sized tiles, blended with a Gaussian weight (nnU-Net's sliding window).
#pragma once
#include <cstdint>
#include <vector>

#include "models/models.h"

namespace medpipe {

struct TileSettings {
  int patch = 256;       // tile side (a multiple of 2^unet_depth)
  double overlap = 0.5;  // fraction of a tile shared with its neighbour
  int batch = 4;         // tiles per forward pass
  bool mirror = false;   // also run each tile mirrored (x) and average
  int patch_depth = 0;   // a 3D network's tile depth (slices); 0 for a 2D network
};

// Tile origins along an axis of `extent` pixels: evenly spaced, first at 0, last at
// extent - patch (one tile at 0 when the image is smaller than a tile).
std::vector<int> tile_origins(int extent, int patch, double overlap);

// Class probabilities [num_classes][height][width] of one slice given as [channels][height]
// [width] normalised values. Memory: the output, one weight plane and `batch` tiles.
std::vector<float> predict_slice_tiled(torch::jit::Module& module, const float* chw, int channels,
                                       int height, int width, int num_classes,
                                       const TileSettings& tiles);

// A 3D network over a volume given as [depth][channels][height][width] (how SegmentationSet
// holds it): the most probable class of each voxel, from tiles of patch_depth x patch x patch
// blended with a 3D Gaussian (nnU-Net's sliding window; `mirror` adds the x-mirrored tile).
// Memory: num_classes sums per voxel, the labels and `batch` tiles.
std::vector<std::uint8_t> segment_volume_tiled(torch::jit::Module& module, const float* dchw,
                                               int channels, int depth, int height, int width,
                                               int num_classes, const TileSettings& tiles);

// The most probable class of each pixel of [num_classes][pixels] probabilities.
std::vector<std::uint8_t> argmax_classes(const std::vector<float>& probabilities, int num_classes);

}  // namespace medpipe
