// metrics/survival.h: survival metrics, each a pure function of follow-up times, events (1
// happened, 0 censored) and predictions, with R's survival package's conventions where it has
// one (tests compare with R at test time); docs/metrics.md states every convention.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <vector>

namespace medpipe {

// Kaplan-Meier, as R's survfit(Surv(time, event) ~ 1): one row per distinct time (events or
// censorings); std_err is Greenwood's standard error of -log S (R's std.err); 95% intervals
// on the log scale (R's default, the upper bound capped at 1) and the log-log scale. Bounds
// and std_err are NaN where R gives NA or Inf (S = 0, and S = 1 for log-log).
struct KaplanMeier {
  std::vector<double> time, surv, std_err, lower_log, upper_log, lower_loglog, upper_loglog;
  std::vector<long> n_risk, n_event, n_censor;
  double at(double t) const;          // S(t), right-continuous; 1 before the first time
  double left_limit(double t) const;  // S(t-)
};
KaplanMeier kaplan_meier(const std::vector<double>& time, const std::vector<int>& event);

// The log-rank test of R's survdiff (rho = 0) between groups 0..g-1: chi-square with the
// groups that have expected events, df = those groups - 1.
struct LogRank {
  double chisq = 0, p = 1;
  int df = 0;
  std::vector<double> observed, expected;
};
LogRank logrank_test(const std::vector<double>& time, const std::vector<int>& event,
                     const std::vector<int>& group);

// Harrell's C of risk scores (higher = earlier event) with R's concordance() counts: a pair is
// comparable when the shorter time is an event (a censoring at the same time as an event counts
// as the longer); tied_time counts pairs of events at one time (not comparable), tied_risk the
// comparable pairs of equal risk, which count one half. C = (concordant + tied_risk / 2) /
// (concordant + discordant + tied_risk). O(n log n).
struct Concordance {
  double c = 0;
  std::int64_t concordant = 0, discordant = 0, tied_risk = 0, tied_time = 0, tied_both = 0;
};
Concordance harrell_c(const std::vector<double>& time, const std::vector<int>& event,
                      const std::vector<double>& risk);

// Uno's C (Uno et al. 2011): the comparable pairs of Harrell's C whose event time is < tau,
// each weighted by 1 / G(t_i-)^2, G the Kaplan-Meier of the censoring in `train` (time, 1 -
// event); ties in risk count one half.
struct CensoringModel {
  KaplanMeier km;                  // of the censoring: event = 1 - event
  double at_left(double t) const;  // G(t-)
  double at(double t) const;       // G(t)
};
CensoringModel censoring_model(const std::vector<double>& time, const std::vector<int>& event);
double uno_c(const std::vector<double>& time, const std::vector<int>& event,
             const std::vector<double>& risk, const CensoringModel& censoring, double tau);

// Cumulative/dynamic AUC at `t` (Uno 2007, as scikit-survival's cumulative_dynamic_auc): cases
// have an event at or before t, weighted by 1 / G(t_i-), controls are still event-free after t;
// ties in risk count one half. NaN when there are no cases or no controls.
double td_auc(const std::vector<double>& time, const std::vector<int>& event,
              const std::vector<double>& risk, const CensoringModel& censoring, double t);

// Brier score at t with inverse probability of censoring weights (Graf et al. 1999): subjects
// with an event at or before t contribute S(t|x)^2 / G(t_i-), those still at risk after t
// (1 - S(t|x))^2 / G(t), censored before t nothing; divided by n.
double brier_score(const std::vector<double>& time, const std::vector<int>& event,
                   const std::vector<double>& surv_at_t, const CensoringModel& censoring, double t);

// The integrated Brier score: the trapezoidal rule over `times` of brier[i], divided by
// times.back() - times.front() (scikit-survival's integrated_brier_score).
double integrated_brier(const std::vector<double>& times, const std::vector<double>& brier);

// Calibration at `horizon`: the subjects in `groups` groups of equal size by their predicted
// S(horizon) (sorted, the remainder spread over the first groups), and per group the mean
// predicted probability next to the Kaplan-Meier estimate of the group at the horizon, with its
// log-scale 95% interval.
struct CalibrationGroup {
  std::size_t n = 0;
  double predicted = 0, observed = 0, lower = 0, upper = 0;
};
std::vector<CalibrationGroup> survival_calibration(const std::vector<double>& time,
                                                   const std::vector<int>& event,
                                                   const std::vector<double>& surv_at_horizon,
                                                   double horizon, int groups = 5);

// The Kaplan-Meier estimate at `horizon` with case weights: prod over event times t <= horizon
// of 1 - (weight of the events at t) / (weight still at risk at t). The inverse probability
// weighted value of a treatment policy, with weight 1 / P(received arm) for the subjects whose
// arm is the policy's and 0 for the others.
double weighted_survival_at(const std::vector<double>& time, const std::vector<int>& event,
                            const std::vector<double>& weight, double horizon);

nlohmann::json kaplan_meier_to_json(const KaplanMeier& km);
nlohmann::json censoring_to_json(const CensoringModel& censoring);  // time, surv
CensoringModel censoring_from_json(const nlohmann::json& json);

// What a survival model predicted for subjects with known outcomes.
struct SurvivalPredictions {
  std::vector<double> time;
  std::vector<int> event;
  std::vector<double> risk;   // higher = earlier event
  std::vector<double> times;  // the evaluation times, ascending
  std::vector<double> surv;   // S(times[k] | subject i) at [i * times.size() + k]
};

// Every survival key of the contract: n, events, harrell_c (with its pair counts in
// concordance), uno_c (truncated at the last evaluation time), td_auc and brier (lists of
// {time, value}), integrated_brier_score (over the evaluation times), logrank between the
// predicted risk groups (risk above `risk_cutoff` is high) and their Kaplan-Meier curves, and
// calibration at the middle evaluation time (survival_calibration, 5 groups).
nlohmann::json survival_metrics(const SurvivalPredictions& p, const CensoringModel& censoring,
                                double risk_cutoff);

}  // namespace medpipe
