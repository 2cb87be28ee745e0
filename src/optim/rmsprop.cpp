// RMSprop with momentum and the centered variant, as torch.optim.RMSprop.
#include <cmath>

#include "ember/autograd/autograd.h"
#include "ember/ops/creation.h"
#include "ember/optim/optimizer.h"
#include "update.h"

namespace ember::optim {

namespace {

// One RMSprop update, in place (see Note [Traced optimizer steps]); state: square_avg,
// then momentum_buffer with momentum, then grad_avg when centered.
struct RMSpropStep {
  RMSpropOptions options;

  bool has_momentum() const { return options.momentum > 0; }
  size_t num_buffers() const { return 1 + size_t(has_momentum()) + size_t(options.centered); }

  template <class T>
  void operator()(const detail::UpdateData<T>& x, int64_t begin, int64_t end) const {
    const RMSpropOptions& o = options;
    const T sign = T(o.maximize ? -1 : 1), wd = T(o.weight_decay), alpha = T(o.alpha),
            one_minus_alpha = T(1 - o.alpha), eps = T(o.eps), mom = T(o.momentum), neg_lr = T(-o.lr);
    T *p = x.param, *sq = x.state[0], *buf = x.state[1], *ga = x.state[has_momentum() ? 2 : 1];
    const T* g = x.grad;
    detail::dispatch_flags(
        [&](auto decay, auto centered, auto momentum) {
          for (int64_t i = begin; i < end; ++i) {
            T d = sign * g[i];
            if constexpr (decay) d = d + wd * p[i];
            sq[i] = sq[i] * alpha;
            sq[i] = sq[i] + one_minus_alpha * d * d;
            T avg;
            if constexpr (centered) {
              ga[i] = detail::lerp(ga[i], d, one_minus_alpha);
              avg = std::sqrt(sq[i] + T(-1) * ga[i] * ga[i]);
            } else {
              avg = std::sqrt(sq[i]);
            }
            avg = avg + eps;
            if constexpr (momentum) {
              buf[i] = buf[i] * mom;
              buf[i] = buf[i] + d / avg;
              p[i] = p[i] + neg_lr * buf[i];
            } else {
              p[i] = p[i] + neg_lr * d / avg;
            }
          }
        },
        o.weight_decay != 0, o.centered, has_momentum());
  }
};

const OpDef rmsprop_update_op = detail::update_op<RMSpropStep>("rmsprop_update");

}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options)
    : RMSprop({{.params = std::move(params), .options = options}}) {}

RMSprop::RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups) { init_groups(std::move(groups)); }

void RMSprop::check_options(const RMSpropOptions& o) const {
  EMBER_CHECK(o.lr >= 0, ValueError, "RMSprop: invalid learning rate ", o.lr, " (must be >= 0)");
  EMBER_CHECK(o.eps >= 0, ValueError, "RMSprop: invalid eps ", o.eps, " (must be >= 0)");
  EMBER_CHECK(o.momentum >= 0, ValueError, "RMSprop: invalid momentum ", o.momentum, " (must be >= 0)");
  EMBER_CHECK(o.weight_decay >= 0, ValueError, "RMSprop: invalid weight_decay ", o.weight_decay,
              " (must be >= 0)");
  EMBER_CHECK(o.alpha >= 0, ValueError, "RMSprop: invalid alpha ", o.alpha, " (must be >= 0)");
}

void RMSprop::step() {
  update_each(rmsprop_update_op, [](const Tensor& param, RMSpropState& s, const RMSpropOptions& o) {
    if (!s.square_avg.defined()) s.square_avg = zeros(param.sizes(), param.dtype());
    if (o.momentum > 0 && !s.momentum_buffer.defined()) s.momentum_buffer = zeros(param.sizes(), param.dtype());
    if (o.centered && !s.grad_avg.defined()) s.grad_avg = zeros(param.sizes(), param.dtype());
    ++s.step;
    TensorList state;
    state.reserve(3);
    state.push_back(s.square_avg);
    if (o.momentum > 0) state.push_back(s.momentum_buffer);
    if (o.centered) state.push_back(s.grad_avg);
    return std::pair{RMSpropStep{o}, std::move(state)};
  });
}

}  // namespace ember::optim
