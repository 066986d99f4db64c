// train/batches.h: the order of samples in an epoch and augmented training batches.
#pragma once
#include <cstdint>
#include <vector>

#include "models/predict.h"
#include "preprocess/augment.h"

namespace medpipe {

// Shuffles `usable` with a generator seeded by (seed, epoch) and cuts it into batches; a last
// batch of fewer than `smallest` samples (at least 2: batch norm needs two) is dropped unless
// it is the only one.
std::vector<std::vector<std::size_t>> epoch_batches(const std::vector<std::size_t>& usable,
                                                    int batch_size, std::uint64_t seed, int epoch,
                                                    std::size_t smallest = 2);

// load_batch, then augmentation of each sample with a generator seeded by `rng_seed` and the
// sample's position in the step's global batch (`first_position` + i), so that a sample is
// augmented alike whichever worker's slice holds it.
at::Tensor augmented_batch(const TensorCache& cache, const std::vector<std::size_t>& indices,
                           const AugmentSpec& augment, std::uint64_t rng_seed,
                           std::size_t first_position = 0);

}  // namespace medpipe
