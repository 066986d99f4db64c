// report/report.h: metrics.json, skipped.csv and the HTML report of a run.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/fs.h"
#include "report/thumbnails.h"

namespace medpipe {

using SkippedList = std::vector<std::pair<std::string, std::string>>;  // image, reason

void write_metrics_json(const fs::path& dir, const nlohmann::json& metrics);
// skipped.csv (image,reason); written even when empty so a run's outputs are predictable.
void write_skipped_csv(const fs::path& dir, const SkippedList& skipped);

// Which task's sections a report has (the task table names it for each task).
enum class ReportKind { kClassification, kSegmentation, kSurvival, kClustering };

struct ReportInput {
  ReportKind kind = ReportKind::kClassification;
  std::string title;
  nlohmann::json metrics;  // classification_metrics(...) or summarise_segmentation(...)
  nlohmann::json config;   // the resolved config of this run
  nlohmann::json model;    // model.json of the model that made the predictions; null if unknown
  SkippedList skipped;
  std::vector<std::string> warnings;                   // this run's warnings, in order
  std::vector<CaseThumbnail> best_cases, worst_cases;  // segmentation
  // clustering: "map" {x, y, cluster} (the images' first two principal components) and
  // "examples", per cluster a list of {image, png} (data: URIs)
  nlohmann::json clusters;
  double seconds = 0;                                  // of this stage
};

// One self-contained HTML file: inline CSS and SVG, no network, and one small script that
// sorts the per-image table. Image names, counts and numbers only: no patient identifiers.
std::string render_report_html(const ReportInput& input);
void write_report_html(const fs::path& dir, const ReportInput& input);

}  // namespace medpipe
