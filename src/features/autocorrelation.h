// features/autocorrelation.h: Moran's I and Geary's C of the intensity mask (IBSI N365, NPT7).
#pragma once
#include <utility>

#include "features/roi.h"

namespace medpipe {

// Exact (FFT convolution). Regions whose bounding box is too large for the FFT (over 64 M padded
// voxels) fall back to the direct sum over a fixed random subset of max_voxels_direct voxels.
std::pair<double, double> morans_i_gearys_c(const RoiVolume& roi, int max_voxels_direct);

}  // namespace medpipe
