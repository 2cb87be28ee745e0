#pragma once
// Building blocks for elementwise op families (unary.cpp, binary.cpp).
// A functor is a struct constructed from the call's Attrs with a templated
// call operator over the compute type:
//   struct Mul { explicit Mul(const Attrs&) {}
//                template <class C> C operator()(C a, C b) const { return a * b; } };
//   .cpu = binary_kernel<Mul>
#include "iter.h"

namespace ember::detail {

// A raw dtype conversion for kernels (never records autograd).
Tensor cast(const Tensor& t, DType dtype);

// out (dtype D) = f(inputs cast to D): arithmetic where inputs and result share a dtype.
// bf16/f16 results are computed in float (compute_t); a 0-d operand of another
// dtype (a wrapped number: x * 0.1) then enters at float precision rather than
// rounded to D first, as in PyTorch's CPU kernels.
template <class F, size_t N>
void same_dtype_kernel(std::span<const Tensor> in, Tensor& out, const Attrs& attrs) {
  const F f(attrs);
  const DType dt = out.dtype();
  bool float_scalar = false;
  if (dt == DType::bf16 || dt == DType::f16)
    for (size_t k = 0; k < N; ++k) float_scalar = float_scalar || (in[k].dim() == 0 && in[k].dtype() != dt);
  std::array<Tensor, N> args;
  for (size_t k = 0; k < N; ++k) args[k] = cast(in[k], float_scalar ? DType::f32 : dt);
  visit_dtype(dt, [&]<class T>() {
    if constexpr (!F::template supports<T>) EMBER_THROW(DTypeError, "kernel for dtype ", dt, " is not available");
    else if constexpr (std::is_same_v<T, BFloat16> || std::is_same_v<T, Half>) {
      if (float_scalar) elementwise<T, float, N>(out, args, f);
      else elementwise<T, T, N>(out, args, f);
    } else elementwise<T, T, N>(out, args, f);
  });
}

template <class F>
void unary_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  same_dtype_kernel<F, 1>(in, out[0], attrs);
}
template <class F>
void binary_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  same_dtype_kernel<F, 2>(in, out[0], attrs);
}

// out (bool) = f(inputs cast to their common dtype): comparisons, isnan, logical ops.
template <class F, size_t N>
void predicate_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const F f(attrs);
  const DType common = result_type(in.first(N));
  std::array<Tensor, N> args;
  for (size_t k = 0; k < N; ++k) args[k] = cast(in[k], common);
  visit_dtype(common, [&]<class T>() { elementwise<bool, T, N>(out[0], args, f); });
}

// Functors supporting every dtype / only floating dtypes.
struct AllDTypes {
  template <class T> static constexpr bool supports = true;
};
struct FloatDTypes {
  template <class T> static constexpr bool supports = is_floating_v<T>;
};
struct NumericDTypes {  // everything but bool
  template <class T> static constexpr bool supports = !std::is_same_v<T, bool>;
};

// ---- infer rules ----
// Broadcast shape of inputs, result dtype by promotion.
std::vector<TensorMeta> infer_broadcast_promote(const OpDef& op, std::span<const Tensor> in, const Attrs&);
// Like infer_broadcast_promote, but integer results become float32 (true division, atan2).
std::vector<TensorMeta> infer_broadcast_float(const OpDef& op, std::span<const Tensor> in, const Attrs&);
// Broadcast shape, bool result (comparisons, logical ops).
std::vector<TensorMeta> infer_broadcast_bool(const OpDef& op, std::span<const Tensor> in, const Attrs&);
// Same shape; float inputs keep their dtype, integer/bool inputs give float32.
std::vector<TensorMeta> infer_unary_float(const OpDef& op, std::span<const Tensor> in, const Attrs&);
// Same shape and dtype; bool input rejected.
std::vector<TensorMeta> infer_unary_numeric(const OpDef& op, std::span<const Tensor> in, const Attrs&);
// Same shape, bool result.
std::vector<TensorMeta> infer_unary_bool(const OpDef& op, std::span<const Tensor> in, const Attrs&);

}  // namespace ember::detail
