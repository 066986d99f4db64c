// preprocess/preprocess.h: an Image to the network's input (channels, size, intensities).
// A pure function of the image and a spec; the spec is saved in model.json.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/image.h"

namespace medpipe {

struct PreprocessSpec {
  int channels = 1;                  // 1 gray, 3 RGB
  int size_px = 64;                  // square output
  std::string resize = "stretch";    // stretch | pad (keep aspect, pad with the minimum)
  std::string normalize = "zscore";  // zscore | minmax | ct | imagenet | none
  double window_level_hu = 40.0;     // for ct
  double window_width_hu = 400.0;    // for ct

  std::size_t values_per_sample() const {
    return static_cast<std::size_t>(channels) * size_px * size_px;
  }
};

nlohmann::json spec_to_json(const PreprocessSpec& spec);
PreprocessSpec spec_from_json(const nlohmann::json& json);

// Returns channels x size x size floats (CHW), or why the image cannot be used.
// Gray -> RGB replicates; RGB -> gray is ITU-R 601 luma. Volumes (depth > 1) are refused.
Result<std::vector<float>> preprocess_image(const Image& image, const PreprocessSpec& spec);

// Pieces, exposed for tests.
Image convert_channels(const Image& image, int channels);
Image resize_image(const Image& image, int size_px, const std::string& mode);
void normalize_intensities(std::vector<float>& chw, int channels, const PreprocessSpec& spec,
                           int bits_stored);

}  // namespace medpipe
