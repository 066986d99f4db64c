// report/svg.h: the report's plots as inline SVG strings: line charts with axes, ticks and a
// legend, and a heat map. Pure functions; nothing here knows about metrics.
#pragma once
#include <string>
#include <vector>

namespace medpipe {

// Text for HTML content and attribute values.
std::string escape_html(const std::string& text);

struct Series {
  std::string name;
  std::vector<double> x, y;  // points with a non-finite coordinate break the line
  bool step = false;         // a step function (PR curves) rather than straight segments
  bool dashed = false;
  bool markers = false;  // a dot at every point (few points: calibration bins)
  bool line = true;      // false: the dots only (a scatter plot; set markers)
};

struct ChartSpec {
  std::string id;  // the <svg> element's id
  std::string title, x_label, y_label;
  double x_min = 0, x_max = -1, y_min = 0, y_max = -1;  // max < min: fitted to the data
  bool diagonal = false;                                // a dashed y = x reference line
  int width_px = 360, height_px = 280;                  // of the plot; the legend goes below it
};

// "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi], about `count` of them.
std::vector<double> nice_ticks(double lo, double hi, int count);

std::string line_chart(const ChartSpec& spec, const std::vector<Series>& series);

// A matrix of counts as coloured cells: rows and columns labelled, each cell showing its count
// and its share of the row; the colour follows the row share.
std::string heat_map(const std::string& id, const std::vector<std::vector<long>>& counts,
                     const std::string& row_label, const std::string& column_label);

}  // namespace medpipe
