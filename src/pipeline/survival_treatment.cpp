// Treatment recommendation (label_style survival with treatment_column): the Cox model on the
// covariates, the arm (one-hot against the first arm) and every arm x covariate interaction
// (optionally with squared covariates: cox_squared_terms). Each subject's risk under each arm
// ranks the arms the same at every time (one baseline): the recommendation is the arm of lowest
// risk. treatment_model per_arm (the T-learner) recommends instead from one Cox model per arm,
// each with its own baseline, by the cumulative hazard at the horizon; the pooled model with
// interactions stays the outcome model (model.json's coefficients, the received arm's risk).
// Evaluation adds the policy values at a horizon by inverse probability weighting (the propensity
// from a logistic model of the evaluated cohort's own assignment), beside the constant policies and
// the observed practice, the log-rank test of followed vs not followed, and the agreement with the
// truly best arm where the data knows it.
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/clock.h"
#include "core/error.h"
#include "core/json_value.h"
#include "core/log.h"
#include "core/world.h"
#include "models/logistic.h"
#include "pipeline/run_setup.h"
#include "pipeline/survival_shared.h"
#include "pipeline/treatment_models.h"
#include "storage/storage.h"

namespace medpipe {

namespace {

// A column taken out of the covariates table, by subject name.
std::map<std::string, std::string> take_column(CovariateTable& table, const std::string& column,
                                               const std::string& key) {
  const auto found = std::find(table.header.begin(), table.header.end(), column);
  if (found == table.header.end())
    throw UsageError("features_table " + table.source.string() + " has no column '" + column +
                     "' (" + key + ")");
  const std::size_t c = static_cast<std::size_t>(found - table.header.begin());
  std::map<std::string, std::string> out;
  for (std::size_t r = 0; r < table.names.size(); ++r) {
    out[table.names[r]] = table.values[r][c];
    table.values[r].erase(table.values[r].begin() + static_cast<std::ptrdiff_t>(c));
  }
  table.header.erase(found);
  return out;
}

std::vector<std::string> split_arms(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string item; std::getline(s, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// The arm index of every subject of `table`; UsageError for a value outside `arms`.
std::vector<int> arm_indices(const SurvivalTable& table,
                             const std::map<std::string, std::string>& arm_of,
                             const std::vector<std::string>& arms) {
  std::vector<int> out;
  for (const std::string& name : table.names) {
    const std::string& value = arm_of.at(name);
    const auto found = std::find(arms.begin(), arms.end(), value);
    if (found == arms.end())
      throw UsageError("subject '" + name + "': treatment '" + value +
                       "' is not one of the arms (" + json_text(arms) +
                       "); set treatment_arms or correct the table");
    out.push_back(static_cast<int>(found - arms.begin()));
  }
  return out;
}

// covariates (+ their squares), arm indicators, and (for the Cox model, not for the network,
// which finds them itself) arm x covariate interactions; every subject given arm `arm[i]`.
SurvivalTable design(const SurvivalTable& base, const std::vector<bool>& numeric,
                     const std::vector<int>& arm, int arms, bool squares, bool interactions) {
  SurvivalTable out;
  out.names = base.names;
  out.time = base.time;
  out.event = base.event;
  std::vector<std::string> terms = base.columns;
  for (std::size_t c = 0; c < base.columns.size(); ++c)
    if (squares && numeric[c]) terms.push_back(base.columns[c] + "^2");
  out.columns = terms;
  for (int k = 1; k < arms; ++k) {
    out.columns.push_back("arm" + std::to_string(k));
    if (interactions)
      for (const std::string& t : terms) out.columns.push_back("arm" + std::to_string(k) + ":" + t);
  }
  const std::size_t f = base.columns.size();
  for (std::size_t i = 0; i < base.rows(); ++i) {
    std::vector<double> x(base.x.begin() + static_cast<std::ptrdiff_t>(i * f),
                          base.x.begin() + static_cast<std::ptrdiff_t>((i + 1) * f));
    for (std::size_t c = 0; c < f; ++c)
      if (squares && numeric[c]) x.push_back(x[c] * x[c]);
    const std::size_t with_squares = x.size();
    for (int k = 1; k < arms; ++k) {
      const double on = arm[i] == k ? 1.0 : 0.0;
      x.push_back(on);
      if (interactions)
        for (std::size_t t = 0; t < with_squares; ++t) x.push_back(on * x[t]);
    }
    out.x.insert(out.x.end(), x.begin(), x.end());
  }
  return out;
}

std::vector<bool> numeric_columns(const CovariateEncoding& encoding,
                                  const std::vector<std::string>& names) {
  std::vector<bool> out;
  for (const std::string& name : names) {
    bool numeric = false;
    for (const CovariateColumn& c : encoding.columns)
      numeric = numeric || (c.levels.empty() && c.name == name);
    out.push_back(numeric);
  }
  return out;
}

}  // namespace

TreatmentColumns take_treatment_columns(CovariateTable& table, const Config& config) {
  TreatmentColumns out;
  out.arm_of = take_column(table, config.treatment_column, "treatment_column");
  if (!config.best_arm_column.empty())
    out.best_of = take_column(table, config.best_arm_column, "best_arm_column");
  if (!config.propensity_column.empty())
    out.propensity_of = take_column(table, config.propensity_column, "propensity_column");
  return out;
}

TreatedCohort treated_cohort(SurvivalTable base, const TreatmentColumns& columns,
                             const Config& config, std::vector<std::string>& arms) {
  TreatedCohort c{std::move(base), {}, columns.best_of, columns.propensity_of};
  if (arms.empty()) {
    arms = split_arms(config.treatment_arms);
    if (arms.empty()) {
      std::set<std::string> values;
      for (const std::string& name : c.base.names) values.insert(columns.arm_of.at(name));
      arms.assign(values.begin(), values.end());
    }
  }
  c.arm = arm_indices(c.base, columns.arm_of, arms);
  return c;
}

namespace {

using Cohort = TreatedCohort;

Cohort read_treated_cohort(const Config& config, const std::string& labels,
                           const CovariateEncoding* encoding, CovariateEncoding* fitted,
                           std::vector<std::string>& arms, SkippedList& skipped) {
  CovariateTable covariates =
      read_covariate_table(resolve_location(config.features_table, "features_table"));
  const TreatmentColumns columns = take_treatment_columns(covariates, config);
  const CovariateEncoding used = encoding ? *encoding : fit_encoding(covariates);
  if (fitted) *fitted = used;
  std::vector<std::pair<std::string, SurvivalLabel>> rows;
  if (!labels.empty()) rows = read_survival_labels(resolve_location(labels, "labels"));
  return treated_cohort(survival_table(covariates, used, labels.empty() ? nullptr : &rows, skipped),
                        columns, config, arms);
}

// UsageError unless every arm has a subject in `arm`.
void require_every_arm(const std::vector<int>& arm, const std::vector<std::string>& arms) {
  if (arms.size() < 2)
    throw UsageError("treatment_column holds one arm only (" + json_text(arms) +
                     "): a recommendation needs two or more");
  for (std::size_t k = 0; k < arms.size(); ++k)
    if (std::count(arm.begin(), arm.end(), static_cast<int>(k)) == 0)
      throw UsageError("arm '" + arms[k] +
                       "' has no subject in the training data; remove it "
                       "from treatment_arms or add its subjects");
}

// UsageError unless `p`, the propensity of the arm subject `name` received, is within
// 0.01-0.99: outside, a weight of 100 or more would decide the value (positivity).
void check_positivity(const std::string& name, double p, const char* how) {
  if (!(p >= 0.01 && p <= 0.99))
    throw UsageError("subject '" + name + "': the " + how +
                     " propensity of the arm it received is " + json_text(p) +
                     ": positivity is violated (some subjects had no chance of another arm); "
                     "restrict the cohort or the covariates");
}

// The propensities propensity_column gives (a randomised study's allocation).
std::vector<double> given_propensities(const Cohort& c) {
  std::vector<double> out;
  for (const std::string& name : c.base.names) {
    const std::string& text = c.propensity_of.at(name);
    char* end = nullptr;
    const double p = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0')
      throw UsageError("subject '" + name + "': propensity_column holds '" + text +
                       "', not a probability");
    check_positivity(name, p, "given");
    out.push_back(p);
  }
  return out;
}

// P(received arm | covariates) of each subject: a logistic model per arm (one for two arms),
// normalised. UsageError where a subject's propensity is below 0.01 or above 0.99.
std::vector<double> propensities(const Cohort& c, int arms) {
  const std::size_t n = c.base.rows();
  if (!c.propensity_of.empty()) return given_propensities(c);
  std::vector<std::string> columns;  // those the propensity model uses
  std::vector<double> x;
  const std::size_t f = c.base.columns.size();
  for (std::size_t j = 0; j < f; ++j)
    if (c.propensity_covariate.empty() || c.propensity_covariate[j])
      columns.push_back(c.base.columns[j]);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j)
      if (c.propensity_covariate.empty() || c.propensity_covariate[j])
        x.push_back(c.base.x[i * f + j]);
  std::vector<std::vector<double>> p(arms, std::vector<double>(n, 0.0));
  for (int k = arms == 2 ? 1 : 0; k < arms; ++k) {
    std::vector<int> y;
    for (int a : c.arm) y.push_back(a == k ? 1 : 0);
    if (columns.empty()) {  // no covariate to model it on: the arm's share
      const double share = static_cast<double>(std::count(y.begin(), y.end(), 1)) / n;
      std::fill(p[k].begin(), p[k].end(), share);
      continue;
    }
    const LogisticModel m = fit_logistic(x, y, columns, "propensity of arm " + std::to_string(k));
    for (std::size_t i = 0; i < n; ++i) p[k][i] = m.probability(&x[i * columns.size()]);
  }
  if (arms == 2)
    for (std::size_t i = 0; i < n; ++i) p[0][i] = 1 - p[1][i];
  std::vector<double> received(n);
  for (std::size_t i = 0; i < n; ++i) {
    double total = 0;
    for (int k = 0; k < arms; ++k) total += p[k][i];
    received[i] = p[c.arm[i]][i] / total;
    check_positivity(c.base.names[i], received[i], "estimated");
  }
  return received;
}

// The policies' values at `horizon` by inverse probability weighting (the recommendation, the
// observed practice, each arm for everyone), the log-rank of followed vs not followed, and the
// agreement with the best arm where known.
// The doubly robust (augmented IPW) value of each policy at `horizon`: the mean over subjects of
// the model's S(horizon) under the policy's arm, plus, for those who received it, the weighted
// residual of the censoring-weighted outcome I(t > horizon) / G(horizon) (G: the cohort's
// censoring Kaplan-Meier; censored before the horizon: 0) against that prediction.
nlohmann::json doubly_robust_values(const Cohort& c, const SurvivalTable& observed,
                                    const std::vector<std::vector<double>>& surv_under,
                                    const std::vector<double>& received,
                                    const std::vector<int>& recommended,
                                    const std::vector<std::string>& arms, double horizon) {
  const double g = censoring_model(observed.time, observed.event).at(horizon);
  auto value_of = [&](const std::vector<int>& policy) {
    double sum = 0;
    for (std::size_t i = 0; i < policy.size(); ++i) {
      const double predicted = surv_under[policy[i]][i];
      sum += predicted;
      if (c.arm[i] == policy[i] && g > 0) {
        const double outcome = observed.time[i] > horizon ? 1.0 / g : 0.0;
        sum += (outcome - predicted) / received[i];
      }
    }
    return sum / static_cast<double>(policy.size());
  };
  nlohmann::json values = {{"horizon", horizon}, {"recommended", value_of(recommended)}};
  for (std::size_t k = 0; k < arms.size(); ++k)
    values["all_" + arms[k]] = value_of(std::vector<int>(c.arm.size(), static_cast<int>(k)));
  return values;
}

nlohmann::json policy_metrics(const Cohort& c, const SurvivalTable& observed,
                              const std::vector<int>& recommended,
                              const std::vector<std::vector<double>>& surv_under,
                              const std::vector<std::string>& arms, double horizon) {
  const int k_arms = static_cast<int>(arms.size());
  const std::vector<double> received = propensities(c, k_arms);
  auto value_of = [&](const std::vector<int>& policy) {
    std::vector<double> w(c.arm.size());
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = c.arm[i] == policy[i] ? 1 / received[i] : 0;
    return weighted_survival_at(observed.time, observed.event, w, horizon);
  };
  nlohmann::json values = {
      {"horizon", horizon},
      {"recommended", value_of(recommended)},
      {"observed", weighted_survival_at(observed.time, observed.event,
                                        std::vector<double>(c.arm.size(), 1.0), horizon)}};
  nlohmann::json better = nlohmann::json::array();
  for (int k = 0; k < k_arms; ++k) {
    values["all_" + arms[k]] = value_of(std::vector<int>(c.arm.size(), k));
    if (values["all_" + arms[k]].get<double>() > values["recommended"].get<double>())
      better.push_back("all_" + arms[k]);
  }
  std::vector<int> followed;
  for (std::size_t i = 0; i < c.arm.size(); ++i) followed.push_back(c.arm[i] == recommended[i]);
  const LogRank lr = logrank_test(observed.time, observed.event, followed);
  nlohmann::json extra_metrics = {
      {"policy_value", values},
      {"policy_value_doubly_robust",
       doubly_robust_values(c, observed, surv_under, received, recommended, arms, horizon)},
      {"recommendation_worse_than", better},
      {"followed_logrank",
       {{"chisq", lr.chisq},
        {"df", lr.df},
        {"p", lr.p},
        {"followed", std::count(followed.begin(), followed.end(), 1)}}}};
  if (!c.best_of.empty()) {
    std::size_t agree = 0;
    for (std::size_t i = 0; i < c.arm.size(); ++i)
      agree += c.best_of.at(observed.names[i]) == arms[recommended[i]];
    extra_metrics["agreement_with_best"] = static_cast<double>(agree) / c.arm.size();
  }
  if (!better.empty())
    log_warn("the recommendation's value at " + json_text(horizon) + " is below that of " +
             json_text(better) + ": treating everyone alike would do better");
  return extra_metrics;
}

constexpr int kBootstrapFits = 50;

// Each patient's benefit, S(horizon) under the recommended arm less under the best other arm,
// from the point fit (`surv_under`) and its 2.5% and 97.5% quantiles over the bootstrap fits
// (`draws[k][b][i]`: S(horizon) of subject i under arm k by fit b).
void add_benefit_columns(const std::vector<std::vector<std::vector<double>>>& draws,
                         const std::vector<std::vector<double>>& surv_under,
                         const std::vector<int>& recommended, ExtraColumns& extra) {
  const std::size_t n = recommended.size(), arms = surv_under.size();
  ExtraColumns columns{{"benefit", {}}, {"benefit_low", {}}, {"benefit_high", {}}};
  for (std::size_t i = 0; i < n; ++i) {
    int other = -1;
    for (std::size_t k = 0; k < arms; ++k)
      if (static_cast<int>(k) != recommended[i] &&
          (other < 0 || surv_under[k][i] > surv_under[other][i]))
        other = static_cast<int>(k);
    std::vector<double> differences;
    for (std::size_t b = 0; b < draws[0].size(); ++b)
      differences.push_back(draws[recommended[i]][b][i] - draws[other][b][i]);
    std::sort(differences.begin(), differences.end());
    auto at = [&](double q) {
      return differences.empty()
                 ? std::string()
                 : json_text(differences[static_cast<std::size_t>(q * (differences.size() - 1))]);
    };
    columns[0].second.push_back(json_text(surv_under[recommended[i]][i] - surv_under[other][i]));
    columns[1].second.push_back(at(0.025));
    columns[2].second.push_back(at(0.975));
  }
  extra.insert(extra.end(), columns.begin(), columns.end());
}

}  // namespace

int train_treatment_cohort(const Config& config, const TreatedCohort& c,
                           const std::vector<std::string>& arms, const std::vector<bool>& numeric,
                           SavedModel saved, const SkippedList& skipped, Clock::time_point start) {
  require_every_arm(c.arm, arms);
  const bool neural = config.arch == Arch::kMlp;
  const SurvivalTable train = design(c.base, numeric, c.arm, static_cast<int>(arms.size()),
                                     config.cox_squared_terms, !neural);
  Config fit = config;
  fit.arch = neural ? Arch::kMlp : Arch::kCox;
  saved.extra["survival"]["treatment"] = {{"column", config.treatment_column},
                                          {"arms", arms},
                                          {"squared_terms", config.cox_squared_terms},
                                          {"interactions", !neural},
                                          {"base_columns", c.base.columns}};
  if (!neural) {
    const std::vector<double> times = evaluation_times(config, train.time);
    const double horizon =
        config.treatment_horizon > 0 ? config.treatment_horizon : times[times.size() / 2];
    const CoxOptions options{
        config.ties == TiesMethod::kEfron ? CoxTies::kEfron : CoxTies::kBreslow, config.cox_ridge};
    nlohmann::json& t = saved.extra["survival"]["treatment"];
    if (config.treatment_model == TreatmentModel::kPerArm) {
      const SurvivalTable covariates =
          design(c.base, numeric, c.arm, 1, config.cox_squared_terms, false);
      t["per_arm"] =
          fit_per_arm(covariates, c.arm, arms, options, horizon, config.seed, kBootstrapFits);
      t["bootstrap"] = {{"horizon", horizon}};
    } else {
      t["bootstrap"] = {
          {"horizon", horizon},
          {"fits", bootstrap_fits(train, options, horizon, config.seed, kBootstrapFits)}};
      log_info("benefit intervals: " + std::to_string(t["bootstrap"]["fits"].size()) + " of " +
               std::to_string(kBootstrapFits) + " bootstrap fits");
    }
  }
  return train_survival_table(fit, train, nullptr, saved, skipped, start);
}

int survival_train_treatment(const Config& config) {
  const auto start = Clock::now();
  if (!is_lead_rank()) return 0;
  start_run(config, config.model_dir(), "train");
  if (config.labels.empty())
    throw UsageError("label_style survival needs labels: a CSV image,time,event");
  SkippedList skipped;
  CovariateEncoding encoding;
  std::vector<std::string> arms;
  const Cohort c = read_treated_cohort(config, config.labels, nullptr, &encoding, arms, skipped);
  SavedModel saved;
  saved.extra["survival"] = {{"covariates", encoding_to_json(encoding)}};
  return train_treatment_cohort(config, c, arms, numeric_columns(encoding, c.base.columns), saved,
                                skipped, start);
}

namespace {

// Each subject's risk and S(horizon) under each arm and, with_draws, S(horizon) by each
// bootstrap fit: from the one model with interactions (risk: its linear predictor, one baseline
// for all arms) or from the per-arm models (risk: the log cumulative hazard at the horizon, each
// arm its own baseline).
PerArmPredictions arm_predictions(const StoredModel& model, const Cohort& c,
                                  const std::vector<bool>& numeric, int arms, bool squares,
                                  bool interactions, double horizon, bool with_draws) {
  const nlohmann::json& t = model.saved.extra.at("survival").at("treatment");
  if (t.contains("per_arm"))
    return predict_per_arm(t["per_arm"], design(c.base, numeric, c.arm, 1, squares, false), horizon,
                           with_draws);
  std::vector<SurvivalTable> designs;  // every subject given arm k
  for (int k = 0; k < arms; ++k)
    designs.push_back(
        design(c.base, numeric, std::vector<int>(c.arm.size(), k), arms, squares, interactions));
  const std::vector<BootstrapFit> fits =
      with_draws ? read_bootstrap_fits(t["bootstrap"].value("fits", nlohmann::json::array()),
                                       designs[0].columns.size())
                 : std::vector<BootstrapFit>{};
  PerArmPredictions out;
  for (const SurvivalTable& d : designs) {
    out.risk.push_back(model.risk.risks(d));
    out.surv.emplace_back();
    for (double r : out.risk.back())
      out.surv.back().push_back(model.risk.baseline.survival(r, horizon));
    out.draws.emplace_back();
    for (const BootstrapFit& fit : fits) {
      out.draws.back().emplace_back();
      for (std::size_t i = 0; i < c.arm.size(); ++i)
        out.draws.back().back().push_back(fit.survival(d, i));
    }
  }
  return out;
}

// The arm of lowest risk of each subject (the first of equals).
std::vector<int> lowest_risk_arms(const PerArmPredictions& a) {
  std::vector<int> out(a.risk[0].size(), 0);
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t k = 1; k < a.risk.size(); ++k)
      if (a.risk[k][i] < a.risk[out[i]][i]) out[i] = static_cast<int>(k);
  return out;
}

}  // namespace

int survival_predict_treatment(const Config& config, const StoredModel& model) {
  const auto start = Clock::now();
  if (!is_lead_rank()) return 0;
  start_run(config, config.results_dir(), "predict");
  const nlohmann::json& t = model.saved.extra.at("survival").at("treatment");
  std::vector<std::string> arms = t.at("arms").get<std::vector<std::string>>();
  Config with = config;
  if (with.treatment_column.empty()) with.treatment_column = t.at("column").get<std::string>();
  SkippedList skipped;
  const std::string labels = config.has_labels ? config.labels : "";
  const Cohort c = read_treated_cohort(with, labels, &model.encoding, nullptr, arms, skipped);
  return predict_treatment_cohort(config, model, c, arms,
                                  numeric_columns(model.encoding, c.base.columns), skipped, start);
}

int predict_treatment_cohort(const Config& config, const StoredModel& model, const TreatedCohort& c,
                             const std::vector<std::string>& arms, const std::vector<bool>& numeric,
                             const SkippedList& skipped, Clock::time_point start) {
  const nlohmann::json& t = model.saved.extra.at("survival").at("treatment");
  const int k_arms = static_cast<int>(arms.size());
  const bool squares = t.at("squared_terms").get<bool>(),
             interactions = t.value("interactions", true);
  const SurvivalTable observed = design(c.base, numeric, c.arm, k_arms, squares, interactions);
  const double horizon = config.treatment_horizon > 0 ? config.treatment_horizon
                         : t.contains("bootstrap")    ? t["bootstrap"]["horizon"].get<double>()
                                                      : model.times[model.times.size() / 2];
  // the bootstrap fits hold H0 at the training horizon only
  const bool with_draws =
      t.contains("bootstrap") && t["bootstrap"]["horizon"].get<double>() == horizon;
  if (t.contains("bootstrap") && !with_draws)
    log_info("benefit columns left out: the bootstrap fits are at the training horizon " +
             json_text(t["bootstrap"]["horizon"].get<double>()) + ", not " + json_text(horizon));
  const PerArmPredictions a =
      arm_predictions(model, c, numeric, k_arms, squares, interactions, horizon, with_draws);
  const std::vector<int> recommended = lowest_risk_arms(a);
  ExtraColumns extra{{"recommended", {}}};
  for (int r : recommended) extra[0].second.push_back(arms[r]);
  for (int k = 0; k < k_arms; ++k) {
    extra.push_back({"risk_" + arms[k], {}});
    for (double r : a.risk[k]) extra.back().second.push_back(json_text(r));
  }
  if (with_draws) add_benefit_columns(a.draws, a.surv, recommended, extra);
  std::vector<double> median;
  const SurvivalPredictions p = survival_predictions(model.risk.risks(observed), observed,
                                                     model.risk.baseline, model.times, &median);
  write_survival_predictions(config.results_dir(), observed, p, median, extra);
  write_skipped_csv(config.results_dir(), skipped);
  log_info("predictions: " + std::to_string(observed.rows()) +
           " subjects, a recommended arm each -> " +
           (fs::path(config.results_dir()) / "predictions.csv").string());
  if (!config.has_labels) return 0;
  evaluate_survival(config, p, model, skipped, seconds_since(start),
                    policy_metrics(c, observed, recommended, a.surv, arms, horizon));
  return 0;
}

}  // namespace medpipe
