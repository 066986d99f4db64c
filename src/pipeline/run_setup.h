// pipeline/run_setup.h: what every task's stages share before and after their work: the run
// folder and its event log, data paired with its targets, the loop settings of the config,
// skipped inputs, and the evaluation's outputs (metrics.json, report.html, events).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/pairing.h"
#include "infer/saved_model.h"
#include "preprocess/tensor_cache.h"
#include "report/report.h"
#include "train/epoch_loop.h"

namespace medpipe {

// Opens the run folder (checked writable), its event log, LibTorch's settings, and saves the
// resolved config there.
void start_run(const Config& config, const fs::path& run_dir, const std::string& stage);

// Logs each input that could not be used and adds it to `list` (for skipped.csv and the report).
void add_skipped(SkippedList& list, const std::vector<SkippedInput>& skipped);

fs::path cache_dir(const Config& config);
// UsageError unless `cache` holds at least two usable images; names `what` and the reasons.
void require_usable(const TensorCache& cache, const std::string& what);

// The images of `images_location` paired with the class labels of their CSV.
PairedSet labelled_images(const std::string& images_key, const std::string& images_location,
                          const std::string& labels_key, const std::string& labels,
                          int num_classes);
// The images of `location` (key `key`) paired with their label arrays (images_labels_bucket,
// else the bucket's masks/ folder).
std::vector<Sample> masked_images(const std::string& key, const std::string& location,
                                  const std::string& labels_bucket);
// The images of images_bucket, without targets.
std::vector<Sample> unlabelled_images(const Config& config);

// The training samples and the validation samples: val_images_bucket, or a part of the training
// set (validation_split). `pair(key, location, validation, num_classes)` pairs one bucket's
// images with their targets (the validation bucket's with the training set's num_classes).
struct TrainingSamples {
  std::vector<Sample> train;
  std::vector<Sample> val;
  int num_classes = 0;  // of class targets: the config's or the labels'; 0 for other targets
};
using PairImages = std::function<PairedSet(const std::string& key, const std::string& location,
                                           bool validation, int num_classes)>;
TrainingSamples training_samples(const Config& config, const PairImages& pair);

// The network to train for `spec`: with batch-norm statistics over every worker of a step when
// the config trains with several workers averaging gradients (sync_batch_norm).
ModelSpec training_spec(const Config& config, ModelSpec spec);

// The loop settings of the config (the state of ensemble member `member`).
LoopSettings loop_settings(const Config& config, int member = 0);
// What a resumable state must match: every setting (threads too: they change the numerics) and
// the training images (and their masks).
std::string training_fingerprint(const Config& config, const std::vector<Sample>& train);

// The SavedModel fields every task fills alike from its training: history, metrics, counts,
// durations, the config.
SavedModel saved_model_of(const Config& config, const TrainOutcome& outcome, double seconds);

// The best epoch's validation metrics as a "metrics" event, at the end of training.
void log_validation_metrics(const TrainOutcome& outcome);
// The stage_end of training, and removing the resumable states of `members` networks.
void end_training(const Config& config, const TrainOutcome& outcome, double seconds, int members);

// model.json of the config's model as the report shows it (null where there is none).
nlohmann::json saved_model_json(const Config& config);
// Writes metrics.json and report.html (with this process's warnings) into the results folder,
// logs the "metrics" event, a stage_end of the evaluation, and `summary` and the report's path
// for people.
void write_evaluation_outputs(const Config& config, const nlohmann::json& metrics,
                              const nlohmann::json& model, const SkippedList& skipped,
                              double seconds, const std::string& summary, ReportInput report);

}  // namespace medpipe
