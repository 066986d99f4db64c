#include "report/report.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

#include "core/json_value.h"
#include "core/version.h"
#include "io/csv.h"
#include "report/sections.h"
#include "report/svg.h"

namespace medpipe {

namespace report {

std::string cell_number(const nlohmann::json& v, int digits) {
  if (v.is_null()) return "n/a";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_string()) return escape_html(v.get<std::string>());
  if (!v.is_number()) return escape_html(json_text(v));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v.get<double>());
  return buffer;
}

namespace {

double field_or_nan(const nlohmann::json& record, const char* key) {
  return record.contains(key) && record[key].is_number() ? record[key].get<double>() : NAN;
}

// The history's records per ensemble member (records without "member" are member 0).
std::map<int, std::vector<nlohmann::json>> by_member(const nlohmann::json& history) {
  std::map<int, std::vector<nlohmann::json>> members;
  for (const auto& record : history) members[record.value("member", 0)].push_back(record);
  return members;
}

Series epoch_series(const std::string& name, const std::vector<nlohmann::json>& records,
                    const char* key, bool dashed) {
  Series s{name, {}, {}, false, dashed};
  for (const auto& r : records) {
    s.x.push_back(r.value("epoch", 0));
    s.y.push_back(field_or_nan(r, key));
  }
  bool any = false;
  for (double v : s.y) any |= std::isfinite(v);
  if (!any) s.y.clear();
  return s;
}

}  // namespace

std::string training_section(const nlohmann::json& history) {
  if (!history.is_array() || history.empty()) return "";
  auto members = by_member(history);
  std::vector<Series> losses, metrics;
  for (const auto& [member, records] : members) {
    std::string tag = members.size() > 1 ? " #" + std::to_string(member + 1) : "";
    losses.push_back(epoch_series("training loss" + tag, records, "train_loss", false));
    losses.push_back(epoch_series("validation loss" + tag, records, "val_loss", true));
    for (auto [key, name] : {std::pair{"val_auc", "validation AUC"},
                             {"val_accuracy", "validation accuracy"},
                             {"val_dice", "validation Dice"}}) {
      Series s = epoch_series(name + tag, records, key, false);
      if (!s.y.empty()) metrics.push_back(s);
    }
  }
  std::erase_if(losses, [](const Series& s) { return s.y.empty(); });
  ChartSpec loss{"loss-curve", "Loss per epoch (mean cross-entropy)", "epoch", "loss"};
  loss.width_px = 420;
  ChartSpec metric{"metric-curve", "Validation metrics per epoch", "epoch", "value", 0, -1, 0, 1};
  metric.width_px = 420;
  std::string out = "<section id='training'><h2>Training</h2><div class='plots'>";
  if (!losses.empty()) out += line_chart(loss, losses);
  if (!metrics.empty()) out += line_chart(metric, metrics);
  return out + "</div></section>";
}

}  // namespace report

namespace {

const char* const kStyle = R"css(
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:0 auto;padding:1.5em 2em;max-width:72em;
color:#222;background:#fafafa}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;border-bottom:1px solid #ddd;
padding-bottom:.2em;margin-top:1.6em}
.sub{color:#666;margin:0 0 1em}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:8em}
.card .v{font-size:1.5em;font-weight:bold}.card .k{color:#666;font-size:.85em}
table{border-collapse:collapse;margin:.6em 0;background:#fff}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right;font-size:.9em}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
table.kv th,table.kv td{text-align:left}
details{margin:.6em 0}summary{cursor:pointer}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:' \2195';color:#aaa}
.plots{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start}
figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:6px;padding:.4em}
figcaption{font-size:.85em;color:#444;text-align:center;max-width:26em}
svg text{font-size:11px;font-family:inherit}svg text.axis{font-size:12px}
svg text.small{font-size:10px}svg text.legend{font-size:11px}
.cases{display:flex;flex-wrap:wrap;gap:1em}.cases img{display:block;height:144px;width:auto;image-rendering:pixelated}
.warn{color:#8a5a00}pre{background:#fff;border:1px solid #ddd;padding:.6em;overflow:auto;
font-size:.8em;max-height:30em}
.scroll{max-height:32em;overflow:auto;display:inline-block}
)css";

// Sorts a table.sortable by the clicked column: numbers numerically ("n/a" last), else as text.
const char* const kSortScript = R"js(
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, column) {
    th.addEventListener('click', function () {
      var ascending = th.getAttribute('data-order') !== 'asc';
      table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-order'); });
      th.setAttribute('data-order', ascending ? 'asc' : 'desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var text = row.cells[column].textContent;
        var value = parseFloat(text);
        return isNaN(value) ? text : value;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
        var order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
document.body.setAttribute('data-ready', '1');
)js";

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M UTC", &tm);
  return buffer;
}

std::string card(const std::string& key, const nlohmann::json& value, int digits = 3) {
  return "<div class='card'><div class='v'>" + report::cell_number(value, digits) +
         "</div><div class='k'>" + escape_html(key) + "</div></div>";
}

std::string headline_cards(const nlohmann::json& m) {
  std::string out = "<div class='cards' id='headline'>";
  out += card("images evaluated", m.value("n", nlohmann::json(0)));
  const std::pair<const char*, const char*> keys[] = {
      {"accuracy", "accuracy"}, {"balanced_accuracy", "balanced accuracy"},
      {"roc_auc", "ROC AUC"},   {"average_precision", "average precision"},
      {"macro_f1", "macro F1"}, {"dice", "Dice"},
      {"jaccard", "Jaccard"},   {"hausdorff95", "HD95"},
      {"assd", "ASSD"},         {"harrell_c", "Harrell's C"},
      {"uno_c", "Uno's C"},     {"integrated_brier_score", "integrated Brier score"},
      {"num_clusters", "clusters"}, {"silhouette", "silhouette"},
      {"adjusted_rand_index", "adjusted Rand index"}, {"purity", "purity"}};
  for (const auto& [key, name] : keys) {
    if (!m.contains(key)) continue;
    std::string label = name;
    if ((std::string(key) == "hausdorff95" || std::string(key) == "assd") &&
        m.contains("distance_units"))
      label += " (" + m["distance_units"].get<std::string>() + ")";
    out += card(label, m[key]);
  }
  return out + "</div>";
}

std::string row(const std::string& key, const std::string& value) {
  return "<tr><th>" + escape_html(key) + "</th><td>" + value + "</td></tr>";
}

// The model's training: data, epochs, time and the main settings.
std::string training_rows(const nlohmann::json& model, const nlohmann::json& config) {
  using report::cell_number;
  const nlohmann::json null;
  const nlohmann::json& t = model.contains("training") ? model["training"] : config;
  std::string out;
  if (model.contains("train_images"))
    out += row("training data", cell_number(model["train_images"]) + " training, " +
                                    cell_number(model.value("val_images", null)) +
                                    " validation images");
  if (model.contains("best_epoch"))
    out += row("training", "best epoch " + cell_number(model["best_epoch"]) + " of " +
                               cell_number(t.value("epochs", null)) + ", " +
                               cell_number(model.value("train_seconds", null), 1) + " s");
  nlohmann::json batch = t.value("batch_size", null);
  out += row("training settings",
             "optimizer " + escape_html(t.value("optimizer", "")) + ", learning rate " +
                 cell_number(t.value("learning_rate", null), 4) + ", batch size " +
                 (batch == 0 ? std::string("auto") : cell_number(batch)) + " per worker, seed " +
                 cell_number(t.value("seed", null)));
  return out;
}

// What was evaluated, with which model, data, settings, versions and durations.
std::string summary_section(const ReportInput& in) {
  using report::cell_number;
  static const nlohmann::json no_model = nlohmann::json::object();
  const nlohmann::json& model = in.model.is_object() ? in.model : no_model;  // no copy of it
  const nlohmann::json& c = in.config;
  std::ostringstream s;
  s << "<section id='summary'><h2>Summary</h2>" << headline_cards(in.metrics);
  s << "<table class='kv'>";
  const std::string kind = in.kind == ReportKind::kSegmentation ? "segment"
                           : in.kind == ReportKind::kSurvival   ? "survival"
                           : in.kind == ReportKind::kClustering ? "cluster"
                                                                : "classify";
  s << row("task", escape_html(model.value("task", kind)));
  const std::string arch = escape_html(model.value("arch", c.value("arch", "?")));
  s << row("model", escape_html(c.value("model_bucket_name", "")) + " (" + arch +
                        (in.kind == ReportKind::kSurvival
                             ? ")"
                             : ", " + cell_number(model.value("num_classes", nlohmann::json())) +
                                   (in.kind == ReportKind::kClustering ? " clusters)"
                                                                       : " classes)")));
  s << row("images", cell_number(in.metrics.value("n", nlohmann::json(0))) + " evaluated, " +
                         std::to_string(in.skipped.size()) + " skipped");
  const bool epochs = in.kind != ReportKind::kSurvival && in.kind != ReportKind::kClustering;
  if (epochs || arch == "cnn") {
    s << training_rows(model, c);
  } else if (model.contains("train_images")) {  // a model on a table: no epochs
    s << row("training data", cell_number(model["train_images"]) +
                                  (in.kind == ReportKind::kClustering ? " images, " : " subjects, ") +
                                  cell_number(model.value("train_seconds", nlohmann::json()), 1) +
                                  " s");
  }
  s << row("this stage", cell_number(in.seconds, 1) + " s");
  std::string versions = "medpipe " MEDPIPE_VERSION " (report)";
  if (model.contains("versions"))
    for (const auto& [k, v] : model["versions"].items())
      versions += ", " + escape_html(k) + " " +
                  escape_html(v.is_string() ? v.get<std::string>() : json_text(v)) + " (model)";
  s << row("versions", versions);
  s << row("generated", utc_now());
  s << "</table></section>";
  return s.str();
}

std::string problems_section(const ReportInput& in) {
  std::ostringstream s;
  s << "<section id='skipped-inputs'><h2>Skipped inputs (" << in.skipped.size() << ")</h2>";
  if (!in.skipped.empty()) {
    s << "<div class='scroll'><table id='skipped'><thead><tr><th>image</th><th>reason</th></tr>"
         "</thead><tbody>";
    for (const auto& [image, reason] : in.skipped)
      s << "<tr><td>" << escape_html(image) << "</td><td>" << escape_html(reason) << "</td></tr>";
    s << "</tbody></table></div>";
  }
  s << "</section><section id='warnings'><h2>Warnings (" << in.warnings.size() << ")</h2>";
  if (!in.warnings.empty()) {
    s << "<ul class='warn'>";
    for (const auto& w : in.warnings) s << "<li>" << escape_html(w) << "</li>";
    s << "</ul>";
  }
  s << "</section>";
  return s.str();
}

}  // namespace

void write_metrics_json(const fs::path& dir, const nlohmann::json& metrics) {
  atomic_write_text(dir / "metrics.json", json_text(metrics, 2) + "\n");
}

void write_skipped_csv(const fs::path& dir, const SkippedList& skipped) {
  std::string text = "image,reason\n";
  for (const auto& [image, reason] : skipped)
    text += csv_quote(image) + "," + csv_quote(reason) + "\n";
  atomic_write_text(dir / "skipped.csv", text);
}

std::string render_report_html(const ReportInput& in) {
  std::ostringstream s;
  s << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
    << "<meta name='viewport' content='width=device-width,initial-scale=1'><title>"
    << escape_html(in.title) << "</title><style>" << kStyle << "</style></head><body>";
  s << "<h1>" << escape_html(in.title) << "</h1><p class='sub'>"
    << escape_html(in.config.value("images_bucket", "")) << "</p>";
  s << summary_section(in);
  switch (in.kind) {
    case ReportKind::kSegmentation:
      s << report::segmentation_section(in.metrics, in.best_cases, in.worst_cases);
      break;
    case ReportKind::kClassification:
      s << report::classification_section(in.metrics);
      break;
    case ReportKind::kSurvival:
      s << report::survival_section(in.metrics, in.model);
      break;
    case ReportKind::kClustering:
      s << report::clustering_section(in.metrics, in.clusters);
      break;
  }
  if (in.model.is_object() && in.model.contains("history"))
    s << report::training_section(in.model["history"]);
  s << problems_section(in);
  s << "<section id='settings'><h2>Settings</h2><details><summary>this run's "
       "settings</summary><pre>"
    << escape_html(json_text(in.config, 2)) << "</pre></details>";
  if (in.model.is_object() && in.model.contains("training"))
    s << "<details><summary>the model's training settings</summary><pre>"
      << escape_html(json_text(in.model["training"], 2)) << "</pre></details>";
  s << "</section>";
  s << "<script>" << kSortScript << "</script></body></html>\n";
  return s.str();
}

void write_report_html(const fs::path& dir, const ReportInput& input) {
  atomic_write_text(dir / "report.html", render_report_html(input));
}

}  // namespace medpipe
