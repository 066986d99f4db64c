#include "preprocess/preprocess.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>

#include "io/image_io.h"
#include "preprocess/volume.h"

namespace medpipe {

nlohmann::json spec_to_json(const PreprocessSpec& spec) {
  return {{"channels", spec.channels},
          {"size_px", spec.size_px},
          {"resize", spec.resize},
          {"normalize", spec.normalize},
          {"window_level_hu", spec.window_level_hu},
          {"window_width_hu", spec.window_width_hu},
          {"depth_px", spec.depth_px},
          {"spacing_mm", spec.spacing_mm},
          {"layout", spec.volume() ? "NCDHW float32" : "NCHW float32"}};
}

PreprocessSpec spec_from_json(const nlohmann::json& json) {
  PreprocessSpec spec;
  spec.channels = json.at("channels").get<int>();
  spec.size_px = json.at("size_px").get<int>();
  spec.resize = json.at("resize").get<std::string>();
  spec.normalize = json.at("normalize").get<std::string>();
  spec.window_level_hu = json.value("window_level_hu", 40.0);
  spec.window_width_hu = json.value("window_width_hu", 400.0);
  spec.depth_px = json.value("depth_px", 0);
  spec.spacing_mm = json.value("spacing_mm", std::array<double, 3>{0, 0, 0});
  return spec;
}

Image convert_channels(const Image& image, int channels) {
  if (image.channels == channels) return image;
  Image out = image;
  out.channels = channels;
  out.pixels.resize(image.voxel_count() * static_cast<std::size_t>(channels));
  for (std::size_t i = 0; i < image.voxel_count(); ++i) {
    const float* src = &image.pixels[i * image.channels];
    float* dst = &out.pixels[i * channels];
    if (channels == 1) {
      dst[0] = image.channels >= 3 ? 0.299f * src[0] + 0.587f * src[1] + 0.114f * src[2] : src[0];
    } else {
      for (int c = 0; c < channels; ++c) dst[c] = src[std::min(c, image.channels - 1)];
    }
  }
  return out;
}

namespace {

// An area (box) resize along one axis, as OpenCV's INTER_AREA weighs it: output pixel o covers
// the input pixels [first[o], first[o] + taps), each by the fraction of it covered (slivers
// under 1e-3 dropped), divided by the cell's width. Every output has the same number of taps,
// the missing ones weighing 0 (and reaching past the row's end by up to `taps` pixels: the
// summed row is padded with zeros), so the inner loops have a fixed length.
struct AreaTaps {
  int taps = 1;
  std::vector<int> first;
  std::vector<float> weights;  // [out][taps]
};

AreaTaps area_taps(int in, int out) {
  AreaTaps axis;
  const double scale = static_cast<double>(in) / out;
  axis.taps = static_cast<int>(std::ceil(scale)) + 1;
  axis.first.assign(out, 0);
  axis.weights.assign(static_cast<std::size_t>(out) * axis.taps, 0.0f);
  for (int o = 0; o < out; ++o) {
    const double lo = o * scale, hi = lo + scale;
    const double cell = std::min(scale, in - lo);
    int used = 0;
    for (int i = static_cast<int>(std::floor(lo)); i < in && i < hi && used < axis.taps; ++i) {
      const double covered = std::min(hi, i + 1.0) - std::max(lo, static_cast<double>(i));
      if (covered <= 1e-3) continue;  // a sliver at either end
      if (used == 0) axis.first[o] = i;
      axis.weights[static_cast<std::size_t>(o) * axis.taps + used++] =
          static_cast<float>(covered / cell);
    }
  }
  return axis;
}

// GCC's target_clones("avx512f") and ("avx2") leave FMA off, and a multiply-add loop then runs
// at half the rate: the resize's loops are compiled three times by hand, FMA included, and
// picked once by the CPU's features. NAME##_body is the loop, always inlined into each copy.
enum class SimdLevel { kAvx512, kAvx2, kBaseline };
SimdLevel simd_level() {
  static const SimdLevel level = !__builtin_cpu_supports("fma")      ? SimdLevel::kBaseline
                                 : __builtin_cpu_supports("avx512f") ? SimdLevel::kAvx512
                                 : __builtin_cpu_supports("avx2")    ? SimdLevel::kAvx2
                                                                     : SimdLevel::kBaseline;
  return level;
}
#define MEDPIPE_FMA_VERSIONS(name, params, args)                              \
  __attribute__((target("avx512f,avx512vl,fma"))) void name##_avx512 params { \
    name##_body args;                                                         \
  }                                                                           \
  __attribute__((target("avx2,fma"))) void name##_avx2 params {               \
    name##_body args;                                                         \
  }                                                                           \
  void name##_baseline params {                                               \
    name##_body args;                                                         \
  }                                                                           \
  void name params {                                                          \
    switch (simd_level()) {                                                   \
      case SimdLevel::kAvx512:                                                \
        return name##_avx512 args;                                            \
      case SimdLevel::kAvx2:                                                  \
        return name##_avx2 args;                                              \
      default:                                                                \
        return name##_baseline args;                                          \
    }                                                                         \
  }

// row = (add ? row : 0) + weight * src over n values.
__attribute__((always_inline)) inline void scale_row_body(float* __restrict row,
                                                          const float* __restrict src, float weight,
                                                          std::size_t n, bool add) {
  if (add)
    for (std::size_t i = 0; i < n; ++i) row[i] += weight * src[i];
  else
    for (std::size_t i = 0; i < n; ++i) row[i] = weight * src[i];
}
MEDPIPE_FMA_VERSIONS(scale_row,
                     (float* __restrict row, const float* __restrict src, float weight,
                      std::size_t n, bool add),
                     (row, src, weight, n, add))

// Eight floats, lowered by the compiler to the vector registers of each clone's target. Eight
// and not sixteen: each input pixel reaches at most two outputs of a block, so a wider block
// multiplies more zeros (a 512 -> 224 row: 2.8 vector multiply-adds an output at 8 lanes, 4.6 at
// 16 lanes split in two halves, as GCC compiles them for AVX-512 too).
constexpr int kLanes = 8;
typedef float Lanes __attribute__((vector_size(4 * kLanes)));

// The column pass of a gray image in blocks of kLanes outputs: out[kLanes b + l] = sum over j of
// row[base[b] + j] * weights[start[b] + j][l], j over the span of inputs the block's taps cover
// (each output's own taps in order, zeros elsewhere): one broadcast multiply-add per input
// pixel and kLanes outputs, where a tap at a time is a scalar gather.
struct ColumnBlocks {
  std::vector<int> base, span;
  std::vector<std::size_t> start;
  std::vector<float> weights;  // [start[b] + j][kLanes]
};

ColumnBlocks column_blocks(const AreaTaps& cols, int out_w) {
  ColumnBlocks blocks;
  for (int first_x = 0; first_x < out_w; first_x += kLanes) {
    const int last_x = std::min(out_w, first_x + kLanes) - 1;
    const int base = cols.first[first_x], span = cols.first[last_x] + cols.taps - base;
    blocks.base.push_back(base);
    blocks.span.push_back(span);
    blocks.start.push_back(blocks.weights.size() / kLanes);
    blocks.weights.resize(blocks.weights.size() + kLanes * static_cast<std::size_t>(span), 0.0f);
    float* w = blocks.weights.data() + kLanes * blocks.start.back();
    for (int x = first_x; x <= last_x; ++x)
      for (int t = 0; t < cols.taps; ++t)
        w[(cols.first[x] - base + t) * kLanes + (x - first_x)] =
            cols.weights[static_cast<std::size_t>(x) * cols.taps + t];
  }
  return blocks;
}

// Four output rows at once from their four summed rows (rows[k], of `stride` floats each): each
// weight vector is loaded once for the four, and the four sums are independent chains.
__attribute__((always_inline)) inline void combine_column_blocks_body(const ColumnBlocks& blocks,
                                                                      const float* rows,
                                                                      std::size_t stride, int out_w,
                                                                      float* out, int out_rows) {
  for (std::size_t b = 0; b < blocks.base.size(); ++b) {
    const float* w = blocks.weights.data() + kLanes * blocks.start[b];
    const float* r = rows + blocks.base[b];
    Lanes sum[4] = {}, odd[4] = {};  // odd: the odd j, so that eight chains overlap
    const int span = blocks.span[b];
    int j = 0;
    for (; j + 2 <= span; j += 2) {
      Lanes weight, next;
      std::memcpy(&weight, w + kLanes * j, sizeof weight);
      std::memcpy(&next, w + kLanes * (j + 1), sizeof next);
      for (std::size_t k = 0; k < 4; ++k) {
        sum[k] += r[k * stride + j] * weight;
        odd[k] += r[k * stride + j + 1] * next;
      }
    }
    for (; j < span; ++j) {
      Lanes weight;
      std::memcpy(&weight, w + kLanes * j, sizeof weight);
      for (std::size_t k = 0; k < 4; ++k) sum[k] += r[k * stride + j] * weight;
    }
    for (std::size_t k = 0; k < 4; ++k) sum[k] += odd[k];
    const int first_x = static_cast<int>(b) * kLanes;
    const bool whole = first_x + kLanes <= out_w;  // a fixed-size store, not a call to memcpy
    const std::size_t bytes = sizeof(float) * std::min(kLanes, out_w - first_x);
    for (int k = 0; k < out_rows; ++k) {
      float* to = out + static_cast<std::size_t>(k) * out_w + first_x;
      if (whole)
        std::memcpy(to, &sum[k], sizeof(Lanes));
      else
        std::memcpy(to, &sum[k], bytes);
    }
  }
}
MEDPIPE_FMA_VERSIONS(combine_column_blocks,
                     (const ColumnBlocks& blocks, const float* rows, std::size_t stride, int out_w,
                      float* out, int out_rows),
                     (blocks, rows, stride, out_w, out, out_rows))
#undef MEDPIPE_FMA_VERSIONS

// One output row from the summed input row: out[x] = sum_t w[x][t] * row[first[x] + t].
template <int kChannels>
void combine_columns(const AreaTaps& cols, const float* row, int out_w, float* out,
                     int channels = kChannels) {
  const int taps = cols.taps;
  const int c = kChannels > 0 ? kChannels : channels;
  for (int x = 0; x < out_w; ++x) {
    const float* w = cols.weights.data() + static_cast<std::size_t>(x) * taps;
    const float* s = row + static_cast<std::size_t>(cols.first[x]) * c;
    for (int k = 0; k < c; ++k) {
      float v = 0;
      for (int t = 0; t < taps; ++t) v += w[t] * s[t * c + k];
      out[x * c + k] = v;
    }
  }
}

// Area downscale of an interleaved h x w x c image to out_h x out_w, separably: each output row
// is first the weighted sum of the input rows it covers (contiguous, vectorised), then each
// output pixel the weighted sum of that row's columns. One pass over the input, no copies. The
// input rows come from `rows_at(first, count)`: a pointer to `count` contiguous rows from row
// `first` (asked for in increasing order), or null when they cannot be read (then false).
template <class RowsAt>
bool area_downscale(RowsAt&& rows_at, int h, int w, int c, int out_h, int out_w, float* dst) {
  // the same sizes come again and again (a folder of slices): keep this thread's last taps
  thread_local std::array<int, 4> sizes{-1, -1, -1, -1};
  thread_local AreaTaps rows, cols;
  thread_local ColumnBlocks blocks;
  if (sizes != std::array<int, 4>{h, out_h, w, out_w}) {
    rows = area_taps(h, out_h);
    cols = area_taps(w, out_w);
    blocks = column_blocks(cols, out_w);
    sizes = {h, out_h, w, out_w};
  }
  const std::size_t row_values = static_cast<std::size_t>(w) * c;
  const std::size_t stride = row_values + static_cast<std::size_t>(cols.taps) * c;
  // the input rows output rows [y, y + n) cover, from row rows.first[y]
  auto input_for = [&](int y, int n) {
    const int first = rows.first[y], last = std::min(h, rows.first[y + n - 1] + rows.taps);
    return std::pair{rows_at(first, last - first), first};
  };
  auto sum_rows = [&](int y, const float* input, int input_first, float* row) {
    bool add = false;  // the first tap sets the row, the others add to it
    for (int t = 0; t < rows.taps; ++t) {
      const float weight = rows.weights[static_cast<std::size_t>(y) * rows.taps + t];
      const std::size_t at = static_cast<std::size_t>(rows.first[y] + t - input_first);
      if (weight != 0.0f) scale_row(row, input + at * row_values, weight, row_values, add);
      add = add || weight != 0.0f;
    }
    if (!add) std::fill(row, row + row_values, 0.0f);
  };
  constexpr int kRows = 4;  // output rows summed before their column pass (gray)
  thread_local std::vector<float> summed;
  summed.assign(kRows * stride, 0.0f);
  for (int y = 0; y < out_h; y += c == 1 ? kRows : 1) {
    const int n = c == 1 ? std::min(kRows, out_h - y) : 1;
    const auto [input, input_first] = input_for(y, n);
    if (!input) return false;
    for (int k = 0; k < n; ++k) sum_rows(y + k, input, input_first, summed.data() + k * stride);
    if (c == 1) {
      std::fill(summed.begin() + n * stride, summed.end(), 0.0f);
      combine_column_blocks(blocks, summed.data(), stride, out_w,
                            dst + static_cast<std::size_t>(y) * out_w, n);
    } else if (c == 3) {
      combine_columns<3>(cols, summed.data(), out_w, dst + static_cast<std::size_t>(y) * out_w * c);
    } else {
      combine_columns<0>(cols, summed.data(), out_w, dst + static_cast<std::size_t>(y) * out_w * c,
                         c);
    }
  }
  return true;
}

// The rows of a file (ImageRows) kept in a strip that slides down the image, read kReadAhead rows
// at a time (one read call per 32 rows, not per request); the rows two requests share stay.
class RowStrip {
 public:
  explicit RowStrip(const ImageRows& source)
      : source_(source),
        row_values_(static_cast<std::size_t>(source.header().width)),
        height_(source.header().height) {}
  const float* operator()(int first, int count) {
    if (first < lo_ || first + count > hi_) {
      constexpr int kReadAhead = 32;
      const int kept = first >= lo_ && first < hi_ ? hi_ - first : 0;
      const int last = std::min(height_, first + std::max(count, kReadAhead));
      if (kept > 0)
        std::memmove(buffer_.data(), buffer_.data() + (first - lo_) * row_values_,
                     kept * row_values_ * sizeof(float));
      const std::size_t needed = static_cast<std::size_t>(last - first) * row_values_;
      if (buffer_.size() < needed) buffer_.resize(needed);
      if (!source_.read(first + kept, last - first - kept, buffer_.data() + kept * row_values_))
        return nullptr;
      lo_ = first;
      hi_ = last;
    }
    return buffer_.data() + (first - lo_) * row_values_;
  }

 private:
  const ImageRows& source_;
  std::size_t row_values_;
  int height_;
  // this thread's strip, kept from image to image (no allocation per image)
  static inline thread_local std::vector<float> buffer_;
  int lo_ = 0, hi_ = 0;
};

// The output size of the image inside the square (pad keeps the aspect ratio).
std::pair<int, int> resized_extent(const Image& image, int size_px, const std::string& mode) {
  if (mode != "pad") return {size_px, size_px};
  double scale = static_cast<double>(size_px) / std::max(image.height, image.width);
  return {std::max(1, static_cast<int>(std::lround(image.width * scale))),
          std::max(1, static_cast<int>(std::lround(image.height * scale)))};
}

// Whether the resize of `image` to the square is the area downscale (area_downscale): no
// padding, and no side grows.
bool area_downscales(const Image& image, int size_px, const std::string& mode) {
  const auto [new_w, new_h] = resized_extent(image, size_px, mode);
  return new_w == size_px && new_h == size_px && new_w <= image.width && new_h <= image.height;
}

// Resizes `image` into `dst` (size_px x size_px x channels, interleaved).
void resize_into(const Image& image, int size_px, const std::string& mode, float* dst) {
  const auto [new_w, new_h] = resized_extent(image, size_px, mode);
  const int c = image.channels;
  if (area_downscales(image, size_px, mode)) {
    const float* src = image.pixels.data();
    const std::size_t row_values = static_cast<std::size_t>(image.width) * c;
    area_downscale([&](int first, int) { return src + first * row_values; }, image.height,
                   image.width, c, new_h, new_w, dst);
    return;
  }
  cv::Mat src(image.height, image.width, CV_MAKETYPE(CV_32F, c),
              const_cast<float*>(image.pixels.data()));
  const bool shrinking = new_w < image.width || new_h < image.height;
  cv::Mat resized;
  cv::resize(src, resized, cv::Size(new_w, new_h), 0, 0,
             shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Mat out(size_px, size_px, CV_MAKETYPE(CV_32F, c), dst);
  if (new_w == size_px && new_h == size_px) {
    resized.copyTo(out);
    return;
  }
  double lo = *std::min_element(image.pixels.begin(), image.pixels.end());
  int top = (size_px - new_h) / 2, left = (size_px - new_w) / 2;
  cv::copyMakeBorder(resized, out, top, size_px - new_h - top, left, size_px - new_w - left,
                     cv::BORDER_CONSTANT, cv::Scalar::all(lo));
}

}  // namespace

Image resize_image(const Image& image, int size_px, const std::string& mode) {
  if (image.height == size_px && image.width == size_px) return image;
  const auto [new_w, new_h] = resized_extent(image, size_px, mode);
  Image result;
  result.height = result.width = size_px;
  result.channels = image.channels;
  result.pixels.resize(result.value_count());
  resize_into(image, size_px, mode, result.pixels.data());
  result.spacing_mm = image.spacing_mm;
  result.spacing_mm[0] *= static_cast<double>(image.width) / new_w;
  result.spacing_mm[1] *= static_cast<double>(image.height) / new_h;
  result.spacing_known = image.spacing_known;
  result.origin_mm = image.origin_mm;
  result.direction = image.direction;
  result.source_format = image.source_format;
  result.bits_stored = image.bits_stored;
  return result;
}

namespace {

struct IntensityStatistics {
  double sum, sum_sq;
  float lo, hi;
};

typedef double Doubles8 __attribute__((vector_size(64)));
typedef float Floats8 __attribute__((vector_size(32)));

// Sum, sum of squares (in double), minimum and maximum, eight values at a time in vector
// lanes (the compiler does not vectorise a reduction in double itself).
__attribute__((target_clones("avx512f", "avx2", "default"))) IntensityStatistics
intensity_statistics(const float* v, std::size_t n) {
  Doubles8 sum{}, sum_sq{};
  Floats8 lo = Floats8{} + v[0], hi = lo;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    Floats8 f;
    std::memcpy(&f, v + i, sizeof f);
    const Doubles8 x = __builtin_convertvector(f, Doubles8);
    sum += x;
    sum_sq += x * x;
    lo = f < lo ? f : lo;
    hi = f > hi ? f : hi;
  }
  IntensityStatistics s{0, 0, v[0], v[0]};
  for (; i < n; ++i) {
    s.sum += v[i];
    s.sum_sq += static_cast<double>(v[i]) * v[i];
    s.lo = std::min(s.lo, v[i]);
    s.hi = std::max(s.hi, v[i]);
  }
  for (int l = 0; l < 8; ++l) {
    s.sum += sum[l];
    s.sum_sq += sum_sq[l];
    s.lo = std::min(s.lo, lo[l]);
    s.hi = std::max(s.hi, hi[l]);
  }
  return s;
}

// v = float((v - offset) * scale) in double, eight values at a time.
__attribute__((target_clones("avx512f", "avx2", "default"))) void shift_and_scale(float* v,
                                                                                  std::size_t n,
                                                                                  double offset,
                                                                                  double scale) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    Floats8 f;
    std::memcpy(&f, v + i, sizeof f);
    const Doubles8 x = (__builtin_convertvector(f, Doubles8) - offset) * scale;
    f = __builtin_convertvector(x, Floats8);
    std::memcpy(v + i, &f, sizeof f);
  }
  for (; i < n; ++i) v[i] = static_cast<float>((v[i] - offset) * scale);
}

}  // namespace

void normalize_intensities(std::vector<float>& chw, int channels, const PreprocessSpec& spec,
                           int bits_stored) {
  const std::string& mode = spec.normalize;
  if (mode == "none" || chw.empty()) return;
  if (mode == "zscore" || mode == "minmax") {
    const auto [sum, sum_sq, lo, hi] = intensity_statistics(chw.data(), chw.size());
    double n = static_cast<double>(chw.size());
    double mean = sum / n;
    double std = std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
    double offset = mode == "zscore" ? mean : lo;
    double scale =
        mode == "zscore" ? (std > 1e-8 ? 1.0 / std : 1.0) : (hi > lo ? 1.0 / (hi - lo) : 1.0);
    shift_and_scale(chw.data(), chw.size(), offset, scale);
  } else if (mode == "ct") {
    double lo = spec.window_level_hu - spec.window_width_hu / 2;
    for (float& v : chw)
      v = static_cast<float>(std::clamp((v - lo) / spec.window_width_hu, 0.0, 1.0));
  } else if (mode == "imagenet") {
    static const double mean[3] = {0.485, 0.456, 0.406}, stdev[3] = {0.229, 0.224, 0.225};
    double max_value = bits_stored > 8 ? std::ldexp(1.0, bits_stored) - 1 : 255.0;
    std::size_t plane = chw.size() / static_cast<std::size_t>(channels);
    for (int c = 0; c < channels; ++c) {
      int k = channels == 3 ? c : 0;
      for (std::size_t i = 0; i < plane; ++i) {
        float& v = chw[c * plane + i];
        v = static_cast<float>((v / max_value - mean[k]) / stdev[k]);
      }
    }
  }
}

Result<std::vector<float>> preprocess_image(const Image& image, const PreprocessSpec& spec) {
  if (spec.volume()) {
    Result<std::vector<float>> cdhw = volume_to_input(image, spec);
    if (cdhw) normalize_intensities(cdhw.value(), spec.channels, spec, image.bits_stored);
    return cdhw;
  }
  if (image.depth != 1) {
    return Result<std::vector<float>>::failure("a volume (" + std::to_string(image.depth) +
                                               " slices/frames); classification takes 2D images");
  }
  std::vector<float> chw(spec.values_per_sample());
  const bool same_size = image.height == spec.size_px && image.width == spec.size_px;
  if (spec.channels == 1 && image.channels == 1) {  // HWC is CHW: no copy of the source
    if (same_size)
      std::copy(image.pixels.begin(), image.pixels.end(), chw.begin());
    else
      resize_into(image, spec.size_px, spec.resize, chw.data());
  } else {
    Image converted =
        resize_image(convert_channels(image, spec.channels), spec.size_px, spec.resize);
    const std::size_t plane = static_cast<std::size_t>(spec.size_px) * spec.size_px;
    for (std::size_t i = 0; i < plane; ++i) {
      for (int c = 0; c < spec.channels; ++c)
        chw[c * plane + i] = converted.pixels[i * spec.channels + c];
    }
  }
  normalize_intensities(chw, spec.channels, spec, image.bits_stored);
  return chw;
}

namespace {

// A gray file's rows straight into the gray network input: through the area resize a strip at a
// time, or read as they are at the input's size. False when the file's rows take another route
// (another size or mode, or a read that failed: read_image then reads it and says why).
bool stream_gray_rows(const ImageRows& source, const PreprocessSpec& spec, float* chw) {
  const Image& header = source.header();
  if (spec.channels != 1 || header.channels != 1 || header.depth != 1) return false;
  if (header.height == spec.size_px && header.width == spec.size_px)
    return source.read(0, header.height, chw);
  if (!area_downscales(header, spec.size_px, spec.resize)) return false;
  return area_downscale(RowStrip(source), header.height, header.width, 1, spec.size_px,
                        spec.size_px, chw);
}

// The whole image of `rows`, as read_image gives it; nothing when a read fails.
std::optional<Image> whole_image(const ImageRows& rows) {
  Image image = rows.header();
  image.pixels.resize(image.value_count());
  if (!rows.read(0, image.height, image.pixels.data())) return std::nullopt;
  return image;
}

}  // namespace

Result<PreprocessedFile> preprocess_file(const fs::path& path, const PreprocessSpec& spec) {
  std::optional<Image> opened;  // a file opened as rows that takes the whole-image route
  std::unique_ptr<ImageRows> rows = spec.volume() ? nullptr : open_image_rows(path);
  if (rows) {
    std::vector<float> chw(spec.values_per_sample());
    if (stream_gray_rows(*rows, spec, chw.data())) {
      normalize_intensities(chw, 1, spec, rows->header().bits_stored);
      return PreprocessedFile{std::move(chw), 1};
    }
    opened = whole_image(*rows);  // not walked and parsed a second time by read_image
  }
  Result<Image> image = opened ? Result<Image>(*std::move(opened)) : read_image(path);
  if (!image) return Result<PreprocessedFile>::failure(image.error());
  Result<std::vector<float>> chw = preprocess_image(image.value(), spec);
  if (!chw) return Result<PreprocessedFile>::failure(chw.error());
  return PreprocessedFile{std::move(chw.value()), image.value().channels};
}

}  // namespace medpipe
