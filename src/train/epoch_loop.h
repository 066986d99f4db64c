// train/epoch_loop.h: the one training loop. It owns what every task's training shares: the
// data-parallel workers, the learning-rate schedule, epochs and steps, the divergence check,
// progress, resumable checkpoints, validation at each epoch's end and keeping the best epoch.
// A task (classification, segmentation, ...) supplies its steps' losses and its validation.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "train/data_parallel.h"
#include "train/optim.h"

namespace medpipe {

struct LoopSettings {
  int epochs = 30;
  int batch_size = 32;  // samples per worker per step: a step sees batch_size x workers
  OptimizerSettings optim;
  std::uint64_t seed = 42;
  std::vector<std::string> trainable;  // parameter names to train; empty: all
  std::string checkpoint_path;         // TorchScript snapshot at each epoch end ("" = none)
  std::string state_path;              // the resumable training state ("" = none)
  std::string fingerprint;             // identifies the run: a state of another is ignored
  int checkpoint_every = 0;            // also save the state every N steps (0: epoch ends)
  ParallelSettings parallel;           // data-parallel workers (threads here x MPI ranks)
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

// The loop's bookkeeping across epochs and in its checkpoints: the outcome so far, the best
// validation score and the weights of its epoch.
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

// One step's work: each worker's loss on its slice of the step, and the step's sample count.
struct StepWork {
  LossFunction loss_of;
  std::size_t samples = 0;
};

// An epoch's validation: the score to select on (higher is better; none without validation),
// the metrics kept with the best epoch, and fields added to the epoch's record.
struct EpochValidation {
  std::optional<double> score;
  nlohmann::json metrics;
  nlohmann::json record = nlohmann::json::object();
};

// What a task supplies to the loop. Its methods are called from the loop's thread.
class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  virtual std::size_t steps_per_epoch(const WorkerGroup& group) const = 0;
  virtual std::size_t samples_per_epoch() const = 0;
  // Starts epoch `epoch` at its step `first_step`; returns the epoch's number of steps.
  virtual std::size_t begin_epoch(const WorkerGroup& group, int epoch, std::size_t first_step) = 0;
  // Step `step` of the epoch, the run's optimizer step `global_step`.
  virtual StepWork step(const WorkerGroup& group, std::size_t step, std::size_t global_step) = 0;
  virtual void after_step(torch::jit::Module& master) {}
  // Tensors of the task kept in checkpoints (an average of the weights), and restoring them.
  virtual std::vector<at::Tensor> extra_state() { return {}; }
  virtual void restore_extra_state(const std::vector<at::Tensor>& saved) {}
  // Validation of the module at an epoch's end (rank 0 only), run inside with_eval_weights.
  virtual EpochValidation validate(torch::jit::Module& module) = 0;
  virtual void with_eval_weights(torch::jit::Module& module, const std::function<void()>& work) {
    work();
  }
};

// Trains `module` in place and leaves it at the best validation epoch (the last epoch when there
// is no validation).
TrainOutcome run_epoch_loop(torch::jit::Module& module, TrainingTask& task, const LoopSettings& s);

}  // namespace medpipe
