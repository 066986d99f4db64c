#include "train/losses.h"

#include <ATen/ops/clamp_min.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/logcumsumexp.h>
#include <ATen/ops/one_hot.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/sort.h>

#include <vector>

namespace medpipe {

at::Tensor summed_cross_entropy(const at::Tensor& logits, const at::Tensor& target,
                                const at::Tensor& class_weights) {
  return at::cross_entropy_loss(logits, target, class_weights, at::Reduction::Sum);
}

at::Tensor dice_cross_entropy_loss(const at::Tensor& logits, const at::Tensor& target,
                                   int num_classes, int ignore_label) {
  at::Tensor ce = at::cross_entropy_loss(logits, target, {}, at::Reduction::Mean, ignore_label);
  at::Tensor valid = (target != ignore_label).unsqueeze(1).to(at::kFloat);  // [B,1,(D,)H,W]
  // one-hot [B,(D,)H,W,K] -> [B,K,(D,)H,W]; the sums run over the batch and every spatial axis
  std::vector<long> order = {0, target.dim()}, dims = {0};
  for (long a = 1; a < target.dim(); ++a) {
    order.push_back(a);
    dims.push_back(a + 1);
  }
  at::Tensor onehot =
      at::one_hot(target.clamp_max(num_classes - 1), num_classes).permute(order).to(at::kFloat) *
      valid;
  at::Tensor probs = at::softmax(logits, 1) * valid;
  at::Tensor intersection = (probs * onehot).sum(dims);
  at::Tensor denominator = probs.sum(dims) + onehot.sum(dims);
  at::Tensor dice = (2 * intersection + 1e-5) / (denominator + 1e-5);
  return ce + (1 - dice.slice(0, 1).mean());
}

at::Tensor cox_partial_likelihood_loss(const at::Tensor& risk, const at::Tensor& time,
                                       const at::Tensor& event) {
  // latest time first: each subject's risk set is a prefix, up to the last of its tied times
  const at::Tensor order = std::get<1>(at::sort(time, /*stable=*/true, 0, /*descending=*/true));
  const at::Tensor r = risk.index_select(0, order);
  const at::Tensor e = event.index_select(0, order).to(risk.scalar_type());
  const at::Tensor t = time.index_select(0, order).to(at::kDouble).contiguous();
  const std::int64_t n = t.size(0);
  const double* tp = t.data_ptr<double>();
  std::vector<std::int64_t> last_tie(static_cast<std::size_t>(n));
  for (std::int64_t i = n - 1; i >= 0; --i)
    last_tie[i] = i + 1 < n && tp[i + 1] == tp[i] ? last_tie[i + 1] : i;
  const at::Tensor ends = at::from_blob(last_tie.data(), {n}, at::kLong).clone();
  const at::Tensor log_risk_set = at::logcumsumexp(r, 0).index_select(0, ends);
  return -((r - log_risk_set) * e).sum() / at::clamp_min(e.sum(), 1.0);
}

}  // namespace medpipe
