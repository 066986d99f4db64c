// The flow of `medpipe run`, readable top to bottom: pair -> preprocess -> train | predict ->
// evaluate -> report.
#include "cli/pipeline.h"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/run_setup.h"
#include "core/error.h"
#include "core/log.h"
#include "core/world.h"
#include "infer/predictor.h"
#include "io/dicom_sr.h"
#include "io/image_io.h"
#include "metrics/classification.h"
#include "models/predict.h"
#include "report/report.h"
#include "storage/storage.h"
#include "train/trainer.h"

namespace medpipe::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TrainSettings train_settings(const Config& c, int num_classes, const std::string& model_dir) {
  TrainSettings s;
  s.epochs = c.epochs;
  s.batch_size = c.resolved_batch_size();
  s.learning_rate = c.learning_rate;
  s.optimizer = c.optimizer;
  s.momentum = c.momentum;
  s.weight_decay = c.weight_decay;
  s.lr_schedule = c.lr_schedule;
  s.select_metric = c.select_metric;
  s.class_weights = c.class_weights;
  s.tta = c.tta;
  s.ema_decay = c.ema_decay;
  s.augment = {c.augment, c.augment_rotation_deg, c.augment_shift_fraction, true, c.augment_vflip};
  s.seed = static_cast<std::uint64_t>(c.seed);
  s.num_classes = num_classes;
  s.checkpoint_path = (fs::path(model_dir) / "checkpoint.pt").string();
  s.checkpoint_every = c.checkpoint_every;
  s.parallel = {c.local_workers(), c.resolved_threads(), c.sync, c.local_steps};
  return s;
}

// What a resumable state must match: the settings (all of them: threads change the numerics)
// and the training images.
std::string run_fingerprint(const Config& config, const RunSetup& run) {
  std::string text = config_to_json(config).dump();
  for (std::size_t i : run.train.usable()) text += "|" + run.train.samples()[i].path.string();
  return hex_digest(text);
}

fs::path state_path(const Config& config, int member) {
  return fs::path(config.model_dir()) / ("training_state_" + std::to_string(member) + ".pt");
}

nlohmann::json evaluate_predictions(const Config& config, const Predictions& p,
                                    const SkippedList& skipped, const nlohmann::json& model,
                                    double seconds) {
  log_event("stage_start", {{"stage", "evaluate"}, {"images", p.images.size()}});
  ClassificationInput input;
  input.num_classes = p.num_classes;
  input.truth = p.truth;
  input.probabilities = p.probabilities;
  nlohmann::json metrics = classification_metrics(input);
  write_evaluation_outputs(config, metrics, model, skipped, seconds,
                           "n " + std::to_string(input.truth.size()) + ", accuracy " +
                               std::to_string(metrics["accuracy"].get<double>()) + ", AUC " +
                               metrics["roc_auc"].dump());
  return metrics;
}

// One network of the run (member k of an ensemble), initialised, loaded and trained.
torch::jit::Module train_member(const Config& config, const RunSetup& run, int member,
                                TrainOutcome& outcome) {
  const ModelSpec& spec = run.model_spec;
  torch::jit::Module module =
      build_model(spec, static_cast<std::uint64_t>(config.seed + member), member);
  TrainSettings settings = train_settings(config, spec.num_classes, config.model_dir());
  settings.seed = static_cast<std::uint64_t>(config.seed + member);
  settings.state_path = state_path(config, member).string();
  settings.fingerprint = run_fingerprint(config, run);
  if (config.pipeline == "features") {  // feature vectors: nothing to flip, rotate or mirror
    settings.augment.enabled = false;
    settings.tta = false;
  }
  if (!config.pretrained.empty()) load_pretrained(module, config.pretrained);
  if (config.finetune == "last3") {
    settings.trainable = last3_parameter_names(spec);
    for (std::size_t i = 0; i < settings.trainable.size(); i += 2) {
      reinitialise_linear(module, settings.trainable[i], settings.trainable[i + 1]);
    }
  }
  outcome = train_classifier(module, run.train, run.val ? &*run.val : nullptr, settings);
  return module;
}

// The members' outcomes as one: histories tagged by member, validation of the ensemble.
TrainOutcome combine_outcomes(const std::vector<TrainOutcome>& members,
                              torch::jit::Module& ensemble, const RunSetup& run,
                              const Config& config) {
  if (members.size() == 1) return members[0];
  TrainOutcome out;
  for (std::size_t k = 0; k < members.size(); ++k) {
    for (auto record : members[k].history) {
      record["member"] = k;
      out.history.push_back(record);
    }
    out.seconds += members[k].seconds;
    out.compute_seconds += members[k].compute_seconds;
    out.sync_seconds += members[k].sync_seconds;
    out.steps += members[k].steps;
    out.wait_seconds += members[k].wait_seconds;
  }
  out.best_epoch = members[0].best_epoch;
  out.samples_per_second = members[0].samples_per_second;
  if (run.val && !run.val->usable().empty()) {
    ClassificationInput input;
    input.num_classes = run.model_spec.num_classes;
    for (std::size_t i : run.val->usable()) input.truth.push_back(run.val->samples()[i].label);
    input.probabilities =
        predict_probabilities(ensemble, *run.val, run.val->usable(), input.num_classes, config.tta);
    out.best_metrics = classification_metrics(input);
  }
  return out;
}

// For a PACS results_bucket: one DICOM SR per prediction of a DICOM image, stored next to it.
void write_result_reports(const Config& config, const InferenceSetup& run,
                          const Predictions& predictions) {
  std::map<std::string, fs::path> source_of;
  for (const auto& s : run.images.samples()) source_of[s.name] = s.path;
  int written = 0;
  for (std::size_t i = 0; i < predictions.images.size(); ++i) {
    const fs::path& source = source_of[predictions.images[i]];
    if (guess_image_format(source) != ImageFormat::kDicom || fs::is_directory(source)) continue;
    std::vector<double> p(predictions.probabilities.begin() + i * predictions.num_classes,
                          predictions.probabilities.begin() + (i + 1) * predictions.num_classes);
    write_classification_sr(fs::path(config.results_dir()) / (predictions.images[i] + ".sr.dcm"),
                            source, predictions.predicted(i), p, config.model_bucket_name);
    ++written;
  }
  log_info("DICOM SR: " + std::to_string(written) + " result report(s) for the PACS");
}

int classify_train_stage(const Config& config) {
  auto start = Clock::now();
  RunSetup run = prepare_training(config);
  log_event("stage_start", {{"stage", "train"},
                            {"train_images", run.train.usable().size()},
                            {"val_images", run.val ? run.val->usable().size() : 0}});
  std::vector<torch::jit::Module> members;
  std::vector<TrainOutcome> outcomes(config.ensemble);
  for (int k = 0; k < config.ensemble; ++k) {
    if (config.ensemble > 1)
      log_info("ensemble member " + std::to_string(k + 1) + "/" + std::to_string(config.ensemble));
    members.push_back(train_member(config, run, k, outcomes[k]));
  }
  if (!is_lead_rank()) return 0;  // under MPI rank 0 writes the model
  torch::jit::Module module = build_ensemble(members);
  TrainOutcome outcome = combine_outcomes(outcomes, module, run, config);
  save_trained_model(config, run, module, outcome, seconds_since(start));
  for (int k = 0; k < config.ensemble; ++k) fs::remove(state_path(config, k));
  log_validation_metrics(outcome);
  log_event(
      "stage_end",
      {{"stage", "train"}, {"seconds", seconds_since(start)}, {"best_epoch", outcome.best_epoch}});
  return 0;
}

int classify_predict_stage(const Config& config) {
  auto start = Clock::now();
  InferenceSetup run = prepare_inference(config);  // preprocessing fans out over MPI ranks
  if (!is_lead_rank()) return 0;                   // then rank 0 predicts and writes
  log_event("stage_start", {{"stage", "predict"}, {"images", run.images.usable().size()}});
  bool mirror = config.tta && !run.model.meta.contains("features");  // vectors have no mirror
  Predictions predictions = predict(run.model, run.images, mirror);
  write_predictions(config.results_dir(), predictions);
  if (config.results_bucket.rfind("dicomweb", 0) == 0)
    write_result_reports(config, run, predictions);
  write_skipped_csv(config.results_dir(), run.skipped);
  log_event("stage_end", {{"stage", "predict"},
                          {"images", predictions.images.size()},
                          {"skipped", run.skipped.size()},
                          {"seconds", seconds_since(start)}});
  log_info("predictions: " + std::to_string(predictions.images.size()) + " images -> " +
           (fs::path(config.results_dir()) / "predictions.csv").string());
  if (config.has_labels) {
    evaluate_predictions(config, predictions, run.skipped, run.model.meta, seconds_since(start));
  }
  return 0;
}

int classify_evaluate_stage(const Config& config) {
  auto start = Clock::now();
  EvaluationSetup run = prepare_evaluation(config);
  evaluate_predictions(config, run.predictions, run.skipped, saved_model_meta(config),
                       seconds_since(start));
  return 0;
}

// Remote buckets (s3://): the model is fetched before inference; outputs are written locally,
// then stored in their bucket by rank 0 once the stage has finished.
std::string model_location(const Config& config) {
  std::string bucket = config.models_bucket;
  while (!bucket.empty() && bucket.back() == '/') bucket.pop_back();
  return bucket + "/" + config.model_bucket_name;
}

void fetch_model(const Config& config) {
  if (is_remote_location(config.models_bucket)) {
    resolve_location(model_location(config), "models_bucket");
  }
}

void publish(const Config& config, const std::string& dir, const std::string& location,
             const std::string& key) {
  if (is_lead_rank() && is_remote_location(location)) publish_folder(dir, location, key);
}

}  // namespace

int train_stage(const Config& config) {
  int code = config.is_segmentation() ? segment_train_stage(config) : classify_train_stage(config);
  if (code == 0) publish(config, config.model_dir(), model_location(config), "models_bucket");
  return code;
}

int predict_stage(const Config& config) {
  fetch_model(config);
  int code =
      config.is_segmentation() ? segment_predict_stage(config) : classify_predict_stage(config);
  if (code == 0) publish(config, config.results_dir(), config.results_bucket, "results_bucket");
  return code;
}

int evaluate_stage(const Config& config) {
  if (!is_lead_rank()) return 0;
  if (is_remote_location(config.results_bucket)) {
    resolve_location(config.results_bucket, "results_bucket");  // predictions.csv
  }
  int code =
      config.is_segmentation() ? segment_evaluate_stage(config) : classify_evaluate_stage(config);
  if (code == 0) publish(config, config.results_dir(), config.results_bucket, "results_bucket");
  return code;
}

int run_pipeline(const Config& config) {
  validate_config(config);
  return config.is_train ? train_stage(config) : predict_stage(config);
}

}  // namespace medpipe::cli
