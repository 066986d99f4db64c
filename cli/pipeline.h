// cli/pipeline.h: the stages of a run, each a function of the resolved Config.
#pragma once
#include "core/config.h"

namespace medpipe::cli {

// The whole run an event describes: training when is_train, else inference, then evaluation
// when labels exist. Returns the exit code.
int run_pipeline(const Config& config);

int train_stage(const Config& config);
int predict_stage(const Config& config);   // evaluates too when has_labels
int evaluate_stage(const Config& config);  // from results_bucket/predictions.csv

// The same stages for label_style array (segmentation), in segmentation_pipeline.cpp.
int segment_train_stage(const Config& config);
int segment_predict_stage(const Config& config);
int segment_evaluate_stage(const Config& config);

}  // namespace medpipe::cli
