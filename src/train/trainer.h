// train/trainer.h: training a classifier (one label per image) in the epoch loop: batches of
// preprocessed tensors, weighted cross-entropy, an exponential moving average of the weights,
// validation by the selected metric each epoch.
#pragma once
#include <string>

#include "preprocess/augment.h"
#include "preprocess/tensor_cache.h"
#include "train/epoch_loop.h"

namespace medpipe {

struct TrainSettings {
  LoopSettings loop;
  SelectMetric select_metric = SelectMetric::kAuc;
  bool class_weights = false;
  bool tta = true;          // validation averages each image with its mirror
  double ema_decay = 0.99;  // validate and keep an EMA of the weights (0: raw weights)
  AugmentSpec augment;
  int num_classes = 2;
  // the samples' targets are survival times and events (SurvivalTarget): the network's one
  // output is a risk, trained on the Cox partial likelihood of each worker's slice (Breslow's
  // ties) and selected by the validation set's Harrell's C
  bool survival = false;
};

// Trains `module` in place and leaves it at the best validation epoch (the last epoch when
// there is no validation set). Targets are the caches' samples' class indices.
TrainOutcome train_classifier(torch::jit::Module& module, const TensorCache& train,
                              const TensorCache* val, const TrainSettings& settings);

}  // namespace medpipe
