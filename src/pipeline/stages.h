// pipeline/stages.h: each task's stages, one file per task (classify.cpp, features.cpp,
// segment.cpp, survival.cpp, cluster.cpp, pretrain.cpp); the task table (task.cpp) names them.
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

int cluster_train(const Config& config);
int cluster_predict(const Config& config);
int cluster_evaluate(const Config& config);

int pretrain_train(const Config& config);
// A pretrained network has no task of its own: UsageError saying how to use it.
int pretrain_predict(const Config& config);

}  // namespace medpipe
