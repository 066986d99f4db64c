#include "features/roi.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "features/resample.h"

namespace medpipe {

namespace {

constexpr double kSpacingToleranceMm = 1e-3;
constexpr double kOriginToleranceVoxels = 0.05;

std::string fmt3(const std::array<double, 3>& v) {
  std::ostringstream out;
  out << v[0] << " x " << v[1] << " x " << v[2];
  return out.str();
}

// The image's channels averaged into one float per voxel.
std::vector<float> grey_values(const Image& image) {
  if (image.channels == 1) return image.pixels;
  std::vector<float> out(image.voxel_count());
  for (std::size_t i = 0; i < out.size(); ++i) {
    double sum = 0;
    for (int c = 0; c < image.channels; ++c) sum += image.pixels[i * image.channels + c];
    out[i] = static_cast<float>(sum / image.channels);
  }
  return out;
}

// Whether two boxes [origin, origin + size * spacing) overlap along every axis (axis-aligned
// direction assumed; only used to tell "outside" from "misaligned" in messages).
bool boxes_overlap(const Image& a, const Image& b) {
  const int sizes_a[3] = {a.width, a.height, a.depth};
  const int sizes_b[3] = {b.width, b.height, b.depth};
  for (int axis = 0; axis < 3; ++axis) {
    double a0 = a.origin_mm[axis], a1 = a0 + sizes_a[axis] * a.spacing_mm[axis];
    double b0 = b.origin_mm[axis], b1 = b0 + sizes_b[axis] * b.spacing_mm[axis];
    if (a1 < a0) std::swap(a0, a1);
    if (b1 < b0) std::swap(b0, b1);
    if (a1 <= b0 || b1 <= a0) return false;
  }
  return true;
}

std::string geometry_mismatch(const Image& image, const Image& mask) {
  bool same_size =
      image.width == mask.width && image.height == mask.height && image.depth == mask.depth;
  bool both_known = image.spacing_known && mask.spacing_known;
  bool same_grid = true;
  if (both_known) {
    for (int axis = 0; axis < 3; ++axis) {
      double tolerance = kOriginToleranceVoxels * image.spacing_mm[axis];
      same_grid = same_grid &&
                  std::abs(image.spacing_mm[axis] - mask.spacing_mm[axis]) <= kSpacingToleranceMm &&
                  std::abs(image.origin_mm[axis] - mask.origin_mm[axis]) <= tolerance;
    }
  }
  if (same_size && same_grid) return "";
  std::ostringstream out;
  if (both_known && !boxes_overlap(image, mask)) {
    out << "the mask lies outside the image: ";
  } else {
    out << "image and mask do not share a voxel grid: ";
  }
  out << "image " << describe_geometry(image) << "; mask " << describe_geometry(mask)
      << " (tolerance: spacing " << kSpacingToleranceMm << " mm, origin " << kOriginToleranceVoxels
      << " voxel); resample the mask onto the image grid or pass the mask drawn on this image";
  return out.str();
}

// IBSI's interpolation grid: ceil(n * s / s') points, centred on the original grid's centre.
void interpolate(RoiVolume& roi, const FeatureSettings& s) {
  std::array<double, 3> target = {s.new_spacing_mm, s.new_spacing_mm,
                                  s.interpolate_in_plane ? roi.spacing_mm[2] : s.new_spacing_mm};
  int old_n[3] = {roi.nx, roi.ny, roi.nz};
  int new_n[3];
  for (int a = 0; a < 3; ++a) {
    new_n[a] = static_cast<int>(std::ceil(old_n[a] * roi.spacing_mm[a] / target[a] - 1e-9));
  }
  std::vector<float> intensity(static_cast<std::size_t>(new_n[0]) * new_n[1] * new_n[2]);
  std::vector<std::uint8_t> mask(intensity.size());
  std::vector<float> mask_values(roi.morph_mask.begin(), roi.morph_mask.end());
  using Method = VolumeSampler::Method;
  Method method = s.interpolation == "nearest" ? Method::kNearest
                  : s.interpolation == "cubic" ? Method::kCubic
                                               : Method::kLinear;
  VolumeSampler image(roi.intensity, roi.nx, roi.ny, roi.nz, method);
  // the mask is always interpolated linearly, then thresholded at roi_partial_volume
  VolumeSampler region(mask_values, roi.nx, roi.ny, roi.nz, Method::kLinear);
  std::size_t i = 0;
  for (int z = 0; z < new_n[2]; ++z) {
    for (int y = 0; y < new_n[1]; ++y) {
      for (int x = 0; x < new_n[0]; ++x, ++i) {
        double p[3];
        const int k[3] = {x, y, z};
        for (int a = 0; a < 3; ++a) {
          p[a] =
              (old_n[a] - 1) / 2.0 + (k[a] - (new_n[a] - 1) / 2.0) * target[a] / roi.spacing_mm[a];
        }
        double value = image.at(p[0], p[1], p[2]);
        intensity[i] = static_cast<float>(s.round_intensities ? std::round(value) : value);
        double m = region.at(p[0], p[1], p[2]);
        mask[i] = m >= s.roi_partial_volume - 1e-6 ? 1 : 0;
      }
    }
  }
  roi.nx = new_n[0];
  roi.ny = new_n[1];
  roi.nz = new_n[2];
  roi.spacing_mm = target;
  roi.intensity = std::move(intensity);
  roi.morph_mask = std::move(mask);
}

// The intensity mask: the region within the re-segmentation range and outlier bounds.
void resegment(RoiVolume& roi, const FeatureSettings& s) {
  double lo = std::isnan(s.resegment_min) ? -INFINITY : s.resegment_min;
  double hi = std::isnan(s.resegment_max) ? INFINITY : s.resegment_max;
  if (s.outlier_sigma > 0) {
    double sum = 0, sum2 = 0, n = 0;
    for (std::size_t i = 0; i < roi.size(); ++i) {
      if (!roi.morph_mask[i]) continue;
      sum += roi.intensity[i];
      sum2 += double(roi.intensity[i]) * roi.intensity[i];
      n += 1;
    }
    double mean = sum / n, sd = std::sqrt(std::max(0.0, sum2 / n - mean * mean));
    lo = std::max(lo, mean - s.outlier_sigma * sd);
    hi = std::min(hi, mean + s.outlier_sigma * sd);
  }
  roi.int_mask.assign(roi.size(), 0);
  for (std::size_t i = 0; i < roi.size(); ++i) {
    roi.int_mask[i] = roi.morph_mask[i] && roi.intensity[i] >= lo && roi.intensity[i] <= hi;
  }
}

// Keeps the region's bounding box and a margin wide enough for the local intensity sphere
// (6.2 mm), so that large images with small regions cost what the region costs.
void crop_to_region(RoiVolume& roi) {
  int lo[3] = {roi.nx, roi.ny, roi.nz}, hi[3] = {-1, -1, -1};
  for (int z = 0; z < roi.nz; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x) {
        if (!roi.morph_mask[roi.index(x, y, z)]) continue;
        const int k[3] = {x, y, z};
        for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], k[a]), hi[a] = std::max(hi[a], k[a]);
      }
  const int n[3] = {roi.nx, roi.ny, roi.nz};
  for (int a = 0; a < 3; ++a) {
    int margin = static_cast<int>(std::ceil(6.21 / roi.spacing_mm[a])) + 1;
    lo[a] = std::max(0, lo[a] - margin);
    hi[a] = std::min(n[a] - 1, hi[a] + margin);
  }
  if (lo[0] == 0 && lo[1] == 0 && lo[2] == 0 && hi[0] == n[0] - 1 && hi[1] == n[1] - 1 &&
      hi[2] == n[2] - 1) {
    return;
  }
  RoiVolume out;
  out.nx = hi[0] - lo[0] + 1;
  out.ny = hi[1] - lo[1] + 1;
  out.nz = hi[2] - lo[2] + 1;
  out.spacing_mm = roi.spacing_mm;
  out.intensity.reserve(out.size());
  out.morph_mask.reserve(out.size());
  for (int z = lo[2]; z <= hi[2]; ++z)
    for (int y = lo[1]; y <= hi[1]; ++y)
      for (int x = lo[0]; x <= hi[0]; ++x) {
        out.intensity.push_back(roi.intensity[roi.index(x, y, z)]);
        out.morph_mask.push_back(roi.morph_mask[roi.index(x, y, z)]);
      }
  roi = std::move(out);
}

Result<RoiVolume> finish(RoiVolume roi, const FeatureSettings& s, bool whole_image = false) {
  if (!std::isnan(s.new_spacing_mm)) interpolate(roi, s);
  if (roi.morph_count() == 0) {
    return Result<RoiVolume>::failure(
        "the region is empty after interpolation to " + std::to_string(s.new_spacing_mm) +
        " mm; use a smaller new_spacing_mm or a lower roi_partial_volume");
  }
  if (!whole_image) crop_to_region(roi);
  resegment(roi, s);
  if (roi.int_count() == 0) {
    return Result<RoiVolume>::failure(
        "no voxel of the region lies in the re-segmentation range; check resegment_min, "
        "resegment_max and outlier_sigma against the image's intensities");
  }
  discretise(roi, s);
  return roi;
}

}  // namespace

std::size_t RoiVolume::int_count() const {
  return static_cast<std::size_t>(std::count(int_mask.begin(), int_mask.end(), 1));
}
std::size_t RoiVolume::morph_count() const {
  return static_cast<std::size_t>(std::count(morph_mask.begin(), morph_mask.end(), 1));
}

std::string describe_geometry(const Image& image) {
  std::ostringstream out;
  out << image.width << " x " << image.height << " x " << image.depth << " voxels";
  if (image.spacing_known) {
    out << ", spacing " << fmt3(image.spacing_mm) << " mm, origin (" << image.origin_mm[0] << ", "
        << image.origin_mm[1] << ", " << image.origin_mm[2] << ") mm";
  } else {
    out << ", spacing unknown";
  }
  return out.str();
}

namespace {

// The image's grid and grey values, no region yet.
RoiVolume volume_of(const Image& image) {
  RoiVolume roi;
  roi.nx = image.width;
  roi.ny = image.height;
  roi.nz = image.depth;
  roi.spacing_mm = image.spacing_mm;
  roi.intensity = grey_values(image);
  return roi;
}

}  // namespace

Result<RoiVolume> prepare_roi(const Image& image, const Image& mask,
                              const FeatureSettings& settings) {
  std::string mismatch = geometry_mismatch(image, mask);
  if (!mismatch.empty()) return Result<RoiVolume>::failure(mismatch);
  RoiVolume roi = volume_of(image);
  std::vector<float> mask_values = grey_values(mask);
  roi.morph_mask.resize(roi.size());
  for (std::size_t i = 0; i < roi.size(); ++i) {
    float m = mask_values[i];
    roi.morph_mask[i] = settings.mask_label == 0 ? (m != 0 && !std::isnan(m))
                                                 : std::lround(m) == settings.mask_label;
  }
  if (roi.morph_count() == 0) {
    return Result<RoiVolume>::failure(
        settings.mask_label == 0
            ? "the mask is empty (no non-zero voxel); check that it is the right mask file"
            : "no mask voxel equals mask_label " + std::to_string(settings.mask_label) +
                  "; check mask_label against the mask's values");
  }
  for (std::size_t i = 0; i < roi.size(); ++i) {
    if (roi.morph_mask[i] && !std::isfinite(roi.intensity[i])) {
      return Result<RoiVolume>::failure(
          "the image has NaN or infinite values inside the region; fix or mask them first");
    }
  }
  return finish(std::move(roi), settings);
}

Result<RoiVolume> prepare_whole_image(const Image& image, const FeatureSettings& settings) {
  RoiVolume roi = volume_of(image);
  roi.morph_mask.assign(roi.size(), 1);
  for (float v : roi.intensity) {
    if (!std::isfinite(v)) {
      return Result<RoiVolume>::failure(
          "the image has NaN or infinite values; fix or mask them first");
    }
  }
  return finish(std::move(roi), settings, std::isnan(settings.new_spacing_mm));
}

void discretise(RoiVolume& roi, const FeatureSettings& s) {
  double lo = INFINITY, hi = -INFINITY;
  for (std::size_t i = 0; i < roi.size(); ++i) {
    if (!roi.int_mask[i]) continue;
    lo = std::min(lo, double(roi.intensity[i]));
    hi = std::max(hi, double(roi.intensity[i]));
  }
  if (lo == hi) {
    roi.warnings.push_back(
        "the region holds a single intensity; features that measure spread or texture are "
        "undefined and written as NaN");
  }
  roi.levels.assign(roi.size(), 0);
  if (s.discretisation == "fixed_bin_number") {
    roi.level_count = s.bin_count;
    roi.bin_lower_bound = lo;
    roi.bin_width = hi > lo ? (hi - lo) / s.bin_count : 1.0;
    for (std::size_t i = 0; i < roi.size(); ++i) {
      if (!roi.int_mask[i]) continue;
      int level =
          hi > lo
              ? static_cast<int>(std::floor(s.bin_count * (roi.intensity[i] - lo) / (hi - lo))) + 1
              : 1;
      roi.levels[i] = std::min(level, s.bin_count);
    }
  } else {
    roi.bin_lower_bound = std::isnan(s.resegment_min) ? lo : s.resegment_min;
    roi.bin_width = s.bin_width;
    int top = 1;
    for (std::size_t i = 0; i < roi.size(); ++i) {
      if (!roi.int_mask[i]) continue;
      int level = static_cast<int>(
                      std::floor((roi.intensity[i] - roi.bin_lower_bound) / s.bin_width + 1e-9)) +
                  1;
      roi.levels[i] = std::max(level, 1);
      top = std::max(top, roi.levels[i]);
    }
    roi.level_count = top;
  }
}

}  // namespace medpipe
