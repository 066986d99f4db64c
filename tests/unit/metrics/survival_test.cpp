// Survival metrics on cases small enough to check by hand (R parity: tests/integration).
#include "metrics/survival.h"

#include <gtest/gtest.h>

#include <cmath>

namespace medpipe {
namespace {

// times 1 2 2 3 4, events 1 1 0 1 0: S = 4/5 at 1, 4/5 * 2/3 at 2 (3 at risk, 1 death), then
// 8/15 * 1/2 at 3 (2 at risk), 4/15 at 4 (censored).
TEST(KaplanMeier, StepsAndGreenwoodByHand) {
  const KaplanMeier km = kaplan_meier({2, 1, 3, 2, 4}, {1, 1, 1, 0, 0});
  ASSERT_EQ(km.time, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(km.n_risk, (std::vector<long>{5, 4, 2, 1}));
  EXPECT_EQ(km.n_event, (std::vector<long>{1, 1, 1, 0}));
  EXPECT_EQ(km.n_censor, (std::vector<long>{0, 1, 0, 1}));
  EXPECT_DOUBLE_EQ(km.surv[0], 0.8);
  EXPECT_DOUBLE_EQ(km.surv[1], 0.8 * 0.75);
  EXPECT_DOUBLE_EQ(km.surv[2], 0.8 * 0.75 * 0.5);
  EXPECT_DOUBLE_EQ(km.std_err[2], std::sqrt(1.0 / 20 + 1.0 / 12 + 1.0 / 2));
  EXPECT_DOUBLE_EQ(km.at(2.5), km.surv[1]);
  EXPECT_DOUBLE_EQ(km.left_limit(2), km.surv[0]);
  EXPECT_DOUBLE_EQ(km.at(0.5), 1.0);
}

TEST(Concordance, CountsPairsAsRDoes) {
  // subject: time, event, risk. Pairs with the shorter time an event: (a,b) (a,c) (a,d) (b,d)
  // (c,d); a censoring at the same time as an event (c at 2, b at 2) counts as the longer.
  const std::vector<double> time = {1, 2, 2, 3};
  const std::vector<int> event = {1, 1, 0, 0};
  const std::vector<double> risk = {3, 1, 1, 2};
  const Concordance c = harrell_c(time, event, risk);
  // a (risk 3) beats b, c, d: 3 concordant; b (risk 1) vs c (1): tied; b vs d (2): discordant
  EXPECT_EQ(c.concordant, 3);
  EXPECT_EQ(c.discordant, 1);
  EXPECT_EQ(c.tied_risk, 1);
  EXPECT_EQ(c.tied_time, 0);
  EXPECT_DOUBLE_EQ(c.c, 3.5 / 5);
}

TEST(Concordance, EventsAtOneTimeAreTiedInTime) {
  const Concordance c = harrell_c({5, 5, 5}, {1, 1, 1}, {1, 1, 2});
  EXPECT_EQ(c.tied_time, 3);
  EXPECT_EQ(c.tied_both, 1);
  EXPECT_EQ(c.concordant + c.discordant + c.tied_risk, 0);
  EXPECT_TRUE(std::isnan(c.c));
}

TEST(LogRank, TwoGroupsByHand) {
  // group 0 dies at 1 and 2, group 1 at 3 and 4: at time 1, 4 at risk (2 each), E0 = 1/2 ...
  const LogRank lr = logrank_test({1, 2, 3, 4}, {1, 1, 1, 1}, {0, 0, 1, 1});
  EXPECT_DOUBLE_EQ(lr.observed[0], 2);
  EXPECT_DOUBLE_EQ(lr.expected[0], 0.5 + 1.0 / 3 + 0 + 0);
  // V = sum d (n - d) / n^2 (n - 1) n0 n1 = 1*3/(16*3)*4 + 1*2/(9*2)*2 + 0 = 1/4 + 2/9
  const double o_e = 2 - (0.5 + 1.0 / 3), v = 0.25 + 2.0 / 9;
  EXPECT_NEAR(lr.chisq, o_e * o_e / v, 1e-12);
  EXPECT_EQ(lr.df, 1);
}

TEST(Brier, PerfectPredictionsScoreZeroWithoutCensoring) {
  const std::vector<double> time = {1, 2, 3, 4};
  const std::vector<int> event = {1, 1, 1, 1};
  const CensoringModel none = censoring_model(time, event);
  // at t = 2.5: the first two died (S should be 0), the others live (S should be 1)
  EXPECT_DOUBLE_EQ(brier_score(time, event, {0, 0, 1, 1}, none, 2.5), 0.0);
  EXPECT_DOUBLE_EQ(brier_score(time, event, {1, 1, 1, 1}, none, 2.5), 0.5);
  EXPECT_DOUBLE_EQ(td_auc(time, event, {4, 3, 2, 1}, none, 2.5), 1.0);
  EXPECT_DOUBLE_EQ(integrated_brier({1, 3}, {0.1, 0.3}), 0.2);
}

}  // namespace
}  // namespace medpipe
