#include "features/texture.h"

#include <cmath>
#include <limits>
#include <map>

namespace medpipe {

const std::vector<Offset>& texture_directions() {
  static const std::vector<Offset> directions = {
      {1, 0, 0}, {0, 1, 0},  {1, 1, 0}, {1, -1, 0}, {0, 0, 1},  {1, 0, 1},  {1, 0, -1},
      {0, 1, 1}, {0, 1, -1}, {1, 1, 1}, {1, 1, -1}, {1, -1, 1}, {1, -1, -1}};
  return directions;
}

std::vector<double> run_like_features(const CountMatrix& m, bool with_energy) {
  double ns = 0;
  std::map<int, double> by_level, by_j;
  double se = 0, le = 0, lg = 0, hg = 0, slg = 0, shg = 0, llg = 0, lhg = 0;
  double mean_i = 0, mean_j = 0, entropy = 0, energy = 0;
  m.for_each([&](int level, int length, double n) {
    double i = level, j = length, i2 = i * i, j2 = j * j;
    ns += n;
    by_level[level] += n;
    by_j[length] += n;
    se += n / j2;
    le += n * j2;
    lg += n / i2;
    hg += n * i2;
    slg += n / (i2 * j2);
    shg += n * i2 / j2;
    llg += n * j2 / i2;
    lhg += n * i2 * j2;
    mean_i += i * n;
    mean_j += j * n;
  });
  m.for_each([&](int, int, double n) {
    double p = n / ns;
    entropy -= p * std::log2(p);
    energy += p * p;
  });
  mean_i /= ns;
  mean_j /= ns;
  double var_i = 0, var_j = 0;
  m.for_each([&](int level, int length, double n) {
    var_i += (level - mean_i) * (level - mean_i) * n / ns;
    var_j += (length - mean_j) * (length - mean_j) * n / ns;
  });
  double glnu = 0, jnu = 0;
  for (const auto& [level, n] : by_level) glnu += n * n;
  for (const auto& [j, n] : by_j) jnu += n * n;
  std::vector<double> v = {se / ns,  le / ns,         lg / ns,       hg / ns,   slg / ns,
                           shg / ns, llg / ns,        lhg / ns,      glnu / ns, glnu / (ns * ns),
                           jnu / ns, jnu / (ns * ns), ns / m.voxels, var_i,     var_j,
                           entropy};
  if (with_energy) v.push_back(energy);
  return v;
}

void append_named(FeatureRow& out, const RunFeatureNames& names, const std::vector<double>& v,
                  const char* aggregation, const char* energy_name, const char* energy_code) {
  for (std::size_t k = 0; k < names.names.size(); ++k) {
    double value = k < v.size() ? v[k] : std::numeric_limits<double>::quiet_NaN();
    out.push_back(
        {names.prefix + "_" + names.names[k] + "_" + names.codes[k] + "_" + aggregation, value});
  }
  if (energy_name != nullptr) {
    double value = v.size() > names.names.size() ? v[names.names.size()]
                                                 : std::numeric_limits<double>::quiet_NaN();
    out.push_back(
        {names.prefix + "_" + energy_name + "_" + energy_code + "_" + aggregation, value});
  }
}

std::vector<double> mean_of_features(const std::vector<std::vector<double>>& rows) {
  if (rows.empty()) return {};
  std::vector<double> mean(rows.front().size(), 0.0);
  for (const auto& row : rows) {
    for (std::size_t k = 0; k < row.size(); ++k) mean[k] += row[k];
  }
  for (double& x : mean) x /= rows.size();
  return mean;
}

bool slice_has_region(const RoiVolume& roi, int z) {
  std::size_t first = roi.index(0, 0, z), last = first + static_cast<std::size_t>(roi.nx) * roi.ny;
  for (std::size_t i = first; i < last; ++i) {
    if (roi.int_mask[i]) return true;
  }
  return false;
}

}  // namespace medpipe
