// pipeline/pipeline.h: a whole run, or one of its stages, as a function of the resolved Config.
// The stages pick their task from the task table (pipeline/task.h) once, fetch remote inputs,
// run the task's stage and store the outputs in their bucket. Each returns the exit code.
#pragma once
#include "core/config.h"

namespace medpipe {

// What an event describes: training when is_train, else inference (and evaluation when labels
// exist).
int run_pipeline(const Config& config);

int train_stage(const Config& config);
int predict_stage(const Config& config);   // evaluates too when has_labels
int evaluate_stage(const Config& config);  // from results_bucket/predictions.csv

}  // namespace medpipe
