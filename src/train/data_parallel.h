// train/data_parallel.h: N data-parallel workers for one model: `local_workers` threads in this
// process times the ranks of the MPI job (core/world.h). A step's global batch is cut into
// contiguous slices, worker g taking the g-th, so the samples of a step and their order do not
// depend on N. Two ways to keep the workers together:
//   gradients: each worker's gradient of its share of the global batch's loss is summed over
//     workers (fixed order) before one optimizer step: N workers x b is the same SGD step as
//     1 worker x N*b (synchronous SGD, as the original pipeline).
//   Batch norm: a network built with sync_batch_norm normalises by the statistics of the
//     whole step, exchanged between the workers (models/sync_batch_norm.h), so the equality
//     holds for it too; a step then needs a sample for every worker (smallest_step).
//   weights: each worker steps its own copy `local_steps` times, then weights, batch-norm
//     statistics and optimizer state are averaged, weighted by each worker's samples (local
//     SGD / FedAvg, the original pipeline's Averager). local_steps 1 equals gradients under SGD.
#pragma once
#include <torch/optim/optimizer.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/models.h"
#include "train/optim.h"

namespace medpipe {

struct ParallelSettings {
  int local_workers = 1;       // worker threads in this process
  int threads_per_worker = 1;  // intra-op compute threads of each worker
  SyncMode sync = SyncMode::kGradients;
  int local_steps = 1;  // weights: optimizer steps between averages
};

// [begin, end) of a global batch of `batch` samples that worker `worker` of `workers` takes.
struct Slice {
  std::size_t begin = 0, end = 0;
  std::size_t size() const { return end - begin; }
};
Slice worker_slice(std::size_t batch, int worker, int workers);

// What one worker's forward pass gives: the loss to differentiate, the sum of its samples'
// losses and the mean's denominator (for the reported mean) and its sample count (the weight of
// its copy in a weights average). Under gradients the loss is the worker's summed loss over the
// global batch's denominator, so that the workers' gradients add up to the global batch's;
// under weights it is the worker's own mean. An undefined loss: the worker had no sample.
struct LossPart {
  at::Tensor loss;
  double loss_sum = 0;
  double denominator = 0;
  double samples = 0;
};
// (replica, global worker index) -> LossPart; runs on the worker's thread.
using LossFunction = std::function<LossPart(torch::jit::Module&, int)>;

struct StepResult {
  double mean_loss = 0;         // over the global batch
  bool stop_requested = false;  // on any rank: everyone stops at the same step
  bool synchronized = true;     // the replicas are equal now (a checkpoint may be taken)
};

class WorkerGroup {
 public:
  // `master` is worker 0 of this process and is trained in place; the others are copies.
  WorkerGroup(torch::jit::Module& master, const std::vector<std::string>& trainable,
              const OptimizerSettings& optimizer, const ParallelSettings& settings);
  ~WorkerGroup();
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  int workers() const;       // over all ranks
  int first_worker() const;  // global index of this process's worker 0
  bool averages_gradients() const { return settings_.sync != SyncMode::kWeights; }
  // The fewest samples a step may have: every worker's, when batch norm is synchronised.
  std::size_t smallest_step() const;
  // The master's optimizer (for checkpoints and the learning-rate schedule of all workers).
  torch::optim::Optimizer& optimizer();
  void set_learning_rate(const OptimizerSettings& s, std::size_t step, std::size_t total_steps);

  // Train or eval mode for every worker's copy.
  void set_training(bool training);
  // One optimizer step of every worker on its slice of the step's `samples`.
  StepResult step(const LossFunction& loss_of, std::size_t samples);
  // weights: averages now if any local step happened since the last average (epoch ends).
  void synchronize();
  // After the master's weights and optimizer were loaded (resume): every worker takes them.
  void copy_master_to_workers();

  // Seconds spent in compute (forward + backward + optimizer), waiting for the other ranks to
  // finish theirs (imbalance) and exchanging gradients or weights, since construction.
  double compute_seconds() const { return compute_s_; }
  double wait_seconds() const { return wait_s_; }
  double sync_seconds() const { return sync_s_; }

 private:
  struct Worker;
  class Threads;
  class BatchNormExchange;
  void run_workers(const std::function<void(Worker&, int)>& work);
  void average_gradients(std::vector<double>& totals);
  void average_weights(std::vector<double>& totals);
  void wait_for_ranks(std::chrono::steady_clock::time_point& start);

  ParallelSettings settings_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Threads> threads_;
  std::unique_ptr<BatchNormExchange> exchange_;  // synchronised batch norm; none: local
  std::vector<double> since_sync_;  // samples per local worker since the last weights average
  int steps_since_sync_ = 0;
  at::Tensor flat_;
  double compute_s_ = 0, wait_s_ = 0, sync_s_ = 0;
};

}  // namespace medpipe
