#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <future>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "metrics/classification.h"
#include "train/batches.h"
#include "train/checkpoint.h"
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

// The rest of an epoch from position.batch on; leaves the epoch's sums in `position`. The next
// batch is prepared while the current one computes.
void run_epoch(torch::jit::Module& module, torch::optim::Optimizer& optimizer,
               WeightAverage& average, const TensorCache& train, const std::vector<int>& labels,
               const at::Tensor& weights, const TrainSettings& s, TrainingPosition& position,
               std::size_t total_steps, Progress& progress, const Checkpointer& checkpoints,
               const std::function<std::vector<at::Tensor>()>& extra) {
  module.train();
  const int epoch = position.epoch;
  auto batches = epoch_batches(train.usable(), s.batch_size, s.seed, epoch);
  auto prepare = [&](std::size_t b) {
    return augmented_batch(train, batches[b], s.augment, s.seed * 31 + epoch * 100003ULL + b);
  };
  std::future<at::Tensor> next;
  if (position.batch < batches.size())
    next = std::async(std::launch::async, prepare, position.batch);
  for (std::size_t b = position.batch; b < batches.size(); ++b) {
    at::Tensor input = next.get();
    if (b + 1 < batches.size()) next = std::async(std::launch::async, prepare, b + 1);
    at::Tensor target = at::empty({static_cast<long>(batches[b].size())}, at::kLong);
    auto* target_data = target.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < batches[b].size(); ++i) target_data[i] = labels[batches[b][i]];
    schedule_learning_rate(optimizer, s.optimizer_settings(), position.step, total_steps);
    optimizer.zero_grad();
    at::Tensor logits = module.forward({input}).toTensor();
    at::Tensor loss = at::cross_entropy_loss(logits, target, weights);
    loss.backward();
    optimizer.step();
    average.update(module);
    double value = loss.item<double>();
    if (!std::isfinite(value)) {
      throw RunError("training diverged (loss " + std::to_string(value) + " at epoch " +
                     std::to_string(epoch + 1) + "); lower learning_rate");
    }
    position.loss_sum += value * static_cast<double>(batches[b].size());
    position.seen += batches[b].size();
    position.batch = b + 1;
    ++position.step;
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, "epoch %d/%d loss %.4f", epoch + 1, s.epochs, value);
    progress.set_suffix(suffix);
    progress.advance();
    checkpoints.after_step(module, optimizer, extra(), position);
  }
}

// Validation at an epoch's end (on the averaged weights): keeps the weights when they improve.
void end_epoch(torch::jit::Module& module, WeightAverage& average, const TensorCache& train,
               const TensorCache* val, const TrainSettings& s, int epoch, nlohmann::json record,
               EpochBook& run) {
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
  if (!checkpoint_path.empty()) {
    module.eval();
    save_module(module, checkpoint_path);
  }
}

TrainOutcome train_classifier(torch::jit::Module& module, const TensorCache& train,
                              const TensorCache* val, const TrainSettings& s) {
  torch::manual_seed(s.seed);
  std::vector<at::Tensor> params = trainable_parameters(module, s.trainable);
  auto optimizer = make_optimizer(params, s.optimizer_settings());
  const std::vector<int> labels = labels_of(train);
  const at::Tensor weights = class_weight_tensor(train, s);
  std::size_t steps_per_epoch = epoch_batches(train.usable(), s.batch_size, s.seed, 0).size();
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
  if (checkpoints.resume(module, *optimizer, saved, position)) {
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
    run_epoch(module, *optimizer, average, train, labels, weights, s, position, total_steps,
              progress, checkpoints, extra);
    double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    end_epoch(module, average, train, val, s, position.epoch,
              {{"epoch", position.epoch + 1},
               {"train_loss", position.seen ? position.loss_sum / position.seen : 0.0},
               {"seconds", seconds},
               {"samples_per_s", train.usable().size() / std::max(1e-9, seconds)}},
              run);
    position = {position.epoch + 1, 0, position.step, 0.0, 0, run.to_json()};
    checkpoints.save(module, *optimizer, extra(), position);
  }
  progress.finish();
  run.outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  run.outcome.samples_per_second =
      static_cast<double>(train.usable().size()) * s.epochs / std::max(1e-9, run.outcome.seconds);
  restore(module, run.best_state);
  module.eval();
  for (auto& p : params) p.set_requires_grad(true);
  return run.outcome;
}

}  // namespace medpipe
