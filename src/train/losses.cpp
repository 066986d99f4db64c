#include "train/losses.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/one_hot.h>
#include <ATen/ops/softmax.h>

#include <vector>

namespace medpipe {

at::Tensor summed_cross_entropy(const at::Tensor& logits, const at::Tensor& target,
                                const at::Tensor& class_weights) {
  return at::cross_entropy_loss(logits, target, class_weights, at::Reduction::Sum);
}

at::Tensor dice_cross_entropy_loss(const at::Tensor& logits, const at::Tensor& target,
                                   int num_classes, int ignore_label) {
  at::Tensor ce = at::cross_entropy_loss(logits, target, {}, at::Reduction::Mean, ignore_label);
  at::Tensor valid = (target != ignore_label).unsqueeze(1).to(at::kFloat);  // [B,1,H,W]
  at::Tensor onehot = at::one_hot(target.clamp_max(num_classes - 1), num_classes)
                          .permute({0, 3, 1, 2})
                          .to(at::kFloat) *
                      valid;
  at::Tensor probs = at::softmax(logits, 1) * valid;
  std::vector<long> dims = {0, 2, 3};
  at::Tensor intersection = (probs * onehot).sum(dims);
  at::Tensor denominator = probs.sum(dims) + onehot.sum(dims);
  at::Tensor dice = (2 * intersection + 1e-5) / (denominator + 1e-5);
  return ce + (1 - dice.slice(0, 1).mean());
}

}  // namespace medpipe
