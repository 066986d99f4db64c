#include "train/contrastive.h"

#include <future>

#include "train/batches.h"

namespace medpipe {

AugmentSpec contrastive_augmentation() {
  AugmentSpec a;
  a.rotation_deg = 15;
  a.shift_fraction = 0.1;
  a.zoom_min = 1.0;
  a.zoom_max = 1.58;  // 1 / sqrt(0.4): crops of 40-100% of the area
  a.intensity = 0.4;
  a.noise_sd = 0.1;
  return a;
}

at::Tensor summed_nt_xent(const at::Tensor& projections, double temperature) {
  const long views = projections.size(0), images = views / 2;
  const at::Tensor z = projections / projections.norm(2, {1}, true).clamp_min(1e-12);
  at::Tensor similarity = at::matmul(z, z.t()) / temperature;
  similarity = similarity - at::eye(views, similarity.options()) * 1e9;  // not itself
  const at::Tensor pair =
      at::cat({at::arange(images, views, at::kLong), at::arange(0, images, at::kLong)});
  return at::cross_entropy_loss(similarity, pair, {}, at::Reduction::Sum);
}

namespace {

std::uint64_t view_seed(const ContrastiveSettings& s, int epoch, std::size_t batch, int view) {
  return (s.loop.seed * 31 + static_cast<std::uint64_t>(epoch) * 100003ULL + batch) * 2 + view;
}

class ContrastiveTask : public TrainingTask {
 public:
  ContrastiveTask(const TensorCache& images, const ContrastiveSettings& s)
      : images_(images), s_(s) {}

  std::size_t steps_per_epoch(const WorkerGroup& group) const override {
    return batches_of(group, 0).size();
  }
  std::size_t samples_per_epoch() const override { return images_.usable().size(); }
  std::size_t begin_epoch(const WorkerGroup& group, int epoch, std::size_t first) override {
    epoch_ = epoch;
    batches_ = batches_of(group, epoch);
    if (first < batches_.size())
      next_ = std::async(std::launch::async, [this, &group, first] { return views(group, first); });
    return batches_.size();
  }
  StepWork step(const WorkerGroup& group, std::size_t b, std::size_t) override;
  EpochValidation validate(torch::jit::Module&) override { return {}; }

 private:
  std::vector<std::vector<std::size_t>> batches_of(const WorkerGroup& group, int epoch) const {
    // a step needs two images per worker: one alone has no negative
    return epoch_batches(images_.usable(), s_.loop.batch_size * group.workers(), s_.loop.seed,
                         epoch, std::max<std::size_t>(group.smallest_step(), 2 * group.workers()));
  }
  // Each local worker's two views of its slice of batch `b`, stacked [2b, ...].
  std::vector<at::Tensor> views(const WorkerGroup& group, std::size_t b) const {
    const std::vector<std::size_t>& batch = batches_[b];
    std::vector<at::Tensor> out;
    for (int g = group.first_worker(); g < group.first_worker() + s_.loop.parallel.local_workers;
         ++g) {
      const Slice slice = worker_slice(batch.size(), g, group.workers());
      const std::vector<std::size_t> idx(batch.begin() + slice.begin, batch.begin() + slice.end);
      if (idx.size() < 2) {
        out.emplace_back();
        continue;
      }
      out.push_back(at::cat(
          {augmented_batch(images_, idx, s_.augment, view_seed(s_, epoch_, b, 0), slice.begin),
           augmented_batch(images_, idx, s_.augment, view_seed(s_, epoch_, b, 1), slice.begin)}));
    }
    return out;
  }

  const TensorCache& images_;
  const ContrastiveSettings& s_;
  int epoch_ = 0;
  std::vector<std::vector<std::size_t>> batches_;
  std::future<std::vector<at::Tensor>> next_;
};

StepWork ContrastiveTask::step(const WorkerGroup& group, std::size_t b, std::size_t) {
  auto inputs = std::make_shared<std::vector<at::Tensor>>(next_.get());
  if (b + 1 < batches_.size())
    next_ = std::async(std::launch::async, [this, &group, b] { return views(group, b + 1); });
  const double global_views = 2.0 * static_cast<double>(batches_[b].size());
  auto loss_of = [this, &group, inputs, global_views](torch::jit::Module& replica,
                                                      int g) -> LossPart {
    const at::Tensor& input = (*inputs)[g - group.first_worker()];
    if (!input.defined()) return {};
    const at::Tensor projections = replica.run_method("project", input).toTensor();
    const at::Tensor summed = summed_nt_xent(projections, s_.temperature);
    const double own = static_cast<double>(input.size(0));
    const double scale = group.averages_gradients() ? global_views : own;
    return {summed / scale, summed.item<double>(), own, own / 2};
  };
  return {loss_of, batches_[b].size()};
}

}  // namespace

TrainOutcome train_contrastive(torch::jit::Module& module, const TensorCache& images,
                               const ContrastiveSettings& settings) {
  ContrastiveTask task(images, settings);
  return run_epoch_loop(module, task, settings.loop);
}

}  // namespace medpipe
