#include "models/models.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fs.h"

namespace medpipe {
namespace {

int64_t parameter_count(torch::jit::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(Models, EveryArchGivesLogitsOfTheClassCount) {
  for (std::string arch : {"mlp", "cnn", "alexnet"}) {
    ModelSpec spec;
    spec.arch = arch;
    spec.in_channels = 3;
    spec.num_classes = 5;
    spec.image_size = arch == "alexnet" ? 64 : 28;
    torch::jit::Module m = build_model(spec, 1);
    m.eval();
    at::Tensor out = m.forward({at::randn({2, 3, spec.image_size, spec.image_size})}).toTensor();
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 5})) << arch;
  }
}

TEST(Models, TheThreeDimensionalCnnTakesVolumes) {
  ModelSpec spec;
  spec.arch = "cnn3d";
  spec.num_classes = 3;
  spec.image_size = 28;
  spec.image_depth = 20;
  spec.cnn_width = 8;
  torch::jit::Module m = build_model(spec, 1);
  m.eval();
  at::Tensor out = m.forward({at::randn({2, 1, 20, 28, 28})}).toTensor();
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(m.attr("stem_w").toTensor().dim(), 5);
  // trains: one step lowers the loss on a fixed batch
  m.train();
  at::Tensor x = at::randn({4, 1, 20, 28, 28}), y = at::tensor({0, 1, 2, 0}, at::kLong);
  std::vector<at::Tensor> params;
  for (const auto& p : m.parameters()) params.push_back(p.set_requires_grad(true));
  auto loss_of = [&] { return at::cross_entropy_loss(m.forward({x}).toTensor(), y); };
  at::Tensor before = loss_of();
  before.backward();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : params) p.sub_(0.05 * p.grad());
  }
  EXPECT_LT(loss_of().item<double>(), before.item<double>());
}

TEST(Models, AlexnetHasTorchvisionsParameterCount) {
  ModelSpec spec;
  spec.arch = "alexnet";
  spec.in_channels = 3;
  spec.num_classes = 1000;
  spec.image_size = 224;
  torch::jit::Module m = build_model(spec, 1);
  EXPECT_EQ(parameter_count(m), 61100840);  // torchvision.models.alexnet()
}

TEST(Models, SameSeedSameWeights) {
  ModelSpec spec;
  torch::jit::Module a = build_model(spec, 3), b = build_model(spec, 3), c = build_model(spec, 4);
  EXPECT_TRUE(a.attr("fc_weight").toTensor().equal(b.attr("fc_weight").toTensor()));
  EXPECT_FALSE(a.attr("fc_weight").toTensor().equal(c.attr("fc_weight").toTensor()));
}

TEST(Models, SavedModuleLoadsAndGivesTheSameOutput) {
  ModelSpec spec;
  spec.image_size = 32;
  torch::jit::Module m = build_model(spec, 1);
  m.eval();
  fs::path path = fs::temp_directory_path() / "medpipe_models_test.pt";
  save_module(m, path.string());
  torch::jit::Module back = torch::jit::load(path.string());
  at::Tensor x = at::randn({3, 1, 32, 32});
  EXPECT_TRUE(m.forward({x}).toTensor().allclose(back.forward({x}).toTensor()));
  fs::remove(path);
}

TEST(Models, Last3OnlyForAlexnet) {
  ModelSpec spec;
  spec.arch = "cnn";
  EXPECT_THROW(last3_parameter_names(spec), UsageError);
  spec.arch = "alexnet";
  EXPECT_EQ(last3_parameter_names(spec).size(), 6u);
}

}  // namespace
}  // namespace medpipe
