// models/predict.h: running a network over cached samples (validation and inference).
#pragma once
#include <vector>

#include "models/models.h"
#include "preprocess/tensor_cache.h"

namespace medpipe {

// Softmax probabilities, row-major [indices.size()][num_classes], in eval mode, no grad.
// mirror_average: the mean of the probabilities of each image and its horizontal mirror.
std::vector<double> predict_probabilities(torch::jit::Module& module, const TensorCache& cache,
                                          const std::vector<std::size_t>& indices, int num_classes,
                                          bool mirror_average, int batch_size = 128);

// The network's one output (a risk: the log relative hazard of a survival model) for each
// sample, in eval mode, no grad; mirror_average: the mean with its horizontal mirror's.
std::vector<double> predict_risks(torch::jit::Module& module, const TensorCache& cache,
                                  const std::vector<std::size_t>& indices, bool mirror_average,
                                  int batch_size = 128);

// The network's embedding of each sample (its `embed` method: the features its last layer
// reads), row-major [indices.size()][dim], in eval mode, no grad; `dim` gets the width.
// UsageError when the network has no embed method.
std::vector<double> embed_samples(torch::jit::Module& module, const TensorCache& cache,
                                  const std::vector<std::size_t>& indices, std::size_t& dim,
                                  int batch_size = 128);

// Copies the samples `indices` of `cache` into a [n, C, S, S] tensor.
at::Tensor load_batch(const TensorCache& cache, const std::vector<std::size_t>& indices);

}  // namespace medpipe
