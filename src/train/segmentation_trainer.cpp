#include "train/segmentation_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "core/world.h"
#include "metrics/segmentation.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"

namespace medpipe {

namespace {

using Clock = std::chrono::steady_clock;

struct PatchBatch {
  at::Tensor input;   // [B,C,P,P]
  at::Tensor target;  // [B,P,P] long
};

// The epoch's patches: every slice `patches_per_image` times, shuffled by (seed, epoch).
std::vector<std::size_t> epoch_slices(std::size_t slices, int per_image, std::uint64_t seed,
                                      int epoch) {
  std::vector<std::size_t> order;
  for (int k = 0; k < per_image; ++k)
    for (std::size_t i = 0; i < slices; ++i) order.push_back(i);
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<std::uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

// Patch i is drawn with a generator seeded by the step and its position in the step's global
// batch (first_position + i), whichever worker draws it.
PatchBatch make_batch(const SegmentationSet& set, const std::vector<std::size_t>& slice_ids,
                      const SegmentationTrainSettings& s, std::uint64_t batch_seed,
                      std::size_t first_position) {
  const long b = static_cast<long>(slice_ids.size()), c = set.channels(), p = s.patch;
  PatchBatch batch{at::empty({b, c, p, p}), at::empty({b, p, p}, at::kLong)};
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(p) * p);
  for (long i = 0; i < b; ++i) {
    std::mt19937 rng(static_cast<std::uint32_t>(batch_seed * 7919ULL + first_position + i));
    const SliceRef& ref = set.slices()[slice_ids[i]];
    sample_patch(set.volumes()[ref.volume], ref.z, c, p, s.augment, rng,
                 batch.input.data_ptr<float>() + i * c * p * p, labels.data());
    auto* t = batch.target.data_ptr<std::int64_t>() + i * p * p;
    for (std::size_t j = 0; j < labels.size(); ++j) t[j] = labels[j];
  }
  return batch;
}

}  // namespace

at::Tensor dice_cross_entropy_loss(const at::Tensor& logits, const at::Tensor& target,
                                   int num_classes) {
  at::Tensor ce = at::cross_entropy_loss(logits, target, {}, at::Reduction::Mean, kIgnoreLabel);
  at::Tensor valid = (target != kIgnoreLabel).unsqueeze(1).to(at::kFloat);  // [B,1,H,W]
  at::Tensor onehot = at::one_hot(target.clamp_max(num_classes - 1), num_classes)
                          .permute({0, 3, 1, 2})
                          .to(at::kFloat) *
                      valid;
  at::Tensor probs = at::softmax(logits, 1) * valid;
  std::vector<long> dims = {0, 2, 3};
  at::Tensor intersection = (probs * onehot).sum(dims);
  at::Tensor denominator = probs.sum(dims) + onehot.sum(dims);
  at::Tensor dice = (2 * intersection + 1e-5) / (denominator + 1e-5);
  return ce + (1 - dice.slice(0, 1).mean());
}

double validation_dice(torch::jit::Module& module, const SegmentationSet& set,
                       const TileSettings& tiles) {
  double sum = 0;
  for (const auto& v : set.volumes()) {
    std::vector<std::uint8_t> predicted(v.labels.size());
    const std::size_t plane = static_cast<std::size_t>(v.height) * v.width;
    for (int z = 0; z < v.depth; ++z) {
      auto probs = predict_slice_tiled(module, v.pixels.data() + z * set.channels() * plane,
                                       set.channels(), v.height, v.width, set.num_classes(), tiles);
      auto labels = argmax_classes(probs, set.num_classes());
      std::copy(labels.begin(), labels.end(), predicted.begin() + z * plane);
    }
    double dice = 0;  // Dice only: the distances are for the final evaluation
    for (int k = 1; k < set.num_classes(); ++k)
      dice += overlap_of(v.labels.data(), predicted.data(), predicted.size(), k).dice();
    sum += dice / (set.num_classes() - 1);
  }
  return set.volumes().empty() ? 0.0 : sum / set.volumes().size();
}

namespace {

// The rest of an epoch from position.batch on. Each worker takes its slice of the step's
// patches; its loss (Dice over its own patches + cross-entropy) counts by its share of them.
void run_epoch(WorkerGroup& group, torch::jit::Module& master, const SegmentationSet& train,
               const SegmentationTrainSettings& s, TrainingPosition& position,
               std::size_t total_steps, Progress& progress, const Checkpointer& checkpoints,
               const std::vector<at::Tensor>& best_state) {
  group.set_training(true);
  const std::size_t step_size = static_cast<std::size_t>(s.batch_size) * group.workers();
  auto order = epoch_slices(train.slices().size(), s.patches_per_image, s.seed, position.epoch);
  for (std::size_t first = position.batch * step_size; first < order.size(); first += step_size) {
    std::vector<std::size_t> ids(order.begin() + first,
                                 order.begin() + std::min(order.size(), first + step_size));
    const std::uint64_t seed = s.seed * 31 + position.step;
    auto loss_of = [&](torch::jit::Module& replica, int worker) -> LossPart {
      Slice slice = worker_slice(ids.size(), worker, group.workers());
      if (slice.size() == 0) return {};
      std::vector<std::size_t> mine(ids.begin() + slice.begin, ids.begin() + slice.end);
      PatchBatch batch = make_batch(train, mine, s, seed, slice.begin);
      at::Tensor loss = dice_cross_entropy_loss(replica.forward({batch.input}).toTensor(),
                                                batch.target, s.num_classes);
      const double n = static_cast<double>(slice.size());
      double share = group.averages_gradients() ? n / static_cast<double>(ids.size()) : 1.0;
      return {loss * share, loss.item<double>() * n, n, n};
    };
    group.set_learning_rate(s.optim, position.step, total_steps);
    StepResult step = group.step(loss_of);
    if (!std::isfinite(step.mean_loss)) {
      throw RunError("training diverged (loss " + std::to_string(step.mean_loss) + " at epoch " +
                     std::to_string(position.epoch + 1) + "); lower learning_rate");
    }
    position.loss_sum += step.mean_loss * ids.size();
    position.seen += ids.size();
    ++position.batch;
    ++position.step;
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, "epoch %d/%d loss %.4f", position.epoch + 1, s.epochs,
                  step.mean_loss);
    progress.set_suffix(suffix);
    progress.advance();
    if (step.synchronized)
      checkpoints.after_step(master, group.optimizer(), best_state, position, step.stop_requested);
  }
  group.synchronize();
}

void end_epoch(torch::jit::Module& module, const SegmentationSet* val,
               const SegmentationTrainSettings& s, int epoch, nlohmann::json record,
               EpochBook& run) {
  if (!is_lead_rank()) {  // rank 0 validates and writes; the others only train
    run.outcome.history.push_back(record);
    return;
  }
  std::optional<double> score;
  if (val && !val->volumes().empty()) {
    score = validation_dice(module, *val, s.tiles);
    record["val_dice"] = *score;
  }
  run.consider(module, epoch, score, {{"dice", score.value_or(0.0)}});
  run.close_epoch(module, record, s.checkpoint_path);
}

}  // namespace

TrainOutcome train_segmenter(torch::jit::Module& module, const SegmentationSet& train,
                             const SegmentationSet* val, const SegmentationTrainSettings& s) {
  torch::manual_seed(s.seed);
  WorkerGroup group(module, {}, s.optim, s.parallel);
  const std::size_t per_epoch = train.slices().size() * s.patches_per_image;
  const std::size_t step_size = static_cast<std::size_t>(s.batch_size) * group.workers();
  const std::size_t steps_per_epoch = (per_epoch + step_size - 1) / step_size;
  const std::size_t total_steps = steps_per_epoch * s.epochs;
  EpochBook run;
  Checkpointer checkpoints(s.state_path, s.fingerprint, s.checkpoint_every);
  TrainingPosition position;
  if (checkpoints.resume(module, group.optimizer(), run.best_state, position)) {
    group.copy_master_to_workers();
    run.from_json(position.loop);
  }
  position.loop = run.to_json();
  Progress progress("train", total_steps, "step");
  progress.advance(position.step);
  auto start = Clock::now();
  while (position.epoch < s.epochs) {
    auto epoch_start = Clock::now();
    run_epoch(group, module, train, s, position, total_steps, progress, checkpoints,
              run.best_state);
    double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    end_epoch(module, val, s, position.epoch,
              {{"epoch", position.epoch + 1},
               {"train_loss", position.loss_sum / std::max<std::size_t>(1, position.seen)},
               {"seconds", seconds},
               {"samples_per_s", per_epoch / std::max(1e-9, seconds)}},
              run);
    position = {position.epoch + 1, 0, position.step, 0.0, 0, run.to_json()};
    checkpoints.save(module, group.optimizer(), run.best_state, position);
  }
  progress.finish();
  run.outcome.compute_seconds = group.compute_seconds();
  run.outcome.sync_seconds = group.sync_seconds();
  run.outcome.wait_seconds = group.wait_seconds();
  run.outcome.steps = position.step;
  run.outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  run.outcome.samples_per_second =
      static_cast<double>(per_epoch) * s.epochs / std::max(1e-9, run.outcome.seconds);
  if (is_lead_rank()) restore(module, run.best_state);
  module.eval();
  return run.outcome;
}

}  // namespace medpipe
