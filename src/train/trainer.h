// train/trainer.h: the training loop of one worker: batches, loss, optimizer, validation each
// epoch, keeping the best epoch, checkpoints at epoch ends.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/models.h"
#include "preprocess/augment.h"
#include "preprocess/tensor_cache.h"
#include "train/data_parallel.h"
#include "train/optim.h"

namespace medpipe {

struct TrainSettings {
  int epochs = 30;
  int batch_size = 32;  // per worker: a step sees batch_size x workers samples
  double learning_rate = 0.05;
  std::string optimizer = "sgd";  // sgd | adam
  double momentum = 0.9;
  double weight_decay = 5e-4;
  std::string lr_schedule = "cosine";
  std::string select_metric = "auc";  // auc | loss | accuracy
  bool class_weights = false;
  bool tta = true;          // validation averages each image with its mirror
  double ema_decay = 0.99;  // validate and keep an EMA of the weights (0: raw weights)
  AugmentSpec augment;
  std::uint64_t seed = 42;
  int num_classes = 2;
  std::vector<std::string> trainable;  // parameter names to train; empty: all
  std::string checkpoint_path;         // written atomically at each epoch end ("" = none)
  std::string state_path;              // the resumable training state ("" = none)
  std::string fingerprint;             // identifies the run: a state of another is ignored
  int checkpoint_every = 0;            // also save the state every N steps (0: epoch ends)
  ParallelSettings parallel;           // data-parallel workers (threads here x MPI ranks)

  OptimizerSettings optimizer_settings() const {
    return {optimizer, learning_rate, momentum, weight_decay, lr_schedule};
  }
};

struct TrainOutcome {
  nlohmann::json history = nlohmann::json::array();  // one object per epoch
  nlohmann::json best_metrics;                       // validation metrics of the kept epoch
  int best_epoch = 0;
  double seconds = 0;
  double samples_per_second = 0;
  double compute_seconds = 0;  // in forward, backward and optimizer steps
  double sync_seconds = 0;     // in averaging gradients or weights between workers
  double wait_seconds = 0;     // under MPI: waiting for slower ranks before the exchange
  std::size_t steps = 0;       // optimizer steps taken (by each worker)
};

// What both training loops keep across epochs and in their checkpoints: the outcome so far,
// the best validation score and the weights of its epoch.
struct EpochBook {
  TrainOutcome outcome;
  std::vector<at::Tensor> best_state;
  double best_score = -1e300;

  nlohmann::json to_json() const;
  void from_json(const nlohmann::json& json);
  // At the end of epoch `epoch` (0-based): keeps the module's weights when `score` (higher is
  // better) beats the best so far, or when there is no validation (no score).
  void consider(torch::jit::Module& module, int epoch, const std::optional<double>& score,
                const nlohmann::json& metrics);
  // Adds the epoch's record to the history and the event log and snapshots the module as
  // TorchScript at `checkpoint_path` (none when empty).
  void close_epoch(torch::jit::Module& module, const nlohmann::json& record,
                   const std::string& checkpoint_path);
};

// Trains `module` in place and leaves it at the best validation epoch (the last epoch when
// there is no validation set). Labels come from the caches' samples.
TrainOutcome train_classifier(torch::jit::Module& module, const TensorCache& train,
                              const TensorCache* val, const TrainSettings& settings);

}  // namespace medpipe
