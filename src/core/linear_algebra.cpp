#include "core/linear_algebra.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace medpipe {

bool Ldl::any_singular() const {
  return std::find(singular.begin(), singular.end(), true) != singular.end();
}

Ldl ldl(std::vector<double> m, std::size_t p) {
  const double tolerance = std::pow(std::numeric_limits<double>::epsilon(), 0.75);
  double largest = 0;
  for (std::size_t i = 0; i < p; ++i) largest = std::max(largest, m[i * p + i]);
  const double eps = largest * tolerance;
  Ldl out{p, std::move(m), std::vector<bool>(p, false)};
  std::vector<double>& a = out.m;
  for (std::size_t i = 0; i < p; ++i) {
    const double pivot = a[i * p + i];
    if (!std::isfinite(pivot) || pivot < eps) {
      a[i * p + i] = 0;
      out.singular[i] = true;
      continue;
    }
    for (std::size_t j = i + 1; j < p; ++j) {
      const double temp = a[j * p + i] / pivot;
      a[j * p + i] = temp;
      a[j * p + j] -= temp * temp * pivot;
      for (std::size_t k = j + 1; k < p; ++k) a[k * p + j] -= temp * a[k * p + i];
    }
  }
  return out;
}

std::vector<double> ldl_solve(const Ldl& f, std::vector<double> b) {
  const std::size_t p = f.p;
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = 0; j < i; ++j) b[i] -= f.m[i * p + j] * b[j];
  for (std::size_t i = p; i-- > 0;) {
    b[i] = f.m[i * p + i] == 0 ? 0 : b[i] / f.m[i * p + i];
    for (std::size_t j = i + 1; j < p; ++j) b[i] -= f.m[j * p + i] * b[j];
  }
  return b;
}

std::vector<double> ldl_inverse(const Ldl& f) {
  std::vector<double> out(f.p * f.p);
  for (std::size_t c = 0; c < f.p; ++c) {
    std::vector<double> e(f.p, 0.0);
    e[c] = 1;
    e = ldl_solve(f, e);
    for (std::size_t r = 0; r < f.p; ++r) out[r * f.p + c] = e[r];
  }
  return out;
}

}  // namespace medpipe

namespace medpipe {

namespace {

// One Jacobi rotation zeroing m[r][c] (r < c) of the symmetric matrix, applied to v's columns.
void jacobi_rotate(std::vector<double>& m, std::vector<double>& v, std::size_t p, std::size_t r,
                   std::size_t c) {
  const double theta = (m[c * p + c] - m[r * p + r]) / (2 * m[r * p + c]);
  const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
  const double cs = 1 / std::sqrt(t * t + 1), sn = t * cs;
  for (std::size_t k = 0; k < p; ++k) {  // columns r and c
    const double a = m[k * p + r], b = m[k * p + c];
    m[k * p + r] = cs * a - sn * b;
    m[k * p + c] = sn * a + cs * b;
  }
  for (std::size_t k = 0; k < p; ++k) {  // rows r and c
    const double a = m[r * p + k], b = m[c * p + k];
    m[r * p + k] = cs * a - sn * b;
    m[c * p + k] = sn * a + cs * b;
  }
  for (std::size_t k = 0; k < p; ++k) {
    const double a = v[k * p + r], b = v[k * p + c];
    v[k * p + r] = cs * a - sn * b;
    v[k * p + c] = sn * a + cs * b;
  }
}

}  // namespace

SymmetricEigen symmetric_eigen(std::vector<double> m, std::size_t p) {
  std::vector<double> v(p * p, 0.0);
  for (std::size_t i = 0; i < p; ++i) v[i * p + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diagonal = 0;
    for (std::size_t r = 0; r < p; ++r) {
      diagonal += m[r * p + r] * m[r * p + r];
      for (std::size_t c = r + 1; c < p; ++c) off += m[r * p + c] * m[r * p + c];
    }
    if (off <= 1e-30 * diagonal || off == 0) break;
    for (std::size_t r = 0; r < p; ++r)
      for (std::size_t c = r + 1; c < p; ++c)
        if (m[r * p + c] != 0) jacobi_rotate(m, v, p, r, c);
  }
  std::vector<std::size_t> order(p);
  for (std::size_t i = 0; i < p; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return m[a * p + a] > m[b * p + b]; });
  SymmetricEigen out{std::vector<double>(p), std::vector<double>(p * p)};
  for (std::size_t k = 0; k < p; ++k) {
    out.values[k] = m[order[k] * p + order[k]];
    for (std::size_t i = 0; i < p; ++i) out.vectors[k * p + i] = v[i * p + order[k]];
  }
  return out;
}

}  // namespace medpipe
