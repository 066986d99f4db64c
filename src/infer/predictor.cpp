#include "infer/predictor.h"

#include <torch/csrc/jit/runtime/graph_executor.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "core/json_value.h"
#include "core/log.h"
#include "core/runtime.h"
#include "io/csv.h"
#include "models/predict.h"

namespace medpipe {

namespace {

// torch.jit.freeze + optimize_for_inference: weights become constants, batch norm is folded into
// the convolutions before it and oneDNN's layouts are kept between layers (2-3x fewer seconds
// per forward pass for the default CNN). A module that cannot be frozen runs as it is.
torch::jit::Module frozen_for_inference(torch::jit::Module& module) {
  // Freezing inlines each method's optimised graph, itself inlined only while the graph
  // executor optimises (training turns that off): without it, a method that calls another
  // (forward -> embed -> cbn) keeps calls to methods the frozen module no longer has.
  torch::jit::GraphOptimizerEnabledGuard optimise(true);
  try {
    return torch::jit::optimize_for_inference(module);
  } catch (const std::exception& e) {
    log_debug(std::string("the model runs unfrozen: ") + e.what());
    return module;
  }
}

}  // namespace

LoadedModel load_model(const fs::path& model_dir) {
  LoadedModel model{{}, read_saved_model(model_dir)};
  fs::path pt = model_dir / "model.pt";
  try {
    model.module = torch::jit::load(pt.string());
  } catch (const std::exception&) {
    throw UsageError(pt.string() + " is not a readable TorchScript model; retrain it");
  }
  model.module.eval();
  model.module = frozen_for_inference(model.module);
  return model;
}

int Predictions::predicted(std::size_t i) const {
  const double* row = &probabilities[i * num_classes];
  return static_cast<int>(std::max_element(row, row + num_classes) - row);
}

Predictions predict(LoadedModel& model, const TensorCache& cache, bool mirror_average) {
  Predictions out;
  const int k = out.num_classes = model.saved.num_classes();
  std::vector<double> all;
  const std::size_t batch = 128;  // a stop signal is honoured between batches
  for (std::size_t first = 0; first < cache.usable().size(); first += batch) {
    throw_if_stopped();
    std::vector<std::size_t> chunk(
        cache.usable().begin() + first,
        cache.usable().begin() + std::min(cache.usable().size(), first + batch));
    std::vector<double> p = predict_probabilities(model.module, cache, chunk, k, mirror_average,
                                                  static_cast<int>(batch));
    all.insert(all.end(), p.begin(), p.end());
  }
  for (std::size_t r = 0; r < cache.usable().size(); ++r) {
    const Sample& sample = cache.samples()[cache.usable()[r]];
    const auto row = all.begin() + static_cast<std::ptrdiff_t>(r * k);
    if (!std::all_of(row, row + k, [](double p) { return std::isfinite(p); })) {
      out.failed.push_back({sample.name, "the model's output is not a number (NaN or inf)"});
      continue;
    }
    out.images.push_back(sample.name);
    out.truth.push_back(sample.class_index());
    out.probabilities.insert(out.probabilities.end(), row, row + k);
  }
  return out;
}

constexpr std::size_t kResultsPerFlush = 2000;  // per-image results made durable together

void write_predictions(const fs::path& results_dir, const Predictions& p) {
  ensure_writable_dir(results_dir, "results_bucket");
  std::ostringstream csv;
  csv << "image,prediction";
  for (int k = 0; k < p.num_classes; ++k) csv << ",prob_" << k;
  csv << "\n";
  csv.precision(17);
  AtomicBatch results(results_dir);
  for (std::size_t i = 0; i < p.images.size(); ++i) {
    std::vector<double> probs(p.probabilities.begin() + i * p.num_classes,
                              p.probabilities.begin() + (i + 1) * p.num_classes);
    nlohmann::json object = {
        {"image", p.images[i]}, {"prediction", p.predicted(i)}, {"probabilities", probs}};
    results.add_text(safe_join(results_dir, p.images[i] + ".json", "the image name"),
                     json_text(object) + "\n");
    if (results.pending() == kResultsPerFlush) results.commit();
    csv << csv_quote(p.images[i]) << "," << p.predicted(i);
    for (double v : probs) csv << "," << v;
    csv << "\n";
  }
  results.commit();
  atomic_write_text(results_dir / "predictions.csv", csv.str());
}

namespace {

double probability_of(const std::string& text, const std::string& where, int k) {
  char* end = nullptr;
  double p = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(p >= 0.0 && p <= 1.0 + 1e-6)) {  // NaN, inf, > 1
    throw UsageError(where + ": prob_" + std::to_string(k) + " '" + text +
                     "' is not a probability (a number from 0 to 1); re-run medpipe predict to "
                     "rewrite it");
  }
  return p;
}

}  // namespace

Predictions read_predictions_csv(const fs::path& csv, const std::map<std::string, int>& truth_of,
                                 std::vector<std::string>& unlabelled) {
  std::vector<CsvRow> rows = read_csv_file(csv);
  const int k = rows.empty() ? 0 : static_cast<int>(rows[0].fields.size()) - 2;
  if (k < 2)
    throw UsageError(csv.string() + " has no prob_ columns; it is not a medpipe predictions file");
  Predictions out;
  out.num_classes = k;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    const std::string where = csv.string() + " line " + std::to_string(rows[r].line);
    if (f.size() != static_cast<std::size_t>(k + 2)) {
      throw UsageError(where + " has " + std::to_string(f.size()) + " columns, the header " +
                       std::to_string(k + 2) + "; re-run medpipe predict to rewrite it");
    }
    auto truth = truth_of.find(f[0]);
    if (truth == truth_of.end()) {
      unlabelled.push_back(f[0]);
      continue;
    }
    out.images.push_back(f[0]);
    out.truth.push_back(truth->second);
    for (int c = 0; c < k; ++c) out.probabilities.push_back(probability_of(f[2 + c], where, c));
  }
  return out;
}

}  // namespace medpipe
