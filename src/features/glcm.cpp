// features/glcm.cpp: IBSI grey level co-occurrence matrix features (symmetric matrices at
// Chebyshev distance glcm_distance), with the six IBSI aggregations.
#include <algorithm>
#include <cmath>
#include <limits>

#include "features/texture.h"

namespace medpipe {

namespace {

struct CoMatrix {
  int ng = 0;
  std::vector<double> counts;  // ng x ng, levels 1..ng at index level - 1
  double total = 0;
  void merge(const CoMatrix& other) {
    for (std::size_t k = 0; k < counts.size(); ++k) counts[k] += other.counts[k];
    total += other.total;
  }
  bool empty() const { return total == 0; }
};

// Pairs (voxel, voxel + step) within slices [z_first, z_last], counted one way and then made
// symmetric.
CoMatrix count_pairs(const RoiVolume& roi, int z_first, int z_last, const Offset& step) {
  CoMatrix m;
  m.ng = roi.level_count;
  const std::size_t ng = m.ng;
  std::vector<double> one_way((ng + 1) * (ng + 1), 0.0);  // level 0: outside the mask
  const int x_first = std::max(0, -step[0]), x_last = std::min(roi.nx, roi.nx - step[0]);
  for (int z = z_first; z <= z_last; ++z) {
    const int nz = z + step[2];
    if (nz < z_first || nz > z_last) continue;
    for (int y = 0; y < roi.ny; ++y) {
      const int ny = y + step[1];
      if (ny < 0 || ny >= roi.ny) continue;
      const int* a = roi.levels.data() + roi.index(0, y, z);
      const int* b = roi.levels.data() + roi.index(0, ny, nz) + step[0];
      for (int x = x_first; x < x_last; ++x) one_way[a[x] * (ng + 1) + b[x]] += 1;
    }
  }
  m.counts.assign(ng * ng, 0.0);
  for (std::size_t i = 1; i <= ng; ++i)
    for (std::size_t j = 1; j <= ng; ++j) {
      double n = one_way[i * (ng + 1) + j];
      if (n == 0) continue;
      m.counts[(i - 1) * ng + (j - 1)] += n;
      m.counts[(j - 1) * ng + (i - 1)] += n;
      m.total += 2 * n;
    }
  return m;
}

// Features of the difference (|i - j|) and sum (i + j) distributions.
struct Marginals {
  double diff_avg = 0, diff_var = 0, diff_entropy = 0, id = 0, idn = 0, idm = 0, idmn = 0,
         inv_var = 0, sum_avg = 0, sum_var = 0, sum_entropy = 0;
};

Marginals marginal_features(const std::vector<double>& diff, const std::vector<double>& sum,
                            int ng) {
  Marginals d;
  for (int k = 0; k < ng; ++k) {
    double p = diff[k];
    if (p == 0) continue;
    d.diff_avg += k * p;
    d.diff_entropy -= p * std::log2(p);
    d.id += p / (1.0 + k);
    d.idn += p / (1.0 + double(k) / ng);
    d.idm += p / (1.0 + double(k) * k);
    d.idmn += p / (1.0 + (double(k) / ng) * (double(k) / ng));
    if (k > 0) d.inv_var += p / (double(k) * k);
  }
  for (int k = 0; k < ng; ++k) d.diff_var += (k - d.diff_avg) * (k - d.diff_avg) * diff[k];
  for (int k = 2; k <= 2 * ng; ++k) {
    d.sum_avg += k * sum[k];
    if (sum[k] > 0) d.sum_entropy -= sum[k] * std::log2(sum[k]);
  }
  for (int k = 2; k <= 2 * ng; ++k) d.sum_var += (k - d.sum_avg) * (k - d.sum_avg) * sum[k];
  return d;
}

std::vector<double> glcm_values(const CoMatrix& m) {
  const int ng = m.ng;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> px(ng, 0.0), diff(ng, 0.0), sum(2 * ng + 1, 0.0);
  double joint_max = 0, mu = 0, entropy = 0, asm_ = 0, contrast = 0, dissimilarity = 0, auto_ = 0;
  for (int i = 1; i <= ng; ++i) {
    for (int j = 1; j <= ng; ++j) {
      double p = m.counts[static_cast<std::size_t>(i - 1) * ng + (j - 1)] / m.total;
      if (p == 0) continue;
      px[i - 1] += p;
      diff[std::abs(i - j)] += p;
      sum[i + j] += p;
      joint_max = std::max(joint_max, p);
      mu += i * p;
      entropy -= p * std::log2(p);
      asm_ += p * p;
      contrast += (i - j) * (i - j) * p;
      dissimilarity += std::abs(i - j) * p;
      auto_ += double(i) * j * p;
    }
  }
  double joint_var = 0, var_x = 0, cov = 0, tendency = 0, shade = 0, prominence = 0, hxy1 = 0,
         hxy2 = 0, hx = 0;
  for (int i = 1; i <= ng; ++i) {
    if (px[i - 1] > 0) {
      var_x += (i - mu) * (i - mu) * px[i - 1];
      hx -= px[i - 1] * std::log2(px[i - 1]);
    }
    for (int j = 1; j <= ng; ++j) {
      double pxy = px[i - 1] * px[j - 1];
      if (pxy > 0) hxy2 -= pxy * std::log2(pxy);
      double p = m.counts[static_cast<std::size_t>(i - 1) * ng + (j - 1)] / m.total;
      if (p == 0) continue;
      joint_var += (i - mu) * (i - mu) * p;
      cov += (i - mu) * (j - mu) * p;
      double c = i + j - 2 * mu;
      tendency += c * c * p;
      shade += c * c * c * p;
      prominence += c * c * c * c * p;
      hxy1 -= p * std::log2(pxy);
    }
  }
  Marginals d = marginal_features(diff, sum, ng);
  double correlation = var_x > 0 ? cov / var_x : nan;
  double imc1 = hx > 0 ? (entropy - hxy1) / hx : nan;
  double imc2 = std::sqrt(std::max(0.0, 1 - std::exp(-2 * (hxy2 - entropy))));
  return {
      joint_max, mu,         joint_var,     entropy,   d.diff_avg,  d.diff_var,    d.diff_entropy,
      d.sum_avg, d.sum_var,  d.sum_entropy, asm_,      contrast,    dissimilarity, d.id,
      d.idn,     d.idm,      d.idmn,        d.inv_var, correlation, auto_,         tendency,
      shade,     prominence, imc1,          imc2};
}

const char* const kNames[25][2] = {{"joint_max", "GYBY"},
                                   {"joint_avg", "60VM"},
                                   {"joint_var", "UR99"},
                                   {"joint_entr", "TU9B"},
                                   {"diff_avg", "TF7R"},
                                   {"diff_var", "D3YU"},
                                   {"diff_entr", "NTRS"},
                                   {"sum_avg", "ZGXS"},
                                   {"sum_var", "OEEB"},
                                   {"sum_entr", "P6QZ"},
                                   {"energy", "8ZQL"},
                                   {"contrast", "ACUI"},
                                   {"dissimilarity", "8S9J"},
                                   {"inv_diff", "IB1Z"},
                                   {"inv_diff_norm", "NDRX"},
                                   {"inv_diff_mom", "WF0Z"},
                                   {"inv_diff_mom_norm", "1QCO"},
                                   {"inv_var", "E8JP"},
                                   {"corr", "NI2N"},
                                   {"auto_corr", "QWB0"},
                                   {"clust_tend", "DG8W"},
                                   {"clust_shade", "7NFM"},
                                   {"clust_prom", "AE86"},
                                   {"info_corr1", "R8DG"},
                                   {"info_corr2", "JN9H"}};

}  // namespace

void add_glcm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  auto build = [&](int z_first, int z_last, int direction) {
    Offset step = texture_directions()[direction];
    for (int& c : step) c *= s.glcm_distance;
    return count_pairs(roi, z_first, z_last, step);
  };
  auto emit = [&](const std::vector<double>& v, const char* aggregation) {
    for (int k = 0; k < 25; ++k) {
      double value =
          k < static_cast<int>(v.size()) ? v[k] : std::numeric_limits<double>::quiet_NaN();
      out.push_back(
          {std::string("cm_") + kNames[k][0] + "_" + kNames[k][1] + "_" + aggregation, value});
    }
  };
  aggregate_over_directions(roi, s, build, glcm_values, emit);
}

}  // namespace medpipe
