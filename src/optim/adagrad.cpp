// Adagrad with lr decay, as torch.optim.Adagrad.
#include "ember/autograd/autograd.h"
#include "ember/ops/creation.h"
#include "ember/optim/optimizer.h"
#include "update.h"

#include <cmath>

namespace ember::optim {

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
  autograd::NoGradGuard no_grad;
  detail::UpdateQueue queue;
  for_each_grad([&](const Tensor& param, const Tensor& grad, AdagradState& s, const AdagradOptions& o) {
    // A group added later (add_param_group) starts its accumulator here.
    if (!s.sum.defined()) s.sum = full(param.sizes(), o.initial_accumulator_value, param.dtype());
    ++s.step;
    const double clr = o.lr / (1 + double(s.step - 1) * o.lr_decay);
    queue.add(param, grad, name(), [s, o, clr]<class T>(T* p, const T* g, int64_t begin, int64_t end) {
      T* sum = s.sum.data_ptr<T>();
      const T sign = T(o.maximize ? -1 : 1), wd = T(o.weight_decay), eps = T(o.eps), neg_clr = T(-clr);
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
    });
  });
  queue.run();
}

}  // namespace ember::optim
