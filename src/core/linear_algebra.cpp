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
