// models/cluster_module.h: a clustering model as TorchScript (model.pt), so that Python's
// torch.jit.load assigns new images as medpipe does: forward(x) takes the raw feature vectors
// [N, F] (float64, the space's input columns in order; NaN for a missing value) and returns a
// score per cluster [N, K] whose argmax is the cluster: minus the squared distance to each centre
// (k-means), or log(weight x density) of each component (Gaussian mixture).
#pragma once
#include <torch/script.h>

#include "models/clustering.h"

namespace medpipe {

torch::jit::Module kmeans_module(const ClusterSpace& space, const std::vector<double>& centres);
torch::jit::Module mixture_module(const ClusterSpace& space, const GaussianMixture& mixture);

}  // namespace medpipe
