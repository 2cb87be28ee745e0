// Adam and AdamW (decoupled weight decay), with AMSGrad, as torch.optim.
#include <cmath>

#include "ember/autograd/autograd.h"
#include "ember/ops/creation.h"
#include "ember/optim/optimizer.h"
#include "update.h"

namespace ember::optim {

namespace {

template <class Options>
void check_adam_options(const std::string& name, const Options& o) {
  EMBER_CHECK(o.lr >= 0, ValueError, name, ": invalid learning rate ", o.lr, " (must be >= 0)");
  EMBER_CHECK(o.eps >= 0, ValueError, name, ": invalid eps ", o.eps, " (must be >= 0)");
  EMBER_CHECK(o.betas.first >= 0 && o.betas.first < 1, ValueError, name, ": invalid beta parameter at index 0: ",
              o.betas.first, " (must be in [0, 1))");
  EMBER_CHECK(o.betas.second >= 0 && o.betas.second < 1, ValueError, name,
              ": invalid beta parameter at index 1: ", o.betas.second, " (must be in [0, 1))");
  EMBER_CHECK(o.weight_decay >= 0, ValueError, name, ": invalid weight_decay ", o.weight_decay,
              " (must be >= 0)");
}

// Queues one Adam step over a parameter (torch's _single_tensor_adam, op for op).
template <class Options>
void adam_update(detail::UpdateQueue& queue, const Tensor& param, const Tensor& grad, AdamState& s,
                 const Options& o, bool decoupled, const std::string& name) {
  if (!s.exp_avg.defined()) s.exp_avg = zeros(param.sizes(), param.dtype());
  if (!s.exp_avg_sq.defined()) s.exp_avg_sq = zeros(param.sizes(), param.dtype());
  if (o.amsgrad && !s.max_exp_avg_sq.defined()) s.max_exp_avg_sq = zeros(param.sizes(), param.dtype());
  ++s.step;
  const auto [beta1, beta2] = o.betas;
  const double bias_correction1 = 1 - std::pow(beta1, double(s.step));
  const double bias_correction2 = 1 - std::pow(beta2, double(s.step));
  const double step_size = o.lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  queue.add(param, grad, name, [=]<class T>(T* p, const T* g, int64_t begin, int64_t end) {
    T* m = s.exp_avg.data_ptr<T>();
    T* v = s.exp_avg_sq.data_ptr<T>();
    T* vmax = o.amsgrad ? s.max_exp_avg_sq.data_ptr<T>() : nullptr;
    const T sign = T(o.maximize ? -1 : 1), decoupled_scale = T(1 - o.lr * o.weight_decay), wd = T(o.weight_decay),
            one_minus_beta1 = T(1 - beta1), b2 = T(beta2), one_minus_beta2 = T(1 - beta2),
            bc2_sqrt = T(bias_correction2_sqrt), eps = T(o.eps), neg_step_size = T(-step_size);
    detail::dispatch_flags(
        [&](auto l2_decay, auto decoupled_decay, auto amsgrad) {
          for (int64_t i = begin; i < end; ++i) {
            T d = sign * g[i];
            if constexpr (decoupled_decay) p[i] = p[i] * decoupled_scale;
            if constexpr (l2_decay) d = d + wd * p[i];
            m[i] = detail::lerp(m[i], d, one_minus_beta1);
            v[i] = v[i] * b2;
            v[i] = v[i] + one_minus_beta2 * d * d;
            T second = v[i];
            if constexpr (amsgrad) {
              vmax[i] = std::max(vmax[i], v[i]);
              second = vmax[i];
            }
            const T denom = std::sqrt(second) / bc2_sqrt + eps;
            p[i] = p[i] + neg_step_size * m[i] / denom;
          }
        },
        o.weight_decay != 0 && !decoupled, o.weight_decay != 0 && decoupled, o.amsgrad);
  });
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam({{.params = std::move(params), .options = options}}) {}
Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups) { init_groups(std::move(groups)); }
void Adam::check_options(const AdamOptions& o) const { check_adam_options(name(), o); }
void Adam::step() {
  autograd::NoGradGuard no_grad;
  detail::UpdateQueue queue;
  for_each_grad([&](const Tensor& param, const Tensor& grad, AdamState& state, const AdamOptions& options) {
    adam_update(queue, param, grad, state, options, /*decoupled=*/false, name());
  });
  queue.run();
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW({{.params = std::move(params), .options = options}}) {}
AdamW::AdamW(std::vector<ParamGroup<AdamWOptions>> groups) { init_groups(std::move(groups)); }
void AdamW::check_options(const AdamWOptions& o) const { check_adam_options(name(), o); }
void AdamW::step() {
  autograd::NoGradGuard no_grad;
  detail::UpdateQueue queue;
  for_each_grad([&](const Tensor& param, const Tensor& grad, AdamState& state, const AdamWOptions& options) {
    adam_update(queue, param, grad, state, options, /*decoupled=*/true, name());
  });
  queue.run();
}

}  // namespace ember::optim
