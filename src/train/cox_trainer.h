// train/cox_trainer.h: the neural Cox model (DeepSurv, Katzman et al. 2018): a network whose one
// output is the log relative hazard, trained on the negative partial log-likelihood (Breslow's
// ties) of all training subjects at once (a table's subjects are few: one full batch per
// epoch), Adam with L2 weight decay, hashed dropout seeded per epoch.
#pragma once
#include <torch/script.h>

#include <cstdint>

namespace medpipe {

struct NeuralCoxSettings {
  int epochs = 600;
  double learning_rate = 0.01;
  double weight_decay = 1e-4;
  std::uint64_t seed = 42;
};

// x [N, F, 1, 1] (standardised covariates), time [N], event [N] (1/0). Leaves the module in
// eval mode; returns the last epoch's loss. RunError when the loss stops being finite.
double train_neural_cox(torch::jit::Module& module, const at::Tensor& x, const at::Tensor& time,
                        const at::Tensor& event, const NeuralCoxSettings& settings);

}  // namespace medpipe
