#pragma once
// Note [The strided iterator]
// Every elementwise kernel runs through for_each_strided: operands are given
// as base pointers plus byte strides over one common (broadcast) shape; dims
// that can be merged are coalesced, the flattened index space is split across
// threads in fixed chunks, and the innermost dim is handed to the kernel as a
// (pointers, strides, n) loop that the compiler vectorizes when strides equal
// the element size. This is PyTorch's TensorIterator reduced to what Ember
// needs; ops never write their own index arithmetic.
#include <array>
#include <cstring>

#include "ember/core/parallel.h"
#include "ember/core/tensor.h"
#include "ember/ops/op.h"

namespace ember::detail {

// Elements per thread for memory-bound elementwise loops. Measured on 2
// threads (AVX-512, float32 add): one thread takes 3.4 us for 32768
// elements, and splitting costs about 1.4 us of fork/join, so splitting
// starts to pay just above this size (65536: 6.6 us on one thread, 4.7 on two).
inline constexpr int64_t kElementwiseGrain = 32768;

// Strides (in bytes) of `t` seen through broadcasting to `sizes`.
Shape broadcast_byte_strides(const Tensor& t, const Shape& sizes);

// Shapes: result of broadcasting, or a ShapeError naming `op`.
Shape broadcast_shape(std::span<const Shape> shapes, std::string_view op);

template <size_t K>
struct StridedOperands {
  std::array<char*, K> base;
  std::array<Shape, K> strides;  // bytes, one per dim of sizes
};

template <size_t K, class F>
void for_each_strided(Shape sizes, StridedOperands<K> ops, int64_t grain, const F& inner) {
  // Coalesce: drop size-1 dims, merge a dim into the next when every operand
  // steps through both as one.
  Shape sz;
  std::array<Shape, K> st;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    if (!sz.empty()) {
      bool mergeable = true;
      for (size_t k = 0; k < K; ++k)
        if (st[k].back() != ops.strides[k][d] * sizes[d]) mergeable = false;
      if (mergeable) {
        sz.back() *= sizes[d];
        for (size_t k = 0; k < K; ++k) st[k].back() = ops.strides[k][d];
        continue;
      }
    }
    sz.push_back(sizes[d]);
    for (size_t k = 0; k < K; ++k) st[k].push_back(ops.strides[k][d]);
  }
  if (sz.empty()) {
    sz.push_back(1);
    for (size_t k = 0; k < K; ++k) st[k].push_back(0);
  }
  const size_t nd = sz.size();
  int64_t numel = 1;
  for (int64_t s : sz) numel *= s;
  if (numel == 0) return;
  const int64_t inner_size = sz[nd - 1];
  std::array<int64_t, K> inner_strides;
  for (size_t k = 0; k < K; ++k) inner_strides[k] = st[k][nd - 1];

  parallel_for(0, numel, grain, [&](int64_t begin, int64_t end) {
    // Multi-index of `begin`, outer dims only (the last is handled by `pos`).
    Shape idx(nd, 0);
    int64_t rem = begin;
    for (size_t d = nd; d-- > 0;) {
      idx[d] = rem % sz[d];
      rem /= sz[d];
    }
    std::array<char*, K> ptrs;
    for (size_t k = 0; k < K; ++k) {
      ptrs[k] = ops.base[k];
      for (size_t d = 0; d < nd; ++d) ptrs[k] += idx[d] * st[k][d];
    }
    int64_t i = begin;
    while (i < end) {
      const int64_t n = std::min(end - i, inner_size - idx[nd - 1]);
      inner(ptrs, inner_strides, n);
      i += n;
      // Advance to the start of the next inner row.
      for (size_t k = 0; k < K; ++k) ptrs[k] += (n - 0) * inner_strides[k];
      idx[nd - 1] += n;
      for (size_t d = nd - 1; d > 0 && idx[d] == sz[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
        for (size_t k = 0; k < K; ++k) ptrs[k] += st[k][d - 1] - sz[d] * st[k][d];
      }
    }
  });
}

// out[i] = f(in_0[i], ..., in_{N-1}[i]) over out's shape. Each input must
// already have dtype In (see cast_inputs) and broadcast to out; values are
// passed as compute_t<In> and the result converted to Out.
template <class Out, class In, size_t N, class F>
void elementwise(Tensor& out, const std::array<Tensor, N>& in, const F& f) {
  StridedOperands<N + 1> ops;
  ops.base[0] = static_cast<char*>(out.raw_data());
  ops.strides[0] = broadcast_byte_strides(out, out.sizes());
  for (size_t k = 0; k < N; ++k) {
    ops.base[k + 1] = static_cast<char*>(in[k].raw_data());
    ops.strides[k + 1] = broadcast_byte_strides(in[k], out.sizes());
  }
  using C = compute_t<In>;
  for_each_strided<N + 1>(out.sizes(), ops, kElementwiseGrain,
                          [&](const std::array<char*, N + 1>& p, const std::array<int64_t, N + 1>& s, int64_t n) {
                            bool contiguous = s[0] == int64_t(sizeof(Out));
                            for (size_t k = 1; k <= N; ++k) contiguous = contiguous && s[k] == int64_t(sizeof(In));
                            if (contiguous) {
                              // Typed pointers and unit steps: a loop the compiler can vectorize.
                              Out* o = reinterpret_cast<Out*>(p[0]);
                              std::array<const In*, N> x;
                              for (size_t k = 0; k < N; ++k) x[k] = reinterpret_cast<const In*>(p[k + 1]);
                              for (int64_t j = 0; j < n; ++j) {
                                if constexpr (N == 1) o[j] = Out(f(C(x[0][j])));
                                else if constexpr (N == 2) o[j] = Out(f(C(x[0][j]), C(x[1][j])));
                                else o[j] = Out(f(C(x[0][j]), C(x[1][j]), C(x[2][j])));
                              }
                              return;
                            }
                            auto load = [&](size_t k, int64_t j) -> C {
                              return C(*reinterpret_cast<const In*>(p[k + 1] + j * s[k + 1]));
                            };
                            for (int64_t j = 0; j < n; ++j) {
                              Out* o = reinterpret_cast<Out*>(p[0] + j * s[0]);
                              if constexpr (N == 1) *o = Out(f(load(0, j)));
                              else if constexpr (N == 2) *o = Out(f(load(0, j), load(1, j)));
                              else *o = Out(f(load(0, j), load(1, j), load(2, j)));
                            }
                          });
}

// Copies src into dst (same shape after broadcasting src), converting dtype.
void copy_into(Tensor& dst, const Tensor& src);

// ---- type promotion ----
// PyTorch's result_type: dimensioned tensors outrank 0-d tensors, which
// outrank wrapped numbers, unless the lower one is of a higher category
// (bool < integer < float). See Note [Type promotion] in promotion.cpp.
DType result_type(std::span<const Tensor> tensors);
// A 0-d tensor holding a number the user wrote (promotes like a Python scalar).
Tensor wrap_scalar(Scalar s);
// The float dtype an op like exp or true division produces for `dt`.
inline DType float_result(DType dt) { return is_floating(dt) ? dt : kDefaultFloat; }

// ---- reductions ----
// Wrapped, sorted, de-duplicated dims; an empty list means every dim.
Shape normalize_dims(const Shape& dims, int64_t ndim, std::string_view op);
Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim);
// `x` permuted so the kept dims come first and the reduced dims last, as a
// contiguous tensor of `dtype`: row o (length inner) holds the values that
// reduce into output element o.
struct ReduceRows {
  Tensor data;
  int64_t outer = 1;
  int64_t inner = 1;
};
ReduceRows reduce_rows(const Tensor& x, const Shape& dims, DType dtype);

// ---- shared infer rules ----
std::vector<TensorMeta> infer_same(const OpDef&, std::span<const Tensor> in, const Attrs&);  // like input 0
TensorMeta meta_of(const Tensor& t);
void check_defined(std::span<const Tensor> in, std::string_view op);

}  // namespace ember::detail
