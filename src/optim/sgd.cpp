// SGD with momentum, dampening, Nesterov and L2 weight decay, as torch.optim.SGD.
#include "ember/autograd/autograd.h"
#include "ember/ops/creation.h"
#include "ember/optim/optimizer.h"
#include "update.h"

namespace ember::optim {

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : SGD({{.params = std::move(params), .options = options}}) {}

SGD::SGD(std::vector<ParamGroup<SGDOptions>> groups) { init_groups(std::move(groups)); }

void SGD::check_options(const SGDOptions& o) const {
  EMBER_CHECK(o.lr >= 0, ValueError, "SGD: invalid learning rate ", o.lr, " (must be >= 0)");
  EMBER_CHECK(o.momentum >= 0, ValueError, "SGD: invalid momentum ", o.momentum, " (must be >= 0)");
  EMBER_CHECK(o.weight_decay >= 0, ValueError, "SGD: invalid weight_decay ", o.weight_decay, " (must be >= 0)");
  EMBER_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), ValueError,
              "SGD: Nesterov momentum requires a momentum and zero dampening (momentum ", o.momentum,
              ", dampening ", o.dampening, ")");
}

void SGD::step() {
  autograd::NoGradGuard no_grad;
  detail::UpdateQueue queue;
  for_each_grad([&](const Tensor& param, const Tensor& grad, SGDState& state, const SGDOptions& o) {
    Tensor& buf = state.momentum_buffer;
    // torch starts the buffer as a copy of the first (decayed) gradient.
    const bool first = o.momentum != 0 && !buf.defined();
    if (first) buf = empty(param.sizes(), param.dtype());
    queue.add(param, grad, name(), [o, buf, first]<class T>(T* p, const T* g, int64_t begin, int64_t end) {
      const T sign = T(o.maximize ? -1 : 1), wd = T(o.weight_decay), mom = T(o.momentum),
              keep = T(1 - o.dampening), neg_lr = T(-o.lr);
      T* b = o.momentum != 0 ? buf.data_ptr<T>() : nullptr;
      detail::dispatch_flags(
          [&](auto decay, auto momentum, auto first_step, auto nesterov) {
            for (int64_t i = begin; i < end; ++i) {
              T d = sign * g[i];
              if constexpr (decay) d = d + wd * p[i];
              if constexpr (momentum) {
                if constexpr (first_step) {
                  b[i] = d;
                } else {
                  b[i] = b[i] * mom + keep * d;
                }
                if constexpr (nesterov) {
                  d = d + mom * b[i];
                } else {
                  d = b[i];
                }
              }
              p[i] = p[i] + neg_lr * d;
            }
          },
          o.weight_decay != 0, b != nullptr, first, o.nesterov && b != nullptr);
    });
  });
  queue.run();
}

}  // namespace ember::optim
