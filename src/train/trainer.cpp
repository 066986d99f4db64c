#include "train/trainer.h"

#include <cmath>
#include <future>

#include "metrics/classification.h"
#include "metrics/survival.h"
#include "models/predict.h"
#include "train/batches.h"
#include "train/losses.h"

namespace medpipe {

namespace {

// The survival targets of the cache's samples (none for class targets).
void survival_targets_of(const TensorCache& cache, std::vector<double>& time,
                         std::vector<int>& event) {
  for (const auto& s : cache.samples()) {
    const auto* t = std::get_if<SurvivalTarget>(&s.target);
    time.push_back(t ? t->time : 0.0);
    event.push_back(t && t->event ? 1 : 0);
  }
}

std::vector<int> labels_of(const TensorCache& cache) {
  std::vector<int> labels;
  for (const auto& s : cache.samples()) labels.push_back(s.class_index());
  return labels;
}

at::Tensor class_weight_tensor(const TensorCache& train, const TrainSettings& s) {
  if (!s.class_weights) return {};
  std::vector<double> counts(s.num_classes, 0.0);
  for (std::size_t i : train.usable()) counts[train.samples()[i].class_index()] += 1;
  at::Tensor w = at::empty({s.num_classes});
  double n = static_cast<double>(train.usable().size());
  for (int c = 0; c < s.num_classes; ++c) {
    w[c] = counts[c] > 0 ? n / (s.num_classes * counts[c]) : 0.0;
  }
  return w;
}

// Higher is better.
double selection_score(const nlohmann::json& metrics, SelectMetric metric) {
  if (metric == SelectMetric::kAuc && metrics.contains("roc_auc") &&
      !metrics["roc_auc"].is_null()) {
    // ties on AUC are broken by the loss
    return metrics["roc_auc"].get<double>() - 1e-6 * metrics["log_loss"].get<double>();
  }
  if (metric == SelectMetric::kAccuracy)
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
  // Runs `work` with the averaged weights in the module, then puts the raw ones back. Batch
  // norm statistics belong to the weights that produced them, so the raw ones are kept and
  // refreshed for the averaged weights by forward passes over (unaugmented) training batches.
  void with_average(torch::jit::Module& module, const TensorCache& train,
                    const std::function<void()>& work) {
    if (decay_ <= 0) return work();
    std::vector<at::Tensor> raw = snapshot(module);
    restore_parameters(module, average_);
    recalibrate_batch_norm(module, train);
    work();
    restore(module, raw);
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

  double decay_;
  std::vector<at::Tensor> average_;
};

// The seed of a step's augmentation and dropout: the run's seed, the epoch and the batch only,
// never the worker, so the same sample is augmented alike whichever worker takes it.
std::uint64_t step_seed(const TrainSettings& s, int epoch, std::size_t batch) {
  return s.loop.seed * 31 + static_cast<std::uint64_t>(epoch) * 100003ULL + batch;
}

// Classification in the epoch loop. Each step's slices are augmented while the previous step
// computes.
class ClassifierTask : public TrainingTask {
 public:
  ClassifierTask(torch::jit::Module& module, const TensorCache& train, const TensorCache* val,
                 const TrainSettings& s)
      : train_(train),
        val_(val),
        s_(s),
        labels_(labels_of(train)),
        weights_(class_weight_tensor(train, s)),
        average_(module, s.ema_decay) {
    if (s.survival) survival_targets_of(train, time_, event_);
  }

  std::size_t steps_per_epoch(const WorkerGroup& group) const override {
    return epoch_batches(train_.usable(), s_.loop.batch_size * group.workers(), s_.loop.seed, 0,
                         group.smallest_step())
        .size();
  }
  std::size_t samples_per_epoch() const override { return train_.usable().size(); }
  std::size_t begin_epoch(const WorkerGroup& group, int epoch, std::size_t first) override;
  StepWork step(const WorkerGroup& group, std::size_t b, std::size_t global_step) override;
  void after_step(torch::jit::Module& master) override { average_.update(master); }
  std::vector<at::Tensor> extra_state() override { return average_.tensors(); }
  void restore_extra_state(const std::vector<at::Tensor>& saved) override {
    for (std::size_t i = 0; i < saved.size(); ++i) average_.tensors()[i].copy_(saved[i]);
  }
  EpochValidation validate(torch::jit::Module& module) override;
  void with_eval_weights(torch::jit::Module& module, const std::function<void()>& work) override {
    average_.with_average(module, train_, work);
  }

 private:
  std::vector<at::Tensor> slice_inputs(const WorkerGroup& group, std::size_t b) const;
  double loss_denominator(const std::vector<std::size_t>& batch, std::size_t begin,
                          std::size_t end) const;
  LossPart cox_part(const at::Tensor& risk, const std::vector<std::size_t>& batch,
                    const Slice& slice, const WorkerGroup& group, double global) const;

  const TensorCache& train_;
  const TensorCache* val_;
  const TrainSettings& s_;
  const std::vector<int> labels_;
  const at::Tensor weights_;
  std::vector<double> time_;  // survival: per sample of the training cache
  std::vector<int> event_;
  WeightAverage average_;
  int epoch_ = 0;
  std::vector<std::vector<std::size_t>> batches_;
  std::future<std::vector<at::Tensor>> next_;
};

// The denominator of a batch's mean loss: its size, or the sum of its class weights; for
// survival its events.
double ClassifierTask::loss_denominator(const std::vector<std::size_t>& batch, std::size_t begin,
                                        std::size_t end) const {
  if (s_.survival) {
    double events = 0;
    for (std::size_t i = begin; i < end; ++i) events += event_[batch[i]];
    return events;
  }
  if (!weights_.defined()) return static_cast<double>(end - begin);
  double sum = 0;
  const float* w = weights_.data_ptr<float>();
  for (std::size_t i = begin; i < end; ++i) sum += w[labels_[batch[i]]];
  return sum;
}

// Each local worker's augmented slice of global batch `b` (undefined where a slice is empty).
std::vector<at::Tensor> ClassifierTask::slice_inputs(const WorkerGroup& group,
                                                     std::size_t b) const {
  const std::vector<std::size_t>& batch = batches_[b];
  const std::uint64_t seed = step_seed(s_, epoch_, b);
  std::vector<at::Tensor> inputs;
  for (int g = group.first_worker(); g < group.first_worker() + s_.loop.parallel.local_workers;
       ++g) {
    Slice slice = worker_slice(batch.size(), g, group.workers());
    std::vector<std::size_t> indices(batch.begin() + slice.begin, batch.begin() + slice.end);
    inputs.push_back(indices.empty()
                         ? at::Tensor()
                         : augmented_batch(train_, indices, s_.augment, seed, slice.begin));
  }
  return inputs;
}

std::size_t ClassifierTask::begin_epoch(const WorkerGroup& group, int epoch, std::size_t first) {
  epoch_ = epoch;
  batches_ = epoch_batches(train_.usable(), s_.loop.batch_size * group.workers(), s_.loop.seed,
                           epoch, group.smallest_step());
  if (first < batches_.size())
    next_ = std::async(std::launch::async,
                       [this, &group, first] { return slice_inputs(group, first); });
  return batches_.size();
}

StepWork ClassifierTask::step(const WorkerGroup& group, std::size_t b, std::size_t) {
  auto inputs = std::make_shared<std::vector<at::Tensor>>(next_.get());
  if (b + 1 < batches_.size())
    next_ =
        std::async(std::launch::async, [this, &group, b] { return slice_inputs(group, b + 1); });
  const std::vector<std::size_t>& batch = batches_[b];
  const double global_denominator = loss_denominator(batch, 0, batch.size());
  const std::uint64_t seed = step_seed(s_, epoch_, b);
  auto loss_of = [this, &group, &batch, inputs, global_denominator, seed](
                     torch::jit::Module& replica, int g) -> LossPart {
    const at::Tensor& input = (*inputs)[g - group.first_worker()];
    if (!input.defined()) return {};
    Slice slice = worker_slice(batch.size(), g, group.workers());
    if (replica.hasattr("dropout_seed")) {
      replica.setattr("dropout_seed", static_cast<std::int64_t>(seed));
      replica.setattr("dropout_row", static_cast<std::int64_t>(slice.begin));
    }
    at::Tensor logits = replica.forward({input}).toTensor();
    if (s_.survival) return cox_part(logits, batch, slice, group, global_denominator);
    at::Tensor target = at::empty({static_cast<long>(slice.size())}, at::kLong);
    auto* target_data = target.data_ptr<std::int64_t>();
    for (std::size_t i = slice.begin; i < slice.end; ++i)
      target_data[i - slice.begin] = labels_[batch[i]];
    at::Tensor summed = summed_cross_entropy(logits, target, weights_);
    double own = loss_denominator(batch, slice.begin, slice.end);
    double scale = group.averages_gradients() ? global_denominator : own;
    return {summed / scale, summed.item<double>(), own, static_cast<double>(slice.size())};
  };
  return {loss_of, batch.size()};
}

// A worker's share of a survival step: the Cox partial likelihood of its slice (its risk sets
// are its own subjects), summed over the slice's events, divided by the step's events.
LossPart ClassifierTask::cox_part(const at::Tensor& risk, const std::vector<std::size_t>& batch,
                                  const Slice& slice, const WorkerGroup& group,
                                  double global) const {
  const long n = static_cast<long>(slice.size());
  at::Tensor time = at::empty({n}, at::kDouble), event = at::empty({n}, at::kFloat);
  const double own = loss_denominator(batch, slice.begin, slice.end);
  for (std::size_t i = slice.begin; i < slice.end; ++i) {
    time.data_ptr<double>()[i - slice.begin] = time_[batch[i]];
    event.data_ptr<float>()[i - slice.begin] = static_cast<float>(event_[batch[i]]);
  }
  const at::Tensor r = risk.reshape({-1});
  at::Tensor summed = own > 0 ? cox_partial_likelihood_loss(r, time, event) * own : (r * 0).sum();
  const double scale = std::max(1.0, group.averages_gradients() ? global : own);
  return {summed / scale, summed.item<double>(), own, static_cast<double>(n)};
}

EpochValidation ClassifierTask::validate(torch::jit::Module& module) {
  EpochValidation v;
  if (!val_ || val_->usable().empty()) return v;
  if (s_.survival) {
    std::vector<double> time, risk;
    std::vector<int> event, all_event;
    std::vector<double> all_time;
    survival_targets_of(*val_, all_time, all_event);
    for (std::size_t i : val_->usable()) time.push_back(all_time[i]), event.push_back(all_event[i]);
    risk = predict_risks(module, *val_, val_->usable(), s_.tta);
    const double c = harrell_c(time, event, risk).c;
    v.metrics = {{"harrell_c", std::isfinite(c) ? nlohmann::json(c) : nlohmann::json()},
                 {"n", time.size()}};
    v.record = {{"val_c", v.metrics["harrell_c"]}};
    if (std::isfinite(c)) v.score = c;
    return v;
  }
  std::vector<int> truth;
  for (std::size_t i : val_->usable()) truth.push_back(val_->samples()[i].class_index());
  ClassificationMetric metric(s_.num_classes);
  metric.add(truth, predict_probabilities(module, *val_, val_->usable(), s_.num_classes, s_.tta));
  v.metrics = metric.compute();
  v.record = {{"val_loss", v.metrics["log_loss"]},
              {"val_accuracy", v.metrics["accuracy"]},
              {"val_auc", v.metrics["roc_auc"]}};
  v.score = selection_score(v.metrics, s_.select_metric);
  return v;
}

}  // namespace

TrainOutcome train_classifier(torch::jit::Module& module, const TensorCache& train,
                              const TensorCache* val, const TrainSettings& s) {
  ClassifierTask task(module, train, val, s);
  return run_epoch_loop(module, task, s.loop);
}

}  // namespace medpipe
