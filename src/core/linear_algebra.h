// core/linear_algebra.h: the dense linear algebra of the statistics: LDL' of a small symmetric
// matrix with R's cholesky2 tolerance for singular columns (the Cox and logistic Newton-Raphson
// steps, the log-rank test's chi-square, the Gaussian mixture's densities) and the eigenvectors
// of a symmetric matrix (the clustering's PCA).
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

// Eigenvalues (descending) and unit eigenvectors of a symmetric p x p matrix (row-major), by
// cyclic Jacobi rotations to machine precision: vectors[k * p + i] is coordinate i of the k-th.
struct SymmetricEigen {
  std::vector<double> values;
  std::vector<double> vectors;
};
SymmetricEigen symmetric_eigen(std::vector<double> m, std::size_t p);

}  // namespace medpipe
