// The "features" task (the original pipeline's non-deep path): each image (and its region, when
// images_labels_bucket holds masks) becomes a vector of IBSI radiomics features; a normaliser
// fitted on the training images scales them; the classification stages' MLP takes it from there.
#include <map>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/world.h"
#include "data/masks.h"
#include "features/extract.h"
#include "features/normaliser.h"
#include "pipeline/classify.h"
#include "pipeline/radiomics.h"
#include "pipeline/stages.h"
#include "storage/storage.h"

namespace medpipe {

namespace {

// The region mask of an image in `masks` (the local folder or mirror of images_labels_bucket).
std::optional<fs::path> region_mask(const Config& config, const fs::path& masks,
                                    const std::string& name) {
  if (config.images_labels_bucket.empty()) return std::nullopt;
  if (std::optional<fs::path> mask = find_mask(masks, name)) return mask;
  throw UsageError("no region mask for image '" + name + "' in images_labels_bucket " +
                   masks.string() + " (looked for " + name + ".npy, .nii.gz, .png, ...); add it, " +
                   "or leave images_labels_bucket empty to use whole images");
}

}  // namespace

FeatureTable feature_table(const Config& config, const std::vector<Sample>& samples,
                           const FeatureSettings& settings, const fs::path& csv) {
  if (is_lead_rank()) {
    fs::path masks = config.images_labels_bucket.empty()
                         ? fs::path()
                         : resolve_location(config.images_labels_bucket, "images_labels_bucket");
    std::vector<FeatureJob> jobs;
    for (const auto& s : samples) {
      jobs.push_back({s.name, s.path, region_mask(config, masks, s.name)});
    }
    FeatureTable table = extract_features(jobs, settings, config.process_threads());
    for (const auto& [image, warning] : table.warnings) log_warn(image + ": " + warning);
    write_feature_table(csv, table);
    log_info("radiomics: " + std::to_string(table.rows.size()) + " images x " +
             std::to_string(table.columns.size()) + " features -> " + csv.string());
    world().barrier();
    return table;
  }
  world().barrier();
  return read_feature_table(csv);
}

namespace {

// The samples' rows of `table`, normalised; samples without a row carry the reason.
TensorCache feature_cache(const Config& config, const std::vector<Sample>& samples,
                          const FeatureTable& table, const FeatureNormaliser& normaliser) {
  std::map<std::string, std::size_t> row_of;
  for (std::size_t r = 0; r < table.images.size(); ++r) row_of[table.images[r]] = r;
  std::map<std::string, std::string> reason_of(table.skipped.begin(), table.skipped.end());
  std::vector<std::vector<float>> rows(samples.size());
  std::vector<std::string> errors(samples.size());
  std::size_t missing = 0;
  // no row at all (every image skipped): the reasons are reported by the caller
  const std::vector<std::size_t> positions =
      table.rows.empty() ? std::vector<std::size_t>{} : normaliser.positions_in(table);
  std::string key_text = normaliser.to_json().dump();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    key_text.append("|").append(samples[i].path.string());
    auto found = row_of.find(samples[i].name);
    if (found == row_of.end()) {
      auto why = reason_of.find(samples[i].name);
      errors[i] = why != reason_of.end() ? why->second : "no features were computed";
      continue;
    }
    rows[i] = normaliser.apply(table.rows[found->second], positions, &missing);
  }
  if (missing > 0) {
    log_warn(std::to_string(missing) +
             " undefined feature values (NaN) were replaced by the training mean");
  }
  PreprocessSpec spec{static_cast<int>(normaliser.columns.size()), 1, "stretch", "none"};
  return TensorCache::from_values(samples, rows, errors, spec, cache_dir(config),
                                  "features_" + hex_digest(key_text));
}

}  // namespace

FeatureNormaliser fit_normaliser(const FeatureTable& table, const std::vector<Sample>& train) {
  FeatureTable train_only;
  train_only.columns = table.columns;
  std::map<std::string, bool> is_train;
  for (const auto& s : train) is_train[s.name] = true;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    if (is_train.count(table.images[r])) train_only.rows.push_back(table.rows[r]);
  }
  if (train_only.rows.size() < 2) {
    throw UsageError("images_bucket: features could be computed for only " +
                     std::to_string(train_only.rows.size()) +
                     " training image(s); a run needs at least 2 (reasons in skipped.csv)");
  }
  FeatureNormaliser normaliser = FeatureNormaliser::fit(train_only);
  log_info("normaliser: " + std::to_string(normaliser.columns.size()) + " features kept, " +
           std::to_string(normaliser.dropped_constant.size()) + " constant and " +
           std::to_string(normaliser.dropped_undefined.size()) + " undefined dropped");
  return normaliser;
}

namespace {

ClassifierData prepare_feature_training(const Config& config) {
  TrainingSamples samples = training_samples(config, class_pairing(config));
  start_run(config, config.model_dir(), "train");
  FeatureSettings settings = load_feature_settings(config.feature_settings);
  std::vector<Sample> all = samples.train;
  all.insert(all.end(), samples.val.begin(), samples.val.end());
  FeatureTable table =
      feature_table(config, all, settings, fs::path(config.model_dir()) / "features.csv");
  FeatureNormaliser normaliser = fit_normaliser(table, samples.train);
  const int features = static_cast<int>(normaliser.columns.size());
  ClassifierData data{feature_cache(config, samples.train, table, normaliser)};
  data.images = false;
  data.model.task = "features";
  data.model.model = ModelSpec{"mlp",
                               features,
                               samples.num_classes,
                               1,
                               config.hidden_units,
                               config.cnn_width,
                               config.cnn_blocks,
                               config.dropout};
  data.model.preprocessing = data.train.spec();
  data.model.input =
      "float32 [N, F, 1, 1]: the normalised radiomics features of features.normaliser.columns; "
      "output: logits";
  data.model.extra = {
      {"pipeline", "features"},
      {"features",
       {{"settings", feature_settings_to_json(settings)}, {"normaliser", normaliser.to_json()}}}};
  if (!samples.val.empty()) data.val = feature_cache(config, samples.val, table, normaliser);
  add_skipped(data.skipped, data.train.skipped());
  if (data.val) add_skipped(data.skipped, data.val->skipped());
  require_usable(data.train, "images_bucket");
  write_skipped_csv(config.model_dir(), data.skipped);
  return data;
}

InferenceData prepare_feature_inference(const Config& config) {
  LoadedModel model = load_model(config.model_dir());
  std::vector<Sample> samples = inference_samples(config, model.saved.num_classes());
  start_run(config, config.results_dir(), "predict");
  const std::string where = config.model_dir() + "/model.json";
  const nlohmann::json& stored = model.saved.extra.at("features");
  FeatureSettings settings = feature_settings_from_json(stored.at("settings"), where);
  FeatureNormaliser normaliser = FeatureNormaliser::from_json(stored.at("normaliser"));
  FeatureTable table =
      feature_table(config, samples, settings, fs::path(config.results_dir()) / "features.csv");
  InferenceData data{
      std::move(model), feature_cache(config, samples, table, normaliser), {}, false};
  add_skipped(data.skipped, data.images.skipped());
  if (data.images.usable().empty()) require_usable(data.images, "images_bucket");
  return data;
}

}  // namespace

int features_train(const Config& config) {
  const auto start = Clock::now();
  return train_classifier_stage(config, prepare_feature_training(config), start);
}

int features_predict(const Config& config) {
  const auto start = Clock::now();
  return predict_classifier_stage(config, prepare_feature_inference(config), start);
}

}  // namespace medpipe
