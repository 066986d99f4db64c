// features/autocorrelation.cpp: Moran's I and Geary's C (IBSI morphology) with inverse-distance
// weights over every pair of intensity-mask voxels. The pair sums are convolutions with the
// kernel 1/|d|, done with FFTs (OpenCV's DFT: 2D per slice, then 1D along z): O(n log n) instead
// of O(n^2), exact up to rounding.
#include "features/autocorrelation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/core.hpp>
#include <random>

namespace medpipe {

namespace {

// A complex volume as one 2D plane per slice.
using Volume = std::vector<cv::Mat>;  // nz planes of ny x nx CV_64FC2

Volume zeros(int nx, int ny, int nz) {
  Volume v;
  for (int z = 0; z < nz; ++z) v.push_back(cv::Mat::zeros(ny, nx, CV_64FC2));
  return v;
}

void fft3(Volume& v, bool inverse) {
  const int flags = inverse ? (cv::DFT_INVERSE | cv::DFT_SCALE) : 0;
  for (auto& plane : v) cv::dft(plane, plane, flags);
  const int nz = static_cast<int>(v.size()), ny = v[0].rows, nx = v[0].cols;
  cv::Mat line(1, nz, CV_64FC2);
  for (int y = 0; y < ny; ++y)
    for (int x = 0; x < nx; ++x) {
      for (int z = 0; z < nz; ++z) line.at<cv::Vec2d>(0, z) = v[z].at<cv::Vec2d>(y, x);
      cv::dft(line, line, inverse ? (cv::DFT_INVERSE | cv::DFT_SCALE) : 0);
      for (int z = 0; z < nz; ++z) v[z].at<cv::Vec2d>(y, x) = line.at<cv::Vec2d>(0, z);
    }
}

// ifft(fft(input) * kernel_spectrum); the input is left as it is (cv::Mat copies share data)
Volume convolve(const Volume& input, const Volume& kernel_spectrum) {
  Volume a;
  for (const auto& plane : input) a.push_back(plane.clone());
  fft3(a, false);
  for (std::size_t z = 0; z < a.size(); ++z) {
    cv::mulSpectrums(a[z], kernel_spectrum[z], a[z], 0);
  }
  fft3(a, true);
  return a;
}

std::pair<double, double> direct(const RoiVolume& roi, int max_voxels) {
  std::vector<std::array<double, 4>> voxels;
  for (int z = 0; z < roi.nz; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x) {
        std::size_t i = roi.index(x, y, z);
        if (roi.int_mask[i]) {
          voxels.push_back({x * roi.spacing_mm[0], y * roi.spacing_mm[1], z * roi.spacing_mm[2],
                            double(roi.intensity[i])});
        }
      }
  if (static_cast<int>(voxels.size()) > max_voxels) {
    std::mt19937 rng(20240601);
    std::shuffle(voxels.begin(), voxels.end(), rng);
    voxels.resize(max_voxels);
  }
  double n = voxels.size(), mean = 0;
  for (const auto& v : voxels) mean += v[3] / n;
  double denominator = 0, w_sum = 0, moran = 0, geary = 0;
  for (const auto& v : voxels) denominator += (v[3] - mean) * (v[3] - mean);
  for (std::size_t a = 0; a < voxels.size(); ++a)
    for (std::size_t b = a + 1; b < voxels.size(); ++b) {
      double dx = voxels[a][0] - voxels[b][0], dy = voxels[a][1] - voxels[b][1],
             dz = voxels[a][2] - voxels[b][2];
      double w = 2.0 / std::sqrt(dx * dx + dy * dy + dz * dz);
      w_sum += w;
      moran += w * (voxels[a][3] - mean) * (voxels[b][3] - mean);
      geary += w * (voxels[a][3] - voxels[b][3]) * (voxels[a][3] - voxels[b][3]);
    }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (denominator == 0 || w_sum == 0) return {nan, nan};
  return {n / w_sum * moran / denominator, (n - 1) / (2 * w_sum) * geary / denominator};
}

}  // namespace

std::pair<double, double> morans_i_gearys_c(const RoiVolume& roi, int max_voxels_direct) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double n = 0, mean = 0;
  for (std::size_t i = 0; i < roi.size(); ++i) {
    if (roi.int_mask[i]) n += 1, mean += roi.intensity[i];
  }
  mean /= n;
  if (n < 2) return {nan, nan};
  const int px = cv::getOptimalDFTSize(2 * roi.nx - 1), py = cv::getOptimalDFTSize(2 * roi.ny - 1),
            pz = cv::getOptimalDFTSize(2 * roi.nz - 1);
  if (static_cast<double>(px) * py * pz > 64e6) return direct(roi, max_voxels_direct);
  Volume kernel = zeros(px, py, pz), y = zeros(px, py, pz), m = zeros(px, py, pz);
  for (int z = 0; z < pz; ++z)
    for (int j = 0; j < py; ++j)
      for (int i = 0; i < px; ++i) {
        // offsets wrap around: index k stands for k (k < n) or k - p (k >= p - n + 1)
        int dx = i < roi.nx ? i : i - px, dy = j < roi.ny ? j : j - py,
            dz = z < roi.nz ? z : z - pz;
        if (std::abs(dx) >= roi.nx || std::abs(dy) >= roi.ny || std::abs(dz) >= roi.nz) continue;
        if (dx == 0 && dy == 0 && dz == 0) continue;
        double d =
            std::sqrt(std::pow(dx * roi.spacing_mm[0], 2) + std::pow(dy * roi.spacing_mm[1], 2) +
                      std::pow(dz * roi.spacing_mm[2], 2));
        kernel[z].at<cv::Vec2d>(j, i)[0] = 1.0 / d;
      }
  double denominator = 0;
  for (int z = 0; z < roi.nz; ++z)
    for (int j = 0; j < roi.ny; ++j)
      for (int i = 0; i < roi.nx; ++i) {
        std::size_t k = roi.index(i, j, z);
        if (!roi.int_mask[k]) continue;
        double centred = roi.intensity[k] - mean;
        y[z].at<cv::Vec2d>(j, i)[0] = centred;
        m[z].at<cv::Vec2d>(j, i)[0] = 1.0;
        denominator += centred * centred;
      }
  if (denominator == 0) return {nan, nan};
  fft3(kernel, false);
  Volume ky = convolve(y, kernel), km = convolve(m, kernel);
  double w_sum = 0, moran = 0, geary_squares = 0;
  for (int z = 0; z < roi.nz; ++z)
    for (int j = 0; j < roi.ny; ++j)
      for (int i = 0; i < roi.nx; ++i) {
        if (m[z].at<cv::Vec2d>(j, i)[0] == 0) continue;
        double yv = y[z].at<cv::Vec2d>(j, i)[0];
        double km_v = km[z].at<cv::Vec2d>(j, i)[0], ky_v = ky[z].at<cv::Vec2d>(j, i)[0];
        w_sum += km_v;
        moran += yv * ky_v;
        geary_squares += yv * yv * km_v;
      }
  // sum over pairs of w (y_a - y_b)^2 = 2 sum_a y_a^2 (K*m)_a - 2 sum_a y_a (K*y)_a
  double geary = 2 * geary_squares - 2 * moran;
  return {n / w_sum * moran / denominator, (n - 1) / (2 * w_sum) * geary / denominator};
}

}  // namespace medpipe
