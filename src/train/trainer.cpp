#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <future>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/world.h"
#include "metrics/classification.h"
#include "train/batches.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/optim.h"

namespace medpipe {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> labels_of(const TensorCache& cache) {
  std::vector<int> labels;
  for (const auto& s : cache.samples()) labels.push_back(s.label);
  return labels;
}

at::Tensor class_weight_tensor(const TensorCache& train, const TrainSettings& s) {
  if (!s.class_weights) return {};
  std::vector<double> counts(s.num_classes, 0.0);
  for (std::size_t i : train.usable()) counts[train.samples()[i].label] += 1;
  at::Tensor w = at::empty({s.num_classes});
  double n = static_cast<double>(train.usable().size());
  for (int c = 0; c < s.num_classes; ++c) {
    w[c] = counts[c] > 0 ? n / (s.num_classes * counts[c]) : 0.0;
  }
  return w;
}

// Higher is better.
double selection_score(const nlohmann::json& metrics, const std::string& metric) {
  if (metric == "auc" && metrics.contains("roc_auc") && !metrics["roc_auc"].is_null()) {
    // ties on AUC are broken by the loss
    return metrics["roc_auc"].get<double>() - 1e-6 * metrics["log_loss"].get<double>();
  }
  if (metric == "accuracy")
    return metrics["accuracy"].get<double>() - 1e-6 * metrics["log_loss"].get<double>();
  return -metrics["log_loss"].get<double>();
}

// An exponential moving average of every parameter, updated after each step.
class WeightAverage {
 public:
  WeightAverage(torch::jit::Module& module, double decay) : decay_(decay) {
    if (decay_ <= 0) return;
    for (const auto& p : module.named_parameters(true))
      average_.push_back(p.value.detach().clone());
  }
  std::vector<at::Tensor>& tensors() { return average_; }
  void update(torch::jit::Module& module) {
    if (decay_ <= 0) return;
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    for (const auto& p : module.named_parameters(true)) {
      // frozen parameters (finetune last3) stay bit-identical
      if (p.value.requires_grad()) average_[i].mul_(decay_).add_(p.value.detach(), 1 - decay_);
      ++i;
    }
  }

 private:
  static void restore_parameters(torch::jit::Module& module, const std::vector<at::Tensor>& state) {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    for (const auto& p : module.named_parameters(true)) p.value.copy_(state[i++]);
  }
  // Exact averages over up to 4 batches of 64: momentum 1/k at the k-th batch (as PyTorch's
  // update_bn with momentum None).
  static void recalibrate_batch_norm(torch::jit::Module& module, const TensorCache& train) {
    if (!module.hasattr("bn_momentum")) return;
    torch::NoGradGuard no_grad;
    module.train();
    auto batches = epoch_batches(train.usable(), 64, 0, 0);
    for (std::size_t b = 0; b < std::min<std::size_t>(4, batches.size()); ++b) {
      module.setattr("bn_momentum", 1.0 / static_cast<double>(b + 1));
      module.forward({load_batch(train, batches[b])});
    }
    module.setattr("bn_momentum", 0.1);
  }

 public:
  // Runs `work` with the averaged weights in the module, then puts the raw ones back. Batch
  // norm statistics belong to the weights that produced them, so the raw ones are kept and
  // refreshed for the averaged weights by forward passes over (unaugmented) training batches.
  template <class Work>
  void with_average(torch::jit::Module& module, const TensorCache& train, Work work) {
    if (decay_ <= 0) return work();
    std::vector<at::Tensor> raw = snapshot(module);
    restore_parameters(module, average_);
    recalibrate_batch_norm(module, train);
    work();
    restore(module, raw);
  }

 private:
  double decay_;
  std::vector<at::Tensor> average_;
};

nlohmann::json validate(torch::jit::Module& module, const TensorCache& val, int num_classes,
                        bool tta) {
  ClassificationInput input;
  input.num_classes = num_classes;
  for (std::size_t i : val.usable()) input.truth.push_back(val.samples()[i].label);
  input.probabilities = predict_probabilities(module, val, val.usable(), num_classes, tta);
  return classification_metrics(input);
}

// The seed of a step's augmentation and dropout: the run's seed, the epoch and the batch only,
// never the worker, so the same sample is augmented alike whichever worker takes it.
std::uint64_t step_seed(const TrainSettings& s, int epoch, std::size_t batch) {
  return s.seed * 31 + static_cast<std::uint64_t>(epoch) * 100003ULL + batch;
}

// The denominator of a batch's mean loss: its size, or the sum of its class weights.
double loss_denominator(const std::vector<std::size_t>& batch, std::size_t begin, std::size_t end,
                        const std::vector<int>& labels, const at::Tensor& weights) {
  if (!weights.defined()) return static_cast<double>(end - begin);
  double sum = 0;
  const float* w = weights.data_ptr<float>();
  for (std::size_t i = begin; i < end; ++i) sum += w[labels[batch[i]]];
  return sum;
}

// Each local worker's augmented slice of global batch `b` (undefined where a slice is empty).
std::vector<at::Tensor> slice_inputs(const WorkerGroup& group, const TensorCache& train,
                                     const std::vector<std::size_t>& batch, const TrainSettings& s,
                                     std::uint64_t seed) {
  std::vector<at::Tensor> inputs;
  for (int g = group.first_worker(); g < group.first_worker() + s.parallel.local_workers; ++g) {
    Slice slice = worker_slice(batch.size(), g, group.workers());
    std::vector<std::size_t> indices(batch.begin() + slice.begin, batch.begin() + slice.end);
    inputs.push_back(indices.empty()
                         ? at::Tensor()
                         : augmented_batch(train, indices, s.augment, seed, slice.begin));
  }
  return inputs;
}

// The rest of an epoch from position.batch on; leaves the epoch's sums in `position`. The next
// step's slices are prepared while the current one computes.
void run_epoch(WorkerGroup& group, torch::jit::Module& master, WeightAverage& average,
               const TensorCache& train, const std::vector<int>& labels, const at::Tensor& weights,
               const TrainSettings& s, TrainingPosition& position, std::size_t total_steps,
               Progress& progress, const Checkpointer& checkpoints,
               const std::function<std::vector<at::Tensor>()>& extra) {
  group.set_training(true);
  const int epoch = position.epoch;
  const int workers = group.workers();
  auto batches = epoch_batches(train.usable(), s.batch_size * workers, s.seed, epoch);
  auto prepare = [&](std::size_t b) {
    return slice_inputs(group, train, batches[b], s, step_seed(s, epoch, b));
  };
  std::future<std::vector<at::Tensor>> next;
  if (position.batch < batches.size())
    next = std::async(std::launch::async, prepare, position.batch);
  for (std::size_t b = position.batch; b < batches.size(); ++b) {
    std::vector<at::Tensor> inputs = next.get();
    if (b + 1 < batches.size()) next = std::async(std::launch::async, prepare, b + 1);
    const auto& batch = batches[b];
    const double global_denominator = loss_denominator(batch, 0, batch.size(), labels, weights);
    auto loss_of = [&](torch::jit::Module& replica, int g) -> LossPart {
      const at::Tensor& input = inputs[g - group.first_worker()];
      if (!input.defined()) return {};
      Slice slice = worker_slice(batch.size(), g, workers);
      at::Tensor target = at::empty({static_cast<long>(slice.size())}, at::kLong);
      auto* target_data = target.data_ptr<std::int64_t>();
      for (std::size_t i = slice.begin; i < slice.end; ++i)
        target_data[i - slice.begin] = labels[batch[i]];
      if (replica.hasattr("dropout_seed")) {
        replica.setattr("dropout_seed", static_cast<std::int64_t>(step_seed(s, epoch, b)));
        replica.setattr("dropout_row", static_cast<std::int64_t>(slice.begin));
      }
      at::Tensor logits = replica.forward({input}).toTensor();
      at::Tensor summed = at::cross_entropy_loss(logits, target, weights, at::Reduction::Sum);
      double own = loss_denominator(batch, slice.begin, slice.end, labels, weights);
      double scale = group.averages_gradients() ? global_denominator : own;
      return {summed / scale, summed.item<double>(), own, static_cast<double>(slice.size())};
    };
    group.set_learning_rate(s.optimizer_settings(), position.step, total_steps);
    StepResult step = group.step(loss_of);
    average.update(master);
    if (!std::isfinite(step.mean_loss)) {
      throw RunError("training diverged (loss " + std::to_string(step.mean_loss) + " at epoch " +
                     std::to_string(epoch + 1) + "); lower learning_rate");
    }
    position.loss_sum += step.mean_loss * static_cast<double>(batch.size());
    position.seen += batch.size();
    position.batch = b + 1;
    ++position.step;
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, "epoch %d/%d loss %.4f", epoch + 1, s.epochs,
                  step.mean_loss);
    progress.set_suffix(suffix);
    progress.advance();
    if (step.synchronized)
      checkpoints.after_step(master, group.optimizer(), extra(), position, step.stop_requested);
  }
  group.synchronize();
}

// Validation at an epoch's end (on the averaged weights): keeps the weights when they improve.
void end_epoch(torch::jit::Module& module, WeightAverage& average, const TensorCache& train,
               const TensorCache* val, const TrainSettings& s, int epoch, nlohmann::json record,
               EpochBook& run) {
  if (!is_lead_rank()) {  // rank 0 validates and writes; the others only train
    run.outcome.history.push_back(record);
    return;
  }
  average.with_average(module, train, [&] {
    std::optional<double> score;
    nlohmann::json metrics;
    if (val && !val->usable().empty()) {
      metrics = validate(module, *val, s.num_classes, s.tta);
      record["val_loss"] = metrics["log_loss"];
      record["val_accuracy"] = metrics["accuracy"];
      record["val_auc"] = metrics["roc_auc"];
      score = selection_score(metrics, s.select_metric);
    }
    run.consider(module, epoch, score, metrics);
  });
  run.close_epoch(module, record, s.checkpoint_path);
}

}  // namespace

nlohmann::json EpochBook::to_json() const {
  return {{"history", outcome.history},
          {"best_metrics", outcome.best_metrics},
          {"best_epoch", outcome.best_epoch},
          {"best_score", best_score}};
}

void EpochBook::from_json(const nlohmann::json& j) {
  outcome.history = j["history"];
  outcome.best_metrics = j["best_metrics"];
  outcome.best_epoch = j["best_epoch"].get<int>();
  best_score = j["best_score"].get<double>();
}

void EpochBook::consider(torch::jit::Module& module, int epoch, const std::optional<double>& score,
                         const nlohmann::json& metrics) {
  bool improved = !score || *score > best_score;
  if (!improved) return;
  if (score) {
    best_score = *score;
    outcome.best_metrics = metrics;
  }
  best_state = snapshot(module);
  outcome.best_epoch = epoch + 1;
}

void EpochBook::close_epoch(torch::jit::Module& module, const nlohmann::json& record,
                            const std::string& checkpoint_path) {
  outcome.history.push_back(record);
  log_event("epoch_end", record);
  log_debug("epoch " + record["epoch"].dump() + ": " + record.dump());
  if (!checkpoint_path.empty() && is_lead_rank()) {
    module.eval();
    save_module(module, checkpoint_path);
  }
}

TrainOutcome train_classifier(torch::jit::Module& module, const TensorCache& train,
                              const TensorCache* val, const TrainSettings& s) {
  torch::manual_seed(s.seed);
  WorkerGroup group(module, s.trainable, s.optimizer_settings(), s.parallel);
  const std::vector<int> labels = labels_of(train);
  const at::Tensor weights = class_weight_tensor(train, s);
  std::size_t steps_per_epoch =
      epoch_batches(train.usable(), s.batch_size * group.workers(), s.seed, 0).size();
  std::size_t total_steps = steps_per_epoch * s.epochs;
  EpochBook run;
  WeightAverage average(module, s.ema_decay);
  Checkpointer checkpoints(s.state_path, s.fingerprint, s.checkpoint_every);
  auto extra = [&] {  // EMA tensors, then the best epoch's weights
    std::vector<at::Tensor> all = average.tensors();
    all.insert(all.end(), run.best_state.begin(), run.best_state.end());
    return all;
  };
  TrainingPosition position;
  std::vector<at::Tensor> saved;
  if (checkpoints.resume(module, group.optimizer(), saved, position)) {
    group.copy_master_to_workers();
    run.from_json(position.loop);
    std::size_t n = average.tensors().size();
    for (std::size_t i = 0; i < n; ++i) average.tensors()[i].copy_(saved[i]);
    run.best_state.assign(saved.begin() + n, saved.end());
  }
  Progress progress("train", total_steps, "step");
  progress.advance(position.step);
  auto start = Clock::now();
  position.loop = run.to_json();
  while (position.epoch < s.epochs) {
    auto epoch_start = Clock::now();
    run_epoch(group, module, average, train, labels, weights, s, position, total_steps, progress,
              checkpoints, extra);
    double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    end_epoch(module, average, train, val, s, position.epoch,
              {{"epoch", position.epoch + 1},
               {"train_loss", position.seen ? position.loss_sum / position.seen : 0.0},
               {"seconds", seconds},
               {"samples_per_s", train.usable().size() / std::max(1e-9, seconds)}},
              run);
    position = {position.epoch + 1, 0, position.step, 0.0, 0, run.to_json()};
    checkpoints.save(module, group.optimizer(), extra(), position);
  }
  progress.finish();
  run.outcome.compute_seconds = group.compute_seconds();
  run.outcome.sync_seconds = group.sync_seconds();
  run.outcome.wait_seconds = group.wait_seconds();
  run.outcome.steps = position.step;
  run.outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  run.outcome.samples_per_second =
      static_cast<double>(train.usable().size()) * s.epochs / std::max(1e-9, run.outcome.seconds);
  if (is_lead_rank()) restore(module, run.best_state);
  module.eval();
  return run.outcome;
}

}  // namespace medpipe
