#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "io/csv.h"

namespace medpipe {

namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string number(const nlohmann::json& v, int digits = 4) {
  if (v.is_null()) return "n/a";
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_string()) return escape(v.get<std::string>());
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v.get<double>());
  return buffer;
}

std::string confusion_html(const nlohmann::json& matrix) {
  std::ostringstream s;
  long max_count = 1;
  for (const auto& row : matrix)
    for (const auto& v : row) max_count = std::max(max_count, v.get<long>());
  s << "<table class='cm'><tr><th>true \\ predicted</th>";
  for (std::size_t k = 0; k < matrix.size(); ++k) s << "<th>" << k << "</th>";
  s << "</tr>";
  for (std::size_t r = 0; r < matrix.size(); ++r) {
    s << "<tr><th>" << r << "</th>";
    for (const auto& v : matrix[r]) {
      double a = static_cast<double>(v.get<long>()) / static_cast<double>(max_count);
      s << "<td style='background:rgba(31,119,180," << a
        << ");color:" << (a > 0.5 ? "#fff" : "#000") << "'>" << v.get<long>() << "</td>";
    }
    s << "</tr>";
  }
  return s.str() + "</table>";
}

// A line plot of named series over x = 1..n, inline SVG.
std::string line_plot(const std::vector<std::pair<std::string, std::vector<double>>>& series,
                      const std::string& title) {
  const double w = 420, h = 240, pad = 36;
  double lo = 1e300, hi = -1e300;
  std::size_t n = 0;
  for (const auto& [name, ys] : series) {
    n = std::max(n, ys.size());
    for (double y : ys)
      if (std::isfinite(y)) {
        lo = std::min(lo, y);
        hi = std::max(hi, y);
      }
  }
  if (n < 2 || !(hi >= lo)) return "";
  if (hi == lo) hi = lo + 1;
  static const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
  std::ostringstream s;
  s << "<figure><svg width='" << w << "' height='" << h << "' role='img' aria-label='"
    << escape(title) << "'>"
    << "<rect x='" << pad << "' y='8' width='" << w - pad - 8 << "' height='" << h - pad - 8
    << "' fill='none' stroke='#ccc'/>"
    << "<text x='4' y='16' font-size='10'>" << number(hi, 3) << "</text>"
    << "<text x='4' y='" << h - pad << "' font-size='10'>" << number(lo, 3) << "</text>"
    << "<text x='" << w / 2 << "' y='" << h - 8 << "' font-size='11'>epoch</text>";
  for (std::size_t k = 0; k < series.size(); ++k) {
    s << "<polyline fill='none' stroke-width='2' stroke='" << colors[k % 4] << "' points='";
    for (std::size_t i = 0; i < series[k].second.size(); ++i) {
      double x = pad + (w - pad - 8) * static_cast<double>(i) / static_cast<double>(n - 1);
      double y = 8 + (h - pad - 8) * (1 - (series[k].second[i] - lo) / (hi - lo));
      s << x << "," << y << " ";
    }
    s << "'/><text x='" << pad + 8 + 110 * k << "' y='24' font-size='11' fill='" << colors[k % 4]
      << "'>" << escape(series[k].first) << "</text>";
  }
  return s.str() + "</svg><figcaption>" + escape(title) + "</figcaption></figure>";
}

std::string history_plots(const nlohmann::json& history) {
  if (!history.is_array() || history.size() < 2) return "";
  std::vector<double> train_loss, val_loss, val_auc, val_acc, val_dice;
  for (const auto& e : history) {
    train_loss.push_back(e.value("train_loss", NAN));
    val_loss.push_back(
        e.contains("val_loss") && !e["val_loss"].is_null() ? e["val_loss"].get<double>() : NAN);
    val_auc.push_back(e.contains("val_auc") && !e["val_auc"].is_null() ? e["val_auc"].get<double>()
                                                                       : NAN);
    val_acc.push_back(e.contains("val_accuracy") ? e["val_accuracy"].get<double>() : NAN);
    val_dice.push_back(e.contains("val_dice") ? e["val_dice"].get<double>() : NAN);
  }
  return "<h2>Training</h2><div class='plots'>" +
         line_plot({{"train loss", train_loss}, {"validation loss", val_loss}}, "Loss per epoch") +
         line_plot({{"validation AUC", val_auc},
                    {"validation accuracy", val_acc},
                    {"validation Dice", val_dice}},
                   "Validation metrics per epoch") +
         "</div>";
}

// Per class and per image (worst Dice first) tables of segmentation metrics.
std::string segmentation_tables(const nlohmann::json& m) {
  std::ostringstream s;
  const char* header = "<th>dice</th><th>jaccard</th><th>hausdorff95</th><th>assd</th></tr>";
  auto cells = [](const nlohmann::json& row) {
    return "<td>" + number(row["dice"]) + "</td><td>" + number(row["jaccard"]) + "</td><td>" +
           number(row["hausdorff95"]) + "</td><td>" + number(row["assd"]) + "</td></tr>";
  };
  s << "<h2>Per class</h2><table id='per-class'><tr><th>class</th>" << header;
  for (const auto& c : m["per_class"]) s << "<tr><td>" << c["class"] << "</td>" << cells(c);
  s << "</table>";
  std::vector<nlohmann::json> rows(m["per_image"].begin(), m["per_image"].end());
  auto dice = [](const nlohmann::json& r) {
    return r["dice"].is_null() ? -1.0 : r["dice"].get<double>();
  };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const auto& a, const auto& b) { return dice(a) < dice(b); });
  s << "<h2>Per image (worst first)</h2><table id='per-image'><tr><th>image</th>" << header;
  for (const auto& r : rows)
    s << "<tr><td>" << escape(r["image"].get<std::string>()) << "</td>" << cells(r);
  s << "</table>";
  return s.str();
}

}  // namespace

void write_metrics_json(const fs::path& dir, const nlohmann::json& metrics) {
  atomic_write_text(dir / "metrics.json", metrics.dump(2) + "\n");
}

void write_skipped_csv(const fs::path& dir, const SkippedList& skipped) {
  std::string text = "image,reason\n";
  for (const auto& [image, reason] : skipped)
    text += csv_quote(image) + "," + csv_quote(reason) + "\n";
  atomic_write_text(dir / "skipped.csv", text);
}

std::string render_report_html(const ReportInput& in) {
  std::ostringstream s;
  const nlohmann::json& m = in.metrics;
  s << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>" << escape(in.title)
    << "</"
       "title><style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:"
       "collapse;margin:1em 0}"
       "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}.cm "
       "td{min-width:3em;text-align:center}"
       ".plots{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}</style></head><body>";
  s << "<h1>" << escape(in.title) << "</h1>";
  s << "<h2>Summary</h2><table id='summary'>";
  for (const char* key :
       {"n", "accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "average_precision",
        "log_loss", "dice", "jaccard", "hausdorff95", "assd", "distance_units"}) {
    if (m.contains(key)) s << "<tr><th>" << key << "</th><td>" << number(m[key]) << "</td></tr>";
  }
  s << "</table>";
  if (m.contains("confusion_matrix"))
    s << "<h2>Confusion matrix</h2>" << confusion_html(m["confusion_matrix"]);
  if (m.contains("per_image")) s << segmentation_tables(m);
  if (m.contains("per_class") && !m.contains("per_image")) {
    s << "<h2>Per class</h2><table "
         "id='per-class'><tr><th>class</th><th>precision</th><th>recall</th><th>f1</"
         "th><th>support</th></tr>";
    for (const auto& c : m["per_class"]) {
      s << "<tr><td>" << c["class"] << "</td><td>" << number(c["precision"]) << "</td><td>"
        << number(c["recall"]) << "</td><td>" << number(c["f1"]) << "</td><td>" << c["support"]
        << "</td></tr>";
    }
    s << "</table>";
  }
  s << history_plots(in.history);
  s << "<h2>Skipped inputs (" << in.skipped.size() << ")</h2>";
  if (!in.skipped.empty()) {
    s << "<table id='skipped'><tr><th>image</th><th>reason</th></tr>";
    for (const auto& [image, reason] : in.skipped)
      s << "<tr><td>" << escape(image) << "</td><td>" << escape(reason) << "</td></tr>";
    s << "</table>";
  }
  s << "<h2>Settings</h2><pre>" << escape(in.config.dump(2)) << "</pre>";
  s << "</body></html>\n";
  return s.str();
}

void write_report_html(const fs::path& dir, const ReportInput& input) {
  atomic_write_text(dir / "report.html", render_report_html(input));
}

}  // namespace medpipe
