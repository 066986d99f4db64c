#include "preprocess/augment.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace medpipe {

void augment_sample(float* chw, int channels, int size_px, const AugmentSpec& spec,
                    std::mt19937& rng) {
  if (!spec.enabled) return;
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::bernoulli_distribution coin(0.5);
  double angle = spec.rotation_deg * unit(rng);
  double dx = spec.shift_fraction * size_px * unit(rng);
  double dy = spec.shift_fraction * size_px * unit(rng);
  bool flip_h = spec.hflip && coin(rng);
  bool flip_v = spec.vflip && coin(rng);
  double center = (size_px - 1) / 2.0;
  cv::Mat m = cv::getRotationMatrix2D(
      cv::Point2f(static_cast<float>(center), static_cast<float>(center)), angle, 1.0);
  if (flip_h) {  // x -> 2c - x applied after the rotation
    m.at<double>(0, 0) *= -1;
    m.at<double>(0, 1) *= -1;
    m.at<double>(0, 2) = 2 * center - m.at<double>(0, 2);
  }
  if (flip_v) {
    m.at<double>(1, 0) *= -1;
    m.at<double>(1, 1) *= -1;
    m.at<double>(1, 2) = 2 * center - m.at<double>(1, 2);
  }
  m.at<double>(0, 2) += dx;
  m.at<double>(1, 2) += dy;
  const std::size_t plane = static_cast<std::size_t>(size_px) * size_px;
  cv::Mat warped;
  for (int c = 0; c < channels; ++c) {
    cv::Mat channel(size_px, size_px, CV_32F, chw + c * plane);
    cv::warpAffine(channel, warped, m, channel.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
    warped.copyTo(channel);
  }
}

}  // namespace medpipe
