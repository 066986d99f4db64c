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

// Edge distance of each morphological-mask voxel of slices [z_first, z_last] (indexed from the
// slab's first voxel): 1 next to a voxel outside the mask (or outside the image or slab),
// growing inwards.
std::vector<int> edge_distances(const RoiVolume& roi, int z_first, int z_last, bool three_d) {
  const std::size_t base = roi.index(0, 0, z_first);
  const std::size_t plane = static_cast<std::size_t>(roi.nx) * roi.ny;
  std::vector<int> distance(plane * (z_last - z_first + 1), 0);
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
            distance[roi.index(x, y, z) - base] = 1;
            queue.push_back(roi.index(x, y, z));
            break;
          }
        }
      }
  while (!queue.empty()) {
    std::size_t i = queue.front();
    queue.pop_front();
    int x = static_cast<int>(i % roi.nx), y = static_cast<int>((i / roi.nx) % roi.ny),
        z = static_cast<int>(i / plane);
    for (int k = 0; k < step_count; ++k) {
      int qx = x + steps[k][0], qy = y + steps[k][1], qz = z + steps[k][2];
      if (!in_mask(qx, qy, qz)) continue;
      std::size_t q = roi.index(qx, qy, qz);
      if (distance[q - base] == 0) {
        distance[q - base] = distance[i - base] + 1;
        queue.push_back(q);
      }
    }
  }
  return distance;
}

std::uint32_t find_root(std::vector<std::uint32_t>& parent, std::uint32_t v) {
  while (parent[v] != v) {
    parent[v] = parent[parent[v]];  // path halving
    v = parent[v];
  }
  return v;
}

// Zones of the intensity mask within slices [z_first, z_last], by union-find in raster order
// (each voxel joined to its earlier neighbours of the same level), and the voxels counted.
std::vector<Zone> find_zones(const RoiVolume& roi, int z_first, int z_last, bool three_d,
                             const std::vector<int>* distance, double& voxels) {
  std::vector<Offset> earlier;  // the neighbours that come before a voxel in raster order
  for (int dz = three_d ? -1 : 0; dz <= 0; ++dz)
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        if (dz < 0 || dy < 0 || (dy == 0 && dx < 0)) earlier.push_back({dx, dy, dz});
      }
  const std::size_t base = roi.index(0, 0, z_first);
  const std::size_t count = static_cast<std::size_t>(roi.nx) * roi.ny * (z_last - z_first + 1);
  const std::uint32_t none = 0xffffffffu;
  std::vector<std::uint32_t> parent(count, none);
  const int* levels = roi.levels.data() + base;
  voxels = 0;
  for (int z = 0; z <= z_last - z_first; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x) {
        const std::uint32_t v =
            static_cast<std::uint32_t>((static_cast<std::size_t>(z) * roi.ny + y) * roi.nx + x);
        const int level = levels[v];
        if (level == 0) continue;
        voxels += 1;
        parent[v] = v;
        for (const auto& o : earlier) {
          int qx = x + o[0], qy = y + o[1], qz = z + o[2];
          if (qx < 0 || qy < 0 || qz < 0 || qx >= roi.nx || qy >= roi.ny) continue;
          std::uint32_t q = static_cast<std::uint32_t>(
              (static_cast<std::size_t>(qz) * roi.ny + qy) * roi.nx + qx);
          if (levels[q] != level) continue;
          std::uint32_t a = find_root(parent, v), b = find_root(parent, q);
          if (a != b) parent[std::max(a, b)] = std::min(a, b);
        }
      }
  std::vector<std::uint32_t> zone_of(count, none);
  std::vector<Zone> zones;
  for (std::uint32_t v = 0; v < count; ++v) {
    if (parent[v] == none) continue;
    std::uint32_t root = find_root(parent, v);
    if (zone_of[root] == none) {
      zone_of[root] = static_cast<std::uint32_t>(zones.size());
      zones.push_back({levels[v], 0, 1 << 30});
    }
    Zone& zone = zones[zone_of[root]];
    ++zone.size;
    if (distance) zone.distance = std::min(zone.distance, std::max(1, (*distance)[v]));
  }
  return zones;
}

}  // namespace

void add_glszm_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  auto build = [&](int z_first, int z_last, bool three_d) {
    CountMatrix m(roi.level_count, 257);  // zones of up to 256 voxels counted densely
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
    CountMatrix m(roi.level_count, std::max({roi.nx, roi.ny, roi.nz}) + 1);
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
