// The survival task on images: each image's follow-up (labels image,time,event) trains the CNN
// with the Cox partial likelihood (the images of each worker's slice of a step ranked against
// each other), in the same epoch loop, tensor cache and data-parallel workers as
// classification; the epoch with the best validation Harrell's C is kept, and Breslow's baseline
// hazard on the training images' risks gives the survival curves.
#include <map>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/world.h"
#include "data/labels.h"
#include "models/predict.h"
#include "pipeline/classify.h"
#include "pipeline/run_setup.h"
#include "pipeline/survival_shared.h"
#include "storage/storage.h"
#include "train/trainer.h"

namespace medpipe {

namespace {

// The images of a bucket with their time and event: every image needs a row of the labels.
PairedSet survival_images(const std::string& key, const std::string& location,
                          const std::string& labels_key, const std::string& labels) {
  fs::path bucket = resolve_location(location, key);
  fs::path dir = images_folder(bucket);
  const fs::path csv = find_labels_csv(labels, bucket, labels_key, dir);
  std::map<std::string, SurvivalLabel> by_name;
  for (const auto& [name, label] : read_survival_labels(csv)) by_name[name] = label;
  PairedSet out;
  std::vector<std::string> missing;
  for (Sample& s : list_images(dir, key)) {
    const auto found = by_name.find(s.name);
    if (found == by_name.end()) {
      missing.push_back(s.name);
      continue;
    }
    s.target = SurvivalTarget{found->second.time, found->second.event == 1};
    out.samples.push_back(std::move(s));
  }
  if (!missing.empty())
    throw UsageError(csv.string() + " has no time,event for " + std::to_string(missing.size()) +
                     " image(s) of " + key + ", e.g. '" + missing.front() +
                     "'; add their rows or remove the images");
  return out;
}

SurvivalTable subjects_of(const TensorCache& cache) {
  SurvivalTable t;
  for (std::size_t i : cache.usable()) {
    const Sample& s = cache.samples()[i];
    const auto* target = std::get_if<SurvivalTarget>(&s.target);
    t.names.push_back(s.name);
    t.time.push_back(target ? target->time : 0.0);
    t.event.push_back(target && target->event ? 1 : 0);
  }
  return t;
}

TrainSettings survival_settings(const Config& c, const TensorCache& train) {
  TrainSettings s;
  s.loop = loop_settings(c, 0);
  std::vector<Sample> used;
  for (std::size_t i : train.usable()) used.push_back(train.samples()[i]);
  s.loop.fingerprint = training_fingerprint(c, used);
  s.tta = c.tta;
  s.ema_decay = c.ema_decay;
  s.augment = {c.augment, c.augment_rotation_deg, c.augment_shift_fraction, true, c.augment_vflip};
  s.num_classes = 1;
  s.survival = true;
  return s;
}

}  // namespace

PairImages survival_pairing(const Config& config) {
  return [&config](const std::string& key, const std::string& location, bool validation, int) {
    return survival_images(key, location, validation ? "val_labels" : "labels",
                           validation ? config.val_labels : config.labels);
  };
}

std::vector<Sample> survival_inference_samples(const Config& config) {
  return config.has_labels
             ? survival_images("images_bucket", config.images_bucket, "labels", config.labels)
                   .samples
             : unlabelled_images(config);
}

int survival_train_images(const Config& config) {
  const auto start = Clock::now();
  TrainingSamples samples = training_samples(config, survival_pairing(config));
  start_run(config, config.model_dir(), "train");
  const PreprocessSpec spec = input_spec(config, training_headers(samples.train), "cnn");
  const int threads = config.process_threads();
  TensorCache train =
      TensorCache::build(samples.train, spec, cache_dir(config), threads, "preprocess");
  std::optional<TensorCache> val;
  if (!samples.val.empty())
    val = TensorCache::build(samples.val, spec, cache_dir(config), threads, "preprocess val");
  SkippedList skipped;
  add_skipped(skipped, train.skipped());
  if (val) add_skipped(skipped, val->skipped());
  check_channels_agree(config, {&train, val ? &*val : &train});
  require_usable(train, "images_bucket");
  const ModelSpec model{"cnn",
                        spec.channels,
                        1,
                        spec.size_px,
                        config.hidden_units,
                        config.cnn_width,
                        config.cnn_blocks,
                        config.dropout};
  torch::jit::Module module =
      build_model(training_spec(config, model), static_cast<std::uint64_t>(config.seed));
  const TrainOutcome outcome =
      train_classifier(module, train, val ? &*val : nullptr, survival_settings(config, train));
  if (!is_lead_rank()) return 0;
  const SurvivalTable subjects = subjects_of(train);
  const std::vector<double> risk = predict_risks(module, train, train.usable(), config.tta);
  const SurvivalBaseline baseline =
      baseline_hazard(subjects.time, subjects.event, risk, CoxTies::kBreslow);
  const std::vector<double> times = evaluation_times(config, subjects.time);
  SavedModel saved = saved_model_of(config, outcome, seconds_since(start));
  saved.task = "survival";
  saved.model = model;
  saved.preprocessing = spec;
  saved.train_images = train.usable().size();
  saved.val_images = val ? val->usable().size() : 0;
  saved.input = "float32 NCHW after preprocessing; output [N, 1]: the risk (log relative hazard)";
  saved.extra["survival"] = {
      {"model", "cnn_cox"},
      {"baseline", baseline_to_json(baseline)},
      {"baseline_ties", "breslow"},
      {"times", times},
      {"time_unit", config.time_unit},
      {"censoring", censoring_to_json(censoring_model(subjects.time, subjects.event))},
      {"risk_cutoff", median_of(risk)},
      {"training_harrell_c", harrell_c(subjects.time, subjects.event, risk).c}};
  end_training(config, outcome, seconds_since(start), 1);
  write_saved_model(config.model_dir(), module, saved);
  write_skipped_csv(config.model_dir(), skipped);
  log_info("model: " + (fs::path(config.model_dir()) / "model.json").string());
  return 0;
}

int survival_predict_images(const Config& config, const StoredModel& model) {
  const auto start = Clock::now();
  const std::vector<Sample> samples = survival_inference_samples(config);
  start_run(config, config.results_dir(), "predict");
  const PreprocessSpec spec = std::get<PreprocessSpec>(model.saved.preprocessing);
  TensorCache cache =
      TensorCache::build(samples, spec, cache_dir(config), config.process_threads(), "preprocess");
  if (!is_lead_rank()) return 0;  // preprocessing fans out over the ranks; rank 0 predicts
  SkippedList skipped;
  add_skipped(skipped, cache.skipped());
  if (cache.usable().empty()) require_usable(cache, "images_bucket");
  log_event("stage_start", {{"stage", "predict"}, {"images", cache.usable().size()}});
  const std::vector<double> risk =
      predict_risks(*model.risk.network, cache, cache.usable(), config.tta);
  const SurvivalTable subjects = subjects_of(cache);
  std::vector<double> median;
  const SurvivalPredictions p =
      survival_predictions(risk, subjects, model.risk.baseline, model.times, &median);
  write_survival_predictions(config.results_dir(), subjects, p, median);
  write_skipped_csv(config.results_dir(), skipped);
  log_event("stage_end", {{"stage", "predict"}, {"images", subjects.rows()}});
  log_info("predictions: " + std::to_string(subjects.rows()) + " images -> " +
           (fs::path(config.results_dir()) / "predictions.csv").string());
  if (config.has_labels) evaluate_survival(config, p, model, skipped, seconds_since(start));
  return 0;
}

}  // namespace medpipe
