// preprocess/preprocess.h: an Image to the network's input (channels, size, intensities).
// A pure function of the image and a spec; the spec is saved in model.json.
#pragma once
#include <algorithm>
#include <array>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/image.h"

namespace medpipe {

struct PreprocessSpec {
  int channels = 1;                  // 1 gray, 3 RGB
  int size_px = 64;                  // square output
  std::string resize = "stretch";    // stretch | pad (keep aspect, pad with the minimum)
  std::string normalize = "zscore";  // zscore | minmax | ct | imagenet | none
  double window_level_hu = 40.0;     // for ct
  double window_width_hu = 400.0;    // for ct
  // Volumes (preprocess/volume.h): the input box's slices, 0 for 2D images; and the common
  // spacing (x, y, z) volumes are resampled to before the box is cut, zeros when each volume is
  // resized to the box instead.
  int depth_px = 0;
  std::array<double, 3> spacing_mm{0, 0, 0};

  bool volume() const { return depth_px > 0; }
  std::size_t values_per_sample() const {
    return static_cast<std::size_t>(channels) * size_px * size_px * std::max(1, depth_px);
  }
};

nlohmann::json spec_to_json(const PreprocessSpec& spec);
PreprocessSpec spec_from_json(const nlohmann::json& json);

// Returns channels x size x size floats (CHW), or why the image cannot be used.
// Gray -> RGB replicates; RGB -> gray is ITU-R 601 luma. For a volume spec, channels x depth x
// size x size (CDHW, preprocess/volume.h); each kind refuses the other.
Result<std::vector<float>> preprocess_image(const Image& image, const PreprocessSpec& spec);

// An image file to the network's input: what read_image then preprocess_image give, with the
// channels the file holds. A gray DICOM slice (io's open_image_rows) is streamed through the
// resize a strip of rows at a time, so that its full-size image is never held.
struct PreprocessedFile {
  std::vector<float> chw;
  int source_channels = 0;
};
Result<PreprocessedFile> preprocess_file(const fs::path& path, const PreprocessSpec& spec);

// Pieces, exposed for tests.
Image convert_channels(const Image& image, int channels);
Image resize_image(const Image& image, int size_px, const std::string& mode);
void normalize_intensities(std::vector<float>& chw, int channels, const PreprocessSpec& spec,
                           int bits_stored);

}  // namespace medpipe
