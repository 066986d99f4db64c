#include "train/losses.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace medpipe
