// pipeline/stages.h: each task's stages, one file per task (classify.cpp, features.cpp,
// segment.cpp, survival.cpp); the task table (task.cpp) names them.
#pragma once
#include "core/config.h"

namespace medpipe {

int classify_train(const Config& config);
int classify_predict(const Config& config);
int classify_evaluate(const Config& config);

int features_train(const Config& config);
int features_predict(const Config& config);

int segment_train(const Config& config);
int segment_predict(const Config& config);
int segment_evaluate(const Config& config);

int survival_train(const Config& config);
int survival_predict(const Config& config);
int survival_evaluate(const Config& config);

}  // namespace medpipe
