// preprocess/augment.h: training-time augmentation of one CHW sample. Never used at inference.
#pragma once
#include <random>

namespace medpipe {

struct AugmentSpec {
  bool enabled = true;
  double rotation_deg = 10.0;   // uniform in [-r, r]
  double shift_fraction = 0.1;  // uniform in [-s, s] of the size, each axis
  bool hflip = true;
  bool vflip = false;
};

// Applies one random flip/rotation/shift (a single affine warp, reflected borders) in place.
void augment_sample(float* chw, int channels, int size_px, const AugmentSpec& spec,
                    std::mt19937& rng);

// The same for a CDHW volume (depth x size x size): a flip of each axis, a quarter turn in plane,
// a rotation about the slice axis up to rotation_deg, a scale of 0.9-1.1 and a shift up to
// shift_fraction on each axis, as one trilinear warp (edges clamped); then the intensities
// scaled by 0.9-1.1 and shifted by up to 0.1 (the inputs are normalised).
void augment_volume(float* cdhw, int channels, int depth, int size_px, const AugmentSpec& spec,
                    std::mt19937& rng);

}  // namespace medpipe
