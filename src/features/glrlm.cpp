// features/glrlm.cpp: IBSI grey level run length matrix features, with the six aggregations.
#include <algorithm>

#include "features/texture.h"

namespace medpipe {

namespace {

const RunFeatureNames kRunNames = {
    "rlm",
    {"sre", "lre", "lgre", "hgre", "srlge", "srhge", "lrlge", "lrhge", "glnu", "glnu_norm", "rlnu",
     "rlnu_norm", "r_perc", "gl_var", "rl_var", "rl_entr"},
    {"22OV", "W4KF", "V3SW", "G3QZ", "HTZT", "GD3A", "IVPO", "3KUM", "R5YN", "OVBL", "W92Y", "IC23",
     "9ZK5", "8CE5", "SXLW", "HJ9O"}};

// Runs of equal grey level along `step` within slices [z_first, z_last]: every line of the slab
// along `step` is walked once from where it enters the slab, and each run counted where it ends.
CountMatrix count_runs(const RoiVolume& roi, int z_first, int z_last, const Offset& step) {
  CountMatrix m(roi.level_count, std::max({roi.nx, roi.ny, roi.nz}) + 1);
  const long stride =
      step[0] + static_cast<long>(roi.nx) * (step[1] + static_cast<long>(roi.ny) * step[2]);
  const int lo[3] = {0, 0, z_first}, hi[3] = {roi.nx - 1, roi.ny - 1, z_last};
  const int* levels = roi.levels.data();
  for (int z = z_first; z <= z_last; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x) {
        const int p[3] = {x, y, z};
        bool starts_line = false;
        int length = 1 << 30;  // voxels on the line from here to the slab's edge
        for (int a = 0; a < 3; ++a) {
          if (step[a] == 0) continue;
          int back = p[a] - step[a];
          starts_line = starts_line || back < lo[a] || back > hi[a];
          length = std::min(length, step[a] > 0 ? hi[a] - p[a] + 1 : p[a] - lo[a] + 1);
        }
        if (!starts_line) continue;
        long q = static_cast<long>(roi.index(x, y, z));
        int run_level = 0, run_length = 0;
        for (int k = 0; k < length; ++k, q += stride) {
          const int level = levels[q];
          m.voxels += level != 0;
          if (level == run_level) {
            ++run_length;
            continue;
          }
          if (run_level != 0) m.add(run_level, run_length);
          run_level = level;
          run_length = 1;
        }
        if (run_level != 0) m.add(run_level, run_length);
      }
  return m;
}

}  // namespace

void add_glrlm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  auto build = [&](int z_first, int z_last, int direction) {
    return count_runs(roi, z_first, z_last, texture_directions()[direction]);
  };
  auto features = [](const CountMatrix& m) { return run_like_features(m, false); };
  auto emit = [&](const std::vector<double>& v, const char* aggregation) {
    append_named(out, kRunNames, v, aggregation);
  };
  aggregate_over_directions(roi, s, build, features, emit);
}

}  // namespace medpipe
