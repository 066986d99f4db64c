#include "models/sync_batch_norm.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

namespace medpipe {

namespace {

thread_local StatisticsExchange* current_exchange = nullptr;
thread_local int current_worker = 0;

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Every dimension but the channels' (1).
std::vector<long> reduced_dims(const at::Tensor& x) {
  std::vector<long> dims = {0};
  for (long d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// Sums `parts` (double vectors of one length) over every worker; returns them, summed, in order.
std::vector<at::Tensor> exchanged(const std::vector<at::Tensor>& parts) {
  at::Tensor all = at::cat(parts).contiguous();
  current_exchange->sum(current_worker, all.data_ptr<double>(),
                        static_cast<std::size_t>(all.numel()));
  return all.split(parts[0].numel());
}

// out = u * a[c] + v * b[c] + d[c] per channel c (without v: u * a[c] + d[c]), one pass over
// contiguous [N, C, ...] float tensors; a, b, d are float channel vectors.
at::Tensor fused_channel_affine(const at::Tensor& u, const at::Tensor& a, const at::Tensor& d,
                                const at::Tensor& v = {}, const at::Tensor& b = {}) {
  const at::Tensor uc = u.contiguous(), vc = v.defined() ? v.contiguous() : v;
  at::Tensor out = at::empty_like(uc);
  const long channels = uc.size(1), plane = uc.numel() / std::max<long>(1, uc.size(0) * channels);
  const float *pa = a.data_ptr<float>(), *pd = d.data_ptr<float>(), *pu = uc.data_ptr<float>();
  const float* pv = vc.defined() ? vc.data_ptr<float>() : nullptr;
  const float* pb = pv ? b.data_ptr<float>() : nullptr;
  float* po = out.data_ptr<float>();
  at::parallel_for(0, uc.size(0) * channels, 1, [&](long first, long last) {
    for (long i = first; i < last; ++i) {
      const long c = i % channels;
      const float ac = pa[c], dc = pd[c];
      const float* ui = pu + i * plane;
      float* oi = po + i * plane;
      if (!pv) {
        for (long k = 0; k < plane; ++k) oi[k] = ui[k] * ac + dc;
        continue;
      }
      const float bc = pb[c], *vi = pv + i * plane;
      for (long k = 0; k < plane; ++k) oi[k] = ui[k] * ac + vi[k] * bc + dc;
    }
  });
  return out;
}

// y = (x - mean) / sqrt(var + eps) * weight + bias over the step's samples of every worker.
// The per-channel sums are taken and exchanged in double. (Taking each worker's mean and
// variance from LibTorch's float reductions and its fused batch-norm backward instead measured
// no faster on 2 cores, and the workers then drifted from one worker's run by 1e-3 in 8 steps.)
struct SyncBatchNorm : torch::autograd::Function<SyncBatchNorm> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, at::Tensor running_mean, at::Tensor running_var,
                            double momentum, double eps) {
    const std::vector<long> dims = reduced_dims(x);
    const double local_count = static_cast<double>(x.numel() / x.size(1));
    std::vector<at::Tensor> sums =
        exchanged({x.sum(dims, false, at::kDouble), (x * x).sum(dims, false, at::kDouble),
                   at::full({x.size(1)}, local_count, at::kDouble)});
    const double n = sums[2][0].item<double>();
    at::Tensor mean = sums[0] / n;
    at::Tensor var = (sums[1] / n - mean * mean).clamp_min(0.0);
    at::Tensor invstd = (var + eps).rsqrt();
    if (running_mean.defined()) {
      running_mean.mul_(1 - momentum).add_(mean.to(at::kFloat), momentum);
      running_var.mul_(1 - momentum)
          .add_((var * (n / std::max(1.0, n - 1))).to(at::kFloat), momentum);
    }
    at::Tensor scale = weight.to(at::kDouble) * invstd;
    at::Tensor shift = bias.to(at::kDouble) - mean * scale;
    ctx->save_for_backward({x, weight});
    ctx->saved_data["mean"] = mean;
    ctx->saved_data["invstd"] = invstd;
    ctx->saved_data["n"] = n;
    return fused_channel_affine(x, scale.to(at::kFloat), shift.to(at::kFloat));
  }

  // dx = w * invstd * (dy - sum(dy) / n - xhat * sum(dy * xhat) / n), the sums over every
  // worker; the weight's and bias's gradients are this worker's own (the trainer sums them).
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor& dy = grads[0];
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1];
    const at::Tensor mean = ctx->saved_data["mean"].toTensor();
    const at::Tensor invstd = ctx->saved_data["invstd"].toTensor();
    const double n = ctx->saved_data["n"].toDouble();
    const std::vector<long> dims = reduced_dims(x);
    at::Tensor sum_dy = dy.sum(dims, false, at::kDouble);
    at::Tensor sum_dy_xhat = ((dy * x).sum(dims, false, at::kDouble) - mean * sum_dy) * invstd;
    std::vector<at::Tensor> total = exchanged({sum_dy, sum_dy_xhat});
    const at::Tensor w_invstd = weight.to(at::kDouble) * invstd;
    const at::Tensor k_x = -w_invstd * invstd * total[1] / n;
    const at::Tensor k_0 = -w_invstd * total[0] / n - k_x * mean;
    at::Tensor dx = fused_channel_affine(dy, w_invstd.to(at::kFloat), k_0.to(at::kFloat), x,
                                         k_x.to(at::kFloat));
    return {dx,
            sum_dy_xhat.to(at::kFloat),
            sum_dy.to(at::kFloat),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor()};
  }
};

at::Tensor sync_batch_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                           const at::Tensor& running_mean, const at::Tensor& running_var,
                           bool training, double momentum, double eps) {
  if (!training || current_exchange == nullptr) {
    return at::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps,
                          false);
  }
  return SyncBatchNorm::apply(x, weight, bias, running_mean, running_var, momentum, eps);
}

}  // namespace

TORCH_LIBRARY(medpipe, m) {
  m.def(
      "sync_batch_norm(Tensor x, Tensor weight, Tensor bias, Tensor(a!) running_mean, "
      "Tensor(b!) running_var, bool training, float momentum, float eps) -> Tensor",
      &sync_batch_norm);
}

ExchangeScope::ExchangeScope(StatisticsExchange* exchange, int local_worker)
    : previous_(current_exchange), previous_worker_(current_worker) {
  current_exchange = exchange;
  current_worker = local_worker;
}

ExchangeScope::~ExchangeScope() {
  current_exchange = previous_;
  current_worker = previous_worker_;
}

namespace {

// LibTorch's names (torch.*), and medpipe.* for medpipe's operators.
struct MedpipeResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(
      const std::string& name, torch::jit::GraphFunction& m,
      const torch::jit::SourceRange& loc) override {
    if (name == "medpipe") return std::make_shared<torch::jit::BuiltinModule>("medpipe");
    return torch::jit::nativeResolver()->resolveValue(name, m, loc);
  }
  c10::TypePtr resolveType(const std::string& name, const torch::jit::SourceRange& loc) override {
    return nullptr;
  }
};

}  // namespace

void define_network(torch::jit::Module& module, const std::string& code) {
  module.define(code, std::make_shared<MedpipeResolver>());
}

std::string conv_bn_helper(bool synchronised, int spatial_dims) {
  const std::string stride = spatial_dims == 3 ? "[stride, stride, stride]" : "[stride, stride]";
  const std::string pad = spatial_dims == 3 ? "[pad, pad, pad]" : "[pad, pad]";
  const std::string norm = synchronised ? "medpipe.sync_batch_norm(y, g, b, rm, rv, "
                                          "self.training, self.bn_momentum, 1e-05)"
                                        : "torch.batch_norm(y, g, b, rm, rv, self.training, "
                                          "self.bn_momentum, 1e-05, False)";
  return "\ndef cbn(self, x, w, g, b, rm, rv, stride: int, pad: int):\n"
         "    y = torch.conv" +
         std::to_string(spatial_dims) + "d(x, w, None, " + stride + ", " + pad +
         ")\n"
         "    return " +
         norm + "\n";
}

}  // namespace medpipe
