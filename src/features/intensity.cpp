// features/intensity.cpp: IBSI local intensity, intensity statistics, intensity histogram and
// intensity-volume histogram features.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "features/families.h"

namespace medpipe {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Linear interpolation between closest ranks (numpy's default), of sorted values.
double percentile(const std::vector<double>& sorted, double fraction) {
  double position = fraction * (sorted.size() - 1);
  std::size_t below = static_cast<std::size_t>(std::floor(position));
  std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / v.size();
}

// The statistics shared by the intensity (stat) and intensity histogram (ih) families.
struct Moments {
  double mean, variance, skewness, kurtosis, median, min, p10, p90, max, iqr, range, mad, rmad,
      medad, cov, qcod;
};

Moments moments_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Moments m{};
  m.mean = mean_of(v);
  double m2 = 0, m3 = 0, m4 = 0, mad = 0, medad = 0;
  m.median = percentile(v, 0.5);
  for (double x : v) {
    double d = x - m.mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
    mad += std::abs(d);
    medad += std::abs(x - m.median);
  }
  double n = v.size();
  m.variance = m2 / n;
  m.skewness = m2 > 0 ? (m3 / n) / std::pow(m2 / n, 1.5) : kNaN;
  m.kurtosis = m2 > 0 ? (m4 / n) / std::pow(m2 / n, 2) - 3 : kNaN;
  m.min = v.front();
  m.max = v.back();
  m.p10 = percentile(v, 0.1);
  m.p90 = percentile(v, 0.9);
  double p25 = percentile(v, 0.25), p75 = percentile(v, 0.75);
  m.iqr = p75 - p25;
  m.range = m.max - m.min;
  m.mad = mad / n;
  m.medad = medad / n;
  std::vector<double> middle;
  for (double x : v) {
    if (x >= m.p10 && x <= m.p90) middle.push_back(x);
  }
  double middle_mean = mean_of(middle), rmad = 0;
  for (double x : middle) rmad += std::abs(x - middle_mean);
  m.rmad = rmad / middle.size();
  m.cov = m.mean != 0 ? std::sqrt(m.variance) / m.mean : kNaN;
  m.qcod = (p75 + p25) != 0 ? (p75 - p25) / (p75 + p25) : kNaN;
  return m;
}

std::vector<double> region_values(const RoiVolume& roi) {
  std::vector<double> v;
  v.reserve(roi.int_count());
  for (std::size_t i = 0; i < roi.size(); ++i) {
    if (roi.int_mask[i]) v.push_back(roi.intensity[i]);
  }
  return v;
}

std::vector<double> region_levels(const RoiVolume& roi) {
  std::vector<double> v;
  for (std::size_t i = 0; i < roi.size(); ++i) {
    if (roi.int_mask[i]) v.push_back(roi.levels[i]);
  }
  return v;
}

// Mean intensity of every image voxel within 1 cm^3 (radius 6.2 mm) of voxel (x, y, z).
struct SphereMean {
  const RoiVolume& roi;
  std::vector<std::array<int, 3>> offsets;
  explicit SphereMean(const RoiVolume& r) : roi(r) {
    const double radius_mm = 10.0 * std::cbrt(3.0 / (4.0 * M_PI));
    int reach[3];
    for (int a = 0; a < 3; ++a) reach[a] = static_cast<int>(radius_mm / roi.spacing_mm[a]);
    for (int dz = -reach[2]; dz <= reach[2]; ++dz)
      for (int dy = -reach[1]; dy <= reach[1]; ++dy)
        for (int dx = -reach[0]; dx <= reach[0]; ++dx) {
          double d2 = std::pow(dx * roi.spacing_mm[0], 2) + std::pow(dy * roi.spacing_mm[1], 2) +
                      std::pow(dz * roi.spacing_mm[2], 2);
          if (d2 <= radius_mm * radius_mm) offsets.push_back({dx, dy, dz});
        }
  }
  double at(int x, int y, int z) const {
    double sum = 0;
    int count = 0;
    for (const auto& o : offsets) {
      int px = x + o[0], py = y + o[1], pz = z + o[2];
      if (px < 0 || py < 0 || pz < 0 || px >= roi.nx || py >= roi.ny || pz >= roi.nz) continue;
      sum += roi.intensity[roi.index(px, py, pz)];
      ++count;
    }
    return sum / count;
  }
};

}  // namespace

void add_local_intensity_features(const RoiVolume& roi, FeatureRow& out) {
  SphereMean sphere(roi);
  double top = -INFINITY, local_peak = -INFINITY, global_peak = -INFINITY;
  for (std::size_t i = 0; i < roi.size(); ++i) {
    if (roi.int_mask[i]) top = std::max(top, double(roi.intensity[i]));
  }
  for (int z = 0; z < roi.nz; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x) {
        std::size_t i = roi.index(x, y, z);
        if (!roi.int_mask[i]) continue;
        double mean = sphere.at(x, y, z);
        global_peak = std::max(global_peak, mean);
        if (roi.intensity[i] == top) local_peak = std::max(local_peak, mean);
      }
  out.push_back({"loc_peak_loc_VJGA", local_peak});
  out.push_back({"loc_peak_glob_0F91", global_peak});
}

void add_statistics_features(const RoiVolume& roi, FeatureRow& out) {
  std::vector<double> v = region_values(roi);
  Moments m = moments_of(v);
  double energy = 0;
  for (double x : v) energy += x * x;
  out.insert(out.end(), {{"stat_mean_Q4LE", m.mean},
                         {"stat_var_ECT3", m.variance},
                         {"stat_skew_KE2A", m.skewness},
                         {"stat_kurt_IPH6", m.kurtosis},
                         {"stat_median_Y12H", m.median},
                         {"stat_min_1GSF", m.min},
                         {"stat_p10_QG58", m.p10},
                         {"stat_p90_8DWT", m.p90},
                         {"stat_max_84IY", m.max},
                         {"stat_iqr_SALO", m.iqr},
                         {"stat_range_2OJQ", m.range},
                         {"stat_mad_4FUA", m.mad},
                         {"stat_rmad_1128", m.rmad},
                         {"stat_medad_N72L", m.medad},
                         {"stat_cov_7TET", m.cov},
                         {"stat_qcod_9S40", m.qcod},
                         {"stat_energy_N8CA", energy},
                         {"stat_rms_5ZWQ", std::sqrt(energy / v.size())}});
}

void add_histogram_features(const RoiVolume& roi, FeatureRow& out) {
  std::vector<double> v = region_levels(roi);
  Moments m = moments_of(v);
  // the full (non-sparse) histogram over grey levels 1..Ng
  int ng = std::max(roi.level_count, static_cast<int>(m.max));
  std::vector<double> count(ng + 1, 0.0);
  for (double x : v) count[static_cast<int>(x)] += 1;
  double n = v.size(), entropy = 0, uniformity = 0;
  int mode = 1;
  for (int i = 1; i <= ng; ++i) {
    double p = count[i] / n;
    if (p > 0) entropy -= p * std::log2(p);
    uniformity += p * p;
    bool better = count[i] > count[mode] ||
                  (count[i] == count[mode] && std::abs(i - m.mean) < std::abs(mode - m.mean));
    if (better) mode = i;
  }
  double grad_max = -INFINITY, grad_min = INFINITY;
  int grad_max_at = 1, grad_min_at = 1;
  for (int i = 1; i <= ng; ++i) {
    double g = ng == 1   ? 0
               : i == 1  ? count[2] - count[1]
               : i == ng ? count[ng] - count[ng - 1]
                         : (count[i + 1] - count[i - 1]) / 2;
    if (g > grad_max) grad_max = g, grad_max_at = i;
    if (g < grad_min) grad_min = g, grad_min_at = i;
  }
  out.insert(out.end(), {{"ih_mean_X6K6", m.mean},
                         {"ih_var_CH89", m.variance},
                         {"ih_skew_88K1", m.skewness},
                         {"ih_kurt_C3I7", m.kurtosis},
                         {"ih_median_WIFQ", m.median},
                         {"ih_min_1PR8", m.min},
                         {"ih_p10_1PR8", m.p10},
                         {"ih_p90_GPMT", m.p90},
                         {"ih_max_3NCY", m.max},
                         {"ih_mode_AMMC", double(mode)},
                         {"ih_iqr_WR0O", m.iqr},
                         {"ih_range_5Z3W", m.range},
                         {"ih_mad_D2ZX", m.mad},
                         {"ih_rmad_WRZB", m.rmad},
                         {"ih_medad_4RNL", m.medad},
                         {"ih_cov_CWYJ", m.cov},
                         {"ih_qcod_SLWD", m.qcod},
                         {"ih_entropy_TLU2", entropy},
                         {"ih_uniformity_BJ5W", uniformity},
                         {"ih_max_grad_12CE", grad_max},
                         {"ih_max_grad_g_8E6O", double(grad_max_at)},
                         {"ih_min_grad_VQB3", grad_min},
                         {"ih_min_grad_g_RHQZ", double(grad_min_at)}});
}

namespace {

// The intensities the IVH is built on (X_d,gl), its range G = [g_min, g_max] and step w, per
// IBSI's three cases (discrete calibrated, continuous calibrated, arbitrary units) or the
// texture grey levels.
struct IvhInput {
  std::vector<double> xd;
  double g_min = 1, g_max = 1, w = 1;
};

IvhInput ivh_input(const RoiVolume& roi, const FeatureSettings& s) {
  IvhInput in;
  std::vector<double> raw = region_values(roi);
  const double raw_lo = *std::min_element(raw.begin(), raw.end());
  const double raw_hi = *std::max_element(raw.begin(), raw.end());
  const double lo = std::isnan(s.resegment_min) ? raw_lo : s.resegment_min;
  const double hi = std::isnan(s.resegment_max) ? raw_hi : s.resegment_max;
  if (s.ivh_intensities == "discretised") {
    in.xd = region_levels(roi);
    in.g_max = roi.level_count;
  } else if (s.ivh_intensities == "discrete") {
    for (double x : raw) in.xd.push_back(std::round(x));
    in.g_min = std::round(lo);
    in.g_max = std::round(hi);
  } else if (s.ivh_intensities == "continuous") {
    in.w = s.ivh_bin_width;
    for (double x : raw) in.xd.push_back(lo + (std::floor((x - lo) / in.w) + 0.5) * in.w);
    in.g_min = lo + 0.5 * in.w;
    in.g_max = hi - 0.5 * in.w;
  } else {  // arbitrary: fixed bin number
    const double n = s.ivh_bin_count;
    for (double x : raw) {
      in.xd.push_back(
          raw_hi > raw_lo ? std::min(n, std::floor(n * (x - raw_lo) / (raw_hi - raw_lo)) + 1) : 1);
    }
    in.g_max = n;
  }
  return in;
}

}  // namespace

void add_ivh_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  IvhInput in = ivh_input(roi, s);
  std::vector<double>& xd = in.xd;
  const double g_min = in.g_min, g_max = in.g_max, w = in.w;
  std::sort(xd.begin(), xd.end());
  double total = xd.size();
  auto volume_at = [&](double i) {  // fraction of voxels with X_d >= i
    auto first = std::lower_bound(xd.begin(), xd.end(), i - 1e-9 * w);
    return (xd.end() - first) / total;
  };
  double span = g_max - g_min;
  int steps = static_cast<int>(std::round(span / w));
  auto v_at_fraction = [&](double x) {  // the volume fraction at the first gamma >= x
    for (int k = 0; k <= steps; ++k) {
      double i = g_min + k * w;
      if (span <= 0 || (i - g_min) / span >= x - 1e-12) return volume_at(i);
    }
    return 0.0;
  };
  auto i_at_fraction = [&](double x) {  // the smallest intensity in at most x of the volume
    for (int k = 0; k <= steps + 1; ++k) {
      double i = g_min + k * w;
      if (volume_at(i) <= x + 1e-12) return i;
    }
    return g_max + w;
  };
  double v10 = v_at_fraction(0.1), v90 = v_at_fraction(0.9);
  double i10 = i_at_fraction(0.1), i90 = i_at_fraction(0.9);
  out.insert(out.end(), {{"ivh_v10_BC2M", v10},
                         {"ivh_v90_BC2M", v90},
                         {"ivh_i10_GBPN", i10},
                         {"ivh_i90_GBPN", i90},
                         {"ivh_diff_v10_v90_DDTU", v10 - v90},
                         {"ivh_diff_i10_i90_CNV2", i10 - i90}});
}

}  // namespace medpipe
