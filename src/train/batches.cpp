#include "train/batches.h"

#include <algorithm>
#include <random>

namespace medpipe {

std::vector<std::vector<std::size_t>> epoch_batches(const std::vector<std::size_t>& usable,
                                                    int batch_size, std::uint64_t seed, int epoch,
                                                    std::size_t smallest) {
  std::vector<std::size_t> order = usable;
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<std::uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t start = 0; start < order.size(); start += batch_size) {
    std::size_t end = std::min(order.size(), start + static_cast<std::size_t>(batch_size));
    if (end - start < std::max<std::size_t>(2, smallest) && !batches.empty()) break;
    batches.emplace_back(order.begin() + start, order.begin() + end);
  }
  return batches;
}

at::Tensor augmented_batch(const TensorCache& cache, const std::vector<std::size_t>& indices,
                           const AugmentSpec& augment, std::uint64_t rng_seed,
                           std::size_t first_position) {
  at::Tensor batch = load_batch(cache, indices);
  if (!augment.enabled) return batch;
  const PreprocessSpec& spec = cache.spec();
  float* data = batch.data_ptr<float>();
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::mt19937 rng(static_cast<std::uint32_t>(rng_seed * 7919ULL + first_position + i));
    float* sample = data + i * spec.values_per_sample();
    if (spec.volume())
      augment_volume(sample, spec.channels, spec.depth_px, spec.size_px, augment, rng);
    else
      augment_sample(sample, spec.channels, spec.size_px, augment, rng);
  }
  return batch;
}

}  // namespace medpipe
