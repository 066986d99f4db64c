#include "report/thumbnails.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace medpipe {

namespace {

// Class colours (BGR) for the overlays: class 1 green, 2 red, 3 blue, ...
const cv::Vec3b kClassColors[] = {{0, 200, 0},   {40, 40, 230},  {230, 120, 30},
                                  {0, 200, 230}, {200, 60, 200}, {200, 200, 0}};

// A plane through a volume: axis 0 keeps z (axial: rows y, columns x), 1 keeps y (coronal: rows
// z, columns x), 2 keeps x (sagittal: rows z, columns y). Rows along z run from the last slice to
// the first, so that head-first volumes show superior at the top.
struct Plane {
  int axis = 0, index = 0;
};

struct PlaneShape {
  int rows, cols;
  double row_mm, col_mm;  // the pixel's size on screen
};

PlaneShape plane_shape(const Plane& p, int depth, int height, int width,
                       const std::array<double, 3>& spacing_mm) {
  if (p.axis == 0) return {height, width, spacing_mm[1], spacing_mm[0]};
  if (p.axis == 1) return {depth, width, spacing_mm[2], spacing_mm[0]};
  return {depth, height, spacing_mm[2], spacing_mm[1]};
}

// The voxel (z, y, x) at row r, column c of the plane.
std::array<int, 3> plane_voxel(const Plane& p, int depth, int r, int c) {
  if (p.axis == 0) return {p.index, r, c};
  if (p.axis == 1) return {depth - 1 - r, p.index, c};
  return {depth - 1 - r, c, p.index};
}

// Per axis, the index of the plane with the most truth voxels (else prediction voxels, else the
// middle one).
Plane plane_to_show(int axis, const LabelVolume& truth, const LabelVolume& predicted) {
  const int extent[3] = {truth.depth, truth.height, truth.width};
  for (const LabelVolume* labels : {&truth, &predicted}) {
    std::vector<std::size_t> counts(extent[axis], 0);
    std::size_t i = 0;
    for (int z = 0; z < labels->depth; ++z)
      for (int y = 0; y < labels->height; ++y)
        for (int x = 0; x < labels->width; ++x, ++i)
          if (labels->labels[i]) ++counts[axis == 0 ? z : axis == 1 ? y : x];
    const auto best = std::max_element(counts.begin(), counts.end());
    if (*best > 0) return {axis, static_cast<int>(best - counts.begin())};
  }
  return {axis, extent[axis] / 2};
}

// One plane of the image as 8-bit BGR, gray values stretched between the 1st and 99th
// percentiles (of the first channel).
cv::Mat gray_plane(const Image& image, const Plane& p) {
  const PlaneShape shape = plane_shape(p, image.depth, image.height, image.width, image.spacing_mm);
  cv::Mat values(shape.rows, shape.cols, CV_32F);
  for (int r = 0; r < shape.rows; ++r) {
    for (int c = 0; c < shape.cols; ++c) {
      const auto v = plane_voxel(p, image.depth, r, c);
      values.at<float>(r, c) = image.at(v[0], v[1], v[2], 0);
    }
  }
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

// The labels of the plane blended over the picture (45% colour).
cv::Mat overlay(const cv::Mat& picture, const LabelVolume& labels, const Plane& p) {
  cv::Mat out = picture.clone();
  for (int r = 0; r < out.rows; ++r) {
    for (int c = 0; c < out.cols; ++c) {
      const auto v = plane_voxel(p, labels.depth, r, c);
      const int k =
          labels.labels[(static_cast<std::size_t>(v[0]) * labels.height + v[1]) * labels.width +
                        v[2]];
      if (!k) continue;
      const cv::Vec3b& color = kClassColors[(k - 1) % 6];
      cv::Vec3b& px = out.at<cv::Vec3b>(r, c);
      for (int ch = 0; ch < 3; ++ch)
        px[ch] = static_cast<std::uint8_t>(0.55 * px[ch] + 0.45 * color[ch]);
    }
  }
  return out;
}

// image | truth | prediction for one plane, each panel at most panel_px a side, in physical
// proportions (a 5 mm slice is drawn five times as tall as a 1 mm pixel is wide); never enlarged
// beyond that (the page scales small pictures up, pixelated).
cv::Mat plane_strip(const Image& image, const LabelVolume& truth, const LabelVolume& predicted,
                    const Plane& p, int panel_px) {
  const PlaneShape shape = plane_shape(p, image.depth, image.height, image.width, image.spacing_mm);
  const double aspect = image.spacing_known && shape.col_mm > 0 ? shape.row_mm / shape.col_mm : 1;
  const double rows = shape.rows * aspect, cols = shape.cols;
  const double scale =
      std::min(1.0 * panel_px / std::max(rows, cols), aspect >= 1 ? 1.0 : 1.0 / aspect);
  const cv::Size size(std::max(1, static_cast<int>(cols * scale)),
                      std::max(1, static_cast<int>(rows * scale)));
  const cv::Mat picture = gray_plane(image, p);
  std::vector<cv::Mat> panels = {picture, overlay(picture, truth, p),
                                 overlay(picture, predicted, p)};
  for (auto& panel : panels) {
    if (panel.size() == size) continue;
    cv::Mat resized;
    cv::resize(panel, resized, size, 0, 0,
               size.area() < panel.size().area() ? cv::INTER_AREA : cv::INTER_NEAREST);
    panel = resized;
  }
  cv::Mat gap(size.height, 2, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::Mat strip;
  cv::hconcat(std::vector<cv::Mat>{panels[0], gap, panels[1], gap, panels[2]}, strip);
  return strip;
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
  // a 2D image: one strip; a volume: axial, coronal and sagittal strips, one under the other
  std::vector<cv::Mat> strips;
  for (int axis = 0; axis < (image.depth > 1 ? 3 : 1); ++axis)
    strips.push_back(
        plane_strip(image, truth, predicted, plane_to_show(axis, truth, predicted), panel_px));
  int width = 0;
  for (const cv::Mat& s : strips) width = std::max(width, s.cols);
  std::vector<cv::Mat> rows;
  for (cv::Mat& s : strips) {
    if (!rows.empty()) rows.emplace_back(2, width, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::Mat padded;
    cv::copyMakeBorder(s, padded, 0, 0, 0, width - s.cols, cv::BORDER_CONSTANT,
                       cv::Scalar(255, 255, 255));
    rows.push_back(padded);
  }
  cv::Mat picture;
  cv::vconcat(rows, picture);
  std::vector<unsigned char> png;
  cv::imencode(".png", picture, png);
  return "data:image/png;base64," + base64_encode(png);
}

std::string image_thumbnail(const Image& image, int panel_px) {
  const cv::Mat picture = gray_plane(image, Plane{0, image.depth / 2});
  const double scale = std::min(1.0, 1.0 * panel_px / std::max(picture.rows, picture.cols));
  cv::Mat shown = picture;
  if (scale < 1)
    cv::resize(picture, shown,
               cv::Size(std::max(1, static_cast<int>(picture.cols * scale)),
                        std::max(1, static_cast<int>(picture.rows * scale))),
               0, 0, cv::INTER_AREA);
  std::vector<unsigned char> png;
  cv::imencode(".png", shown, png);
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
