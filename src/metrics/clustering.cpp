#include "metrics/clustering.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace medpipe {

namespace {

double pairs(double count) {
  return count * (count - 1) / 2;
}

double entropy_of(const std::vector<double>& counts, double n) {
  double h = 0;
  for (double c : counts)
    if (c > 0) h -= c / n * std::log(c / n);
  return h;
}

}  // namespace

std::vector<std::vector<long>> contingency_table(const std::vector<int>& truth,
                                                 const std::vector<int>& clusters) {
  if (truth.size() != clusters.size())
    throw RunError("clustering metrics: " + std::to_string(truth.size()) + " labels for " +
                   std::to_string(clusters.size()) + " clusters");
  int rows = 0, columns = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || clusters[i] < 0) throw RunError("clustering metrics: a negative label");
    rows = std::max(rows, truth[i] + 1);
    columns = std::max(columns, clusters[i] + 1);
  }
  std::vector<std::vector<long>> table(rows, std::vector<long>(columns, 0));
  for (std::size_t i = 0; i < truth.size(); ++i) ++table[truth[i]][clusters[i]];
  return table;
}

double adjusted_rand_index(const std::vector<int>& truth, const std::vector<int>& clusters) {
  const auto table = contingency_table(truth, clusters);
  const double n = static_cast<double>(truth.size());
  double index = 0, row_pairs = 0, column_pairs = 0;
  std::vector<double> column_sums(table.empty() ? 0 : table[0].size(), 0.0);
  for (const auto& row : table) {
    double row_sum = 0;
    for (std::size_t c = 0; c < row.size(); ++c) {
      index += pairs(static_cast<double>(row[c]));
      row_sum += static_cast<double>(row[c]);
      column_sums[c] += static_cast<double>(row[c]);
    }
    row_pairs += pairs(row_sum);
  }
  for (double s : column_sums) column_pairs += pairs(s);
  const double expected = row_pairs * column_pairs / pairs(n);
  const double maximum = (row_pairs + column_pairs) / 2;
  // one cluster and one class, or every image its own: sklearn's special case
  if (maximum == expected) return 1.0;
  return (index - expected) / (maximum - expected);
}

double cluster_purity(const std::vector<int>& truth, const std::vector<int>& clusters) {
  const auto table = contingency_table(truth, clusters);
  if (truth.empty()) return NAN;
  double agree = 0;
  const std::size_t columns = table.empty() ? 0 : table[0].size();
  for (std::size_t c = 0; c < columns; ++c) {
    long best = 0;
    for (const auto& row : table) best = std::max(best, row[c]);
    agree += static_cast<double>(best);
  }
  return agree / static_cast<double>(truth.size());
}

double normalized_mutual_information(const std::vector<int>& truth,
                                     const std::vector<int>& clusters) {
  const auto table = contingency_table(truth, clusters);
  const double n = static_cast<double>(truth.size());
  if (table.empty()) return NAN;
  std::vector<double> rows(table.size(), 0.0), columns(table[0].size(), 0.0);
  for (std::size_t r = 0; r < table.size(); ++r)
    for (std::size_t c = 0; c < columns.size(); ++c) {
      rows[r] += static_cast<double>(table[r][c]);
      columns[c] += static_cast<double>(table[r][c]);
    }
  double mi = 0;
  for (std::size_t r = 0; r < table.size(); ++r)
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const double v = static_cast<double>(table[r][c]);
      if (v > 0) mi += v / n * std::log(v * n / (rows[r] * columns[c]));
    }
  const double h_truth = entropy_of(rows, n), h_clusters = entropy_of(columns, n);
  if (h_truth == 0 && h_clusters == 0) return 1.0;  // sklearn: both a single label
  const double mean = (h_truth + h_clusters) / 2;
  return mean > 0 ? std::max(0.0, mi) / mean : 0.0;
}

nlohmann::json ClusteringMetric::compute() const {
  return {{"n", truth_.size()},
          {"adjusted_rand_index", adjusted_rand_index(truth_, clusters_)},
          {"purity", cluster_purity(truth_, clusters_)},
          {"normalized_mutual_info", normalized_mutual_information(truth_, clusters_)},
          {"contingency", contingency_table(truth_, clusters_)}};
}

}  // namespace medpipe
