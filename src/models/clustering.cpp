#include "models/clustering.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <random>

#include "core/error.h"
#include "core/linear_algebra.h"

namespace medpipe {

namespace {

double squared_distance(const double* a, const double* b, std::size_t d) {
  double s = 0;
  for (std::size_t j = 0; j < d; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

// The column means of the rows, NaNs left out (NaN for a column never defined).
std::vector<double> finite_means(const std::vector<std::vector<double>>& rows, std::size_t d) {
  std::vector<double> sum(d, 0.0), count(d, 0.0);
  for (const auto& row : rows)
    for (std::size_t j = 0; j < d; ++j)
      if (std::isfinite(row[j])) sum[j] += row[j], count[j] += 1;
  for (std::size_t j = 0; j < d; ++j) sum[j] = count[j] > 0 ? sum[j] / count[j] : NAN;
  return sum;
}

// How many principal components to keep of `eigenvalues` (descending).
std::size_t components_to_keep(const std::vector<double>& eigenvalues, int requested) {
  const std::size_t d = eigenvalues.size();
  if (requested > 0) return std::min<std::size_t>(static_cast<std::size_t>(requested), d);
  if (requested < 0 || d <= 10) return 0;
  double total = 0, sum = 0;
  for (double v : eigenvalues) total += std::max(0.0, v);
  std::size_t p = 0;
  while (p < std::min<std::size_t>(10, d) && sum < 0.9 * total)
    sum += std::max(0.0, eigenvalues[p++]);
  return std::max<std::size_t>(p, 2);
}

}  // namespace

std::size_t ClusterSpace::dimensions() const {
  return components.empty() ? columns.size() : components.size() / columns.size();
}

ClusterSpace ClusterSpace::fit(const std::vector<std::string>& columns,
                               const std::vector<std::vector<double>>& rows, int pca_components,
                               const std::string& source) {
  const std::size_t d = columns.size();
  const std::vector<double> mean = finite_means(rows, d);
  ClusterSpace space;
  for (std::size_t j = 0; j < d; ++j) {
    if (!std::isfinite(mean[j])) continue;  // never defined
    double squares = 0;
    for (const auto& row : rows)
      if (std::isfinite(row[j])) squares += (row[j] - mean[j]) * (row[j] - mean[j]);
    const double sd = std::sqrt(squares / static_cast<double>(rows.size()));
    if (!(sd > 1e-12 * std::max(1.0, std::abs(mean[j])))) continue;  // constant
    space.columns.push_back(columns[j]);
    space.mean.push_back(mean[j]);
    space.sd.push_back(sd);
  }
  if (space.columns.empty()) {
    throw UsageError(
        source + ": none of the " + std::to_string(d) + " features varies over the " +
        std::to_string(rows.size()) +
        " images (every column is constant or undefined), so there is nothing to "
        "cluster on; check the images (are they all the same?) or give other features");
  }
  if (pca_components == -1) return space;
  const Points z = space.apply(columns, rows, source);
  const std::size_t p = z.d;
  std::vector<double> covariance(p * p, 0.0);
  for (std::size_t i = 0; i < z.n; ++i)
    for (std::size_t a = 0; a < p; ++a)
      for (std::size_t b = 0; b <= a; ++b) covariance[a * p + b] += z.row(i)[a] * z.row(i)[b];
  for (std::size_t a = 0; a < p; ++a)
    for (std::size_t b = 0; b <= a; ++b)
      covariance[b * p + a] = covariance[a * p + b] /= static_cast<double>(z.n);
  const SymmetricEigen eigen = symmetric_eigen(covariance, p);
  const std::size_t keep = components_to_keep(eigen.values, pca_components);
  space.components.assign(eigen.vectors.begin(), eigen.vectors.begin() + keep * p);
  return space;
}

Points ClusterSpace::apply(const std::vector<std::string>& input_columns,
                           const std::vector<std::vector<double>>& rows,
                           const std::string& source) const {
  std::map<std::string, std::size_t> position;
  for (std::size_t j = 0; j < input_columns.size(); ++j) position[input_columns[j]] = j;
  std::vector<std::size_t> at;
  for (const std::string& column : columns) {
    auto found = position.find(column);
    if (found == position.end())
      throw UsageError(source + " has no feature '" + column +
                       "', which the clustering model was fitted on; compute the features as "
                       "for the model (model.json)");
    at.push_back(found->second);
  }
  const std::size_t q = columns.size(), p = dimensions();
  Points z{rows.size(), q, std::vector<double>(rows.size() * q, 0.0)};
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < q; ++j) {
      const double x = rows[i][at[j]];
      z.values[i * q + j] = std::isfinite(x) ? (x - mean[j]) / sd[j] : 0.0;  // NaN: the mean
    }
  if (components.empty()) return z;
  Points out{rows.size(), p, std::vector<double>(rows.size() * p, 0.0)};
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t k = 0; k < p; ++k) {
      double s = 0;
      for (std::size_t j = 0; j < q; ++j) s += components[k * q + j] * z.values[i * q + j];
      out.values[i * p + k] = s;
    }
  return out;
}

nlohmann::json ClusterSpace::to_json() const {
  return {{"columns", columns}, {"mean", mean}, {"sd", sd}, {"pca_components", components}};
}

ClusterSpace ClusterSpace::from_json(const nlohmann::json& j) {
  ClusterSpace s;
  s.columns = j.at("columns").get<std::vector<std::string>>();
  s.mean = j.at("mean").get<std::vector<double>>();
  s.sd = j.at("sd").get<std::vector<double>>();
  s.components = j.at("pca_components").get<std::vector<double>>();
  return s;
}

std::vector<int> nearest_centres(const Points& x, const std::vector<double>& centres,
                                 std::vector<double>* squared) {
  const std::size_t k = centres.size() / x.d;
  std::vector<int> labels(x.n, 0);
  if (squared) squared->assign(x.n, 0.0);
  for (std::size_t i = 0; i < x.n; ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k; ++c) {
      const double s = squared_distance(x.row(i), centres.data() + c * x.d, x.d);
      if (s < best) best = s, labels[i] = static_cast<int>(c);
    }
    if (squared) (*squared)[i] = best;
  }
  return labels;
}

namespace {

// The means of the points of each label; an empty cluster takes the points farthest from their
// centre (as scikit-learn's relocation), which leave their own clusters.
std::vector<double> cluster_means(const Points& x, std::vector<int>& labels,
                                  const std::vector<double>& squared, std::size_t k) {
  std::vector<double> sums(k * x.d, 0.0), counts(k, 0.0);
  for (std::size_t i = 0; i < x.n; ++i) {
    counts[labels[i]] += 1;
    for (std::size_t j = 0; j < x.d; ++j) sums[labels[i] * x.d + j] += x.row(i)[j];
  }
  std::vector<std::size_t> far(x.n);
  for (std::size_t i = 0; i < x.n; ++i) far[i] = i;
  std::stable_sort(far.begin(), far.end(),
                   [&](std::size_t a, std::size_t b) { return squared[a] > squared[b]; });
  std::size_t next_far = 0;
  for (std::size_t c = 0; c < k; ++c) {
    if (counts[c] > 0 || next_far >= x.n) continue;
    const std::size_t i = far[next_far++];
    const auto old = static_cast<std::size_t>(labels[i]);
    if (counts[old] <= 1) continue;
    counts[old] -= 1, counts[c] = 1;
    for (std::size_t j = 0; j < x.d; ++j) {
      sums[old * x.d + j] -= x.row(i)[j];
      sums[c * x.d + j] = x.row(i)[j];
    }
    labels[i] = static_cast<int>(c);
  }
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < x.d; ++j) sums[c * x.d + j] /= std::max(1.0, counts[c]);
  return sums;
}

double mean_variance(const Points& x) {
  double total = 0;
  for (std::size_t j = 0; j < x.d; ++j) {
    double mean = 0, squares = 0;
    for (std::size_t i = 0; i < x.n; ++i) mean += x.row(i)[j];
    mean /= static_cast<double>(x.n);
    for (std::size_t i = 0; i < x.n; ++i) squares += (x.row(i)[j] - mean) * (x.row(i)[j] - mean);
    total += squares / static_cast<double>(x.n);
  }
  return total / static_cast<double>(x.d);
}

}  // namespace

KMeansFit kmeans_from(const Points& x, std::vector<double> centres, int max_iter, double tol) {
  const std::size_t k = centres.size() / x.d;
  const double shift_tolerance = tol * mean_variance(x);
  std::vector<int> previous(x.n, -1), labels;
  std::vector<double> squared;
  bool strict = false;
  int iteration = 0;
  while (iteration < max_iter) {
    ++iteration;
    labels = nearest_centres(x, centres, &squared);
    std::vector<double> moved = cluster_means(x, labels, squared, k);
    double shift = 0;
    for (std::size_t v = 0; v < moved.size(); ++v)
      shift += (moved[v] - centres[v]) * (moved[v] - centres[v]);
    centres = std::move(moved);
    if (labels == previous) {
      strict = true;
      break;
    }
    if (shift <= shift_tolerance) break;
    previous = labels;
  }
  if (!strict) labels = nearest_centres(x, centres, &squared);
  KMeansFit fit{k, std::move(centres), std::move(labels), 0.0, iteration};
  for (std::size_t i = 0; i < x.n; ++i)
    fit.inertia += squared_distance(x.row(i), fit.centres.data() + fit.labels[i] * x.d, x.d);
  return fit;
}

namespace {

std::vector<double> kmeans_plus_plus(const Points& x, std::size_t k, std::mt19937_64& rng) {
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  std::vector<double> centres;
  auto add_centre = [&](std::size_t i) { centres.insert(centres.end(), x.row(i), x.row(i) + x.d); };
  add_centre(std::uniform_int_distribution<std::size_t>(0, x.n - 1)(rng));
  std::vector<double> closest(x.n);
  for (std::size_t i = 0; i < x.n; ++i)
    closest[i] = squared_distance(x.row(i), centres.data(), x.d);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::size_t c = 1; c < k; ++c) {
    std::vector<double> cumulative(x.n);
    double potential = 0;
    for (std::size_t i = 0; i < x.n; ++i) cumulative[i] = potential += closest[i];
    std::size_t best = 0;
    double best_potential = std::numeric_limits<double>::infinity();
    std::vector<double> best_closest;
    for (int t = 0; t < trials; ++t) {
      const double target = unit(rng) * potential;
      std::size_t candidate = static_cast<std::size_t>(
          std::lower_bound(cumulative.begin(), cumulative.end(), target) - cumulative.begin());
      candidate = std::min(candidate, x.n - 1);
      std::vector<double> next(x.n);
      double sum = 0;
      for (std::size_t i = 0; i < x.n; ++i)
        sum += next[i] = std::min(closest[i], squared_distance(x.row(i), x.row(candidate), x.d));
      if (sum < best_potential) best_potential = sum, best = candidate, best_closest = next;
    }
    add_centre(best);
    closest = best_closest;
  }
  return centres;
}

}  // namespace

KMeansFit kmeans(const Points& x, int k, int restarts, std::uint64_t seed) {
  KMeansFit best;
  for (int r = 0; r < std::max(1, restarts); ++r) {
    std::mt19937_64 rng(seed * 1000003ULL + static_cast<std::uint64_t>(r));
    KMeansFit fit = kmeans_from(x, kmeans_plus_plus(x, static_cast<std::size_t>(k), rng));
    if (r == 0 || fit.inertia < best.inertia) best = std::move(fit);
  }
  return best;
}

std::vector<double> GaussianMixture::weighted_log_densities(const Points& x) const {
  std::vector<double> out(x.n * k);
  const double log_2pi = std::log(2 * std::numbers::pi);
  for (std::size_t c = 0; c < k; ++c) {
    const std::vector<double> cov(covariances.begin() + c * d * d,
                                  covariances.begin() + (c + 1) * d * d);
    const Ldl factor = ldl(cov, d);
    if (factor.any_singular())
      throw UsageError("component " + std::to_string(c) +
                       " of the Gaussian mixture has a singular covariance: too few images in a "
                       "cluster for the number of features; use fewer clusters, fewer "
                       "cluster_pca components, or cluster_method kmeans");
    double log_det = 0;
    for (std::size_t j = 0; j < d; ++j) log_det += std::log(factor.m[j * d + j]);
    const double constant =
        std::log(weights[c]) - 0.5 * (static_cast<double>(d) * log_2pi + log_det);
    std::vector<double> centred(d);
    for (std::size_t i = 0; i < x.n; ++i) {
      for (std::size_t j = 0; j < d; ++j) centred[j] = x.row(i)[j] - means[c * d + j];
      const std::vector<double> solved = ldl_solve(factor, centred);
      double maha = 0;
      for (std::size_t j = 0; j < d; ++j) maha += centred[j] * solved[j];
      out[i * k + c] = constant - 0.5 * maha;
    }
  }
  return out;
}

std::size_t GaussianMixture::free_parameters() const {
  return (k - 1) + k * d + k * d * (d + 1) / 2;
}

nlohmann::json GaussianMixture::to_json() const {
  return {{"weights", weights}, {"means", means}, {"covariances", covariances}};
}

GaussianMixture GaussianMixture::from_json(const nlohmann::json& j) {
  GaussianMixture g;
  g.weights = j.at("weights").get<std::vector<double>>();
  g.means = j.at("means").get<std::vector<double>>();
  g.covariances = j.at("covariances").get<std::vector<double>>();
  g.k = g.weights.size();
  g.d = g.k ? g.means.size() / g.k : 0;
  return g;
}

namespace {

// Per point: log sum_c exp(weighted log density); `responsibilities` gets exp(log resp), n x k.
std::vector<double> normalise_log_densities(const std::vector<double>& weighted, std::size_t k,
                                            std::vector<double>* responsibilities) {
  const std::size_t n = weighted.size() / k;
  std::vector<double> log_norm(n);
  if (responsibilities) responsibilities->resize(weighted.size());
  for (std::size_t i = 0; i < n; ++i) {
    const double* w = weighted.data() + i * k;
    const double top = *std::max_element(w, w + k);
    double sum = 0;
    for (std::size_t c = 0; c < k; ++c) sum += std::exp(w[c] - top);
    log_norm[i] = top + std::log(sum);
    if (responsibilities)
      for (std::size_t c = 0; c < k; ++c)
        (*responsibilities)[i * k + c] = std::exp(w[c] - log_norm[i]);
  }
  return log_norm;
}

// The M step (scikit-learn's _estimate_gaussian_parameters, full covariances): weights, means
// and covariances from the responsibilities; `means` (if given) replaces the fitted means.
GaussianMixture mixture_from_responsibilities(const Points& x, const std::vector<double>& resp,
                                              std::size_t k, double reg_covar,
                                              const std::vector<double>* means = nullptr) {
  const std::size_t d = x.d;
  GaussianMixture g{k, d, std::vector<double>(k, 0.0), std::vector<double>(k * d, 0.0),
                    std::vector<double>(k * d * d, 0.0)};
  const double tiny = 10 * std::numeric_limits<double>::epsilon();
  for (std::size_t c = 0; c < k; ++c) {
    double nk = tiny;
    for (std::size_t i = 0; i < x.n; ++i) nk += resp[i * k + c];
    g.weights[c] = nk;
    for (std::size_t i = 0; i < x.n; ++i)
      for (std::size_t j = 0; j < d; ++j) g.means[c * d + j] += resp[i * k + c] * x.row(i)[j];
    for (std::size_t j = 0; j < d; ++j) g.means[c * d + j] /= nk;
    double* cov = g.covariances.data() + c * d * d;
    for (std::size_t i = 0; i < x.n; ++i) {
      const double r = resp[i * k + c];
      if (r == 0) continue;
      for (std::size_t a = 0; a < d; ++a)
        for (std::size_t b = 0; b <= a; ++b)
          cov[a * d + b] +=
              r * (x.row(i)[a] - g.means[c * d + a]) * (x.row(i)[b] - g.means[c * d + b]);
    }
    for (std::size_t a = 0; a < d; ++a) {
      for (std::size_t b = 0; b <= a; ++b) cov[b * d + a] = cov[a * d + b] /= nk;
      cov[a * d + a] += reg_covar;
    }
  }
  double total = 0;
  for (double w : g.weights) total += w;
  for (double& w : g.weights) w /= total;
  if (means) g.means = *means;
  return g;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace

std::vector<int> mixture_labels(const GaussianMixture& model, const Points& x,
                                std::vector<double>* log_likelihood,
                                std::vector<double>* probabilities) {
  const std::vector<double> weighted = model.weighted_log_densities(x);
  const std::vector<double> log_norm = normalise_log_densities(weighted, model.k, probabilities);
  if (log_likelihood) *log_likelihood = log_norm;
  std::vector<int> labels(x.n);
  for (std::size_t i = 0; i < x.n; ++i) {
    const double* w = weighted.data() + i * model.k;
    labels[i] = static_cast<int>(std::max_element(w, w + model.k) - w);
  }
  return labels;
}

MixtureFit fit_gaussian_mixture(const Points& x, const std::vector<double>& initial_means,
                                int max_iter, double tol, double reg_covar) {
  const std::size_t k = initial_means.size() / x.d;
  std::vector<double> resp(x.n * k, 0.0);
  const std::vector<int> nearest = nearest_centres(x, initial_means);
  for (std::size_t i = 0; i < x.n; ++i) resp[i * k + nearest[i]] = 1;
  MixtureFit fit;
  fit.model = mixture_from_responsibilities(x, resp, k, reg_covar, &initial_means);
  double lower_bound = -std::numeric_limits<double>::infinity();
  for (fit.iterations = 1; fit.iterations <= max_iter; ++fit.iterations) {
    const double previous = lower_bound;
    lower_bound = mean_of(normalise_log_densities(fit.model.weighted_log_densities(x), k, &resp));
    fit.model = mixture_from_responsibilities(x, resp, k, reg_covar);
    if (std::abs(lower_bound - previous) < tol) {
      fit.converged = true;
      break;
    }
  }
  fit.iterations = std::min(fit.iterations, max_iter);
  std::vector<double> log_likelihood;
  fit.labels = mixture_labels(fit.model, x, &log_likelihood);
  fit.log_likelihood = mean_of(log_likelihood);
  fit.bic = -2 * fit.log_likelihood * static_cast<double>(x.n) +
            static_cast<double>(fit.model.free_parameters()) * std::log(static_cast<double>(x.n));
  return fit;
}

double silhouette_score(const Points& x, const std::vector<int>& labels, std::size_t max_points) {
  std::vector<std::size_t> take;
  const std::size_t n = std::min(x.n, max_points);
  for (std::size_t t = 0; t < n; ++t) take.push_back(t * x.n / n);
  int k = 0;
  for (std::size_t i : take) k = std::max(k, labels[i] + 1);
  std::vector<double> size(k, 0.0);
  for (std::size_t i : take) size[labels[i]] += 1;
  if (std::count_if(size.begin(), size.end(), [](double s) { return s > 0; }) < 2) return NAN;
  double total = 0;
  std::vector<double> sum(k);
  for (std::size_t i : take) {
    std::fill(sum.begin(), sum.end(), 0.0);
    for (std::size_t j : take)
      sum[labels[j]] += std::sqrt(squared_distance(x.row(i), x.row(j), x.d));
    const int own = labels[i];
    if (size[own] <= 1) continue;  // alone in its cluster: 0
    const double a = sum[own] / (size[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (int c = 0; c < k; ++c)
      if (c != own && size[c] > 0) b = std::min(b, sum[c] / size[c]);
    total += (b - a) / std::max(a, b);
  }
  return total / static_cast<double>(take.size());
}

}  // namespace medpipe
