// report/report.h: metrics.json, skipped.csv and the HTML report of a run.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/fs.h"

namespace medpipe {

using SkippedList = std::vector<std::pair<std::string, std::string>>;  // image, reason

void write_metrics_json(const fs::path& dir, const nlohmann::json& metrics);
// skipped.csv (image,reason); written even when empty so a run's outputs are predictable.
void write_skipped_csv(const fs::path& dir, const SkippedList& skipped);

struct ReportInput {
  std::string title;
  nlohmann::json metrics;  // classification_metrics(...)
  nlohmann::json config;   // resolved config
  nlohmann::json history;  // per-epoch records of the model's training, if known
  SkippedList skipped;
  double seconds = 0;
};

// One self-contained HTML file (inline CSS and SVG, no script, no network). No identifiers.
std::string render_report_html(const ReportInput& input);
void write_report_html(const fs::path& dir, const ReportInput& input);

}  // namespace medpipe
