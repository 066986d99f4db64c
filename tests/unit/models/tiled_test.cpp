#include "models/tiled.h"

#include <gtest/gtest.h>

namespace medpipe {
namespace {

TEST(Tiled, OriginsCoverTheImage) {
  EXPECT_EQ(tile_origins(100, 128, 0.5), (std::vector<int>{0}));
  EXPECT_EQ(tile_origins(128, 128, 0.5), (std::vector<int>{0}));
  EXPECT_EQ(tile_origins(512, 128, 0.5), (std::vector<int>{0, 64, 128, 192, 256, 320, 384}));
  std::vector<int> odd = tile_origins(300, 128, 0.5);
  EXPECT_EQ(odd.front(), 0);
  EXPECT_EQ(odd.back(), 300 - 128);
}

// A per-pixel network (a 1x1 convolution): tiling and blending must give exactly what the
// whole image gives, whatever the tile layout.
TEST(Tiled, PerPixelNetworkIsTilingInvariant) {
  torch::jit::Module m("PerPixel");
  m.register_parameter("w", torch::tensor({1.0f, -2.0f}).reshape({2, 1, 1, 1}), false);
  m.define("def forward(self, x):\n    return torch.conv2d(x, self.w)\n");
  const int h = 37, w = 53;
  at::Tensor image = at::randn({1, 1, h, w});
  at::Tensor whole = at::softmax(m.forward({image}).toTensor(), 1).contiguous();
  TileSettings tiles{16, 0.5, 3, true};
  std::vector<float> probs = predict_slice_tiled(m, image.data_ptr<float>(), 1, h, w, 2, tiles);
  const float* expected = whole.data_ptr<float>();
  for (std::size_t i = 0; i < probs.size(); ++i) ASSERT_NEAR(probs[i], expected[i], 1e-5) << i;
  std::vector<std::uint8_t> labels = argmax_classes(probs, 2);
  for (int i = 0; i < h * w; ++i) EXPECT_EQ(labels[i], expected[h * w + i] > expected[i]);
}

TEST(Tiled, UnetKeepsTheInputSize) {
  ModelSpec spec;
  spec.arch = "unet";
  spec.num_classes = 3;
  spec.unet_depth = 3;
  spec.unet_width = 4;
  torch::jit::Module m = build_model(spec, 1);
  m.eval();
  at::Tensor out = m.forward({at::randn({2, 1, 32, 48})}).toTensor();
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 32, 48}));
}

// The same in 3D: a per-voxel network over a [D][C][H][W] volume, tiled along every axis with
// the mirror pass, labels the voxels as the whole volume does.
TEST(Tiled, PerVoxelNetworkIsTilingInvariantIn3d) {
  torch::jit::Module m("PerVoxel");
  m.register_parameter("w", torch::tensor({1.0f, -2.0f}).reshape({2, 1, 1, 1, 1}), false);
  m.define("def forward(self, x):\n    return torch.conv3d(x, self.w)\n");
  const int d = 19, h = 23, w = 30;
  at::Tensor volume = at::randn({1, 1, d, h, w});
  at::Tensor whole = m.forward({volume}).toTensor().contiguous();
  TileSettings tiles{8, 0.5, 3, true, 8};
  const std::vector<std::uint8_t> labels =
      segment_volume_tiled(m, volume.data_ptr<float>(), 1, d, h, w, 2, tiles);
  const float* logits = whole.data_ptr<float>();
  const int n = d * h * w;
  for (int i = 0; i < n; ++i) ASSERT_EQ(labels[i], logits[n + i] > logits[i]) << i;
}

TEST(Tiled, Unet3dKeepsTheVolumesSize) {
  ModelSpec spec;
  spec.arch = "unet3d";
  spec.num_classes = 2;
  spec.unet_depth = 2;
  spec.unet_width = 4;
  torch::jit::Module m = build_model(spec, 1);
  m.eval();
  at::Tensor out = m.forward({at::randn({1, 1, 8, 16, 12})}).toTensor();
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 2, 8, 16, 12}));
}

}  // namespace
}  // namespace medpipe
