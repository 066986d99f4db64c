// models/script_builder.h (internal to models/): registers parameters on a TorchScript module
// and writes the code that uses them, so each network is a few readable lines of TorchScript.
#pragma once
#include <torch/script.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "models/sync_batch_norm.h"

namespace medpipe {

// Registers parameters on a module and writes the TorchScript that uses them.
class ScriptBuilder {
 public:
  explicit ScriptBuilder(torch::jit::Module& module) : module_(module) {}

  // PyTorch's default for nn.Linear / nn.Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  void linear(const std::string& name, int in, int out) {
    double bound = 1.0 / std::sqrt(static_cast<double>(in));
    param(name + "_weight", torch::rand({out, in}) * (2 * bound) - bound);
    param(name + "_bias", torch::rand({out}) * (2 * bound) - bound);
  }
  // nn.Conv2d's default (nn.Conv3d's where `spatial_dims` is 3).
  void conv(const std::string& name, int in, int out, int k, bool bias, int spatial_dims = 2) {
    double bound = 1.0 / std::sqrt(in * std::pow(k, spatial_dims));
    std::vector<long> shape = {out, in, k, k};
    if (spatial_dims == 3) shape.push_back(k);
    param(name + "_weight", torch::rand(shape) * (2 * bound) - bound);
    if (bias) param(name + "_bias", torch::rand({out}) * (2 * bound) - bound);
  }
  // nn.ConvTranspose2d's default: weight [in, out, k, k], fan_in = out * k * k (3D: k^3).
  void conv_transpose(const std::string& name, int in, int out, int k, int spatial_dims = 2) {
    double bound = 1.0 / std::sqrt(out * std::pow(k, spatial_dims));
    std::vector<long> shape = {in, out, k, k};
    if (spatial_dims == 3) shape.push_back(k);
    param(name + "_weight", torch::rand(shape) * (2 * bound) - bound);
    param(name + "_bias", torch::rand({out}) * (2 * bound) - bound);
  }
  // Conv without bias (kaiming normal, fan_out, as torchvision's ResNet) + batch norm; a k^3
  // kernel where `spatial_dims` is 3.
  void conv_bn(const std::string& name, int in, int out, int k, int spatial_dims = 2) {
    std::vector<long> shape = {out, in, k, k};
    if (spatial_dims == 3) shape.push_back(k);
    double std = std::sqrt(2.0 / (out * std::pow(k, spatial_dims)));
    param(name + "_w", torch::randn(shape) * std);
    param(name + "_g", torch::ones({out}));
    param(name + "_b", torch::zeros({out}));
    module_.register_buffer(name + "_rm", torch::zeros({out}));
    module_.register_buffer(name + "_rv", torch::ones({out}));
  }
  static std::string cbn(const std::string& x, const std::string& name, int stride, int pad) {
    std::ostringstream s;
    s << "self.cbn(" << x << ", self." << name << "_w, self." << name << "_g, self." << name
      << "_b, self." << name << "_rm, self." << name << "_rv, " << stride << ", " << pad << ")";
    return s.str();
  }
  // The conv + batch-norm helper `cbn` (2D or 3D convolutions) and its momentum attribute;
  // `synchronised`: batch-norm statistics over every data-parallel worker
  // (models/sync_batch_norm.h).
  void conv_bn_helper(bool synchronised, int spatial_dims = 2) {
    module_.register_attribute("bn_momentum", c10::FloatType::get(), 0.1);
    code << medpipe::conv_bn_helper(synchronised, spatial_dims);
  }
  std::ostringstream code;

 private:
  void param(const std::string& name, const torch::Tensor& value) {
    module_.register_parameter(name, value, false);
  }
  torch::jit::Module& module_;
};

// Dropout whose mask is a hash of (dropout_seed, the sample's row in the step's global batch,
// the element, the layer's salt) instead of a draw from LibTorch's one shared generator: the
// same sample gets the same mask whichever data-parallel worker (thread or rank) computes it,
// so N workers x b equals 1 x N*b, and concurrent workers stay bit-reproducible. The hash is
// SplitMix64's finaliser on int64 tensors (wrapping multiplies; >>> emulated by masking).
// Call register_dropout_state() on the module once.
inline void register_dropout_state(torch::jit::Module& module) {
  module.register_attribute("dropout_seed", c10::IntType::get(), 0);
  module.register_attribute("dropout_row", c10::IntType::get(), 0);
}
inline const char* kDropoutHelper = R"(
def hashed_dropout(self, h, p: float, salt: int):
    if not self.training or p <= 0.0:
        return h
    per_row = h.numel() // h.size(0)
    index = torch.arange(h.numel()) + (self.dropout_row * per_row + 1)
    z = index * -7046029254386353131 + (self.dropout_seed + salt * 1000003)
    z = z ^ ((z >> 30) & 17179869183)
    z = z * -4658895280553007687
    z = z ^ ((z >> 27) & 137438953471)
    z = z * -7723592293110705685
    z = z ^ ((z >> 31) & 8589934591)
    u = ((z >> 40) & 16777215).to(h.dtype) / 16777216.0
    keep = (u >= p).to(h.dtype).view(h.shape)
    return h * keep / (1.0 - p)
)";

// Network definitions (one file each), called by build_model.
struct ModelSpec;
void define_unet(torch::jit::Module& module, const ModelSpec& spec, ScriptBuilder& builder);

}  // namespace medpipe
