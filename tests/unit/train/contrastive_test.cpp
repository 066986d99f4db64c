#include "train/contrastive.h"

#include <gtest/gtest.h>

#include <cmath>

namespace medpipe {
namespace {

// NT-Xent written out view by view, in double (Chen et al. 2020, eq. 1): for view i and its
// pair p, -log(exp(cos(z_i, z_p) / t) / sum over k != i of exp(cos(z_i, z_k) / t)).
double nt_xent_by_loops(const at::Tensor& projections, double temperature) {
  const at::Tensor z = projections.to(at::kDouble).contiguous();
  const long views = z.size(0), images = views / 2;
  auto cosine = [&](long a, long b) {
    return (z[a] * z[b]).sum().item<double>() /
           (z[a].norm().item<double>() * z[b].norm().item<double>());
  };
  double total = 0;
  for (long i = 0; i < views; ++i) {
    const long pair = i < images ? i + images : i - images;
    double denominator = 0;
    for (long k = 0; k < views; ++k)
      if (k != i) denominator += std::exp(cosine(i, k) / temperature);
    total -= std::log(std::exp(cosine(i, pair) / temperature) / denominator);
  }
  return total;
}

TEST(NtXent, EqualsTheLossWrittenOutViewByView) {
  at::manual_seed(7);
  for (double temperature : {0.1, 0.5, 1.0}) {
    const at::Tensor projections = at::randn({12, 5});  // 6 images, 2 views each
    EXPECT_NEAR(summed_nt_xent(projections, temperature).item<double>(),
                nt_xent_by_loops(projections, temperature), 1e-4)
        << "temperature " << temperature;
  }
}

TEST(NtXent, ByHandForTwoImagesWithIdenticalViews) {
  // views 0 and 2 are e1, views 1 and 3 are e2: each view's pair has cosine 1, the two other
  // views cosine 0, so each of the 4 views costs log(1 + 2 exp(-1 / t))
  const at::Tensor projections =
      at::tensor({1.f, 0.f, 0.f, 3.f, 2.f, 0.f, 0.f, 1.f}).reshape({4, 2});
  const double t = 0.5;
  EXPECT_NEAR(summed_nt_xent(projections, t).item<double>(), 4 * std::log(1 + 2 * std::exp(-1 / t)),
              1e-5);
}

TEST(NtXent, ScaleOfAProjectionDoesNotMatter) {
  at::manual_seed(3);
  const at::Tensor projections = at::randn({8, 4});
  const at::Tensor scaled = projections * (at::rand({8, 1}) * 10 + 0.1);
  EXPECT_NEAR(summed_nt_xent(projections, 0.5).item<double>(),
              summed_nt_xent(scaled, 0.5).item<double>(), 1e-4);
}

}  // namespace
}  // namespace medpipe
