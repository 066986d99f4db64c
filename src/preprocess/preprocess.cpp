#include "preprocess/preprocess.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace medpipe {

nlohmann::json spec_to_json(const PreprocessSpec& spec) {
  return {{"channels", spec.channels},
          {"size_px", spec.size_px},
          {"resize", spec.resize},
          {"normalize", spec.normalize},
          {"window_level_hu", spec.window_level_hu},
          {"window_width_hu", spec.window_width_hu},
          {"layout", "NCHW float32"}};
}

PreprocessSpec spec_from_json(const nlohmann::json& json) {
  PreprocessSpec spec;
  spec.channels = json.at("channels").get<int>();
  spec.size_px = json.at("size_px").get<int>();
  spec.resize = json.at("resize").get<std::string>();
  spec.normalize = json.at("normalize").get<std::string>();
  spec.window_level_hu = json.value("window_level_hu", 40.0);
  spec.window_width_hu = json.value("window_width_hu", 400.0);
  return spec;
}

Image convert_channels(const Image& image, int channels) {
  if (image.channels == channels) return image;
  Image out = image;
  out.channels = channels;
  out.pixels.resize(image.voxel_count() * static_cast<std::size_t>(channels));
  for (std::size_t i = 0; i < image.voxel_count(); ++i) {
    const float* src = &image.pixels[i * image.channels];
    float* dst = &out.pixels[i * channels];
    if (channels == 1) {
      dst[0] = image.channels >= 3 ? 0.299f * src[0] + 0.587f * src[1] + 0.114f * src[2] : src[0];
    } else {
      for (int c = 0; c < channels; ++c) dst[c] = src[std::min(c, image.channels - 1)];
    }
  }
  return out;
}

Image resize_image(const Image& image, int size_px, const std::string& mode) {
  if (image.height == size_px && image.width == size_px) return image;
  cv::Mat src(image.height, image.width, CV_MAKETYPE(CV_32F, image.channels),
              const_cast<float*>(image.pixels.data()));
  int new_w = size_px, new_h = size_px;
  if (mode == "pad") {
    double scale = static_cast<double>(size_px) / std::max(image.height, image.width);
    new_w = std::max(1, static_cast<int>(std::lround(image.width * scale)));
    new_h = std::max(1, static_cast<int>(std::lround(image.height * scale)));
  }
  bool shrinking = new_w < image.width || new_h < image.height;
  cv::Mat resized;
  cv::resize(src, resized, cv::Size(new_w, new_h), 0, 0,
             shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Mat out = resized;
  if (mode == "pad" && (new_w != size_px || new_h != size_px)) {
    double lo = *std::min_element(image.pixels.begin(), image.pixels.end());
    int top = (size_px - new_h) / 2, left = (size_px - new_w) / 2;
    cv::copyMakeBorder(resized, out, top, size_px - new_h - top, left, size_px - new_w - left,
                       cv::BORDER_CONSTANT, cv::Scalar::all(lo));
  }
  Image result = image;
  result.height = result.width = size_px;
  result.spacing_mm[0] *= static_cast<double>(image.width) / new_w;
  result.spacing_mm[1] *= static_cast<double>(image.height) / new_h;
  result.pixels.assign(out.ptr<float>(), out.ptr<float>() + result.value_count());
  return result;
}

void normalize_intensities(std::vector<float>& chw, int channels, const PreprocessSpec& spec,
                           int bits_stored) {
  const std::string& mode = spec.normalize;
  if (mode == "none" || chw.empty()) return;
  if (mode == "zscore" || mode == "minmax") {
    double sum = 0, sum_sq = 0;
    float lo = chw[0], hi = chw[0];
    for (float v : chw) {
      sum += v;
      sum_sq += static_cast<double>(v) * v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    double n = static_cast<double>(chw.size());
    double mean = sum / n;
    double std = std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
    double offset = mode == "zscore" ? mean : lo;
    double scale =
        mode == "zscore" ? (std > 1e-8 ? 1.0 / std : 1.0) : (hi > lo ? 1.0 / (hi - lo) : 1.0);
    for (float& v : chw) v = static_cast<float>((v - offset) * scale);
  } else if (mode == "ct") {
    double lo = spec.window_level_hu - spec.window_width_hu / 2;
    for (float& v : chw)
      v = static_cast<float>(std::clamp((v - lo) / spec.window_width_hu, 0.0, 1.0));
  } else if (mode == "imagenet") {
    static const double mean[3] = {0.485, 0.456, 0.406}, stdev[3] = {0.229, 0.224, 0.225};
    double max_value = bits_stored > 8 ? std::ldexp(1.0, bits_stored) - 1 : 255.0;
    std::size_t plane = chw.size() / static_cast<std::size_t>(channels);
    for (int c = 0; c < channels; ++c) {
      int k = channels == 3 ? c : 0;
      for (std::size_t i = 0; i < plane; ++i) {
        float& v = chw[c * plane + i];
        v = static_cast<float>((v / max_value - mean[k]) / stdev[k]);
      }
    }
  }
}

Result<std::vector<float>> preprocess_image(const Image& image, const PreprocessSpec& spec) {
  if (image.depth != 1) {
    return Result<std::vector<float>>::failure("a volume (" + std::to_string(image.depth) +
                                               " slices/frames); classification takes 2D images");
  }
  Image converted = resize_image(convert_channels(image, spec.channels), spec.size_px, spec.resize);
  const std::size_t plane = static_cast<std::size_t>(spec.size_px) * spec.size_px;
  std::vector<float> chw(spec.values_per_sample());
  for (std::size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < spec.channels; ++c)
      chw[c * plane + i] = converted.pixels[i * spec.channels + c];
  }
  normalize_intensities(chw, spec.channels, spec, image.bits_stored);
  return chw;
}

}  // namespace medpipe
