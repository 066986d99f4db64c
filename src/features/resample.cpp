#include "features/resample.h"

#include <algorithm>
#include <cmath>

namespace medpipe {

namespace {

// Cubic B-spline interpolation coefficients of one line, in place (Unser's recursive filter,
// mirror boundaries).
void prefilter_line(double* c, int n, std::size_t stride) {
  if (n < 2) return;
  const double pole = std::sqrt(3.0) - 2.0;
  auto at = [&](int k) -> double& { return c[k * stride]; };
  for (int k = 0; k < n; ++k) at(k) *= 6.0;  // (1 - pole)(1 - 1/pole)
  // causal start for mirror-symmetric extension (exact sum over one period)
  double z_n1 = std::pow(pole, n - 1), sum = at(0) + z_n1 * at(n - 1), power = pole;
  double z_2n2 = z_n1 * z_n1;
  for (int k = 1; k < n - 1; ++k, power *= pole) {
    sum += (power + z_2n2 / power) * at(k);
  }
  at(0) = sum / (1.0 - z_2n2);
  for (int k = 1; k < n; ++k) at(k) += pole * at(k - 1);
  at(n - 1) = pole / (pole * pole - 1.0) * (at(n - 1) + pole * at(n - 2));
  for (int k = n - 2; k >= 0; --k) at(k) = pole * (at(k + 1) - at(k));
}

int mirror(int k, int n) {
  if (n == 1) return 0;
  while (k < 0 || k >= n) k = k < 0 ? -k : 2 * n - 2 - k;
  return k;
}

void cubic_weights(double t, int& first, double w[4]) {
  first = static_cast<int>(std::floor(t)) - 1;
  double f = t - std::floor(t), f2 = f * f, f3 = f2 * f;
  w[0] = (1 - f) * (1 - f) * (1 - f) / 6.0;
  w[1] = (4 - 6 * f2 + 3 * f3) / 6.0;
  w[2] = (1 + 3 * f + 3 * f2 - 3 * f3) / 6.0;
  w[3] = f3 / 6.0;
}

}  // namespace

VolumeSampler::VolumeSampler(const std::vector<float>& values, int nx, int ny, int nz,
                             Method method)
    : values_(values.begin(), values.end()), nx_(nx), ny_(ny), nz_(nz), method_(method) {
  if (method_ != Method::kCubic) return;
  const std::size_t sx = 1, sy = nx, sz = static_cast<std::size_t>(nx) * ny;
  for (int z = 0; z < nz; ++z)
    for (int y = 0; y < ny; ++y) prefilter_line(&values_[z * sz + y * sy], nx, sx);
  for (int z = 0; z < nz; ++z)
    for (int x = 0; x < nx; ++x) prefilter_line(&values_[z * sz + x], ny, sy);
  for (int y = 0; y < ny; ++y)
    for (int x = 0; x < nx; ++x) prefilter_line(&values_[y * sy + x], nz, sz);
}

double VolumeSampler::at(double x, double y, double z) const {
  x = std::clamp(x, 0.0, nx_ - 1.0);
  y = std::clamp(y, 0.0, ny_ - 1.0);
  z = std::clamp(z, 0.0, nz_ - 1.0);
  switch (method_) {
    case Method::kNearest:
      return values_[(static_cast<std::size_t>(std::lround(z)) * ny_ + std::lround(y)) * nx_ +
                     std::lround(x)];
    case Method::kLinear:
      return linear(x, y, z);
    case Method::kCubic:
      return cubic(x, y, z);
  }
  return 0;
}

double VolumeSampler::linear(double x, double y, double z) const {
  int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y)),
      z0 = static_cast<int>(std::floor(z));
  double fx = x - x0, fy = y - y0, fz = z - z0, out = 0;
  for (int dz = 0; dz < 2; ++dz)
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx) {
        double w = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy) * (dz ? fz : 1 - fz);
        if (w == 0) continue;
        int xi = std::min(x0 + dx, nx_ - 1), yi = std::min(y0 + dy, ny_ - 1),
            zi = std::min(z0 + dz, nz_ - 1);
        out += w * values_[(static_cast<std::size_t>(zi) * ny_ + yi) * nx_ + xi];
      }
  return out;
}

double VolumeSampler::cubic(double x, double y, double z) const {
  int fx, fy, fz;
  double wx[4], wy[4], wz[4];
  cubic_weights(x, fx, wx);
  cubic_weights(y, fy, wy);
  cubic_weights(z, fz, wz);
  double out = 0;
  for (int k = 0; k < 4; ++k) {
    int zi = mirror(fz + k, nz_);
    for (int j = 0; j < 4; ++j) {
      int yi = mirror(fy + j, ny_);
      double row = 0;
      for (int i = 0; i < 4; ++i) {
        row +=
            wx[i] * values_[(static_cast<std::size_t>(zi) * ny_ + yi) * nx_ + mirror(fx + i, nx_)];
      }
      out += wz[k] * wy[j] * row;
    }
  }
  return out;
}

}  // namespace medpipe
