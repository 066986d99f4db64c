// Radiomics + Cox (`pipeline: features` with label_style survival): the IBSI features of each
// image (and its region, with images_labels_bucket), joined with the image's clinical
// covariates where features_table gives them (columns "clinical.<name>", categories one-hot),
// z-scored on the training images (constant and undefined columns dropped), are the covariates
// of a Cox model. They are many and correlated, so the fit is ridge-penalised: cox_ridge, or
// where it is left at 0 the theta of 1, 10, ..., 10^4 with the best 5-fold cross-validated
// Harrell's C on the training images. With treatment_column (a column of features_table), the
// features are the covariates of the treatment recommender (survival_treatment.cpp).
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/world.h"
#include "data/survival_table.h"
#include "pipeline/radiomics.h"
#include "pipeline/run_setup.h"
#include "pipeline/survival_shared.h"
#include "storage/storage.h"

namespace medpipe {

namespace {

// `radiomics` with the encoded covariates of each image appended; images without usable
// covariates are moved to the table's skipped list, with the reason.
FeatureTable with_covariates(const FeatureTable& radiomics, const CovariateTable& covariates,
                             const CovariateEncoding& encoding) {
  std::vector<std::pair<std::string, std::string>> unusable;
  const SurvivalTable encoded = survival_table(covariates, encoding, nullptr, unusable);
  std::map<std::string, std::size_t> row_of;
  for (std::size_t r = 0; r < encoded.names.size(); ++r) row_of[encoded.names[r]] = r;
  std::map<std::string, std::string> why(unusable.begin(), unusable.end());
  FeatureTable out;
  out.columns = radiomics.columns;
  for (const std::string& c : encoded.columns) out.columns.push_back("clinical." + c);
  out.skipped = radiomics.skipped;
  out.warnings = radiomics.warnings;
  const std::size_t f = encoded.columns.size();
  for (std::size_t r = 0; r < radiomics.images.size(); ++r) {
    const std::string& name = radiomics.images[r];
    const auto found = row_of.find(name);
    if (found == row_of.end()) {
      out.skipped.emplace_back(name, why.count(name) ? why[name] : "no row in features_table");
      continue;
    }
    std::vector<double> row = radiomics.rows[r];
    row.insert(row.end(), encoded.x.begin() + static_cast<std::ptrdiff_t>(found->second * f),
               encoded.x.begin() + static_cast<std::ptrdiff_t>((found->second + 1) * f));
    out.images.push_back(name);
    out.rows.push_back(std::move(row));
  }
  return out;
}

// The rows of `samples` in `table`, normalised; samples without a row are listed in `skipped`.
SurvivalTable radiomics_cohort(const std::vector<Sample>& samples, const FeatureTable& table,
                               const FeatureNormaliser& normaliser, SkippedList& skipped) {
  std::map<std::string, std::size_t> row_of;
  for (std::size_t r = 0; r < table.images.size(); ++r) row_of[table.images[r]] = r;
  std::map<std::string, std::string> reason_of(table.skipped.begin(), table.skipped.end());
  const std::vector<std::size_t> positions =
      table.rows.empty() ? std::vector<std::size_t>{} : normaliser.positions_in(table);
  SurvivalTable out;
  out.columns = normaliser.columns;
  std::size_t missing = 0;
  for (const Sample& s : samples) {
    const auto found = row_of.find(s.name);
    if (found == row_of.end()) {
      const auto why = reason_of.find(s.name);
      skipped.emplace_back(s.name, why != reason_of.end() ? why->second : "no features");
      continue;
    }
    const std::vector<float> row = normaliser.apply(table.rows[found->second], positions, &missing);
    const auto* target = std::get_if<SurvivalTarget>(&s.target);
    out.names.push_back(s.name);
    out.time.push_back(target ? target->time : 0.0);
    out.event.push_back(target && target->event ? 1 : 0);
    out.x.insert(out.x.end(), row.begin(), row.end());
  }
  if (missing > 0)
    log_warn(std::to_string(missing) +
             " undefined feature values (NaN) were replaced by the training mean");
  return out;
}

// The ridge theta of the grid whose Cox fits score the best Harrell's C on held-out folds (5,
// subjects assigned by a shuffle seeded by the run's seed); a fold whose fit fails scores 0.5.
double cross_validated_ridge(const SurvivalTable& train, CoxTies ties, int seed) {
  std::vector<std::size_t> order(train.rows());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(seed)));
  double best_theta = 1, best_c = -1;
  std::string scores;
  for (double theta : {1.0, 10.0, 100.0, 1000.0, 10000.0}) {
    double c_sum = 0;
    for (std::size_t fold = 0; fold < 5; ++fold) {
      std::vector<std::size_t> fit, held;
      for (std::size_t k = 0; k < order.size(); ++k)
        (k % 5 == fold ? held : fit).push_back(order[k]);
      const SurvivalTable a = rows_of(train, fit), b = rows_of(train, held);
      double c = 0.5;
      try {
        const CoxModel m = fit_cox(a, {ties, theta});
        std::vector<double> risk;
        for (std::size_t i = 0; i < b.rows(); ++i)
          risk.push_back(m.linear_predictor(&b.x[i * b.columns.size()]));
        const double held_c = harrell_c(b.time, b.event, risk).c;
        if (std::isfinite(held_c)) c = held_c;
      } catch (const UsageError&) {
      }
      c_sum += c / 5;
    }
    scores += (scores.empty() ? "" : ", ") + std::to_string(theta).substr(0, 6) + ": " +
              std::to_string(c_sum).substr(0, 6);
    if (c_sum > best_c) best_c = c_sum, best_theta = theta;
  }
  log_info(
      "radiomics + Cox: cox_ridge chosen by 5-fold cross-validated C on the training "
      "images (" +
      scores + "): " + std::to_string(best_theta));
  return best_theta;
}

// The treated cohort of radiomics subjects: the propensity of treatment is modelled on the
// clinical covariates only (an image's texture does not decide its treatment; hundreds of
// correlated features would make the logistic model collinear), or is each arm's share.
TreatedCohort radiomics_treated_cohort(const SurvivalTable& subjects,
                                       const TreatmentColumns& columns, const Config& config,
                                       std::vector<std::string>& arms) {
  TreatedCohort c = treated_cohort(subjects, columns, config, arms);
  for (const std::string& name : c.base.columns)
    c.propensity_covariate.push_back(name.rfind("clinical.", 0) == 0);
  return c;
}

}  // namespace

int survival_train_radiomics(const Config& config) {
  const auto start = Clock::now();
  TrainingSamples samples = training_samples(config, survival_pairing(config));
  start_run(config, config.model_dir(), "train");
  const FeatureSettings settings = load_feature_settings(config.feature_settings);
  std::vector<Sample> all = samples.train;
  all.insert(all.end(), samples.val.begin(), samples.val.end());
  FeatureTable table =
      feature_table(config, all, settings, fs::path(config.model_dir()) / "features.csv");
  if (!is_lead_rank()) return 0;
  std::optional<CovariateEncoding> encoding;
  std::optional<TreatmentColumns> treatment;
  if (!config.features_table.empty()) {
    CovariateTable covariates =
        read_covariate_table(resolve_location(config.features_table, "features_table"));
    if (!config.treatment_column.empty()) treatment = take_treatment_columns(covariates, config);
    encoding = fit_encoding(covariates);
    table = with_covariates(table, covariates, *encoding);
  }
  const FeatureNormaliser normaliser = fit_normaliser(table, samples.train);
  SkippedList skipped;
  const SurvivalTable train = radiomics_cohort(samples.train, table, normaliser, skipped);
  std::optional<SurvivalTable> val;
  if (!samples.val.empty()) val = radiomics_cohort(samples.val, table, normaliser, skipped);
  Config fit = config;
  fit.arch = Arch::kCox;
  if (fit.cox_ridge <= 0)
    fit.cox_ridge = cross_validated_ridge(
        train, config.ties == TiesMethod::kEfron ? CoxTies::kEfron : CoxTies::kBreslow,
        config.seed);
  SavedModel saved;
  saved.extra["survival"] = {
      {"radiomics",
       {{"settings", feature_settings_to_json(settings)}, {"normaliser", normaliser.to_json()}}}};
  if (encoding) saved.extra["survival"]["covariates"] = encoding_to_json(*encoding);
  if (treatment) {  // the recommender on the features (no squares: they are many already)
    std::vector<std::string> arms;
    const TreatedCohort c = radiomics_treated_cohort(train, *treatment, config, arms);
    return train_treatment_cohort(fit, c, arms, std::vector<bool>(train.columns.size(), false),
                                  saved, skipped, start);
  }
  return train_survival_table(fit, train, val ? &*val : nullptr, saved, skipped, start);
}

int survival_predict_radiomics(const Config& config, const StoredModel& model) {
  const auto start = Clock::now();
  const std::vector<Sample> samples = survival_inference_samples(config);
  start_run(config, config.results_dir(), "predict");
  const nlohmann::json& stored = model.saved.extra.at("survival").at("radiomics");
  const FeatureSettings settings =
      feature_settings_from_json(stored.at("settings"), config.model_dir() + "/model.json");
  const FeatureNormaliser normaliser = FeatureNormaliser::from_json(stored.at("normaliser"));
  FeatureTable table =
      feature_table(config, samples, settings, fs::path(config.results_dir()) / "features.csv");
  if (!is_lead_rank()) return 0;
  const nlohmann::json& survival = model.saved.extra.at("survival");
  std::optional<TreatmentColumns> treatment;
  Config with = config;
  if (!model.encoding.columns.empty() || survival.contains("treatment")) {
    if (config.features_table.empty())
      throw UsageError(
          "the model was trained on radiomics and clinical covariates (or a treatment column): "
          "give features_table with the images' covariates");
    CovariateTable covariates =
        read_covariate_table(resolve_location(config.features_table, "features_table"));
    if (survival.contains("treatment")) {
      if (with.treatment_column.empty())
        with.treatment_column = survival["treatment"].at("column").get<std::string>();
      treatment = take_treatment_columns(covariates, with);
    }
    table = with_covariates(table, covariates, model.encoding);
  }
  SkippedList skipped;
  const SurvivalTable subjects = radiomics_cohort(samples, table, normaliser, skipped);
  if (treatment) {
    std::vector<std::string> arms =
        survival["treatment"].at("arms").get<std::vector<std::string>>();
    const TreatedCohort c = radiomics_treated_cohort(subjects, *treatment, with, arms);
    return predict_treatment_cohort(
        with, model, c, arms, std::vector<bool>(subjects.columns.size(), false), skipped, start);
  }
  return predict_survival_table(config, model, subjects, skipped, start);
}

}  // namespace medpipe
