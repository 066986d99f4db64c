// models/logistic.h: binary logistic regression by Newton-Raphson (iteratively reweighted least
// squares) from zero with step halving, unpenalised, as R's glm(family = binomial) and
// scikit-learn's LogisticRegression(penalty=None) fit it: the propensity of treatment.
#pragma once
#include <string>
#include <vector>

namespace medpipe {

struct LogisticModel {
  double intercept = 0;
  std::vector<double> coef;
  double probability(const double* x) const;  // P(y = 1 | x)
};

// x row-major (rows x columns), y 0/1. UsageError naming `what` when the columns are collinear
// or the fit does not converge. Separation shows as probabilities near 0 or 1: the caller
// checks them (positivity).
LogisticModel fit_logistic(const std::vector<double>& x, const std::vector<int>& y,
                           const std::vector<std::string>& columns, const std::string& what);

}  // namespace medpipe
