// train/optim.h: what every training loop shares: the optimizer, the learning-rate schedule,
// and snapshots of a module's weights.
#pragma once
#include <torch/optim/optimizer.h>

#include <memory>
#include <string>
#include <vector>

#include "core/choice.h"
#include "models/models.h"

namespace medpipe {

struct OptimizerSettings {
  OptimizerKind optimizer = OptimizerKind::kSgd;
  double learning_rate = 0.05;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  LrSchedule lr_schedule = LrSchedule::kCosine;
};

// The parameters to train (all when `names` is empty); the others stop requiring grad.
std::vector<at::Tensor> trainable_parameters(torch::jit::Module& module,
                                             const std::vector<std::string>& names);
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<at::Tensor>& params,
                                                        const OptimizerSettings& s);
// Sets the learning rate for step `step` of `total_steps` by the schedule.
void schedule_learning_rate(torch::optim::Optimizer& optimizer, const OptimizerSettings& s,
                            std::size_t step, std::size_t total_steps);

// Copies of every parameter and buffer, and putting them back.
std::vector<at::Tensor> snapshot(torch::jit::Module& module);
void restore(torch::jit::Module& module, const std::vector<at::Tensor>& state);

}  // namespace medpipe
