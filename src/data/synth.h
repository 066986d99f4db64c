// data/synth.h: a synthetic labelled data set in the contract's input layout.
#pragma once
#include <string>

#include "core/fs.h"

namespace medpipe {

struct SynthOptions {
  std::string task = "classify";  // classify | segment | survival
  fs::path out_dir;
  int count = 200;
  int size_px = 64;
  std::string format = "png";  // png (16-bit, HU + 1024) or dicom (int16 with a rescale)
  unsigned seed = 1;
};

// CT-like axial slices in HU: body, two lungs, spine, vessels. classify: class 1 has a round
// nodule in a lung; writes out_dir/images/<name>.{png,dcm} and out_dir/labels.csv. segment:
// three slices in four have a nodule, labelled 1 in out_dir/masks/<name>.npy (uint8 H,W).
// survival: every slice has a nodule whose size sets the hazard; out_dir/labels.csv is
// image,time,event (days) and out_dir/truth/hazards.csv each image's true log hazard ratio.
// Returns the image count.
int write_synthetic(const SynthOptions& options);

}  // namespace medpipe
