// The "survival" task (prognosis): subjects' covariates (features_table) and follow-up (labels
// image,time,event) fit a Cox proportional hazards model as R's coxph fits it; prediction gives
// each subject a risk (the linear predictor, higher = earlier event) and survival probabilities
// at survival_times; evaluation scores them as docs/metrics.md states.
#include "metrics/survival.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json_value.h"
#include "core/log.h"
#include "core/text.h"
#include "core/world.h"
#include "data/labels.h"
#include "data/pairing.h"
#include "data/survival_table.h"
#include "infer/saved_model.h"
#include "io/csv.h"
#include "models/cox.h"
#include "models/models.h"
#include "pipeline/run_setup.h"
#include "pipeline/stages.h"
#include "pipeline/survival_shared.h"
#include "storage/storage.h"
#include "train/cox_trainer.h"

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

}  // namespace

std::vector<double> evaluation_times(const Config& config, std::vector<double> follow_up) {
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

namespace {

// A time as a column name: 12, 365.25 (up to 15 significant digits, no trailing zeros).
std::string time_label(double t) {
  return number_text(t, 15);
}

}  // namespace

std::vector<double> RiskModel::risks(const SurvivalTable& table) const {
  const std::size_t n = table.rows(), f = table.columns.size();
  std::vector<double> out(n);
  if (cox) {
    for (std::size_t i = 0; i < n; ++i) out[i] = cox->linear_predictor(&table.x[i * f]);
    return out;
  }
  at::Tensor x = at::empty({static_cast<long>(n), static_cast<long>(f), 1, 1}, at::kFloat);
  float* data = x.data_ptr<float>();
  for (std::size_t i = 0; i < n * f; ++i)
    data[i] = static_cast<float>((table.x[i] - means[i % f]) / scales[i % f]);
  torch::NoGradGuard no_grad;
  at::Tensor risk = network->forward({x}).toTensor().reshape({-1}).to(at::kDouble).contiguous();
  std::copy(risk.data_ptr<double>(), risk.data_ptr<double>() + n, out.begin());
  return out;
}

SurvivalPredictions survival_predictions(const std::vector<double>& risk,
                                         const SurvivalTable& subjects,
                                         const SurvivalBaseline& baseline,
                                         const std::vector<double>& times,
                                         std::vector<double>* median) {
  SurvivalPredictions p{subjects.time, subjects.event, risk, times, {}};
  for (double r : p.risk) {
    for (double t : times) p.surv.push_back(baseline.survival(r, t));
    if (median) median->push_back(baseline.median_survival(r));
  }
  return p;
}

namespace {

SurvivalPredictions predict_cohort(const RiskModel& model, const SurvivalTable& table,
                                   const std::vector<double>& times, std::vector<double>* median) {
  return survival_predictions(model.risks(table), table, model.baseline, times, median);
}

// The neural Cox model on the training table: covariates standardised by their training mean
// and standard deviation, one SELU hidden layer, Breslow's baseline on its risks.
RiskModel fit_neural_cox(const Config& config, const SurvivalTable& train, ModelSpec& spec,
                         double& final_loss) {
  RiskModel m;
  const std::size_t n = train.rows(), f = train.columns.size();
  m.means.assign(f, 0.0);
  m.scales.assign(f, 0.0);
  for (std::size_t i = 0; i < n * f; ++i) m.means[i % f] += train.x[i] / static_cast<double>(n);
  for (std::size_t i = 0; i < n * f; ++i)
    m.scales[i % f] += std::pow(train.x[i] - m.means[i % f], 2) / static_cast<double>(n);
  for (double& sd : m.scales) sd = sd > 0 ? std::sqrt(sd) : 1.0;
  spec = ModelSpec{};
  spec.arch = "mlp";
  spec.in_channels = static_cast<int>(f);
  spec.num_classes = 1;
  spec.image_size = 1;
  spec.hidden_units = config.cox_hidden_units;
  spec.dropout = config.cox_dropout;
  spec.activation = "selu";
  m.network = build_model(spec, static_cast<std::uint64_t>(config.seed));
  at::Tensor x = at::empty({static_cast<long>(n), static_cast<long>(f), 1, 1}, at::kFloat);
  for (std::size_t i = 0; i < n * f; ++i)
    x.data_ptr<float>()[i] = static_cast<float>((train.x[i] - m.means[i % f]) / m.scales[i % f]);
  const at::Tensor time =
      at::from_blob(const_cast<double*>(train.time.data()), {static_cast<long>(n)}, at::kDouble)
          .clone();
  std::vector<float> events(train.event.begin(), train.event.end());
  const at::Tensor event = at::from_blob(events.data(), {static_cast<long>(n)}, at::kFloat).clone();
  final_loss = train_neural_cox(*m.network, x, time, event,
                                {config.cox_epochs, config.cox_learning_rate,
                                 config.cox_weight_decay, static_cast<std::uint64_t>(config.seed)});
  m.baseline = baseline_hazard(train.time, train.event, m.risks(train), CoxTies::kBreslow);
  return m;
}

}  // namespace

void write_survival_predictions(const fs::path& dir, const SurvivalTable& table,
                                const SurvivalPredictions& p, const std::vector<double>& median,
                                const ExtraColumns& extra) {
  std::ostringstream csv;
  csv << "image,risk";
  for (double t : p.times) csv << ",surv_" << time_label(t);
  csv << ",median_survival";
  for (const auto& column : extra) csv << "," << csv_quote(column.first);
  csv << "\n";
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
    csv << "," << (std::isfinite(median[i]) ? json_text(median[i]) : "");
    nlohmann::json result = {{"image", table.names[i]},
                             {"risk", p.risk[i]},
                             {"survival", survival},
                             {"median_survival", med}};
    for (const auto& [name, values] : extra) {
      csv << "," << csv_quote(values[i]);
      result[name] = values[i];
    }
    csv << "\n";
    per_image.add_text(safe_join(dir, table.names[i] + ".json", "the image name"),
                       json_text(result, 2) + "\n");
  }
  per_image.commit();
  atomic_write_text(dir / "predictions.csv", csv.str());
}

namespace {

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

}  // namespace

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return quantile(values, 0.5);
}

StoredModel read_stored_model(const Config& config) {
  StoredModel m;
  m.saved = read_saved_model(config.model_dir());
  const std::string where = config.model_dir() + "/model.json";
  if (!m.saved.extra.contains("survival"))
    throw UsageError(where + " is not a survival model; retrain it with label_style survival");
  try {
    const nlohmann::json& s = m.saved.extra.at("survival");
    if (m.saved.model.arch != "cox") {
      m.risk.network = torch::jit::load((fs::path(config.model_dir()) / "model.pt").string());
      m.risk.network->eval();
      if (s.contains("standardise")) {
        m.risk.means = s.at("standardise").at("means").get<std::vector<double>>();
        m.risk.scales = s.at("standardise").at("scales").get<std::vector<double>>();
      }
      m.risk.baseline = baseline_from_json(s.at("baseline"));
    } else {
      m.risk.cox = cox_from_json(s.at("cox"));
      m.risk.baseline = m.risk.cox->baseline;
    }
    if (s.contains("covariates")) m.encoding = encoding_from_json(s.at("covariates"));
    m.times = s.at("times").get<std::vector<double>>();
    m.censoring = censoring_from_json(s.at("censoring"));
    m.risk_cutoff = s.at("risk_cutoff").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(where + " is not a medpipe survival model (" + e.what() + "); retrain it");
  }
  return m;
}

void evaluate_survival(const Config& config, const SurvivalPredictions& p, const StoredModel& model,
                       const SkippedList& skipped, double seconds) {
  evaluate_survival(config, p, model, skipped, seconds, nlohmann::json::object());
}

void evaluate_survival(const Config& config, const SurvivalPredictions& p, const StoredModel& model,
                       const SkippedList& skipped, double seconds,
                       const nlohmann::json& extra_metrics) {
  log_event("stage_start", {{"stage", "evaluate"}, {"images", p.time.size()}});
  nlohmann::json metrics = survival_metrics(p, model.censoring, model.risk_cutoff);
  metrics.update(extra_metrics);
  metrics["time_unit"] = config.time_unit;
  ReportInput report;
  report.kind = ReportKind::kSurvival;
  write_evaluation_outputs(config, metrics, model.saved.to_json(), skipped, seconds,
                           "n " + std::to_string(p.time.size()) + ", Harrell's C " +
                               metrics["harrell_c"].dump() + ", Uno's C " + metrics["uno_c"].dump(),
                           report);
}

namespace {

// The model the config asks for, fitted on `train`, and what model.json records of it.
RiskModel fit_risk_model(const Config& config, const SurvivalTable& train, SavedModel& saved) {
  if (config.arch == Arch::kMlp) {
    double loss = 0;
    RiskModel m = fit_neural_cox(config, train, saved.model, loss);
    log_info("neural Cox model: " + std::to_string(config.cox_epochs) +
             " epochs, final loss (negative log partial likelihood per event) " +
             std::to_string(loss));
    saved.extra["survival"] = {{"model", "neural_cox"},
                               {"final_loss", loss},
                               {"standardise", {{"means", m.means}, {"scales", m.scales}}},
                               {"baseline", baseline_to_json(m.baseline)},
                               {"baseline_ties", "breslow"}};
    saved.input =
        "float32 [N, F, 1, 1]: the covariates of survival.covariates, one-hot encoded "
        "and standardised by survival.standardise; output [N, 1]: the risk";
    return m;
  }
  RiskModel m;
  m.cox = fit_cox(train, {config.ties == TiesMethod::kEfron ? CoxTies::kEfron : CoxTies::kBreslow,
                          config.cox_ridge});
  m.baseline = m.cox->baseline;
  log_info(coefficient_table(*m.cox));
  saved.model.arch = "cox";
  saved.model.in_channels = static_cast<int>(train.columns.size());
  saved.model.num_classes = 0;
  saved.extra["coefficients"] = coefficients_to_json(*m.cox);
  saved.extra["survival"] = {{"model", "cox"}, {"cox", cox_to_json(*m.cox)}};
  saved.input =
      "the covariates of survival.covariates, one-hot encoded; output: risk (the linear "
      "predictor)";
  return m;
}

}  // namespace

int train_survival_table(const Config& config, const SurvivalTable& train, const SurvivalTable* val,
                         SavedModel saved, SkippedList skipped, Clock::time_point start) {
  log_event("stage_start", {{"stage", "train"}, {"images", train.rows()}});
  const std::vector<double> times = evaluation_times(config, train.time);
  saved.task = "survival";
  const nlohmann::json extra = saved.extra.value("survival", nlohmann::json::object());
  RiskModel model = fit_risk_model(config, train, saved);
  const SurvivalPredictions fitted = predict_cohort(model, train, times, nullptr);
  const double cutoff = median_of(fitted.risk);
  const CensoringModel censoring = censoring_model(train.time, train.event);
  saved.preprocessing =
      PreprocessSpec{static_cast<int>(train.columns.size()), 1, "stretch", "none"};
  saved.training = config_to_json(config);
  saved.train_images = train.rows();
  saved.train_seconds = seconds_since(start);
  nlohmann::json& survival = saved.extra["survival"];
  survival.update(extra);
  survival["times"] = times;
  survival["time_unit"] = config.time_unit;
  survival["censoring"] = censoring_to_json(censoring);
  survival["risk_cutoff"] = cutoff;
  survival["training_harrell_c"] = harrell_c(train.time, train.event, fitted.risk).c;
  if (val) {
    saved.validation_metrics =
        survival_metrics(predict_cohort(model, *val, times, nullptr), censoring, cutoff);
    saved.val_images = val->rows();
  }
  const fs::path dir = config.model_dir();
  if (model.network) {
    write_saved_model(dir, *model.network, saved);
  } else {
    fs::remove(dir / "model.pt");  // a Cox model is model.json alone
    atomic_write_text(dir / "model.json", json_text(saved.to_json(), 2) + "\n");
  }
  write_skipped_csv(dir, skipped);
  log_event("stage_end", {{"stage", "train"}, {"seconds", seconds_since(start)}});
  log_info("model: " + (dir / "model.json").string());
  return 0;
}

int predict_survival_table(const Config& config, const StoredModel& model,
                           const SurvivalTable& table, const SkippedList& skipped,
                           Clock::time_point start) {
  log_event("stage_start", {{"stage", "predict"}, {"images", table.rows()}});
  std::vector<double> median;
  const SurvivalPredictions p = predict_cohort(model.risk, table, model.times, &median);
  write_survival_predictions(config.results_dir(), table, p, median);
  write_skipped_csv(config.results_dir(), skipped);
  log_event("stage_end",
            {{"stage", "predict"}, {"images", table.rows()}, {"seconds", seconds_since(start)}});
  log_info("predictions: " + std::to_string(table.rows()) + " subjects -> " +
           (fs::path(config.results_dir()) / "predictions.csv").string());
  if (config.has_labels) evaluate_survival(config, p, model, skipped, seconds_since(start));
  return 0;
}

int survival_train(const Config& config) {
  if (config.pipeline == PipelineKind::kFeatures) return survival_train_radiomics(config);
  if (!config.images_bucket.empty()) return survival_train_images(config);
  if (!config.treatment_column.empty()) return survival_train_treatment(config);
  const auto start = Clock::now();
  if (!is_lead_rank()) return 0;  // a table's subjects are few: one process
  start_run(config, config.model_dir(), "train");
  if (config.labels.empty())
    throw UsageError("label_style survival needs labels: a CSV image,time,event");
  SkippedList skipped;
  CovariateEncoding encoding;
  const SurvivalTable train = read_cohort("features_table", config.features_table, config.labels,
                                          nullptr, &encoding, skipped);
  std::optional<SurvivalTable> val;
  if (!config.val_features_table.empty())
    val = read_cohort("val_features_table", config.val_features_table, config.val_labels, &encoding,
                      nullptr, skipped);
  SavedModel saved;
  saved.extra["survival"] = {{"covariates", encoding_to_json(encoding)}};
  return train_survival_table(config, train, val ? &*val : nullptr, saved, skipped, start);
}

int survival_predict(const Config& config) {
  const auto start = Clock::now();
  const StoredModel model = read_stored_model(config);
  if (model.saved.extra.at("survival").contains("radiomics"))
    return survival_predict_radiomics(config, model);
  if (model.saved.model.arch == "cnn") return survival_predict_images(config, model);
  if (model.saved.extra.at("survival").contains("treatment"))
    return survival_predict_treatment(config, model);
  if (!is_lead_rank()) return 0;
  start_run(config, config.results_dir(), "predict");
  SkippedList skipped;
  const std::string labels = config.has_labels ? config.labels : "";
  if (config.has_labels && labels.empty())
    throw UsageError(
        "has_labels is true but labels is empty: give the CSV image,time,event, or "
        "set has_labels false");
  const SurvivalTable table = read_cohort("features_table", config.features_table, labels,
                                          &model.encoding, nullptr, skipped);
  return predict_survival_table(config, model, table, skipped, start);
}

int survival_evaluate(const Config& config) {
  const auto start = Clock::now();
  const StoredModel model = read_stored_model(config);
  if (config.labels.empty() && config.images_bucket.empty())
    throw UsageError("evaluation needs labels: a CSV image,time,event");
  const fs::path csv = fs::path(config.results_dir()) / "predictions.csv";
  if (!fs::exists(csv))
    throw UsageError("no predictions to evaluate: " + csv.string() +
                     " does not exist; run "
                     "medpipe predict first");
  // labels, else the images bucket's own CSV (the layout medpipe synth writes)
  const fs::path bucket =
      config.labels.empty() ? resolve_location(config.images_bucket, "images_bucket") : fs::path();
  const Labels labels = read_survival_labels(
      config.labels.empty() ? find_labels_csv("", bucket, "labels", images_folder(bucket))
                            : resolve_location(config.labels, "labels"));
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
  evaluate_survival(config, p, model, skipped, seconds_since(start));
  return 0;
}

}  // namespace medpipe
