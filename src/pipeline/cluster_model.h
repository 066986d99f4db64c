// pipeline/cluster_model.h (internal to pipeline/): a fitted clustering (the space, the centres
// or the mixture), fitted over the config's range of cluster counts, stored in model.json's
// "cluster" and used to assign new points.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

#include "core/config.h"
#include "models/clustering.h"

namespace medpipe {

struct ClusterModel {
  ClusterMethod method = ClusterMethod::kKmeans;
  ClusterSpace space;
  std::vector<double> centres;  // kmeans: k x d
  GaussianMixture mixture;      // gmm
  std::size_t k = 0;

  nlohmann::json to_json() const;
  static ClusterModel from_json(const nlohmann::json& json);
};

// Each point's cluster, with its squared distance to the centre (kmeans) or the probabilities
// of every cluster (gmm, n x k).
struct Assignment {
  std::vector<int> labels;
  std::vector<double> squared_distance;
  std::vector<double> probabilities;
};
Assignment assign_points(const ClusterModel& model, const Points& points);

struct ClusterFit {
  ClusterModel model;
  Assignment assignment;
  nlohmann::json statistics;  // inertia or log_likelihood and bic, iterations, silhouette
  nlohmann::json selection = nlohmann::json::array();  // per k tried: its score
};

// The clustering of `points` in `space` by the config: num_clusters (a range: the best
// silhouette for kmeans, the lowest BIC for gmm), cluster_init, cluster_restarts. UsageError
// when there are not more points than clusters or cluster_init does not fit.
ClusterFit fit_clusters(const Config& config, const ClusterSpace& space, const Points& points);

// The first two principal components of the points (at most `max_points`, evenly spaced):
// {x, y, cluster} for the report's map.
nlohmann::json cluster_map(const Points& points, const std::vector<int>& labels,
                           std::size_t max_points = 3000);

}  // namespace medpipe
