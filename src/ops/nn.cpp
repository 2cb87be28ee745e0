// nn functional: softmax family, normalization, dropout, losses (attention: attention.cpp).
// Fused OpDefs where the op is hot (softmax, log_softmax, layer_norm,
// batch_norm, cross_entropy_loss, and the backward ops of the first and last
// three) or checks data (nll_loss); everything else is a composite of
// primitives and inherits autograd, tracing and export from them. The f32
// row kernels are in cpu/simd/nn.cpp.
#include "ember/ops/nn.h"

#include <cmath>
#include <limits>

#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "ember/ops/linalg.h"
#include "ember/ops/reduce.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"
#include "cpu/simd/math.h"
#include "cpu/simd/nn.h"
#include "elementwise.h"
#include "registry.h"

namespace ember {
using namespace detail;

extern const OpDef nll_loss_op, nll_loss_backward_op, softmax_backward_data_op, log_softmax_backward_data_op,
    layer_norm_backward_op, cross_entropy_loss_op, cross_entropy_loss_backward_op;

namespace {

// A contiguous tensor seen as [outer, size, inner] around one dim.
struct DimLayout {
  int64_t outer = 1, size = 1, inner = 1;
};
DimLayout layout_around(const Shape& sizes, int64_t dim) {
  DimLayout l;
  for (int64_t d = 0; d < int64_t(sizes.size()); ++d) {
    if (d < dim) l.outer *= sizes[size_t(d)];
    else if (d == dim) l.size = sizes[size_t(d)];
    else l.inner *= sizes[size_t(d)];
  }
  return l;
}

// Rows per parallel task so that a task touches about kElementwiseGrain elements.
int64_t row_grain(int64_t row_elems) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(row_elems, 1)); }

// t as a contiguous tensor of `dtype`, without recording autograd (kernels only read it).
Tensor dense(const Tensor& t, DType dtype) {
  if (t.is_contiguous() && t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.sizes(), dtype);
  copy_into(out, t);
  return out;
}
std::vector<double> values_f64(const Tensor& t) {
  if (!t.defined()) return {};
  const Tensor d = dense(t, DType::f64);
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}
// An optional per-feature parameter as a contiguous buffer of the compute type.
template <class C>
Tensor param_buffer(const Tensor& t) {
  return t.defined() ? dense(t, dtype_v<C>) : Tensor();
}
template <class C>
const C* data_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<C>() : nullptr;
}

// bf16/f16 as float32, for backward formulas that span several ops: PyTorch's
// fused backward kernels compute in float and round once.
Tensor upcast(const Tensor& t) {
  return t.dtype() == DType::bf16 || t.dtype() == DType::f16 ? to_dtype(t, DType::f32) : t;
}

// ---- softmax, log_softmax ----

std::vector<TensorMeta> infer_softmax(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  wrap_dim(attrs.i("dim"), in[0].dim(), op.name);
  EMBER_CHECK(is_floating(in[0].dtype()), DTypeError, op.name, ": expected a floating point input, got ",
              in[0].dtype());
  return {meta_of(in[0])};
}

// One [n, inner] block: softmax (or log_softmax) over n for each inner position.
// The max is subtracted before exp so that large inputs do not overflow.
template <bool Log, class T, class C>
void softmax_block(const T* x, T* y, int64_t n, int64_t inner, C* buf, C* mx, C* total) {
  if (inner == 1) {  // the hot case (last dim): scalar reductions over a contiguous row
    C m = -std::numeric_limits<C>::infinity();
    for (int64_t k = 0; k < n; ++k) m = std::max(m, C(x[k]));
    C s = 0;
    for (int64_t k = 0; k < n; ++k) {
      buf[k] = std::exp(C(x[k]) - m);
      s += buf[k];
    }
    if constexpr (Log) {
      const C shift = m + std::log(s);
      for (int64_t k = 0; k < n; ++k) y[k] = T(C(x[k]) - shift);
    } else {
      const C r = C(1) / s;
      for (int64_t k = 0; k < n; ++k) y[k] = T(buf[k] * r);
    }
    return;
  }
  // Other dims: the contiguous inner positions are reduced side by side.
  std::fill(mx, mx + inner, -std::numeric_limits<C>::infinity());
  std::fill(total, total + inner, C(0));
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < inner; ++j) mx[j] = std::max(mx[j], C(x[k * inner + j]));
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < inner; ++j) buf[k * inner + j] = C(x[k * inner + j]) - mx[j];
  if constexpr (std::is_same_v<C, float>) {
    EMBER_SIMD(exp_f32)(buf, buf, n * inner);
  } else {
    for (int64_t i = 0; i < n * inner; ++i) buf[i] = std::exp(buf[i]);
  }
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < inner; ++j) total[j] += buf[k * inner + j];
  if constexpr (Log) {
    for (int64_t j = 0; j < inner; ++j) total[j] = mx[j] + std::log(total[j]);
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < inner; ++j) y[k * inner + j] = T(C(x[k * inner + j]) - total[j]);
  } else {
    for (int64_t j = 0; j < inner; ++j) total[j] = C(1) / total[j];
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < inner; ++j) y[k * inner + j] = T(buf[k * inner + j] * total[j]);
  }
}

template <bool Log>
void softmax_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor x = dense(in[0], in[0].dtype());
  if (x.numel() == 0) return;
  const DimLayout l = layout_around(x.sizes(), wrap_dim(attrs.i("dim"), x.dim(), "softmax"));
  if (x.dtype() == DType::f32 && l.inner == 1) {  // rows: the vectorized kernels
    const auto row = Log ? EMBER_SIMD(log_softmax_row_f32) : EMBER_SIMD(softmax_row_f32);
    const float* src = x.data_ptr<float>();
    float* dst = out[0].data_ptr<float>();
    parallel_for(0, l.outer, row_grain(l.size), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) row(src + r * l.size, dst + r * l.size, l.size);
    });
    return;
  }
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      using C = compute_t<T>;
      const T* src = x.data_ptr<T>();
      T* dst = out[0].data_ptr<T>();
      const int64_t block = l.size * l.inner;
      parallel_for(0, l.outer, row_grain(block), [&](int64_t b, int64_t e) {
        std::vector<C> buf(static_cast<size_t>(block)), mx(static_cast<size_t>(l.inner)),
            total(static_cast<size_t>(l.inner));
        for (int64_t o = b; o < e; ++o)
          softmax_block<Log>(src + o * block, dst + o * block, l.size, l.inner, buf.data(), mx.data(), total.data());
      });
    }
  });
}

// softmax_backward_data(grad_output, output) and log_softmax_backward_data:
// the gradient of the forward op given its output (PyTorch's
// _softmax_backward_data). Their own gradients are written in Ember ops.
std::vector<TensorMeta> infer_softmax_backward(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor &g = in[0], &y = in[1];
  wrap_dim(attrs.i("dim"), y.dim(), op.name);
  EMBER_CHECK(is_floating(y.dtype()) && g.dtype() == y.dtype(), DTypeError, op.name,
              ": expected grad_output and output of one floating point dtype, got ", g.dtype(), " and ", y.dtype());
  EMBER_CHECK(g.sizes() == y.sizes(), ShapeError, op.name, ": grad_output of shape ", shape_str(g.sizes()),
              " does not match output of shape ", shape_str(y.sizes()));
  return {meta_of(y)};
}

// One [n, inner] block, sums in double. Log: gx = g - exp(y) * sum(g);
// else gx = y * (g - sum(g * y)).
template <bool Log, class T>
void softmax_backward_block(const T* g, const T* y, T* gx, int64_t n, int64_t inner, double* total) {
  using C = compute_t<T>;
  std::fill(total, total + inner, 0.0);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < inner; ++j) {
      const int64_t i = k * inner + j;
      if constexpr (Log) total[j] += double(C(g[i]));
      else total[j] += double(C(g[i])) * double(C(y[i]));
    }
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < inner; ++j) {
      const int64_t i = k * inner + j;
      const C s = C(total[j]);
      if constexpr (Log) gx[i] = T(C(g[i]) - std::exp(C(y[i])) * s);
      else gx[i] = T(C(y[i]) * (C(g[i]) - s));
    }
}

template <bool Log>
void softmax_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor g = dense(in[0], in[0].dtype()), y = dense(in[1], in[1].dtype());
  if (y.numel() == 0) return;
  const DimLayout l = layout_around(y.sizes(), wrap_dim(attrs.i("dim"), y.dim(), "softmax_backward_data"));
  const int64_t block = l.size * l.inner;
  if (y.dtype() == DType::f32 && l.inner == 1) {
    const auto row = Log ? EMBER_SIMD(log_softmax_backward_row_f32) : EMBER_SIMD(softmax_backward_row_f32);
    const float *gp = g.data_ptr<float>(), *yp = y.data_ptr<float>();
    float* gx = out[0].data_ptr<float>();
    parallel_for(0, l.outer, row_grain(block), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) row(gp + o * block, yp + o * block, gx + o * block, block);
    });
    return;
  }
  visit_dtype(y.dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      const T *gp = g.data_ptr<T>(), *yp = y.data_ptr<T>();
      T* gx = out[0].data_ptr<T>();
      parallel_for(0, l.outer, row_grain(block), [&](int64_t b, int64_t e) {
        std::vector<double> total(static_cast<size_t>(l.inner));
        for (int64_t o = b; o < e; ++o)
          softmax_backward_block<Log>(gp + o * block, yp + o * block, gx + o * block, l.size, l.inner, total.data());
      });
    }
  });
}

// ---- normalization ----

// Note [Reduced-precision statistics]
// For bf16/f16 inputs PyTorch computes the batch statistics in float but
// stores the mean and 1/std it normalizes with (and saves for backward) in
// the input's dtype. Rounding them the same way keeps the results within a
// unit in the last place of PyTorch's instead of several.

// xhat = (x - mean) / sqrt(var + eps) over `dims` (biased variance) and the
// 1/std it uses, in Ember ops for backward formulas. x is already upcast; the
// statistics are rounded to `dtype`, the input's, as PyTorch saves them (see
// Note [Reduced-precision statistics]).
struct Normalized {
  Tensor xhat, rstd;
};
Normalized normalized(const Tensor& x, const Shape& dims, double eps, DType dtype) {
  const DType ct = x.dtype();
  auto stat = [&](const Tensor& t) { return ct != dtype ? to_dtype(to_dtype(t, dtype), ct) : t; };
  double n = 1;
  for (int64_t d : dims) n *= double(x.size(d));
  const Tensor mean = sum(x, dims, true) * (1.0 / n);
  const Tensor rstd = stat(rsqrt(sum((x - mean) * (x - mean), dims, true) * (1.0 / n) + eps));
  return {(x - stat(mean)) * rstd, rstd};
}

// Gradients of y = xhat * weight + bias (xhat as in `normalized`), written in
// Ember ops so that they are differentiable again. `weight` is already shaped
// to broadcast against x; weight/bias gradients are reduced to `param_view`
// and returned as `param_shape`.
TensorList normalize_backward(const BackwardContext& c, const Tensor& x_in, const Tensor& g_in, const Tensor& weight,
                              const Shape& dims, double eps, const Shape& param_view, size_t weight_index) {
  const DType dt = x_in.dtype();
  // The formula spans several ops: run it in float32 for bf16/f16, as PyTorch's
  // fused kernel does. PyTorch saves the statistics in the input's dtype, so
  // they are rounded to it here too (see Note [Reduced-precision statistics]).
  const Tensor x = upcast(x_in), g = upcast(g_in);
  const DType ct = x.dtype();
  double n = 1;
  for (int64_t d : dims) n *= double(x.size(d));
  const auto [xhat, rstd] = normalized(x, dims, eps, dt);
  TensorList grads(c.num_inputs());
  if (c.needs_grad(0)) {
    const Tensor gx = weight.defined() ? g * to_dtype(weight, ct) : g;
    const Tensor dx = rstd * (gx - sum(gx, dims, true) * (1.0 / n) - xhat * (sum(gx * xhat, dims, true) * (1.0 / n)));
    grads[0] = to_dtype(dx, dt);
  }
  const size_t wi = weight_index, bi = weight_index + 1;
  if (c.needs_grad(wi))
    grads[wi] = to_dtype(reshape(sum_to(g * xhat, param_view), c.input_meta(wi).sizes), c.input_meta(wi).dtype);
  if (c.needs_grad(bi))
    grads[bi] = to_dtype(reshape(sum_to(g, param_view), c.input_meta(bi).sizes), c.input_meta(bi).dtype);
  return grads;
}

void check_param(const OpDef& op, const Tensor& t, std::string_view name, const Shape& expected) {
  if (!t.defined()) return;
  EMBER_CHECK(is_floating(t.dtype()), DTypeError, op.name, ": ", name, " must be floating point, got ", t.dtype());
  EMBER_CHECK(t.sizes() == expected, ShapeError, op.name, ": ", name, " of shape ", shape_str(t.sizes()),
              " does not match the expected shape ", shape_str(expected));
}

// layer_norm(x, weight, bias): normalizes over the trailing normalized_shape dims.
std::vector<TensorMeta> infer_layer_norm(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in.first(1), op.name);
  const Tensor& x = in[0];
  const Shape& ns = attrs.ints("normalized_shape");
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, op.name, ": expected a floating point input, got ", x.dtype());
  const int64_t k = int64_t(ns.size());
  const bool matches = k >= 1 && k <= x.dim() && std::equal(ns.begin(), ns.end(), x.sizes().end() - k);
  EMBER_CHECK(matches, ShapeError, op.name, ": normalized_shape ", shape_str(ns),
              " does not match the last dims of input of shape ", shape_str(x.sizes()));
  check_param(op, in[1], "weight", ns);
  check_param(op, in[2], "bias", ns);
  return {meta_of(x)};
}

void layer_norm_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor x = dense(in[0], in[0].dtype());
  if (x.numel() == 0) return;
  const int64_t n = shape_numel(attrs.ints("normalized_shape"));
  const int64_t rows = x.numel() / n;
  const double eps = attrs.f("eps");
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      using C = compute_t<T>;
      const Tensor wt = param_buffer<C>(in[1]), bt = param_buffer<C>(in[2]);
      const C* w = data_or_null<C>(wt);
      const C* b = data_or_null<C>(bt);
      const T* src = x.data_ptr<T>();
      T* dst = out[0].data_ptr<T>();
      if constexpr (std::is_same_v<T, float>) {
        parallel_for(0, rows, row_grain(n), [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r)
            EMBER_SIMD(layer_norm_row_f32)(src + r * n, w, b, dst + r * n, n, float(eps));
        });
        return;
      }
      parallel_for(0, rows, row_grain(n), [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const T* xr = src + r * n;
          T* yr = dst + r * n;
          // Two passes in double: the variance of a long row stays accurate.
          double s = 0;
          for (int64_t j = 0; j < n; ++j) s += double(C(xr[j]));
          const double mean = s / double(n);
          double ss = 0;
          for (int64_t j = 0; j < n; ++j) {
            const double d = double(C(xr[j])) - mean;
            ss += d * d;
          }
          const C m = C(mean), rstd = C(1.0 / std::sqrt(ss / double(n) + eps));
          for (int64_t j = 0; j < n; ++j) {
            C v = (C(xr[j]) - m) * rstd;
            if (w) v *= w[j];
            if (b) v += b[j];
            yr[j] = T(v);
          }
        }
      });
    }
  });
}

TensorList layer_norm_gradients(const BackwardContext& c, const TensorList& g) {
  const TensorList d = call(layer_norm_backward_op, {g[0], c.input(0), c.input(1)}, c.attrs());
  TensorList grads(c.num_inputs());
  if (c.needs_grad(0)) grads[0] = d[0];
  if (c.needs_grad(1)) grads[1] = d[1];
  if (c.needs_grad(2)) grads[2] = to_dtype(d[2], c.input_meta(2).dtype);
  return grads;
}

// layer_norm_backward(grad_output, self, weight) -> (grad_input, grad_weight,
// grad_bias), PyTorch's native_layer_norm_backward. The statistics are
// recomputed from each row while it is in cache instead of being saved by the
// forward pass. grad_weight and grad_bias have the weight's dtype (self's
// without a weight).
std::vector<TensorMeta> infer_layer_norm_backward(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in.first(2), op.name);
  const Tensor &g = in[0], &x = in[1];
  EMBER_CHECK(g.sizes() == x.sizes(), ShapeError, op.name, ": grad_output of shape ", shape_str(g.sizes()),
              " does not match input of shape ", shape_str(x.sizes()));
  EMBER_CHECK(g.dtype() == x.dtype(), DTypeError, op.name, ": grad_output of dtype ", g.dtype(),
              " does not match input of dtype ", x.dtype());
  const Tensor forward_inputs[] = {x, in[2], Tensor()};
  infer_layer_norm(op, forward_inputs, attrs);
  const Shape& ns = attrs.ints("normalized_shape");
  const DType param_dtype = in[2].defined() ? in[2].dtype() : x.dtype();
  return {meta_of(x), {ns, param_dtype}, {ns, param_dtype}};
}

// One row of layer_norm_backward in the compute type C (the f32 rows use
// the vectorized kernel): dx, and g * xhat and g added to dw_sum and db_sum.
template <class T, class C>
void layer_norm_backward_row(const T* g, const T* x, const C* w, T* dx, C* dw_sum, C* db_sum, int64_t n, double eps) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) s += double(C(x[j]));
  const double mean = s / double(n);
  double ss = 0;
  for (int64_t j = 0; j < n; ++j) ss += (double(C(x[j])) - mean) * (double(C(x[j])) - mean);
  C m = C(mean), rstd = C(1.0 / std::sqrt(ss / double(n) + eps));
  if constexpr (!std::is_same_v<T, C>) {  // See Note [Reduced-precision statistics]
    m = C(T(m));
    rstd = C(T(rstd));
  }
  double sum_gx = 0, sum_gx_xhat = 0;
  for (int64_t j = 0; j < n; ++j) {
    const C xhat = (C(x[j]) - m) * rstd, gx = w ? C(g[j]) * w[j] : C(g[j]);
    sum_gx += double(gx);
    sum_gx_xhat += double(gx) * double(xhat);
    dw_sum[j] += C(g[j]) * xhat;
    db_sum[j] += C(g[j]);
  }
  const C mean_gx = C(sum_gx / double(n)), mean_gx_xhat = C(sum_gx_xhat / double(n));
  for (int64_t j = 0; j < n; ++j) {
    const C xhat = (C(x[j]) - m) * rstd, gx = w ? C(g[j]) * w[j] : C(g[j]);
    dx[j] = T(rstd * (gx - mean_gx - xhat * mean_gx_xhat));
  }
}

// grad_weight and grad_bias are sums over rows: each block of rows adds into
// its own partial sums, and the blocks are added in order afterwards, so the
// result depends neither on the thread count nor on timing.
constexpr int64_t kMaxRowBlocks = 64;
constexpr int64_t kMaxPartialSums = int64_t(1) << 22;  // elements, bounds the scratch memory

void layer_norm_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor g = dense(in[0], in[0].dtype()), x = dense(in[1], in[1].dtype());
  const Shape& ns = attrs.ints("normalized_shape");
  const int64_t n = shape_numel(ns);
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  const double eps = attrs.f("eps");
  const int64_t blocks =
      std::max<int64_t>(1, std::min({rows, kMaxRowBlocks, kMaxPartialSums / std::max<int64_t>(2 * n, 1)}));
  const int64_t rows_per_block = (rows + blocks - 1) / blocks;
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      using C = compute_t<T>;
      const Tensor wt = param_buffer<C>(in[2]);
      const C* w = data_or_null<C>(wt);
      const T *gp = g.data_ptr<T>(), *xp = x.data_ptr<T>();
      T* dx = out[0].data_ptr<T>();
      std::vector<C> partial(static_cast<size_t>(2 * blocks * n), C(0));  // per block: dw sums, then db sums
      const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(rows_per_block * n, 1));
      parallel_for(0, blocks, grain, [&](int64_t block_begin, int64_t block_end) {
        for (int64_t block = block_begin; block < block_end; ++block) {
          C* dw = partial.data() + 2 * block * n;
          C* db = dw + n;
          for (int64_t r = block * rows_per_block; r < std::min(rows, (block + 1) * rows_per_block); ++r) {
            if constexpr (std::is_same_v<T, float>)
              EMBER_SIMD(layer_norm_backward_row_f32)(gp + r * n, xp + r * n, w, dx + r * n, dw, db, n, float(eps));
            else
              layer_norm_backward_row(gp + r * n, xp + r * n, w, dx + r * n, dw, db, n, eps);
          }
        }
      });
      std::vector<double> dw(static_cast<size_t>(n)), db(static_cast<size_t>(n));
      for (int64_t block = 0; block < blocks; ++block)
        for (int64_t j = 0; j < n; ++j) {
          dw[size_t(j)] += double(partial[size_t(2 * block * n + j)]);
          db[size_t(j)] += double(partial[size_t(2 * block * n + n + j)]);
        }
      copy_into(out[1], tensor(dw, ns, DType::f64));
      copy_into(out[2], tensor(db, ns, DType::f64));
    }
  });
}

// The gradient of layer_norm_backward (PyTorch's layer_norm_double_backward).
// Per row, with gx = g * w and J v = rstd * (v - mean(v) - xhat * mean(v * xhat))
// (the Jacobian of xhat by x, which is symmetric), the op computes
// dx = J gx, dw = sum_rows(g * xhat), db = sum_rows(g). For incoming gradients
// (A, Bw, Bb) of those three:
//   d/dg = w * J A + Bw * xhat + Bb,   d/dw = sum_rows(g * J A),
//   d/dx = rstd^2 / N * (xhat * (3 P Q / N - <a, gx>) - Q a - P (gx - mean(gx))) + J (Bw * g)
// where a = A - mean(A), P = <a, xhat>, Q = <xhat, gx>, <.,.> sums over a row
// of N elements.
TensorList layer_norm_double_backward(const BackwardContext& c, const TensorList& gg) {
  const DType dt = c.input(1).dtype();
  const Shape& ns = c.attrs().ints("normalized_shape");
  const Tensor x = upcast(c.input(1)), g = upcast(c.input(0));
  const DType ct = x.dtype();
  const Tensor w = c.input(2).defined() ? to_dtype(c.input(2), ct) : Tensor();
  Shape dims;
  for (int64_t d = x.dim() - int64_t(ns.size()); d < x.dim(); ++d) dims.push_back(d);
  const double n = double(shape_numel(ns));
  // Not a structured binding: clang 14 cannot capture those in the lambdas below.
  const Normalized normalized_x = normalized(x, dims, c.attrs().f("eps"), dt);
  const Tensor& xhat = normalized_x.xhat;
  const Tensor& rstd = normalized_x.rstd;
  auto row_sum = [&](const Tensor& t) { return sum(t, dims, true); };
  auto row_mean = [&](const Tensor& t) { return sum(t, dims, true) * (1.0 / n); };
  auto jacobian_product = [&](const Tensor& v) { return rstd * (v - row_mean(v) - xhat * row_mean(v * xhat)); };
  const Tensor a_in = upcast(gg[0]), bw = to_dtype(gg[1], ct), bb = to_dtype(gg[2], ct);
  const Tensor gx = w.defined() ? g * w : g;
  const Tensor ja = jacobian_product(a_in);
  TensorList grads(c.num_inputs());
  if (c.needs_grad(0)) grads[0] = to_dtype((w.defined() ? ja * w : ja) + bw * xhat + bb, dt);
  if (c.needs_grad(1)) {
    const Tensor a = a_in - row_mean(a_in);
    const Tensor p = row_sum(a * xhat), q = row_sum(xhat * gx);
    const Tensor dx = rstd * rstd * (1.0 / n) *
                          (xhat * (p * q * (3.0 / n) - row_sum(a * gx)) - q * a - p * (gx - row_mean(gx))) +
                      jacobian_product(bw * g);
    grads[1] = to_dtype(dx, dt);
  }
  if (c.needs_grad(2)) grads[2] = to_dtype(sum_to(g * ja, ns), c.input_meta(2).dtype);
  return grads;
}

// batch_norm(x, weight, bias, running_mean, running_var): per channel (dim 1).
std::vector<TensorMeta> infer_batch_norm(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in.first(1), op.name);
  const Tensor& x = in[0];
  EMBER_CHECK(x.dim() >= 2, ShapeError, op.name, ": expected input of shape [N, C, *], got ",
              shape_str(x.sizes()));
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, op.name, ": expected a floating point input, got ", x.dtype());
  const Shape channels{x.size(1)};
  check_param(op, in[1], "weight", channels);
  check_param(op, in[2], "bias", channels);
  check_param(op, in[3], "running_mean", channels);
  check_param(op, in[4], "running_var", channels);
  if (attrs.b("training")) {
    EMBER_CHECK(x.numel() / std::max<int64_t>(x.size(1), 1) > 1, ValueError, op.name,
                ": expected more than 1 value per channel when training, got input of shape ", shape_str(x.sizes()));
  } else {
    EMBER_CHECK(in[3].defined() && in[4].defined(), ValueError, op.name,
                ": running_mean and running_var are required in evaluation mode");
  }
  return {meta_of(x)};
}

// Training mode also updates running_mean/running_var in place (momentum,
// unbiased variance), as PyTorch's kernel does, so a replayed graph does too.
void batch_norm_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor x = dense(in[0], in[0].dtype());
  const int64_t batch = x.size(0), channels = x.size(1);
  const int64_t spatial = channels == 0 || batch == 0 ? 0 : x.numel() / (batch * channels);
  const int64_t count = batch * spatial;
  const bool training = attrs.b("training");
  const double eps = attrs.f("eps");
  if (channels == 0) return;
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      using C = compute_t<T>;
      const T* src = x.data_ptr<T>();
      T* dst = out[0].data_ptr<T>();
      const size_t nc = size_t(channels);
      std::vector<double> mean(nc), var(nc);
      if (training) {
        parallel_for(0, channels, 1, [&](int64_t cb, int64_t ce) {
          for (int64_t ch = cb; ch < ce; ++ch) {
            double s = 0;
            for (int64_t b = 0; b < batch; ++b) {
              const T* p = src + (b * channels + ch) * spatial;
              for (int64_t j = 0; j < spatial; ++j) s += double(C(p[j]));
            }
            const double m = s / double(count);
            double ss = 0;
            for (int64_t b = 0; b < batch; ++b) {
              const T* p = src + (b * channels + ch) * spatial;
              for (int64_t j = 0; j < spatial; ++j) {
                const double d = double(C(p[j])) - m;
                ss += d * d;
              }
            }
            mean[size_t(ch)] = m;
            var[size_t(ch)] = ss / double(count);
          }
        });
        const double momentum = attrs.f("momentum");
        const double unbias = double(count) / double(count - 1);
        for (size_t k : {3u, 4u}) {
          if (!in[k].defined()) continue;
          Tensor running = in[k];
          const std::vector<double> old = values_f64(running);
          std::vector<double> updated(old.size());
          for (size_t ch = 0; ch < old.size(); ++ch)
            updated[ch] = (1 - momentum) * old[ch] + momentum * (k == 3 ? mean[ch] : var[ch] * unbias);
          copy_into(running, tensor(updated, {channels}, DType::f64));
          running.bump_version();
        }
      } else {
        mean = values_f64(in[3]);
        var = values_f64(in[4]);
      }
      const std::vector<double> w = values_f64(in[1]), b = values_f64(in[2]);
      // y = x * alpha + beta per channel, as PyTorch's batch_norm_cpu_transform_input.
      std::vector<C> alpha(nc), beta(nc);
      for (size_t ch = 0; ch < nc; ++ch) {
        double invstd = 1.0 / std::sqrt(var[ch] + eps);
        if constexpr (!std::is_same_v<T, C>) {  // See Note [Reduced-precision statistics]
          if (training) {
            mean[ch] = double(C(T(C(mean[ch]))));
            invstd = double(C(T(C(invstd))));
          }
        }
        const double a = (w.empty() ? 1.0 : w[ch]) * invstd;
        alpha[ch] = C(a);
        beta[ch] = C((b.empty() ? 0.0 : b[ch]) - mean[ch] * a);
      }
      parallel_for(0, batch * channels, row_grain(spatial), [&](int64_t rb, int64_t re) {
        for (int64_t r = rb; r < re; ++r) {
          const C a = alpha[size_t(r % channels)], s = beta[size_t(r % channels)];
          const T* p = src + r * spatial;
          T* q = dst + r * spatial;
          for (int64_t j = 0; j < spatial; ++j) q[j] = T(C(p[j]) * a + s);
        }
      });
    }
  });
}

TensorList batch_norm_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& x = c.input(0);
  Shape param_view{x.size(1)};  // [C, 1, ..., 1]: broadcasts against [N, C, *]
  for (int64_t d = 2; d < x.dim(); ++d) param_view.push_back(1);
  const Tensor w = c.input(1).defined() ? reshape(c.input(1), param_view) : Tensor();
  const double eps = c.attrs().f("eps");
  if (c.attrs().b("training")) {
    Shape dims{0};
    for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
    return normalize_backward(c, x, g[0], w, dims, eps, param_view, 1);
  }
  // Evaluation: an affine map of x with fixed statistics.
  const Tensor rstd = rsqrt(reshape(c.input(4), param_view) + eps);
  TensorList grads(c.num_inputs());
  if (c.needs_grad(0)) grads[0] = to_dtype(w.defined() ? g[0] * (w * rstd) : g[0] * rstd, x.dtype());
  if (c.needs_grad(1)) {
    const Tensor xhat = (x - reshape(c.input(3), param_view)) * rstd;
    grads[1] = to_dtype(reshape(sum_to(g[0] * xhat, param_view), {x.size(1)}), c.input_meta(1).dtype);
  }
  if (c.needs_grad(2)) grads[2] = to_dtype(reshape(sum_to(g[0], param_view), {x.size(1)}), c.input_meta(2).dtype);
  return grads;
}

// ---- nll_loss ----

int64_t reduction_code(Reduction r) { return int64_t(r); }

// Shape of class-index targets for `input`: input's shape without the class dim.
Shape class_target_shape(const Shape& input) {
  Shape s = input;
  if (s.size() == 1) return {};
  s.erase(s.begin() + 1);
  return s;
}
int64_t class_count(const Shape& input) { return input.size() == 1 ? input[0] : input[1]; }

void check_class_target(std::string_view op, const Shape& input, const Tensor& target) {
  EMBER_CHECK(!input.empty(), ShapeError, op, ": expected input of shape [C], [N, C] or [N, C, d1, ...], got ",
              shape_str(input));
  EMBER_CHECK(target.dtype() == DType::i64, DTypeError, op,
              ": expected class-index target of dtype int64, got ", target.dtype());
  const Shape expected = class_target_shape(input);
  EMBER_CHECK(target.sizes() == expected, ShapeError, op, ": target of shape ", shape_str(target.sizes()),
              " does not match input of shape ", shape_str(input), " (expected target shape ",
              shape_str(expected), ")");
}

// nll_loss(log_probs, target, weight) -> (loss, total_weight). total_weight is
// the sum of the weights of the non-ignored targets (the mean's divisor).
std::vector<TensorMeta> infer_nll_loss(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in.first(2), op.name);
  EMBER_CHECK(is_floating(in[0].dtype()), DTypeError, op.name, ": expected floating point log-probabilities, got ",
              in[0].dtype());
  check_class_target(op.name, in[0].sizes(), in[1]);
  check_param(op, in[2], "weight", {class_count(in[0].sizes())});
  const bool none = Reduction(attrs.i("reduction")) == Reduction::none;
  return {{none ? in[1].sizes() : Shape{}, in[0].dtype()}, {{}, in[0].dtype()}};
}

// Data check, serial and before any write: every target is a class or ignore_index.
void check_targets(std::string_view op, const int64_t* t, int64_t count, int64_t classes, int64_t ignore) {
  for (int64_t i = 0; i < count; ++i)
    EMBER_CHECK(t[i] == ignore || (t[i] >= 0 && t[i] < classes), IndexError, op, ": target ", t[i],
                " is out of bounds for ", classes, " classes");
}

// The [batch, classes, spatial] view of nll_loss's input.
struct ClassLayout {
  int64_t batch, classes, spatial;
};
ClassLayout class_layout(const Shape& input) {
  if (input.size() == 1) return {1, input[0], 1};
  const int64_t spatial = shape_numel(std::span(input).subspan(2));
  return {input[0], input[1], spatial};
}

void nll_loss_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor x = dense(in[0], in[0].dtype()), target = dense(in[1], DType::i64);
  const ClassLayout l = class_layout(x.sizes());
  const int64_t count = l.batch * l.spatial, ignore = attrs.i("ignore_index");
  const int64_t* t = target.data_ptr<int64_t>();
  check_targets("nll_loss", t, count, l.classes, ignore);
  const std::vector<double> w = values_f64(in[2]);
  const Reduction reduction = Reduction(attrs.i("reduction"));
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      const T* p = x.data_ptr<T>();
      T* loss = out[0].data_ptr<T>();
      double total = 0, total_weight = 0;
      for (int64_t i = 0; i < count; ++i) {
        const int64_t b = i / l.spatial, s = i % l.spatial;
        double v = 0;
        if (t[i] != ignore) {
          const double wi = w.empty() ? 1.0 : w[size_t(t[i])];
          v = -wi * double(compute_t<T>(p[(b * l.classes + t[i]) * l.spatial + s]));
          total_weight += wi;
        }
        if (reduction == Reduction::none) loss[i] = T(compute_t<T>(v));
        total += v;
      }
      if (reduction == Reduction::mean) loss[0] = T(compute_t<T>(total / total_weight));
      else if (reduction == Reduction::sum) loss[0] = T(compute_t<T>(total));
      *out[1].data_ptr<T>() = T(compute_t<T>(total_weight));
    }
  });
}

// nll_loss_backward(grad_output, target, weight, total_weight) -> grad of the
// log-probabilities. Linear in grad_output, so its own gradient is nll_loss.
std::vector<TensorMeta> infer_nll_loss_backward(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in.first(2), op.name);
  const Shape& input_shape = attrs.ints("input_shape");
  EMBER_CHECK(is_floating(in[0].dtype()), DTypeError, op.name, ": expected a floating point grad_output, got ",
              in[0].dtype());
  check_class_target(op.name, input_shape, in[1]);
  check_param(op, in[2], "weight", {class_count(input_shape)});
  const bool none = Reduction(attrs.i("reduction")) == Reduction::none;
  EMBER_CHECK(none || (in[3].defined() && in[3].numel() == 1), ValueError, op.name,
              ": total_weight is required for reduction mean and sum");
  const Shape expected = none ? class_target_shape(input_shape) : Shape{};
  EMBER_CHECK(in[0].sizes() == expected, ShapeError, op.name, ": grad_output of shape ", shape_str(in[0].sizes()),
              " does not match the loss shape ", shape_str(expected));
  return {{input_shape, in[0].dtype()}};
}

void nll_loss_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor g = dense(in[0], in[0].dtype()), target = dense(in[1], DType::i64);
  const ClassLayout l = class_layout(attrs.ints("input_shape"));
  const int64_t count = l.batch * l.spatial, ignore = attrs.i("ignore_index");
  const int64_t* t = target.data_ptr<int64_t>();
  check_targets("nll_loss_backward", t, count, l.classes, ignore);
  const std::vector<double> w = values_f64(in[2]);
  const Reduction reduction = Reduction(attrs.i("reduction"));
  const double divisor = reduction == Reduction::mean ? values_f64(in[3])[0] : 1.0;
  visit_dtype(out[0].dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      const T* gp = g.data_ptr<T>();
      T* gx = out[0].data_ptr<T>();
      std::fill(gx, gx + out[0].numel(), T(0));
      for (int64_t i = 0; i < count; ++i) {
        if (t[i] == ignore) continue;
        const int64_t b = i / l.spatial, s = i % l.spatial;
        const double wi = w.empty() ? 1.0 : w[size_t(t[i])];
        const double gi = double(compute_t<T>(gp[reduction == Reduction::none ? i : 0]));
        gx[(b * l.classes + t[i]) * l.spatial + s] = T(compute_t<T>(-wi * gi / divisor));
      }
    }
  });
}

// ---- cross_entropy_loss ----

// cross_entropy_loss(self, target, weight) -> (loss, total_weight, logsumexp):
// the cross-entropy of logits and class-index targets, log_softmax and the
// weighted, label-smoothed NLL in one pass over each sample's logits. With
// q_c = (1 - smoothing) w_t [c == t] + smoothing / C * w_c (all zero for an
// ignored target) a sample's loss is -sum_c q_c log_softmax(x)_c; mean divides
// the sum by total_weight, the sum of w_t over the other targets, as nll_loss.
// logsumexp (per sample, in the compute dtype; 0 where ignored) is saved for
// the backward op, which then needs one pass of exp instead of three.
std::vector<TensorMeta> infer_cross_entropy_loss(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in.first(2), op.name);
  EMBER_CHECK(is_floating(in[0].dtype()), DTypeError, op.name, ": expected floating point logits, got ", in[0].dtype());
  check_class_target(op.name, in[0].sizes(), in[1]);
  check_param(op, in[2], "weight", {class_count(in[0].sizes())});
  const double smoothing = attrs.f("label_smoothing");
  EMBER_CHECK(smoothing >= 0 && smoothing <= 1, ValueError, op.name, ": label_smoothing must be in [0, 1], got ",
              smoothing);
  const bool none = Reduction(attrs.i("reduction")) == Reduction::none;
  const DType lse_dtype = in[0].dtype() == DType::f64 ? DType::f64 : DType::f32;
  return {{none ? in[1].sizes() : Shape{}, in[0].dtype()},
          {{}, in[0].dtype()},
          {class_target_shape(in[0].sizes()), lse_dtype}};
}

// The per-sample view of cross_entropy_loss's arguments.
struct CrossEntropyRows {
  ClassLayout layout;
  const int64_t* target;
  int64_t count, ignore;
  double smoothing;
  std::vector<double> weight;  // empty: every class weighs 1
  double weight_sum;           // sum of the class weights

  CrossEntropyRows(const Tensor& x, const Tensor& target_i64, const Tensor& class_weight, const Attrs& attrs,
                   std::string_view op)
      : layout(class_layout(x.sizes())),
        target(target_i64.data_ptr<int64_t>()),
        count(layout.batch * layout.spatial),
        ignore(attrs.i("ignore_index")),
        smoothing(attrs.f("label_smoothing")),
        weight(values_f64(class_weight)) {
    check_targets(op, target, count, layout.classes, ignore);
    weight_sum = weight.empty() ? double(layout.classes) : 0.0;
    for (double w : weight) weight_sum += w;
  }
  // Offset of sample i's first logit; its logits are layout.spatial apart.
  int64_t offset(int64_t i) const {
    return (i / layout.spatial) * layout.classes * layout.spatial + i % layout.spatial;
  }
  double class_weight(int64_t c) const { return weight.empty() ? 1.0 : weight[size_t(c)]; }
};

// log(sum_c exp(x_c)) of `classes` values `stride` apart, in double.
template <class T>
double logsumexp_strided(const T* x, int64_t classes, int64_t stride) {
  using C = compute_t<T>;
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < classes; ++c) m = std::max(m, double(C(x[c * stride])));
  double s = 0;
  for (int64_t c = 0; c < classes; ++c) s += std::exp(double(C(x[c * stride])) - m);
  return m + std::log(s);
}

void cross_entropy_loss_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor x = dense(in[0], in[0].dtype()), target = dense(in[1], DType::i64);
  const CrossEntropyRows rows(x, target, in[2], attrs, "cross_entropy_loss");
  const ClassLayout& l = rows.layout;
  const Reduction reduction = Reduction(attrs.i("reduction"));
  double total_weight = 0;
  for (int64_t i = 0; i < rows.count; ++i)
    if (rows.target[i] != rows.ignore) total_weight += rows.class_weight(rows.target[i]);
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      using C = compute_t<T>;
      const Tensor weight_f32 = param_buffer<float>(in[2]);
      const float* wf = data_or_null<float>(weight_f32);
      const T* logits = x.data_ptr<T>();
      C* lse_out = out[2].data_ptr<C>();
      std::vector<double> losses(static_cast<size_t>(rows.count));
      parallel_for(0, rows.count, row_grain(l.classes), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const int64_t t = rows.target[i];
          lse_out[i] = C(0);
          if (t == rows.ignore) continue;
          const T* row = logits + rows.offset(i);
          // log(sum_c exp(x_c)), and sum_c w_c log_softmax_c when smoothing
          double lse = 0, weighted_log_probs = 0;
          bool vectorized = false;
          if constexpr (std::is_same_v<T, float>) {
            if (l.spatial == 1) {
              const float lse_f32 = EMBER_SIMD(logsumexp_row_f32)(row, l.classes);
              lse = lse_f32;
              if (rows.smoothing > 0)
                weighted_log_probs = EMBER_SIMD(shifted_weighted_sum_row_f32)(row, lse_f32, wf, l.classes);
              vectorized = true;
            }
          }
          if (!vectorized) {
            lse = logsumexp_strided(row, l.classes, l.spatial);
            if (rows.smoothing > 0)
              for (int64_t c = 0; c < l.classes; ++c)
                weighted_log_probs += rows.class_weight(c) * (double(C(row[c * l.spatial])) - lse);
          }
          lse_out[i] = C(lse);
          const double nll = -rows.class_weight(t) * (double(C(row[t * l.spatial])) - lse);
          losses[size_t(i)] =
              (1 - rows.smoothing) * nll - rows.smoothing / double(l.classes) * weighted_log_probs;
        }
      });
      T* loss = out[0].data_ptr<T>();
      double total = 0;
      for (int64_t i = 0; i < rows.count; ++i) {
        if (reduction == Reduction::none) loss[i] = T(C(losses[size_t(i)]));
        total += losses[size_t(i)];
      }
      if (reduction == Reduction::mean) loss[0] = T(C(total / total_weight));
      else if (reduction == Reduction::sum) loss[0] = T(C(total));
      *out[1].data_ptr<T>() = T(C(total_weight));
    }
  });
}

// cross_entropy_loss_backward(grad_output, self, target, weight, total_weight,
// logsumexp) -> grad of self: s * (softmax(x) * sum_c q_c - q) per sample,
// where s is the sample's grad_output (over total_weight for mean), q as above
// and softmax(x) = exp(x - logsumexp).
std::vector<TensorMeta> infer_cross_entropy_loss_backward(const OpDef& op, std::span<const Tensor> in,
                                                          const Attrs& attrs) {
  check_defined(in.first(3), op.name);
  const Tensor &g = in[0], &x = in[1];
  const Tensor forward_inputs[] = {x, in[2], in[3]};
  infer_cross_entropy_loss(op, forward_inputs, attrs);
  EMBER_CHECK(g.dtype() == x.dtype(), DTypeError, op.name, ": grad_output of dtype ", g.dtype(),
              " does not match input of dtype ", x.dtype());
  const Reduction reduction = Reduction(attrs.i("reduction"));
  EMBER_CHECK(reduction != Reduction::mean || (in[4].defined() && in[4].numel() == 1), ValueError, op.name,
              ": total_weight is required for reduction mean");
  const Shape expected = reduction == Reduction::none ? class_target_shape(x.sizes()) : Shape{};
  EMBER_CHECK(g.sizes() == expected, ShapeError, op.name, ": grad_output of shape ", shape_str(g.sizes()),
              " does not match the loss shape ", shape_str(expected));
  const DType lse_dtype = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  EMBER_CHECK(in[5].defined() && in[5].sizes() == class_target_shape(x.sizes()) && in[5].dtype() == lse_dtype,
              ShapeError, op.name, ": expected the forward's logsumexp of shape ",
              shape_str(class_target_shape(x.sizes())), " and dtype ", lse_dtype);
  return {meta_of(x)};
}

void cross_entropy_loss_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor g = dense(in[0], in[0].dtype()), x = dense(in[1], in[1].dtype()), target = dense(in[2], DType::i64);
  const CrossEntropyRows rows(x, target, in[3], attrs, "cross_entropy_loss_backward");
  const ClassLayout& l = rows.layout;
  const Reduction reduction = Reduction(attrs.i("reduction"));
  const double divisor = reduction == Reduction::mean ? values_f64(in[4])[0] : 1.0;
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      using C = compute_t<T>;
      const Tensor weight_f32 = param_buffer<float>(in[3]);
      const float* wf = data_or_null<float>(weight_f32);
      const T *gp = g.data_ptr<T>(), *logits = x.data_ptr<T>();
      const Tensor lse_dense = dense(in[5], in[5].dtype());
      const C* lse = lse_dense.data_ptr<C>();
      T* gx = out[0].data_ptr<T>();
      parallel_for(0, rows.count, row_grain(l.classes), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const int64_t t = rows.target[i], offset = rows.offset(i);
          if (t == rows.ignore) {
            for (int64_t c = 0; c < l.classes; ++c) gx[offset + c * l.spatial] = T(0);
            continue;
          }
          const double s = double(C(gp[reduction == Reduction::none ? i : 0])) / divisor;
          const double target_part = (1 - rows.smoothing) * rows.class_weight(t) * s;
          const double uniform_part = rows.smoothing / double(l.classes) * s;  // times w_c
          const double prob_scale = target_part + uniform_part * rows.weight_sum;
          const T* row = logits + offset;
          if constexpr (std::is_same_v<T, float>) {
            if (l.spatial == 1) {
              T* gx_row = gx + offset;
              EMBER_SIMD(cross_entropy_backward_row_f32)(row, lse[i], float(prob_scale), wf, float(uniform_part),
                                                         gx_row, l.classes);
              gx_row[t] -= float(target_part);
              continue;
            }
          }
          for (int64_t c = 0; c < l.classes; ++c) {
            const double p = std::exp(double(C(row[c * l.spatial])) - double(lse[i]));
            const double v = p * prob_scale - uniform_part * rows.class_weight(c) - (c == t ? target_part : 0.0);
            gx[offset + c * l.spatial] = T(C(v));
          }
        }
      });
    }
  });
}

// ---- dropout ----

// 0 with probability p, else 1 / (1 - p); element i depends only on (seed, offset, i).
void fill_dropout_mask(Tensor& mask, double p, Generator& g) {
  const uint64_t seed = g.seed(), first = g.reserve(uint64_t(mask.numel()));
  const double scale = 1.0 / (1.0 - p);
  visit_dtype(mask.dtype(), [&]<class T>() {
    if constexpr (is_floating_v<T>) {
      T* m = mask.data_ptr<T>();
      const T keep = T(compute_t<T>(scale)), drop = T(0);
      parallel_for(0, mask.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) m[i] = random_uniform_f64(seed, first, uint64_t(i)) < p ? drop : keep;
      });
    }
  });
}

std::vector<TensorMeta> infer_dropout_mask(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  const double p = attrs.f("p");
  EMBER_CHECK(p >= 0 && p < 1, ValueError, op.name, ": probability has to be in [0, 1), but got ", p);
  EMBER_CHECK(is_floating(in[0].dtype()), DTypeError, op.name, ": expected a floating point input, got ",
              in[0].dtype());
  return {{in[0].sizes(), in[0].dtype(), in[0].device()}};
}

// Draws from the default generator when it runs, so a traced graph draws a
// fresh mask at every run, in the same order eager code would.
void dropout_mask_kernel(std::span<const Tensor>, std::span<Tensor> out, const Attrs& attrs) {
  fill_dropout_mask(out[0], attrs.f("p"), default_generator());
}

Tensor reduce_loss(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return loss;
    case Reduction::sum: return sum(loss);
    case Reduction::mean: return mean(loss);
  }
  EMBER_INTERNAL_ASSERT(false, "unknown reduction");
}

// weight [C] reshaped to broadcast along the class dim of an input of rank `ndim`.
Tensor class_weight_view(const Tensor& weight, int64_t ndim, int64_t class_dim) {
  Shape s(size_t(ndim), 1);
  s[size_t(class_dim)] = weight.numel();
  return reshape(weight, s);
}

// The cross-entropy of class-index targets given log-probabilities, in Ember
// ops: what cross_entropy_loss fuses, kept for its double backward.
Tensor cross_entropy_of_log_probs(const Tensor& logp, const Tensor& target, const Tensor& weight, const Attrs& attrs) {
  const int64_t class_dim = logp.dim() == 1 ? 0 : 1, ignore = attrs.i("ignore_index");
  const double smoothing = attrs.f("label_smoothing");
  const TensorList nll =
      call(nll_loss_op, {logp, target, weight}, {{"reduction", attrs.i("reduction")}, {"ignore_index", ignore}});
  if (smoothing == 0) return nll[0];
  // Label smoothing spreads `smoothing` uniformly over the classes (PyTorch's
  // cross_entropy_loss_label_smoothing); ignored targets contribute nothing.
  const Tensor w = weight.defined() ? class_weight_view(weight, logp.dim(), class_dim) : Tensor();
  const Tensor smooth = masked_fill(-sum(w.defined() ? logp * w : logp, {class_dim}), eq(target, ignore), 0);
  Tensor ret;
  switch (Reduction(attrs.i("reduction"))) {
    case Reduction::none: ret = smooth; break;
    case Reduction::sum: ret = sum(smooth); break;
    case Reduction::mean: ret = sum(smooth) / nll[1]; break;  // divided by the total weight, as the nll term
  }
  return nll[0] * (1 - smoothing) + ret * (smoothing / double(logp.size(class_dim)));
}

// The gradient of cross_entropy_loss_backward, whose output is
// G = s * (p * sum_c q_c - q) with p = softmax(x) (see cross_entropy_loss).
// For an incoming gradient H of G and z = H - sum_c(H * p):
//   d/dgrad_output: G is linear in it with the coefficients -q the loss applies
//     to log-probabilities, so it is the cross-entropy formula applied to z;
//   d/dx = sum_c(s * q_c) * p * z (softmax's backward, scaled).
TensorList cross_entropy_loss_double_backward(const BackwardContext& c, const TensorList& gg) {
  const Tensor &g = c.input(0), &x = c.input(1), &target = c.input(2), &weight = c.input(3);
  const Attrs& attrs = c.attrs();
  const int64_t class_dim = x.dim() == 1 ? 0 : 1;
  const Tensor p = softmax(x, class_dim);
  const Tensor z = gg[0] - sum(gg[0] * p, {class_dim}, true);
  TensorList grads(c.num_inputs());
  if (c.needs_grad(0)) grads[0] = cross_entropy_of_log_probs(z, target, weight, attrs);
  if (c.needs_grad(1)) {
    // s * q with x's shape: nll_loss_backward gives -s w_t at each target.
    const double smoothing = attrs.f("label_smoothing");
    const Attrs nll_attrs{{"reduction", attrs.i("reduction")},
                          {"ignore_index", attrs.i("ignore_index")},
                          {"input_shape", x.sizes()}};
    Tensor sq = call(nll_loss_backward_op, {g, target, weight, c.input(4)}, nll_attrs)[0] * -(1 - smoothing);
    if (smoothing > 0) {
      auto per_sample = [&](const Tensor& t) { return x.dim() > 1 ? unsqueeze(t, class_dim) : t; };
      const Reduction reduction = Reduction(attrs.i("reduction"));
      const Tensor s = reduction == Reduction::none ? per_sample(g)
                       : reduction == Reduction::mean ? g / c.input(4)
                                                      : g;
      Tensor uniform = s * per_sample(to_dtype(ne(target, attrs.i("ignore_index")), x.dtype())) *
                       (smoothing / double(x.size(class_dim)));
      if (weight.defined()) uniform = uniform * class_weight_view(to_dtype(weight, x.dtype()), x.dim(), class_dim);
      sq = sq + uniform;
    }
    grads[1] = sum(sq, {class_dim}, true) * p * z;
  }
  return grads;
}

}  // namespace

const OpDef softmax_op{
    .name = "softmax", .inputs = {"self"}, .infer = infer_softmax, .cpu = softmax_kernel<false>,
    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
      return {call(softmax_backward_data_op, {g[0], c.output(0)}, c.attrs())[0]};
    },
    .saves = Saves::outputs, .onnx = "Softmax", .reference = "softmax", .autocast = AutocastPolicy::fp32};
const OpDef log_softmax_op{
    .name = "log_softmax", .inputs = {"self"}, .infer = infer_softmax, .cpu = softmax_kernel<true>,
    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
      return {call(log_softmax_backward_data_op, {g[0], c.output(0)}, c.attrs())[0]};
    },
    .saves = Saves::outputs, .onnx = "LogSoftmax", .reference = "log_softmax", .autocast = AutocastPolicy::fp32};
// gx = y * (g - sum(g * y)) is linear in g with a symmetric map, so its
// gradient by g is the op itself; by y: gg * (g - sum(g * y)) - g * sum(gg * y).
const OpDef softmax_backward_data_op{
    .name = "softmax_backward_data", .inputs = {"grad_output", "output"}, .infer = infer_softmax_backward,
    .cpu = softmax_backward_kernel<false>,
    .backward = [](const BackwardContext& c, const TensorList& gg) -> TensorList {
      const int64_t dim = c.attrs().i("dim");
      TensorList grads(2);
      if (c.needs_grad(0)) grads[0] = call(softmax_backward_data_op, {gg[0], c.input(1)}, c.attrs())[0];
      if (c.needs_grad(1)) {
        const Tensor g = upcast(c.input(0)), y = upcast(c.input(1)), a = upcast(gg[0]);
        grads[1] = to_dtype(a * (g - sum(g * y, {dim}, true)) - g * sum(a * y, {dim}, true), c.input(1).dtype());
      }
      return grads;
    },
    .saves = Saves::inputs, .not_exportable = "gradient of softmax; exported graphs are inference graphs",
    .reference = "softmax_backward_data"};
// gx = g - exp(y) * sum(g): by g, gg - sum(gg * exp(y)); by y, -gg * exp(y) * sum(g).
const OpDef log_softmax_backward_data_op{
    .name = "log_softmax_backward_data", .inputs = {"grad_output", "output"}, .infer = infer_softmax_backward,
    .cpu = softmax_backward_kernel<true>,
    .backward = [](const BackwardContext& c, const TensorList& gg) -> TensorList {
      const int64_t dim = c.attrs().i("dim");
      const DType dt = c.input(1).dtype();
      const Tensor a = upcast(gg[0]), p = exp(upcast(c.input(1)));
      TensorList grads(2);
      if (c.needs_grad(0)) grads[0] = to_dtype(a - sum(a * p, {dim}, true), dt);
      if (c.needs_grad(1)) grads[1] = to_dtype(-(a * p) * sum(upcast(c.input(0)), {dim}, true), dt);
      return grads;
    },
    .saves = Saves::inputs, .not_exportable = "gradient of log_softmax; exported graphs are inference graphs",
    .reference = "log_softmax_backward_data"};
const OpDef layer_norm_op{.name = "layer_norm", .inputs = {"self", "weight", "bias"}, .infer = infer_layer_norm,
                          .cpu = layer_norm_kernel, .backward = layer_norm_gradients, .saves = Saves::inputs,
                          .onnx = "LayerNormalization", .reference = "layer_norm", .autocast = AutocastPolicy::fp32};
const OpDef layer_norm_backward_op{
    .name = "layer_norm_backward", .inputs = {"grad_output", "self", "weight"}, .infer = infer_layer_norm_backward,
    .cpu = layer_norm_backward_kernel, .backward = layer_norm_double_backward, .saves = Saves::inputs,
    .not_exportable = "gradient of layer_norm; exported graphs are inference graphs",
    .reference = "layer_norm_backward"};
const OpDef batch_norm_op{.name = "batch_norm",
                          .inputs = {"self", "weight", "bias", "running_mean", "running_var"},
                          .infer = infer_batch_norm, .cpu = batch_norm_kernel, .backward = batch_norm_backward,
                          .saves = Saves::inputs, .onnx = "BatchNormalization", .reference = "batch_norm",
                          .integer_inputs = {3, 4},
                          .autocast = AutocastPolicy::fp32};  // running statistics are buffers, never differentiated
const OpDef nll_loss_op{
    .name = "nll_loss", .inputs = {"self", "target", "weight"}, .infer = infer_nll_loss, .cpu = nll_loss_kernel,
    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
      if (!c.needs_grad(0)) return {};
      Attrs attrs = c.attrs();
      attrs.set("input_shape", c.input_meta(0).sizes);
      // total_weight does not depend on the input: its gradient (g[1]) is dropped.
      return {call(nll_loss_backward_op, {g[0], c.input(1), c.input(2), c.output(1)}, std::move(attrs))[0]};
    },
    .saves = Saves::both, .onnx = "NegativeLogLikelihoodLoss", .reference = "nll_loss",
    .integer_inputs = {1, 2}, .autocast = AutocastPolicy::fp32};  // the class weight is a constant, as in PyTorch
const OpDef nll_loss_backward_op{
    .name = "nll_loss_backward", .inputs = {"grad_output", "target", "weight", "total_weight"},
    .infer = infer_nll_loss_backward, .cpu = nll_loss_backward_kernel,
    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
      Attrs attrs = c.attrs();
      return {call(nll_loss_op, {g[0], c.input(1), c.input(2)}, std::move(attrs))[0]};
    },
    .saves = Saves::inputs, .not_exportable = "gradient of nll_loss; exported graphs are inference graphs",
    .reference = "nll_loss_backward", .integer_inputs = {1, 2, 3}};
const OpDef cross_entropy_loss_op{
    .name = "cross_entropy_loss", .inputs = {"self", "target", "weight"}, .infer = infer_cross_entropy_loss,
    .cpu = cross_entropy_loss_kernel,
    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
      if (!c.needs_grad(0)) return {};
      // total_weight and logsumexp are side results for the backward op, not
      // differentiated (as nll_loss's total_weight): g[1] and g[2] are dropped.
      return {call(cross_entropy_loss_backward_op,
                   {g[0], c.input(0), c.input(1), c.input(2), c.output(1), c.output(2)}, c.attrs())[0]};
    },
    .saves = Saves::both, .not_exportable = "no single ONNX op; export log_softmax and nll_loss",
    .reference = "cross_entropy", .integer_inputs = {1, 2},  // the class weight is a constant, as in PyTorch
    .autocast = AutocastPolicy::fp32};
const OpDef cross_entropy_loss_backward_op{
    .name = "cross_entropy_loss_backward",
    .inputs = {"grad_output", "self", "target", "weight", "total_weight", "logsumexp"},
    .infer = infer_cross_entropy_loss_backward, .cpu = cross_entropy_loss_backward_kernel,
    .backward = cross_entropy_loss_double_backward, .saves = Saves::inputs,
    .not_exportable = "gradient of cross_entropy; exported graphs are inference graphs",
    .reference = "cross_entropy_loss_backward", .integer_inputs = {2, 3, 4, 5}};

Tensor softmax(const Tensor& x, int64_t dim) { return call(softmax_op, {x}, {{"dim", dim}})[0]; }
Tensor log_softmax(const Tensor& x, int64_t dim) { return call(log_softmax_op, {x}, {{"dim", dim}})[0]; }

Tensor layer_norm(const Tensor& x, Shape normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
  return call(layer_norm_op, {x, weight, bias}, {{"normalized_shape", std::move(normalized_shape)}, {"eps", eps}})[0];
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  return call(batch_norm_op, {x, weight, bias, running_mean, running_var},
              {{"training", training}, {"momentum", momentum}, {"eps", eps}})[0];
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  EMBER_CHECK(x.dim() >= 2, ShapeError, "group_norm: expected input of shape [N, C, *], got ", shape_str(x.sizes()));
  const int64_t channels = x.size(1);
  EMBER_CHECK(num_groups > 0 && channels % num_groups == 0, ValueError, "group_norm: ", channels,
              " channels are not divisible into ", num_groups, " groups");
  for (const Tensor* p : {&weight, &bias})
    EMBER_CHECK(!p->defined() || p->sizes() == Shape{channels}, ShapeError, "group_norm: ",
                p == &weight ? "weight" : "bias", " of shape ", shape_str(p->sizes()), " does not match ",
                channels, " channels");
  // Each (sample, group) is one layer_norm row; the affine part is per channel.
  const int64_t group_size = x.numel() / std::max<int64_t>(x.size(0) * num_groups, 1);
  Tensor y = reshape(layer_norm(reshape(x, {x.size(0), num_groups, group_size}), {group_size}, {}, {}, eps),
                     x.sizes());
  Shape view{channels};
  for (int64_t d = 2; d < x.dim(); ++d) view.push_back(1);
  if (weight.defined()) y = y * reshape(weight, view);
  if (bias.defined()) y = y + reshape(bias, view);
  return y;
}

extern const OpDef dropout_mask_op;

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  EMBER_CHECK(p >= 0 && p <= 1, ValueError, "dropout: probability has to be between 0 and 1, but got ", p);
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, "dropout: expected a floating point input, got ", x.dtype());
  if (!training || p == 0 || x.numel() == 0) return x;
  if (p == 1) return x * zeros({}, x.dtype());  // keeps the graph; the gradient is 0
  if (gen == nullptr) return x * call(dropout_mask_op, {x}, {{"p", p}})[0];
  Tensor mask = Tensor::empty(x.sizes(), x.dtype());  // a generator of its own: drawn here, on the host
  fill_dropout_mask(mask, p, *gen);
  return x * mask;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NllLossOptions& options) {
  return call(nll_loss_op, {log_probs, target, options.weight},
              {{"reduction", reduction_code(options.reduction)}, {"ignore_index", options.ignore_index}})[0];
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& options) {
  const double smoothing = options.label_smoothing;
  EMBER_CHECK(smoothing >= 0 && smoothing <= 1, ValueError, "cross_entropy: label_smoothing must be in [0, 1], got ",
              smoothing);
  EMBER_CHECK(input.dim() >= 1, ShapeError, "cross_entropy: expected input of shape [C], [N, C] or [N, C, d1, ...], got ",
              shape_str(input.sizes()));
  const int64_t class_dim = input.dim() == 1 ? 0 : 1;
  const int64_t classes = input.size(class_dim);
  if (!is_floating(target.dtype()))  // class indices: the fused op
    return call(cross_entropy_loss_op, {input, target, options.weight},
                {{"reduction", reduction_code(options.reduction)},
                 {"ignore_index", options.ignore_index},
                 {"label_smoothing", smoothing}})[0];
  // class probabilities
  EMBER_CHECK(target.sizes() == input.sizes(), ShapeError, "cross_entropy: probability target of shape ",
              shape_str(target.sizes()), " does not match input of shape ", shape_str(input.sizes()));
  const Tensor logp = log_softmax(input, class_dim);
  const Tensor weight = options.weight.defined() ? class_weight_view(options.weight, input.dim(), class_dim) : Tensor();
  const Tensor t = smoothing > 0 ? target * (1 - smoothing) + smoothing / double(classes) : target;
  const Tensor loss = -sum(weight.defined() ? logp * t * weight : logp * t, {class_dim});
  return reduce_loss(loss, options.reduction);  // mean: over the batch elements, not the weights
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  const Tensor d = input - target;
  return reduce_loss(d * d, reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return reduce_loss(abs(input - target), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  EMBER_CHECK(beta >= 0, ValueError, "smooth_l1_loss: beta must be non-negative, got ", beta);
  if (beta == 0) return l1_loss(input, target, reduction);
  // With a = |d| and m = min(a, beta): m * (a - m / 2) / beta is 0.5 d^2 / beta
  // below beta and a - beta / 2 above it, with no branch per element.
  const Tensor a = abs(input - target);
  const Tensor m = clamp(a, std::nullopt, beta);
  return reduce_loss(m * (a - m * 0.5) / beta, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& options) {
  EMBER_CHECK(input.sizes() == target.sizes(), ShapeError, "binary_cross_entropy_with_logits: target of shape ",
              shape_str(target.sizes()), " does not match input of shape ", shape_str(input.sizes()));
  // -log(sigmoid(x)) = log(1 + exp(-x)) = m + log(exp(-m) + exp(-x - m)) with
  // m = max(-x, 0): no exp overflows for any x.
  const Tensor m = clamp(-input, 0.0, std::nullopt);
  const Tensor neg_log_sigmoid = m + log(exp(-m) + exp(-input - m));
  const Tensor log_weight = options.pos_weight.defined() ? (options.pos_weight - 1) * target + 1 : Tensor();
  Tensor loss = (1 - target) * input + (log_weight.defined() ? log_weight * neg_log_sigmoid : neg_log_sigmoid);
  if (options.weight.defined()) loss = loss * options.weight;
  return reduce_loss(loss, options.reduction);
}

Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target) {
  if (log_target) return reduce_loss(exp(target) * (target - input), reduction);
  // xlogy(t, t) - t * input: a zero target contributes 0 (log of 1 in place of log 0).
  const Tensor safe = masked_fill(target, eq(target, 0), 1);
  return reduce_loss(target * log(safe) - target * input, reduction);
}

// dropout's mask, shaped like `self` (whose values it does not read).
const OpDef dropout_mask_op{
    .name = "dropout_mask",
    .inputs = {"self"},
    .infer = infer_dropout_mask,
    .cpu = dropout_mask_kernel,
    .nondifferentiable = "a random mask; dropout's gradient flows through its multiplication",
    .not_exportable = "ONNX Dropout is one op; export runs in inference mode, where dropout is the identity",
    .reference = "dropout",
};

static const OpDef* const kNnOps[] = {&softmax_op, &dropout_mask_op,
                                      &log_softmax_op,
                                      &softmax_backward_data_op,
                                      &log_softmax_backward_data_op,
                                      &layer_norm_op,
                                      &layer_norm_backward_op,
                                      &batch_norm_op,
                                      &nll_loss_op,
                                      &nll_loss_backward_op,
                                      &cross_entropy_loss_op,
                                      &cross_entropy_loss_backward_op};
std::span<const OpDef* const> nn_ops() { return kNnOps; }

}  // namespace ember
