#include "infer/predictor.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "io/csv.h"
#include "models/predict.h"

namespace medpipe {

LoadedModel load_model(const fs::path& model_dir) {
  fs::path pt = model_dir / "model.pt", meta = model_dir / "model.json";
  if (!fs::exists(pt) || !fs::exists(meta)) {
    throw UsageError("no trained model in " + model_dir.string() +
                     " (model.pt and model.json); train one first (is_train true) or set "
                     "models_bucket and model_bucket_name to where it is");
  }
  LoadedModel model;
  try {
    model.meta = nlohmann::json::parse(read_text_file(meta));
    if (model.meta.value("task", "classify") == "classify")
      model.preprocess = spec_from_json(model.meta.at("preprocessing"));
    model.num_classes = model.meta.at("num_classes").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(meta.string() + " is not a medpipe model description (" + e.what() + ")");
  }
  try {
    model.module = torch::jit::load(pt.string());
  } catch (const std::exception&) {
    throw UsageError(pt.string() + " is not a readable TorchScript model; retrain it");
  }
  model.module.eval();
  return model;
}

int Predictions::predicted(std::size_t i) const {
  const double* row = &probabilities[i * num_classes];
  return static_cast<int>(std::max_element(row, row + num_classes) - row);
}

Predictions predict(LoadedModel& model, const TensorCache& cache, bool mirror_average) {
  Predictions out;
  out.num_classes = model.num_classes;
  for (std::size_t i : cache.usable()) {
    out.images.push_back(cache.samples()[i].name);
    out.truth.push_back(cache.samples()[i].label);
  }
  out.probabilities =
      predict_probabilities(model.module, cache, cache.usable(), model.num_classes, mirror_average);
  return out;
}

void write_predictions(const fs::path& results_dir, const Predictions& p) {
  ensure_writable_dir(results_dir, "results_bucket");
  std::ostringstream csv;
  csv << "image,prediction";
  for (int k = 0; k < p.num_classes; ++k) csv << ",prob_" << k;
  csv << "\n";
  csv.precision(17);
  for (std::size_t i = 0; i < p.images.size(); ++i) {
    std::vector<double> probs(p.probabilities.begin() + i * p.num_classes,
                              p.probabilities.begin() + (i + 1) * p.num_classes);
    nlohmann::json object = {
        {"image", p.images[i]}, {"prediction", p.predicted(i)}, {"probabilities", probs}};
    atomic_write_text(results_dir / (p.images[i] + ".json"), object.dump() + "\n");
    csv << csv_quote(p.images[i]) << "," << p.predicted(i);
    for (double v : probs) csv << "," << v;
    csv << "\n";
  }
  atomic_write_text(results_dir / "predictions.csv", csv.str());
}

}  // namespace medpipe
