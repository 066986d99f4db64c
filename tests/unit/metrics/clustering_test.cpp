#include "metrics/clustering.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace medpipe {
namespace {

// Reference values from scikit-learn 1.2 (adjusted_rand_score, normalized_mutual_info_score).
TEST(ClusteringMetrics, MatchScikitLearn) {
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 1}, {0, 0, 1, 2}), 0.5714285714285714, 1e-12);
  EXPECT_NEAR(normalized_mutual_information({0, 0, 1, 1}, {0, 0, 1, 2}), 0.7999999999999999, 1e-12);
  EXPECT_NEAR(adjusted_rand_index({0, 0, 0, 1, 1, 1}, {1, 1, 0, 0, 2, 2}), 0.24242424242424243,
              1e-12);
  EXPECT_NEAR(normalized_mutual_information({0, 0, 0, 1, 1, 1}, {1, 1, 0, 0, 2, 2}),
              0.5158037429793888, 1e-12);
}

TEST(ClusteringMetrics, RenamedClustersAgreeFully) {
  EXPECT_DOUBLE_EQ(adjusted_rand_index({0, 0, 1, 1, 2}, {2, 2, 0, 0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(cluster_purity({0, 0, 1, 1, 2}, {2, 2, 0, 0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(cluster_purity({0, 1, 0, 1}, {0, 0, 0, 0}), 0.5);
}

TEST(ClusteringMetric, AccumulatesTheContingencyTable) {
  ClusteringMetric metric;
  for (auto [truth, cluster] : {std::pair{0, 1}, {0, 1}, {1, 0}, {1, 1}})
    metric.add(truth, cluster);
  const nlohmann::json m = metric.compute();
  EXPECT_EQ(m["n"], 4);
  EXPECT_EQ(m["contingency"], nlohmann::json::parse("[[0, 2], [1, 1]]"));
  EXPECT_DOUBLE_EQ(m["purity"].get<double>(), 0.75);
}

}  // namespace
}  // namespace medpipe
