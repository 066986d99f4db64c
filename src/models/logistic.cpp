#include "models/logistic.h"

#include <cmath>

#include "core/error.h"
#include "core/linear_algebra.h"

namespace medpipe {

namespace {

// log likelihood, gradient and Hessian (negated, p+1 square) at beta (intercept first).
double pass(const std::vector<double>& x, const std::vector<int>& y, std::size_t p,
            const std::vector<double>& beta, std::vector<double>& grad, std::vector<double>& info) {
  const std::size_t q = p + 1, n = y.size();
  grad.assign(q, 0.0);
  info.assign(q * q, 0.0);
  double loglik = 0;
  std::vector<double> row(q);
  for (std::size_t i = 0; i < n; ++i) {
    row[0] = 1;
    for (std::size_t k = 0; k < p; ++k) row[k + 1] = x[i * p + k];
    double eta = 0;
    for (std::size_t k = 0; k < q; ++k) eta += beta[k] * row[k];
    const double mu = 1 / (1 + std::exp(-eta));
    loglik += y[i] ? -std::log1p(std::exp(-eta)) : -std::log1p(std::exp(eta));
    const double w = mu * (1 - mu);
    for (std::size_t a = 0; a < q; ++a) {
      grad[a] += (y[i] - mu) * row[a];
      for (std::size_t b = 0; b < q; ++b) info[a * q + b] += w * row[a] * row[b];
    }
  }
  return loglik;
}

}  // namespace

double LogisticModel::probability(const double* x) const {
  double eta = intercept;
  for (std::size_t k = 0; k < coef.size(); ++k) eta += coef[k] * x[k];
  return 1 / (1 + std::exp(-eta));
}

LogisticModel fit_logistic(const std::vector<double>& x, const std::vector<int>& y,
                           const std::vector<std::string>& columns, const std::string& what) {
  const std::size_t p = columns.size();
  std::vector<double> beta(p + 1, 0.0), grad, info;
  double loglik = pass(x, y, p, beta, grad, info);
  for (int iter = 0; iter < 50; ++iter) {
    const Ldl information = ldl(info, p + 1);
    if (information.any_singular())
      throw UsageError(what + ": the covariates are collinear; remove one");
    const std::vector<double> step = ldl_solve(information, grad);
    std::vector<double> next(p + 1);
    double next_loglik = 0;
    for (double scale = 1; scale > 1e-6; scale /= 2) {  // step halving
      for (std::size_t k = 0; k <= p; ++k) next[k] = beta[k] + scale * step[k];
      next_loglik = pass(x, y, p, next, grad, info);
      if (next_loglik >= loglik - 1e-12) break;
    }
    const bool converged = std::fabs(next_loglik - loglik) <= 1e-10 * (std::fabs(loglik) + 1);
    beta = next;
    loglik = next_loglik;
    if (converged) return {beta[0], std::vector<double>(beta.begin() + 1, beta.end())};
  }
  throw UsageError(what + ": the logistic model of the treatment did not converge");
}

}  // namespace medpipe
