// models/clustering.h: grouping images without labels. k-means (Lloyd's iterations from
// k-means++ starts, the best of several restarts) and a Gaussian mixture with full covariances
// (EM), on the rows of a standardised (optionally PCA-reduced) feature table, with the scores
// that choose the number of clusters: the silhouette (k-means) and BIC (mixture). The iterations
// follow scikit-learn's KMeans (lloyd) and GaussianMixture, so that from the same start both
// reach the same assignments, inertia and log-likelihood.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace medpipe {

// n points of d coordinates, row-major.
struct Points {
  std::size_t n = 0, d = 0;
  std::vector<double> values;
  const double* row(std::size_t i) const { return values.data() + i * d; }
};

// Standardisation then an optional PCA, fitted on the training rows and stored with the model.
struct ClusterSpace {
  std::vector<std::string> columns;  // input features kept (non-constant), in order
  std::vector<double> mean, sd;      // per kept column (population sd)
  std::vector<double> components;    // PCA: p x columns, row-major; empty: no PCA
  std::size_t dimensions() const;    // of the space: p, or the kept columns
  // Fits on `rows` (each a vector over `columns`). `pca_components`: -1 none, 0 automatic (the
  // components explaining 90% of the variance, at most 10, when there are more than 10
  // columns), else that many. UsageError naming `source` when no column varies or a value is
  // not finite.
  static ClusterSpace fit(const std::vector<std::string>& columns,
                          const std::vector<std::vector<double>>& rows, int pca_components,
                          const std::string& source);
  // Rows (over the same input columns as `fit`, found by name in `input_columns`) in the space.
  Points apply(const std::vector<std::string>& input_columns,
               const std::vector<std::vector<double>>& rows, const std::string& source) const;
  nlohmann::json to_json() const;
  static ClusterSpace from_json(const nlohmann::json& json);
};

struct KMeansFit {
  std::size_t k = 0;
  std::vector<double> centres;  // k x d, row-major
  std::vector<int> labels;
  double inertia = 0;  // sum of squared distances to the nearest centre
  int iterations = 0;
};

// Lloyd's algorithm from `centres` (k x d) until the labels stop changing or the centres move
// less than tol x the mean variance of the coordinates (squared, summed), at most max_iter
// iterations; an emptied cluster takes the point farthest from its centre.
KMeansFit kmeans_from(const Points& x, std::vector<double> centres, int max_iter = 300,
                      double tol = 1e-4);
// Greedy k-means++ starts (2 + log k candidates per centre), the best of `restarts` runs.
KMeansFit kmeans(const Points& x, int k, int restarts, std::uint64_t seed);
// The nearest of the centres for each point; `squared_distance` (if given) gets each distance.
std::vector<int> nearest_centres(const Points& x, const std::vector<double>& centres,
                                 std::vector<double>* squared_distance = nullptr);

struct GaussianMixture {
  std::size_t k = 0, d = 0;
  std::vector<double> weights;      // k
  std::vector<double> means;        // k x d
  std::vector<double> covariances;  // k x d x d
  // log(weight_j N(x | mean_j, cov_j)) for every point and component: n x k.
  std::vector<double> weighted_log_densities(const Points& x) const;
  std::size_t free_parameters() const;  // k-1 weights, k*d means, k*d(d+1)/2 covariances
  nlohmann::json to_json() const;
  static GaussianMixture from_json(const nlohmann::json& json);
};

struct MixtureFit {
  GaussianMixture model;
  std::vector<int> labels;    // the most responsible component of each point
  double log_likelihood = 0;  // mean over the points, under the final parameters
  double bic = 0;             // -2 x total log-likelihood + parameters x log n
  int iterations = 0;
  bool converged = false;
};

// EM from responsibilities that give each point to its nearest of `initial_means` (the
// parameters the hard assignment gives, with these means), until the mean log-likelihood
// changes by less than tol, at most max_iter iterations; reg_covar is added to each
// covariance's diagonal.
MixtureFit fit_gaussian_mixture(const Points& x, const std::vector<double>& initial_means,
                                int max_iter = 100, double tol = 1e-3, double reg_covar = 1e-6);
// The mixture's most responsible component for each point; `log_likelihood` (if given) gets each
// point's log-likelihood, `probabilities` its responsibilities (n x k).
std::vector<int> mixture_labels(const GaussianMixture& model, const Points& x,
                                std::vector<double>* log_likelihood = nullptr,
                                std::vector<double>* probabilities = nullptr);

// Mean silhouette (b - a) / max(a, b) over the points (0 for a point alone in its cluster);
// with more than `max_points` points, over an evenly spaced subset of them.
double silhouette_score(const Points& x, const std::vector<int>& labels,
                        std::size_t max_points = 4000);

}  // namespace medpipe
