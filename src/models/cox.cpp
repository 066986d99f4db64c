#include "models/cox.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/distributions.h"
#include "core/error.h"
#include "core/linear_algebra.h"

namespace medpipe {

namespace {

constexpr double kZ975 = 1.959963984540054;  // qnorm(0.975)

// The subjects sorted by ascending time, covariates centred and scaled (row-major).
struct Scaled {
  std::size_t n = 0, p = 0;
  std::vector<double> time, z, means, scale;
  std::vector<int> event;
};

Scaled scaled_data(const SurvivalTable& data) {
  Scaled s;
  s.n = data.rows();
  s.p = data.columns.size();
  std::vector<std::size_t> order(s.n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return data.time[a] < data.time[b]; });
  s.means.assign(s.p, 0.0);
  s.scale.assign(s.p, 1.0);
  for (std::size_t k = 0; k < s.p; ++k) {
    double sum = 0, deviation = 0;
    for (std::size_t i = 0; i < s.n; ++i) sum += data.at(i, k);
    s.means[k] = sum / static_cast<double>(s.n);
    for (std::size_t i = 0; i < s.n; ++i) deviation += std::fabs(data.at(i, k) - s.means[k]);
    s.scale[k] = deviation > 0 ? static_cast<double>(s.n) / deviation : 1.0;
  }
  s.z.resize(s.n * s.p);
  for (std::size_t r = 0; r < s.n; ++r) {
    const std::size_t i = order[r];
    s.time.push_back(data.time[i]);
    s.event.push_back(data.event[i]);
    for (std::size_t k = 0; k < s.p; ++k)
      s.z[r * s.p + k] = (data.at(i, k) - s.means[k]) * s.scale[k];
  }
  return s;
}

// The log partial likelihood at beta, its score u and information matrix imat (p x p), one pass
// from the last time to the first, the risk set growing as it goes (R's coxfit6_iter).
struct Pass {
  double loglik = 0;
  std::vector<double> u, imat;
};

Pass cox_pass(const Scaled& s, const std::vector<double>& beta, CoxTies ties) {
  const std::size_t p = s.p;
  Pass out{0, std::vector<double>(p, 0.0), std::vector<double>(p * p, 0.0)};
  std::vector<double> a(p, 0.0), a2(p), cmat(p * p, 0.0), cmat2(p * p);
  double denom = 0;
  for (std::size_t end = s.n; end > 0;) {
    const double t = s.time[end - 1];
    std::fill(a2.begin(), a2.end(), 0.0);
    std::fill(cmat2.begin(), cmat2.end(), 0.0);
    double deaths = 0, denom2 = 0;
    for (; end > 0 && s.time[end - 1] == t; --end) {
      const double* z = &s.z[(end - 1) * p];
      double zbeta = 0;
      for (std::size_t k = 0; k < p; ++k) zbeta += beta[k] * z[k];
      const double risk = std::exp(zbeta);
      const bool died = s.event[end - 1] != 0;
      if (died) {
        deaths += 1;
        denom2 += risk;
        out.loglik += zbeta;
      } else {
        denom += risk;
      }
      std::vector<double>& sums = died ? a2 : a;
      std::vector<double>& squares = died ? cmat2 : cmat;
      for (std::size_t i = 0; i < p; ++i) {
        if (died) out.u[i] += z[i];
        sums[i] += risk * z[i];
        for (std::size_t j = 0; j <= i; ++j) squares[i * p + j] += risk * z[i] * z[j];
      }
    }
    if (deaths == 0) continue;
    // Breslow: the deaths join the risk set at once; Efron: in `deaths` equal steps
    const int steps = ties == CoxTies::kBreslow ? 1 : static_cast<int>(deaths);
    const double share = 1.0 / steps, weight = deaths / steps;
    for (int step = 0; step < steps; ++step) {
      denom += denom2 * share;
      out.loglik -= weight * std::log(denom);
      for (std::size_t i = 0; i < p; ++i) {
        a[i] += a2[i] * share;
        const double mean = a[i] / denom;
        out.u[i] -= weight * mean;
        for (std::size_t j = 0; j <= i; ++j) {
          cmat[i * p + j] += cmat2[i * p + j] * share;
          out.imat[j * p + i] += weight * (cmat[i * p + j] - mean * a[j]) / denom;
        }
      }
    }
  }
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = 0; j < i; ++j) out.imat[i * p + j] = out.imat[j * p + i];
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

// The ridge penalty on the covariates' own scale, in the scaled coordinates (coef = beta x
// scale): theta/2 sum (beta_k scale_k)^2 taken off the log likelihood, its gradient off u and its
// Hessian added to imat.
void penalise(Pass& pass, const Scaled& s, const std::vector<double>& beta, double theta) {
  if (theta <= 0) return;
  for (std::size_t k = 0; k < s.p; ++k) {
    const double w = theta * s.scale[k] * s.scale[k];
    pass.loglik -= 0.5 * w * beta[k] * beta[k];
    pass.u[k] -= w * beta[k];
    pass.imat[k * s.p + k] += w;
  }
}

void refuse_unusable(const SurvivalTable& data, const Scaled& s) {
  if (std::none_of(data.event.begin(), data.event.end(), [](int e) { return e != 0; }))
    throw UsageError("every subject is censored (event 0): a Cox model needs events");
  for (std::size_t k = 0; k < s.p; ++k) {
    bool constant = true;
    for (std::size_t i = 1; i < s.n && constant; ++i) constant = data.at(i, k) == data.at(0, k);
    if (constant)
      throw UsageError("covariate '" + data.columns[k] +
                       "' has the same value for every subject; remove it");
  }
}

void refuse_singular(const SurvivalTable& data, const Ldl& f) {
  std::string names;
  for (std::size_t k = 0; k < f.p; ++k)
    if (f.singular[k]) names += (names.empty() ? "'" : ", '") + data.columns[k] + "'";
  if (!names.empty())
    throw UsageError("covariate " + names +
                     " is a linear combination of the others (collinear); remove it, or set "
                     "cox_ridge (e.g. 1) to penalise the coefficients");
}

CoxModel finish(const SurvivalTable& data, const Scaled& s, const std::vector<double>& beta,
                const Ldl& information, const Pass& final_pass, double loglik0, double score) {
  CoxModel m;
  const std::size_t p = s.p;
  const std::vector<double> v = ldl_inverse(information);
  m.variance.resize(p * p);
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = 0; j < p; ++j)
      m.variance[i * p + j] = v[i * p + j] * s.scale[i] * s.scale[j];
  // R's check for a coefficient running to infinity: the Newton step still taken at the end
  const std::vector<double> step = ldl_solve(information, final_pass.u);
  std::vector<double> coef(p);
  for (std::size_t k = 0; k < p; ++k) {
    coef[k] = beta[k] * s.scale[k];
    const double remaining = std::fabs(step[k] * s.scale[k]);
    if (remaining > 1e-9 && remaining > std::sqrt(1e-9) * std::fabs(coef[k]))
      throw UsageError("covariate '" + data.columns[k] +
                       "' separates the events (its coefficient runs to infinity: the log "
                       "likelihood converged before it); set cox_ridge (e.g. 1) to penalise it");
    CoxCoefficient c;
    c.name = data.columns[k];
    c.coef = coef[k];
    c.se = std::sqrt(m.variance[k * p + k]);
    c.z = c.coef / c.se;
    c.p = normal_two_sided_p(c.z);
    c.hazard_ratio = std::exp(c.coef);
    c.ci_low = std::exp(c.coef - kZ975 * c.se);
    c.ci_high = std::exp(c.coef + kZ975 * c.se);
    m.coefficients.push_back(c);
  }
  m.means = s.means;
  m.loglik_null = loglik0;
  m.loglik = final_pass.loglik;
  const double df = static_cast<double>(p);
  m.likelihood_ratio = {2 * (m.loglik - loglik0), df, 0};
  Ldl var = ldl(m.variance, p);
  m.wald = {dot(coef, ldl_solve(var, coef)), df, 0};
  m.score = {score, df, 0};
  for (CoxTest* t : {&m.likelihood_ratio, &m.wald, &m.score})
    t->p = chi_square_upper_p(t->statistic, t->df);
  m.subjects = s.n;
  m.events = static_cast<std::size_t>(std::count(s.event.begin(), s.event.end(), 1));
  (void)data;
  return m;
}

}  // namespace

double CoxModel::linear_predictor(const double* x) const {
  double lp = 0;
  for (std::size_t k = 0; k < coefficients.size(); ++k)
    lp += (x[k] - means[k]) * coefficients[k].coef;
  return lp;
}

SurvivalBaseline baseline_hazard(const std::vector<double>& time, const std::vector<int>& event,
                                 const std::vector<double>& risk, CoxTies ties) {
  std::vector<std::size_t> order(time.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return time[a] < time[b]; });
  double at_risk = 0;
  std::vector<std::pair<double, double>> steps;  // (time, hazard), the last time first
  for (std::size_t end = order.size(); end > 0;) {
    const double t = time[order[end - 1]];
    double deaths = 0, death_risk = 0;
    for (; end > 0 && time[order[end - 1]] == t; --end) {
      const double r = std::exp(risk[order[end - 1]]);
      at_risk += r;
      if (event[order[end - 1]]) deaths += 1, death_risk += r;
    }
    if (deaths == 0) continue;
    double hazard = 0;
    if (ties == CoxTies::kBreslow) {
      hazard = deaths / at_risk;
    } else {
      for (int k = 0; k < static_cast<int>(deaths); ++k)
        hazard += 1.0 / (at_risk - k / deaths * death_risk);
    }
    steps.emplace_back(t, hazard);
  }
  SurvivalBaseline b;
  double cumulative = 0;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    cumulative += it->second;
    b.event_times.push_back(it->first);
    b.cumulative_hazard.push_back(cumulative);
  }
  return b;
}

nlohmann::json baseline_to_json(const SurvivalBaseline& b) {
  return {{"time", b.event_times}, {"cumulative_hazard", b.cumulative_hazard}};
}

SurvivalBaseline baseline_from_json(const nlohmann::json& j) {
  SurvivalBaseline b;
  b.event_times = j.at("time").get<std::vector<double>>();
  b.cumulative_hazard = j.at("cumulative_hazard").get<std::vector<double>>();
  if (b.event_times.size() != b.cumulative_hazard.size())
    throw UsageError("model.json: the baseline's times and hazards differ in number");
  return b;
}

double SurvivalBaseline::survival(double lp, double time) const {
  const auto after = std::upper_bound(event_times.begin(), event_times.end(), time);
  if (after == event_times.begin()) return 1.0;
  return std::exp(-cumulative_hazard[after - event_times.begin() - 1] * std::exp(lp));
}

double SurvivalBaseline::median_survival(double lp) const {
  // S(t) <= 0.5 where H0(t) exp(lp) >= log 2: the first such time, H0 being non-decreasing
  const double needed = std::log(2.0) * std::exp(-lp);
  const auto first = std::lower_bound(cumulative_hazard.begin(), cumulative_hazard.end(), needed);
  if (first == cumulative_hazard.end()) return std::numeric_limits<double>::quiet_NaN();
  return event_times[first - cumulative_hazard.begin()];
}

CoxModel fit_cox(const SurvivalTable& data, const CoxOptions& options) {
  const Scaled s = scaled_data(data);
  refuse_unusable(data, s);
  std::vector<double> beta(s.p, 0.0);
  Pass pass = cox_pass(s, beta, options.ties);
  penalise(pass, s, beta, options.ridge);
  const double loglik0 = pass.loglik;
  Ldl information = ldl(pass.imat, s.p);
  refuse_singular(data, information);
  std::vector<double> newbeta = ldl_solve(information, pass.u);
  const double score = dot(pass.u, newbeta);
  for (std::size_t k = 0; k < s.p; ++k) newbeta[k] += beta[k];
  double best = loglik0;
  int halving = 0;
  for (int iter = 1; iter <= options.max_iter; ++iter) {
    Pass next = cox_pass(s, newbeta, options.ties);
    penalise(next, s, newbeta, options.ridge);
    Ldl f = ldl(next.imat, s.p);
    bool finite = std::isfinite(next.loglik);
    for (double v : next.u) finite = finite && std::isfinite(v);
    for (double v : next.imat) finite = finite && std::isfinite(v);
    if (finite && std::fabs(1 - best / next.loglik) <= options.eps) {
      refuse_singular(data, f);
      CoxModel m = finish(data, s, newbeta, f, next, loglik0, score);
      m.ties = options.ties;
      m.ridge = options.ridge;
      m.iterations = iter;
      std::vector<double> lp(data.rows());
      for (std::size_t i = 0; i < data.rows(); ++i) lp[i] = m.linear_predictor(&data.x[i * s.p]);
      m.baseline = baseline_hazard(data.time, data.event, lp, options.ties);
      return m;
    }
    if (!finite || next.loglik < best) {  // not converging: back towards the last good beta
      ++halving;
      for (std::size_t k = 0; k < s.p; ++k)
        newbeta[k] = (newbeta[k] + halving * beta[k]) / (halving + 1.0);
    } else {
      halving = 0;
      best = next.loglik;
      const std::vector<double> step = ldl_solve(f, next.u);
      beta = newbeta;
      for (std::size_t k = 0; k < s.p; ++k) newbeta[k] += step[k];
    }
  }
  // out of iterations: name the covariate still moving most (on its own scale)
  std::size_t moving = 0;
  for (std::size_t k = 1; k < s.p; ++k)
    if (std::fabs((newbeta[k] - beta[k]) * s.scale[k]) >
        std::fabs((newbeta[moving] - beta[moving]) * s.scale[moving]))
      moving = k;
  throw UsageError("the Cox model did not converge in " + std::to_string(options.max_iter) +
                   " Newton-Raphson iterations: covariate '" + data.columns[moving] +
                   "' may separate the events (its coefficient runs to infinity); set cox_ridge "
                   "(e.g. 1) to penalise the coefficients");
}

nlohmann::json coefficients_to_json(const CoxModel& m) {
  nlohmann::json coefficients = nlohmann::json::array();
  for (const CoxCoefficient& c : m.coefficients)
    coefficients.push_back({{"name", c.name},
                            {"coef", c.coef},
                            {"se", c.se},
                            {"z", c.z},
                            {"p", c.p},
                            {"hazard_ratio", c.hazard_ratio},
                            {"ci_low", c.ci_low},
                            {"ci_high", c.ci_high}});
  return coefficients;
}

nlohmann::json cox_to_json(const CoxModel& m) {
  const nlohmann::json coefficients = coefficients_to_json(m);
  auto test = [](const CoxTest& t) {
    return nlohmann::json{{"statistic", t.statistic}, {"df", t.df}, {"p", t.p}};
  };
  return {{"ties", m.ties == CoxTies::kEfron ? "efron" : "breslow"},
          {"ridge", m.ridge},
          {"coefficients", coefficients},
          {"means", m.means},
          {"variance", m.variance},
          {"loglik", {m.loglik_null, m.loglik}},
          {"likelihood_ratio_test", test(m.likelihood_ratio)},
          {"wald_test", test(m.wald)},
          {"score_test", test(m.score)},
          {"iterations", m.iterations},
          {"subjects", m.subjects},
          {"events", m.events},
          {"baseline", baseline_to_json(m.baseline)}};
}

CoxModel cox_from_json(const nlohmann::json& j) {
  CoxModel m;
  m.ties = j.at("ties").get<std::string>() == "breslow" ? CoxTies::kBreslow : CoxTies::kEfron;
  m.ridge = j.value("ridge", 0.0);
  for (const auto& c : j.at("coefficients")) {
    CoxCoefficient k;
    k.name = c.at("name").get<std::string>();
    k.coef = c.at("coef").get<double>();
    k.se = c.at("se").get<double>();
    k.z = c.at("z").get<double>();
    k.p = c.at("p").get<double>();
    k.hazard_ratio = c.at("hazard_ratio").get<double>();
    k.ci_low = c.at("ci_low").get<double>();
    k.ci_high = c.at("ci_high").get<double>();
    m.coefficients.push_back(k);
  }
  m.means = j.at("means").get<std::vector<double>>();
  m.variance = j.at("variance").get<std::vector<double>>();
  m.loglik_null = j.at("loglik").at(0).get<double>();
  m.loglik = j.at("loglik").at(1).get<double>();
  auto test = [&](const char* key) {
    const auto& t = j.at(key);
    return CoxTest{t.at("statistic").get<double>(), t.at("df").get<double>(),
                   t.at("p").get<double>()};
  };
  m.likelihood_ratio = test("likelihood_ratio_test");
  m.wald = test("wald_test");
  m.score = test("score_test");
  m.iterations = j.value("iterations", 0);
  m.subjects = j.value("subjects", std::size_t{0});
  m.events = j.value("events", std::size_t{0});
  m.baseline = baseline_from_json(j.at("baseline"));
  if (m.means.size() != m.coefficients.size())
    throw UsageError("model.json: the Cox model's means and coefficients differ in number");
  return m;
}

}  // namespace medpipe
