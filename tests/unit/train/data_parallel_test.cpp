#include "train/data_parallel.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "models/models.h"

namespace medpipe {
namespace {

// A fixed data set of 64 samples (1x16x16) and labels, and a step's global batch of `batch`.
struct Toy {
  at::Tensor x = at::randn({64, 1, 16, 16}, at::TensorOptions().dtype(at::kFloat));
  at::Tensor y = at::randint(0, 2, {64}, at::kLong);
};

torch::jit::Module toy_model(const std::string& arch, double dropout, bool sync_bn = false) {
  ModelSpec spec;
  spec.arch = arch;
  spec.image_size = 16;
  spec.cnn_width = 4;
  spec.cnn_blocks = 1;
  spec.hidden_units = 32;
  spec.dropout = dropout;
  spec.sync_batch_norm = sync_bn;
  return build_model(spec, 11);
}

// Trains `steps` steps of global batch `global_batch` over `local_workers` threads; returns the
// master's parameters.
std::vector<at::Tensor> train(const Toy& toy, torch::jit::Module model, int local_workers,
                              std::size_t global_batch, int steps, SyncMode sync, int local_steps,
                              OptimizerKind optimizer = OptimizerKind::kSgd, double momentum = 0.0,
                              const std::string& method = "forward") {
  OptimizerSettings opt{optimizer, 0.05, momentum, 0.0, LrSchedule::kConstant};
  WorkerGroup group(model, {}, opt, {local_workers, 1, sync, local_steps});
  group.set_training(true);
  for (int step = 0; step < steps; ++step) {
    const long first = static_cast<long>((step * global_batch) % 64);
    auto loss_of = [&](torch::jit::Module& replica, int worker) -> LossPart {
      Slice s = worker_slice(global_batch, worker, group.workers());
      if (s.size() == 0) return {};
      at::Tensor x =
          toy.x.narrow(0, first + static_cast<long>(s.begin), static_cast<long>(s.size()));
      at::Tensor y =
          toy.y.narrow(0, first + static_cast<long>(s.begin), static_cast<long>(s.size()));
      replica.setattr("dropout_seed", static_cast<std::int64_t>(1000 + step));
      replica.setattr("dropout_row", static_cast<std::int64_t>(s.begin));
      at::Tensor summed = at::cross_entropy_loss(replica.run_method(method, x).toTensor(), y, {},
                                                 at::Reduction::Sum);
      double denominator = group.averages_gradients() ? double(global_batch) : double(s.size());
      return {summed / denominator, summed.item<double>(), double(s.size()), double(s.size())};
    };
    group.step(loss_of, global_batch);
  }
  group.synchronize();
  std::vector<at::Tensor> out;
  for (const auto& p : model.named_parameters(true)) out.push_back(p.value.detach().clone());
  for (const auto& b : model.named_buffers(true)) {
    if (b.value.is_floating_point()) out.push_back(b.value.detach().clone());
  }
  return out;
}

double worst_relative_difference(const std::vector<at::Tensor>& a,
                                 const std::vector<at::Tensor>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    double scale = a[i].abs().max().item<double>();
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>() / std::max(scale, 1e-12));
  }
  return worst;
}

TEST(WorkerSlice, CoversTheBatchInOrderAndBalances) {
  std::size_t next = 0;
  for (int w = 0; w < 3; ++w) {
    Slice s = worker_slice(10, w, 3);
    EXPECT_EQ(s.begin, next);
    EXPECT_GE(s.size(), 3u);
    EXPECT_LE(s.size(), 4u);
    next = s.end;
  }
  EXPECT_EQ(next, 10u);
  EXPECT_EQ(worker_slice(1, 0, 2).size(), 0u);  // fewer samples than workers: an empty slice
  EXPECT_EQ(worker_slice(1, 1, 2).size(), 1u);
}

// The seed's claim as a test: 2 workers x b under plain SGD are 1 worker x 2b, after 20 steps,
// dropout included (its mask follows the sample, not the worker).
TEST(WorkerGroup, TwoThreadsEqualOneWorkerWithTheDoubleBatch) {
  torch::manual_seed(3);
  Toy toy;
  auto one = train(toy, toy_model("mlp", 0.3), 1, 16, 20, SyncMode::kGradients, 1);
  auto two = train(toy, toy_model("mlp", 0.3), 2, 16, 20, SyncMode::kGradients, 1);
  EXPECT_LT(worst_relative_difference(one, two), 1e-5);
  EXPECT_GT(worst_relative_difference(
                one, train(toy, toy_model("mlp", 0.3), 1, 16, 0, SyncMode::kGradients, 1)),
            1e-3);  // and training did move the weights
}

// A loss that leaves parameters unused (SimCLR's project() never reads fc): their missing
// gradients must not shift the others' (nor the batch-norm statistics') places in the exchange.
TEST(WorkerGroup, UnusedParametersKeepTheExchangeInPlace) {
  torch::manual_seed(5);
  Toy toy;
  auto model = [] {
    ModelSpec spec;
    spec.image_size = 16, spec.cnn_width = 4, spec.cnn_blocks = 1, spec.projection_dim = 8;
    spec.sync_batch_norm = true;
    return build_model(spec, 11);
  };
  auto one =
      train(toy, model(), 1, 16, 6, SyncMode::kGradients, 1, OptimizerKind::kSgd, 0.0, "project");
  auto two =
      train(toy, model(), 2, 16, 6, SyncMode::kGradients, 1, OptimizerKind::kSgd, 0.0, "project");
  EXPECT_LT(worst_relative_difference(one, two), 1e-4);
}

TEST(WorkerGroup, RepeatedRunsAreBitIdentical) {
  torch::manual_seed(3);
  Toy toy;
  auto a = train(toy, toy_model("cnn", 0.2), 2, 16, 6, SyncMode::kGradients, 1, OptimizerKind::kSgd,
                 0.9);
  auto b = train(toy, toy_model("cnn", 0.2), 2, 16, 6, SyncMode::kGradients, 1, OptimizerKind::kSgd,
                 0.9);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i], b[i])) << i;
}

// FedAvg with one local step is gradient averaging, momentum included (both are linear).
TEST(WorkerGroup, WeightsAveragedEveryStepEqualGradientAveraging) {
  torch::manual_seed(4);
  Toy toy;
  auto gradients = train(toy, toy_model("mlp", 0.0), 2, 16, 20, SyncMode::kGradients, 1,
                         OptimizerKind::kSgd, 0.9);
  auto weights =
      train(toy, toy_model("mlp", 0.0), 2, 16, 20, SyncMode::kWeights, 1, OptimizerKind::kSgd, 0.9);
  EXPECT_LT(worst_relative_difference(gradients, weights), 1e-5);
  auto local4 =
      train(toy, toy_model("mlp", 0.0), 2, 16, 20, SyncMode::kWeights, 4, OptimizerKind::kSgd, 0.9);
  EXPECT_GT(worst_relative_difference(gradients, local4), 1e-4);  // K = 4 is another algorithm
}

// Uneven and empty slices: a 3-sample batch over 4 workers still equals one worker.
TEST(WorkerGroup, UnevenAndEmptySlicesWeighTheirSamples) {
  torch::manual_seed(5);
  Toy toy;
  auto one = train(toy, toy_model("mlp", 0.0), 1, 3, 20, SyncMode::kGradients, 1);
  auto four = train(toy, toy_model("mlp", 0.0), 4, 3, 20, SyncMode::kGradients, 1);
  EXPECT_LT(worst_relative_difference(one, four), 1e-5);
}

// Batch norm over each worker's own slice makes 2 x b another step than 1 x 2b; synchronised
// batch norm (statistics of the whole step, exchanged in forward and backward) restores the
// equality: weights and running statistics after 12 steps, with 2 and 4 threads.
TEST(WorkerGroup, SynchronisedBatchNormEqualsOneWorkerWithTheWholeBatch) {
  torch::manual_seed(6);
  Toy toy;
  auto one = train(toy, toy_model("cnn", 0.2), 1, 16, 12, SyncMode::kGradients, 1);
  auto two = train(toy, toy_model("cnn", 0.2, true), 2, 16, 12, SyncMode::kGradients, 1);
  auto four = train(toy, toy_model("cnn", 0.2, true), 4, 16, 12, SyncMode::kGradients, 1);
  auto local = train(toy, toy_model("cnn", 0.2), 2, 16, 12, SyncMode::kGradients, 1);
  EXPECT_LT(worst_relative_difference(one, two), 1e-5);
  EXPECT_LT(worst_relative_difference(one, four), 1e-5);
  EXPECT_GT(worst_relative_difference(one, local), 1e-3);  // each worker's own statistics
  // one worker with the synchronised network runs LibTorch's batch norm: the same bits
  auto one_sync = train(toy, toy_model("cnn", 0.2, true), 1, 16, 12, SyncMode::kGradients, 1);
  for (std::size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(at::equal(one[i], one_sync[i])) << i;
}

TEST(WorkerGroup, SynchronisedBatchNormNeedsASamplePerWorker) {
  Toy toy;
  EXPECT_THROW(train(toy, toy_model("cnn", 0.0, true), 4, 3, 1, SyncMode::kGradients, 1), RunError);
}

// The saved form of a synchronised network: LibTorch's batch norm, the same weights and the
// same outputs, and no medpipe operator left in its code.
TEST(PortableModule, RebuildsASynchronisedNetworkWithPlainBatchNorm) {
  torch::jit::Module sync = toy_model("cnn", 0.0, true);
  ASSERT_TRUE(synchronises_batch_norm(sync));
  at::Tensor x = at::randn({5, 1, 16, 16});
  sync.train();
  sync.forward({x});  // moves the running statistics
  sync.eval();
  torch::jit::Module plain = portable_module(sync);
  EXPECT_FALSE(synchronises_batch_norm(plain));
  EXPECT_FALSE(plain.is_training());
  EXPECT_TRUE(at::equal(sync.forward({x}).toTensor(), plain.forward({x}).toTensor()));
  const std::string graph = plain.get_method("cbn").graph()->toString();
  EXPECT_EQ(graph.find("medpipe::"), std::string::npos);
  EXPECT_NE(graph.find("aten::batch_norm"), std::string::npos);
  EXPECT_NE(sync.get_method("cbn").graph()->toString().find("medpipe::sync_batch_norm"),
            std::string::npos);
}

TEST(HashedDropout, DropsTheRequestedFractionAndFollowsTheSample) {
  torch::jit::Module model = toy_model("mlp", 0.25);
  model.train();
  // the hidden layer's dropout: compare one batch of 8 with its two halves computed apart
  at::Tensor x = at::randn({8, 1, 16, 16});
  model.setattr("dropout_seed", static_cast<std::int64_t>(7));
  model.setattr("dropout_row", static_cast<std::int64_t>(0));
  at::Tensor whole = model.forward({x}).toTensor();
  at::Tensor first = model.forward({x.narrow(0, 0, 4)}).toTensor();
  model.setattr("dropout_row", static_cast<std::int64_t>(4));
  at::Tensor second = model.forward({x.narrow(0, 4, 4)}).toTensor();
  EXPECT_TRUE(at::allclose(whole, at::cat({first, second}), 1e-5, 1e-6));
  model.setattr("dropout_seed", static_cast<std::int64_t>(8));
  EXPECT_FALSE(at::allclose(whole.narrow(0, 4, 4), model.forward({x.narrow(0, 4, 4)}).toTensor()));

  c10::IValue dropped =
      model.run_method("hashed_dropout", at::ones({200, 500}), 0.25, static_cast<std::int64_t>(1));
  double zero_fraction = (dropped.toTensor() == 0).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(zero_fraction, 0.25, 0.005);  // 100,000 draws: 4 sigma is 0.0055
  EXPECT_NEAR(dropped.toTensor().mean().item<double>(), 1.0, 0.01);  // scaled by 1 / (1 - p)
  model.eval();
  EXPECT_TRUE(at::equal(model.forward({x}).toTensor(), model.forward({x}).toTensor()));
}

}  // namespace
}  // namespace medpipe
