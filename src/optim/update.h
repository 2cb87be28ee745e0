#pragma once
// The fused update loop every optimizer's step() runs, over all parameters at once.
//
// Note [Fused optimizer updates]
// torch's single-tensor optimizers chain several in-place ops per parameter
// (mul_, addcmul_, sqrt, add_, addcdiv_), each a full pass over memory. Here
// one loop does them all per element, in the same order and at the same
// precision (coefficients rounded to the parameter's dtype, as torch's
// kernels do), so results agree with torch to float rounding while memory is
// read once. Elements are independent, so parallel chunks stay deterministic.
// For the loop to vectorize it must be free of branches: kernels take their
// options as compile-time flags (dispatch_flags) and fold maximize into a
// sign (-g == -1 * g exactly); optim sources build with -fno-math-errno so
// that sqrt vectorizes too.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "ember/core/parallel.h"
#include "ember/core/tensor.h"

namespace ember::optim::detail {

inline constexpr int64_t kUpdateGrain = 1 << 15;

// Note [Multi-tensor updates]
// step() queues one update per parameter, in order: the setup (state
// buffers, step counts, coefficients) runs then, serially; run() then does
// every parameter's elements in one parallel pass. The parameters' elements,
// laid end to end, are cut into chunks of kUpdateGrain, so the small ones
// (biases) share a chunk and one OpenMP region serves the whole model instead
// of one per large parameter (torch's _multi_tensor_* / foreach path). An
// element's arithmetic is the same wherever its chunk falls, so results do not
// depend on the thread count or on the other parameters.
class UpdateQueue {
 public:
  // Queues kernel(param_data, grad_data, begin, end), with T = float or
  // double, over [0, numel). The kernel runs after add() returns, so it holds
  // its coefficients and state tensors by value; it reaches its state buffers
  // (contiguous, same dtype) through data_ptr<T>().
  template <class Kernel>
  void add(const Tensor& param, const Tensor& grad, const std::string& optimizer, Kernel kernel) {
    EMBER_CHECK(grad.sizes() == param.sizes(), ShapeError, optimizer, ": gradient ", grad.meta_str(),
                " for a parameter ", param.meta_str());
    // Parameters are normally contiguous; a strided one is updated through a copy.
    Update u{param, param.is_contiguous() ? param : param.contiguous(), grad.to(param.dtype()).contiguous(), {}};
    auto bind = [&]<class T>() {
      u.range = [kernel, p = u.data.data_ptr<T>(), g = u.grad.data_ptr<T>()](int64_t begin, int64_t end) {
        kernel(p, g, begin, end);
      };
    };
    if (param.dtype() == DType::f32) {
      bind.template operator()<float>();
    } else {
      bind.template operator()<double>();  // add_param_group admits only f32 and f64
    }
    updates_.push_back(std::move(u));
  }

  // Runs the queued updates, then marks each parameter modified.
  void run() {
    std::vector<int64_t> start{0};  // start[k]: where update k's elements begin, end to end
    for (const Update& u : updates_) start.push_back(start.back() + u.data.numel());
    parallel_for(0, start.back(), kUpdateGrain, [&](int64_t begin, int64_t end) {
      size_t k = size_t(std::upper_bound(start.begin(), start.end(), begin) - start.begin()) - 1;
      for (; k < updates_.size() && start[k] < end; ++k)
        updates_[k].range(std::max(begin, start[k]) - start[k], std::min(end, start[k + 1]) - start[k]);
    });
    for (const Update& u : updates_) {
      if (u.data.is_same(u.param)) {
        u.param.bump_version();
      } else {
        Tensor(u.param).copy_(u.data);
      }
    }
    updates_.clear();
  }

 private:
  struct Update {
    Tensor param, data, grad;  // data: param or its contiguous copy; grad: contiguous, in param's dtype
    std::function<void(int64_t, int64_t)> range;  // updates elements [begin, end)
  };
  std::vector<Update> updates_;
};

// Calls f(std::bool_constant<b>...) for the runtime bools given, so a kernel
// can pick its loop body with `if constexpr`.
template <class F>
void dispatch_flags(F&& f) {
  f();
}
template <class F, class... Rest>
void dispatch_flags(F&& f, bool flag, Rest... rest) {
  if (flag) {
    dispatch_flags([&](auto... flags) { f(std::true_type{}, flags...); }, rest...);
  } else {
    dispatch_flags([&](auto... flags) { f(std::false_type{}, flags...); }, rest...);
  }
}

// torch's lerp kernel: exact at both ends of the weight range.
template <class T> inline T lerp(T self, T end, T weight) {
  return weight < T(0.5) ? self + weight * (end - self) : end - (end - self) * (T(1) - weight);
}

}  // namespace ember::optim::detail
