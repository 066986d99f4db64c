// metrics/clustering.h: agreement of clusters with known labels, each a pure function matching
// scikit-learn's definition (tests cross-check against it), and the accumulating class.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <vector>

namespace medpipe {

// Counts of (true class, cluster) pairs: rows the classes 0..max, columns the clusters 0..max.
std::vector<std::vector<long>> contingency_table(const std::vector<int>& truth,
                                                 const std::vector<int>& clusters);
// sklearn's adjusted_rand_score: the Rand index corrected for chance (1 identical, ~0 random).
double adjusted_rand_index(const std::vector<int>& truth, const std::vector<int>& clusters);
// The share of images whose cluster's most common class is their own.
double cluster_purity(const std::vector<int>& truth, const std::vector<int>& clusters);
// sklearn's normalized_mutual_info_score (arithmetic mean of the entropies).
double normalized_mutual_information(const std::vector<int>& truth,
                                     const std::vector<int>& clusters);

// Images added as they are assigned; compute() gives n, adjusted_rand_index, purity,
// normalized_mutual_info and the contingency table (row = true class, column = cluster).
class ClusteringMetric {
 public:
  void add(int truth, int cluster) {
    truth_.push_back(truth);
    clusters_.push_back(cluster);
  }
  std::size_t size() const { return truth_.size(); }
  nlohmann::json compute() const;

 private:
  std::vector<int> truth_, clusters_;
};

}  // namespace medpipe
