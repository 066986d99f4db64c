#include "models/tiled.h"

#include <algorithm>
#include <cmath>

#include "core/runtime.h"

namespace medpipe {

std::vector<int> tile_origins(int extent, int patch, double overlap) {
  if (extent <= patch) return {0};
  double step = std::max(1.0, patch * (1.0 - overlap));
  int n = static_cast<int>(std::ceil((extent - patch) / step)) + 1;
  std::vector<int> origins;
  for (int i = 0; i < n; ++i) {
    origins.push_back(
        static_cast<int>(std::lround(static_cast<double>(extent - patch) * i / (n - 1))));
  }
  return origins;
}

namespace {

// nnU-Net's importance map: a Gaussian of sigma patch/8 centred on the tile, peak 1, floor >0.
std::vector<float> gaussian_weights(int patch) {
  std::vector<float> w(static_cast<std::size_t>(patch) * patch);
  double sigma = patch / 8.0, centre = (patch - 1) / 2.0;
  for (int y = 0; y < patch; ++y)
    for (int x = 0; x < patch; ++x) {
      double d2 = (y - centre) * (y - centre) + (x - centre) * (x - centre);
      w[y * patch + x] = static_cast<float>(std::max(1e-3, std::exp(-d2 / (2 * sigma * sigma))));
    }
  return w;
}

struct Tile {
  int y, x;
};

// Class probabilities of a batch of tiles (2D or 3D), contiguous; with `mirror`, averaged with
// those of the tiles mirrored along x (their last axis).
at::Tensor tile_probabilities(torch::jit::Module& module, const at::Tensor& input, bool mirror) {
  at::Tensor probs = at::softmax(module.forward({input}).toTensor(), 1);
  if (mirror) {
    at::Tensor mirrored = module.forward({input.flip({-1})}).toTensor();
    probs = (probs + at::softmax(mirrored, 1).flip({-1})) * 0.5;
  }
  return probs.contiguous();
}

// Copies the tile at (y, x) into `out` ([C][P][P]), zero outside the image.
void cut_tile(const float* chw, int channels, int height, int width, int patch, Tile t,
              float* out) {
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < patch; ++y)
      for (int x = 0; x < patch; ++x) {
        int sy = t.y + y, sx = t.x + x;
        bool inside = sy < height && sx < width;
        out[(static_cast<std::size_t>(c) * patch + y) * patch + x] =
            inside ? chw[c * plane + static_cast<std::size_t>(sy) * width + sx] : 0.0f;
      }
}

}  // namespace

std::vector<float> predict_slice_tiled(torch::jit::Module& module, const float* chw, int channels,
                                       int height, int width, int num_classes,
                                       const TileSettings& s) {
  torch::NoGradGuard no_grad;
  module.eval();
  const int p = s.patch;
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  std::vector<float> sum(static_cast<std::size_t>(num_classes) * plane, 0.0f);
  std::vector<float> weight_sum(plane, 0.0f);
  const std::vector<float> weights = gaussian_weights(p);
  std::vector<Tile> tiles;
  for (int y : tile_origins(height, p, s.overlap))
    for (int x : tile_origins(width, p, s.overlap)) tiles.push_back({y, x});
  for (std::size_t first = 0; first < tiles.size(); first += s.batch) {
    std::size_t n = std::min<std::size_t>(s.batch, tiles.size() - first);
    at::Tensor input = at::empty({static_cast<long>(n), channels, p, p});
    for (std::size_t i = 0; i < n; ++i)
      cut_tile(chw, channels, height, width, p, tiles[first + i],
               input.data_ptr<float>() + i * channels * p * p);
    const at::Tensor probs = tile_probabilities(module, input, s.mirror);
    const float* pr = probs.data_ptr<float>();
    for (std::size_t i = 0; i < n; ++i) {
      Tile t = tiles[first + i];
      int h = std::min(p, height - t.y), w = std::min(p, width - t.x);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          float wt = weights[y * p + x];
          std::size_t dst = static_cast<std::size_t>(t.y + y) * width + (t.x + x);
          weight_sum[dst] += wt;
          for (int k = 0; k < num_classes; ++k)
            sum[k * plane + dst] += wt * pr[((i * num_classes + k) * p + y) * p + x];
        }
    }
  }
  for (int k = 0; k < num_classes; ++k)
    for (std::size_t i = 0; i < plane; ++i) sum[k * plane + i] /= weight_sum[i];
  return sum;
}

namespace {

// The 3D importance map: a Gaussian of sigma side/8 along each axis, peak 1, floor 1e-3.
std::vector<float> gaussian_weights_3d(int depth, int side) {
  auto axis = [](int n) {
    std::vector<double> w(n);
    const double sigma = n / 8.0, centre = (n - 1) / 2.0;
    for (int i = 0; i < n; ++i) w[i] = std::exp(-(i - centre) * (i - centre) / (2 * sigma * sigma));
    return w;
  };
  const std::vector<double> wz = axis(depth), wy = axis(side);
  std::vector<float> w(static_cast<std::size_t>(depth) * side * side);
  for (int z = 0; z < depth; ++z)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        w[(static_cast<std::size_t>(z) * side + y) * side + x] =
            static_cast<float>(std::max(1e-3, wz[z] * wy[y] * wy[x]));
  return w;
}

struct Tile3 {
  int z, y, x;
};

// Copies the tile at `t` of a [D][C][H][W] volume into `out` ([C][PD][P][P]), zero outside.
void cut_tile_3d(const float* dchw, int channels, int depth, int height, int width, int pd, int p,
                 Tile3 t, float* out) {
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  for (int c = 0; c < channels; ++c)
    for (int z = 0; z < pd; ++z)
      for (int y = 0; y < p; ++y) {
        float* row = out + ((static_cast<std::size_t>(c) * pd + z) * p + y) * p;
        const int sz = t.z + z, sy = t.y + y;
        const int inside = sz < depth && sy < height ? std::max(0, std::min(p, width - t.x)) : 0;
        const float* from = dchw + (static_cast<std::size_t>(sz) * channels + c) * plane +
                            static_cast<std::size_t>(sy) * width + t.x;
        if (inside) std::copy(from, from + inside, row);
        std::fill(row + inside, row + p, 0.0f);
      }
}

}  // namespace

std::vector<std::uint8_t> segment_volume_tiled(torch::jit::Module& module, const float* dchw,
                                               int channels, int depth, int height, int width,
                                               int num_classes, const TileSettings& s) {
  torch::NoGradGuard no_grad;
  module.eval();
  const int p = s.patch, pd = s.patch_depth;
  const std::size_t voxels = static_cast<std::size_t>(depth) * height * width;
  // the classes' weighted sums: a voxel's weights are the same for every class, so the argmax
  // needs no division by them (and no volume of weight sums)
  std::vector<float> sum(static_cast<std::size_t>(num_classes) * voxels, 0.0f);
  const std::vector<float> weights = gaussian_weights_3d(pd, p);
  std::vector<Tile3> tiles;
  for (int z : tile_origins(depth, pd, s.overlap))
    for (int y : tile_origins(height, p, s.overlap))
      for (int x : tile_origins(width, p, s.overlap)) tiles.push_back({z, y, x});
  const std::size_t tile_values = static_cast<std::size_t>(pd) * p * p;
  for (std::size_t first = 0; first < tiles.size(); first += s.batch) {
    throw_if_stopped();  // a large volume is minutes of tiles: SIGTERM stops between batches
    const std::size_t n = std::min<std::size_t>(s.batch, tiles.size() - first);
    at::Tensor input = at::empty({static_cast<long>(n), channels, pd, p, p});
    for (std::size_t i = 0; i < n; ++i)
      cut_tile_3d(dchw, channels, depth, height, width, pd, p, tiles[first + i],
                  input.data_ptr<float>() + i * channels * tile_values);
    const at::Tensor probs = tile_probabilities(module, input, s.mirror);
    const float* pr = probs.data_ptr<float>();
    for (std::size_t i = 0; i < n; ++i) {
      const Tile3 t = tiles[first + i];
      const int d = std::min(pd, depth - t.z), h = std::min(p, height - t.y),
                w = std::min(p, width - t.x);
      for (int z = 0; z < d; ++z)
        for (int y = 0; y < h; ++y) {
          const std::size_t at = (static_cast<std::size_t>(z) * p + y) * p;
          const std::size_t dst =
              (static_cast<std::size_t>(t.z + z) * height + t.y + y) * width + t.x;
          for (int k = 0; k < num_classes; ++k) {
            const float* from = pr + (i * num_classes + k) * tile_values + at;
            float* to = sum.data() + k * voxels + dst;
            for (int x = 0; x < w; ++x) to[x] += weights[at + x] * from[x];
          }
        }
    }
  }
  return argmax_classes(sum, num_classes);
}

std::vector<std::uint8_t> argmax_classes(const std::vector<float>& probabilities, int num_classes) {
  const std::size_t plane = probabilities.size() / num_classes;
  std::vector<std::uint8_t> labels(plane, 0);
  for (std::size_t i = 0; i < plane; ++i) {
    float best = probabilities[i];
    for (int k = 1; k < num_classes; ++k) {
      if (probabilities[k * plane + i] > best) {
        best = probabilities[k * plane + i];
        labels[i] = static_cast<std::uint8_t>(k);
      }
    }
  }
  return labels;
}

}  // namespace medpipe
