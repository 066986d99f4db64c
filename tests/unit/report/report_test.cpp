// The report's HTML for a classification and a segmentation run: the elements the browser test
// and users look for are there; text is escaped; nothing is fetched from the network.
#include "report/report.h"

#include <gtest/gtest.h>

#include "metrics/classification.h"

namespace medpipe {
namespace {

bool has(const std::string& html, const std::string& what) {
  return html.find(what) != std::string::npos;
}

TEST(Report, ClassificationHasCurvesMatrixAndCalibration) {
  ClassificationInput in;
  in.truth = {0, 0, 1, 1, 1, 0};
  in.probabilities = {0.9, 0.1, 0.6, 0.4, 0.3, 0.7, 0.2, 0.8, 0.55, 0.45, 0.35, 0.65};
  ReportInput report;
  report.title = "evaluation <test>";
  report.metrics = classification_metrics(in);
  report.config = {{"images_bucket", "imgs"}, {"model_bucket_name", "m"}};
  report.model = {{"history",
                   {{{"epoch", 1}, {"train_loss", 0.7}, {"val_loss", 0.69}, {"val_auc", 0.6}},
                    {{"epoch", 2}, {"train_loss", 0.5}, {"val_loss", 0.6}, {"val_auc", 0.7}}}},
                  {"versions", {{"libtorch", "2.1"}}}};
  report.skipped = {{"bad_image", "not a DICOM file"}};
  report.warnings = {"skipped bad_image: not a DICOM file"};
  std::string html = render_report_html(report);
  for (const char* id :
       {"id='confusion-matrix'", "id='roc-curve'", "id='pr-curve'", "id='calibration-curve'",
        "id='loss-curve'", "id='metric-curve'", "id='per-class'", "id='skipped'", "id='summary'"})
    EXPECT_TRUE(has(html, id)) << id;
  EXPECT_TRUE(has(html, "evaluation &lt;test&gt;"));
  EXPECT_FALSE(has(html, "http://"));
  EXPECT_FALSE(has(html, "https://"));
  EXPECT_TRUE(has(html, "libtorch 2.1"));
}

TEST(Report, SegmentationHasASortableTableAndCases) {
  nlohmann::json row = {
      {"image", "case_1"}, {"dice", 0.8}, {"jaccard", 0.67}, {"hausdorff95", 2.0}, {"assd", 0.5}};
  ReportInput report;
  report.kind = ReportKind::kSegmentation;
  report.title = "seg";
  report.metrics = {
      {"n", 2},
      {"dice", 0.7},
      {"jaccard", 0.6},
      {"hausdorff95", 3.0},
      {"assd", 1.0},
      {"distance_units", "mm"},
      {"per_class",
       {{{"class", 1}, {"dice", 0.7}, {"jaccard", 0.6}, {"hausdorff95", 3.0}, {"assd", 1.0}}}},
      {"per_image",
       {row,
        {{"image", "case_2"},
         {"dice", 0.6},
         {"jaccard", 0.43},
         {"hausdorff95", nullptr},
         {"assd", nullptr}}}}};
  report.config = nlohmann::json::object();
  report.best_cases = {{"case_1", 0.8, "data:image/png;base64,AAAA"}};
  report.worst_cases = {{"case_2", 0.6, "data:image/png;base64,BBBB"}};
  std::string html = render_report_html(report);
  EXPECT_TRUE(has(html, "id='per-image' class='sortable'"));
  EXPECT_TRUE(has(html, "id='best-cases'"));
  EXPECT_TRUE(has(html, "id='worst-cases'"));
  EXPECT_TRUE(has(html, "id='dice-per-image'"));
  // worst first: case_2 (0.6) before case_1 (0.8) in the per-image table
  std::size_t table = html.find("id='per-image'");
  EXPECT_LT(html.find("<td>case_2</td>", table), html.find("<td>case_1</td>", table));
  EXPECT_TRUE(has(html, "HD95 (mm)"));
}

}  // namespace
}  // namespace medpipe
