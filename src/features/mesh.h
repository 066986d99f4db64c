// features/mesh.h: the surface of a binary mask as a closed triangle mesh (marching cubes at
// level 0.5 on the mask padded with one empty voxel; vertices halfway between voxel centres), and
// the outline of a 2D mask (marching squares). Both resolve ambiguous faces the same way
// (inside corners kept apart), so neighbouring cubes agree and the mesh is watertight.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace medpipe {

struct Mesh {
  std::vector<std::array<double, 3>> vertices;  // mm, each vertex once
  std::vector<std::array<int, 3>> triangles;    // consistently oriented
  double volume_mm3 = 0;
  double area_mm2 = 0;
};

// mask: nx * ny * nz, x fastest; spacing along x, y, z.
Mesh mesh_of_mask(const std::vector<std::uint8_t>& mask, int nx, int ny, int nz,
                  const std::array<double, 3>& spacing_mm);

struct Outline {
  std::vector<std::array<double, 2>> points;  // mm, each once
  double area_mm2 = 0;
  double perimeter_mm = 0;
};

// The outline of slice z of the mask.
Outline outline_of_slice(const std::vector<std::uint8_t>& mask, int nx, int ny, int z,
                         const std::array<double, 3>& spacing_mm);

}  // namespace medpipe
