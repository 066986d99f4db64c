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

TEST(Metrics, RocCurveByHand) {
  // sklearn's doc example: fpr [0, 0, .5, .5, 1], tpr [0, .5, .5, 1, 1], thresholds [1.8, ...]
  RocCurve c = roc_curve({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8});
  EXPECT_EQ(c.fpr, (std::vector<double>{0, 0, 0.5, 0.5, 1}));
  EXPECT_EQ(c.tpr, (std::vector<double>{0, 0.5, 0.5, 1, 1}));
  EXPECT_EQ(c.thresholds, (std::vector<double>{1.8, 0.8, 0.4, 0.35, 0.1}));
  // four negatives then four positives in score order: the collinear points are dropped
  RocCurve d = roc_curve({0, 0, 0, 0, 1, 1, 1, 1}, {.1, .2, .3, .4, .5, .6, .7, .8});
  EXPECT_EQ(d.fpr, (std::vector<double>{0, 0, 0, 1}));
  EXPECT_EQ(d.tpr, (std::vector<double>{0, 0.25, 1, 1}));
}

TEST(Metrics, CalibrationByHand) {
  // 5 bins; edges .2 .4 .6 .8, a score on an edge goes to the lower bin (numpy's searchsorted)
  Calibration c =
      calibration_curve({0, 1, 0, 1, 1, 0, 1, 0}, {.05, .15, .1, .95, .55, .45, .7, .2}, 5);
  std::vector<double> mean = {.125, .5, .7, .95}, fraction = {.25, .5, 1, 1};
  ASSERT_EQ(c.mean_predicted.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(c.mean_predicted[i], mean[i], 1e-12);
    EXPECT_NEAR(c.fraction_positive[i], fraction[i], 1e-12);
  }
  EXPECT_EQ(c.count, (std::vector<long>{4, 2, 1, 1}));
  EXPECT_NEAR(c.expected_calibration_error, 4.0 / 8 * .125 + 1.0 / 8 * .3 + 1.0 / 8 * .05, 1e-12);
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
  ASSERT_EQ(m["roc_curves"].size(), 3u);                    // one-vs-rest, for the report
  EXPECT_EQ(m["roc_curves"][1]["auc"].get<double>(), 1.0);  // class 1: 0.7 beats every other
  EXPECT_EQ(m["pr_curves"][1]["average_precision"].get<double>(), 1.0);
  // top-class confidences .9 .7 .8 .8 .6 -> bins 8 (.9), 6 (.7), 7 (.8 twice), 5 (.6)
  EXPECT_EQ(m["calibration"]["count"], nlohmann::json({1, 1, 2, 1}));
}

}  // namespace
}  // namespace medpipe
