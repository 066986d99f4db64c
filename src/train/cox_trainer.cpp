#include "train/cox_trainer.h"

#include <cmath>

#include "core/error.h"
#include "core/runtime.h"
#include "train/losses.h"
#include "train/optim.h"

namespace medpipe {

double train_neural_cox(torch::jit::Module& module, const at::Tensor& x, const at::Tensor& time,
                        const at::Tensor& event, const NeuralCoxSettings& settings) {
  module.train();
  std::vector<at::Tensor> params = trainable_parameters(module, {});
  OptimizerSettings adam{OptimizerKind::kAdam, settings.learning_rate, 0.0, settings.weight_decay,
                         LrSchedule::kConstant};
  std::unique_ptr<torch::optim::Optimizer> optimizer = make_optimizer(params, adam);
  double loss_value = 0;
  for (int epoch = 0; epoch < settings.epochs; ++epoch) {
    throw_if_stopped();
    if (module.hasattr("dropout_seed")) {
      module.setattr("dropout_seed", static_cast<std::int64_t>(settings.seed * 1000003 + epoch));
      module.setattr("dropout_row", static_cast<std::int64_t>(0));
    }
    optimizer->zero_grad();
    at::Tensor risk = module.forward({x}).toTensor().reshape({-1});
    at::Tensor loss = cox_partial_likelihood_loss(risk, time, event);
    loss.backward();
    optimizer->step();
    loss_value = loss.item<double>();
    if (!std::isfinite(loss_value))
      throw RunError("the neural Cox model's loss is no longer finite at epoch " +
                     std::to_string(epoch + 1) + "; lower cox_learning_rate");
  }
  module.eval();
  return loss_value;
}

}  // namespace medpipe
