#include "pipeline/task.h"

#include "core/error.h"
#include "infer/saved_model.h"
#include "pipeline/stages.h"

namespace medpipe {

const std::vector<Task>& task_table() {
  static const std::vector<Task> table = {
      {"classify", LabelStyle::kSingle, PipelineKind::kDeep,
       "one class per image: a network on the pixels", classify_train, classify_predict,
       classify_evaluate, ReportKind::kClassification},
      {"features", LabelStyle::kSingle, PipelineKind::kFeatures,
       "one class per image: IBSI radiomics features, a normaliser and an MLP", features_train,
       features_predict, classify_evaluate, ReportKind::kClassification},
      {"segment", LabelStyle::kArray, std::nullopt,
       "one class per pixel: a U-Net on patches, tiled inference", segment_train, segment_predict,
       segment_evaluate, ReportKind::kSegmentation},
      {"survival", LabelStyle::kSurvival, std::nullopt,
       "follow-up time and event per subject: a Cox model on covariates (features_table)",
       survival_train, survival_predict, survival_evaluate, ReportKind::kSurvival},
      {"cluster", LabelStyle::kSingle, std::nullopt,
       "no labels: k-means or a Gaussian mixture on features, embeddings or radiomics",
       cluster_train, cluster_predict, cluster_evaluate, ReportKind::kClustering,
       Unsupervised::kCluster},
      {"pretrain", LabelStyle::kSingle, PipelineKind::kDeep,
       "no labels: SimCLR pretraining of the cnn, for pretrained: of a later training",
       pretrain_train, pretrain_predict, pretrain_predict, ReportKind::kClassification,
       Unsupervised::kSimclr},
  };
  return table;
}

const Task& task_named(const std::string& name, const std::string& where) {
  for (const Task& task : task_table())
    if (task.name == name) return task;
  std::string names;
  for (const Task& task : task_table()) names += (names.empty() ? "" : ", ") + task.name;
  throw UsageError(where + " names the task '" + name + "', which this medpipe does not know (" +
                   names + "); retrain the model with this version");
}

const Task& task_for_training(const Config& config) {
  for (const Task& task : task_table()) {
    if (!config.has_labels) {
      if (task.unlabelled == config.unsupervised) return task;
      continue;
    }
    if (!task.unlabelled && task.label_style == config.label_style &&
        (!task.pipeline || *task.pipeline == config.pipeline))
      return task;
  }
  throw UsageError("no task trains label_style '" + std::string(name_of(config.label_style)) +
                   "' with pipeline '" + name_of(config.pipeline) +
                   "'; medpipe run --help lists the keys");
}

const Task& task_for_inference(const Config& config) {
  std::optional<SavedModel> saved = find_saved_model(config.model_dir());
  if (!saved) return task_for_training(config);
  const Task& task = task_named(saved->task, config.model_dir() + "/model.json");
  if (task.label_style == config.label_style) return task;
  if (task.label_style == LabelStyle::kSurvival || config.label_style == LabelStyle::kSurvival) {
    throw UsageError("the model in " + config.model_dir() + " is model.json task '" + task.name +
                     "' but label_style is '" + name_of(config.label_style) +
                     "'; set label_style to match the model");
  }
  if (task.label_style == LabelStyle::kArray) {
    throw UsageError("the model in " + config.model_dir() + " segments images (model.json task '" +
                     task.name + "'); set label_style to 'array'");
  }
  throw UsageError("the model is a classifier (model.json task '" + task.name +
                   "') but label_style is '" + name_of(config.label_style) +
                   "'; use a segmentation model or label_style single");
}

}  // namespace medpipe
