// Radiomics + Cox (`pipeline: features` with label_style survival): the IBSI features of each
// image (and its region, with images_labels_bucket), z-scored on the training images (constant
// and undefined features dropped), are the covariates of a Cox model. They are many and
// correlated, so the fit is ridge-penalised: cox_ridge, 1 where it is left at 0.
#include <map>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/log.h"
#include "core/world.h"
#include "pipeline/radiomics.h"
#include "pipeline/run_setup.h"
#include "pipeline/survival_shared.h"

namespace medpipe {

namespace {

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

}  // namespace

int survival_train_radiomics(const Config& config) {
  const auto start = Clock::now();
  const PairImages pair = [&config](const std::string& key, const std::string& location,
                                    bool validation, int) {
    return survival_images(key, location, validation ? "val_labels" : "labels",
                           validation ? config.val_labels : config.labels);
  };
  TrainingSamples samples = training_samples(config, pair);
  start_run(config, config.model_dir(), "train");
  const FeatureSettings settings = load_feature_settings(config.feature_settings);
  std::vector<Sample> all = samples.train;
  all.insert(all.end(), samples.val.begin(), samples.val.end());
  const FeatureTable table =
      feature_table(config, all, settings, fs::path(config.model_dir()) / "features.csv");
  if (!is_lead_rank()) return 0;
  const FeatureNormaliser normaliser = fit_normaliser(table, samples.train);
  SkippedList skipped;
  const SurvivalTable train = radiomics_cohort(samples.train, table, normaliser, skipped);
  std::optional<SurvivalTable> val;
  if (!samples.val.empty()) val = radiomics_cohort(samples.val, table, normaliser, skipped);
  Config fit = config;
  fit.arch = Arch::kCox;
  if (fit.cox_ridge <= 0) {
    fit.cox_ridge = 1.0;
    log_info("radiomics + Cox: " + std::to_string(train.columns.size()) +
             " correlated features, ridge penalty cox_ridge 1 (set cox_ridge to change it)");
  }
  SavedModel saved;
  saved.extra["survival"] = {
      {"radiomics",
       {{"settings", feature_settings_to_json(settings)}, {"normaliser", normaliser.to_json()}}}};
  return train_survival_table(fit, train, val ? &*val : nullptr, saved, skipped, start);
}

int survival_predict_radiomics(const Config& config, const StoredModel& model) {
  const auto start = Clock::now();
  std::vector<Sample> samples =
      config.has_labels
          ? survival_images("images_bucket", config.images_bucket, "labels", config.labels).samples
          : unlabelled_images(config);
  start_run(config, config.results_dir(), "predict");
  const nlohmann::json& stored = model.saved.extra.at("survival").at("radiomics");
  const FeatureSettings settings =
      feature_settings_from_json(stored.at("settings"), config.model_dir() + "/model.json");
  const FeatureNormaliser normaliser = FeatureNormaliser::from_json(stored.at("normaliser"));
  const FeatureTable table =
      feature_table(config, samples, settings, fs::path(config.results_dir()) / "features.csv");
  if (!is_lead_rank()) return 0;
  SkippedList skipped;
  const SurvivalTable subjects = radiomics_cohort(samples, table, normaliser, skipped);
  return predict_survival_table(config, model, subjects, skipped, start);
}

}  // namespace medpipe
