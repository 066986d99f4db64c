// A 2D U-Net (Ronneberger et al. 2015) with batch norm: `unet_depth` levels of two 3x3
// conv-BN-ReLU down and up, 2x2 max-pooling, 2x2 transposed convolutions, skip connections by
// concatenation, a 1x1 convolution to per-pixel class logits. Padded convolutions: the output
// has the input's size (a multiple of 2^depth). unet3d is the same network in 3D (Cicek et al.
// 2016, as nnU-Net's 3d_fullres): 3x3x3 convolutions, 2x2x2 pooling and up-convolutions.
#include "core/error.h"
#include "models/models.h"
#include "models/script_builder.h"

namespace medpipe {

namespace {

int level_width(const ModelSpec& s, int level) {
  return std::min(256, s.unet_width << level);
}

// Two conv-BN-ReLU layers named <name>a, <name>b, from `in` to `out` channels.
std::string double_conv(ScriptBuilder& b, const std::string& x, const std::string& name, int in,
                        int out, int dims) {
  b.conv_bn(name + "a", in, out, 3, dims);
  b.conv_bn(name + "b", out, out, 3, dims);
  return "torch.relu(" +
         ScriptBuilder::cbn("torch.relu(" + ScriptBuilder::cbn(x, name + "a", 1, 1) + ")",
                            name + "b", 1, 1) +
         ")";
}

}  // namespace

void define_unet(torch::jit::Module& m, const ModelSpec& s, ScriptBuilder& b) {
  if (s.unet_depth < 1 || s.unet_depth > 6 || s.unet_width < 1) {
    throw UsageError("unet_depth must be 1..6 and unet_width >= 1 (they are " +
                     std::to_string(s.unet_depth) + ", " + std::to_string(s.unet_width) + ")");
  }
  const int dims = s.arch == "unet3d" ? 3 : 2;
  const std::string nd = std::to_string(dims) + "d(", two = dims == 3 ? "[2, 2, 2]" : "[2, 2]";
  b.conv_bn_helper(s.sync_batch_norm, dims);
  b.code << "\ndef forward(self, x):\n";
  std::string h = "x";
  int in = s.in_channels;
  for (int level = 0; level < s.unet_depth; ++level) {
    std::string e = "e" + std::to_string(level);
    int out = level_width(s, level);
    b.code << "    " << e << " = "
           << double_conv(b, h, "enc" + std::to_string(level), in, out, dims) << "\n";
    h = "torch.max_pool" + nd + e + ", " + two + ", " + two + ")";
    in = out;
  }
  int bottom = level_width(s, s.unet_depth);
  b.code << "    h = " << double_conv(b, h, "bottom", in, bottom, dims) << "\n";
  in = bottom;
  for (int level = s.unet_depth - 1; level >= 0; --level) {
    std::string up = "up" + std::to_string(level);
    int out = level_width(s, level);
    b.conv_transpose(up, in, out, 2, dims);
    b.code << "    h = torch.conv_transpose" << nd << "h, self." << up << "_weight, self." << up
           << "_bias, " << two << ")\n"
           << "    h = torch.cat([e" << level << ", h], 1)\n"
           << "    h = " << double_conv(b, "h", "dec" + std::to_string(level), 2 * out, out, dims)
           << "\n";
    in = out;
  }
  b.conv("head", in, s.num_classes, 1, true, dims);
  b.code << "    return torch.conv" << nd << "h, self.head_weight, self.head_bias)\n";
}

}  // namespace medpipe
