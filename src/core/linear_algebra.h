// core/linear_algebra.h: the one dense solver of the statistics (the Cox and logistic
// Newton-Raphson steps, the log-rank test's chi-square): LDL' of a small symmetric matrix with
// R's cholesky2 tolerance for singular columns.
#pragma once
#include <cstddef>
#include <vector>

namespace medpipe {

// LDL' of a symmetric p x p matrix (row-major; only its lower triangle is read), a pivot below
// 1.8e-12 (eps^0.75) x the largest diagonal set to zero: singular[k] marks the columns that are
// linear combinations of earlier ones.
struct Ldl {
  std::size_t p = 0;
  std::vector<double> m;  // L below the diagonal, D on it
  std::vector<bool> singular;
  bool any_singular() const;
};
Ldl ldl(std::vector<double> m, std::size_t p);

// Solves (L D L') x = b, zero for the singular columns.
std::vector<double> ldl_solve(const Ldl& f, std::vector<double> b);
// The inverse (a generalised one where columns are singular).
std::vector<double> ldl_inverse(const Ldl& f);

}  // namespace medpipe
