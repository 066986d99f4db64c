#include "metrics/survival.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/distributions.h"
#include "core/linear_algebra.h"

namespace medpipe {

namespace {

constexpr double kZ975 = 1.959963984540054;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::size_t> by_time(const std::vector<double>& time) {
  std::vector<std::size_t> order(time.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return time[a] < time[b]; });
  return order;
}

// R's survfit_confint for a survival probability s with standard error se of log s.
void add_intervals(KaplanMeier& km, double s, double se) {
  const bool usable = s > 0 && std::isfinite(se);
  km.lower_log.push_back(usable ? std::exp(std::log(s) - kZ975 * se) : kNaN);
  km.upper_log.push_back(usable ? std::min(1.0, std::exp(std::log(s) + kZ975 * se)) : kNaN);
  const bool inner = usable && s < 1;
  const double se2 = inner ? kZ975 * se / std::log(s) : kNaN;
  km.lower_loglog.push_back(inner ? std::exp(-std::exp(std::log(-std::log(s)) - se2)) : kNaN);
  km.upper_loglog.push_back(inner ? std::exp(-std::exp(std::log(-std::log(s)) + se2)) : kNaN);
}

// A Fenwick tree of counts over risk ranks: how many inserted are below, at, above a rank.
class RankCounts {
 public:
  explicit RankCounts(std::size_t ranks) : tree_(ranks + 1, 0), at_(ranks, 0) {}
  void insert(std::size_t rank) {
    ++at_[rank];
    ++total_;
    for (std::size_t i = rank + 1; i < tree_.size(); i += i & (~i + 1)) ++tree_[i];
  }
  std::int64_t below(std::size_t rank) const {  // inserted with rank < `rank`
    std::int64_t sum = 0;
    for (std::size_t i = rank; i > 0; i -= i & (~i + 1)) sum += tree_[i];
    return sum;
  }
  std::int64_t at(std::size_t rank) const { return at_[rank]; }
  std::int64_t total() const { return total_; }

 private:
  std::vector<std::int64_t> tree_, at_;
  std::int64_t total_ = 0;
};

std::vector<std::size_t> dense_ranks(const std::vector<double>& risk, std::size_t* count) {
  std::vector<double> sorted = risk;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<std::size_t> rank(risk.size());
  for (std::size_t i = 0; i < risk.size(); ++i)
    rank[i] = static_cast<std::size_t>(std::lower_bound(sorted.begin(), sorted.end(), risk[i]) -
                                       sorted.begin());
  *count = sorted.size();
  return rank;
}

// Walks the distinct times from the last: at each, the censored join the set of those known to
// outlive its events, then each event is compared with that set (visit(event, counts)), then the
// events join it.
template <class Visit>
void walk_comparable(const std::vector<double>& time, const std::vector<int>& event,
                     const std::vector<std::size_t>& rank, std::size_t ranks, Visit visit) {
  const std::vector<std::size_t> order = by_time(time);
  RankCounts later(ranks);
  for (std::size_t end = order.size(); end > 0;) {
    std::size_t begin = end;
    while (begin > 0 && time[order[begin - 1]] == time[order[end - 1]]) --begin;
    for (std::size_t k = begin; k < end; ++k)
      if (!event[order[k]]) later.insert(rank[order[k]]);
    for (std::size_t k = begin; k < end; ++k)
      if (event[order[k]]) visit(order[k], later);
    for (std::size_t k = begin; k < end; ++k)
      if (event[order[k]]) later.insert(rank[order[k]]);
    end = begin;
  }
}

}  // namespace

double KaplanMeier::at(double t) const {
  const auto after = std::upper_bound(time.begin(), time.end(), t);
  return after == time.begin() ? 1.0 : surv[after - time.begin() - 1];
}

double KaplanMeier::left_limit(double t) const {
  const auto first = std::lower_bound(time.begin(), time.end(), t);
  return first == time.begin() ? 1.0 : surv[first - time.begin() - 1];
}

KaplanMeier kaplan_meier(const std::vector<double>& time, const std::vector<int>& event) {
  KaplanMeier km;
  const std::vector<std::size_t> order = by_time(time);
  long at_risk = static_cast<long>(time.size());
  double s = 1, greenwood = 0;
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin;
    long deaths = 0;
    while (end < order.size() && time[order[end]] == time[order[begin]])
      deaths += event[order[end++]] != 0;
    const long here = static_cast<long>(end - begin);
    s *= 1.0 - static_cast<double>(deaths) / at_risk;
    greenwood += deaths == 0         ? 0.0
                 : deaths >= at_risk ? std::numeric_limits<double>::infinity()
                                     : static_cast<double>(deaths) /
                                           (static_cast<double>(at_risk) * (at_risk - deaths));
    km.time.push_back(time[order[begin]]);
    km.n_risk.push_back(at_risk);
    km.n_event.push_back(deaths);
    km.n_censor.push_back(here - deaths);
    km.surv.push_back(s);
    const double se = std::isfinite(greenwood) ? std::sqrt(greenwood) : kNaN;
    km.std_err.push_back(se);
    add_intervals(km, s, se);
    at_risk -= here;
    begin = end;
  }
  return km;
}

LogRank logrank_test(const std::vector<double>& time, const std::vector<int>& event,
                     const std::vector<int>& group) {
  const int groups = group.empty() ? 0 : *std::max_element(group.begin(), group.end()) + 1;
  LogRank out;
  out.observed.assign(groups, 0.0);
  out.expected.assign(groups, 0.0);
  std::vector<double> var(static_cast<std::size_t>(groups) * groups, 0.0);
  std::vector<double> at_risk(groups, 0.0);
  for (int g : group) at_risk[g] += 1;
  const std::vector<std::size_t> order = by_time(time);
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin;
    std::vector<double> deaths(groups, 0.0), leaving(groups, 0.0);
    while (end < order.size() && time[order[end]] == time[order[begin]]) {
      const std::size_t i = order[end++];
      leaving[group[i]] += 1;
      if (event[i]) deaths[group[i]] += 1;
    }
    const double n = std::accumulate(at_risk.begin(), at_risk.end(), 0.0);
    const double d = std::accumulate(deaths.begin(), deaths.end(), 0.0);
    if (d > 0) {
      for (int j = 0; j < groups; ++j) {
        out.observed[j] += deaths[j];
        out.expected[j] += d * at_risk[j] / n;
        if (n <= 1) continue;
        const double factor = d * (n - d) / (n * n * (n - 1));
        for (int k = 0; k < groups; ++k)
          var[j * groups + k] += factor * at_risk[j] * ((j == k ? n : 0.0) - at_risk[k]);
      }
    }
    for (int g = 0; g < groups; ++g) at_risk[g] -= leaving[g];
    begin = end;
  }
  // R: the groups with expected events, the first of them dropped, chi = d' V^-1 d
  std::vector<int> used;
  for (int g = 0; g < groups; ++g)
    if (out.expected[g] > 0) used.push_back(g);
  if (used.size() < 2) return out;
  const std::size_t m = used.size() - 1;
  std::vector<double> a(m * m), b(m);
  for (std::size_t r = 0; r < m; ++r) {
    b[r] = out.observed[used[r + 1]] - out.expected[used[r + 1]];
    for (std::size_t c = 0; c < m; ++c) a[r * m + c] = var[used[r + 1] * groups + used[c + 1]];
  }
  const Ldl factor = ldl(a, m);
  if (factor.any_singular()) return out;
  const std::vector<double> x = ldl_solve(factor, b);
  out.chisq = std::inner_product(x.begin(), x.end(), b.begin(), 0.0);
  out.df = static_cast<int>(m);
  out.p = chi_square_upper_p(out.chisq, out.df);
  return out;
}

Concordance harrell_c(const std::vector<double>& time, const std::vector<int>& event,
                      const std::vector<double>& risk) {
  std::size_t ranks = 0;
  const std::vector<std::size_t> rank = dense_ranks(risk, &ranks);
  Concordance c;
  walk_comparable(time, event, rank, ranks, [&](std::size_t i, const RankCounts& later) {
    const std::int64_t below = later.below(rank[i]), same = later.at(rank[i]);
    c.concordant += below;  // the later ones with a lower risk
    c.tied_risk += same;
    c.discordant += later.total() - below - same;
  });
  // pairs of events at one time (tied_time), and of those the pairs of equal risk (tied_both)
  std::vector<std::pair<double, double>> events;
  for (std::size_t i = 0; i < time.size(); ++i)
    if (event[i]) events.emplace_back(time[i], risk[i]);
  std::sort(events.begin(), events.end());
  auto pairs_of_runs = [&](auto same) {
    std::int64_t pairs = 0;
    for (std::size_t a = 0, b = 0; a < events.size(); a = b) {
      while (b < events.size() && same(events[a], events[b])) ++b;
      pairs += static_cast<std::int64_t>(b - a) * static_cast<std::int64_t>(b - a - 1) / 2;
    }
    return pairs;
  };
  c.tied_time = pairs_of_runs([](const auto& x, const auto& y) { return x.first == y.first; });
  c.tied_both = pairs_of_runs([](const auto& x, const auto& y) { return x == y; });
  const double comparable = static_cast<double>(c.concordant + c.discordant + c.tied_risk);
  c.c = comparable > 0 ? (c.concordant + 0.5 * c.tied_risk) / comparable : kNaN;
  return c;
}

CensoringModel censoring_model(const std::vector<double>& time, const std::vector<int>& event) {
  std::vector<int> censored(event.size());
  for (std::size_t i = 0; i < event.size(); ++i) censored[i] = event[i] ? 0 : 1;
  return {kaplan_meier(time, censored)};
}

double CensoringModel::at_left(double t) const {
  return km.left_limit(t);
}
double CensoringModel::at(double t) const {
  return km.at(t);
}

double uno_c(const std::vector<double>& time, const std::vector<int>& event,
             const std::vector<double>& risk, const CensoringModel& censoring, double tau) {
  std::size_t ranks = 0;
  const std::vector<std::size_t> rank = dense_ranks(risk, &ranks);
  double numerator = 0, denominator = 0;
  walk_comparable(time, event, rank, ranks, [&](std::size_t i, const RankCounts& later) {
    if (!(time[i] < tau)) return;
    const double g = censoring.at_left(time[i]);
    if (!(g > 0)) return;
    const double w = 1.0 / (g * g);
    const double below = static_cast<double>(later.below(rank[i]));
    numerator += w * (below + 0.5 * static_cast<double>(later.at(rank[i])));
    denominator += w * static_cast<double>(later.total());
  });
  return denominator > 0 ? numerator / denominator : kNaN;
}

double td_auc(const std::vector<double>& time, const std::vector<int>& event,
              const std::vector<double>& risk, const CensoringModel& censoring, double t) {
  std::vector<double> controls;
  for (std::size_t i = 0; i < time.size(); ++i)
    if (time[i] > t) controls.push_back(risk[i]);
  std::sort(controls.begin(), controls.end());
  double numerator = 0, case_weight = 0;
  for (std::size_t i = 0; i < time.size(); ++i) {
    if (!(time[i] <= t && event[i])) continue;
    const double g = censoring.at_left(time[i]);
    if (!(g > 0)) continue;
    const double w = 1.0 / g;
    const auto lo = std::lower_bound(controls.begin(), controls.end(), risk[i]);
    const auto hi = std::upper_bound(controls.begin(), controls.end(), risk[i]);
    numerator +=
        w * (static_cast<double>(lo - controls.begin()) + 0.5 * static_cast<double>(hi - lo));
    case_weight += w;
  }
  if (controls.empty() || case_weight == 0) return kNaN;
  return numerator / (case_weight * static_cast<double>(controls.size()));
}

double brier_score(const std::vector<double>& time, const std::vector<int>& event,
                   const std::vector<double>& surv_at_t, const CensoringModel& censoring,
                   double t) {
  double sum = 0;
  const double g_t = censoring.at(t);
  for (std::size_t i = 0; i < time.size(); ++i) {
    const double s = surv_at_t[i];
    if (time[i] <= t && event[i]) {
      const double g = censoring.at_left(time[i]);
      if (g > 0) sum += s * s / g;
    } else if (time[i] > t && g_t > 0) {
      sum += (1 - s) * (1 - s) / g_t;
    }
  }
  return sum / static_cast<double>(time.size());
}

double integrated_brier(const std::vector<double>& times, const std::vector<double>& brier) {
  if (times.size() < 2) return brier.empty() ? kNaN : brier[0];
  double area = 0;
  for (std::size_t i = 1; i < times.size(); ++i)
    area += 0.5 * (brier[i] + brier[i - 1]) * (times[i] - times[i - 1]);
  return area / (times.back() - times.front());
}

nlohmann::json kaplan_meier_to_json(const KaplanMeier& km) {
  auto values = [](const std::vector<double>& v) {
    nlohmann::json out = nlohmann::json::array();
    for (double x : v) out.push_back(std::isfinite(x) ? nlohmann::json(x) : nlohmann::json());
    return out;
  };
  return {{"time", km.time},
          {"n_risk", km.n_risk},
          {"n_event", km.n_event},
          {"n_censor", km.n_censor},
          {"surv", values(km.surv)},
          {"std_err", values(km.std_err)},
          {"lower", values(km.lower_log)},
          {"upper", values(km.upper_log)},
          {"lower_loglog", values(km.lower_loglog)},
          {"upper_loglog", values(km.upper_loglog)}};
}

std::vector<CalibrationGroup> survival_calibration(const std::vector<double>& time,
                                                   const std::vector<int>& event,
                                                   const std::vector<double>& surv_at_horizon,
                                                   double horizon, int groups) {
  std::vector<std::size_t> order(time.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return surv_at_horizon[a] < surv_at_horizon[b];
  });
  const std::size_t n = order.size(), k = std::min<std::size_t>(groups, n);
  std::vector<CalibrationGroup> out;
  for (std::size_t g = 0, begin = 0; g < k; ++g) {
    const std::size_t size = n / k + (g < n % k ? 1 : 0);
    std::vector<double> t;
    std::vector<int> e;
    CalibrationGroup c;
    for (std::size_t i = begin; i < begin + size; ++i) {
      t.push_back(time[order[i]]);
      e.push_back(event[order[i]]);
      c.predicted += surv_at_horizon[order[i]] / static_cast<double>(size);
    }
    const KaplanMeier km = kaplan_meier(t, e);
    const auto after = std::upper_bound(km.time.begin(), km.time.end(), horizon);
    const std::size_t row = static_cast<std::size_t>(after - km.time.begin());
    c.n = size;
    c.observed = km.at(horizon);
    c.lower = row == 0 ? 1.0 : km.lower_log[row - 1];
    c.upper = row == 0 ? 1.0 : km.upper_log[row - 1];
    out.push_back(c);
    begin += size;
  }
  return out;
}

double weighted_survival_at(const std::vector<double>& time, const std::vector<int>& event,
                            const std::vector<double>& weight, double horizon) {
  const std::vector<std::size_t> order = by_time(time);
  double at_risk = 0, s = 1;
  for (double w : weight) at_risk += w;
  for (std::size_t begin = 0; begin < order.size() && time[order[begin]] <= horizon;) {
    std::size_t end = begin;
    double deaths = 0, leaving = 0;
    for (; end < order.size() && time[order[end]] == time[order[begin]]; ++end) {
      leaving += weight[order[end]];
      if (event[order[end]]) deaths += weight[order[end]];
    }
    if (at_risk > 0) s *= 1 - deaths / at_risk;
    at_risk -= leaving;
    begin = end;
  }
  return s;
}

nlohmann::json censoring_to_json(const CensoringModel& censoring) {
  return {{"time", censoring.km.time}, {"surv", censoring.km.surv}};
}

CensoringModel censoring_from_json(const nlohmann::json& json) {
  CensoringModel censoring;
  censoring.km.time = json.at("time").get<std::vector<double>>();
  censoring.km.surv = json.at("surv").get<std::vector<double>>();
  return censoring;
}

namespace {

nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

std::vector<double> surv_at(const SurvivalPredictions& p, std::size_t k) {
  std::vector<double> s(p.time.size());
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = p.surv[i * p.times.size() + k];
  return s;
}

// td_auc, brier (lists of {time, value}) and integrated_brier_score, into `m`.
void add_time_dependent(nlohmann::json& m, const SurvivalPredictions& p,
                        const CensoringModel& censoring) {
  nlohmann::json auc = nlohmann::json::array(), brier = nlohmann::json::array();
  std::vector<double> brier_values;
  for (std::size_t k = 0; k < p.times.size(); ++k) {
    const double b = brier_score(p.time, p.event, surv_at(p, k), censoring, p.times[k]);
    brier_values.push_back(b);
    auc.push_back({{"time", p.times[k]},
                   {"value", number(td_auc(p.time, p.event, p.risk, censoring, p.times[k]))}});
    brier.push_back({{"time", p.times[k]}, {"value", number(b)}});
  }
  m["td_auc"] = auc;
  m["brier"] = brier;
  m["integrated_brier_score"] =
      p.times.size() >= 2 ? number(integrated_brier(p.times, brier_values)) : nlohmann::json();
  if (p.times.empty()) return;
  const std::size_t k = p.times.size() / 2;
  nlohmann::json groups = nlohmann::json::array();
  for (const CalibrationGroup& g : survival_calibration(p.time, p.event, surv_at(p, k), p.times[k]))
    groups.push_back({{"n", g.n},
                      {"predicted", g.predicted},
                      {"observed", number(g.observed)},
                      {"lower", number(g.lower)},
                      {"upper", number(g.upper)}});
  m["calibration"] = {{"horizon", p.times[k]}, {"groups", groups}};
}

// logrank between the risk groups and kaplan_meier of all and of each group, into `m`.
void add_risk_groups(nlohmann::json& m, const SurvivalPredictions& p, double risk_cutoff) {
  std::vector<int> group(p.risk.size());
  std::vector<double> low_t, high_t;
  std::vector<int> low_e, high_e;
  for (std::size_t i = 0; i < p.risk.size(); ++i) {
    group[i] = p.risk[i] > risk_cutoff ? 1 : 0;
    (group[i] ? high_t : low_t).push_back(p.time[i]);
    (group[i] ? high_e : low_e).push_back(p.event[i]);
  }
  const LogRank lr = logrank_test(p.time, p.event, group);
  m["logrank"] = {{"chisq", lr.chisq},
                  {"df", lr.df},
                  {"p", lr.p},
                  {"groups", {"low_risk", "high_risk"}},
                  {"observed", lr.observed},
                  {"expected", lr.expected},
                  {"risk_cutoff", risk_cutoff}};
  m["kaplan_meier"] = {{"all", kaplan_meier_to_json(kaplan_meier(p.time, p.event))},
                       {"low_risk", kaplan_meier_to_json(kaplan_meier(low_t, low_e))},
                       {"high_risk", kaplan_meier_to_json(kaplan_meier(high_t, high_e))}};
}

}  // namespace

nlohmann::json survival_metrics(const SurvivalPredictions& p, const CensoringModel& censoring,
                                double risk_cutoff) {
  const Concordance c = harrell_c(p.time, p.event, p.risk);
  nlohmann::json m = {{"n", p.time.size()},
                      {"events", std::count(p.event.begin(), p.event.end(), 1)},
                      {"harrell_c", number(c.c)},
                      {"concordance",
                       {{"concordant", c.concordant},
                        {"discordant", c.discordant},
                        {"tied_risk", c.tied_risk},
                        {"tied_time", c.tied_time},
                        {"tied_both", c.tied_both}}}};
  const double tau = p.times.empty() ? std::numeric_limits<double>::infinity() : p.times.back();
  m["uno_c"] = number(uno_c(p.time, p.event, p.risk, censoring, tau));
  m["uno_c_tau"] = number(tau);
  add_time_dependent(m, p, censoring);
  add_risk_groups(m, p, risk_cutoff);
  return m;
}

}  // namespace medpipe
