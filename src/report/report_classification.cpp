// The report's classification section: confusion heat map, ROC, PR, calibration, per class.
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/sections.h"
#include "report/svg.h"

namespace medpipe::report {

namespace {

std::vector<double> numbers(const nlohmann::json& array) {
  std::vector<double> out;
  for (const auto& v : array) out.push_back(v.is_number() ? v.get<double>() : NAN);
  return out;
}

std::string with_value(const std::string& name, const nlohmann::json& value) {
  return name + " (" + cell_number(value, 3) + ")";
}

std::string roc_chart(const nlohmann::json& m) {
  std::vector<Series> series;
  if (m.contains("roc_curve")) {
    series.push_back({with_value("AUC", m["roc_auc"]), numbers(m["roc_curve"]["fpr"]),
                      numbers(m["roc_curve"]["tpr"])});
  } else if (m.contains("roc_curves")) {
    for (const auto& c : m["roc_curves"])
      series.push_back({with_value("class " + c["class"].dump() + " AUC", c["auc"]),
                        numbers(c["fpr"]), numbers(c["tpr"])});
  }
  if (series.empty()) return "";
  ChartSpec spec{"roc-curve",
                 "ROC curve" + std::string(m.contains("roc_curves") ? "s, one-vs-rest" : "") +
                     "; AUC " + cell_number(m["roc_auc"], 3),
                 "false positive rate",
                 "true positive rate",
                 0,
                 1,
                 0,
                 1,
                 true};
  return line_chart(spec, series);
}

std::string pr_chart(const nlohmann::json& m) {
  std::vector<Series> series;
  if (m.contains("pr_curve")) {
    series.push_back({with_value("AP", m["average_precision"]), numbers(m["pr_curve"]["recall"]),
                      numbers(m["pr_curve"]["precision"]), true});
  } else if (m.contains("pr_curves")) {
    for (const auto& c : m["pr_curves"])
      series.push_back({with_value("class " + c["class"].dump() + " AP", c["average_precision"]),
                        numbers(c["recall"]), numbers(c["precision"]), true});
  }
  if (series.empty()) return "";
  std::string title = "Precision-recall curve" +
                      std::string(m.contains("pr_curves") ? "s, one-vs-rest" : "") +
                      (m.contains("average_precision")
                           ? "; average precision " + cell_number(m["average_precision"], 3)
                           : "");
  return line_chart({"pr-curve", title, "recall", "precision", 0, 1, 0, 1}, series);
}

std::string calibration_chart(const nlohmann::json& m) {
  if (!m.contains("calibration")) return "";
  const nlohmann::json& c = m["calibration"];
  bool binary = m.contains("pr_curve");
  Series observed{"observed", numbers(c["mean_predicted"]), numbers(c["fraction_positive"])};
  observed.markers = true;
  ChartSpec spec{"calibration-curve",
                 std::string("Calibration (10 bins) of ") +
                     (binary ? "the probability of class 1" : "the top class's probability") +
                     "; expected calibration error " +
                     cell_number(m.value("expected_calibration_error", nlohmann::json()), 3),
                 binary ? "mean predicted probability" : "mean confidence",
                 binary ? "fraction of class 1" : "fraction correct",
                 0,
                 1,
                 0,
                 1,
                 true};
  return line_chart(spec, {observed});
}

std::string per_class_table(const nlohmann::json& m) {
  std::ostringstream s;
  s << "<table id='per-class'><thead><tr><th>class</th><th>precision</th><th>recall</th>"
       "<th>f1</th><th>support</th>";
  bool curves = m.contains("roc_curves");
  if (curves) s << "<th>ROC AUC</th><th>AP</th>";
  s << "</tr></thead><tbody>";
  for (std::size_t k = 0; k < m["per_class"].size(); ++k) {
    const auto& c = m["per_class"][k];
    s << "<tr><td>" << c["class"] << "</td><td>" << cell_number(c["precision"]) << "</td><td>"
      << cell_number(c["recall"]) << "</td><td>" << cell_number(c["f1"]) << "</td><td>"
      << c["support"] << "</td>";
    if (curves)
      s << "<td>" << cell_number(m["roc_curves"][k]["auc"]) << "</td><td>"
        << cell_number(m["pr_curves"][k]["average_precision"]) << "</td>";
    s << "</tr>";
  }
  s << "</tbody></table>";
  return s.str();
}

std::vector<std::vector<long>> confusion_of(const nlohmann::json& matrix) {
  std::vector<std::vector<long>> counts;
  for (const auto& r : matrix) {
    counts.emplace_back();
    for (const auto& v : r) counts.back().push_back(v.get<long>());
  }
  return counts;
}

}  // namespace

std::string classification_section(const nlohmann::json& m) {
  if (!m.contains("confusion_matrix")) return "";
  std::ostringstream s;
  s << "<section id='evaluation'><h2>Evaluation</h2><div class='plots'>"
    << "<div><h3>Confusion matrix</h3>"
    << heat_map("confusion-matrix", confusion_of(m["confusion_matrix"]), "true class",
                "predicted class")
    << "</div>" << roc_chart(m) << pr_chart(m) << calibration_chart(m) << "</div>";
  s << "<h3>Per class</h3>" << per_class_table(m) << "</section>";
  return s.str();
}

}  // namespace medpipe::report
