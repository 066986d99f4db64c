// infer/saved_model.h: model.json as one type, written and read here only. A saved model is
// model.pt (TorchScript: torch.jit.load runs it in Python) next to this description.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "core/fs.h"
#include "models/models.h"
#include "preprocess/preprocess.h"
#include "preprocess/segmentation_set.h"

namespace medpipe {

struct SavedModel {
  std::string task = "classify";  // a row of pipeline/task.h's table
  ModelSpec model;
  // Images to network input: resized tensors (classification) or whole normalised images
  // (segmentation, tiled at inference).
  std::variant<PreprocessSpec, SegmentationSpec> preprocessing;
  int patch_size = 0;  // segmentation: training patch side, inference tile side
  std::string input;   // what the network takes and returns, for people
  nlohmann::json training = nlohmann::json::object();  // the resolved config it was trained with
  nlohmann::json history = nlohmann::json::array();    // one record per epoch
  int best_epoch = 0;
  nlohmann::json validation_metrics;  // of the kept epoch; null without validation
  std::size_t train_images = 0, val_images = 0;
  double train_seconds = 0, samples_per_second = 0;
  nlohmann::json parallel;  // workers, ranks, sync and where the time went
  nlohmann::json versions;  // medpipe's and LibTorch's that wrote it (null: this build's)
  nlohmann::json blas;      // the BLAS kernels it was trained with (null: this process's)
  nlohmann::json plan;      // the planner's fingerprint and choices (pipeline/plan.h); null: none
  // Task-specific parts a task reads back itself (pipeline features: "features" with its
  // settings and fitted normaliser).
  nlohmann::json extra = nlohmann::json::object();

  int num_classes() const { return model.num_classes; }
  nlohmann::json to_json() const;
  // `where` names the file in messages; UsageError when it is not a medpipe model description.
  static SavedModel from_json(const nlohmann::json& json, const std::string& where);
};

// model.pt (atomically) then model.json into `dir`.
void write_saved_model(const fs::path& dir, torch::jit::Module& module, const SavedModel& model);
// model.json of `dir`; UsageError naming the folder when absent or not a model description.
SavedModel read_saved_model(const fs::path& dir);
// The same where it exists and parses, else nothing (the report's best effort).
std::optional<SavedModel> find_saved_model(const fs::path& dir);
// The description of a `pretrained` weights file that medpipe wrote (a model.pt with its
// model.json beside it, of a network on images), else nothing (foreign weights).
std::optional<SavedModel> pretrained_description(const std::string& weights_path);

}  // namespace medpipe
