// Adagrad with lr decay, as torch.optim.Adagrad.
#include "ember/autograd/autograd.h"
#include "ember/ops/creation.h"
#include "ember/optim/optimizer.h"
#include "update.h"

#include <cmath>

namespace ember::optim {

namespace {

// One Adagrad update, in place (see Note [Traced optimizer steps]); state: sum. `step`
// is the count after this update.
struct AdagradStep {
  AdagradOptions options;
  int64_t step = 1;

  size_t num_buffers() const { return 1; }

  template <class T>
  void operator()(const detail::UpdateData<T>& x, int64_t begin, int64_t end) const {
    const AdagradOptions& o = options;
    const double clr = o.lr / (1 + double(step - 1) * o.lr_decay);
    const T sign = T(o.maximize ? -1 : 1), wd = T(o.weight_decay), eps = T(o.eps), neg_clr = T(-clr);
    T *p = x.param, *sum = x.state[0];
    const T* g = x.grad;
    detail::dispatch_flags(
        [&](auto decay) {
          for (int64_t i = begin; i < end; ++i) {
            T d = sign * g[i];
            if constexpr (decay) d = d + wd * p[i];
            sum[i] = sum[i] + d * d;
            const T std_dev = std::sqrt(sum[i]) + eps;
            p[i] = p[i] + neg_clr * d / std_dev;
          }
        },
        o.weight_decay != 0);
  }
};

const OpDef adagrad_update_op = detail::update_op<AdagradStep>("adagrad_update");

}  // namespace

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Adagrad({{.params = std::move(params), .options = options}}) {}

Adagrad::Adagrad(std::vector<ParamGroup<AdagradOptions>> groups) {
  init_groups(std::move(groups));
  // torch creates Adagrad's state up front (the accumulator starts at
  // initial_accumulator_value), so every parameter has state from the start.
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (size_t k = 0; k < groups_[g].params.size(); ++k) {
      const Tensor& p = groups_[g].params[k];
      state_[g][k].state.sum = full(p.sizes(), groups_[g].options.initial_accumulator_value, p.dtype());
      state_[g][k].initialized = true;
    }
  }
}

void Adagrad::check_options(const AdagradOptions& o) const {
  EMBER_CHECK(o.lr >= 0, ValueError, "Adagrad: invalid learning rate ", o.lr, " (must be >= 0)");
  EMBER_CHECK(o.lr_decay >= 0, ValueError, "Adagrad: invalid lr_decay ", o.lr_decay, " (must be >= 0)");
  EMBER_CHECK(o.weight_decay >= 0, ValueError, "Adagrad: invalid weight_decay ", o.weight_decay,
              " (must be >= 0)");
  EMBER_CHECK(o.initial_accumulator_value >= 0, ValueError, "Adagrad: invalid initial_accumulator_value ",
              o.initial_accumulator_value, " (must be >= 0)");
  EMBER_CHECK(o.eps >= 0, ValueError, "Adagrad: invalid eps ", o.eps, " (must be >= 0)");
}

void Adagrad::step() {
  update_each(adagrad_update_op, [](const Tensor& param, AdagradState& s, const AdagradOptions& o) {
    // A group added later (add_param_group) starts its accumulator here.
    if (!s.sum.defined()) s.sum = full(param.sizes(), o.initial_accumulator_value, param.dtype());
    ++s.step;
    return std::pair{AdagradStep{o, s.step}, TensorList{s.sum}};
  });
}

}  // namespace ember::optim
