#include "models/models.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "models/script_builder.h"

namespace medpipe {

namespace {

// The attribute of a network built with sync_batch_norm: its spec and member (JSON), from which
// portable_module rebuilds it with LibTorch's batch norm.
constexpr const char* kSyncSpecAttribute = "sync_batch_norm_spec";

void define_mlp(torch::jit::Module& m, const ModelSpec& s, ScriptBuilder& b) {
  int in = s.in_channels * s.image_size * s.image_size;
  b.linear("fc1", in, s.hidden_units);
  b.linear("fc2", s.hidden_units, s.num_classes);
  b.code << kDropoutHelper << "\ndef forward(self, x):\n"
         << "    h = torch." << (s.activation == "selu" ? "selu" : "relu")
         << "(torch.linear(torch.flatten(x, 1), self.fc1_weight, self.fc1_bias))\n"
         << "    h = self.hashed_dropout(h, " << std::showpoint << s.dropout << std::noshowpoint
         << ", 1)\n"
         << "    return torch.linear(h, self.fc2_weight, self.fc2_bias)\n";
}

// A small ResNet for 28-64 px: stem, three stages of `cnn_blocks` basic blocks (the first of
// each stage with stride 1, 2, 2). cnn3d is the same in 3D (k^3 kernels) for volumes, its
// stages starting with stride 2, 2, 2, so that the full-resolution volume sees the stem only.
void define_cnn(torch::jit::Module& m, const ModelSpec& s, ScriptBuilder& b) {
  const int w = s.cnn_width, dims = s.arch == "cnn3d" ? 3 : 2;
  b.conv_bn_helper(s.sync_batch_norm, dims);
  b.conv_bn("stem", s.in_channels, w, 3, dims);
  b.code << kDropoutHelper << "\ndef embed(self, x):\n"
         << "    h = torch.relu(" << ScriptBuilder::cbn("x", "stem", 1, 1) << ")\n";
  int in = w;
  for (int block = 0; block < 3 * s.cnn_blocks; ++block) {
    int stage = block / s.cnn_blocks;
    int out = w << stage;
    int stride = (stage > 0 || dims == 3) && block % s.cnn_blocks == 0 ? 2 : 1;
    std::string n = "s" + std::to_string(stage + 1) +
                    (block % s.cnn_blocks ? "_" + std::to_string(block % s.cnn_blocks) : "");
    b.conv_bn(n + "a", in, out, 3, dims);
    b.conv_bn(n + "b", out, out, 3, dims);
    b.code << "    y = torch.relu(" << ScriptBuilder::cbn("h", n + "a", stride, 1) << ")\n"
           << "    y = " << ScriptBuilder::cbn("y", n + "b", 1, 1) << "\n";
    if (stride != 1 || in != out) {
      b.conv_bn(n + "d", in, out, 1, dims);
      b.code << "    h = torch.relu(y + " << ScriptBuilder::cbn("h", n + "d", stride, 0) << ")\n";
    } else {
      b.code << "    h = torch.relu(y + h)\n";
    }
    in = out;
  }
  b.linear("fc", in, s.num_classes);
  b.code << "    return torch.mean(h, " << (dims == 3 ? "[2, 3, 4]" : "[2, 3]") << ")\n"
         << "\ndef forward(self, x):\n    h = self.embed(x)\n"
         << "    h = self.hashed_dropout(h, " << std::showpoint << s.dropout << std::noshowpoint
         << ", 1)\n"
         << "    return torch.linear(h, self.fc_weight, self.fc_bias)\n";
  if (s.projection_dim <= 0) return;
  b.linear("proj1", in, in);
  b.linear("proj2", in, s.projection_dim);
  b.code << "\ndef project(self, x):\n"
         << "    h = torch.relu(torch.linear(self.embed(x), self.proj1_weight, self.proj1_bias))\n"
         << "    return torch.linear(h, self.proj2_weight, self.proj2_bias)\n";
}

// torchvision.models.alexnet: features (5 convs), avgpool (6x6), classifier (3 linears).
void define_alexnet(torch::jit::Module& m, const ModelSpec& s, ScriptBuilder& b) {
  struct Conv {
    int index, in, out, k, stride, pad;
    bool pool;
  };
  const Conv convs[] = {{0, s.in_channels, 64, 11, 4, 2, true},
                        {3, 64, 192, 5, 1, 2, true},
                        {6, 192, 384, 3, 1, 1, false},
                        {8, 384, 256, 3, 1, 1, false},
                        {10, 256, 256, 3, 1, 1, true}};
  b.code << kDropoutHelper << "\ndef embed(self, x):\n    h = x\n";
  for (const Conv& c : convs) {
    std::string n = "features_" + std::to_string(c.index);
    b.conv(n, c.in, c.out, c.k, true);
    b.code << "    h = torch.relu(torch.conv2d(h, self." << n << "_weight, self." << n << "_bias, ["
           << c.stride << ", " << c.stride << "], [" << c.pad << ", " << c.pad << "]))\n";
    if (c.pool) b.code << "    h = torch.max_pool2d(h, [3, 3], [2, 2])\n";
  }
  b.linear("classifier_1", 256 * 6 * 6, 4096);
  b.linear("classifier_4", 4096, 4096);
  b.linear("classifier_6", 4096, s.num_classes);
  b.code
      << "    h = torch.flatten(torch.adaptive_avg_pool2d(h, [6, 6]), 1)\n"
      << "    h = self.hashed_dropout(h, 0.5, 1)\n"
      << "    h = torch.relu(torch.linear(h, self.classifier_1_weight, self.classifier_1_bias))\n"
      << "    h = self.hashed_dropout(h, 0.5, 2)\n"
      << "    return torch.relu(torch.linear(h, self.classifier_4_weight, "
         "self.classifier_4_bias))\n"
      << "\ndef forward(self, x):\n"
      << "    return torch.linear(self.embed(x), self.classifier_6_weight, "
         "self.classifier_6_bias)\n";
}

}  // namespace

nlohmann::json model_spec_to_json(const ModelSpec& s) {
  return {{"arch", s.arch},
          {"in_channels", s.in_channels},
          {"num_classes", s.num_classes},
          {"image_size", s.image_size},
          {"image_depth", s.image_depth},
          {"hidden_units", s.hidden_units},
          {"activation", s.activation},
          {"cnn_width", s.cnn_width},
          {"cnn_blocks", s.cnn_blocks},
          {"dropout", s.dropout},
          {"unet_depth", s.unet_depth},
          {"unet_width", s.unet_width},
          {"projection_dim", s.projection_dim}};
}

ModelSpec model_spec_from_json(const nlohmann::json& j) {
  ModelSpec s;
  s.arch = j.at("arch").get<std::string>();
  s.in_channels = j.at("in_channels").get<int>();
  s.num_classes = j.at("num_classes").get<int>();
  s.image_size = j.at("image_size").get<int>();
  s.image_depth = j.value("image_depth", 0);
  s.hidden_units = j.value("hidden_units", 256);
  s.activation = j.value("activation", "relu");
  s.cnn_width = j.value("cnn_width", 32);
  s.cnn_blocks = j.value("cnn_blocks", 1);
  s.dropout = j.value("dropout", 0.2);
  s.unet_depth = j.value("unet_depth", 4);
  s.unet_width = j.value("unet_width", 16);
  s.projection_dim = j.value("projection_dim", 0);
  return s;
}

bool has_batch_norm(const ModelSpec& spec) {
  return spec.arch == "cnn" || spec.arch == "cnn3d" || spec.arch == "unet" || spec.arch == "unet3d";
}

torch::jit::Module build_model(const ModelSpec& given, std::uint64_t seed, int member) {
  ModelSpec spec = given;
  spec.sync_batch_norm = spec.sync_batch_norm && has_batch_norm(spec);
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  torch::jit::Module module("MedpipeNet_" + spec.arch +
                            (member > 0 ? "_member" + std::to_string(member) : ""));
  module.register_attribute("training", c10::BoolType::get(), true);
  register_dropout_state(module);
  ScriptBuilder builder(module);
  if (spec.arch == "mlp") {
    define_mlp(module, spec, builder);
  } else if (spec.arch == "cnn" || spec.arch == "cnn3d") {
    define_cnn(module, spec, builder);
  } else if (spec.arch == "alexnet") {
    if (spec.image_size < 63) {
      throw UsageError("arch alexnet needs image_size >= 63 (it is " +
                       std::to_string(spec.image_size) + "); use 224 or arch cnn");
    }
    define_alexnet(module, spec, builder);
  } else if (spec.arch == "unet" || spec.arch == "unet3d") {
    define_unet(module, spec, builder);
  } else {
    throw UsageError("unknown arch '" + spec.arch +
                     "'; use mlp, cnn, cnn3d, alexnet, unet or unet3d");
  }
  define_network(module, builder.code.str());
  if (spec.sync_batch_norm) {
    nlohmann::json twin = model_spec_to_json(spec);
    twin["member"] = member;
    module.register_attribute(kSyncSpecAttribute, c10::StringType::get(), twin.dump());
  }
  return module;
}

bool synchronises_batch_norm(const torch::jit::Module& module) {
  return module.hasattr(kSyncSpecAttribute);
}

torch::jit::Module portable_module(const torch::jit::Module& module) {
  if (!synchronises_batch_norm(module)) return module;
  const auto twin = nlohmann::json::parse(module.attr(kSyncSpecAttribute).toStringRef());
  // the twin's random initialisation is overwritten: the global generator is left as it was
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  at::Tensor state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    state = generator.get_state();
  }
  torch::jit::Module plain = build_model(model_spec_from_json(twin), 0, twin["member"].get<int>());
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }
  torch::NoGradGuard no_grad;
  for (const auto& p : module.named_parameters(true)) plain.attr(p.name).toTensor().copy_(p.value);
  for (const auto& b : module.named_buffers(true)) plain.attr(b.name).toTensor().copy_(b.value);
  if (module.is_training())
    plain.train();
  else
    plain.eval();
  return plain;
}

torch::jit::Module build_ensemble(const std::vector<torch::jit::Module>& members) {
  if (members.size() == 1) return members[0];
  torch::jit::Module ensemble("MedpipeEnsemble");
  ensemble.register_attribute("training", c10::BoolType::get(), false);
  std::ostringstream code;
  code << "def forward(self, x):\n";
  for (std::size_t i = 0; i < members.size(); ++i) {
    std::string name = "member_" + std::to_string(i);
    ensemble.register_module(name, members[i]);
    code << (i ? "    p = p + " : "    p = ") << "torch.softmax(self." << name
         << ".forward(x), 1)\n";
  }
  code << "    return torch.log(p / " << members.size() << ".0)\n";
  ensemble.define(code.str());
  ensemble.eval();
  return ensemble;
}

int embedding_width(const ModelSpec& spec) {
  if (spec.arch == "cnn" || spec.arch == "cnn3d") return 4 * spec.cnn_width;
  return spec.arch == "alexnet" ? 4096 : 0;
}

std::vector<std::string> last3_parameter_names(const ModelSpec& spec) {
  if (spec.arch != "alexnet") {
    throw UsageError(
        "finetune 'last3' re-trains alexnet's three fully-connected layers; arch is '" + spec.arch +
        "': use arch alexnet or finetune all");
  }
  return {"classifier_1_weight", "classifier_1_bias",   "classifier_4_weight",
          "classifier_4_bias",   "classifier_6_weight", "classifier_6_bias"};
}

void reinitialise_linear(torch::jit::Module& module, const std::string& weight_name,
                         const std::string& bias_name) {
  torch::NoGradGuard no_grad;
  at::Tensor w = module.attr(weight_name).toTensor();
  at::Tensor b = module.attr(bias_name).toTensor();
  double bound = 1.0 / std::sqrt(static_cast<double>(w.size(1)));
  w.uniform_(-bound, bound);
  b.uniform_(-bound, bound);
}

void configure_torch(int threads) {
  at::set_num_threads(threads);
  torch::jit::setGraphExecutorOptimize(false);
}

}  // namespace medpipe
