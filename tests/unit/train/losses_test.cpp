#include "train/losses.h"

#include <gtest/gtest.h>

#include "models/cox.h"
#include "preprocess/segmentation_set.h"

namespace medpipe {
namespace {

at::Tensor confident_logits(const at::Tensor& target, int k) {
  return at::one_hot(target.clamp_max(k - 1), k).permute({0, 3, 1, 2}).to(at::kFloat) * 40 - 20;
}

TEST(SegmentationLoss, ZeroForAPerfectPrediction) {
  at::Tensor target = at::randint(0, 3, {2, 8, 8}, at::kLong);
  at::Tensor loss = dice_cross_entropy_loss(confident_logits(target, 3), target, 3);
  EXPECT_NEAR(loss.item<double>(), 0.0, 1e-4);
}

TEST(SegmentationLoss, IgnoredPixelsDoNotCount) {
  at::Tensor target = at::randint(0, 2, {1, 8, 8}, at::kLong);
  at::Tensor logits = confident_logits(target, 2);
  at::Tensor wrong = target.clone();
  wrong.index_put_({0, 0}, static_cast<int64_t>(kIgnoreLabel));  // row 0 ignored
  logits.select(2, 0).neg_();                                    // and predicted wrongly
  EXPECT_NEAR(dice_cross_entropy_loss(logits, wrong, 2).item<double>(), 0.0, 1e-4);
  EXPECT_GT(dice_cross_entropy_loss(logits, target, 2).item<double>(), 1.0);
}

TEST(SegmentationLoss, DiceTermByHand) {
  // uniform probabilities (0.5) on 4 pixels, one of them foreground: CE = log 2, batch Dice of
  // class 1 = 2 * 0.5 / (2 + 1) = 1/3, so loss = log 2 + 2/3
  at::Tensor target = at::tensor({0, 0, 0, 1}, at::kLong).reshape({1, 2, 2});
  at::Tensor logits = at::zeros({1, 2, 2, 2});
  EXPECT_NEAR(dice_cross_entropy_loss(logits, target, 2).item<double>(), std::log(2.0) + 2.0 / 3,
              1e-5);
}

// The neural Cox model's loss at a linear risk equals minus the Breslow log partial likelihood
// of the Cox fit (which equals R's coxph: tests/integration/test_survival.py) per event, tied
// times included.
TEST(CoxLoss, EqualsTheBreslowLogPartialLikelihood) {
  SurvivalTable t;
  t.columns = {"a", "b"};
  t.time = {5, 3, 3, 8, 1, 3, 9, 2, 7, 7};
  t.event = {1, 1, 0, 1, 1, 1, 0, 1, 1, 0};
  t.x = {0.5, 1, -1, 0, 0.2, 1, 1.5, 0, -0.3, 1, 0.8, 0, -1.2, 1, 0.1, 0, 0.9, 1, -0.4, 0};
  const CoxModel fit = fit_cox(t, {CoxTies::kBreslow});
  std::vector<double> lp;
  for (std::size_t i = 0; i < t.rows(); ++i) lp.push_back(fit.linear_predictor(&t.x[i * 2]));
  const at::Tensor risk = at::tensor(lp, at::kDouble);
  const at::Tensor time = at::tensor(t.time, at::kDouble);
  const at::Tensor event =
      at::tensor(std::vector<double>(t.event.begin(), t.event.end()), at::kDouble);
  EXPECT_NEAR(cox_partial_likelihood_loss(risk, time, event).item<double>(),
              -fit.loglik / static_cast<double>(fit.events), 1e-12);
}

}  // namespace
}  // namespace medpipe
