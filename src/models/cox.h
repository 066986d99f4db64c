// models/cox.h: the Cox proportional hazards model, fitted as R's survival::coxph fits it, so
// that its numbers are R's: covariates centred and scaled (by their mean absolute deviation),
// Newton-Raphson from beta = 0 with step halving, converged when the relative change of the
// log partial likelihood is <= 1e-9 (at most 20 iterations), Efron's or Breslow's handling of
// tied event times, an optional ridge penalty (theta / 2 * sum beta^2, R's ridge()). The
// baseline is R's survfit.coxph: the cumulative hazard at the covariates' means with the same tie
// rule (Efron-corrected for Efron), survival exp(-H0(t) * exp(lp)).
// A covariate that is constant, a linear combination of others, or that separates the events
// (its coefficient runs to infinity) is a UsageError naming it, never a NaN.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "data/survival_table.h"

namespace medpipe {

enum class CoxTies { kEfron, kBreslow };

struct CoxOptions {
  CoxTies ties = CoxTies::kEfron;
  double ridge = 0;   // theta of R's ridge(): penalised loglik = loglik - theta/2 * sum beta^2
  int max_iter = 20;  // R's coxph.control defaults
  double eps = 1e-9;
};

struct CoxCoefficient {
  std::string name;
  double coef = 0, se = 0, z = 0, p = 0, hazard_ratio = 0, ci_low = 0, ci_high = 0;
};

struct CoxTest {
  double statistic = 0, df = 0, p = 0;
};

// The cumulative baseline hazard of a proportional hazards model at risk 0 (R's survfit.coxph):
// at each distinct event time, Breslow's d / sum(exp(risk)) over the risk set, or Efron's sum
// over k < d of 1 / (sum(exp(risk)) - k/d x sum(exp(risk) of the d deaths)).
struct SurvivalBaseline {
  std::vector<double> event_times, cumulative_hazard;
  double survival(double risk, double time) const;  // exp(-H0(time) exp(risk))
  // the first event time where S <= 0.5, or NaN where the curve stays above
  double median_survival(double risk) const;
};
SurvivalBaseline baseline_hazard(const std::vector<double>& time, const std::vector<int>& event,
                                 const std::vector<double>& risk, CoxTies ties);
nlohmann::json baseline_to_json(const SurvivalBaseline& baseline);
SurvivalBaseline baseline_from_json(const nlohmann::json& json);

struct CoxModel {
  CoxTies ties = CoxTies::kEfron;
  double ridge = 0;
  std::vector<CoxCoefficient> coefficients;
  std::vector<double> means;     // of the training covariates; lp = (x - means) . coef
  std::vector<double> variance;  // of the coefficients, p x p
  double loglik_null = 0, loglik = 0;
  CoxTest likelihood_ratio, wald, score;
  int iterations = 0;
  std::size_t subjects = 0, events = 0;
  SurvivalBaseline baseline;  // at lp = 0

  double linear_predictor(const double* x) const;
};

// Fits `data` (columns as names). UsageError for data it cannot fit: no events, a constant or
// collinear covariate, a coefficient running to infinity (with a penalty suggested).
CoxModel fit_cox(const SurvivalTable& data, const CoxOptions& options = {});

// The coefficients as a list of {name, coef, se, z, p, hazard_ratio, ci_low, ci_high}: the
// contract's model.json "coefficients", and part of cox_to_json.
nlohmann::json coefficients_to_json(const CoxModel& model);
nlohmann::json cox_to_json(const CoxModel& model);
CoxModel cox_from_json(const nlohmann::json& json);

}  // namespace medpipe
