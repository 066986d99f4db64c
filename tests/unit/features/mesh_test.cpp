#include "features/mesh.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

namespace medpipe {
namespace {

TEST(Mesh, OneVoxelIsAnOctahedron) {
  // vertices halfway to the 6 neighbours: an octahedron of radius s/2, volume (4/3) r^3 and
  // area 8 * (sqrt(3)/2) * (r sqrt(2))^2 / 2 = 4 sqrt(3) r^2
  Mesh mesh = mesh_of_mask({1}, 1, 1, 1, {2.0, 2.0, 2.0});
  EXPECT_EQ(mesh.vertices.size(), 6u);
  EXPECT_EQ(mesh.triangles.size(), 8u);
  EXPECT_NEAR(mesh.volume_mm3, 4.0 / 3.0, 1e-12);
  EXPECT_NEAR(mesh.area_mm2, 4 * std::sqrt(3.0), 1e-12);
}

TEST(Mesh, RandomMasksGiveClosedConsistentlyOrientedMeshes) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::uint8_t> mask(6 * 5 * 4);
    for (auto& m : mask) m = rng() % 2;
    Mesh mesh = mesh_of_mask(mask, 6, 5, 4, {1.0, 1.2, 2.5});
    // every directed edge appears once, and its reverse once: closed and consistently oriented
    std::map<std::pair<int, int>, int> edges;
    for (const auto& t : mesh.triangles)
      for (int k = 0; k < 3; ++k) ++edges[{t[k], t[(k + 1) % 3]}];
    for (const auto& [edge, count] : edges) {
      ASSERT_EQ(count, 1) << "trial " << trial;
      ASSERT_EQ(edges.count({edge.second, edge.first}), 1u) << "trial " << trial;
    }
  }
}

TEST(Mesh, VolumeApproachesTheVoxelVolumeForABlock) {
  // a 10 x 10 x 10 block: the box of side 10 around the voxel centres, less slivers at its
  // edges and corners
  std::vector<std::uint8_t> mask(12 * 12 * 12, 0);
  for (int z = 1; z < 11; ++z)
    for (int y = 1; y < 11; ++y)
      for (int x = 1; x < 11; ++x) mask[(z * 12 + y) * 12 + x] = 1;
  Mesh mesh = mesh_of_mask(mask, 12, 12, 12, {1, 1, 1});
  // slivers: the 9 cubes along each edge cut a prism of 1/8 per unit length, and each corner
  // cube keeps only the tetrahedron of 1/48 of its 1/8 inside the box
  EXPECT_NEAR(mesh.volume_mm3, 1000 - 12 * 9 * 0.125 - 8 * (5.0 / 48.0), 1e-9);
}

TEST(Outline, OnePixelIsADiamond) {
  Outline outline = outline_of_slice({1}, 1, 1, 0, {1.0, 1.0, 1.0});
  EXPECT_NEAR(outline.area_mm2, 0.5, 1e-12);
  EXPECT_NEAR(outline.perimeter_mm, 4 * std::sqrt(0.5), 1e-12);
  EXPECT_EQ(outline.points.size(), 4u);
}

}  // namespace
}  // namespace medpipe
