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
  // 2D, for contrastive views (defaults: none): a zoom drawn from [zoom_min, zoom_max] (above 1:
  // a random crop of 1/zoom^2 of the area, resized back), then the intensities times a contrast
  // in [1 - intensity, 1 + intensity] plus a brightness in [-intensity, intensity], then Gaussian
  // noise of a standard deviation drawn from [0, noise_sd] (the inputs are normalised).
  double zoom_min = 1.0, zoom_max = 1.0;
  double intensity = 0.0;
  double noise_sd = 0.0;
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
