#include "models/predict.h"

#include <algorithm>

#include "core/error.h"

namespace medpipe {

at::Tensor load_batch(const TensorCache& cache, const std::vector<std::size_t>& indices) {
  const PreprocessSpec& spec = cache.spec();
  std::vector<long> shape = {static_cast<long>(indices.size()), spec.channels};
  if (spec.volume()) shape.push_back(spec.depth_px);
  shape.insert(shape.end(), {spec.size_px, spec.size_px});
  at::Tensor batch = at::empty(shape);
  float* data = batch.data_ptr<float>();
  for (std::size_t i = 0; i < indices.size(); ++i) {
    cache.read(indices[i], data + i * spec.values_per_sample());
  }
  return batch;
}

std::vector<double> predict_probabilities(torch::jit::Module& module, const TensorCache& cache,
                                          const std::vector<std::size_t>& indices, int num_classes,
                                          bool mirror_average, int batch_size) {
  module.eval();
  torch::NoGradGuard no_grad;
  std::vector<double> out;
  out.reserve(indices.size() * num_classes);
  for (std::size_t start = 0; start < indices.size(); start += batch_size) {
    std::size_t end = std::min(indices.size(), start + batch_size);
    std::vector<std::size_t> chunk(indices.begin() + start, indices.begin() + end);
    at::Tensor input = load_batch(cache, chunk);
    at::Tensor logits = module.forward({input}).toTensor();
    if (logits.dim() != 2 || logits.size(1) != num_classes) {
      throw UsageError("the model's output has shape " + std::to_string(logits.dim()) + "-d with " +
                       std::to_string(logits.dim() == 2 ? logits.size(1) : 0) +
                       " classes; model.json expects [batch, " + std::to_string(num_classes) +
                       "]: model.pt and model.json do not belong together, retrain the model");
    }
    at::Tensor probs = at::softmax(logits.to(at::kDouble), 1);
    if (mirror_average) {
      at::Tensor mirrored = module.forward({input.flip({input.dim() - 1})}).toTensor();
      probs = (probs + at::softmax(mirrored.to(at::kDouble), 1)) / 2;
    }
    probs = probs.contiguous();
    const double* p = probs.data_ptr<double>();
    out.insert(out.end(), p, p + probs.numel());
  }
  return out;
}

std::vector<double> predict_risks(torch::jit::Module& module, const TensorCache& cache,
                                  const std::vector<std::size_t>& indices, bool mirror_average,
                                  int batch_size) {
  module.eval();
  torch::NoGradGuard no_grad;
  std::vector<double> out;
  out.reserve(indices.size());
  for (std::size_t start = 0; start < indices.size(); start += batch_size) {
    std::size_t end = std::min(indices.size(), start + batch_size);
    std::vector<std::size_t> chunk(indices.begin() + start, indices.begin() + end);
    at::Tensor input = load_batch(cache, chunk);
    at::Tensor risk = module.forward({input}).toTensor();
    if (risk.dim() != 2 || risk.size(1) != 1)
      throw UsageError(
          "the model's output is not one risk per image ([batch, 1]): model.pt and "
          "model.json do not belong together, retrain the model");
    risk = risk.to(at::kDouble);
    if (mirror_average)
      risk = (risk + module.forward({input.flip({input.dim() - 1})}).toTensor()) / 2;
    risk = risk.reshape({-1}).contiguous();
    out.insert(out.end(), risk.data_ptr<double>(), risk.data_ptr<double>() + risk.numel());
  }
  return out;
}

std::vector<double> embed_samples(torch::jit::Module& module, const TensorCache& cache,
                                  const std::vector<std::size_t>& indices, std::size_t& dim,
                                  int batch_size) {
  if (!module.find_method("embed"))
    throw UsageError(
        "the network has no embed method (the features its last layer reads), so its images "
        "cannot be embedded: use a model.pt that medpipe trained (cnn, cnn3d, alexnet, or a "
        "simclr pretraining), or cluster radiomics features (leave pretrained empty)");
  module.eval();
  torch::NoGradGuard no_grad;
  std::vector<double> out;
  dim = 0;
  for (std::size_t start = 0; start < indices.size(); start += batch_size) {
    std::size_t end = std::min(indices.size(), start + batch_size);
    std::vector<std::size_t> chunk(indices.begin() + start, indices.begin() + end);
    at::Tensor e = module.run_method("embed", load_batch(cache, chunk)).toTensor();
    e = e.reshape({e.size(0), -1}).to(at::kDouble).contiguous();
    dim = static_cast<std::size_t>(e.size(1));
    out.insert(out.end(), e.data_ptr<double>(), e.data_ptr<double>() + e.numel());
  }
  return out;
}

}  // namespace medpipe
