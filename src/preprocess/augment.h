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

}  // namespace medpipe
