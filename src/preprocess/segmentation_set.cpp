#include "preprocess/segmentation_set.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/parallel.h"
#include "io/image_io.h"
#include "preprocess/preprocess.h"

namespace medpipe {

nlohmann::json segmentation_spec_to_json(const SegmentationSpec& spec) {
  return {{"channels", spec.channels},
          {"normalize", spec.normalize},
          {"window_level_hu", spec.window_level_hu},
          {"window_width_hu", spec.window_width_hu},
          {"resize", "none (native resolution, patches)"}};
}

SegmentationSpec segmentation_spec_from_json(const nlohmann::json& j) {
  SegmentationSpec spec;
  spec.channels = j.at("channels").get<int>();
  spec.normalize = j.at("normalize").get<std::string>();
  spec.window_level_hu = j.value("window_level_hu", 40.0);
  spec.window_width_hu = j.value("window_width_hu", 400.0);
  return spec;
}

Result<std::vector<float>> normalize_volume(const Image& image, const SegmentationSpec& spec) {
  if (spec.normalize == "imagenet") {
    return Result<std::vector<float>>::failure(
        "normalize imagenet is for pretrained classifiers; use zscore, minmax or ct");
  }
  PreprocessSpec p;
  p.channels = spec.channels;
  p.normalize = spec.normalize;
  p.window_level_hu = spec.window_level_hu;
  p.window_width_hu = spec.window_width_hu;
  if (spec.channels == 1 && image.channels == 1) {  // [C][D*H*W] is [D][C][H][W]: one copy
    std::vector<float> out = image.pixels;
    normalize_intensities(out, 1, p, image.bits_stored);
    return out;
  }
  Image converted = convert_channels(image, spec.channels);
  const std::size_t voxels = converted.voxel_count(), plane = converted.voxel_count() / image.depth;
  const int c_count = spec.channels;
  std::vector<float> planar(voxels * c_count);  // [C][D*H*W]
  for (std::size_t i = 0; i < voxels; ++i)
    for (int c = 0; c < c_count; ++c) planar[c * voxels + i] = converted.pixels[i * c_count + c];
  normalize_intensities(planar, c_count, p, image.bits_stored);
  std::vector<float> out(planar.size());  // [D][C][H][W]
  for (int z = 0; z < image.depth; ++z)
    for (int c = 0; c < c_count; ++c)
      std::copy_n(planar.begin() + c * voxels + z * plane, plane,
                  out.begin() + (static_cast<std::size_t>(z) * c_count + c) * plane);
  return out;
}

namespace {

struct LoadedItem {
  std::optional<SegmentationVolume> volume;
  std::string skip_reason;  // the image cannot be decoded: skipped and listed
  std::string problem;      // the label array does not fit: exit 2
  int source_channels = 0;
  int max_label = 0;
};

LoadedItem load_item(const Sample& sample, const fs::path& mask_path, const SegmentationSpec& spec,
                     int num_classes) {
  LoadedItem item;
  Result<Image> image = read_image(sample.path);
  if (!image) {
    if (image.error().find("NaN") != std::string::npos)
      item.problem = sample.path.string() + ": " + image.error() + "; fix or remove the image";
    else
      item.skip_reason = image.error();
    return item;
  }
  item.source_channels = image.value().channels;
  Result<LabelVolume> mask = read_label_volume(mask_path);
  if (!mask) {
    item.problem = mask_path.string() + ": " + mask.error();
    return item;
  }
  item.problem = check_mask_against_image(mask.value(), mask_path, image.value(), num_classes);
  if (!item.problem.empty()) return item;
  Result<std::vector<float>> pixels = normalize_volume(image.value(), spec);
  if (!pixels) {
    item.problem = sample.path.string() + ": " + pixels.error();
    return item;
  }
  for (std::uint8_t v : mask.value().labels) item.max_label = std::max<int>(item.max_label, v);
  const Image& im = image.value();
  item.volume = SegmentationVolume{sample.name, im.depth,      im.height,
                                   im.width,    pixels.take(), std::move(mask.value().labels)};
  const std::vector<std::uint8_t>& labels = item.volume->labels;
  const std::size_t count = std::count_if(labels.begin(), labels.end(), [](auto v) { return v; });
  const std::size_t stride = std::max<std::size_t>(1, count / 16384);
  for (std::size_t i = 0, seen = 0; i < labels.size(); ++i)
    if (labels[i] && seen++ % stride == 0)
      item.volume->foreground.push_back(static_cast<std::uint32_t>(i));
  return item;
}

}  // namespace

SegmentationSet SegmentationSet::build(const std::vector<Sample>& samples,
                                       const SegmentationSpec& spec, int num_classes, int workers,
                                       const std::string& stage) {
  std::vector<LoadedItem> items(samples.size());
  parallel_for(samples.size(), workers, stage, "img", [&](std::size_t i) {
    items[i] = load_item(samples[i], samples[i].mask(), spec, num_classes);
  });

  SegmentationSet out;
  out.channels_ = spec.channels;
  std::vector<std::string> problems;
  int max_label = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    LoadedItem& item = items[i];
    out.source_channels_.push_back(item.source_channels);
    if (!item.problem.empty()) {
      problems.push_back(item.problem);
    } else if (!item.volume) {
      out.skipped_.push_back({samples[i].name, item.skip_reason});
    } else {
      max_label = std::max(max_label, item.max_label);
      for (int z = 0; z < item.volume->depth; ++z) out.slices_.push_back({out.volumes_.size(), z});
      out.volumes_.push_back(std::move(*item.volume));
    }
  }
  if (!problems.empty()) {
    std::string list;
    for (std::size_t i = 0; i < std::min<std::size_t>(problems.size(), 10); ++i)
      list += "\n  " + problems[i];
    if (problems.size() > 10) list += "\n  ... (" + std::to_string(problems.size() - 10) + " more)";
    throw UsageError(std::to_string(problems.size()) +
                     " label array(s) do not fit their image:" + list);
  }
  out.num_classes_ = num_classes > 0 ? num_classes : std::max(2, max_label + 1);
  return out;
}

namespace {

// Applies one of the eight flips/quarter turns of a square to a P x P plane in place.
template <class T>
void dihedral(T* plane, int p, bool flip_x, bool flip_y, bool transpose, std::vector<T>& scratch) {
  scratch.assign(plane, plane + static_cast<std::size_t>(p) * p);
  for (int y = 0; y < p; ++y) {
    for (int x = 0; x < p; ++x) {
      int sy = transpose ? x : y, sx = transpose ? y : x;
      if (flip_y) sy = p - 1 - sy;
      if (flip_x) sx = p - 1 - sx;
      plane[y * p + x] = scratch[sy * p + sx];
    }
  }
}

}  // namespace

void sample_patch(const SegmentationVolume& v, int z, int channels, int patch, bool augment,
                  std::mt19937& rng, float* image_out, std::uint8_t* labels_out) {
  auto origin = [&](int extent) {
    int lo = std::min(0, extent - patch), hi = std::max(0, extent - patch);
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  };
  const int oy = origin(v.height), ox = origin(v.width);
  const std::size_t plane = static_cast<std::size_t>(v.height) * v.width;
  const std::size_t pp = static_cast<std::size_t>(patch) * patch;
  for (int y = 0; y < patch; ++y) {
    int sy = oy + y;
    for (int x = 0; x < patch; ++x) {
      int sx = ox + x;
      bool inside = sy >= 0 && sy < v.height && sx >= 0 && sx < v.width;
      std::size_t src = static_cast<std::size_t>(sy) * v.width + sx;
      labels_out[y * patch + x] = inside ? v.labels[z * plane + src] : kIgnoreLabel;
      for (int c = 0; c < channels; ++c) {
        image_out[c * pp + y * patch + x] =
            inside ? v.pixels[(static_cast<std::size_t>(z) * channels + c) * plane + src] : 0.0f;
      }
    }
  }
  if (!augment) return;
  std::uniform_int_distribution<int> coin(0, 1);
  bool fx = coin(rng), fy = coin(rng), tr = coin(rng);
  std::vector<float> scratch;
  std::vector<std::uint8_t> label_scratch;
  for (int c = 0; c < channels; ++c) dihedral(image_out + c * pp, patch, fx, fy, tr, scratch);
  dihedral(labels_out, patch, fx, fy, tr, label_scratch);
}

namespace {

// The patch's origin along an axis of `extent` voxels: uniform over the places that keep the
// patch inside (or centred on a small volume), or around `centre` when it is given (>= 0).
int patch_origin(int extent, int patch, int centre, std::mt19937& rng) {
  const int lo = std::min(0, extent - patch), hi = std::max(0, extent - patch);
  if (centre < 0) return std::uniform_int_distribution<int>(lo, hi)(rng);
  const int jitter = std::uniform_int_distribution<int>(-patch / 4, patch / 4)(rng);
  return std::clamp(centre - patch / 2 + jitter, lo, hi);
}

}  // namespace

void sample_patch_3d(const SegmentationVolume& v, int channels, int patch, int patch_depth,
                     bool foreground, bool augment, std::mt19937& rng, float* image_out,
                     std::uint8_t* labels_out) {
  int cz = -1, cy = -1, cx = -1;
  if (foreground && !v.foreground.empty()) {
    const std::uint32_t at =
        v.foreground[std::uniform_int_distribution<std::size_t>(0, v.foreground.size() - 1)(rng)];
    cx = static_cast<int>(at % v.width);
    cy = static_cast<int>(at / v.width % v.height);
    cz = static_cast<int>(at / v.width / v.height);
  }
  const int oz = patch_origin(v.depth, patch_depth, cz, rng),
            oy = patch_origin(v.height, patch, cy, rng), ox = patch_origin(v.width, patch, cx, rng);
  std::uniform_int_distribution<int> coin(0, 1);
  const bool fz = augment && coin(rng), fy = augment && coin(rng), fx = augment && coin(rng),
             turn = augment && coin(rng);
  const std::size_t plane = static_cast<std::size_t>(v.height) * v.width;
  const std::size_t tile = static_cast<std::size_t>(patch_depth) * patch * patch;
  for (int z = 0; z < patch_depth; ++z) {
    const int sz = oz + (fz ? patch_depth - 1 - z : z);
    for (int y = 0; y < patch; ++y) {
      for (int x = 0; x < patch; ++x) {
        int py = turn ? x : y, px = turn ? y : x;
        const int sy = oy + (fy ? patch - 1 - py : py), sx = ox + (fx ? patch - 1 - px : px);
        const bool inside =
            sz >= 0 && sz < v.depth && sy >= 0 && sy < v.height && sx >= 0 && sx < v.width;
        const std::size_t out = (static_cast<std::size_t>(z) * patch + y) * patch + x;
        const std::size_t src = static_cast<std::size_t>(sy) * v.width + sx;
        labels_out[out] = inside ? v.labels[sz * plane + src] : kIgnoreLabel;
        for (int c = 0; c < channels; ++c)
          image_out[c * tile + out] =
              inside ? v.pixels[(static_cast<std::size_t>(sz) * channels + c) * plane + src] : 0.0f;
      }
    }
  }
}

}  // namespace medpipe
