// Hand-computed references; the integration tests cross-check against scikit-learn.
#include "metrics/classification.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace medpipe {
namespace {

TEST(Metrics, AucByHand) {
  // positives 0.8, 0.4; negatives 0.35, 0.1 -> 4 of 4 pairs ordered
  EXPECT_DOUBLE_EQ(*roc_auc_binary({1, 1, 0, 0}, {0.8, 0.4, 0.35, 0.1}), 1.0);
  // sklearn's doc example: y=[0,0,1,1], s=[.1,.4,.35,.8] -> 0.75
  EXPECT_DOUBLE_EQ(*roc_auc_binary({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}), 0.75);
  // a tie between a positive and a negative counts half
  EXPECT_DOUBLE_EQ(*roc_auc_binary({0, 1}, {0.5, 0.5}), 0.5);
  EXPECT_FALSE(roc_auc_binary({1, 1}, {0.1, 0.2}).has_value());
}

TEST(Metrics, AveragePrecisionByHand) {
  // sklearn's doc example: 0.8333...
  EXPECT_NEAR(*average_precision({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}), 0.8333333333333333, 1e-12);
  PrCurve c = precision_recall_curve({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8});
  std::vector<double> p = {0.5, 2.0 / 3, 0.5, 1.0, 1.0}, r = {1.0, 1.0, 0.5, 0.5, 0.0},
                      t = {0.1, 0.35, 0.4, 0.8};
  ASSERT_EQ(c.precision.size(), p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    EXPECT_NEAR(c.precision[i], p[i], 1e-12);
    EXPECT_NEAR(c.recall[i], r[i], 1e-12);
  }
  EXPECT_EQ(c.thresholds, t);
}

TEST(Metrics, ConfusionAccuracyAndPerClass) {
  ClassificationInput in;
  in.num_classes = 3;
  in.truth = {0, 0, 1, 2, 2};
  in.probabilities = {0.9, 0.05, 0.05, 0.2, 0.7, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.6, 0.3, 0.1};
  auto m = classification_metrics(in);
  EXPECT_EQ(m["confusion_matrix"], nlohmann::json({{1, 1, 0}, {0, 1, 0}, {1, 0, 1}}));
  EXPECT_DOUBLE_EQ(m["accuracy"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(m["balanced_accuracy"].get<double>(), (0.5 + 1.0 + 0.5) / 3);
  EXPECT_DOUBLE_EQ(m["per_class"][0]["precision"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["per_class"][1]["f1"].get<double>(), 2 * 0.5 * 1.0 / 1.5);
  EXPECT_FALSE(m.contains("pr_curve"));
  EXPECT_TRUE(m["roc_auc"].is_number());
}

}  // namespace
}  // namespace medpipe
