#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace medpipe {

namespace {

const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                               "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

std::string fixed(double v, int digits) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

// Tick labels with as many decimals as the step needs.
std::string tick_label(double v, double step) {
  int digits = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return fixed(std::abs(v) < step * 1e-6 ? 0.0 : v, std::clamp(digits, 0, 6));
}

struct Range {
  double lo, hi;
};

Range fitted(double min, double max, const std::vector<Series>& series, bool along_x) {
  if (max > min) return {min, max};
  double lo = 1e300, hi = -1e300;
  for (const auto& s : series) {
    for (double v : along_x ? s.x : s.y) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (lo > hi) return {0, 1};
  if (hi == lo) return {lo - 0.5, hi + 0.5};
  double margin = along_x ? 0 : 0.05 * (hi - lo);
  return {lo - margin, hi + margin};
}

// Maps data to pixels inside the plot area.
struct Frame {
  double left, top, width, height;
  Range x, y;
  double px(double v) const { return left + width * (v - x.lo) / (x.hi - x.lo); }
  double py(double v) const { return top + height * (1 - (v - y.lo) / (y.hi - y.lo)); }
};

void draw_axes(std::ostringstream& s, const Frame& f, const ChartSpec& spec) {
  s << "<rect x='" << f.left << "' y='" << f.top << "' width='" << f.width << "' height='"
    << f.height << "' fill='#fff' stroke='#999'/>";
  std::vector<double> xt = nice_ticks(f.x.lo, f.x.hi, 5), yt = nice_ticks(f.y.lo, f.y.hi, 5);
  double xs = xt.size() > 1 ? xt[1] - xt[0] : 1, ys = yt.size() > 1 ? yt[1] - yt[0] : 1;
  for (double t : xt) {
    double x = f.px(t);
    s << "<line x1='" << x << "' y1='" << f.top << "' x2='" << x << "' y2='" << f.top + f.height
      << "' stroke='#eee'/><text x='" << x << "' y='" << f.top + f.height + 14
      << "' text-anchor='middle'>" << tick_label(t, xs) << "</text>";
  }
  for (double t : yt) {
    double y = f.py(t);
    s << "<line x1='" << f.left << "' y1='" << y << "' x2='" << f.left + f.width << "' y2='" << y
      << "' stroke='#eee'/><text x='" << f.left - 4 << "' y='" << y + 4 << "' text-anchor='end'>"
      << tick_label(t, ys) << "</text>";
  }
  s << "<text x='" << f.left + f.width / 2 << "' y='" << f.top + f.height + 30
    << "' text-anchor='middle' class='axis'>" << escape_html(spec.x_label) << "</text>"
    << "<text transform='translate(12," << f.top + f.height / 2
    << ") rotate(-90)' text-anchor='middle' class='axis'>" << escape_html(spec.y_label)
    << "</text>";
  if (spec.diagonal) {
    double lo = std::max(f.x.lo, f.y.lo), hi = std::min(f.x.hi, f.y.hi);
    s << "<line x1='" << f.px(lo) << "' y1='" << f.py(lo) << "' x2='" << f.px(hi) << "' y2='"
      << f.py(hi) << "' stroke='#aaa' stroke-dasharray='4 3'/>";
  }
}

// The polyline points of one series, broken into runs of finite points.
std::vector<std::string> point_runs(const Frame& f, const Series& series) {
  std::vector<std::string> runs(1);
  double last_y = NAN;
  for (std::size_t i = 0; i < std::min(series.x.size(), series.y.size()); ++i) {
    double x = series.x[i], y = series.y[i];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      if (!runs.back().empty()) runs.emplace_back();
      last_y = NAN;
      continue;
    }
    if (series.step && std::isfinite(last_y))
      runs.back() += fixed(f.px(x), 1) + "," + fixed(f.py(last_y), 1) + " ";
    runs.back() += fixed(f.px(x), 1) + "," + fixed(f.py(y), 1) + " ";
    last_y = y;
  }
  return runs;
}

}  // namespace

std::string escape_html(const std::string& text) {
  std::string out;
  out.reserve(text.size());
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
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo) || count < 1) return {lo};
  double raw = (hi - lo) / count;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1)
    ticks.push_back(k * step);
  return ticks;
}

std::string line_chart(const ChartSpec& spec, const std::vector<Series>& series) {
  Frame f{52,
          10,
          spec.width_px - 62.0,
          spec.height_px - 52.0,
          fitted(spec.x_min, spec.x_max, series, true),
          fitted(spec.y_min, spec.y_max, series, false)};
  const int legend_rows = static_cast<int>(series.size() + 1) / 2;
  const int height = spec.height_px + 16 * legend_rows;
  std::ostringstream s;
  s << "<figure><svg id='" << escape_html(spec.id) << "' class='chart' width='" << spec.width_px
    << "' height='" << height << "' viewBox='0 0 " << spec.width_px << " " << height
    << "' role='img' aria-label='" << escape_html(spec.title) << "'>";
  draw_axes(s, f, spec);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const char* color = kColors[k % 8];
    for (const std::string& points : point_runs(f, series[k])) {
      if (points.empty() || !series[k].line) continue;
      s << "<polyline class='series' fill='none' stroke-width='2' stroke='" << color << "'"
        << (series[k].dashed ? " stroke-dasharray='6 3'" : "") << " points='" << points << "'/>";
    }
    for (std::size_t i = 0; series[k].markers && i < series[k].x.size(); ++i) {
      if (!std::isfinite(series[k].x[i]) || !std::isfinite(series[k].y[i])) continue;
      s << "<circle cx='" << fixed(f.px(series[k].x[i]), 1) << "' cy='"
        << fixed(f.py(series[k].y[i]), 1) << "' r='3' fill='" << color << "'/>";
    }
    // the legend: two entries a row, under the axis label
    double x = f.left + (k % 2 ? f.width / 2 : 0);
    double y = spec.height_px + 4 + 16 * static_cast<double>(k / 2);
    s << "<line x1='" << x << "' y1='" << y - 4 << "' x2='" << x + 16 << "' y2='" << y - 4
      << "' stroke-width='2' stroke='" << color << "'"
      << (series[k].dashed ? " stroke-dasharray='6 3'" : "") << "/><text x='" << x + 20 << "' y='"
      << y << "' class='legend'>" << escape_html(series[k].name) << "</text>";
  }
  s << "</svg><figcaption>" << escape_html(spec.title) << "</figcaption></figure>";
  return s.str();
}

std::string heat_map(const std::string& id, const std::vector<std::vector<long>>& counts,
                     const std::string& row_label, const std::string& column_label) {
  const std::size_t k = counts.size();
  const double cell = k <= 4 ? 64 : std::max(28.0, 256.0 / static_cast<double>(k));
  const double left = 64, top = 40;
  const double size = cell * static_cast<double>(k);
  std::ostringstream s;
  s << "<figure><svg id='" << escape_html(id) << "' class='heatmap' width='" << left + size + 10
    << "' height='" << top + size + 10 << "' role='img' aria-label='" << escape_html(row_label)
    << " by " << escape_html(column_label) << "'>";
  s << "<text x='" << left + size / 2 << "' y='12' text-anchor='middle' class='axis'>"
    << escape_html(column_label) << "</text><text transform='translate(14," << top + size / 2
    << ") rotate(-90)' text-anchor='middle' class='axis'>" << escape_html(row_label) << "</text>";
  for (std::size_t c = 0; c < k; ++c) {
    s << "<text x='" << left + cell * (c + 0.5) << "' y='" << top - 6 << "' text-anchor='middle'>"
      << c << "</text><text x='" << left - 6 << "' y='" << top + cell * (c + 0.5) + 4
      << "' text-anchor='end'>" << c << "</text>";
  }
  for (std::size_t r = 0; r < k; ++r) {
    long row_total = 0;
    for (long v : counts[r]) row_total += v;
    for (std::size_t c = 0; c < k; ++c) {
      double share = row_total ? static_cast<double>(counts[r][c]) / row_total : 0.0;
      double x = left + cell * c, y = top + cell * r;
      s << "<rect class='cell' x='" << x << "' y='" << y << "' width='" << cell << "' height='"
        << cell << "' fill='rgba(31,119,180," << fixed(0.08 + 0.92 * share, 3)
        << ")' stroke='#fff'><title>true " << r << ", predicted " << c << ": " << counts[r][c]
        << " (" << fixed(100 * share, 1) << "% of the row)</title></rect>";
      const char* ink = share > 0.5 ? "#fff" : "#000";
      s << "<text x='" << x + cell / 2 << "' y='" << y + cell / 2 << "' text-anchor='middle' fill='"
        << ink << "'>" << counts[r][c] << "</text>";
      if (cell >= 48)
        s << "<text x='" << x + cell / 2 << "' y='" << y + cell / 2 + 14
          << "' text-anchor='middle' class='small' fill='" << ink << "'>" << fixed(100 * share, 0)
          << "%</text>";
    }
  }
  s << "</svg></figure>";
  return s.str();
}

}  // namespace medpipe
