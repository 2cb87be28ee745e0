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

// One Adam (kDecoupled: AdamW) update in place, torch's _single_tensor_adam op for op
// (see Note [Traced optimizer steps]); state: exp_avg, exp_avg_sq and, with
// amsgrad, max_exp_avg_sq. `step` is the count after this update.
template <class Options, bool kDecoupled>
struct AdamStep {
  Options options;
  int64_t step = 1;

  size_t num_buffers() const { return options.amsgrad ? 3 : 2; }

  template <class T>
  void operator()(const detail::UpdateData<T>& x, int64_t begin, int64_t end) const {
    const Options& o = options;
    const auto [beta1, beta2] = o.betas;
    const double bias_correction1 = 1 - std::pow(beta1, double(step));
    const double bias_correction2 = 1 - std::pow(beta2, double(step));
    const double step_size = o.lr / bias_correction1;
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    const T sign = T(o.maximize ? -1 : 1), decoupled_scale = T(1 - o.lr * o.weight_decay), wd = T(o.weight_decay),
            one_minus_beta1 = T(1 - beta1), b2 = T(beta2), one_minus_beta2 = T(1 - beta2),
            bc2_sqrt = T(bias_correction2_sqrt), eps = T(o.eps), neg_step_size = T(-step_size);
    T *p = x.param, *m = x.state[0], *v = x.state[1], *vmax = x.state[2];
    const T* g = x.grad;
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
        o.weight_decay != 0 && !kDecoupled, o.weight_decay != 0 && kDecoupled, o.amsgrad);
  }
};

using AdamUpdate = AdamStep<AdamOptions, false>;
using AdamWUpdate = AdamStep<AdamWOptions, true>;
const OpDef adam_update_op = detail::update_op<AdamUpdate>("adam_update");
const OpDef adamw_update_op = detail::update_op<AdamWUpdate>("adamw_update");

// Sets up a parameter's state for one Adam/AdamW step and returns the update.
template <class Step, class Options>
std::pair<Step, TensorList> prepare_adam(const Tensor& param, AdamState& s, const Options& o) {
  if (!s.exp_avg.defined()) s.exp_avg = zeros(param.sizes(), param.dtype());
  if (!s.exp_avg_sq.defined()) s.exp_avg_sq = zeros(param.sizes(), param.dtype());
  if (o.amsgrad && !s.max_exp_avg_sq.defined()) s.max_exp_avg_sq = zeros(param.sizes(), param.dtype());
  ++s.step;
  TensorList state{s.exp_avg, s.exp_avg_sq};
  if (o.amsgrad) state.push_back(s.max_exp_avg_sq);
  return {Step{o, s.step}, std::move(state)};
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam({{.params = std::move(params), .options = options}}) {}
Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups) { init_groups(std::move(groups)); }
void Adam::check_options(const AdamOptions& o) const { check_adam_options(name(), o); }
void Adam::step() { update_each(adam_update_op, prepare_adam<AdamUpdate, AdamOptions>); }

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW({{.params = std::move(params), .options = options}}) {}
AdamW::AdamW(std::vector<ParamGroup<AdamWOptions>> groups) { init_groups(std::move(groups)); }
void AdamW::check_options(const AdamWOptions& o) const { check_adam_options(name(), o); }
void AdamW::step() { update_each(adamw_update_op, prepare_adam<AdamWUpdate, AdamWOptions>); }

}  // namespace ember::optim
