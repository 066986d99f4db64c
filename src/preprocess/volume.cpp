#include "preprocess/volume.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace medpipe {

namespace {

// Input taps of each output along one axis: output o is centred at input coordinate
// (o + 0.5) * step - 0.5 (step = in / out) and weighs inputs with a triangle of half-width
// max(1, step), clamped to the edge, its weights summing to 1.
struct AxisTaps {
  std::vector<int> first;  // per output, into index
  std::vector<int> count;
  std::vector<int> index;
  std::vector<float> weight;
};

AxisTaps axis_taps(int in, int out, int first_out, int count_out) {
  AxisTaps taps;
  const double step = static_cast<double>(in) / out, half = std::max(1.0, step);
  for (int o = first_out; o < first_out + count_out; ++o) {
    const double centre = (o + 0.5) * step - 0.5;
    const int lo = static_cast<int>(std::ceil(centre - half)),
              hi = static_cast<int>(std::floor(centre + half));
    taps.first.push_back(static_cast<int>(taps.index.size()));
    double total = 0;
    const std::size_t start = taps.weight.size();
    for (int i = lo; i <= hi; ++i) {
      const double w = 1.0 - std::abs(i - centre) / half;
      if (w <= 0) continue;
      taps.index.push_back(std::clamp(i, 0, in - 1));
      taps.weight.push_back(static_cast<float>(w));
      total += w;
    }
    for (std::size_t k = start; k < taps.weight.size(); ++k)
      taps.weight[k] = static_cast<float>(taps.weight[k] / total);
    taps.count.push_back(static_cast<int>(taps.weight.size() - start));
  }
  return taps;
}

// Resamples `src` ([outer][n_in][inner] floats) along its middle axis to n_out, keeping only the
// outputs [first_out, first_out + count_out) (all by default).
std::vector<float> resample_axis(const std::vector<float>& src, std::size_t outer, int n_in,
                                 std::size_t inner, int n_out, int first_out = 0,
                                 int count_out = -1) {
  if (count_out < 0) count_out = n_out;
  if (n_in == n_out && count_out == n_out) return src;
  const AxisTaps taps = axis_taps(n_in, n_out, first_out, count_out);
  std::vector<float> dst(outer * count_out * inner, 0.0f);
  for (std::size_t a = 0; a < outer; ++a) {
    const float* in = src.data() + a * n_in * inner;
    float* out = dst.data() + a * count_out * inner;
    for (int o = 0; o < count_out; ++o) {
      float* row = out + o * inner;
      for (int k = 0; k < taps.count[o]; ++k) {
        const float w = taps.weight[taps.first[o] + k];
        const float* from = in + static_cast<std::size_t>(taps.index[taps.first[o] + k]) * inner;
        for (std::size_t i = 0; i < inner; ++i) row[i] += w * from[i];
      }
    }
  }
  return dst;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

bool spacings_differ(const std::vector<Image>& headers) {
  for (const Image& h : headers) {
    for (int a = 0; a < 3; ++a) {
      const double ref = headers[0].spacing_mm[a];
      if (!h.spacing_known || std::abs(h.spacing_mm[a] - ref) > 0.01 * ref) return true;
    }
  }
  return false;
}

// The centre `depth` x `size` x `size` box of `volume`, padded with its minimum where smaller.
std::vector<float> centre_box(const Image& volume, int depth, int size) {
  const int c = volume.channels;
  const float fill =
      volume.pixels.empty() ? 0.0f : *std::min_element(volume.pixels.begin(), volume.pixels.end());
  std::vector<float> box(static_cast<std::size_t>(depth) * size * size * c, fill);
  const int dz = (volume.depth - depth) / 2, dy = (volume.height - size) / 2,
            dx = (volume.width - size) / 2;
  for (int z = 0; z < depth; ++z) {
    const int sz = z + dz;
    if (sz < 0 || sz >= volume.depth) continue;
    for (int y = 0; y < size; ++y) {
      const int sy = y + dy;
      if (sy < 0 || sy >= volume.height) continue;
      for (int x = 0; x < size; ++x) {
        const int sx = x + dx;
        if (sx < 0 || sx >= volume.width) continue;
        for (int k = 0; k < c; ++k)
          box[((static_cast<std::size_t>(z) * size + y) * size + x) * c + k] =
              volume.at(sz, sy, sx, k);
      }
    }
  }
  return box;
}

// The centre `box` (x, y, z) of `volume` resampled to `sizes` voxels (x, y, z), computing only
// that box where the resampled volume is larger: memory bounded by the box, whatever the
// spacings. Where it is smaller, all of it (centre_box then pads).
Image resample_centre(const Image& volume, const std::array<int, 3>& sizes,
                      const std::array<int, 3>& box) {
  std::array<int, 3> first{}, count{};
  for (int a = 0; a < 3; ++a) {
    count[a] = std::min(sizes[a], box[a]);
    first[a] = (sizes[a] - count[a]) / 2;
  }
  Image out = volume;
  const std::size_t c = volume.channels;
  out.pixels = resample_axis(volume.pixels, static_cast<std::size_t>(volume.depth) * volume.height,
                             volume.width, c, sizes[0], first[0], count[0]);
  out.pixels = resample_axis(out.pixels, volume.depth, volume.height, count[0] * c, sizes[1],
                             first[1], count[1]);
  out.pixels =
      resample_axis(out.pixels, 1, volume.depth, static_cast<std::size_t>(count[1]) * count[0] * c,
                    sizes[2], first[2], count[2]);
  out.width = count[0];
  out.height = count[1];
  out.depth = count[2];
  return out;
}

}  // namespace

Image resample_volume(const Image& volume, int depth, int height, int width) {
  Image out = volume;
  const std::size_t c = volume.channels;
  out.pixels = resample_axis(volume.pixels, static_cast<std::size_t>(volume.depth) * volume.height,
                             volume.width, c, width);
  out.pixels = resample_axis(out.pixels, volume.depth, volume.height, width * c, height);
  out.pixels = resample_axis(out.pixels, 1, volume.depth,
                             static_cast<std::size_t>(height) * width * c, depth);
  out.depth = depth;
  out.height = height;
  out.width = width;
  out.spacing_mm = {volume.spacing_mm[0] * volume.width / width,
                    volume.spacing_mm[1] * volume.height / height,
                    volume.spacing_mm[2] * volume.depth / depth};
  return out;
}

VolumeGrid choose_volume_grid(const std::vector<Image>& headers, int max_side) {
  VolumeGrid grid;
  if (headers.empty()) return grid;
  std::vector<double> depths, sides;
  if (!spacings_differ(headers)) {
    for (const Image& h : headers) {
      depths.push_back(h.depth);
      sides.push_back(std::max(h.height, h.width));
    }
    grid.depth_px = std::min(max_side, static_cast<int>(std::lround(median(depths))));
    grid.size_px = std::min(max_side, static_cast<int>(std::lround(median(sides))));
    return grid;
  }
  std::array<double, 3> spacing{};
  for (int a = 0; a < 3; ++a) {
    std::vector<double> values;
    for (const Image& h : headers) values.push_back(h.spacing_mm[a]);
    spacing[a] = median(values);
  }
  // the median field of view in millimetres, then the spacing that fits it into max_side
  for (const Image& h : headers) {
    depths.push_back(h.depth * h.spacing_mm[2]);
    sides.push_back(std::max(h.height * h.spacing_mm[1], h.width * h.spacing_mm[0]));
  }
  const double depth_mm = median(depths), side_mm = median(sides);
  const double coarsen = std::max({1.0, side_mm / std::min(spacing[0], spacing[1]) / max_side,
                                   depth_mm / spacing[2] / max_side});
  for (double& s : spacing) s *= coarsen;
  grid.spacing_mm = spacing;
  grid.size_px = std::clamp(
      static_cast<int>(std::lround(side_mm / std::min(spacing[0], spacing[1]))), 1, max_side);
  grid.depth_px = std::clamp(static_cast<int>(std::lround(depth_mm / spacing[2])), 1, max_side);
  return grid;
}

Result<std::vector<float>> volume_to_input(const Image& volume, const PreprocessSpec& spec) {
  using R = Result<std::vector<float>>;
  if (volume.depth < 2)
    return R::failure("a 2D image; this model takes volumes (" + std::to_string(spec.depth_px) +
                      " slices)");
  const Image converted = convert_channels(volume, spec.channels);
  const bool resample = spec.spacing_mm[0] > 0;
  if (resample && !volume.spacing_known)
    return R::failure(
        "a volume without a known voxel spacing; the others are resampled to a "
        "common spacing");
  int depth = spec.depth_px, height = spec.size_px, width = spec.size_px;
  if (resample) {  // to the common spacing: the box is then cut from the centre
    auto voxels = [](int n, double from, double to) {
      return std::max(1, static_cast<int>(std::lround(n * from / to)));
    };
    depth = voxels(volume.depth, volume.spacing_mm[2], spec.spacing_mm[2]);
    height = voxels(volume.height, volume.spacing_mm[1], spec.spacing_mm[1]);
    width = voxels(volume.width, volume.spacing_mm[0], spec.spacing_mm[0]);
  } else if (spec.resize == "pad") {  // one scale for every axis, then padded to the box
    const double scale = std::min({static_cast<double>(spec.depth_px) / volume.depth,
                                   static_cast<double>(spec.size_px) / volume.height,
                                   static_cast<double>(spec.size_px) / volume.width});
    depth = std::max(1, static_cast<int>(std::lround(volume.depth * scale)));
    height = std::max(1, static_cast<int>(std::lround(volume.height * scale)));
    width = std::max(1, static_cast<int>(std::lround(volume.width * scale)));
  }
  const Image grid = resample_centre(converted, {width, height, depth},
                                     {spec.size_px, spec.size_px, spec.depth_px});
  const std::vector<float> box = centre_box(grid, spec.depth_px, spec.size_px);
  // DHWC -> CDHW
  const std::size_t voxels = static_cast<std::size_t>(spec.depth_px) * spec.size_px * spec.size_px;
  std::vector<float> cdhw(voxels * spec.channels);
  for (std::size_t i = 0; i < voxels; ++i) {
    for (int k = 0; k < spec.channels; ++k) cdhw[k * voxels + i] = box[i * spec.channels + k];
  }
  return cdhw;
}

}  // namespace medpipe
