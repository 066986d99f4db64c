// The stages of `medpipe run`, readable top to bottom: the task chosen once, remote inputs
// fetched, the task's stage, outputs stored in their bucket.
#include "pipeline/pipeline.h"

#include <sstream>

#include "core/location.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/world.h"
#include "pipeline/plan.h"
#include "pipeline/task.h"
#include "storage/storage.h"

namespace medpipe {

namespace {

// Remote buckets (s3://): the model is fetched before inference; outputs are written locally,
// then stored in their bucket by rank 0 once the stage has finished.
std::string model_location(const Config& config) {
  std::string bucket = config.models_bucket;
  while (!bucket.empty() && bucket.back() == '/') bucket.pop_back();
  return bucket + "/" + config.model_bucket_name;
}

void publish(const std::string& dir, const std::string& location, const std::string& key) {
  if (is_lead_rank() && is_remote_location(location)) publish_folder(dir, location, key);
}

// The config with the planner's choices (rank 0 plans; every rank takes its plan).
Config planned(const Config& given) {
  const Plan plan = is_lead_rank() ? plan_training(given) : Plan{};
  Config config = apply_plan(given, plan);
  if (is_lead_rank()) {
    std::istringstream lines(plan.text());
    for (std::string line; std::getline(lines, line);) log_info("plan: " + line);
  }
  validate_config(config);
  return config;
}

}  // namespace

int train_stage(const Config& given) {
  install_stop_signals();  // every stage stops at the next item (or step) on SIGTERM / SIGINT
  const Config config = planned(given);
  int code = task_for_training(config).train(config);
  if (code == 0) publish(config.model_dir(), model_location(config), "models_bucket");
  return code;
}

int predict_stage(const Config& config) {
  install_stop_signals();
  if (is_remote_location(config.models_bucket))
    resolve_location(model_location(config), "models_bucket");
  int code = task_for_inference(config).predict(config);
  if (code == 0) publish(config.results_dir(), config.results_bucket, "results_bucket");
  return code;
}

int evaluate_stage(const Config& config) {
  if (!is_lead_rank()) return 0;
  install_stop_signals();
  if (parse_location(config.results_bucket).is_s3()) {
    resolve_location(config.results_bucket, "results_bucket");  // predictions.csv
  }
  int code = task_for_inference(config).evaluate(config);
  if (code == 0) publish(config.results_dir(), config.results_bucket, "results_bucket");
  return code;
}

int run_pipeline(const Config& config) {
  validate_config(config);
  return config.is_train ? train_stage(config) : predict_stage(config);
}

}  // namespace medpipe
