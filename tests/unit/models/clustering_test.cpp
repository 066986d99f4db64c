#include "models/clustering.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "core/linear_algebra.h"

namespace medpipe {
namespace {

// Three well separated blobs of 30 points in 2D; truth[i] is i's blob.
Points blobs(std::vector<int>& truth) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.3);
  const double centres[3][2] = {{0, 0}, {5, 0}, {0, 5}};
  Points x{90, 2, {}};
  for (int i = 0; i < 90; ++i) {
    truth.push_back(i % 3);
    x.values.push_back(centres[i % 3][0] + noise(rng));
    x.values.push_back(centres[i % 3][1] + noise(rng));
  }
  return x;
}

bool same_partition(const std::vector<int>& a, const std::vector<int>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a.size(); ++j)
      if ((a[i] == a[j]) != (b[i] == b[j])) return false;
  return true;
}

TEST(KMeans, FindsSeparatedBlobsAndIsAFixedPoint) {
  std::vector<int> truth;
  const Points x = blobs(truth);
  const KMeansFit fit = kmeans(x, 3, 5, 1);
  EXPECT_TRUE(same_partition(fit.labels, truth));
  const KMeansFit again = kmeans_from(x, fit.centres);
  EXPECT_EQ(again.labels, fit.labels);
  EXPECT_NEAR(again.inertia, fit.inertia, 1e-9);
  EXPECT_GT(silhouette_score(x, fit.labels), 0.8);
}

TEST(GaussianMixture, FitsTheBlobsAndItsLikelihoodBeatsOneComponent) {
  std::vector<int> truth;
  const Points x = blobs(truth);
  const KMeansFit start = kmeans(x, 3, 3, 2);
  const MixtureFit three = fit_gaussian_mixture(x, start.centres);
  EXPECT_TRUE(same_partition(three.labels, truth));
  EXPECT_TRUE(three.converged);
  const MixtureFit one = fit_gaussian_mixture(x, {1.0, 1.0});
  EXPECT_GT(three.log_likelihood, one.log_likelihood + 1.0);
  EXPECT_LT(three.bic, one.bic);
}

TEST(ClusterSpace, DropsConstantColumnsAndRefusesWhenNoneVaries) {
  const std::vector<std::vector<double>> rows = {{1, 5, 0}, {2, 5, 1}, {3, 5, NAN}};
  const ClusterSpace space = ClusterSpace::fit({"a", "b", "c"}, rows, -1, "test");
  EXPECT_EQ(space.columns, (std::vector<std::string>{"a", "c"}));
  const Points z = space.apply({"a", "b", "c"}, rows, "test");
  EXPECT_NEAR(z.row(0)[0], -std::sqrt(1.5), 1e-12);
  EXPECT_DOUBLE_EQ(z.row(2)[1], 0.0);  // NaN: the mean
  EXPECT_THROW(ClusterSpace::fit({"a"}, {{4}, {4}}, -1, "test"), UsageError);
}

TEST(SymmetricEigen, DecomposesAKnownMatrix) {
  const SymmetricEigen e = symmetric_eigen({2, 1, 1, 2}, 2);
  EXPECT_NEAR(e.values[0], 3, 1e-12);
  EXPECT_NEAR(e.values[1], 1, 1e-12);
  EXPECT_NEAR(std::abs(e.vectors[0]), std::sqrt(0.5), 1e-12);
}

}  // namespace
}  // namespace medpipe
