// examples/simple: the whole flow of a run through the medpipe library, as `medpipe run` does it
// without the command line: a synthetic CT set -> train a classifier -> predict and evaluate.
//   build/example_simple [WORK_DIR]
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "data/synth.h"
#include "pipeline/pipeline.h"

int main(int argc, char** argv) {
  namespace mp = medpipe;
  const mp::fs::path work = argc > 1 ? argv[1] : "example_simple";
  mp::init_logging("warn");
  try {
    for (const char* part : {"train", "test"})  // two synthetic sets of 200 CT-like slices, 48 px
      mp::write_synthetic({"classify", work / part, 200, 48, "png", part[1] == 'r' ? 1u : 2u});
    mp::Config config;  // the event's keys, every one with its default
    config.images_bucket = (work / "train").string();
    config.models_bucket = (work / "models").string();
    config.model_bucket_name = "nodules";
    config.epochs = 10;
    if (int code = mp::run_pipeline(config)) return code;  // is_train: trains models/nodules
    config.is_train = false;  // inference on unseen images, evaluated (has_labels)
    config.images_bucket = (work / "test").string();
    config.results_bucket = (work / "results").string();
    if (int code = mp::run_pipeline(config)) return code;
    nlohmann::json metrics;
    std::ifstream(work / "results" / "metrics.json") >> metrics;
    std::printf("test images %d, accuracy %.3f, ROC AUC %.3f\nreport: %s\n",
                metrics["n"].get<int>(), metrics["accuracy"].get<double>(),
                metrics["roc_auc"].get<double>(), (work / "results/report.html").c_str());
    return 0;
  } catch (const mp::UsageError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "failed: %s\n", e.what());
    return 1;
  }
}
