// data/masks.h: per-image label arrays (label_style array), as the original pipeline stored
// them: one <image>.npy (or .png, .nii.gz) per image in images_labels_bucket.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/image.h"
#include "data/pairing.h"

namespace medpipe {

// Where the label arrays are: `images_labels_bucket` when set, else the bucket's masks/
// folder (the layout `medpipe synth --task segment` writes). Exit 2 when neither exists.
fs::path masks_folder(const std::string& images_labels_bucket, const fs::path& bucket,
                      const std::string& key);

// The label array of an image: <name>.npy, .png, .nii.gz or .nii in `dir`, if any.
std::optional<fs::path> find_mask(const fs::path& dir, const std::string& name);

// Reads a label array: .npy of integers or bools (H,W or D,H,W), a one-channel PNG, or a
// NIfTI volume. Values must be whole numbers in 0..255. Failure: why not.
Result<LabelVolume> read_label_volume(const fs::path& path);

// Checks one image's label array against the image: same depth, height and width, every
// value < num_classes. Empty string when fine, else the problem, naming the mask.
std::string check_mask_against_image(const LabelVolume& mask, const fs::path& mask_path,
                                     const Image& image, int num_classes);

struct MaskedSet {
  std::vector<Sample> samples;  // sorted by name
  std::vector<fs::path> masks;  // masks[i] belongs to samples[i]
};

// Pairs every image with its label array; every image without one is listed in one UsageError.
MaskedSet pair_with_masks(std::vector<Sample> images, const fs::path& masks_dir,
                          const std::string& key);

}  // namespace medpipe
