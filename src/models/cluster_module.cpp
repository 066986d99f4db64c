#include "models/cluster_module.h"

#include <cmath>
#include <numbers>

#include "core/linear_algebra.h"

namespace medpipe {

namespace {

at::Tensor tensor_of(const std::vector<double>& values, std::vector<long> shape) {
  return at::tensor(values, at::kDouble).reshape(shape).clone();
}

// The module with the space's buffers and `project(x)`: standardised, NaN as the mean, PCA.
torch::jit::Module space_module(const ClusterSpace& space, const std::string& name) {
  torch::jit::Module m(name);
  const long q = static_cast<long>(space.columns.size());
  m.register_buffer("mean", tensor_of(space.mean, {q}));
  m.register_buffer("sd", tensor_of(space.sd, {q}));
  const bool pca = !space.components.empty();
  m.register_buffer("components",
                    pca ? tensor_of(space.components, {static_cast<long>(space.dimensions()), q})
                        : at::empty({0, q}, at::kDouble));
  m.define(std::string("def project(self, x):\n"
                       "    z = (x.double() - self.mean) / self.sd\n"
                       "    z = torch.where(torch.isnan(z), torch.zeros_like(z), z)\n") +
           (pca ? "    return torch.matmul(z, self.components.t())\n" : "    return z\n"));
  m.eval();
  return m;
}

}  // namespace

torch::jit::Module kmeans_module(const ClusterSpace& space, const std::vector<double>& centres) {
  torch::jit::Module m = space_module(space, "MedpipeKMeans");
  const long d = static_cast<long>(space.dimensions());
  m.register_buffer("centres", tensor_of(centres, {static_cast<long>(centres.size()) / d, d}));
  m.define(
      "def forward(self, x):\n"
      "    z = self.project(x)\n"
      "    return -torch.sum((z.unsqueeze(1) - self.centres.unsqueeze(0)) ** 2, 2)\n");
  return m;
}

torch::jit::Module mixture_module(const ClusterSpace& space, const GaussianMixture& g) {
  torch::jit::Module m = space_module(space, "MedpipeGaussianMixture");
  const std::size_t d = g.d;
  std::vector<double> precisions, constants;
  for (std::size_t c = 0; c < g.k; ++c) {
    const std::vector<double> cov(g.covariances.begin() + c * d * d,
                                  g.covariances.begin() + (c + 1) * d * d);
    const Ldl factor = ldl(cov, d);
    double log_det = 0;
    for (std::size_t j = 0; j < d; ++j) log_det += std::log(factor.m[j * d + j]);
    const std::vector<double> inverse = ldl_inverse(factor);
    precisions.insert(precisions.end(), inverse.begin(), inverse.end());
    constants.push_back(std::log(g.weights[c]) -
                        0.5 * (static_cast<double>(d) * std::log(2 * std::numbers::pi) + log_det));
  }
  const long k = static_cast<long>(g.k), dl = static_cast<long>(d);
  m.register_buffer("means", tensor_of(g.means, {k, dl}));
  m.register_buffer("precisions", tensor_of(precisions, {k, dl, dl}));
  m.register_buffer("constants", tensor_of(constants, {k}));
  m.define(
      "def forward(self, x):\n"
      "    z = self.project(x)\n"
      "    c = z.unsqueeze(1) - self.means.unsqueeze(0)\n"
      "    q = torch.einsum('nkd,kde,nke->nk', c, self.precisions, c)\n"
      "    return self.constants - 0.5 * q\n");
  return m;
}

}  // namespace medpipe
