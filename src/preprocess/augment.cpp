#include "preprocess/augment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace medpipe {

namespace {

void jitter_intensities(float* values, std::size_t count, const AugmentSpec& spec,
                        std::mt19937& rng) {
  if (spec.intensity > 0) {
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    const auto contrast = static_cast<float>(1 + spec.intensity * unit(rng));
    const auto brightness = static_cast<float>(spec.intensity * unit(rng));
    for (std::size_t i = 0; i < count; ++i) values[i] = values[i] * contrast + brightness;
  }
  if (spec.noise_sd > 0) {
    std::normal_distribution<float> noise(
        0.0f, static_cast<float>(std::uniform_real_distribution<double>(0, spec.noise_sd)(rng)));
    for (std::size_t i = 0; i < count; ++i) values[i] += noise(rng);
  }
}

}  // namespace

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
  const double zoom = spec.zoom_max > spec.zoom_min ? std::uniform_real_distribution<double>(
                                                          spec.zoom_min, spec.zoom_max)(rng)
                                                    : spec.zoom_min;
  double center = (size_px - 1) / 2.0;
  cv::Mat m = cv::getRotationMatrix2D(
      cv::Point2f(static_cast<float>(center), static_cast<float>(center)), angle, zoom);
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
  jitter_intensities(chw, static_cast<std::size_t>(channels) * plane, spec, rng);
}

namespace {

using Matrix3 = std::array<double, 9>;  // row-major, acting on (x, y, z)

Matrix3 multiply(const Matrix3& a, const Matrix3& b) {
  Matrix3 m{};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 3; ++k) m[r * 3 + c] += a[r * 3 + k] * b[k * 3 + c];
  return m;
}

// Trilinear sample of one D x S x S channel at (x, y, z), edges clamped.
float trilinear(const float* v, int depth, int size, double x, double y, double z) {
  auto split = [](double t, int n, int& i0, int& i1, double& f) {
    t = std::clamp(t, 0.0, static_cast<double>(n - 1));
    i0 = static_cast<int>(std::floor(t));
    i1 = std::min(i0 + 1, n - 1);
    f = t - i0;
  };
  int x0, x1, y0, y1, z0, z1;
  double fx, fy, fz;
  split(x, size, x0, x1, fx);
  split(y, size, y0, y1, fy);
  split(z, depth, z0, z1, fz);
  auto at = [&](int zz, int yy, int xx) {
    return static_cast<double>(v[(static_cast<std::size_t>(zz) * size + yy) * size + xx]);
  };
  auto plane = [&](int zz) {
    return (at(zz, y0, x0) * (1 - fx) + at(zz, y0, x1) * fx) * (1 - fy) +
           (at(zz, y1, x0) * (1 - fx) + at(zz, y1, x1) * fx) * fy;
  };
  return static_cast<float>(plane(z0) * (1 - fz) + plane(z1) * fz);
}

}  // namespace

void augment_volume(float* cdhw, int channels, int depth, int size_px, const AugmentSpec& spec,
                    std::mt19937& rng) {
  if (!spec.enabled) return;
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::bernoulli_distribution coin(0.5);
  const double angle =
      (std::uniform_int_distribution<int>(0, 3)(rng) * 90.0 + spec.rotation_deg * unit(rng)) *
      M_PI / 180.0;
  const double scale = 1.0 + 0.1 * unit(rng);
  const Matrix3 rotation{std::cos(angle) / scale,
                         -std::sin(angle) / scale,
                         0,
                         std::sin(angle) / scale,
                         std::cos(angle) / scale,
                         0,
                         0,
                         0,
                         1.0 / scale};
  const Matrix3 flips{coin(rng) ? -1.0 : 1.0, 0, 0, 0, coin(rng) ? -1.0 : 1.0, 0, 0, 0,
                      coin(rng) ? -1.0 : 1.0};
  const Matrix3 m = multiply(rotation, flips);  // output -> input, about the centre
  const std::array<double, 3> centre{(size_px - 1) / 2.0, (size_px - 1) / 2.0, (depth - 1) / 2.0};
  const std::array<double, 3> shift{spec.shift_fraction * size_px * unit(rng),
                                    spec.shift_fraction * size_px * unit(rng),
                                    spec.shift_fraction * depth * unit(rng)};
  const double gain = 1.0 + 0.1 * unit(rng), offset = 0.1 * unit(rng);
  const std::size_t voxels = static_cast<std::size_t>(depth) * size_px * size_px;
  std::vector<float> source(voxels);
  for (int c = 0; c < channels; ++c) {
    float* v = cdhw + c * voxels;
    std::copy(v, v + voxels, source.begin());
    for (int z = 0; z < depth; ++z) {
      for (int y = 0; y < size_px; ++y) {
        for (int x = 0; x < size_px; ++x) {
          const double q[3] = {x - centre[0], y - centre[1], z - centre[2]};
          double p[3];
          for (int r = 0; r < 3; ++r)
            p[r] =
                m[r * 3] * q[0] + m[r * 3 + 1] * q[1] + m[r * 3 + 2] * q[2] + centre[r] + shift[r];
          const float value = trilinear(source.data(), depth, size_px, p[0], p[1], p[2]);
          v[(static_cast<std::size_t>(z) * size_px + y) * size_px + x] =
              static_cast<float>(value * gain + offset);
        }
      }
    }
  }
}

}  // namespace medpipe
