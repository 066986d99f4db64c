// pipeline/treatment_models.h (internal to pipeline/): the Cox fits behind a treatment
// recommendation that survival_treatment.cpp does not hold itself: the bootstrap fits that give
// each patient's benefit its interval, and the T-learner (treatment_model: per_arm), one Cox model
// per arm on the covariates alone, each with its own baseline hazard.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/survival_table.h"
#include "models/cox.h"

namespace medpipe {

// Cox fits of `train` resampled with replacement (seeded), each kept as its coefficients, means
// and baseline cumulative hazard at `horizon`. A resample that cannot be fitted (an arm or a
// level lost) is left out.
nlohmann::json bootstrap_fits(const SurvivalTable& train, const CoxOptions& options, double horizon,
                              int seed, int count);

// One bootstrap fit read back: S(horizon) of row i of a design with the fit's columns.
struct BootstrapFit {
  std::vector<double> coef, means;
  double h0 = 0;
  double survival(const SurvivalTable& design, std::size_t i) const;
};
// UsageError for a fit whose coefficients or means are not one per design column (a damaged
// model.json).
std::vector<BootstrapFit> read_bootstrap_fits(const nlohmann::json& fits, std::size_t columns);

// The T-learner: per arm, the Cox model of the subjects who received it (covariates only, and
// their squares where the design has them), with its bootstrap fits. UsageError where an arm's
// subjects cannot be fitted, naming the arm.
nlohmann::json fit_per_arm(const SurvivalTable& covariates, const std::vector<int>& arm,
                           const std::vector<std::string>& arms, const CoxOptions& options,
                           double horizon, int seed, int bootstrap_count);

// Under each arm k, for every subject of `covariates`: risk[k] = log H_k(horizon | x), the log
// cumulative hazard at the horizon (comparable across arms, whose baselines differ), surv[k] =
// S_k(horizon | x), and (with_draws) draws[k][b] the same survival under the b-th bootstrap pair
// (each arm's draws empty otherwise).
struct PerArmPredictions {
  std::vector<std::vector<double>> risk, surv;
  std::vector<std::vector<std::vector<double>>> draws;
};
PerArmPredictions predict_per_arm(const nlohmann::json& per_arm, const SurvivalTable& covariates,
                                  double horizon, bool with_draws);

}  // namespace medpipe
