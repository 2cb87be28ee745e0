#pragma once
// Building blocks for elementwise op families (unary.cpp, binary.cpp).
// A functor is a struct constructed from the call's Attrs with a templated
// call operator over the compute type:
//   struct Mul { explicit Mul(const Attrs&) {}
//                template <class C> C operator()(C a, C b) const { return a * b; } };
//   .cpu = binary_kernel<Mul>
#include <optional>

#include "cpu/simd/elementwise.h"
#include "iter.h"

namespace ember::detail {

// A raw dtype conversion for kernels (never records autograd).
Tensor cast(const Tensor& t, DType dtype);

// Note [Float32 array kernels]
// The functor is an op's one definition, used for every dtype. For float32,
// a functor may also name a per-capability array kernel computing the same
// formula with vectorized math (src/ops/cpu/simd/):
//   void f32_array(const float* x, float* y, int64_t n) const;               // unary
//   void f32_array(const float* a, const float* b, R* y, int64_t n,
//                  cpu::ScalarOperand scalar) const;                          // binary, R = float or bool
// and, when the array kernel covers only some attribute values, say so with
//   bool has_f32_array() const;
// Kernels doing real math per element (exp, tanh, erf, ...) also declare
//   static constexpr int64_t f32_grain = kTranscendentalGrain;
// so that smaller arrays are split across threads.
// Float32 results then always come from the array kernel, whatever the
// layout, so a strided or broadcast operand gives bit for bit the result of
// a contiguous one: contiguous operands (or single values broadcast over
// all) are passed straight through in parallel chunks, skipping the strided
// iterator; other layouts go through it, gathered into small blocks.

// Elements per thread for the transcendental kernels (the default is
// kElementwiseGrain, right for memory-bound ones like add). Measured on 2
// threads (AVX-512): an OpenMP fork/join costs about 1 us and gelu 0.7 ns
// per element, so splitting pays from a few thousand elements (8192: 6.0 us
// on one thread, about 4 us on two).
inline constexpr int64_t kTranscendentalGrain = 8192;

template <class F>
int64_t f32_grain_of() {
  if constexpr (requires { F::f32_grain; }) return F::f32_grain;
  else return kElementwiseGrain;
}

template <class F>
concept UnaryF32Array = requires(const F& f, const float* x, float* y) { f.f32_array(x, y, int64_t(0)); };
template <class F, class R>
concept BinaryF32Array = requires(const F& f, const float* a, R* y) {
  f.f32_array(a, a, y, int64_t(0), cpu::ScalarOperand::none);
};

// Flat operands: out contiguous and each input contiguous with out's shape
// or a single element. Which inputs are single elements; nullopt otherwise.
template <size_t N>
std::optional<cpu::ScalarOperand> flat_layout(const std::array<Tensor, N>& in, const Tensor& out) {
  if (!out.is_contiguous()) return std::nullopt;
  std::array<bool, N> scalar{};
  for (size_t k = 0; k < N; ++k) {
    if (in[k].sizes() == out.sizes() && in[k].is_contiguous()) continue;
    if (in[k].numel() != 1) return std::nullopt;
    scalar[k] = true;
  }
  if constexpr (N == 1) return cpu::ScalarOperand::none;
  else
    return scalar[0] ? (scalar[1] ? cpu::ScalarOperand::both : cpu::ScalarOperand::first)
                     : (scalar[1] ? cpu::ScalarOperand::second : cpu::ScalarOperand::none);
}

template <class F, class R, size_t N>
void call_f32_array(const F& f, const std::array<const float*, N>& x, R* y, int64_t n, cpu::ScalarOperand scalar) {
  if constexpr (N == 1) f.f32_array(x[0], y, n);
  else f.f32_array(x[0], x[1], y, n, scalar);
}

// Strided operands: for_each_strided's rows in blocks, each operand read in
// place when its step is one element, else gathered into a buffer (a
// broadcast operand, step 0, too: the kernels take one layout per call).
template <class F, class R, size_t N>
void run_f32_array_strided(const F& f, const std::array<Tensor, N>& in, Tensor& out) {
  StridedOperands<N + 1> ops;
  ops.base[0] = static_cast<char*>(out.raw_data());
  ops.strides[0] = broadcast_byte_strides(out, out.sizes());
  for (size_t k = 0; k < N; ++k) {
    ops.base[k + 1] = static_cast<char*>(in[k].raw_data());
    ops.strides[k + 1] = broadcast_byte_strides(in[k], out.sizes());
  }
  for_each_strided<N + 1>(
      out.sizes(), ops, f32_grain_of<F>(),
      [&](const std::array<char*, N + 1>& p, const std::array<int64_t, N + 1>& s, int64_t n) {
        constexpr int64_t kBlock = 256;
        float gathered[N][kBlock];
        R result[kBlock];
        for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
          const int64_t m = std::min(kBlock, n - j0);
          std::array<const float*, N> x;
          for (size_t k = 0; k < N; ++k) {
            const char* base = p[k + 1] + j0 * s[k + 1];
            if (s[k + 1] == int64_t(sizeof(float))) {
              x[k] = reinterpret_cast<const float*>(base);
              continue;
            }
            for (int64_t j = 0; j < m; ++j) gathered[k][j] = *reinterpret_cast<const float*>(base + j * s[k + 1]);
            x[k] = gathered[k];
          }
          char* y = p[0] + j0 * s[0];
          if (s[0] == int64_t(sizeof(R))) {
            call_f32_array<F, R, N>(f, x, reinterpret_cast<R*>(y), m, cpu::ScalarOperand::none);
            continue;
          }
          call_f32_array<F, R, N>(f, x, result, m, cpu::ScalarOperand::none);
          for (int64_t j = 0; j < m; ++j) *reinterpret_cast<R*>(y + j * s[0]) = result[j];
        }
      });
}

// Runs f.f32_array over float32 `in` (already of that dtype) into `out` (of
// dtype R); false when the functor has no array kernel for its attributes.
template <class F, class R, size_t N>
bool run_f32_array(const F& f, const std::array<Tensor, N>& in, Tensor& out) {
  if constexpr (requires { f.has_f32_array(); }) {
    if (!f.has_f32_array()) return false;  // e.g. div with a rounding mode
  }
  const std::optional<cpu::ScalarOperand> layout = flat_layout(in, out);
  if (!layout) {
    run_f32_array_strided<F, R, N>(f, in, out);
    return true;
  }
  R* y = out.data_ptr<R>();
  std::array<const float*, N> x;
  for (size_t k = 0; k < N; ++k) x[k] = static_cast<const float*>(in[k].raw_data());
  const bool first_scalar = *layout == cpu::ScalarOperand::first || *layout == cpu::ScalarOperand::both;
  const bool second_scalar = *layout == cpu::ScalarOperand::second || *layout == cpu::ScalarOperand::both;
  parallel_for(0, out.numel(), f32_grain_of<F>(), [&](int64_t b, int64_t e) {
    std::array<const float*, N> chunk = x;
    if (!first_scalar) chunk[0] += b;
    if constexpr (N == 2) {
      if (!second_scalar) chunk[1] += b;
    }
    call_f32_array<F, R, N>(f, chunk, y + b, e - b, *layout);
  });
  return true;
}

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
  if constexpr ((N == 1 && UnaryF32Array<F>) || (N == 2 && BinaryF32Array<F, float>)) {
    if (dt == DType::f32 && run_f32_array<F, float>(f, args, out)) return;
  }
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
  if constexpr (N == 2 && BinaryF32Array<F, bool>) {
    if (common == DType::f32 && run_f32_array<F, bool>(f, args, out[0])) return;
  }
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
