// The "survival" task (prognosis): subjects' covariates (features_table) and follow-up (labels
// image,time,event) fit a Cox proportional hazards model as R's coxph fits it; prediction gives
// each subject a risk (the linear predictor, higher = earlier event) and survival probabilities
// at survival_times; evaluation scores them as docs/metrics.md states.
#include "metrics/survival.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json_value.h"
#include "core/log.h"
#include "core/world.h"
#include "data/survival_table.h"
#include "io/csv.h"
#include "models/cox.h"
#include "pipeline/run_setup.h"
#include "pipeline/stages.h"
#include "storage/storage.h"

namespace medpipe {

namespace {

using Labels = std::vector<std::pair<std::string, SurvivalLabel>>;

SurvivalTable read_cohort(const std::string& table_key, const std::string& table_location,
                          const std::string& labels_location, const CovariateEncoding* encoding,
                          CovariateEncoding* fitted, SkippedList& skipped) {
  const CovariateTable covariates =
      read_covariate_table(resolve_location(table_location, table_key));
  const CovariateEncoding used = encoding ? *encoding : fit_encoding(covariates);
  if (fitted) *fitted = used;
  Labels labels;
  if (!labels_location.empty())
    labels = read_survival_labels(resolve_location(labels_location, "labels"));
  SurvivalTable table =
      survival_table(covariates, used, labels_location.empty() ? nullptr : &labels, skipped);
  for (const auto& [name, reason] : skipped) log_warn("skipped " + name + ": " + reason);
  if (table.rows() < 2)
    throw UsageError(table_key + " " + table_location + ": only " + std::to_string(table.rows()) +
                     " usable subject(s) (reasons in skipped.csv)");
  return table;
}

// R's quantile (type 7) of sorted values.
double quantile(const std::vector<double>& sorted, double q) {
  const double h = (static_cast<double>(sorted.size()) - 1) * q;
  const std::size_t lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// survival_times, else the quartiles of the training follow-up; a time beyond the longest
// follow-up is refused (often a time column in another unit).
std::vector<double> evaluation_times(const Config& config, const SurvivalTable& train) {
  std::vector<double> follow_up = train.time;
  std::sort(follow_up.begin(), follow_up.end());
  std::vector<double> times;
  if (config.survival_times.empty()) {
    for (double q : {0.25, 0.5, 0.75}) times.push_back(quantile(follow_up, q));
  } else {
    std::stringstream text(config.survival_times);
    for (std::string item; std::getline(text, item, ',');) {
      char* end = nullptr;
      const double t = std::strtod(item.c_str(), &end);
      if (item.empty() || *end != '\0' || !(t > 0))
        throw UsageError("event key 'survival_times' is '" + config.survival_times +
                         "': give times above 0, comma-separated (e.g. 365,730)");
      times.push_back(t);
    }
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  if (times.back() > follow_up.back())
    throw UsageError("survival time " + json_text(times.back()) + " " + config.time_unit +
                     " is beyond the longest training follow-up (" + json_text(follow_up.back()) +
                     " " + config.time_unit + "); is the time column in another unit?");
  return times;
}

// A time as a column name: 12, 365.25 (up to 15 significant digits, no trailing zeros).
std::string time_label(double t) {
  std::ostringstream s;
  s.precision(15);
  s << t;
  return s.str();
}

// lp, S(times) and the median survival of every subject of `table`.
SurvivalPredictions predict_cohort(const CoxModel& cox, const SurvivalTable& table,
                                   const std::vector<double>& times, std::vector<double>* median) {
  SurvivalPredictions p{table.time, table.event, {}, times, {}};
  const std::size_t columns = table.columns.size();
  for (std::size_t i = 0; i < table.rows(); ++i) {
    const double lp = cox.linear_predictor(&table.x[i * columns]);
    p.risk.push_back(lp);
    for (double t : times) p.surv.push_back(cox.survival(lp, t));
    if (median) median->push_back(cox.median_survival(lp));
  }
  return p;
}

void write_predictions(const fs::path& dir, const SurvivalTable& table,
                       const SurvivalPredictions& p, const std::vector<double>& median) {
  std::ostringstream csv;
  csv << "image,risk";
  for (double t : p.times) csv << ",surv_" << time_label(t);
  csv << ",median_survival\n";
  AtomicBatch per_image(dir);
  for (std::size_t i = 0; i < table.rows(); ++i) {
    csv << csv_quote(table.names[i]) << "," << json_text(p.risk[i]);
    nlohmann::json survival = nlohmann::json::object();
    for (std::size_t k = 0; k < p.times.size(); ++k) {
      const double s = p.surv[i * p.times.size() + k];
      csv << "," << json_text(s);
      survival[time_label(p.times[k])] = s;
    }
    const nlohmann::json med =
        std::isfinite(median[i]) ? nlohmann::json(median[i]) : nlohmann::json();
    csv << "," << (std::isfinite(median[i]) ? json_text(median[i]) : "") << "\n";
    per_image.add_text(safe_join(dir, table.names[i] + ".json", "the image name"),
                       json_text(nlohmann::json{{"image", table.names[i]},
                                                {"risk", p.risk[i]},
                                                {"survival", survival},
                                                {"median_survival", med}},
                                 2) +
                           "\n");
  }
  per_image.commit();
  atomic_write_text(dir / "predictions.csv", csv.str());
}

// The coefficients as R's summary(coxph) prints them, for the log.
std::string coefficient_table(const CoxModel& m) {
  std::ostringstream s;
  s << "Cox model (" << (m.ties == CoxTies::kEfron ? "efron" : "breslow") << " ties), n "
    << m.subjects << ", events " << m.events << ":\n";
  for (const CoxCoefficient& c : m.coefficients)
    s << "  " << c.name << "  coef " << c.coef << "  HR " << c.hazard_ratio << " (" << c.ci_low
      << "-" << c.ci_high << ")  se " << c.se << "  p " << c.p << "\n";
  s << "  likelihood ratio " << m.likelihood_ratio.statistic << " on " << m.likelihood_ratio.df
    << " df, p " << m.likelihood_ratio.p;
  return s.str();
}

nlohmann::json coefficients_json(const CoxModel& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const CoxCoefficient& c : m.coefficients)
    out.push_back({{"name", c.name},
                   {"coef", c.coef},
                   {"se", c.se},
                   {"hazard_ratio", c.hazard_ratio},
                   {"ci_low", c.ci_low},
                   {"ci_high", c.ci_high},
                   {"p", c.p}});
  return out;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return quantile(values, 0.5);
}

struct StoredModel {
  SavedModel saved;
  CoxModel cox;
  CovariateEncoding encoding;
  std::vector<double> times;
  CensoringModel censoring;
  double risk_cutoff = 0;
};

StoredModel read_stored_model(const Config& config) {
  StoredModel m;
  m.saved = read_saved_model(config.model_dir());
  const std::string where = config.model_dir() + "/model.json";
  if (!m.saved.extra.contains("survival"))
    throw UsageError(where + " is not a survival model; retrain it with label_style survival");
  try {
    const nlohmann::json& s = m.saved.extra.at("survival");
    m.cox = cox_from_json(s.at("cox"));
    m.encoding = encoding_from_json(s.at("covariates"));
    m.times = s.at("times").get<std::vector<double>>();
    m.censoring = censoring_from_json(s.at("censoring"));
    m.risk_cutoff = s.at("risk_cutoff").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(where + " is not a medpipe survival model (" + e.what() + "); retrain it");
  }
  return m;
}

void evaluate(const Config& config, const SurvivalPredictions& p, const StoredModel& model,
              const SkippedList& skipped, double seconds) {
  log_event("stage_start", {{"stage", "evaluate"}, {"images", p.time.size()}});
  nlohmann::json metrics = survival_metrics(p, model.censoring, model.risk_cutoff);
  metrics["time_unit"] = config.time_unit;
  ReportInput report;
  report.kind = ReportKind::kSurvival;
  write_evaluation_outputs(config, metrics, model.saved.to_json(), skipped, seconds,
                           "n " + std::to_string(p.time.size()) + ", Harrell's C " +
                               metrics["harrell_c"].dump() + ", Uno's C " + metrics["uno_c"].dump(),
                           report);
}

}  // namespace

int survival_train(const Config& config) {
  const auto start = Clock::now();
  if (!is_lead_rank()) return 0;  // a Cox fit takes seconds: one process
  start_run(config, config.model_dir(), "train");
  if (config.labels.empty())
    throw UsageError("label_style survival needs labels: a CSV image,time,event");
  SkippedList skipped;
  CovariateEncoding encoding;
  const SurvivalTable train = read_cohort("features_table", config.features_table, config.labels,
                                          nullptr, &encoding, skipped);
  log_event("stage_start", {{"stage", "train"}, {"images", train.rows()}});
  const CoxModel cox = fit_cox(
      train,
      {config.ties == TiesMethod::kEfron ? CoxTies::kEfron : CoxTies::kBreslow, config.cox_ridge});
  log_info(coefficient_table(cox));
  const std::vector<double> times = evaluation_times(config, train);
  const SurvivalPredictions fitted = predict_cohort(cox, train, times, nullptr);
  const double cutoff = median_of(fitted.risk);
  const CensoringModel censoring = censoring_model(train.time, train.event);
  SavedModel saved;
  saved.task = "survival";
  saved.model.arch = "cox";
  saved.model.in_channels = static_cast<int>(train.columns.size());
  saved.model.num_classes = 0;
  saved.preprocessing = PreprocessSpec{saved.model.in_channels, 1, "stretch", "none"};
  saved.input =
      "the covariates of survival.covariates, one-hot encoded; output: risk (the linear "
      "predictor) and S(t) = exp(-H0(t) exp(risk))";
  saved.training = config_to_json(config);
  saved.train_images = train.rows();
  saved.train_seconds = seconds_since(start);
  saved.extra["coefficients"] = coefficients_json(cox);
  saved.extra["survival"] = {
      {"cox", cox_to_json(cox)},
      {"covariates", encoding_to_json(encoding)},
      {"times", times},
      {"time_unit", config.time_unit},
      {"censoring", censoring_to_json(censoring)},
      {"risk_cutoff", cutoff},
      {"training_harrell_c", harrell_c(train.time, train.event, fitted.risk).c}};
  if (!config.val_features_table.empty()) {
    SkippedList val_skipped;
    const SurvivalTable val = read_cohort("val_features_table", config.val_features_table,
                                          config.val_labels, &encoding, nullptr, val_skipped);
    const SurvivalPredictions vp = predict_cohort(cox, val, times, nullptr);
    saved.validation_metrics = survival_metrics(vp, censoring, cutoff);
    saved.val_images = val.rows();
    skipped.insert(skipped.end(), val_skipped.begin(), val_skipped.end());
  }
  const fs::path dir = config.model_dir();
  fs::remove(dir / "model.pt");  // a Cox model is model.json alone
  atomic_write_text(dir / "model.json", json_text(saved.to_json(), 2) + "\n");
  write_skipped_csv(dir, skipped);
  log_event("stage_end", {{"stage", "train"}, {"seconds", seconds_since(start)}});
  log_info("model: " + (dir / "model.json").string());
  return 0;
}

int survival_predict(const Config& config) {
  const auto start = Clock::now();
  if (!is_lead_rank()) return 0;
  const StoredModel model = read_stored_model(config);
  start_run(config, config.results_dir(), "predict");
  SkippedList skipped;
  const std::string labels = config.has_labels ? config.labels : "";
  if (config.has_labels && labels.empty())
    throw UsageError(
        "has_labels is true but labels is empty: give the CSV image,time,event, or "
        "set has_labels false");
  const SurvivalTable table = read_cohort("features_table", config.features_table, labels,
                                          &model.encoding, nullptr, skipped);
  log_event("stage_start", {{"stage", "predict"}, {"images", table.rows()}});
  std::vector<double> median;
  const SurvivalPredictions p = predict_cohort(model.cox, table, model.times, &median);
  write_predictions(config.results_dir(), table, p, median);
  write_skipped_csv(config.results_dir(), skipped);
  log_event("stage_end",
            {{"stage", "predict"}, {"images", table.rows()}, {"seconds", seconds_since(start)}});
  log_info("predictions: " + std::to_string(table.rows()) + " subjects -> " +
           (fs::path(config.results_dir()) / "predictions.csv").string());
  if (config.has_labels) evaluate(config, p, model, skipped, seconds_since(start));
  return 0;
}

int survival_evaluate(const Config& config) {
  const auto start = Clock::now();
  const StoredModel model = read_stored_model(config);
  if (config.labels.empty()) throw UsageError("evaluation needs labels: a CSV image,time,event");
  const fs::path csv = fs::path(config.results_dir()) / "predictions.csv";
  if (!fs::exists(csv))
    throw UsageError("no predictions to evaluate: " + csv.string() +
                     " does not exist; run "
                     "medpipe predict first");
  const Labels labels = read_survival_labels(resolve_location(config.labels, "labels"));
  std::map<std::string, SurvivalLabel> truth(labels.begin(), labels.end());
  SurvivalPredictions p{{}, {}, {}, model.times, {}};
  SkippedList skipped;
  const std::vector<CsvRow> rows = read_csv_file(csv);
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    if (row.fields.size() < 2 + model.times.size()) continue;
    const auto found = truth.find(row.fields[0]);
    if (found == truth.end()) {
      skipped.emplace_back(row.fields[0], "no label in the labels CSV; not evaluated");
      continue;
    }
    p.time.push_back(found->second.time);
    p.event.push_back(found->second.event);
    p.risk.push_back(std::strtod(row.fields[1].c_str(), nullptr));
    for (std::size_t k = 0; k < model.times.size(); ++k)
      p.surv.push_back(std::strtod(row.fields[2 + k].c_str(), nullptr));
  }
  if (p.time.size() < 2) throw UsageError(csv.string() + ": fewer than 2 labelled subjects");
  start_run(config, config.results_dir(), "evaluate");
  evaluate(config, p, model, skipped, seconds_since(start));
  return 0;
}

}  // namespace medpipe
