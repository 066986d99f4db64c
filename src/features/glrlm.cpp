// features/glrlm.cpp: IBSI grey level run length matrix features, with the six aggregations.
#include "features/texture.h"

namespace medpipe {

namespace {

const RunFeatureNames kRunNames = {
    "rlm",
    {"sre", "lre", "lgre", "hgre", "srlge", "srhge", "lrlge", "lrhge", "glnu", "glnu_norm", "rlnu",
     "rlnu_norm", "r_perc", "gl_var", "rl_var", "rl_entr"},
    {"22OV", "W4KF", "V3SW", "G3QZ", "HTZT", "GD3A", "IVPO", "3KUM", "R5YN", "OVBL", "W92Y", "IC23",
     "9ZK5", "8CE5", "SXLW", "HJ9O"}};

// Runs of equal grey level along `step` within slices [z_first, z_last].
CountMatrix count_runs(const RoiVolume& roi, int z_first, int z_last, const Offset& step) {
  CountMatrix m;
  auto inside = [&](int x, int y, int z) {
    return x >= 0 && y >= 0 && z >= z_first && x < roi.nx && y < roi.ny && z <= z_last;
  };
  for (int z = z_first; z <= z_last; ++z) {
    for (int y = 0; y < roi.ny; ++y) {
      for (int x = 0; x < roi.nx; ++x) {
        int level = roi.levels[roi.index(x, y, z)];
        if (level == 0) continue;
        m.voxels += 1;
        int px = x - step[0], py = y - step[1], pz = z - step[2];
        if (inside(px, py, pz) && roi.levels[roi.index(px, py, pz)] == level) continue;
        int length = 1;
        int qx = x + step[0], qy = y + step[1], qz = z + step[2];
        while (inside(qx, qy, qz) && roi.levels[roi.index(qx, qy, qz)] == level) {
          ++length;
          qx += step[0];
          qy += step[1];
          qz += step[2];
        }
        m.add(level, length);
      }
    }
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
