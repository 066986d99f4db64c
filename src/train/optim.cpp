#include "train/optim.h"

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <set>

#include "core/error.h"

namespace medpipe {

std::vector<at::Tensor> trainable_parameters(torch::jit::Module& module,
                                             const std::vector<std::string>& names) {
  std::set<std::string> wanted(names.begin(), names.end());
  std::vector<at::Tensor> params;
  for (const auto& p : module.named_parameters(true)) {
    bool train = wanted.empty() || wanted.count(p.name);
    p.value.set_requires_grad(train);
    if (train) params.push_back(p.value);
  }
  if (params.empty()) throw UsageError("no parameter is left to train; check finetune");
  return params;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<at::Tensor>& params,
                                                        const OptimizerSettings& s) {
  if (s.optimizer == OptimizerKind::kAdam) {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(s.learning_rate).weight_decay(s.weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(
      params,
      torch::optim::SGDOptions(s.learning_rate).momentum(s.momentum).weight_decay(s.weight_decay));
}

static void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

std::vector<at::Tensor> snapshot(torch::jit::Module& module) {
  std::vector<at::Tensor> state;
  for (const auto& p : module.named_parameters(true)) state.push_back(p.value.detach().clone());
  for (const auto& b : module.named_buffers(true)) state.push_back(b.value.detach().clone());
  return state;
}

void restore(torch::jit::Module& module, const std::vector<at::Tensor>& state) {
  torch::NoGradGuard no_grad;
  std::size_t i = 0;
  for (const auto& p : module.named_parameters(true)) p.value.copy_(state[i++]);
  for (const auto& b : module.named_buffers(true)) b.value.copy_(state[i++]);
}

void schedule_learning_rate(torch::optim::Optimizer& optimizer, const OptimizerSettings& s,
                            std::size_t step, std::size_t total_steps) {
  if (s.lr_schedule != LrSchedule::kCosine) return;
  double t = static_cast<double>(step) / std::max<std::size_t>(1, total_steps);
  set_learning_rate(optimizer, s.learning_rate * 0.5 * (1 + std::cos(M_PI * t)));
}

}  // namespace medpipe
