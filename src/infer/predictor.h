// infer/predictor.h: a saved model applied to images; per-image result objects.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "infer/saved_model.h"
#include "models/models.h"
#include "preprocess/tensor_cache.h"

namespace medpipe {

struct LoadedModel {
  torch::jit::Module module;
  SavedModel saved;  // model.json
};

// Reads model_dir/model.pt and model.json; UsageError naming the folder when absent.
LoadedModel load_model(const fs::path& model_dir);

struct Predictions {
  std::vector<std::string> images;
  std::vector<int> truth;             // -1 where unlabelled
  std::vector<double> probabilities;  // row-major [images][num_classes]
  int num_classes = 2;
  std::vector<SkippedInput> failed;  // images whose prediction is not a number: skipped
  int predicted(std::size_t i) const;
};

Predictions predict(LoadedModel& model, const TensorCache& cache, bool mirror_average);

// <image>.json {"image","prediction","probabilities"} for each image and predictions.csv
// (image,prediction,prob_0..prob_{K-1}), all atomic.
void write_predictions(const fs::path& results_dir, const Predictions& predictions);

// predictions.csv read back, each row's truth from `truth_of` (image -> class); rows whose image
// has no truth are listed in `unlabelled`. UsageError naming the line when it is not such a file.
Predictions read_predictions_csv(const fs::path& csv, const std::map<std::string, int>& truth_of,
                                 std::vector<std::string>& unlabelled);

}  // namespace medpipe
