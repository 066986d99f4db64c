// features/resample.h: sampling a volume (x fastest) between its voxels: trilinear, or cubic
// B-spline (the "tricubic spline" of IBSI's configuration E). Positions are in voxel indices;
// outside the volume they are clamped to its edge (nearest boundary value).
#pragma once
#include <vector>

namespace medpipe {

class VolumeSampler {
 public:
  enum class Method { kNearest, kLinear, kCubic };
  VolumeSampler(const std::vector<float>& values, int nx, int ny, int nz, Method method);
  double at(double x, double y, double z) const;

 private:
  double linear(double x, double y, double z) const;
  double cubic(double x, double y, double z) const;
  std::vector<double> values_;  // the samples, or B-spline coefficients for kCubic
  int nx_, ny_, nz_;
  Method method_;
};

}  // namespace medpipe
