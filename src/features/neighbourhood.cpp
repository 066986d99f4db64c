// features/neighbourhood.cpp: IBSI neighbourhood grey tone difference (NGTDM) and neighbouring
// grey level dependence (NGLDM) features, over the Chebyshev-distance-1 neighbourhood within the
// intensity mask (8 voxels in a slice, 26 in 3D).
#include <cmath>
#include <cstdlib>
#include <limits>

#include "features/texture.h"

namespace medpipe {

namespace {

const RunFeatureNames kDependenceNames = {
    "ngl",
    {"lde", "hde", "lgce", "hgce", "ldlge", "ldhge", "hdlge", "hdhge", "glnu", "glnu_norm", "dcnu",
     "dcnu_norm", "dc_perc", "gl_var", "dc_var", "dc_entr"},
    {"SODN", "IMOQ", "TL9H", "OAE7", "EQ3F", "JA6D", "NBZI", "9QMG", "FP8K", "5SPA", "Z87G", "OKJI",
     "6XV8", "1PFV", "DNX2", "FCBV"}};

// Calls visit(level, neighbour levels in the mask) for every intensity-mask voxel in slices
// [z_first, z_last].
template <class Visit>
void for_each_neighbourhood(const RoiVolume& roi, int z_first, int z_last, bool three_d,
                            Visit visit) {
  std::vector<Offset> offsets;
  for (int dz = three_d ? -1 : 0; dz <= (three_d ? 1 : 0); ++dz)
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        if (dx || dy || dz) offsets.push_back({dx, dy, dz});
  int neighbour_levels[26];
  for (int z = z_first; z <= z_last; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x) {
        int level = roi.levels[roi.index(x, y, z)];
        if (level == 0) continue;
        int count = 0;
        for (const auto& o : offsets) {
          int qx = x + o[0], qy = y + o[1], qz = z + o[2];
          if (qx < 0 || qy < 0 || qz < z_first || qx >= roi.nx || qy >= roi.ny || qz > z_last) {
            continue;
          }
          int q = roi.levels[roi.index(qx, qy, qz)];
          if (q != 0) neighbour_levels[count++] = q;
        }
        visit(level, neighbour_levels, count);
      }
}

// NGTDM: per grey level, the voxels with a neighbourhood (n) and their summed |level - mean|.
struct ToneMatrix {
  std::vector<double> n, s;
  void merge(const ToneMatrix& other) {
    for (std::size_t i = 0; i < n.size(); ++i) {
      n[i] += other.n[i];
      s[i] += other.s[i];
    }
  }
  bool empty() const {
    for (double x : n)
      if (x > 0) return false;
    return true;
  }
};

std::vector<double> ngtdm_values(const ToneMatrix& m) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double nvc = 0, s_total = 0, ps = 0;
  for (std::size_t i = 1; i < m.n.size(); ++i) {
    nvc += m.n[i];
    s_total += m.s[i];
  }
  std::vector<int> present;
  for (std::size_t i = 1; i < m.n.size(); ++i) {
    if (m.n[i] > 0) present.push_back(static_cast<int>(i));
  }
  for (int i : present) ps += m.n[i] / nvc * m.s[i];
  double contrast_sum = 0, busyness_sum = 0, complexity = 0, strength = 0;
  for (int i : present) {
    double pi = m.n[i] / nvc;
    for (int j : present) {
      double pj = m.n[j] / nvc;
      contrast_sum += pi * pj * (i - j) * (i - j);
      busyness_sum += std::abs(i * pi - j * pj);
      complexity += std::abs(i - j) * (pi * m.s[i] + pj * m.s[j]) / (pi + pj);
      strength += (pi + pj) * (i - j) * (i - j);
    }
  }
  double ng = present.size();
  double coarseness = ps > 0 ? 1.0 / ps : nan;
  double contrast = ng > 1 ? contrast_sum / (ng * (ng - 1)) * s_total / nvc : nan;
  double busyness = busyness_sum > 0 ? ps / busyness_sum : nan;
  return {coarseness, contrast, busyness, complexity / nvc, s_total > 0 ? strength / s_total : nan};
}

}  // namespace

void add_ngtdm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  auto build = [&](int z_first, int z_last, bool three_d) {
    ToneMatrix m;
    m.n.assign(roi.level_count + 1, 0.0);
    m.s.assign(roi.level_count + 1, 0.0);
    for_each_neighbourhood(roi, z_first, z_last, three_d,
                           [&](int level, const int* neighbours, int count) {
                             if (count == 0) return;
                             double sum = 0;
                             for (int k = 0; k < count; ++k) sum += neighbours[k];
                             m.n[level] += 1;
                             m.s[level] += std::abs(level - sum / count);
                           });
    return m;
  };
  auto emit = [&](const std::vector<double>& v, const char* aggregation) {
    const char* names[5][2] = {{"coarseness", "QCDE"},
                               {"contrast", "65HE"},
                               {"busyness", "NQ30"},
                               {"complexity", "HDEZ"},
                               {"strength", "1X9X"}};
    for (int k = 0; k < 5; ++k) {
      double value =
          k < static_cast<int>(v.size()) ? v[k] : std::numeric_limits<double>::quiet_NaN();
      out.push_back(
          {std::string("ngt_") + names[k][0] + "_" + names[k][1] + "_" + aggregation, value});
    }
  };
  aggregate_over_slices(roi, s, build, ngtdm_values, emit);
}

void add_ngldm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  auto build = [&](int z_first, int z_last, bool three_d) {
    CountMatrix m;
    for_each_neighbourhood(roi, z_first, z_last, three_d,
                           [&](int level, const int* neighbours, int count) {
                             int dependence = 1;
                             for (int k = 0; k < count; ++k) {
                               if (std::abs(neighbours[k] - level) <= s.ngldm_alpha) ++dependence;
                             }
                             m.add(level, dependence);
                             m.voxels += 1;
                           });
    return m;
  };
  auto features = [](const CountMatrix& m) { return run_like_features(m, true); };
  auto emit = [&](const std::vector<double>& v, const char* aggregation) {
    append_named(out, kDependenceNames, v, aggregation, "dc_energy", "CAS9");
  };
  aggregate_over_slices(roi, s, build, features, emit);
}

}  // namespace medpipe
