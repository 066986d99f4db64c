// The report's survival section: Kaplan-Meier curves of the predicted risk groups with numbers
// at risk and the log-rank test, the Cox model's hazard ratios as a forest plot and a table,
// and the time-dependent AUC and Brier score over time.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/sections.h"
#include "report/svg.h"

namespace medpipe::report {

namespace {

// A p-value: 4 decimals, or 3 significant digits below 1e-4.
std::string p_value(const nlohmann::json& p) {
  if (!p.is_number() || p.get<double>() >= 1e-4) return cell_number(p, 4);
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", p.get<double>());
  return text;
}

std::vector<double> numbers(const nlohmann::json& values) {
  std::vector<double> out;
  for (const auto& v : values) out.push_back(v.is_number() ? v.get<double>() : NAN);
  return out;
}

// A Kaplan-Meier curve as a step series from (0, 1).
Series km_series(const std::string& name, const nlohmann::json& km, bool dashed) {
  Series s{name, {0.0}, {1.0}, true, dashed, false};
  const std::vector<double> t = numbers(km["time"]), surv = numbers(km["surv"]);
  s.x.insert(s.x.end(), t.begin(), t.end());
  s.y.insert(s.y.end(), surv.begin(), surv.end());
  return s;
}

// Subjects still at risk at `t` on a curve: n_risk of the first time >= t, 0 past the last.
long at_risk(const nlohmann::json& km, double t) {
  const std::vector<double> times = numbers(km["time"]);
  for (std::size_t i = 0; i < times.size(); ++i)
    if (times[i] >= t) return km["n_risk"][i].get<long>();
  return 0;
}

std::string km_plot(const nlohmann::json& m, const std::string& unit) {
  const nlohmann::json& km = m["kaplan_meier"];
  ChartSpec spec{"km", "Kaplan-Meier by predicted risk group", "time (" + unit + ")", "survival"};
  spec.y_max = 1;
  std::ostringstream s;
  s << line_chart(spec, {km_series("low risk", km["low_risk"], false),
                         km_series("high risk", km["high_risk"], true)});
  const nlohmann::json& lr = m["logrank"];
  s << "<p>Log-rank test, high vs low predicted risk (split at the training median risk): "
       "chi-square "
    << cell_number(lr["chisq"], 2) << " on " << cell_number(lr["df"]) << " df, p "
    << p_value(lr["p"]) << ".</p>";
  const std::vector<double> all_times = numbers(km["all"]["time"]);
  if (!all_times.empty()) {
    s << "<table id='at-risk'><thead><tr><th>at risk</th>";
    std::vector<double> ticks = nice_ticks(0, all_times.back(), 5);
    for (double t : ticks) s << "<th>" << cell_number(t + 0.0 == 0 ? 0.0 : t, 0) << "</th>";
    s << "</tr></thead><tbody>";
    for (const char* group : {"low_risk", "high_risk"}) {
      s << "<tr><th>" << (std::string(group) == "low_risk" ? "low risk" : "high risk") << "</th>";
      for (double t : ticks) s << "<td>" << at_risk(km[group], t) << "</td>";
      s << "</tr>";
    }
    s << "</tbody></table>";
  }
  return s.str();
}

// Hazard ratios with their 95% intervals: one horizontal segment a covariate, log axis.
std::string forest_plot(const nlohmann::json& coefficients) {
  std::vector<Series> series;
  int row = 0;
  for (const auto& c : coefficients) {
    ++row;
    const double lo = std::log(c["ci_low"].get<double>()),
                 hi = std::log(c["ci_high"].get<double>());
    const double hr = std::log(c["hazard_ratio"].get<double>());
    series.push_back({c["name"].get<std::string>(),
                      {lo, hr, hi},
                      {1.0 * row, 1.0 * row, 1.0 * row},
                      false,
                      false,
                      true});
  }
  ChartSpec spec{"forest", "Hazard ratios (log scale), 95% intervals", "log hazard ratio",
                 "covariate"};
  spec.y_min = 0;
  spec.y_max = row + 1;
  std::ostringstream s;
  s << line_chart(spec, series);
  s << "<table id='coefficients'><thead><tr><th>covariate</th><th>coef</th><th>HR</th>"
       "<th>95% CI</th><th>se</th><th>p</th></tr></thead><tbody>";
  for (const auto& c : coefficients)
    s << "<tr><td>" << escape_html(c["name"].get<std::string>()) << "</td><td>"
      << cell_number(c["coef"]) << "</td><td>" << cell_number(c["hazard_ratio"]) << "</td><td>"
      << cell_number(c["ci_low"]) << " - " << cell_number(c["ci_high"]) << "</td><td>"
      << cell_number(c["se"]) << "</td><td>" << p_value(c["p"]) << "</td></tr>";
  s << "</tbody></table>";
  return s.str();
}

Series over_time(const std::string& name, const nlohmann::json& points) {
  Series s{name, {}, {}, false, false, true};
  for (const auto& p : points) {
    s.x.push_back(p["time"].get<double>());
    s.y.push_back(p["value"].is_number() ? p["value"].get<double>() : NAN);
  }
  return s;
}

// The treatment policies' values side by side, and whether the recommendation is beaten.
std::string policy_table(const nlohmann::json& m, const std::string& unit) {
  const nlohmann::json& v = m["policy_value"];
  std::ostringstream s;
  s << "<h3>Treatment policies</h3><p>Survival at " << cell_number(v["horizon"], 1) << " "
    << escape_html(unit)
    << " if every patient were treated as the policy says (inverse probability weighting; "
       "observed: as they were).</p><table id='policies'><thead><tr><th>policy</th>"
       "<th>survival (IPW)</th><th>survival (doubly robust)</th></tr></thead><tbody>";
  const nlohmann::json dr = m.value("policy_value_doubly_robust", nlohmann::json::object());
  for (const auto& [name, value] : v.items())
    if (name != "horizon")
      s << "<tr><td>" << escape_html(name) << "</td><td>" << cell_number(value) << "</td><td>"
        << cell_number(dr.value(name, nlohmann::json())) << "</td></tr>";
  s << "</tbody></table>";
  if (!m["recommendation_worse_than"].empty())
    s << "<p class='warn'>The recommendation does worse than treating everyone alike ("
      << escape_html(m["recommendation_worse_than"].dump()) << ").</p>";
  if (m.contains("followed_logrank"))
    s << "<p>Followed vs not followed (confounded; read beside the values above): log-rank "
         "chi-square "
      << cell_number(m["followed_logrank"]["chisq"], 2) << ", p "
      << p_value(m["followed_logrank"]["p"]) << ".</p>";
  if (m.contains("agreement_with_best"))
    s << "<p>Recommended the truly best arm: " << cell_number(m["agreement_with_best"], 3)
      << " of the patients.</p>";
  return s.str();
}

}  // namespace

std::string survival_section(const nlohmann::json& metrics, const nlohmann::json& model) {
  const std::string unit = metrics.value("time_unit", "time");
  std::ostringstream s;
  s << "<section id='survival'><h2>Survival</h2>";
  s << "<p>Harrell's C " << cell_number(metrics["harrell_c"]) << ", Uno's C "
    << cell_number(metrics["uno_c"]) << " (up to " << cell_number(metrics["uno_c_tau"], 1) << " "
    << escape_html(unit) << "), integrated Brier score "
    << cell_number(metrics["integrated_brier_score"]) << ".</p>";
  s << km_plot(metrics, unit);
  if (metrics.contains("policy_value")) s << policy_table(metrics, unit);
  if (model.is_object() && model.contains("coefficients")) s << forest_plot(model["coefficients"]);
  ChartSpec auc{"td-auc", "Time-dependent AUC", "time (" + unit + ")", "AUC"};
  auc.y_max = 1;
  ChartSpec brier{"brier", "Brier score", "time (" + unit + ")", "Brier score"};
  if (metrics.contains("calibration")) {
    const nlohmann::json& cal = metrics["calibration"];
    Series observed{"observed (Kaplan-Meier)", {}, {}, false, false, true};
    for (const auto& g : cal["groups"]) {
      observed.x.push_back(g["predicted"].get<double>());
      observed.y.push_back(g["observed"].is_number() ? g["observed"].get<double>() : NAN);
    }
    ChartSpec spec{"calibration",
                   "Calibration at " + cell_number(cal["horizon"], 1) + " " + unit +
                       " (5 groups by predicted survival)",
                   "predicted survival", "observed survival"};
    spec.x_max = spec.y_max = 1;
    spec.diagonal = true;
    s << line_chart(spec, {observed});
  }
  s << line_chart(auc, {over_time("AUC(t)", metrics["td_auc"])});
  s << line_chart(brier, {over_time("Brier(t)", metrics["brier"])});
  s << "</section>";
  return s.str();
}

}  // namespace medpipe::report
