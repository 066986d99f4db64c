// cli/run_setup.h: what each stage needs before its work: data paired and preprocessed, the
// model described, the run folder and its event log opened; and saving what training made.
#pragma once
#include <optional>

#include "core/config.h"
#include "data/pairing.h"
#include "infer/predictor.h"
#include "report/report.h"
#include "train/trainer.h"

namespace medpipe::cli {

// Opens the run folder (checked writable), its event log, LibTorch's settings, and saves the
// resolved config there.
void start_run(const Config& config, const fs::path& run_dir, const std::string& stage);

// Logs each input that could not be used and adds it to `list` (for skipped.csv and the report).
void add_skipped(SkippedList& list, const std::vector<SkippedInput>& skipped);

struct RunSetup {
  TensorCache train;
  std::optional<TensorCache> val;
  ModelSpec model_spec;
  SkippedList skipped;
  nlohmann::json model_extra = nlohmann::json::object();  // merged into model.json
};
RunSetup prepare_training(const Config& config);

// The training images paired with their labels, and the validation images (from
// val_images_bucket, or a stratified part of the training set).
struct TrainingSamples {
  PairedSet train;
  std::vector<Sample> val;
};
TrainingSamples training_samples(const Config& config);
// Images to run a model on: labelled when has_labels.
std::vector<Sample> inference_samples(const Config& config, int num_classes);
fs::path cache_dir(const Config& config);
void require_usable(const TensorCache& cache, const std::string& what);

// pipeline features (features_setup.cpp): radiomics feature vectors instead of pixels; the
// normaliser fitted on the training images goes into model.json.
RunSetup prepare_feature_training(const Config& config);
void save_trained_model(const Config& config, const RunSetup& run, torch::jit::Module& module,
                        const TrainOutcome& outcome, double seconds);

struct InferenceSetup {
  LoadedModel model;
  TensorCache images;
  SkippedList skipped;
};
InferenceSetup prepare_inference(const Config& config);
InferenceSetup prepare_feature_inference(const Config& config, LoadedModel model,
                                         const std::vector<Sample>& samples);

struct EvaluationSetup {
  Predictions predictions;
  SkippedList skipped;
};
EvaluationSetup prepare_evaluation(const Config& config);

// model.json of the config's model where it is in a local folder, else null (for the report).
nlohmann::json saved_model_meta(const Config& config);

// The best epoch's validation metrics as a "metrics" event, at the end of training.
void log_validation_metrics(const TrainOutcome& outcome);
// Writes metrics.json and report.html (with this process's warnings) into the results folder,
// logs the "metrics" event, a stage_end of the evaluation, and `summary` and the report's path
// for people.
void write_evaluation_outputs(const Config& config, const nlohmann::json& metrics,
                              const nlohmann::json& model, const SkippedList& skipped,
                              double seconds, const std::string& summary, ReportInput report = {});

}  // namespace medpipe::cli
