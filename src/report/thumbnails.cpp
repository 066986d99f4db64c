#include "report/thumbnails.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace medpipe {

namespace {

// Class colours (BGR) for the overlays: class 1 green, 2 red, 3 blue, ...
const cv::Vec3b kClassColors[] = {{0, 200, 0},   {40, 40, 230},  {230, 120, 30},
                                  {0, 200, 230}, {200, 60, 200}, {200, 200, 0}};

int slice_to_show(const LabelVolume& truth, const LabelVolume& predicted) {
  const std::size_t plane = static_cast<std::size_t>(truth.height) * truth.width;
  for (const LabelVolume* labels : {&truth, &predicted}) {
    std::size_t best_count = 0;
    int best = -1;
    for (int z = 0; z < labels->depth; ++z) {
      const std::uint8_t* p = labels->labels.data() + z * plane;
      auto count = static_cast<std::size_t>(std::count_if(p, p + plane, [](auto v) { return v; }));
      if (count > best_count) {
        best_count = count;
        best = z;
      }
    }
    if (best >= 0) return best;
  }
  return truth.depth / 2;
}

// One slice of the image as 8-bit BGR, gray values stretched between the 1st and 99th
// percentiles (of the first channel).
cv::Mat gray_slice(const Image& image, int z) {
  cv::Mat values(image.height, image.width, CV_32F);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) values.at<float>(y, x) = image.at(z, y, x, 0);
  std::vector<float> sorted(values.begin<float>(), values.end<float>());
  auto at_fraction = [&](double q) {
    auto k = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(k), sorted.end());
    return sorted[k];
  };
  float lo = at_fraction(0.01), hi = at_fraction(0.99);
  if (!(hi > lo)) hi = lo + 1;
  cv::Mat gray;
  values.convertTo(gray, CV_8U, 255.0 / (hi - lo), -lo * 255.0 / (hi - lo));
  cv::Mat bgr;
  cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
  return bgr;
}

// The labels of slice z blended over the picture (45% colour), with a 1-pixel outline.
cv::Mat overlay(const cv::Mat& picture, const LabelVolume& labels, int z) {
  cv::Mat out = picture.clone();
  const std::uint8_t* p =
      labels.labels.data() + static_cast<std::size_t>(z) * labels.height * labels.width;
  cv::Mat slice(labels.height, labels.width, CV_8U, const_cast<std::uint8_t*>(p));
  for (int y = 0; y < out.rows; ++y) {
    for (int x = 0; x < out.cols; ++x) {
      int k = slice.at<std::uint8_t>(y, x);
      if (!k) continue;
      const cv::Vec3b& color = kClassColors[(k - 1) % 6];
      cv::Vec3b& px = out.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) px[c] = static_cast<std::uint8_t>(0.55 * px[c] + 0.45 * color[c]);
    }
  }
  return out;
}

}  // namespace

std::string base64_encode(const std::vector<unsigned char>& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    unsigned v = bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= bytes[i + 1] << 8;
    if (i + 2 < bytes.size()) v |= bytes[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[v & 63] : '=';
  }
  return out;
}

std::string overlay_thumbnail(const Image& image, const LabelVolume& truth,
                              const LabelVolume& predicted, int panel_px) {
  const int z = slice_to_show(truth, predicted);
  cv::Mat picture = gray_slice(image, z);
  // never enlarged (the page scales small pictures up, pixelated): a noisy image's PNG grows with
  // its pixel count
  double scale = std::min(1.0 * panel_px / std::max(image.height, image.width), 1.0);
  cv::Size size(std::max(1, static_cast<int>(image.width * scale)),
                std::max(1, static_cast<int>(image.height * scale)));
  std::vector<cv::Mat> panels = {picture, overlay(picture, truth, z),
                                 overlay(picture, predicted, z)};
  for (auto& panel : panels) {
    cv::Mat resized;
    if (scale == 1.0) continue;
    cv::resize(panel, resized, size, 0, 0, cv::INTER_AREA);
    panel = resized;
  }
  cv::Mat gap(size.height, 2, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::Mat strip;
  cv::hconcat(std::vector<cv::Mat>{panels[0], gap, panels[1], gap, panels[2]}, strip);
  std::vector<unsigned char> png;
  cv::imencode(".png", strip, png);
  return "data:image/png;base64," + base64_encode(png);
}

bool CaseGallery::wants(double dice) const {
  if (!std::isfinite(dice)) return false;
  if (cases_.size() < 2 * per_end_) return true;
  return dice < cases_[per_end_ - 1].dice || dice > cases_[cases_.size() - per_end_].dice;
}

void CaseGallery::add(CaseThumbnail thumbnail) {
  if (!wants(thumbnail.dice)) return;
  auto at = std::upper_bound(cases_.begin(), cases_.end(), thumbnail.dice,
                             [](double d, const CaseThumbnail& c) { return d < c.dice; });
  cases_.insert(at, std::move(thumbnail));
  // neither among the per_end_ lowest nor the per_end_ highest: the middle one goes
  if (cases_.size() > 2 * per_end_) cases_.erase(cases_.begin() + static_cast<long>(per_end_));
}

std::vector<CaseThumbnail> CaseGallery::best() const {
  std::size_t n = std::min(per_end_, (cases_.size() + 1) / 2);
  return {cases_.rbegin(), cases_.rbegin() + static_cast<long>(n)};
}

std::vector<CaseThumbnail> CaseGallery::worst() const {
  std::size_t n = cases_.size() - std::min(per_end_, (cases_.size() + 1) / 2);
  return {cases_.begin(), cases_.begin() + static_cast<long>(n)};
}

}  // namespace medpipe
