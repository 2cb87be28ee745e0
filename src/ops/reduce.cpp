// Reductions and scans. Every kernel works on the rows laid out by
// reduce_rows (kept dims outer, reduced dims inner, contiguous), one output
// element per row, rows in parallel; sum and mean over a run of dims
// followed by kept dims sum down columns instead (sum_columns). Floats
// accumulate in double and integers in int64; float32 rows go through the
// per-capability kernels of src/ops/cpu/simd/reduce.h. Attribute "dim" is
// always a Shape (empty = every dim), "keepdim" a bool.
#include "ember/ops/reduce.h"

#include <cmath>
#include <limits>

#include "ember/autograd/autograd.h"
#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"
#include "cpu/simd/reduce.h"
#include "elementwise.h"
#include "registry.h"

namespace ember {
using namespace detail;

namespace {

inline constexpr int64_t kReduceGrain = 16;   // output rows per task (each row may be long)
inline constexpr int64_t kChunk = 1 << 15;    // long rows are summed in fixed chunks (see sum_of)

// The accumulator type of a reduction over T.
template <class T> using acc_t = std::conditional_t<is_floating_v<T>, double, int64_t>;

template <class O, class A> O to_out(A v) { return O(compute_t<O>(v)); }

// Calls f(row_pointer, out_index) for each output row, in parallel.
template <class T, class F>
void for_each_row(const ReduceRows& rows, const F& f) {
  const T* data = rows.data.data_ptr<T>();
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(rows.inner, 1));
  parallel_for(0, rows.outer, std::max(grain, kReduceGrain), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) f(data + o * rows.inner, o);
  });
}

struct Identity {
  template <class C> C operator()(C x) const { return x; }
};
// (x - mean)^2 in double: var's second pass.
struct SquaredDeviation {
  double mean;
  template <class C> double operator()(C x) const { return (double(x) - mean) * (double(x) - mean); }
};

// sum of f(x) over a short row, with 8 independent lanes so the loop
// vectorizes without reassociating one serial chain. Float32 rows go to the
// per-capability kernels (same double accumulation, more lanes).
template <class A, class T, class F>
A sum_lanes(const T* row, int64_t n, const F& f) {
  if constexpr (std::is_same_v<T, float> && std::is_same_v<A, double> && std::is_same_v<F, Identity>)
    return EMBER_SIMD(sum_f32)(row, n);
  if constexpr (std::is_same_v<T, float> && std::is_same_v<A, double> && std::is_same_v<F, SquaredDeviation>)
    return EMBER_SIMD(sum_squared_deviations_f32)(row, n, f.mean);
  A lanes[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) lanes[k] += A(f(compute_t<T>(row[j + k])));
  A acc = 0;
  for (; j < n; ++j) acc += A(f(compute_t<T>(row[j])));
  for (A l : lanes) acc += l;
  return acc;
}

// sum of f(x) over a row of any length. Long rows are cut into fixed chunks
// whose partial sums are added in order, so the result does not depend on the
// thread count; the chunks run in parallel when the caller is not already
// parallel over rows (a full reduction has a single row).
template <class A, class T, class F>
A sum_of(const T* row, int64_t n, const F& f) {
  if (n <= kChunk) return sum_lanes<A>(row, n, f);
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<A> partial(size_t(chunks), A(0));
  parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c)
      partial[size_t(c)] = sum_lanes<A>(row + c * kChunk, std::min(kChunk, n - c * kChunk), f);
  });
  A acc = 0;
  for (A p : partial) acc += p;
  return acc;
}

// ---- infer pieces ----

Shape dims_of(const OpDef& op, int64_t ndim, const Attrs& attrs) { return normalize_dims(attrs.ints("dim"), ndim, op.name); }

TensorMeta reduced_meta(const OpDef& op, const Tensor& x, const Attrs& attrs, DType dtype) {
  return {reduced_shape(x.sizes(), dims_of(op, x.dim(), attrs), attrs.b("keepdim")), dtype};
}

void check_floating(const OpDef& op, const Tensor& x) {
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, op.name, ": expected a floating point input, got ", x.dtype(),
              " (convert it with to_dtype)");
}

// Reductions without an identity (max, argmax, inf-norm) need non-empty reduced dims.
void check_nonempty(const OpDef& op, const Tensor& x, const Shape& dims) {
  for (int64_t d : dims)
    EMBER_CHECK(x.sizes()[size_t(d)] != 0, IndexError, op.name, ": expected reduction dim ", d,
                " to have non-zero size, but the input has shape ", shape_str(x.sizes()));
}

// Integer and bool sums/products/scans give int64, as in PyTorch.
DType accumulate_dtype(DType dt) { return is_floating(dt) ? dt : DType::i64; }

// ---- backward pieces ----

int64_t reduced_numel(const TensorMeta& input, const Shape& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= input.sizes[size_t(d)];
  return n;
}

// A reduced value (gradient or result) broadcast back over the reduced dims.
Tensor expand_reduced(const Tensor& g, const TensorMeta& input, const Shape& dims) {
  return expand(reshape(g, reduced_shape(input.sizes, dims, true)), input.sizes);
}

Shape dims_of(const BackwardContext& c) {
  return normalize_dims(c.attrs().ints("dim"), int64_t(c.input_meta(0).sizes.size()), "backward");
}

// ---- sum, mean ----

std::vector<TensorMeta> infer_sum(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const DType dt = attrs.has("dtype") ? attrs.dtype("dtype") : accumulate_dtype(in[0].dtype());
  return {reduced_meta(op, in[0], attrs, dt)};
}

std::vector<TensorMeta> infer_mean(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  check_floating(op, in[0]);
  return {reduced_meta(op, in[0], attrs, in[0].dtype())};
}

// Sums over a run of consecutive dims followed by kept dims (bias gradients,
// batch means, the middle dim of (N, C, HW)) of a contiguous tensor, without
// reduce_rows' transposing copy: x is (outer, rows, cols) and each output
// column accumulates down its rows, the inner loop running along contiguous
// columns. False when the dims are not such a run.
template <bool Mean>
bool sum_columns(const Tensor& x, const Shape& dims, Tensor& out) {
  if (dims.empty() || dims.back() == x.dim() - 1 || dims.back() - dims.front() + 1 != int64_t(dims.size()) ||
      !x.is_contiguous())
    return false;
  int64_t outer = 1, rows = 1, cols = 1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    const int64_t size = x.sizes()[size_t(d)];
    if (d < dims.front()) outer *= size;
    else if (d <= dims.back()) rows *= size;
    else cols *= size;
  }
  visit_dtype(x.dtype(), [&]<class T>() {
    visit_dtype(out.dtype(), [&]<class O>() {
      const T* data = x.data_ptr<T>();
      O* o = out.data_ptr<O>();
      const int64_t grain = std::max<int64_t>(64, kElementwiseGrain / std::max<int64_t>(rows, 1));
      // Kept positions [b, e) of the (outer, cols) output, as runs within one outer index.
      parallel_for(0, outer * cols, grain, [&](int64_t b, int64_t e) {
        std::vector<acc_t<T>> acc(size_t(std::min(e - b, cols)));
        for (int64_t pos = b; pos < e;) {
          const int64_t outer_index = pos / cols, col = pos % cols, len = std::min(e - pos, cols - col);
          const T* block = data + outer_index * rows * cols + col;
          std::fill(acc.begin(), acc.begin() + len, acc_t<T>(0));
          if constexpr (std::is_same_v<T, float>) {
            EMBER_SIMD(sum_columns_f32)(block, rows, len, cols, acc.data());
          } else {
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t c = 0; c < len; ++c) acc[size_t(c)] += acc_t<T>(compute_t<T>(block[r * cols + c]));
          }
          for (int64_t c = 0; c < len; ++c) {
            if constexpr (Mean) o[pos + c] = to_out<O>(double(acc[size_t(c)]) / double(rows));
            else o[pos + c] = to_out<O>(acc[size_t(c)]);
          }
          pos += len;
        }
      });
    });
  });
  return true;
}

template <bool Mean>
void sum_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), "sum");
  // sum(dtype=...) converts the input first, as PyTorch does.
  const DType src = attrs.has("dtype") ? attrs.dtype("dtype") : in[0].dtype();
  if (src == in[0].dtype() && sum_columns<Mean>(in[0], dims, out[0])) return;
  const ReduceRows rows = reduce_rows(in[0], dims, src);
  visit_dtype(src, [&]<class T>() {
    visit_dtype(out[0].dtype(), [&]<class O>() {
      O* o = out[0].data_ptr<O>();
      for_each_row<T>(rows, [&](const T* row, int64_t idx) {
        const acc_t<T> s = sum_of<acc_t<T>>(row, rows.inner, Identity{});
        if constexpr (Mean) o[idx] = to_out<O>(double(s) / double(rows.inner));
        else o[idx] = to_out<O>(s);
      });
    });
  });
}

TensorList sum_backward(const BackwardContext& c, const TensorList& g) {
  return {expand_reduced(g[0], c.input_meta(0), dims_of(c))};
}
TensorList mean_backward(const BackwardContext& c, const TensorList& g) {
  const Shape dims = dims_of(c);
  return {div(expand_reduced(g[0], c.input_meta(0), dims), reduced_numel(c.input_meta(0), dims))};
}

// ---- prod ----

std::vector<TensorMeta> infer_prod(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  return {reduced_meta(op, in[0], attrs, accumulate_dtype(in[0].dtype()))};
}

void prod_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), "prod");
  const ReduceRows rows = reduce_rows(in[0], dims, in[0].dtype());
  visit_dtype(in[0].dtype(), [&]<class T>() {
    visit_dtype(out[0].dtype(), [&]<class O>() {
      O* o = out[0].data_ptr<O>();
      for_each_row<T>(rows, [&](const T* row, int64_t idx) {
        acc_t<T> acc = 1;
        for (int64_t j = 0; j < rows.inner; ++j) {
          if constexpr (std::is_integral_v<acc_t<T>>)  // wraps on overflow like PyTorch, without UB
            acc = int64_t(uint64_t(acc) * uint64_t(int64_t(compute_t<T>(row[j]))));
          else acc *= acc_t<T>(compute_t<T>(row[j]));
        }
        o[idx] = to_out<O>(acc);
      });
    });
  });
}

// Scans with the internal exclusive/reverse attributes (see cumsum_op).
Tensor cumsum_ex(const Tensor& x, int64_t dim, bool exclusive, bool reverse);
Tensor cumprod_ex(const Tensor& x, int64_t dim, bool exclusive, bool reverse);

// d prod / d x_i = prod of the other elements. Without zeros that is
// result / x_i; with zeros it is the product of the exclusive prefix and
// suffix products (no division), as PyTorch's prod_safe_zeros_backward.
TensorList prod_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& x = c.input(0);
  const Shape dims = dims_of(c);
  if (dims.empty()) return {g[0]};  // a 0-d input: prod is the identity
  const Tensor grad = expand_reduced(g[0], c.input_meta(0), dims);
  bool has_zero;
  {
    autograd::NoGradGuard no_grad;
    has_zero = any(eq(x, 0)).item<bool>();
  }
  if (!has_zero) return {div(mul(grad, expand_reduced(c.output(0), c.input_meta(0), dims)), x)};
  if (dims.size() == 1) {
    const int64_t d = dims[0];
    return {mul(grad, mul(cumprod_ex(x, d, true, false), cumprod_ex(x, d, true, true)))};
  }
  const Tensor flat = reshape(x, {-1});
  const Tensor others = mul(cumprod_ex(flat, 0, true, false), cumprod_ex(flat, 0, true, true));
  return {mul(grad, reshape(others, x.sizes()))};
}

// ---- var, std ----

std::vector<TensorMeta> infer_var(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  check_floating(op, in[0]);
  return {reduced_meta(op, in[0], attrs, in[0].dtype())};
}

// Two passes in double: the mean, then squared deviations (no cancellation).
template <bool Sqrt>
void var_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), "var");
  const double correction = attrs.f("correction");
  const ReduceRows rows = reduce_rows(in[0], dims, in[0].dtype());
  visit_dtype(in[0].dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      T* o = out[0].data_ptr<T>();
      for_each_row<T>(rows, [&](const T* row, int64_t idx) {
        const double n = double(rows.inner);
        const double mean = sum_of<double>(row, rows.inner, Identity{}) / n;
        const double ss = sum_of<double>(row, rows.inner, SquaredDeviation{mean});
        const double v = ss / std::max(0.0, n - correction);
        o[idx] = to_out<T>(Sqrt ? std::sqrt(v) : v);
      });
    }
  });
}

// d var = 2 (x - mean) / (N - correction).
Tensor var_backward(const Tensor& g, const BackwardContext& c) {
  const Tensor& x = c.input(0);
  const Shape dims = dims_of(c);
  const double n = double(reduced_numel(c.input_meta(0), dims));
  const Tensor centered = sub(x, mean(x, dims, true));
  return mul(expand_reduced(g, c.input_meta(0), dims), mul(centered, 2.0 / (n - c.attrs().f("correction"))));
}

// d std = d var / (2 std); zero where std is 0 (as PyTorch).
Tensor std_backward(const BackwardContext& c, const Tensor& g) {
  const Tensor& result = c.output(0);
  return var_backward(masked_fill(div(g, mul(result, 2)), eq(result, 0), 0), c);
}

// ---- max, min, amax, amin (values) ----

// Whether v replaces best. NaN wins over numbers and the first NaN stays, so
// NaN propagates and index results point at the first NaN (PyTorch's rule).
template <bool Max, class C>
bool better(C v, C best) {
  if constexpr (std::is_floating_point_v<C>) {
    if (v != v) return best == best;
  }
  if constexpr (Max) return v > best;
  else return v < best;
}

std::vector<TensorMeta> infer_extreme_all(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  EMBER_CHECK(in[0].numel() != 0, IndexError, op.name,
              ": expected reduction dim to be specified for an empty input (shape ", shape_str(in[0].sizes()),
              "); pass a dim");
  return {reduced_meta(op, in[0], attrs, in[0].dtype())};
}

std::vector<TensorMeta> infer_extreme(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  check_nonempty(op, in[0], dims_of(op, in[0].dim(), attrs));
  return {reduced_meta(op, in[0], attrs, in[0].dtype())};
}

template <bool Max>
void extreme_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const ReduceRows rows = reduce_rows(in[0], normalize_dims(attrs.ints("dim"), in[0].dim(), "amax"), in[0].dtype());
  visit_dtype(in[0].dtype(), [&]<class T>() {
    T* o = out[0].data_ptr<T>();
    for_each_row<T>(rows, [&](const T* row, int64_t idx) {
      if constexpr (std::is_same_v<T, float>) {
        o[idx] = Max ? EMBER_SIMD(max_f32)(row, rows.inner) : EMBER_SIMD(min_f32)(row, rows.inner);
      } else {
        compute_t<T> best = row[0];
        for (int64_t j = 1; j < rows.inner; ++j) {
          const compute_t<T> v = row[j];
          if (better<Max>(v, best)) best = v;
        }
        o[idx] = T(best);
      }
    });
  });
}

// The gradient is split evenly among the elements equal to the result.
TensorList extreme_backward(const BackwardContext& c, const TensorList& g) {
  const TensorMeta& meta = c.input_meta(0);
  const Shape dims = dims_of(c);
  const Tensor mask = eq(c.input(0), expand_reduced(c.output(0), meta, dims));
  const Tensor count = sum(mask, dims, true);
  return {mul(div(expand_reduced(g[0], meta, dims), count), mask)};
}

// ---- max(dim), min(dim), argmax, argmin (indices) ----

std::vector<TensorMeta> infer_extreme_dim(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  check_nonempty(op, in[0], dims_of(op, in[0].dim(), attrs));
  const TensorMeta values = reduced_meta(op, in[0], attrs, in[0].dtype());
  return {values, {values.sizes, DType::i64}};
}

std::vector<TensorMeta> infer_arg(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  EMBER_CHECK(in[0].dtype() != DType::b8, DTypeError, op.name, ": bool input is not supported");
  const bool flat = attrs.ints("dim").empty();
  EMBER_CHECK(!flat || in[0].numel() != 0, IndexError, op.name,
              ": expected reduction dim to be specified for an empty input (shape ", shape_str(in[0].sizes()),
              "); pass a dim");
  check_nonempty(op, in[0], dims_of(op, in[0].dim(), attrs));
  return {reduced_meta(op, in[0], attrs, DType::i64)};
}

// Writes the first index of the extreme of each row (into outputs [values,] indices).
template <bool Max>
void extreme_index_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), "argmax");
  const ReduceRows rows = reduce_rows(in[0], dims, in[0].dtype());
  const bool with_values = out.size() == 2;
  visit_dtype(in[0].dtype(), [&]<class T>() {
    T* values = with_values ? out[0].data_ptr<T>() : nullptr;
    int64_t* indices = out[out.size() - 1].data_ptr<int64_t>();
    for_each_row<T>(rows, [&](const T* row, int64_t idx) {
      compute_t<T> best = row[0];
      int64_t at = 0;
      for (int64_t j = 1; j < rows.inner; ++j) {
        const compute_t<T> v = row[j];
        if (better<Max>(v, best)) {
          best = v;
          at = j;
        }
      }
      if (values) values[idx] = row[at];
      indices[idx] = at;
    });
  });
}

// The gradient goes to the selected index only.
TensorList extreme_dim_backward(const BackwardContext& c, const TensorList& g) {
  const TensorMeta& meta = c.input_meta(0);
  const Shape dims = dims_of(c);
  if (dims.empty()) return {g[0]};  // a 0-d input selects itself
  const int64_t d = dims[0];
  Shape positions(meta.sizes.size(), 1);
  positions[size_t(d)] = meta.sizes[size_t(d)];
  const Tensor along = reshape(arange(meta.sizes[size_t(d)]), positions);
  const Tensor mask = eq(expand_reduced(c.output(1), meta, dims), along);
  return {mul(expand_reduced(g[0], meta, dims), mask)};
}

// ---- logsumexp ----

std::vector<TensorMeta> infer_logsumexp(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  return {reduced_meta(op, in[0], attrs, float_result(in[0].dtype()))};
}

// max + log(sum(exp(x - max))); an infinite max is not subtracted (all -inf
// rows give -inf, a +inf gives +inf), as PyTorch.
void logsumexp_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), "logsumexp");
  const ReduceRows rows = reduce_rows(in[0], dims, out[0].dtype());
  visit_dtype(out[0].dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      T* o = out[0].data_ptr<T>();
      for_each_row<T>(rows, [&](const T* row, int64_t idx) {
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < rows.inner; ++j) {
          const double v = double(compute_t<T>(row[j]));
          if (better<true>(v, m)) m = v;
        }
        if (std::isinf(m)) m = 0;
        // Each step rounds to T, as PyTorch's composite (sub, exp, sum, log,
        // add in T) does; for 16-bit floats the gradient depends on it.
        const auto round = [](double v) { return double(compute_t<T>(to_out<T>(v))); };
        const double s = sum_of<double>(row, rows.inner, [m, round](auto v) {
          return round(std::exp(round(double(v) - m)));
        });
        o[idx] = to_out<T>(round(std::log(round(s))) + m);
      });
    }
  });
}

TensorList logsumexp_backward(const BackwardContext& c, const TensorList& g) {
  const TensorMeta& meta = c.input_meta(0);
  const Shape dims = dims_of(c);
  const Tensor weights = exp(sub(c.input(0), expand_reduced(c.output(0), meta, dims)));
  return {mul(expand_reduced(g[0], meta, dims), weights)};
}

// ---- norm ----

std::vector<TensorMeta> infer_norm(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  check_floating(op, in[0]);
  const double p = attrs.f("p");
  EMBER_CHECK(p == 1 || p == 2 || p == std::numeric_limits<double>::infinity(), ValueError, op.name,
              ": p must be 1, 2 or inf, got ", p);
  if (std::isinf(p)) check_nonempty(op, in[0], dims_of(op, in[0].dim(), attrs));
  return {reduced_meta(op, in[0], attrs, in[0].dtype())};
}

void norm_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), "norm");
  const double p = attrs.f("p");
  const ReduceRows rows = reduce_rows(in[0], dims, in[0].dtype());
  visit_dtype(in[0].dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      T* o = out[0].data_ptr<T>();
      for_each_row<T>(rows, [&](const T* row, int64_t idx) {
        double r;
        if (p == 1) {
          r = sum_of<double>(row, rows.inner, [](auto v) { return std::abs(double(v)); });
        } else if (p == 2) {
          r = std::sqrt(sum_of<double>(row, rows.inner, [](auto v) { return double(v) * double(v); }));
        } else {
          r = 0;
          for (int64_t j = 0; j < rows.inner; ++j) {
            const double a = std::abs(double(compute_t<T>(row[j])));
            if (better<true>(a, r)) r = a;
          }
        }
        o[idx] = to_out<T>(r);
      });
    }
  });
}

// p=1: sign(x); p=2: x / norm (0 at the zero vector); p=inf: sign(x) split
// evenly among the elements whose |x| is the max (as PyTorch).
TensorList norm_backward(const BackwardContext& c, const TensorList& g) {
  const TensorMeta& meta = c.input_meta(0);
  const Shape dims = dims_of(c);
  const Tensor& x = c.input(0);
  const Tensor& result = c.output(0);
  const double p = c.attrs().f("p");
  if (p == 2) {
    const Tensor scale = masked_fill(div(g[0], result), eq(result, 0), 0);
    return {mul(x, expand_reduced(scale, meta, dims))};
  }
  const Tensor signs = sign(x);
  if (p == 1) return {mul(expand_reduced(g[0], meta, dims), signs)};
  const Tensor mask = eq(abs(x), expand_reduced(result, meta, dims));
  const Tensor share = div(expand_reduced(g[0], meta, dims), sum(mask, dims, true));
  return {mul(mul(share, mask), signs)};
}

// ---- all, any ----

std::vector<TensorMeta> infer_logical(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  // uint8 stays uint8 (PyTorch keeps it for backward compatibility).
  return {reduced_meta(op, in[0], attrs, in[0].dtype() == DType::u8 ? DType::u8 : DType::b8)};
}

template <bool All>
void logical_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), "all");
  const ReduceRows rows = reduce_rows(in[0], dims, in[0].dtype());
  visit_dtype(in[0].dtype(), [&]<class T>() {
    visit_dtype(out[0].dtype(), [&]<class O>() {
      O* o = out[0].data_ptr<O>();
      for_each_row<T>(rows, [&](const T* row, int64_t idx) {
        bool r = All;
        for (int64_t j = 0; j < rows.inner && r == All; ++j) r = (compute_t<T>(row[j]) != compute_t<T>(0));
        o[idx] = O(r);
      });
    });
  });
}

// ---- cumsum, cumprod ----
// Attributes "exclusive" (out[i] leaves out x[i]) and "reverse" (scan from
// the end) are internal, as ONNX CumSum's: they make each scan's gradient
// another scan.

std::vector<TensorMeta> infer_scan(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  dims_of(op, in[0].dim(), attrs);  // validates dim
  return {{in[0].sizes(), accumulate_dtype(in[0].dtype())}};
}

// `t` viewed with its dims permuted as reduce_rows lays out rows over `dims`.
Tensor rows_view(const Tensor& t, const Shape& dims) {
  Shape sizes, strides;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      sizes.push_back(t.sizes()[size_t(d)]);
      strides.push_back(t.strides()[size_t(d)]);
    }
  for (int64_t d : dims) {
    sizes.push_back(t.sizes()[size_t(d)]);
    strides.push_back(t.strides()[size_t(d)]);
  }
  const auto& impl = t.impl();
  return Tensor::from_storage(impl.storage, sizes, strides, impl.offset, impl.dtype);
}

template <bool Prod>
void scan_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), "cumsum");
  const bool exclusive = attrs.b("exclusive"), reverse = attrs.b("reverse");
  const ReduceRows rows = reduce_rows(in[0], dims, in[0].dtype());
  // Scan into out directly when its rows are contiguous, else through a buffer.
  const Tensor target = rows_view(out[0], dims);
  Tensor buffer = target.is_contiguous() ? target : Tensor::empty(target.sizes(), out[0].dtype());
  visit_dtype(in[0].dtype(), [&]<class T>() {
    visit_dtype(out[0].dtype(), [&]<class O>() {
      O* o = buffer.data_ptr<O>();
      for_each_row<T>(rows, [&](const T* row, int64_t idx) {
        O* dst = o + idx * rows.inner;
        acc_t<T> acc = Prod ? 1 : 0;
        for (int64_t k = 0; k < rows.inner; ++k) {
          const int64_t j = reverse ? rows.inner - 1 - k : k;
          if (exclusive) dst[j] = to_out<O>(acc);
          const acc_t<T> v = acc_t<T>(compute_t<T>(row[j]));
          if constexpr (!Prod) acc += v;
          else if constexpr (std::is_integral_v<acc_t<T>>) acc = int64_t(uint64_t(acc) * uint64_t(v));
          else acc *= v;
          if (!exclusive) dst[j] = to_out<O>(acc);
        }
      });
    });
  });
  if (!buffer.is_same(target)) {
    Tensor t = target;
    copy_into(t, buffer);
  }
}

Attrs scan_attrs(int64_t dim, bool exclusive, bool reverse) {
  return {{"dim", Shape{dim}}, {"exclusive", exclusive}, {"reverse", reverse}};
}

// out[j] sums x over a window W(j); x[k] feeds every out[j] with k in W(j),
// which is the opposite scan of the same kind.
TensorList cumsum_backward(const BackwardContext& c, const TensorList& g) {
  const Shape dims = dims_of(c);
  if (dims.empty()) return {g[0]};
  return {cumsum_ex(g[0], dims[0], c.attrs().b("exclusive"), !c.attrs().b("reverse"))};
}

// d out[j] / d x[k] = out[j] / x[k] for k in W(j): the opposite scan of
// g * out, divided by x (PyTorch's formula for inputs without zeros).
// Note [cumprod gradient with zeros]
// For the public inclusive scan, with z the first zero of a row:
//   k < z:  the formula above is exact (x[k] != 0, out[j] = 0 for j >= z);
//   k = z:  prod(x[..z-1]) * sum_{z<=j<z2} g[j] * prod(x[z+1..j]), z2 the second zero;
//   k > z:  0 (every out[j] that depends on x[k] also holds x[z] = 0).
// This is first-order exact only: the k > z entries are constant zeros here,
// so second derivatives at inputs with zeros are not (PyTorch switches to an
// O(n^2) formula under create_graph for them). Exclusive and reverse scans
// (prod's backward) always use the plain formula.
TensorList cumprod_backward(const BackwardContext& c, const TensorList& g) {
  const Shape dims = dims_of(c);
  if (dims.empty()) return {g[0]};
  const int64_t d = dims[0];
  const Tensor& x = c.input(0);
  const bool exclusive = c.attrs().b("exclusive"), reverse = c.attrs().b("reverse");
  const Tensor after_scan = cumsum_ex(mul(g[0], c.output(0)), d, exclusive, !reverse);
  bool has_zero = false;
  if (!exclusive && !reverse) {
    autograd::NoGradGuard no_grad;
    has_zero = any(eq(x, 0)).item<bool>();
  }
  if (!has_zero) return {div(after_scan, x)};
  const Tensor is_zero = eq(x, 0);
  const Tensor zeros_so_far = cumsum(is_zero, d);
  const Tensor before = eq(zeros_so_far, 0);
  const Tensor first_segment = eq(zeros_so_far, 1);  // from the first zero up to the second
  const Tensor first_zero = logical_and(is_zero, first_segment);
  const Tensor between = logical_and(first_segment, logical_not(is_zero));
  const Tensor grad_before = where(before, div(after_scan, masked_fill(x, logical_not(before), 1)), 0);
  const Tensor prefix = cumprod_ex(masked_fill(x, logical_not(before), 1), d, true, false);
  const Tensor tail = sum(mul(cumprod(masked_fill(x, logical_not(between), 1), d),
                              masked_fill(g[0], logical_not(first_segment), 0)),
                          {d}, true);
  return {add(grad_before, where(first_zero, mul(prefix, tail), 0))};
}

}  // namespace

const OpDef sum_op{.name = "sum", .inputs = {"self"}, .infer = infer_sum, .cpu = sum_kernel<false>,
                   .backward = sum_backward, .onnx = "ReduceSum", .reference = "sum", .autocast = AutocastPolicy::fp32};
const OpDef mean_op{.name = "mean", .inputs = {"self"}, .infer = infer_mean, .cpu = sum_kernel<true>,
                    .backward = mean_backward, .onnx = "ReduceMean", .reference = "mean",
                    .autocast = AutocastPolicy::fp32};
const OpDef prod_op{.name = "prod", .inputs = {"self"}, .infer = infer_prod, .cpu = prod_kernel,
                    .backward = prod_backward, .saves = Saves::both, .onnx = "ReduceProd", .reference = "prod",
                    .autocast = AutocastPolicy::fp32};
const OpDef var_op{.name = "var", .inputs = {"self"}, .infer = infer_var, .cpu = var_kernel<false>,
                   .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                     return {var_backward(g[0], c)};
                   },
                   .saves = Saves::inputs, .not_exportable = "ONNX has no variance reduction",
                   .reference = "var", .autocast = AutocastPolicy::fp32};
const OpDef std_op{.name = "std", .inputs = {"self"}, .infer = infer_var, .cpu = var_kernel<true>,
                   .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                     return {std_backward(c, g[0])};
                   },
                   .saves = Saves::both, .not_exportable = "ONNX has no standard deviation reduction",
                   .reference = "std", .autocast = AutocastPolicy::fp32};
const OpDef max_op{.name = "max", .inputs = {"self"}, .infer = infer_extreme_all, .cpu = extreme_kernel<true>,
                   .backward = extreme_backward, .saves = Saves::both, .onnx = "ReduceMax", .reference = "max"};
const OpDef min_op{.name = "min", .inputs = {"self"}, .infer = infer_extreme_all, .cpu = extreme_kernel<false>,
                   .backward = extreme_backward, .saves = Saves::both, .onnx = "ReduceMin", .reference = "min"};
const OpDef amax_op{.name = "amax", .inputs = {"self"}, .infer = infer_extreme, .cpu = extreme_kernel<true>,
                    .backward = extreme_backward, .saves = Saves::both, .onnx = "ReduceMax", .reference = "amax"};
const OpDef amin_op{.name = "amin", .inputs = {"self"}, .infer = infer_extreme, .cpu = extreme_kernel<false>,
                    .backward = extreme_backward, .saves = Saves::both, .onnx = "ReduceMin", .reference = "amin"};
const OpDef max_dim_op{.name = "max_dim", .inputs = {"self"}, .infer = infer_extreme_dim,
                       .cpu = extreme_index_kernel<true>, .backward = extreme_dim_backward,
                       .saves = Saves::outputs, .not_exportable = "two outputs; export as ReduceMax and ArgMax",
                       .reference = "max_dim"};
const OpDef min_dim_op{.name = "min_dim", .inputs = {"self"}, .infer = infer_extreme_dim,
                       .cpu = extreme_index_kernel<false>, .backward = extreme_dim_backward,
                       .saves = Saves::outputs, .not_exportable = "two outputs; export as ReduceMin and ArgMin",
                       .reference = "min_dim"};
const OpDef argmax_op{.name = "argmax", .inputs = {"self"}, .infer = infer_arg, .cpu = extreme_index_kernel<true>,
                      .nondifferentiable = "integer indices", .onnx = "ArgMax", .reference = "argmax"};
const OpDef argmin_op{.name = "argmin", .inputs = {"self"}, .infer = infer_arg, .cpu = extreme_index_kernel<false>,
                      .nondifferentiable = "integer indices", .onnx = "ArgMin", .reference = "argmin"};
const OpDef logsumexp_op{.name = "logsumexp", .inputs = {"self"}, .infer = infer_logsumexp, .cpu = logsumexp_kernel,
                         .backward = logsumexp_backward, .saves = Saves::both, .onnx = "ReduceLogSumExp",
                         .reference = "logsumexp", .autocast = AutocastPolicy::fp32};
const OpDef norm_op{.name = "norm", .inputs = {"self"}, .infer = infer_norm, .cpu = norm_kernel,
                    .backward = norm_backward, .saves = Saves::both, // p = 1 exports as ReduceL1, p = inf as ReduceMax of Abs.
                    .onnx = "ReduceL2",
                    .reference = "norm", .autocast = AutocastPolicy::fp32};
const OpDef all_op{.name = "all", .inputs = {"self"}, .infer = infer_logical, .cpu = logical_kernel<true>,
                   .nondifferentiable = "boolean result", .onnx = "ReduceMin", .reference = "all"};
const OpDef any_op{.name = "any", .inputs = {"self"}, .infer = infer_logical, .cpu = logical_kernel<false>,
                   .nondifferentiable = "boolean result", .onnx = "ReduceMax", .reference = "any"};
const OpDef cumsum_op{.name = "cumsum", .inputs = {"self"}, .infer = infer_scan, .cpu = scan_kernel<false>,
                      .backward = cumsum_backward, .onnx = "CumSum", .reference = "cumsum",
                      .autocast = AutocastPolicy::fp32};
const OpDef cumprod_op{.name = "cumprod", .inputs = {"self"}, .infer = infer_scan, .cpu = scan_kernel<true>,
                       .backward = cumprod_backward, .saves = Saves::both,
                       .not_exportable = "ONNX has no cumulative product", .reference = "cumprod",
                       .autocast = AutocastPolicy::fp32};

namespace {
Tensor cumsum_ex(const Tensor& x, int64_t dim, bool exclusive, bool reverse) {
  return call(cumsum_op, {x}, scan_attrs(dim, exclusive, reverse))[0];
}
Tensor cumprod_ex(const Tensor& x, int64_t dim, bool exclusive, bool reverse) {
  return call(cumprod_op, {x}, scan_attrs(dim, exclusive, reverse))[0];
}
Attrs reduce_attrs(Shape dims, bool keepdim) { return {{"dim", std::move(dims)}, {"keepdim", keepdim}}; }
}  // namespace

Tensor sum(const Tensor& x, Shape dims, bool keepdim, std::optional<DType> dtype) {
  Attrs attrs = reduce_attrs(std::move(dims), keepdim);
  if (dtype) attrs.set("dtype", *dtype);
  return call(sum_op, {x}, std::move(attrs))[0];
}
Tensor mean(const Tensor& x, Shape dims, bool keepdim) { return call(mean_op, {x}, reduce_attrs(dims, keepdim))[0]; }
Tensor prod(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return call(prod_op, {x}, reduce_attrs(dim ? Shape{*dim} : Shape{}, keepdim))[0];
}
Tensor var(const Tensor& x, Shape dims, double correction, bool keepdim) {
  Attrs attrs = reduce_attrs(std::move(dims), keepdim);
  attrs.set("correction", correction);
  return call(var_op, {x}, std::move(attrs))[0];
}
Tensor std(const Tensor& x, Shape dims, double correction, bool keepdim) {
  Attrs attrs = reduce_attrs(std::move(dims), keepdim);
  attrs.set("correction", correction);
  return call(std_op, {x}, std::move(attrs))[0];
}
Tensor max(const Tensor& x) { return call(max_op, {x}, reduce_attrs({}, false))[0]; }
Tensor min(const Tensor& x) { return call(min_op, {x}, reduce_attrs({}, false))[0]; }
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) {
  TensorList r = call(max_dim_op, {x}, reduce_attrs({dim}, keepdim));
  return {r[0], r[1]};
}
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) {
  TensorList r = call(min_dim_op, {x}, reduce_attrs({dim}, keepdim));
  return {r[0], r[1]};
}
Tensor amax(const Tensor& x, Shape dims, bool keepdim) { return call(amax_op, {x}, reduce_attrs(dims, keepdim))[0]; }
Tensor amin(const Tensor& x, Shape dims, bool keepdim) { return call(amin_op, {x}, reduce_attrs(dims, keepdim))[0]; }
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return call(argmax_op, {x}, reduce_attrs(dim ? Shape{*dim} : Shape{}, keepdim))[0];
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return call(argmin_op, {x}, reduce_attrs(dim ? Shape{*dim} : Shape{}, keepdim))[0];
}
Tensor logsumexp(const Tensor& x, Shape dims, bool keepdim) {
  return call(logsumexp_op, {x}, reduce_attrs(std::move(dims), keepdim))[0];
}
Tensor norm(const Tensor& x, double p, Shape dims, bool keepdim) {
  Attrs attrs = reduce_attrs(std::move(dims), keepdim);
  attrs.set("p", p);
  return call(norm_op, {x}, std::move(attrs))[0];
}
Tensor all(const Tensor& x) { return call(all_op, {x}, reduce_attrs({}, false))[0]; }
Tensor all(const Tensor& x, int64_t dim, bool keepdim) { return call(all_op, {x}, reduce_attrs({dim}, keepdim))[0]; }
Tensor any(const Tensor& x) { return call(any_op, {x}, reduce_attrs({}, false))[0]; }
Tensor any(const Tensor& x, int64_t dim, bool keepdim) { return call(any_op, {x}, reduce_attrs({dim}, keepdim))[0]; }
Tensor cumsum(const Tensor& x, int64_t dim) { return cumsum_ex(x, dim, false, false); }
Tensor cumprod(const Tensor& x, int64_t dim) { return cumprod_ex(x, dim, false, false); }

static const OpDef* const kReduceOps[] = {&sum_op,     &mean_op,    &prod_op,   &var_op,       &std_op,
                                          &max_op,     &min_op,     &amax_op,   &amin_op,      &max_dim_op,
                                          &min_dim_op, &argmax_op,  &argmin_op, &logsumexp_op, &norm_op,
                                          &all_op,     &any_op,     &cumsum_op, &cumprod_op};
std::span<const OpDef* const> reduce_ops() { return kReduceOps; }

}  // namespace ember
