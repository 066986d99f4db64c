#include "train/segmentation_trainer.h"

#include <algorithm>
#include <random>

#include "metrics/segmentation.h"
#include "train/losses.h"

namespace medpipe {

namespace {

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
// 3D: `ids` are volumes; every third patch of the step's global batch is centred on foreground.
PatchBatch make_batch_3d(const SegmentationSet& set, const std::vector<std::size_t>& ids,
                         const SegmentationTrainSettings& s, std::uint64_t batch_seed,
                         std::size_t first_position) {
  const long b = static_cast<long>(ids.size()), c = set.channels(), p = s.patch, pd = s.patch_depth;
  PatchBatch batch{at::empty({b, c, pd, p, p}), at::empty({b, pd, p, p}, at::kLong)};
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(pd) * p * p);
  for (long i = 0; i < b; ++i) {
    std::mt19937 rng(static_cast<std::uint32_t>(batch_seed * 7919ULL + first_position + i));
    const bool foreground = (first_position + i) % 3 == 2;
    sample_patch_3d(set.volumes()[ids[i]], c, p, pd, foreground, s.augment, rng,
                    batch.input.data_ptr<float>() + i * c * pd * p * p, labels.data());
    auto* t = batch.target.data_ptr<std::int64_t>() + i * pd * p * p;
    for (std::size_t j = 0; j < labels.size(); ++j) t[j] = labels[j];
  }
  return batch;
}

PatchBatch make_batch(const SegmentationSet& set, const std::vector<std::size_t>& slice_ids,
                      const SegmentationTrainSettings& s, std::uint64_t batch_seed,
                      std::size_t first_position) {
  if (s.patch_depth > 0) return make_batch_3d(set, slice_ids, s, batch_seed, first_position);
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

// Segmentation in the epoch loop. Each worker takes its slice of the step's patches; its loss
// (Dice over its own patches + cross-entropy) counts by its share of them.
class SegmenterTask : public TrainingTask {
 public:
  SegmenterTask(const SegmentationSet& train, const SegmentationSet* val,
                const SegmentationTrainSettings& s)
      : train_(train), val_(val), s_(s) {}

  // A last step smaller than the group's smallest is dropped, unless it is the only one.
  std::size_t steps_per_epoch(const WorkerGroup& group) const override {
    const std::size_t step_size = static_cast<std::size_t>(s_.loop.batch_size) * group.workers();
    const std::size_t full = samples_per_epoch() / step_size,
                      rest = samples_per_epoch() % step_size;
    return full + (rest > 0 && (full == 0 || rest >= group.smallest_step()) ? 1 : 0);
  }
  std::size_t samples_per_epoch() const override { return units() * s_.patches_per_image; }
  std::size_t begin_epoch(const WorkerGroup& group, int epoch, std::size_t) override {
    order_ = epoch_slices(units(), s_.patches_per_image, s_.loop.seed, epoch);
    return steps_per_epoch(group);
  }
  StepWork step(const WorkerGroup& group, std::size_t b, std::size_t global_step) override;
  EpochValidation validate(torch::jit::Module& module) override {
    EpochValidation v;
    if (val_ && !val_->volumes().empty()) {
      v.score = validation_dice(module, *val_, s_.tiles);
      v.record["val_dice"] = *v.score;
    }
    v.metrics = {{"dice", v.score.value_or(0.0)}};
    return v;
  }

 private:
  // what patches are drawn from: slices (2D), volumes (3D)
  std::size_t units() const {
    return s_.patch_depth > 0 ? train_.volumes().size() : train_.slices().size();
  }
  const SegmentationSet& train_;
  const SegmentationSet* val_;
  const SegmentationTrainSettings& s_;
  std::vector<std::size_t> order_;
};

StepWork SegmenterTask::step(const WorkerGroup& group, std::size_t b, std::size_t global_step) {
  const std::size_t step_size = static_cast<std::size_t>(s_.loop.batch_size) * group.workers();
  const std::size_t first = b * step_size;
  auto ids = std::make_shared<std::vector<std::size_t>>(
      order_.begin() + first, order_.begin() + std::min(order_.size(), first + step_size));
  const std::uint64_t seed = s_.loop.seed * 31 + global_step;
  auto loss_of = [this, &group, ids, seed](torch::jit::Module& replica, int worker) -> LossPart {
    Slice slice = worker_slice(ids->size(), worker, group.workers());
    if (slice.size() == 0) return {};
    std::vector<std::size_t> mine(ids->begin() + slice.begin, ids->begin() + slice.end);
    PatchBatch batch = make_batch(train_, mine, s_, seed, slice.begin);
    at::Tensor loss = dice_cross_entropy_loss(replica.forward({batch.input}).toTensor(),
                                              batch.target, s_.num_classes, kIgnoreLabel);
    const double n = static_cast<double>(slice.size());
    double share = group.averages_gradients() ? n / static_cast<double>(ids->size()) : 1.0;
    return {loss * share, loss.item<double>() * n, n, n};
  };
  return {loss_of, ids->size()};
}

}  // namespace

double validation_dice(torch::jit::Module& module, const SegmentationSet& set,
                       const TileSettings& tiles) {
  double sum = 0;
  for (const auto& v : set.volumes()) {
    std::vector<std::uint8_t> predicted(v.labels.size());
    const std::size_t plane = static_cast<std::size_t>(v.height) * v.width;
    if (tiles.patch_depth > 0)
      predicted = segment_volume_tiled(module, v.pixels.data(), set.channels(), v.depth, v.height,
                                       v.width, set.num_classes(), tiles);
    for (int z = 0; z < v.depth && tiles.patch_depth == 0; ++z) {
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

TrainOutcome train_segmenter(torch::jit::Module& module, const SegmentationSet& train,
                             const SegmentationSet* val, const SegmentationTrainSettings& s) {
  SegmenterTask task(train, val, s);
  return run_epoch_loop(module, task, s.loop);
}

}  // namespace medpipe
