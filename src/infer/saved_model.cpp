#include "infer/saved_model.h"

#include <torch/version.h>

#include "core/blas_kernel.h"
#include "core/error.h"
#include "core/json_value.h"
#include "core/version.h"

namespace medpipe {

namespace {

nlohmann::json preprocessing_to_json(const SavedModel& m) {
  if (const auto* seg = std::get_if<SegmentationSpec>(&m.preprocessing))
    return segmentation_spec_to_json(*seg);
  return spec_to_json(std::get<PreprocessSpec>(m.preprocessing));
}

// Models written before the task table said "classify" with a "features" block.
std::string task_of(const nlohmann::json& j) {
  std::string task = j.value("task", "classify");
  if (task == "classify" && j.contains("features")) return "features";
  return task;
}

}  // namespace

nlohmann::json SavedModel::to_json() const {
  std::vector<int> classes(model.num_classes);
  for (int k = 0; k < model.num_classes; ++k) classes[k] = k;
  nlohmann::json j = {{"format", "medpipe-model-1"},
                      {"task", task},
                      {"arch", model.arch},
                      {"model", model_spec_to_json(model)},
                      {"num_classes", model.num_classes},
                      {"classes", classes},
                      {"channels", model.in_channels},
                      {"input", input},
                      {"preprocessing", preprocessing_to_json(*this)},
                      {"training", training},
                      {"history", history},
                      {"best_epoch", best_epoch},
                      {"validation_metrics", validation_metrics},
                      {"train_images", train_images},
                      {"val_images", val_images},
                      {"train_seconds", train_seconds},
                      {"samples_per_second", samples_per_second},
                      {"versions", versions.is_null() ? nlohmann::json{{"medpipe", MEDPIPE_VERSION},
                                                                       {"libtorch", TORCH_VERSION}}
                                                      : versions}};
  if (std::holds_alternative<SegmentationSpec>(preprocessing)) {
    j["patch_size"] = patch_size;
  } else {
    j["input_size"] = model.image_depth > 0
                          ? nlohmann::json{model.image_depth, model.image_size, model.image_size}
                          : nlohmann::json{model.image_size, model.image_size};
  }
  j["blas"] = blas.is_null() ? blas_kernel_json() : blas;
  if (!parallel.is_null()) j["parallel"] = parallel;
  if (!plan.is_null()) j["plan"] = plan;
  j.update(extra);
  return j;
}

SavedModel SavedModel::from_json(const nlohmann::json& j, const std::string& where) {
  SavedModel m;
  try {
    m.task = task_of(j);
    m.model = model_spec_from_json(j.at("model"));
    if (m.task == "segment") {
      m.preprocessing = segmentation_spec_from_json(j.at("preprocessing"));
      m.patch_size = j.at("patch_size").get<int>();
    } else {
      m.preprocessing = spec_from_json(j.at("preprocessing"));
    }
    m.input = j.value("input", "");
    m.training = j.value("training", nlohmann::json::object());
    m.history = j.value("history", nlohmann::json::array());
    m.best_epoch = j.value("best_epoch", 0);
    m.validation_metrics = j.value("validation_metrics", nlohmann::json());
    m.train_images = j.value("train_images", std::size_t{0});
    m.val_images = j.value("val_images", std::size_t{0});
    m.train_seconds = j.value("train_seconds", 0.0);
    m.samples_per_second = j.value("samples_per_second", 0.0);
    m.parallel = j.value("parallel", nlohmann::json());
    m.versions = j.value("versions", nlohmann::json());
    m.blas = j.value("blas", nlohmann::json());
    m.plan = j.value("plan", nlohmann::json());
    for (const char* key :
         {"pipeline", "features", "survival", "coefficients", "cluster", "pretraining"})
      if (j.contains(key)) m.extra[key] = j[key];
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(where + " is not a medpipe model description (" + e.what() +
                     "); retrain the model");
  }
  return m;
}

void write_saved_model(const fs::path& dir, torch::jit::Module& module, const SavedModel& model) {
  save_module(module, (dir / "model.pt").string());
  atomic_write_text(dir / "model.json", json_text(model.to_json(), 2) + "\n");
}

namespace {

// A model of no network (the linear Cox model) is model.json alone.
bool has_no_network(const fs::path& meta) {
  try {
    return parse_json_bounded(read_text_file(meta), meta.string(), 32).value("arch", "") == "cox";
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

SavedModel read_saved_model(const fs::path& dir) {
  fs::path meta = dir / "model.json";
  if (!fs::exists(meta) || (!fs::exists(dir / "model.pt") && !has_no_network(meta))) {
    throw UsageError("no trained model in " + dir.string() +
                     " (model.pt and model.json); train one first (is_train true) or set "
                     "models_bucket and model_bucket_name to where it is");
  }
  nlohmann::json j;
  try {  // a model folder may come from anywhere: the one bounded parser of outside JSON
    j = parse_json_bounded(read_text_file(meta), meta.string(), 32);
  } catch (const nlohmann::json::exception&) {
    j = nullptr;
  }
  if (!j.is_object())
    throw UsageError(meta.string() + " is not a medpipe model description (not a JSON object)");
  return SavedModel::from_json(j, meta.string());
}

std::optional<SavedModel> find_saved_model(const fs::path& dir) {
  try {
    return read_saved_model(dir);
  } catch (const UsageError&) {
    return std::nullopt;
  }
}

std::optional<SavedModel> pretrained_description(const std::string& weights_path) {
  if (weights_path.empty() || fs::path(weights_path).filename() != "model.pt") return std::nullopt;
  std::optional<SavedModel> saved = find_saved_model(fs::path(weights_path).parent_path());
  if (!saved || !std::holds_alternative<PreprocessSpec>(saved->preprocessing)) return std::nullopt;
  const std::string& arch = saved->model.arch;
  if (arch != "cnn" && arch != "cnn3d" && arch != "alexnet") return std::nullopt;
  return saved;
}

}  // namespace medpipe
