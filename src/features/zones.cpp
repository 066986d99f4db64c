// features/zones.cpp: IBSI grey level size zone (GLSZM) and distance zone (GLDZM) features.
// Zones: linked voxels of one grey level (8-connected in a slice, 26-connected in 3D).
// Distances: to the region's edge in the morphological mask, 4- or 6-connected, edge voxels 1.
#include <algorithm>
#include <deque>

#include "features/texture.h"

namespace medpipe {

namespace {

const RunFeatureNames kSizeNames = {
    "szm",
    {"sze", "lze", "lgze", "hgze", "szlge", "szhge", "lzlge", "lzhge", "glnu", "glnu_norm", "zsnu",
     "zsnu_norm", "z_perc", "gl_var", "zs_var", "zs_entr"},
    {"5QRC", "48P8", "XMSY", "5GN9", "5RAI", "HW1V", "YH51", "J17V", "JNSA", "Y1RO", "4JP3", "VB3A",
     "P30P", "BYLV", "3NSA", "GU8N"}};

const RunFeatureNames kDistanceNames = {
    "dzm",
    {"sde", "lde", "lgze", "hgze", "sdlge", "sdhge", "ldlge", "ldhge", "glnu", "glnu_norm", "zdnu",
     "zdnu_norm", "z_perc", "gl_var", "zd_var", "zd_entr"},
    {"0GBI", "MB4I", "S1RA", "K26C", "RUVG", "DKNJ", "A7WM", "KLTH", "VFT7", "7HP3", "V294", "IATH",
     "VIWW", "QK93", "7WT1", "GBDU"}};

struct Zone {
  int level;
  int size;
  int distance;  // smallest edge distance of its voxels
};

// Edge distance of each morphological-mask voxel within slices [z_first, z_last]: 1 next to a
// voxel outside the mask (or outside the image or slice range), growing inwards.
std::vector<int> edge_distances(const RoiVolume& roi, int z_first, int z_last, bool three_d) {
  std::vector<int> distance(roi.size(), 0);
  std::deque<std::size_t> queue;
  const Offset steps[6] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
  const int step_count = three_d ? 6 : 4;
  auto in_mask = [&](int x, int y, int z) {
    return x >= 0 && y >= 0 && z >= z_first && x < roi.nx && y < roi.ny && z <= z_last &&
           roi.morph_mask[roi.index(x, y, z)];
  };
  for (int z = z_first; z <= z_last; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x) {
        if (!in_mask(x, y, z)) continue;
        for (int k = 0; k < step_count; ++k) {
          if (!in_mask(x + steps[k][0], y + steps[k][1], z + steps[k][2])) {
            distance[roi.index(x, y, z)] = 1;
            queue.push_back(roi.index(x, y, z));
            break;
          }
        }
      }
  while (!queue.empty()) {
    std::size_t i = queue.front();
    queue.pop_front();
    int x = static_cast<int>(i % roi.nx), y = static_cast<int>((i / roi.nx) % roi.ny),
        z = static_cast<int>(i / (static_cast<std::size_t>(roi.nx) * roi.ny));
    for (int k = 0; k < step_count; ++k) {
      int qx = x + steps[k][0], qy = y + steps[k][1], qz = z + steps[k][2];
      if (!in_mask(qx, qy, qz)) continue;
      std::size_t q = roi.index(qx, qy, qz);
      if (distance[q] == 0) {
        distance[q] = distance[i] + 1;
        queue.push_back(q);
      }
    }
  }
  return distance;
}

// Zones of the intensity mask within slices [z_first, z_last] and their voxel count.
std::vector<Zone> find_zones(const RoiVolume& roi, int z_first, int z_last, bool three_d,
                             const std::vector<int>* distance, double& voxels) {
  std::vector<Offset> neighbours;
  for (int dz = three_d ? -1 : 0; dz <= (three_d ? 1 : 0); ++dz)
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        if (dx || dy || dz) neighbours.push_back({dx, dy, dz});
  std::vector<std::uint8_t> seen(roi.size(), 0);
  std::vector<Zone> zones;
  std::vector<std::size_t> stack;
  voxels = 0;
  for (int z = z_first; z <= z_last; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x) {
        std::size_t start = roi.index(x, y, z);
        int level = roi.levels[start];
        if (level == 0) continue;
        voxels += 1;
        if (seen[start]) continue;
        Zone zone{level, 0, 1 << 30};
        seen[start] = 1;
        stack.push_back(start);
        while (!stack.empty()) {
          std::size_t i = stack.back();
          stack.pop_back();
          ++zone.size;
          if (distance) zone.distance = std::min(zone.distance, std::max(1, (*distance)[i]));
          int cx = static_cast<int>(i % roi.nx), cy = static_cast<int>((i / roi.nx) % roi.ny),
              cz = static_cast<int>(i / (static_cast<std::size_t>(roi.nx) * roi.ny));
          for (const auto& n : neighbours) {
            int qx = cx + n[0], qy = cy + n[1], qz = cz + n[2];
            if (qx < 0 || qy < 0 || qz < z_first || qx >= roi.nx || qy >= roi.ny || qz > z_last) {
              continue;
            }
            std::size_t q = roi.index(qx, qy, qz);
            if (!seen[q] && roi.levels[q] == level) {
              seen[q] = 1;
              stack.push_back(q);
            }
          }
        }
        zones.push_back(zone);
      }
  return zones;
}

}  // namespace

void add_glszm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  auto build = [&](int z_first, int z_last, bool three_d) {
    CountMatrix m;
    for (const Zone& zone : find_zones(roi, z_first, z_last, three_d, nullptr, m.voxels)) {
      m.add(zone.level, zone.size);
    }
    return m;
  };
  auto features = [](const CountMatrix& m) { return run_like_features(m, false); };
  auto emit = [&](const std::vector<double>& v, const char* aggregation) {
    append_named(out, kSizeNames, v, aggregation);
  };
  aggregate_over_slices(roi, s, build, features, emit);
}

void add_gldzm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  auto build = [&](int z_first, int z_last, bool three_d) {
    std::vector<int> distance = edge_distances(roi, z_first, z_last, three_d);
    CountMatrix m;
    for (const Zone& zone : find_zones(roi, z_first, z_last, three_d, &distance, m.voxels)) {
      m.add(zone.level, zone.distance);
    }
    return m;
  };
  auto features = [](const CountMatrix& m) { return run_like_features(m, false); };
  auto emit = [&](const std::vector<double>& v, const char* aggregation) {
    append_named(out, kDistanceNames, v, aggregation);
  };
  aggregate_over_slices(roi, s, build, features, emit);
}

}  // namespace medpipe
