// The bootstrap fits of a treatment recommendation and the T-learner (see treatment_models.h).
#include "pipeline/treatment_models.h"

#include <cmath>
#include <random>

#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"

namespace medpipe {

nlohmann::json bootstrap_fits(const SurvivalTable& train, const CoxOptions& options, double horizon,
                              int seed, int count) {
  std::mt19937 rng(static_cast<unsigned>(seed) * 7919u + 1);
  std::uniform_int_distribution<std::size_t> pick(0, train.rows() - 1);
  nlohmann::json fits = nlohmann::json::array();
  for (int b = 0; b < count; ++b) {
    throw_if_stopped();
    std::vector<std::size_t> drawn(train.rows());
    for (std::size_t& i : drawn) i = pick(rng);
    const SurvivalTable sample = rows_of(train, drawn);
    try {
      const CoxModel m = fit_cox(sample, options);
      std::vector<double> coef;
      for (const CoxCoefficient& k : m.coefficients) coef.push_back(k.coef);
      fits.push_back({{"coef", coef},
                      {"means", m.means},
                      {"h0", -std::log(m.baseline.survival(0.0, horizon))}});
    } catch (const UsageError&) {
    }
  }
  return fits;
}

double BootstrapFit::survival(const SurvivalTable& design, std::size_t i) const {
  double lp = 0;
  for (std::size_t j = 0; j < coef.size(); ++j)
    lp += coef[j] * (design.x[i * design.columns.size() + j] - means[j]);
  return std::exp(-h0 * std::exp(lp));
}

std::vector<BootstrapFit> read_bootstrap_fits(const nlohmann::json& fits, std::size_t columns) {
  std::vector<BootstrapFit> out;
  for (const auto& fit : fits) {
    out.push_back({fit.at("coef").get<std::vector<double>>(),
                   fit.at("means").get<std::vector<double>>(), fit.at("h0").get<double>()});
    if (out.back().coef.size() != columns || out.back().means.size() != columns)
      throw UsageError("model.json: a bootstrap fit of the treatment model has " +
                       std::to_string(out.back().coef.size()) + " coefficients for " +
                       std::to_string(columns) +
                       " covariates; the model file is damaged, "
                       "train it again");
  }
  return out;
}

nlohmann::json fit_per_arm(const SurvivalTable& covariates, const std::vector<int>& arm,
                           const std::vector<std::string>& arms, const CoxOptions& options,
                           double horizon, int seed, int bootstrap_count) {
  nlohmann::json models = nlohmann::json::array();
  for (std::size_t k = 0; k < arms.size(); ++k) {
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < arm.size(); ++i)
      if (arm[i] == static_cast<int>(k)) rows.push_back(i);
    const SurvivalTable subjects = rows_of(covariates, rows);
    CoxModel m;
    try {
      m = fit_cox(subjects, options);
    } catch (const UsageError& e) {
      throw UsageError("treatment_model per_arm: the Cox model of arm '" + arms[k] + "' (" +
                       std::to_string(rows.size()) + " subjects) cannot be fitted: " + e.what() +
                       "; use treatment_model interactions, which pools the arms");
    }
    if (!(m.baseline.survival(0.0, horizon) < 1.0))
      throw UsageError("treatment_model per_arm: arm '" + arms[k] +
                       "' has no event before the horizon " + std::to_string(horizon) +
                       "; set treatment_horizon later");
    models.push_back(
        {{"arm", arms[k]},
         {"model", cox_to_json(m)},
         {"bootstrap", bootstrap_fits(subjects, options, horizon,
                                      seed + 1000 * static_cast<int>(k + 1), bootstrap_count)}});
    log_info("per-arm Cox model of arm '" + arms[k] + "': " + std::to_string(m.subjects) +
             " subjects, " + std::to_string(m.events) + " events");
  }
  return models;
}

PerArmPredictions predict_per_arm(const nlohmann::json& per_arm, const SurvivalTable& covariates,
                                  double horizon, bool with_draws) {
  PerArmPredictions out;
  const std::size_t n = covariates.rows(), f = covariates.columns.size();
  std::vector<std::vector<BootstrapFit>> fits;
  std::size_t pairs = with_draws ? SIZE_MAX : 0;
  for (const auto& entry : per_arm) {
    fits.push_back(with_draws ? read_bootstrap_fits(entry.at("bootstrap"), f)
                              : std::vector<BootstrapFit>{});
    pairs = std::min(pairs, fits.back().size());
  }
  for (std::size_t k = 0; k < per_arm.size(); ++k) {
    const CoxModel m = cox_from_json(per_arm[k].at("model"));
    if (m.means.size() != f)
      throw UsageError("the per-arm model of arm '" + per_arm[k].at("arm").get<std::string>() +
                       "' has " + std::to_string(m.means.size()) + " covariates, the table " +
                       std::to_string(f));
    const double h0 = -std::log(m.baseline.survival(0.0, horizon));
    if (!(h0 > 0))
      throw UsageError("treatment_horizon " + std::to_string(horizon) +
                       " is before the first event of arm '" +
                       per_arm[k].at("arm").get<std::string>() +
                       "': no risk can be compared there; choose a later horizon");
    const double log_h0 = std::log(h0);
    out.risk.emplace_back();
    out.surv.emplace_back();
    for (std::size_t i = 0; i < n; ++i) {
      const double lp = m.linear_predictor(&covariates.x[i * f]);
      out.risk.back().push_back(log_h0 + lp);
      out.surv.back().push_back(m.baseline.survival(lp, horizon));
    }
    out.draws.emplace_back();
    for (std::size_t b = 0; b < pairs; ++b) {
      out.draws.back().emplace_back();
      for (std::size_t i = 0; i < n; ++i)
        out.draws.back().back().push_back(fits[k][b].survival(covariates, i));
    }
  }
  return out;
}

}  // namespace medpipe
