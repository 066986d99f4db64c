// The Cox model on cases with known answers (R parity: tests/integration/test_survival.py).
#include "models/cox.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace medpipe {
namespace {

SurvivalTable one_covariate(const std::vector<double>& x, const std::vector<double>& time,
                            const std::vector<int>& event) {
  SurvivalTable t;
  t.time = time;
  t.event = event;
  t.x = x;
  t.columns = {"x"};
  for (std::size_t i = 0; i < time.size(); ++i) t.names.push_back("s" + std::to_string(i));
  return t;
}

// Two subjects, x = 0 dies at 1, x = 1 censored at 2 ... with three subjects and no ties the
// partial likelihood of beta is exp(b x_1) / sum over the risk set: its maximum solves
// d/db log L = 0. With x = (1, 0, 0), times 1 2 3, events 1 1 0: L = e^b / (e^b + 2) * 1 / 2,
// increasing in b: separation, refused.
TEST(Cox, SeparationIsRefusedNamingTheCovariate) {
  const SurvivalTable t = one_covariate({1, 0, 0}, {1, 2, 3}, {1, 1, 0});
  try {
    fit_cox(t);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cox_ridge"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(fit_cox(t, {CoxTies::kEfron, 1.0}));
}

// x = (0, 1, 0, 1), times 1..4, all events: the score at 0 is sum over deaths of x - mean x of
// the risk set = (0 - 1/2) + (1 - 2/3) + (0 - 1/2) + 1 - 1 = -2/3; the information at 0 is the
// sum of the risk sets' variances 1/4 + 2/9 + 1/4 + 0; the score test is u^2 / I.
TEST(Cox, ScoreTestAtZeroByHand) {
  const CoxModel m = fit_cox(one_covariate({0, 1, 0, 1}, {1, 2, 3, 4}, {1, 1, 1, 1}));
  const double u = -2.0 / 3, info = 0.25 + 2.0 / 9 + 0.25;
  EXPECT_NEAR(m.score.statistic, u * u / info, 1e-12);
  EXPECT_EQ(m.coefficients.size(), 1u);
  EXPECT_EQ(m.events, 4u);
  // the fitted model's survival falls with time and with risk
  const double lp = m.linear_predictor(std::vector<double>{1}.data());
  EXPECT_GT(m.baseline.survival(lp, 1.5), m.baseline.survival(lp, 3.5));
  EXPECT_DOUBLE_EQ(m.baseline.survival(lp, 0.5), 1.0);
}

TEST(Cox, ConstantAndCollinearCovariatesAreNamed) {
  SurvivalTable t = one_covariate({1, 1, 1, 1}, {1, 2, 3, 4}, {1, 0, 1, 1});
  EXPECT_THROW(fit_cox(t), UsageError);
  t.columns = {"a", "b"};
  t.x = {0, 0, 1, 2, 0, 0, 2, 4};  // b = 2a
  try {
    fit_cox(t);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
  }
}

TEST(Cox, JsonRoundTrip) {
  const CoxModel m = fit_cox(one_covariate({0, 1, 0, 1, 1}, {1, 2, 3, 4, 5}, {1, 1, 0, 1, 1}));
  const CoxModel back = cox_from_json(cox_to_json(m));
  EXPECT_DOUBLE_EQ(back.coefficients[0].coef, m.coefficients[0].coef);
  EXPECT_EQ(back.baseline.event_times, m.baseline.event_times);
  EXPECT_DOUBLE_EQ(back.baseline.survival(0.3, 3.5), m.baseline.survival(0.3, 3.5));
}

}  // namespace
}  // namespace medpipe
