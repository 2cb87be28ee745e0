#pragma once
// The fused per-parameter update loop every optimizer's step() runs.
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
#include <cstdint>
#include <string>
#include <type_traits>

#include "ember/core/parallel.h"
#include "ember/core/tensor.h"

namespace ember::optim::detail {

inline constexpr int64_t kUpdateGrain = 1 << 15;

// Calls kernel(param_data, grad_data, begin, end) with T = float or double
// over [0, numel) in parallel chunks, then marks the parameter modified. The
// kernel reaches its state buffers (contiguous, same dtype) through data_ptr<T>().
template <class Kernel>
void update_parameter(const Tensor& param, const Tensor& grad, const std::string& optimizer, Kernel&& kernel) {
  EMBER_CHECK(grad.sizes() == param.sizes(), ShapeError, optimizer, ": gradient ", grad.meta_str(),
              " for a parameter ", param.meta_str());
  // Parameters are normally contiguous; a strided one is updated through a copy.
  Tensor p = param.is_contiguous() ? param : param.contiguous();
  Tensor g = grad.to(param.dtype()).contiguous();
  auto run = [&]<class T>() {
    T* pd = p.data_ptr<T>();
    const T* gd = g.data_ptr<T>();
    parallel_for(0, p.numel(), kUpdateGrain, [&](int64_t begin, int64_t end) { kernel(pd, gd, begin, end); });
  };
  if (param.dtype() == DType::f32) {
    run.template operator()<float>();
  } else {
    run.template operator()<double>();  // add_param_group admits only f32 and f64
  }
  if (p.is_same(param)) {
    param.bump_version();
  } else {
    Tensor(param).copy_(p);
  }
}

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
