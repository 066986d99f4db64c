// metrics/classification.h: classification metrics, each a pure function of labels and
// probabilities, matching scikit-learn's definitions (tests cross-check against it).
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <vector>

namespace medpipe {

// probabilities: n rows of num_classes values (row-major). Prediction = argmax.
struct ClassificationInput {
  std::vector<int> truth;
  std::vector<double> probabilities;
  int num_classes = 2;
  std::vector<int> predictions() const;
  double prob(std::size_t i, int k) const { return probabilities[i * num_classes + k]; }
};

// Rank-based ROC AUC (ties count half); nullopt when one class is absent.
std::optional<double> roc_auc_binary(const std::vector<int>& positive,
                                     const std::vector<double>& score);
// sklearn's average_precision_score: sum over thresholds of (R_n - R_{n-1}) * P_n.
std::optional<double> average_precision(const std::vector<int>& positive,
                                        const std::vector<double>& score);

struct PrCurve {
  std::vector<double> precision, recall, thresholds;
};
// sklearn's precision_recall_curve (decreasing recall, a final (1, 0) point).
PrCurve precision_recall_curve(const std::vector<int>& positive, const std::vector<double>& score);

struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};
// sklearn's roc_curve with drop_intermediate: collinear points dropped, a first (0, 0) point
// whose threshold is the highest score + 1 (sklearn 1.2's convention; JSON has no infinity).
RocCurve roc_curve(const std::vector<int>& positive, const std::vector<double>& score);

// sklearn's calibration_curve(strategy="uniform"): the [0, 1] range in `bins` equal bins; for
// each non-empty bin, the mean predicted probability and the observed fraction of positives.
struct Calibration {
  std::vector<double> mean_predicted, fraction_positive;
  std::vector<long> count;
  double expected_calibration_error = 0;  // sum over bins of count/n * |fraction - mean|
};
Calibration calibration_curve(const std::vector<int>& positive, const std::vector<double>& score,
                              int bins = 10);

// Every classification key of the contract: n, accuracy, balanced_accuracy, confusion_matrix,
// per_class, macro_f1, roc_auc, and for binary tasks average_precision and pr_curve. RunError
// when a probability is not a number from 0 to 1 or a true class is out of range.
nlohmann::json classification_metrics(const ClassificationInput& input);

// Mean cross-entropy of the true class (natural log), clipped at 1e-15.
double log_loss(const ClassificationInput& input);

// The accumulating form (MONAI's Metric classes): images are added as they are predicted and
// compute() gives classification_metrics of all of them.
class ClassificationMetric {
 public:
  explicit ClassificationMetric(int num_classes) { input_.num_classes = num_classes; }
  // Rows of num_classes probabilities, one per truth.
  void add(const std::vector<int>& truth, const std::vector<double>& probabilities);
  std::size_t size() const { return input_.truth.size(); }
  nlohmann::json compute() const;

 private:
  ClassificationInput input_;
};

}  // namespace medpipe
