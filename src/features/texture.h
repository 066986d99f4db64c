// features/texture.h: what the texture families share: neighbour directions, count matrices
// keyed by (grey level, second index), the features those matrices have in common, and IBSI's
// aggregation over slices and directions.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "features/families.h"

namespace medpipe {

using Offset = std::array<int, 3>;

// The 13 unique 3D directions; the first 4 lie in the slice (2D).
const std::vector<Offset>& texture_directions();
inline constexpr int kDirections2d = 4;
inline constexpr int kDirections3d = 13;

// Counts n(i, j) with i a grey level (1..Ng) and j a run length, zone size, distance or
// dependence count (>= 1), plus the number of voxels the matrix was counted over. Dense for
// j < cols (the common, small values), sparse above.
struct CountMatrix {
  int levels = 0, cols = 0;
  std::vector<double> dense;  // (levels + 1) x cols
  std::unordered_map<std::uint64_t, double> sparse;
  double voxels = 0;
  double total = 0;

  CountMatrix() = default;
  CountMatrix(int level_count, int dense_cols)
      : levels(level_count),
        cols(dense_cols),
        dense(static_cast<std::size_t>(level_count + 1) * dense_cols, 0.0) {}
  void add(int level, int j, double n = 1) {
    total += n;
    if (j < cols && level <= levels) {
      dense[static_cast<std::size_t>(level) * cols + j] += n;
    } else {
      sparse[(static_cast<std::uint64_t>(level) << 32) | static_cast<std::uint32_t>(j)] += n;
    }
  }
  // Calls f(level, j, n) for every non-zero count.
  template <class F>
  void for_each(F f) const {
    for (int i = 0; i <= levels; ++i)
      for (int j = 0; j < cols; ++j) {
        double n = dense[static_cast<std::size_t>(i) * cols + j];
        if (n != 0) f(i, j, n);
      }
    for (const auto& [key, n] : sparse) {
      f(static_cast<int>(key >> 32), static_cast<int>(key & 0xffffffffu), n);
    }
  }
  void merge(const CountMatrix& other) {
    if (other.levels == levels && other.cols == cols) {
      for (std::size_t k = 0; k < dense.size(); ++k) dense[k] += other.dense[k];
      for (const auto& [key, n] : other.sparse) sparse[key] += n;
      total += other.total;
    } else {
      other.for_each([&](int i, int j, double n) { add(i, j, n); });
    }
    voxels += other.voxels;
  }
  bool empty() const { return total == 0; }
};

// Names and IBSI identifiers of the 16 features every run-like matrix has (short/long emphasis,
// grey level emphases, non-uniformities, percentage, variances, entropy), in that order.
struct RunFeatureNames {
  std::string prefix;                 // "rlm", "szm", "dzm", "ngl"
  std::array<const char*, 16> names;  // "sre", "lre", ...
  std::array<const char*, 16> codes;  // IBSI identifiers
};
// The 16 values; with `with_energy` a 17th, the dependence count energy (NGLDM).
std::vector<double> run_like_features(const CountMatrix& m, bool with_energy);

// Appends values with names "<prefix>_<name>_<code>_<aggregation>".
void append_named(FeatureRow& out, const RunFeatureNames& names, const std::vector<double>& v,
                  const char* aggregation, const char* energy_name = nullptr,
                  const char* energy_code = nullptr);

// Element-wise mean of feature vectors (NaN where any is NaN), for averaged aggregations.
std::vector<double> mean_of_features(const std::vector<std::vector<double>>& rows);

// Whether the slice z holds any voxel of the intensity mask.
bool slice_has_region(const RoiVolume& roi, int z);

// Element-wise mean of feature vectors over the non-empty matrices of `matrices`.
template <class M, class Features>
std::vector<double> averaged(const std::vector<M>& matrices, Features features) {
  std::vector<std::vector<double>> rows;
  for (const auto& m : matrices) {
    if (!m.empty()) rows.push_back(features(m));
  }
  return mean_of_features(rows);
}

template <class M>
M merged(const std::vector<M>& matrices) {
  M out = matrices.front();
  for (std::size_t k = 1; k < matrices.size(); ++k) out.merge(matrices[k]);
  return out;
}

// IBSI's aggregations for families counted per slice or over the volume (GLSZM, GLDZM, NGTDM,
// NGLDM): 2D (features per slice, averaged), 2.5D (slice matrices merged), 3D (one matrix).
// build(z_first, z_last, three_d) counts a matrix; emit(values, aggregation code).
template <class Build, class Features, class Emit>
void aggregate_over_slices(const RoiVolume& roi, const FeatureSettings& s, Build build,
                           Features features, Emit emit) {
  for (const auto& agg : s.aggregations(roi.nz)) {
    if (agg == "3D") {
      emit(features(build(0, roi.nz - 1, true)), kAgg3d);
      continue;
    }
    std::vector<decltype(build(0, 0, false))> slices;
    for (int z = 0; z < roi.nz; ++z) {
      if (slice_has_region(roi, z)) slices.push_back(build(z, z, false));
    }
    if (agg == "2D") emit(averaged(slices, features), kAgg2d);
    if (agg == "2.5D") emit(features(merged(slices)), kAgg25d);
  }
}

// IBSI's aggregations for families counted per direction (GLCM, GLRLM): 2D averaged and
// slice-merged, 2.5D direction-merged and merged, 3D averaged and merged.
// build(z_first, z_last, direction) counts along texture_directions()[direction].
template <class Build, class Features, class Emit>
void aggregate_over_directions(const RoiVolume& roi, const FeatureSettings& s, Build build,
                               Features features, Emit emit) {
  using M = decltype(build(0, 0, 0));
  for (const auto& agg : s.aggregations(roi.nz)) {
    if (agg == "3D") {
      std::vector<M> by_direction;
      for (int d = 0; d < kDirections3d; ++d) by_direction.push_back(build(0, roi.nz - 1, d));
      emit(averaged(by_direction, features), kAgg3dAveraged);
      emit(features(merged(by_direction)), kAgg3dMerged);
      continue;
    }
    std::vector<std::vector<M>> grid;  // [slice][direction]
    for (int z = 0; z < roi.nz; ++z) {
      if (!slice_has_region(roi, z)) continue;
      grid.emplace_back();
      for (int d = 0; d < kDirections2d; ++d) grid.back().push_back(build(z, z, d));
    }
    if (agg == "2D") {
      std::vector<M> all, per_slice;
      for (const auto& row : grid) {
        all.insert(all.end(), row.begin(), row.end());
        per_slice.push_back(merged(row));
      }
      emit(averaged(all, features), kAgg2dAveraged);
      emit(averaged(per_slice, features), kAgg2dSliceMerged);
    } else if (agg == "2.5D") {
      std::vector<M> per_direction;
      for (int d = 0; d < kDirections2d; ++d) {
        std::vector<M> column;
        for (const auto& row : grid) column.push_back(row[d]);
        per_direction.push_back(merged(column));
      }
      emit(averaged(per_direction, features), kAgg25dDirectionMerged);
      emit(features(merged(per_direction)), kAgg25dMerged);
    }
  }
}

}  // namespace medpipe
