#include "metrics/segmentation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace medpipe {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Box {
  int z0 = 0, y0 = 0, x0 = 0, z1 = -1, y1 = -1, x1 = -1;  // inclusive
  bool empty() const { return z1 < z0; }
  void add(int z, int y, int x) {
    if (empty()) {
      z0 = z1 = z, y0 = y1 = y, x0 = x1 = x;
      return;
    }
    z0 = std::min(z0, z), z1 = std::max(z1, z), y0 = std::min(y0, y), y1 = std::max(y1, y);
    x0 = std::min(x0, x), x1 = std::max(x1, x);
  }
};

// Felzenszwalb & Huttenlocher's squared distance transform of one sampled function along a line
// of n points `step_mm` apart: d[q] = min_p (step_mm (q - p))^2 + f[p]. f may hold kInf.
void distance_transform_line(const double* f, double* d, int n, double step_mm, int* v, double* z) {
  int k = -1;
  for (int q = 0; q < n; ++q) {
    if (f[q] == kInf) continue;
    double fq = f[q] + (q * step_mm) * (q * step_mm);
    double s = -kInf;
    while (k >= 0) {
      double fv = f[v[k]] + (v[k] * step_mm) * (v[k] * step_mm);
      s = (fq - fv) / (2 * step_mm * step_mm * (q - v[k]));  // in index units
      if (s > z[k]) break;
      --k;
    }
    ++k;
    v[k] = q;
    z[k] = k == 0 ? -kInf : s;
    z[k + 1] = kInf;
  }
  if (k < 0) {
    std::fill(d, d + n, kInf);
    return;
  }
  int j = 0;
  for (int q = 0; q < n; ++q) {
    while (z[j + 1] < q) ++j;
    double dq = step_mm * (q - v[j]);
    d[q] = dq * dq + f[v[j]];
  }
}

// Squared distances to the nearest zero of `grid` (0 at sources, kInf elsewhere), in place,
// separably along x, y and z.
void distance_transform(std::vector<double>& grid, int depth, int height, int width,
                        const std::array<double, 3>& spacing_mm) {
  int longest = std::max({depth, height, width});
  std::vector<double> line(longest), out(longest), z(longest + 1);
  std::vector<int> v(longest);
  auto pass = [&](int n, std::size_t stride, std::size_t lines, auto first_of, double step) {
    for (std::size_t l = 0; l < lines; ++l) {
      std::size_t base = first_of(l);
      for (int i = 0; i < n; ++i) line[i] = grid[base + i * stride];
      distance_transform_line(line.data(), out.data(), n, step, v.data(), z.data());
      for (int i = 0; i < n; ++i) grid[base + i * stride] = out[i];
    }
  };
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  pass(
      width, 1, static_cast<std::size_t>(depth) * height, [&](std::size_t l) { return l * width; },
      spacing_mm[0]);
  if (height > 1) {
    pass(
        height, width, static_cast<std::size_t>(depth) * width,
        [&](std::size_t l) { return (l / width) * plane + l % width; }, spacing_mm[1]);
  }
  if (depth > 1)
    pass(
        depth, plane, plane, [](std::size_t l) { return l; }, spacing_mm[2]);
}

std::vector<std::uint8_t> binary_mask(const LabelVolume& volume, int cls) {
  std::vector<std::uint8_t> mask(volume.labels.size());
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = volume.labels[i] == cls;
  return mask;
}

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? kNaN : sum / static_cast<double>(v.size());
}

}  // namespace

std::vector<std::uint8_t> surface_of(const std::vector<std::uint8_t>& mask, int depth, int height,
                                     int width) {
  std::vector<std::uint8_t> surface(mask.size(), 0);
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  for (int z = 0; z < depth; ++z) {
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        std::size_t i = z * plane + static_cast<std::size_t>(y) * width + x;
        if (!mask[i]) continue;
        bool edge = x == 0 || x == width - 1 || y == 0 || y == height - 1 || !mask[i - 1] ||
                    !mask[i + 1] || !mask[i - width] || !mask[i + width];
        if (depth > 1)
          edge = edge || z == 0 || z == depth - 1 || !mask[i - plane] || !mask[i + plane];
        surface[i] = edge;
      }
    }
  }
  return surface;
}

std::vector<double> surface_to_surface_mm(const std::vector<std::uint8_t>& from,
                                          const std::vector<std::uint8_t>& to, int depth,
                                          int height, int width,
                                          const std::array<double, 3>& spacing_mm) {
  // The distance transform runs on the bounding box of both surfaces only: every source and
  // every query lies inside it, so the distances are exact.
  Box box;
  bool any_from = false, any_to = false;
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (!from[i] && !to[i]) continue;
    any_from |= from[i] != 0;
    any_to |= to[i] != 0;
    box.add(static_cast<int>(i / plane), static_cast<int>(i % plane / width),
            static_cast<int>(i % width));
  }
  if (!any_from || !any_to) return {};
  int bd = box.z1 - box.z0 + 1, bh = box.y1 - box.y0 + 1, bw = box.x1 - box.x0 + 1;
  std::vector<double> grid(static_cast<std::size_t>(bd) * bh * bw);
  auto source_index = [&](int z, int y, int x) {
    return (static_cast<std::size_t>(z + box.z0) * height + (y + box.y0)) * width + (x + box.x0);
  };
  std::size_t g = 0;
  for (int z = 0; z < bd; ++z)
    for (int y = 0; y < bh; ++y)
      for (int x = 0; x < bw; ++x) grid[g++] = to[source_index(z, y, x)] ? 0.0 : kInf;
  distance_transform(grid, bd, bh, bw, spacing_mm);
  std::vector<double> distances;
  g = 0;
  for (int z = 0; z < bd; ++z)
    for (int y = 0; y < bh; ++y)
      for (int x = 0; x < bw; ++x, ++g)
        if (from[source_index(z, y, x)]) distances.push_back(std::sqrt(grid[g]));
  return distances;
}

double percentile_linear(std::vector<double>& values, double q) {
  if (values.empty()) return kNaN;
  double rank = q / 100.0 * static_cast<double>(values.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(rank));
  std::nth_element(values.begin(), values.begin() + lo, values.end());
  double low = values[lo];
  if (lo + 1 >= values.size()) return low;
  double high = *std::min_element(values.begin() + lo + 1, values.end());
  return low + (high - low) * (rank - static_cast<double>(lo));
}

Overlap overlap_of(const std::uint8_t* truth, const std::uint8_t* predicted, std::size_t count,
                   int cls) {
  Overlap o;
  for (std::size_t i = 0; i < count; ++i) {
    bool t = truth[i] == cls, p = predicted[i] == cls;
    o.truth += t;
    o.predicted += p;
    o.both += t && p;
  }
  return o;
}

RegionScores region_scores(const LabelVolume& truth, const LabelVolume& prediction, int cls) {
  const Overlap o =
      overlap_of(truth.labels.data(), prediction.labels.data(), truth.labels.size(), cls);
  const std::size_t na = o.truth, nb = o.predicted, both = o.both;
  RegionScores s;
  if (na == 0 && nb == 0) return {1.0, 1.0, 0.0, 0.0};
  s.dice = o.dice();
  s.jaccard = static_cast<double>(both) / static_cast<double>(na + nb - both);
  if (na == 0 || nb == 0) {
    s.hausdorff95 = s.assd = kNaN;
    return s;
  }
  std::vector<std::uint8_t> a = binary_mask(truth, cls), b = binary_mask(prediction, cls);
  auto sa = surface_of(a, truth.depth, truth.height, truth.width);
  auto sb = surface_of(b, truth.depth, truth.height, truth.width);
  auto ab = surface_to_surface_mm(sa, sb, truth.depth, truth.height, truth.width, truth.spacing_mm);
  auto ba = surface_to_surface_mm(sb, sa, truth.depth, truth.height, truth.width, truth.spacing_mm);
  s.assd = (mean_of(ab) + mean_of(ba)) / 2;
  s.hausdorff95 = std::max(percentile_linear(ab, 95), percentile_linear(ba, 95));
  return s;
}

nlohmann::json segmentation_metrics(const std::vector<SegmentationCase>& cases, int num_classes) {
  std::vector<std::string> images;
  std::vector<std::vector<RegionScores>> scores;
  bool spacing_known = true;
  for (const auto& c : cases) {
    images.push_back(c.image);
    std::vector<RegionScores> per_class;
    for (int cls = 1; cls < num_classes; ++cls)
      per_class.push_back(region_scores(c.truth, c.prediction, cls));
    scores.push_back(per_class);
    spacing_known &= c.truth.spacing_known;
  }
  return summarise_segmentation(images, scores, spacing_known && !cases.empty());
}

namespace {

// Mean of the finite values and how many were not (NaN: undefined distances).
std::pair<double, int> finite_mean(const std::vector<double>& values) {
  double sum = 0;
  int n = 0, undefined = 0;
  for (double v : values) {
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    } else {
      ++undefined;
    }
  }
  return {n ? sum / n : kNaN, undefined};
}

nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json score_block(const std::vector<RegionScores>& rows) {
  std::vector<double> dice, jaccard, hd95, assd;
  for (const auto& r : rows) {
    dice.push_back(r.dice);
    jaccard.push_back(r.jaccard);
    hd95.push_back(r.hausdorff95);
    assd.push_back(r.assd);
  }
  auto [hd, hd_undefined] = finite_mean(hd95);
  auto [sd, sd_undefined] = finite_mean(assd);
  return {{"dice", number(finite_mean(dice).first)},
          {"jaccard", number(finite_mean(jaccard).first)},
          {"hausdorff95", number(hd)},
          {"assd", number(sd)},
          {"hausdorff95_undefined", hd_undefined},
          {"assd_undefined", sd_undefined}};
}

}  // namespace

nlohmann::json summarise_segmentation(const std::vector<std::string>& images,
                                      const std::vector<std::vector<RegionScores>>& scores,
                                      bool spacing_known) {
  nlohmann::json per_image = nlohmann::json::array();
  std::vector<RegionScores> image_means;
  std::size_t classes = scores.empty() ? 0 : scores[0].size();
  for (std::size_t i = 0; i < images.size(); ++i) {
    nlohmann::json block = score_block(scores[i]);
    RegionScores mean;
    mean.dice = block["dice"].is_null() ? kNaN : block["dice"].get<double>();
    mean.jaccard = block["jaccard"].is_null() ? kNaN : block["jaccard"].get<double>();
    // an image's distance is undefined when any of its classes' is
    mean.hausdorff95 = block["hausdorff95_undefined"].get<int>() || block["hausdorff95"].is_null()
                           ? kNaN
                           : block["hausdorff95"].get<double>();
    mean.assd = block["assd_undefined"].get<int>() || block["assd"].is_null()
                    ? kNaN
                    : block["assd"].get<double>();
    image_means.push_back(mean);
    per_image.push_back({{"image", images[i]},
                         {"dice", number(mean.dice)},
                         {"jaccard", number(mean.jaccard)},
                         {"hausdorff95", number(mean.hausdorff95)},
                         {"assd", number(mean.assd)}});
  }
  nlohmann::json per_class = nlohmann::json::array();
  for (std::size_t c = 0; c < classes; ++c) {
    std::vector<RegionScores> column;
    for (const auto& row : scores) column.push_back(row[c]);
    nlohmann::json block = score_block(column);
    block["class"] = c + 1;
    per_class.push_back(block);
  }
  nlohmann::json out = score_block(image_means);
  out["n"] = images.size();
  out["per_class"] = per_class;
  out["per_image"] = per_image;
  out["distance_units"] = spacing_known ? "mm" : "pixels";
  return out;
}

double SegmentationMetric::add(const std::string& image, const LabelVolume& truth,
                               const LabelVolume& predicted) {
  std::vector<RegionScores> scores;
  for (int k = 1; k < num_classes_; ++k) scores.push_back(region_scores(truth, predicted, k));
  double dice = 0;
  for (const auto& s : scores) dice += s.dice / static_cast<double>(scores.size());
  images_.push_back(image);
  scores_.push_back(std::move(scores));
  spacing_known_ &= truth.spacing_known;
  return dice;
}

nlohmann::json SegmentationMetric::compute() const {
  return summarise_segmentation(images_, scores_, spacing_known_ && !images_.empty());
}

}  // namespace medpipe
