// SGD with momentum, dampening, Nesterov and L2 weight decay, as torch.optim.SGD.
#include "ember/autograd/autograd.h"
#include "ember/ops/creation.h"
#include "ember/optim/optimizer.h"
#include "update.h"

namespace ember::optim {

namespace {

// One SGD update, in place (see Note [Traced optimizer steps]); state: the
// momentum buffer, with momentum only.
struct SGDStep {
  SGDOptions options;
  bool first = false;  // torch starts the buffer as a copy of the first (decayed) gradient

  bool has_momentum() const { return options.momentum != 0; }
  size_t num_buffers() const { return has_momentum() ? 1 : 0; }
  // A traced first step fills the buffer: every run of the graph continues it.
  void add_host_attrs(std::vector<graph::HostAttr>& host) const {
    if (first) host.push_back({"first", [] { return AttrValue(false); }});
  }

  template <class T>
  void operator()(const detail::UpdateData<T>& x, int64_t begin, int64_t end) const {
    const SGDOptions& o = options;
    const T sign = T(o.maximize ? -1 : 1), wd = T(o.weight_decay), mom = T(o.momentum), keep = T(1 - o.dampening),
            neg_lr = T(-o.lr);
    T *p = x.param, *b = x.state[0];
    const T* g = x.grad;
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
        o.weight_decay != 0, has_momentum(), first, o.nesterov && has_momentum());
  }
};

const OpDef sgd_update_op = detail::update_op<SGDStep>("sgd_update");

}  // namespace

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
  update_each(sgd_update_op, [](const Tensor& param, SGDState& state, const SGDOptions& o) {
    const SGDStep step{o, o.momentum != 0 && !state.momentum_buffer.defined()};
    if (step.first) state.momentum_buffer = empty(param.sizes(), param.dtype());
    return std::pair{step, step.has_momentum() ? TensorList{state.momentum_buffer} : TensorList{}};
  });
}

}  // namespace ember::optim
