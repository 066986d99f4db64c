#include "report/svg.h"

#include <gtest/gtest.h>

#include <cmath>

namespace medpipe {
namespace {

TEST(Svg, NiceTicksAreRoundSteps) {
  std::vector<double> unit = nice_ticks(0, 1, 5), expected = {0, 0.2, 0.4, 0.6, 0.8, 1};
  ASSERT_EQ(unit.size(), expected.size());
  for (std::size_t i = 0; i < unit.size(); ++i) EXPECT_NEAR(unit[i], expected[i], 1e-12);
  std::vector<double> t = nice_ticks(1, 12, 5);  // 11 / 5 = 2.2 -> steps of 5
  ASSERT_GE(t.size(), 2u);
  double step = t[1] - t[0];
  EXPECT_EQ(step, 5);
  EXPECT_GE(t.front(), 1);
  EXPECT_LE(t.back(), 12);
  EXPECT_EQ(nice_ticks(0.31, 0.36, 5).size(), 6u);  // 0.31 0.32 ... 0.36
}

TEST(Svg, EscapesMarkup) {
  EXPECT_EQ(escape_html("a<b & 'c'"), "a&lt;b &amp; &#39;c&#39;");
}

TEST(Svg, LineChartHasItsIdSeriesAndBreaksAtNaN) {
  ChartSpec spec{"roc", "ROC", "fpr", "tpr", 0, 1, 0, 1, true};
  std::string svg = line_chart(spec, {{"model", {0, 0.5, NAN, 1}, {0, 0.8, 0.9, 1}}});
  EXPECT_NE(svg.find("id='roc'"), std::string::npos);
  // a non-finite point splits the line into two polylines; the diagonal is a dashed line
  std::size_t polylines = 0;
  for (std::size_t at = 0; (at = svg.find("<polyline", at)) != std::string::npos; ++at) ++polylines;
  EXPECT_EQ(polylines, 2u);
  EXPECT_NE(svg.find("stroke-dasharray='4 3'"), std::string::npos);
  EXPECT_NE(svg.find(">model<"), std::string::npos);
}

TEST(Svg, HeatMapShowsCountsAndRowShares) {
  std::string svg = heat_map("cm", {{3, 1}, {0, 4}}, "true", "predicted");
  EXPECT_NE(svg.find("id='cm'"), std::string::npos);
  EXPECT_NE(svg.find(">75%<"), std::string::npos);   // 3 of the first row's 4
  EXPECT_NE(svg.find(">100%<"), std::string::npos);  // 4 of 4
  EXPECT_NE(svg.find("true 0, predicted 1: 1 (25.0% of the row)"), std::string::npos);
}

}  // namespace
}  // namespace medpipe
