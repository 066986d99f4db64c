// models/sync_batch_norm.h: batch norm whose statistics cover the whole step of every
// data-parallel worker (synchronised batch norm, as PyTorch's SyncBatchNorm), so that N workers
// of batch b train as one worker of batch N x b. A network built with ModelSpec::sync_batch_norm
// calls the TorchScript operator medpipe::sync_batch_norm (registered here); it sums each
// channel's statistics through the exchange its worker thread holds, in the forward pass (sum
// and sum of squares) and in the backward pass (sums of the gradient and of the gradient times
// the normalised input). A thread without an exchange, and evaluation, run LibTorch's own batch
// norm. Such a network is for training only: portable_module (models.h) gives the saved one.
#pragma once
#include <torch/script.h>

#include <cstddef>
#include <string>

namespace medpipe {

// Sums statistics over every worker of a step, in place, in a fixed order (so that repeated
// runs are bit-identical). Every worker calls it once per batch-norm layer in its forward
// pass and once in its backward pass, with the same counts, in the same order.
class StatisticsExchange {
 public:
  virtual ~StatisticsExchange() = default;
  virtual void sum(int local_worker, double* values, std::size_t count) = 0;
};

// Gives the calling thread `exchange` (as local worker `local_worker`) for the scope.
class ExchangeScope {
 public:
  ExchangeScope(StatisticsExchange* exchange, int local_worker);
  ~ExchangeScope();
  ExchangeScope(const ExchangeScope&) = delete;
  ExchangeScope& operator=(const ExchangeScope&) = delete;

 private:
  StatisticsExchange* previous_;
  int previous_worker_;
};

// Defines the TorchScript `code` on `module`; `medpipe.<name>` in it calls medpipe's operators.
void define_network(torch::jit::Module& module, const std::string& code);

// The TorchScript of a network's conv + batch-norm helper `cbn`: LibTorch's batch norm, or
// the synchronised one, after a 2D or 3D convolution (`spatial_dims`).
std::string conv_bn_helper(bool synchronised, int spatial_dims);

}  // namespace medpipe
