#include "pipeline/cluster_model.h"

#include <cmath>

#include "core/error.h"
#include "core/linear_algebra.h"
#include "core/log.h"
#include "io/csv.h"
#include "storage/storage.h"

namespace medpipe {

nlohmann::json ClusterModel::to_json() const {
  nlohmann::json j = {{"method", name_of(method)}, {"num_clusters", k}, {"space", space.to_json()}};
  if (method == ClusterMethod::kKmeans)
    j["centres"] = centres;
  else
    j["mixture"] = mixture.to_json();
  return j;
}

ClusterModel ClusterModel::from_json(const nlohmann::json& j) {
  ClusterModel m;
  m.method = choice_from<ClusterMethod>(j.at("method").get<std::string>()).value();
  m.space = ClusterSpace::from_json(j.at("space"));
  m.k = j.at("num_clusters").get<std::size_t>();
  if (m.method == ClusterMethod::kKmeans)
    m.centres = j.at("centres").get<std::vector<double>>();
  else
    m.mixture = GaussianMixture::from_json(j.at("mixture"));
  return m;
}

Assignment assign_points(const ClusterModel& model, const Points& points) {
  Assignment a;
  if (model.method == ClusterMethod::kKmeans) {
    a.labels = nearest_centres(points, model.centres, &a.squared_distance);
    return a;
  }
  a.labels = mixture_labels(model.mixture, points, nullptr, &a.probabilities);
  return a;
}

namespace {

// cluster_init: a header, then one row of the space's coordinates per cluster.
std::vector<double> initial_centres(const Config& config, std::size_t d) {
  const fs::path path = resolve_location(config.cluster_init, "cluster_init");
  const std::vector<CsvRow> rows = read_csv_file(path);
  std::vector<double> centres;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].fields.size() != d)
      throw UsageError("cluster_init " + path.string() + " line " + std::to_string(rows[r].line) +
                       ": " + std::to_string(rows[r].fields.size()) +
                       " values, but the clustering " + "space has " + std::to_string(d) +
                       " coordinates (cluster_pca -1 clusters the " +
                       "standardised features themselves)");
    for (const std::string& field : rows[r].fields) {
      try {
        centres.push_back(std::stod(field));
      } catch (const std::logic_error&) {
        throw UsageError("cluster_init " + path.string() + " line " + std::to_string(rows[r].line) +
                         ": '" + field + "' is not a number");
      }
    }
  }
  if (centres.size() < 2 * d)
    throw UsageError("cluster_init " + path.string() +
                     " holds fewer than 2 centres (a header, then one row per cluster)");
  return centres;
}

// The range of cluster counts, checked against the points.
std::pair<int, int> usable_range(const Config& config, std::size_t n, int given_k) {
  auto [lo, hi] = cluster_count_range(config);
  if (given_k > 0) {
    if (config.was_given("num_clusters") && (lo != hi || lo != given_k))
      throw UsageError("num_clusters is " + config.num_clusters + " but cluster_init holds " +
                       std::to_string(given_k) + " centres; give one of them");
    lo = hi = given_k;
  }
  const int most = static_cast<int>(n) - 1;
  if (lo > most)
    throw UsageError("num_clusters asks for " + std::to_string(lo) + " clusters but only " +
                     std::to_string(n) + " images could be used (reasons in skipped.csv); " +
                     "a clustering needs more images than clusters: ask for at most " +
                     std::to_string(std::max(1, most)) + " or give more images");
  if (hi > most) {
    log_warn("num_clusters: at most " + std::to_string(most) + " clusters for " +
             std::to_string(n) + " images; the range is cut to " + std::to_string(lo) + "-" +
             std::to_string(most));
    hi = most;
  }
  return {lo, hi};
}

ClusterFit fit_one(const Config& config, const ClusterSpace& space, const Points& x, int k,
                   const std::vector<double>* init) {
  ClusterFit fit;
  fit.model.method = config.cluster_method;
  fit.model.space = space;
  fit.model.k = static_cast<std::size_t>(k);
  KMeansFit km =
      init ? kmeans_from(x, *init)
           : kmeans(x, k, config.cluster_restarts, static_cast<std::uint64_t>(config.seed));
  if (config.cluster_method == ClusterMethod::kKmeans) {
    fit.model.centres = km.centres;
    fit.statistics = {{"inertia", km.inertia}, {"iterations", km.iterations}};
  } else {
    MixtureFit mixture = fit_gaussian_mixture(x, init ? *init : km.centres);
    fit.model.mixture = mixture.model;
    fit.statistics = {{"log_likelihood", mixture.log_likelihood},
                      {"bic", mixture.bic},
                      {"iterations", mixture.iterations},
                      {"converged", mixture.converged}};
  }
  fit.assignment = assign_points(fit.model, x);
  const double s = silhouette_score(x, fit.assignment.labels);
  fit.statistics["silhouette"] = std::isfinite(s) ? nlohmann::json(s) : nlohmann::json();
  return fit;
}

}  // namespace

ClusterFit fit_clusters(const Config& config, const ClusterSpace& space, const Points& points) {
  std::vector<double> init;
  if (!config.cluster_init.empty()) init = initial_centres(config, points.d);
  const int given_k = init.empty() ? 0 : static_cast<int>(init.size() / points.d);
  const auto [lo, hi] = usable_range(config, points.n, given_k);
  const bool bic = config.cluster_method == ClusterMethod::kGmm;
  ClusterFit best;
  nlohmann::json selection = nlohmann::json::array();
  for (int k = lo; k <= hi; ++k) {
    ClusterFit fit = fit_one(config, space, points, k, init.empty() ? nullptr : &init);
    const nlohmann::json& s = fit.statistics;
    selection.push_back({{"k", k}, {bic ? "bic" : "silhouette", s[bic ? "bic" : "silhouette"]}});
    log_info("clustering: k " + std::to_string(k) + ", " + (bic ? "BIC " : "silhouette ") +
             s[bic ? "bic" : "silhouette"].dump());
    const auto score = [&](const ClusterFit& f) {
      const nlohmann::json& v = f.statistics[bic ? "bic" : "silhouette"];
      return v.is_number() ? (bic ? -v.get<double>() : v.get<double>()) : -1e300;
    };
    if (k == lo || score(fit) > score(best)) best = std::move(fit);
  }
  best.selection = selection;
  return best;
}

nlohmann::json cluster_map(const Points& points, const std::vector<int>& labels,
                           std::size_t max_points) {
  const std::size_t d = points.d, n = std::min(points.n, max_points);
  std::vector<double> mean(d, 0.0), covariance(d * d, 0.0);
  for (std::size_t i = 0; i < points.n; ++i)
    for (std::size_t a = 0; a < d; ++a) mean[a] += points.row(i)[a] / static_cast<double>(points.n);
  for (std::size_t i = 0; i < points.n; ++i)
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b < d; ++b)
        covariance[a * d + b] += (points.row(i)[a] - mean[a]) * (points.row(i)[b] - mean[b]);
  const SymmetricEigen eigen = symmetric_eigen(covariance, d);
  nlohmann::json map = {{"x", nlohmann::json::array()},
                        {"y", nlohmann::json::array()},
                        {"cluster", nlohmann::json::array()}};
  for (std::size_t t = 0; t < n; ++t) {
    const std::size_t i = t * points.n / n;
    double coordinate[2] = {0, 0};
    for (std::size_t c = 0; c < std::min<std::size_t>(2, d); ++c)
      for (std::size_t a = 0; a < d; ++a)
        coordinate[c] += eigen.vectors[c * d + a] * (points.row(i)[a] - mean[a]);
    map["x"].push_back(coordinate[0]);
    map["y"].push_back(coordinate[1]);
    map["cluster"].push_back(labels[i]);
  }
  return map;
}

}  // namespace medpipe
