#include "features/mesh.h"

#include <cmath>
#include <map>
#include <unordered_map>

namespace medpipe {

namespace {

// Corner c of a cube sits at (c & 1, (c >> 1) & 1, (c >> 2) & 1). Faces list their corners
// counter-clockwise as seen from outside the cube.
constexpr int kFaces[6][4] = {{0, 4, 6, 2}, {1, 3, 7, 5}, {0, 1, 5, 4},
                              {2, 6, 7, 3}, {0, 2, 3, 1}, {4, 5, 7, 6}};

int edge_id(int a, int b) {
  return a < b ? a * 8 + b : b * 8 + a;
}

// For each of the 256 corner patterns: the directed segments (edge -> edge) of the surface on
// the cube's faces, chained into loops. A crossing where the face boundary leaves the region is
// joined to the nearest following crossing where it enters: on an ambiguous face (two diagonal
// corners inside) this cuts off the outside corners, joining the inside ones, and every crossing
// gets one outgoing and one incoming segment.
struct CubeCase {
  std::vector<std::vector<int>> loops;  // each a cycle of edge ids
  std::vector<std::size_t> fan_start;   // per loop: the vertex its triangle fan starts from
};

std::array<double, 3> edge_midpoint(int edge) {
  int a = edge / 8, b = edge % 8;
  return {((a & 1) + (b & 1)) / 2.0, (((a >> 1) & 1) + ((b >> 1) & 1)) / 2.0,
          ((a >> 2) + (b >> 2)) / 2.0};
}

// Twice the area of the triangle fan of `loop` from its vertex `start` (unit cube).
double fan_area2(const std::vector<int>& loop, std::size_t start) {
  double total = 0;
  const std::size_t n = loop.size();
  for (std::size_t k = 1; k + 1 < n; ++k) {
    auto a = edge_midpoint(loop[start]), b = edge_midpoint(loop[(start + k) % n]),
         c = edge_midpoint(loop[(start + k + 1) % n]);
    double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]},
           v[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    double x = u[1] * v[2] - u[2] * v[1], y = u[2] * v[0] - u[0] * v[2],
           z = u[0] * v[1] - u[1] * v[0];
    total += std::sqrt(x * x + y * y + z * z);
  }
  return total;
}

std::vector<CubeCase> build_cases() {
  std::vector<CubeCase> cases(256);
  for (int pattern = 0; pattern < 256; ++pattern) {
    auto inside = [&](int corner) { return (pattern >> corner) & 1; };
    std::map<int, int> next;
    for (const auto& face : kFaces) {
      for (int k = 0; k < 4; ++k) {
        int a = face[k], b = face[(k + 1) % 4];
        if (!(inside(a) && !inside(b))) continue;  // leaves the region here
        for (int ahead = 1; ahead <= 4; ++ahead) {
          int c = face[(k + ahead) % 4], d = face[(k + ahead + 1) % 4];
          if (!inside(c) && inside(d)) {
            next[edge_id(a, b)] = edge_id(c, d);
            break;
          }
        }
      }
    }
    while (!next.empty()) {
      std::vector<int> loop;
      int start = next.begin()->first, at = start;
      do {
        loop.push_back(at);
        int following = next.at(at);
        next.erase(at);
        at = following;
      } while (at != start);
      cases[pattern].loops.push_back(loop);
    }
  }
  // A loop of more than 3 vertices is generally not planar and its fans differ. Taking the fan of
  // largest area reproduces the common marching cubes tables' triangulation on IBSI's phantoms
  // (digital phantom: the same volume and area as scikit-image; CT phantom within 0.01%).
  for (auto& c : cases) {
    for (const auto& loop : c.loops) {
      std::size_t best = 0;
      for (std::size_t start = 1; start < loop.size(); ++start) {
        if (fan_area2(loop, start) > fan_area2(loop, best) + 1e-12) best = start;
      }
      c.fan_start.push_back(best);
    }
  }
  return cases;
}

const std::vector<CubeCase>& cube_cases() {
  static const std::vector<CubeCase> cases = build_cases();
  return cases;
}

// Area (sum of the triangles') and volume (divergence theorem: signed tetrahedra from the
// origin; the sign depends only on the orientation, which is consistent).
void measure(Mesh& mesh) {
  double signed_volume6 = 0, area2 = 0;
  for (const auto& t : mesh.triangles) {
    const auto &a = mesh.vertices[t[0]], &b = mesh.vertices[t[1]], &c = mesh.vertices[t[2]];
    std::array<double, 3> ab{b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    std::array<double, 3> ac{c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    std::array<double, 3> cross{ab[1] * ac[2] - ab[2] * ac[1], ab[2] * ac[0] - ab[0] * ac[2],
                                ab[0] * ac[1] - ab[1] * ac[0]};
    area2 += std::sqrt(cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]);
    signed_volume6 += a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) +
                      a[2] * (b[0] * c[1] - b[1] * c[0]);
  }
  mesh.volume_mm3 = std::abs(signed_volume6) / 6.0;
  mesh.area_mm2 = area2 / 2.0;
}

}  // namespace

Mesh mesh_of_mask(const std::vector<std::uint8_t>& mask, int nx, int ny, int nz,
                  const std::array<double, 3>& spacing_mm) {
  auto at = [&](int x, int y, int z) -> int {  // the padded mask
    if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) return 0;
    return mask[(static_cast<std::size_t>(z) * ny + y) * nx + x] ? 1 : 0;
  };
  Mesh mesh;
  // vertices keyed by twice their grid position (edge midpoints are half-integers)
  std::unordered_map<std::uint64_t, int> vertex_of;
  auto vertex = [&](int x2, int y2, int z2) {
    std::uint64_t key = (static_cast<std::uint64_t>(x2 + 4) << 42) |
                        (static_cast<std::uint64_t>(y2 + 4) << 21) |
                        static_cast<std::uint64_t>(z2 + 4);
    auto [it, added] = vertex_of.try_emplace(key, static_cast<int>(mesh.vertices.size()));
    if (added) {
      mesh.vertices.push_back(
          {x2 * 0.5 * spacing_mm[0], y2 * 0.5 * spacing_mm[1], z2 * 0.5 * spacing_mm[2]});
    }
    return it->second;
  };
  for (int z = -1; z < nz; ++z)
    for (int y = -1; y < ny; ++y)
      for (int x = -1; x < nx; ++x) {
        int pattern = 0;
        for (int c = 0; c < 8; ++c)
          pattern |= at(x + (c & 1), y + ((c >> 1) & 1), z + (c >> 2)) << c;
        if (pattern == 0 || pattern == 255) continue;
        for (const auto& loop : cube_cases()[pattern].loops) {
          std::vector<int> ids;
          for (int edge : loop) {
            int a = edge / 8, b = edge % 8;
            ids.push_back(vertex(2 * x + (a & 1) + (b & 1), 2 * y + ((a >> 1) & 1) + ((b >> 1) & 1),
                                 2 * z + (a >> 2) + (b >> 2)));
          }
          const std::size_t k0 =
              cube_cases()[pattern].fan_start[&loop - &cube_cases()[pattern].loops[0]];
          for (std::size_t k = 1; k + 1 < ids.size(); ++k) {
            mesh.triangles.push_back(
                {ids[k0], ids[(k0 + k) % ids.size()], ids[(k0 + k + 1) % ids.size()]});
          }
        }
      }
  measure(mesh);
  return mesh;
}

Outline outline_of_slice(const std::vector<std::uint8_t>& mask, int nx, int ny, int z,
                         const std::array<double, 3>& spacing_mm) {
  auto at = [&](int x, int y) -> int {
    if (x < 0 || y < 0 || x >= nx || y >= ny) return 0;
    return mask[(static_cast<std::size_t>(z) * ny + y) * nx + x] ? 1 : 0;
  };
  // corners of a square counter-clockwise: (0,0), (1,0), (1,1), (0,1)
  const int corner[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
  Outline outline;
  std::map<std::pair<int, int>, int> seen;
  auto midpoint = [&](int x, int y, int k) {  // of edge k -> k+1, in mm
    int x2 = 2 * x + corner[k][0] + corner[(k + 1) % 4][0];
    int y2 = 2 * y + corner[k][1] + corner[(k + 1) % 4][1];
    if (seen.emplace(std::make_pair(x2, y2), 0).second) {
      outline.points.push_back({x2 * 0.5 * spacing_mm[0], y2 * 0.5 * spacing_mm[1]});
    }
    return std::array<double, 2>{x2 * 0.5 * spacing_mm[0], y2 * 0.5 * spacing_mm[1]};
  };
  double twice_area = 0;
  for (int y = -1; y < ny; ++y)
    for (int x = -1; x < nx; ++x) {
      int in[4];
      for (int k = 0; k < 4; ++k) in[k] = at(x + corner[k][0], y + corner[k][1]);
      for (int k = 0; k < 4; ++k) {
        if (!(in[k] && !in[(k + 1) % 4])) continue;
        for (int ahead = 1; ahead <= 4; ++ahead) {
          int c = (k + ahead) % 4, d = (c + 1) % 4;
          if (!in[c] && in[d]) {
            auto p = midpoint(x, y, k), q = midpoint(x, y, c);
            outline.perimeter_mm += std::hypot(q[0] - p[0], q[1] - p[1]);
            twice_area += p[0] * q[1] - q[0] * p[1];
            break;
          }
        }
      }
    }
  outline.area_mm2 = std::abs(twice_area) / 2.0;
  return outline;
}

}  // namespace medpipe
