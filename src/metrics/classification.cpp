#include "metrics/classification.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <utility>

#include "core/error.h"

namespace medpipe {

std::vector<int> ClassificationInput::predictions() const {
  std::vector<int> out(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const double* row = &probabilities[i * num_classes];
    out[i] = static_cast<int>(std::max_element(row, row + num_classes) - row);
  }
  return out;
}

std::optional<double> roc_auc_binary(const std::vector<int>& positive,
                                     const std::vector<double>& score) {
  const std::size_t n = score.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
  double rank_sum = 0, n_pos = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;  // always advances, whatever the scores are
    while (j < n && score[order[j]] == score[order[i]]) ++j;
    double average_rank = (static_cast<double>(i) + static_cast<double>(j) + 1.0) / 2.0;
    for (std::size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        rank_sum += average_rank;
        n_pos += 1;
      }
    }
    i = j;
  }
  double n_neg = static_cast<double>(n) - n_pos;
  if (n_pos == 0 || n_neg == 0) return std::nullopt;
  return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg);
}

namespace {
// Distinct thresholds in decreasing order with cumulative true/false positives (sklearn's
// _binary_clf_curve).
struct ClfCurve {
  std::vector<double> tps, fps, thresholds;
};

ClfCurve binary_clf_curve(const std::vector<int>& positive, const std::vector<double>& score) {
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  ClfCurve curve;
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    (positive[order[i]] ? tp : fp) += 1;
    if (i + 1 == order.size() || score[order[i + 1]] != score[order[i]]) {
      curve.tps.push_back(tp);
      curve.fps.push_back(fp);
      curve.thresholds.push_back(score[order[i]]);
    }
  }
  return curve;
}
}  // namespace

PrCurve precision_recall_curve(const std::vector<int>& positive, const std::vector<double>& score) {
  ClfCurve c = binary_clf_curve(positive, score);
  PrCurve out;
  double total_pos = c.tps.empty() ? 0 : c.tps.back();
  for (std::size_t i = c.tps.size(); i-- > 0;) {
    double predicted = c.tps[i] + c.fps[i];
    out.precision.push_back(predicted > 0 ? c.tps[i] / predicted : 0.0);
    out.recall.push_back(total_pos > 0 ? c.tps[i] / total_pos : 1.0);
    out.thresholds.push_back(c.thresholds[i]);
  }
  out.precision.push_back(1.0);
  out.recall.push_back(0.0);
  return out;
}

RocCurve roc_curve(const std::vector<int>& positive, const std::vector<double>& score) {
  ClfCurve c = binary_clf_curve(positive, score);
  RocCurve out;
  out.fpr.push_back(0);
  out.tpr.push_back(0);
  out.thresholds.push_back(c.thresholds.empty() ? 1.0 : c.thresholds.front() + 1.0);
  const double total_pos = c.tps.empty() ? 0 : c.tps.back();
  const double total_neg = c.fps.empty() ? 0 : c.fps.back();
  for (std::size_t i = 0; i < c.tps.size(); ++i) {
    // keep the ends and every point where the curve bends (sklearn's second difference != 0)
    bool keep = i == 0 || i + 1 == c.tps.size() ||
                c.fps[i + 1] - 2 * c.fps[i] + c.fps[i - 1] != 0 ||
                c.tps[i + 1] - 2 * c.tps[i] + c.tps[i - 1] != 0;
    if (!keep) continue;
    out.fpr.push_back(total_neg > 0 ? c.fps[i] / total_neg : NAN);
    out.tpr.push_back(total_pos > 0 ? c.tps[i] / total_pos : NAN);
    out.thresholds.push_back(c.thresholds[i]);
  }
  return out;
}

Calibration calibration_curve(const std::vector<int>& positive, const std::vector<double>& score,
                              int bins) {
  std::vector<double> sum_predicted(bins, 0), sum_positive(bins, 0);
  std::vector<long> count(bins, 0);
  for (std::size_t i = 0; i < score.size(); ++i) {
    // numpy's searchsorted(edges[1:-1], p), the number of inner edges strictly below p, with
    // the edges as linspace makes them (k * step)
    const double step = 1.0 / bins;
    int bin = 0;
    while (bin < bins - 1 && (bin + 1) * step < score[i]) ++bin;
    sum_predicted[bin] += score[i];
    sum_positive[bin] += positive[i] ? 1 : 0;
    ++count[bin];
  }
  Calibration out;
  for (int b = 0; b < bins; ++b) {
    if (!count[b]) continue;
    const double n = static_cast<double>(count[b]);
    out.mean_predicted.push_back(sum_predicted[b] / n);
    out.fraction_positive.push_back(sum_positive[b] / n);
    out.count.push_back(count[b]);
    out.expected_calibration_error += n / static_cast<double>(score.size()) *
                                      std::abs(sum_positive[b] / n - sum_predicted[b] / n);
  }
  return out;
}

std::optional<double> average_precision(const std::vector<int>& positive,
                                        const std::vector<double>& score) {
  if (std::none_of(positive.begin(), positive.end(), [](int p) { return p != 0; }))
    return std::nullopt;
  PrCurve c = precision_recall_curve(positive, score);
  // -sum(diff(recall) * precision[:-1])
  double ap = 0;
  for (std::size_t i = 0; i + 1 < c.recall.size(); ++i) {
    ap -= (c.recall[i + 1] - c.recall[i]) * c.precision[i];
  }
  return ap;
}

double log_loss(const ClassificationInput& input) {
  double total = 0;
  for (std::size_t i = 0; i < input.truth.size(); ++i) {
    total -= std::log(std::clamp(input.prob(i, input.truth[i]), 1e-15, 1.0));
  }
  return input.truth.empty() ? 0.0 : total / static_cast<double>(input.truth.size());
}

namespace {
nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json calibration_json(const Calibration& c) {
  return {{"strategy", "uniform"},
          {"bins", 10},
          {"mean_predicted", c.mean_predicted},
          {"fraction_positive", c.fraction_positive},
          {"count", c.count}};
}

// Binary: the calibration of prob_1. Multi-class: of the top class's probability (confidence)
// against being right.
Calibration calibration_of(const ClassificationInput& in, const std::vector<int>& predicted) {
  std::vector<int> hit(in.truth.size());
  std::vector<double> score(in.truth.size());
  for (std::size_t i = 0; i < in.truth.size(); ++i) {
    int k = in.num_classes == 2 ? 1 : predicted[i];
    score[i] = in.prob(i, k);
    hit[i] = in.truth[i] == k;
  }
  return calibration_curve(hit, score);
}

// Class k against the rest: who is k, and the probability of k.
std::pair<std::vector<int>, std::vector<double>> one_vs_rest(const ClassificationInput& in, int k) {
  std::vector<int> positive(in.truth.size());
  std::vector<double> score(in.truth.size());
  for (std::size_t i = 0; i < in.truth.size(); ++i) {
    positive[i] = in.truth[i] == k;
    score[i] = in.prob(i, k);
  }
  return {positive, score};
}

// One-vs-rest ROC and PR curves of every class, with their AUC and AP.
void add_class_curves(const ClassificationInput& in, nlohmann::json& out) {
  nlohmann::json roc = nlohmann::json::array(), pr = nlohmann::json::array();
  for (int k = 0; k < in.num_classes; ++k) {
    auto [pos, score] = one_vs_rest(in, k);
    RocCurve r = roc_curve(pos, score);
    PrCurve p = precision_recall_curve(pos, score);
    roc.push_back({{"class", k},
                   {"auc", optional_json(roc_auc_binary(pos, score))},
                   {"fpr", r.fpr},
                   {"tpr", r.tpr}});
    pr.push_back({{"class", k},
                  {"average_precision", optional_json(average_precision(pos, score))},
                  {"precision", p.precision},
                  {"recall", p.recall}});
  }
  out["roc_curves"] = roc;
  out["pr_curves"] = pr;
}

std::optional<double> multiclass_auc(const ClassificationInput& in) {
  double sum = 0;
  for (int k = 0; k < in.num_classes; ++k) {
    auto [pos, score] = one_vs_rest(in, k);
    auto auc = roc_auc_binary(pos, score);
    if (!auc) return std::nullopt;  // sklearn refuses when a class is absent
    sum += *auc;
  }
  return sum / in.num_classes;
}
}  // namespace

void check_probabilities(const ClassificationInput& in) {
  for (std::size_t i = 0; i < in.probabilities.size(); ++i) {
    const double p = in.probabilities[i];
    if (!(p >= 0.0 && p <= 1.0 + 1e-6))  // NaN fails both; rounding may pass 1 a little
      throw RunError("classification metrics: probability " + std::to_string(i % in.num_classes) +
                     " of image " + std::to_string(i / in.num_classes) + " is " +
                     std::to_string(p) + "; probabilities must be numbers from 0 to 1");
  }
  for (int t : in.truth)
    if (t < 0 || t >= in.num_classes)
      throw RunError("classification metrics: a true class " + std::to_string(t) + " outside 0.." +
                     std::to_string(in.num_classes - 1));
}

nlohmann::json classification_metrics(const ClassificationInput& in) {
  check_probabilities(in);
  const int k = in.num_classes;
  const std::size_t n = in.truth.size();
  std::vector<int> predicted = in.predictions();
  std::vector<std::vector<long>> confusion(k, std::vector<long>(k, 0));
  for (std::size_t i = 0; i < n; ++i) confusion[in.truth[i]][predicted[i]]++;
  long correct = 0;
  for (int c = 0; c < k; ++c) correct += confusion[c][c];
  nlohmann::json per_class = nlohmann::json::array();
  double recall_sum = 0, f1_sum = 0;
  int present = 0;
  for (int c = 0; c < k; ++c) {
    long tp = confusion[c][c], support = 0, predicted_c = 0;
    for (int j = 0; j < k; ++j) {
      support += confusion[c][j];
      predicted_c += confusion[j][c];
    }
    double precision = predicted_c ? static_cast<double>(tp) / predicted_c : 0.0;
    double recall = support ? static_cast<double>(tp) / support : 0.0;
    double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    per_class.push_back({{"class", c},
                         {"precision", precision},
                         {"recall", recall},
                         {"f1", f1},
                         {"support", support}});
    if (support) {
      recall_sum += recall;
      ++present;
    }
    f1_sum += f1;
  }
  nlohmann::json out = {
      {"n", n},
      {"accuracy", n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0},
      {"balanced_accuracy", present ? recall_sum / present : 0.0},
      {"confusion_matrix", confusion},
      {"per_class", per_class},
      {"macro_f1", f1_sum / k},
      {"log_loss", log_loss(in)}};
  if (k == 2) {
    auto [pos, score] = one_vs_rest(in, 1);
    out["roc_auc"] = optional_json(roc_auc_binary(pos, score));
    out["average_precision"] = optional_json(average_precision(pos, score));
    PrCurve pr = precision_recall_curve(pos, score);
    out["pr_curve"] = {
        {"precision", pr.precision}, {"recall", pr.recall}, {"thresholds", pr.thresholds}};
    RocCurve roc = roc_curve(pos, score);
    out["roc_curve"] = {{"fpr", roc.fpr}, {"tpr", roc.tpr}, {"thresholds", roc.thresholds}};
  } else {
    out["roc_auc"] = optional_json(multiclass_auc(in));
    add_class_curves(in, out);
  }
  Calibration calibration = calibration_of(in, predicted);
  out["calibration"] = calibration_json(calibration);
  out["expected_calibration_error"] = calibration.expected_calibration_error;
  return out;
}

void ClassificationMetric::add(const std::vector<int>& truth,
                               const std::vector<double>& probabilities) {
  input_.truth.insert(input_.truth.end(), truth.begin(), truth.end());
  input_.probabilities.insert(input_.probabilities.end(), probabilities.begin(),
                              probabilities.end());
}

nlohmann::json ClassificationMetric::compute() const {
  return classification_metrics(input_);
}

}  // namespace medpipe
