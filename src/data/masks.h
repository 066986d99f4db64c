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

// The file endings a per-image mask may have, in the order they are looked for: label arrays
// (.npy, .png, .nii.gz, .nii, .tif, .tiff) and, for radiomics regions, an RT Structure Set (.dcm).
const std::vector<std::string>& mask_extensions();
// The mask of an image: <name><extension> in `dir` for the first of mask_extensions() found.
std::optional<fs::path> find_mask(const fs::path& dir, const std::string& name);

// Reads a label array: .npy of integers or bools (H,W or D,H,W), a one-channel PNG, or a
// NIfTI volume. Values must be whole numbers in 0..255. Failure: why not.
Result<LabelVolume> read_label_volume(const fs::path& path);

// Checks one image's label array against the image: same depth, height and width, every
// value < num_classes. Empty string when fine, else the problem, naming the mask.
std::string check_mask_against_image(const LabelVolume& mask, const fs::path& mask_path,
                                     const Image& image, int num_classes);

// Pairs every image with its label array (a MaskTarget); every image without one is listed in
// one UsageError.
std::vector<Sample> pair_with_masks(std::vector<Sample> images, const fs::path& masks_dir,
                                    const std::string& key);

}  // namespace medpipe
