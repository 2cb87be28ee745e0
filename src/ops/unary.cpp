// Unary elementwise ops. Each op is one OpDef; functors compute in
// compute_t<T> (float for bf16/f16). Dtype rules are PyTorch's: abs, neg,
// sign, square, relu, floor/ceil/round keep integer dtypes; the math
// functions give float32 for integer inputs; the nn activations accept
// floating tensors only; logical_not/isnan/isinf give bool.
#include "ember/ops/unary.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "cpu/simd/math.h"
#include "elementwise.h"
#include "registry.h"

namespace ember {
using namespace detail;

namespace {

// ---- functors ----

struct Neg : NumericDTypes {
  explicit Neg(const Attrs&) {}
  template <class C> C operator()(C x) const { return C(-x); }
  void f32_array(const float* x, float* y, int64_t n) const { EMBER_SIMD(neg_f32)(x, y, n); }
};
struct Abs : NumericDTypes {
  explicit Abs(const Attrs&) {}
  template <class C> C operator()(C x) const {
    if constexpr (std::is_unsigned_v<C>) return x;
    else if constexpr (std::is_integral_v<C>) return C(x < 0 ? -x : x);
    else return std::abs(x);
  }
  void f32_array(const float* x, float* y, int64_t n) const { EMBER_SIMD(abs_f32)(x, y, n); }
};
// NaN gives 0, as in PyTorch.
struct Sign : AllDTypes {
  explicit Sign(const Attrs&) {}
  template <class C> C operator()(C x) const {
    if constexpr (std::is_same_v<C, bool> || std::is_unsigned_v<C>) return C(x > 0);
    else return C(int(C(0) < x) - int(x < C(0)));
  }
};
struct Square : NumericDTypes {
  explicit Square(const Attrs&) {}
  template <class C> C operator()(C x) const { return C(x * x); }
};
struct Relu : NumericDTypes {  // keeps NaN and -0.0
  explicit Relu(const Attrs&) {}
  template <class C> C operator()(C x) const { return x < C(0) ? C(0) : x; }
  void f32_array(const float* x, float* y, int64_t n) const { EMBER_SIMD(relu_f32)(x, y, n); }
};

#define EMBER_FLOAT_FUNCTOR(Name, expr)                           \
  struct Name : FloatDTypes {                                     \
    explicit Name(const Attrs&) {}                                \
    template <class C> C operator()(C x) const { return expr; }   \
  };
// With a float32 array kernel of the same formula (Note [Float32 array
// kernels] in elementwise.h).
#define EMBER_FLOAT_FUNCTOR_F32(Name, expr, kernel, grain)                                        \
  struct Name : FloatDTypes {                                                                     \
    explicit Name(const Attrs&) {}                                                                \
    template <class C> C operator()(C x) const { return expr; }                                   \
    void f32_array(const float* x, float* y, int64_t n) const { EMBER_SIMD(kernel)(x, y, n); }    \
    static constexpr int64_t f32_grain = grain;                                                   \
  };
EMBER_FLOAT_FUNCTOR_F32(Exp, std::exp(x), exp_f32, kTranscendentalGrain)
EMBER_FLOAT_FUNCTOR(Expm1, std::expm1(x))
EMBER_FLOAT_FUNCTOR_F32(Log, std::log(x), log_f32, kTranscendentalGrain)
EMBER_FLOAT_FUNCTOR(Log1p, std::log1p(x))
EMBER_FLOAT_FUNCTOR(Log2, std::log2(x))
EMBER_FLOAT_FUNCTOR_F32(Sqrt, std::sqrt(x), sqrt_f32, kElementwiseGrain)
EMBER_FLOAT_FUNCTOR_F32(Rsqrt, C(1) / std::sqrt(x), rsqrt_f32, kElementwiseGrain)
EMBER_FLOAT_FUNCTOR(Reciprocal, C(1) / x)
EMBER_FLOAT_FUNCTOR(Sin, std::sin(x))
EMBER_FLOAT_FUNCTOR(Cos, std::cos(x))
EMBER_FLOAT_FUNCTOR_F32(Tanh, std::tanh(x), tanh_f32, kTranscendentalGrain)
EMBER_FLOAT_FUNCTOR_F32(Sigmoid, C(1) / (C(1) + std::exp(-x)), sigmoid_f32, kTranscendentalGrain)
EMBER_FLOAT_FUNCTOR_F32(Silu, x / (C(1) + std::exp(-x)), silu_f32, kTranscendentalGrain)
EMBER_FLOAT_FUNCTOR_F32(Erf, std::erf(x), erf_f32, kTranscendentalGrain)
#undef EMBER_FLOAT_FUNCTOR
#undef EMBER_FLOAT_FUNCTOR_F32

struct LeakyRelu : FloatDTypes {
  double slope;
  explicit LeakyRelu(const Attrs& a) : slope(a.f("negative_slope")) {}
  template <class C> C operator()(C x) const { return x > C(0) ? x : x * C(slope); }
};
struct Elu : FloatDTypes {
  double alpha;
  explicit Elu(const Attrs& a) : alpha(a.f("alpha")) {}
  template <class C> C operator()(C x) const { return x > C(0) ? x : std::expm1(x) * C(alpha); }
};
struct Softplus : FloatDTypes {
  double beta, threshold;
  explicit Softplus(const Attrs& a) : beta(a.f("beta")), threshold(a.f("threshold")) {}
  // Above the threshold softplus is x to working precision (and exp would overflow).
  template <class C> C operator()(C x) const {
    const C bx = x * C(beta);
    return bx > C(threshold) ? x : std::log1p(std::exp(bx)) / C(beta);
  }
};

// gelu's constants, shared by the kernel and the gradient formula.
constexpr double kSqrt2OverPi = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;  // sqrt(2/pi)
constexpr double kGeluKappa = 0.044715;

struct Gelu : FloatDTypes {
  bool tanh_approx;
  explicit Gelu(const Attrs& a) : tanh_approx(a.s("approximate") == "tanh") {}
  template <class C> C operator()(C x) const {
    if (tanh_approx) {
      const C inner = C(kSqrt2OverPi) * (x + C(kGeluKappa) * x * x * x);
      return C(0.5) * x * (C(1) + std::tanh(inner));
    }
    return x * C(0.5) * (C(1) + std::erf(x * C(std::numbers::sqrt2 / 2)));
  }
  void f32_array(const float* x, float* y, int64_t n) const {
    if (tanh_approx) EMBER_SIMD(gelu_tanh_f32)(x, y, n);
    else EMBER_SIMD(gelu_erf_f32)(x, y, n);
  }
  static constexpr int64_t f32_grain = kTranscendentalGrain;
};

// Rounding: integers are already whole.
struct Floor : NumericDTypes {
  explicit Floor(const Attrs&) {}
  template <class C> C operator()(C x) const {
    if constexpr (std::is_integral_v<C>) return x;
    else return std::floor(x);
  }
};
struct Ceil : NumericDTypes {
  explicit Ceil(const Attrs&) {}
  template <class C> C operator()(C x) const {
    if constexpr (std::is_integral_v<C>) return x;
    else return std::ceil(x);
  }
};
struct Round : NumericDTypes {  // half to even: nearbyint under the default rounding mode
  explicit Round(const Attrs&) {}
  template <class C> C operator()(C x) const {
    if constexpr (std::is_integral_v<C>) return x;
    else return std::nearbyint(x);
  }
};

struct LogicalNot {
  explicit LogicalNot(const Attrs&) {}
  template <class C> bool operator()(C x) const { return !bool(x); }
};
struct IsNan {
  explicit IsNan(const Attrs&) {}
  template <class C> bool operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) return std::isnan(x);
    else return false;
  }
};
struct IsInf {
  explicit IsInf(const Attrs&) {}
  template <class C> bool operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) return std::isinf(x);
    else return false;
  }
};

// Tensor bounds: a NaN bound gives NaN (PyTorch's clamp.Tensor); std::max and
// std::min keep a NaN x.
struct ClampBoth : NumericDTypes {
  explicit ClampBoth(const Attrs&) {}
  template <class C> C operator()(C x, C lo, C hi) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(lo) || std::isnan(hi)) return std::numeric_limits<C>::quiet_NaN();
    }
    return std::min(std::max(x, lo), hi);
  }
};
struct ClampMin : NumericDTypes {
  explicit ClampMin(const Attrs&) {}
  template <class C> C operator()(C x, C lo) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(lo)) return lo;
    }
    return std::max(x, lo);
  }
};
struct ClampMax : NumericDTypes {
  explicit ClampMax(const Attrs&) {}
  template <class C> C operator()(C x, C hi) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(hi)) return hi;
    }
    return std::min(x, hi);
  }
};

// ---- infer rules ----

std::vector<TensorMeta> infer_any_same(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  return {meta_of(in[0])};
}

// torch.square is pow(x, 2): bool squares to int64.
std::vector<TensorMeta> infer_square(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  const DType dt = in[0].dtype() == DType::b8 ? DType::i64 : in[0].dtype();
  return {{in[0].sizes(), dt}};
}

// The nn activations (leaky_relu, elu, gelu, silu, softplus) have no integer kernels in PyTorch.
std::vector<TensorMeta> infer_activation(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  EMBER_CHECK(is_floating(in[0].dtype()), DTypeError, op.name, ": expected a floating point tensor, got ",
              in[0].dtype());
  return {meta_of(in[0])};
}

std::vector<TensorMeta> infer_gelu(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  const std::string& approximate = attrs.s("approximate");
  EMBER_CHECK(approximate == "none" || approximate == "tanh", ValueError,
              "gelu: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
  return infer_activation(op, in, attrs);
}

DType check_clamp_dtype(const OpDef& op, std::span<const Tensor> operands) {
  const DType dt = result_type(operands);
  EMBER_CHECK(dt != DType::b8, DTypeError, op.name, ": not supported for bool tensors (result type bool)");
  return dt;
}

// Scalar bounds (attrs "min"/"max", at least one) promote like Python numbers.
std::vector<TensorMeta> infer_clamp(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  EMBER_CHECK(attrs.has("min") || attrs.has("max"), ValueError, op.name,
              ": at least one of 'min' or 'max' must be given");
  std::vector<Tensor> operands{in[0]};
  for (const char* bound : {"min", "max"})
    if (attrs.has(bound)) operands.push_back(wrap_scalar(attrs.scalar(bound)));
  return {{in[0].sizes(), check_clamp_dtype(op, operands)}};
}

// Tensor bounds: inputs {self, [min], [max]} as attrs has_min/has_max say; they broadcast.
std::vector<TensorMeta> infer_clamp_tensor(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const size_t expected = 1 + size_t(attrs.b("has_min")) + size_t(attrs.b("has_max"));
  EMBER_CHECK(expected > 1, ValueError, op.name, ": at least one of 'min' or 'max' must be given");
  EMBER_INTERNAL_ASSERT(in.size() == expected, op.name, ": expected ", expected, " inputs, got ", in.size());
  std::vector<Shape> shapes;
  for (const Tensor& t : in) shapes.push_back(t.sizes());
  return {{broadcast_shape(shapes, op.name), check_clamp_dtype(op, in)}};
}

// ---- kernels ----

void logical_not_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& a) {
  predicate_kernel<LogicalNot, 1>(in, out, a);
}
void isnan_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& a) {
  predicate_kernel<IsNan, 1>(in, out, a);
}
void isinf_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& a) {
  predicate_kernel<IsInf, 1>(in, out, a);
}

// Scalar bounds are rounded to the result dtype first, as PyTorch does (a
// bf16 tensor is clamped to bf16(min)); a NaN x stays NaN.
void clamp_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const DType dt = out[0].dtype();
  const std::array<Tensor, 1> args{cast(in[0], dt)};
  visit_dtype(dt, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      using C = compute_t<T>;
      const bool has_lo = attrs.has("min"), has_hi = attrs.has("max");
      const C lo = has_lo ? C(attrs.scalar("min").to<T>()) : C(0);
      const C hi = has_hi ? C(attrs.scalar("max").to<T>()) : C(0);
      elementwise<T, T, 1>(out[0], args, [=](C x) -> C {
        if constexpr (std::is_floating_point_v<C>) {
          if (std::isnan(x)) return x;
        }
        if (has_lo) x = std::max(x, lo);
        if (has_hi) x = std::min(x, hi);
        return x;
      });
    }
  });
}

void clamp_tensor_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  if (in.size() == 3) same_dtype_kernel<ClampBoth, 3>(in, out[0], attrs);
  else if (attrs.b("has_min")) same_dtype_kernel<ClampMin, 2>(in, out[0], attrs);
  else same_dtype_kernel<ClampMax, 2>(in, out[0], attrs);
}

void to_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) { copy_into(out[0], in[0]); }

std::vector<TensorMeta> infer_to(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  return {{in[0].sizes(), attrs.dtype("dtype")}};
}

// ---- gradients ----
// Written in Ember ops so they are recorded again under create_graph. Where
// PyTorch differentiates with one fused kernel (tanh, sigmoid, the nn
// activations) that computes in float, bf16/f16 gradients are computed in
// float32 here too and rounded once at the end; rounding every step would
// drift past bf16's tolerance.
Tensor widen(const Tensor& t) {
  return t.dtype() == DType::bf16 || t.dtype() == DType::f16 ? to_dtype(t, DType::f32) : t;
}

TensorList zero_grad(const BackwardContext&, const TensorList& g) { return {zeros_like(g[0])}; }

TensorList abs_backward(const BackwardContext& c, const TensorList& g) { return {mul(g[0], sign(c.input(0)))}; }
TensorList expm1_backward(const BackwardContext& c, const TensorList& g) { return {mul(g[0], c.output(0) + 1)}; }
TensorList log_backward(const BackwardContext& c, const TensorList& g) { return {div(g[0], c.input(0))}; }
TensorList log1p_backward(const BackwardContext& c, const TensorList& g) { return {div(g[0], c.input(0) + 1)}; }
TensorList log2_backward(const BackwardContext& c, const TensorList& g) {
  return {div(g[0], mul(c.input(0), std::numbers::ln2))};
}
TensorList sqrt_backward(const BackwardContext& c, const TensorList& g) { return {div(g[0], mul(c.output(0), 2))}; }
TensorList rsqrt_backward(const BackwardContext& c, const TensorList& g) {
  return {mul(mul(-0.5, g[0]), pow(c.output(0), 3))};  // d/dx x^-1/2 = -1/2 y^3
}
TensorList square_backward(const BackwardContext& c, const TensorList& g) { return {mul(g[0], mul(c.input(0), 2))}; }
TensorList reciprocal_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& y = c.output(0);
  return {mul(neg(g[0]), mul(y, y))};
}
TensorList sin_backward(const BackwardContext& c, const TensorList& g) { return {mul(g[0], cos(c.input(0)))}; }
TensorList cos_backward(const BackwardContext& c, const TensorList& g) { return {mul(g[0], neg(sin(c.input(0))))}; }
TensorList erf_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& x = c.input(0);
  return {mul(mul(exp(neg(mul(x, x))), 2 * std::numbers::inv_sqrtpi), g[0])};
}
TensorList tanh_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor y = widen(c.output(0));
  return {to_dtype(mul(widen(g[0]), 1 - mul(y, y)), g[0].dtype())};
}
TensorList sigmoid_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor y = widen(c.output(0));
  return {to_dtype(mul(mul(widen(g[0]), 1 - y), y), g[0].dtype())};
}
// threshold_backward: the gradient passes where the output is positive.
TensorList relu_backward(const BackwardContext& c, const TensorList& g) {
  return {where(gt(c.output(0), 0), g[0], 0)};
}
TensorList leaky_relu_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor gw = widen(g[0]);
  const Tensor r = where(gt(c.input(0), 0), gw, mul(gw, c.attrs().f("negative_slope")));
  return {to_dtype(r, g[0].dtype())};
}
TensorList elu_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor x = widen(c.input(0)), gw = widen(g[0]);
  const Tensor r = where(gt(x, 0), gw, mul(gw, mul(exp(x), c.attrs().f("alpha"))));
  return {to_dtype(r, g[0].dtype())};
}
TensorList silu_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor x = widen(c.input(0));
  const Tensor s = sigmoid(x);
  return {to_dtype(mul(widen(g[0]), mul(s, 1 + mul(x, 1 - s))), g[0].dtype())};
}
TensorList softplus_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor bx = mul(widen(c.input(0)), c.attrs().f("beta")), gw = widen(g[0]);
  const Tensor r = where(gt(bx, c.attrs().f("threshold")), gw, mul(gw, sigmoid(bx)));
  return {to_dtype(r, g[0].dtype())};
}
TensorList gelu_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor x = widen(c.input(0)), gw = widen(g[0]);
  Tensor d;
  if (c.attrs().s("approximate") == "tanh") {
    const Tensor x2 = mul(x, x);
    const Tensor t = tanh(mul(x + mul(mul(x2, x), kGeluKappa), kSqrt2OverPi));
    const Tensor dinner = mul(1 + mul(x2, 3 * kGeluKappa), kSqrt2OverPi);
    d = mul(1 + t, 0.5) + mul(mul(mul(x, 0.5), 1 - mul(t, t)), dinner);
  } else {
    const Tensor cdf = mul(1 + erf(mul(x, std::numbers::sqrt2 / 2)), 0.5);
    const Tensor pdf = mul(exp(mul(mul(x, x), -0.5)), std::numbers::inv_sqrtpi / std::numbers::sqrt2);
    d = cdf + mul(x, pdf);
  }
  return {to_dtype(mul(gw, d), g[0].dtype())};
}

// Scalar bounds: the gradient passes strictly inside them (PyTorch's
// convention; a value sitting on a bound gets none).
TensorList clamp_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& x = c.input(0);
  const Attrs& a = c.attrs();
  Tensor inside;
  if (a.has("min")) inside = gt(x, a.scalar("min"));
  if (a.has("max")) {
    const Tensor below = lt(x, a.scalar("max"));
    inside = inside.defined() ? logical_and(inside, below) : below;
  }
  return {where(inside, g[0], 0)};
}

// Tensor bounds: PyTorch splits the gradient evenly between x and a bound it
// ties with; when min > max the result is max everywhere. Each input's share
// is a 0/1/0.5 weight times the incoming gradient.
TensorList clamp_tensor_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& x = c.input(0);
  const bool has_lo = c.attrs().b("has_min"), has_hi = c.attrs().b("has_max");
  const DType dt = g[0].dtype();
  auto w = [&](const Tensor& mask) { return to_dtype(mask, dt); };
  Tensor gx, glo, ghi;
  if (has_lo && has_hi) {
    const Tensor &lo = c.input(1), &hi = c.input(2);
    const Tensor eq_lo = eq(x, lo), eq_hi = eq(x, hi);
    if (c.needs_grad(0)) {
      const Tensor inside = w(logical_and(lt(lo, x), lt(x, hi)));
      const Tensor ties = w(logical_and(eq_lo, le(x, hi))) + w(logical_and(eq_hi, ge(x, lo)));
      gx = mul(g[0], inside + mul(ties, 0.5));
    }
    const Tensor ordered = lt(lo, hi), not_crossed = le(lo, hi);
    if (c.needs_grad(1))
      glo = mul(g[0], w(logical_and(lt(x, lo), not_crossed)) + mul(w(logical_and(eq_lo, ordered)), 0.5));
    if (c.needs_grad(2))
      ghi = mul(g[0], w(logical_and(gt(x, hi), not_crossed)) + w(lt(hi, lo)) +
                          mul(w(logical_and(eq_hi, ordered)), 0.5));
    return {gx, glo, ghi};
  }
  // One bound b: the gradient goes to whichever of x and b the result is, split on a tie.
  const Tensor& b = c.input(1);
  const Tensor tie = mul(w(eq(x, b)), 0.5);
  if (c.needs_grad(0)) gx = mul(g[0], w(has_lo ? gt(x, b) : lt(x, b)) + tie);
  if (c.needs_grad(1)) glo = mul(g[0], w(has_lo ? lt(x, b) : gt(x, b)) + tie);
  return {gx, glo};
}

}  // namespace

// ---- the op table ----
const OpDef neg_op{.name = "neg", .inputs = {"self"}, .infer = infer_unary_numeric, .cpu = unary_kernel<Neg>,
                   .backward = [](const BackwardContext&, const TensorList& g) -> TensorList { return {neg(g[0])}; },
                   .onnx = "Neg", .reference = "neg"};
const OpDef abs_op{.name = "abs", .inputs = {"self"}, .infer = infer_unary_numeric, .cpu = unary_kernel<Abs>,
                   .backward = abs_backward, .saves = Saves::inputs, .onnx = "Abs", .reference = "abs"};
const OpDef sign_op{.name = "sign", .inputs = {"self"}, .infer = infer_any_same, .cpu = unary_kernel<Sign>,
                    .backward = zero_grad, .onnx = "Sign", .reference = "sign"};
const OpDef exp_op{.name = "exp", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Exp>,
                   .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                     return {mul(g[0], c.output(0))};
                   },
                   .saves = Saves::outputs, .onnx = "Exp", .reference = "exp", .autocast = AutocastPolicy::fp32};
const OpDef expm1_op{.name = "expm1", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Expm1>,
                     .backward = expm1_backward, .saves = Saves::outputs,
                     .not_exportable = "no ONNX operator; decompose as Exp then Sub", .reference = "expm1",
                     .autocast = AutocastPolicy::fp32};
const OpDef log_op{.name = "log", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Log>,
                   .backward = log_backward, .saves = Saves::inputs, .onnx = "Log", .reference = "log",
                   .autocast = AutocastPolicy::fp32};
const OpDef log1p_op{.name = "log1p", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Log1p>,
                     .backward = log1p_backward, .saves = Saves::inputs,
                     .not_exportable = "no ONNX operator; decompose as Add then Log", .reference = "log1p",
                     .autocast = AutocastPolicy::fp32};
const OpDef log2_op{.name = "log2", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Log2>,
                    .backward = log2_backward, .saves = Saves::inputs,
                    .not_exportable = "no ONNX operator; decompose as Log then Div", .reference = "log2",
                    .autocast = AutocastPolicy::fp32};
const OpDef sqrt_op{.name = "sqrt", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Sqrt>,
                    .backward = sqrt_backward, .saves = Saves::outputs, .onnx = "Sqrt", .reference = "sqrt"};
const OpDef rsqrt_op{.name = "rsqrt", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Rsqrt>,
                     .backward = rsqrt_backward, .saves = Saves::outputs,
                     .not_exportable = "no ONNX operator; decompose as Sqrt then Reciprocal", .reference = "rsqrt",
                     .autocast = AutocastPolicy::fp32};
const OpDef square_op{.name = "square", .inputs = {"self"}, .infer = infer_square, .cpu = unary_kernel<Square>,
                      .backward = square_backward, .saves = Saves::inputs,
                      .not_exportable = "no ONNX operator; decompose as Mul", .reference = "square"};
const OpDef reciprocal_op{.name = "reciprocal", .inputs = {"self"}, .infer = infer_unary_float,
                          .cpu = unary_kernel<Reciprocal>, .backward = reciprocal_backward, .saves = Saves::outputs,
                          .onnx = "Reciprocal", .reference = "reciprocal", .autocast = AutocastPolicy::fp32};
const OpDef sin_op{.name = "sin", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Sin>,
                   .backward = sin_backward, .saves = Saves::inputs, .onnx = "Sin", .reference = "sin"};
const OpDef cos_op{.name = "cos", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Cos>,
                   .backward = cos_backward, .saves = Saves::inputs, .onnx = "Cos", .reference = "cos"};
const OpDef tanh_op{.name = "tanh", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Tanh>,
                    .backward = tanh_backward, .saves = Saves::outputs, .onnx = "Tanh", .reference = "tanh"};
const OpDef sigmoid_op{.name = "sigmoid", .inputs = {"self"}, .infer = infer_unary_float,
                       .cpu = unary_kernel<Sigmoid>, .backward = sigmoid_backward, .saves = Saves::outputs,
                       .onnx = "Sigmoid", .reference = "sigmoid"};
const OpDef relu_op{.name = "relu", .inputs = {"self"}, .infer = infer_unary_numeric, .cpu = unary_kernel<Relu>,
                    .backward = relu_backward, .saves = Saves::outputs, .onnx = "Relu", .reference = "relu"};
const OpDef leaky_relu_op{.name = "leaky_relu", .inputs = {"self"}, .infer = infer_activation,
                          .cpu = unary_kernel<LeakyRelu>, .backward = leaky_relu_backward, .saves = Saves::inputs,
                          .onnx = "LeakyRelu", .reference = "leaky_relu"};
const OpDef elu_op{.name = "elu", .inputs = {"self"}, .infer = infer_activation, .cpu = unary_kernel<Elu>,
                   .backward = elu_backward, .saves = Saves::inputs, .onnx = "Elu", .reference = "elu"};
const OpDef gelu_op{.name = "gelu", .inputs = {"self"}, .infer = infer_gelu, .cpu = unary_kernel<Gelu>,
                    .backward = gelu_backward, .saves = Saves::inputs, .onnx = "Gelu", .reference = "gelu"};
const OpDef silu_op{.name = "silu", .inputs = {"self"}, .infer = infer_activation, .cpu = unary_kernel<Silu>,
                    .backward = silu_backward, .saves = Saves::inputs,
                    .not_exportable = "no ONNX operator; decompose as Sigmoid then Mul", .reference = "silu"};
const OpDef softplus_op{.name = "softplus", .inputs = {"self"}, .infer = infer_activation,
                        .cpu = unary_kernel<Softplus>, .backward = softplus_backward, .saves = Saves::inputs,
                        .onnx = "Softplus", .reference = "softplus", .autocast = AutocastPolicy::fp32};
const OpDef erf_op{.name = "erf", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Erf>,
                   .backward = erf_backward, .saves = Saves::inputs, .onnx = "Erf", .reference = "erf"};
const OpDef floor_op{.name = "floor", .inputs = {"self"}, .infer = infer_unary_numeric, .cpu = unary_kernel<Floor>,
                     .backward = zero_grad, .onnx = "Floor", .reference = "floor"};
const OpDef ceil_op{.name = "ceil", .inputs = {"self"}, .infer = infer_unary_numeric, .cpu = unary_kernel<Ceil>,
                    .backward = zero_grad, .onnx = "Ceil", .reference = "ceil"};
const OpDef round_op{.name = "round", .inputs = {"self"}, .infer = infer_unary_numeric, .cpu = unary_kernel<Round>,
                     .backward = zero_grad, .onnx = "Round", .reference = "round"};
const OpDef clamp_op{.name = "clamp", .inputs = {"self"}, .infer = infer_clamp, .cpu = clamp_kernel,
                     .backward = clamp_backward, .saves = Saves::inputs, .onnx = "Clip", .reference = "clamp"};
const OpDef clamp_tensor_op{.name = "clamp_tensor", .inputs = {"self", "bounds..."}, .infer = infer_clamp_tensor,
                            .cpu = clamp_tensor_kernel, .backward = clamp_tensor_backward, .saves = Saves::inputs,
                            .onnx = "Clip", .reference = "clamp_tensor"};
const OpDef logical_not_op{.name = "logical_not", .inputs = {"self"}, .infer = infer_unary_bool,
                           .cpu = logical_not_kernel, .nondifferentiable = "boolean result", .onnx = "Not",
                           .reference = "logical_not"};
const OpDef isnan_op{.name = "isnan", .inputs = {"self"}, .infer = infer_unary_bool, .cpu = isnan_kernel,
                     .nondifferentiable = "boolean result", .onnx = "IsNaN", .reference = "isnan"};
const OpDef isinf_op{.name = "isinf", .inputs = {"self"}, .infer = infer_unary_bool, .cpu = isinf_kernel,
                     .nondifferentiable = "boolean result", .onnx = "IsInf", .reference = "isinf"};
const OpDef to_op{.name = "to", .inputs = {"self"}, .infer = infer_to, .cpu = to_kernel,
                  .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                    return {to_dtype(g[0], c.input_meta(0).dtype)};
                  },
                  .onnx = "Cast", .reference = "to"};

// ---- public API ----
Tensor neg(const Tensor& x) { return call(neg_op, {x})[0]; }
Tensor abs(const Tensor& x) { return call(abs_op, {x})[0]; }
Tensor sign(const Tensor& x) { return call(sign_op, {x})[0]; }
Tensor exp(const Tensor& x) { return call(exp_op, {x})[0]; }
Tensor expm1(const Tensor& x) { return call(expm1_op, {x})[0]; }
Tensor log(const Tensor& x) { return call(log_op, {x})[0]; }
Tensor log1p(const Tensor& x) { return call(log1p_op, {x})[0]; }
Tensor log2(const Tensor& x) { return call(log2_op, {x})[0]; }
Tensor sqrt(const Tensor& x) { return call(sqrt_op, {x})[0]; }
Tensor rsqrt(const Tensor& x) { return call(rsqrt_op, {x})[0]; }
Tensor square(const Tensor& x) { return call(square_op, {x})[0]; }
Tensor reciprocal(const Tensor& x) { return call(reciprocal_op, {x})[0]; }
Tensor sin(const Tensor& x) { return call(sin_op, {x})[0]; }
Tensor cos(const Tensor& x) { return call(cos_op, {x})[0]; }
Tensor tanh(const Tensor& x) { return call(tanh_op, {x})[0]; }
Tensor sigmoid(const Tensor& x) { return call(sigmoid_op, {x})[0]; }
Tensor relu(const Tensor& x) { return call(relu_op, {x})[0]; }
Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return call(leaky_relu_op, {x}, {{"negative_slope", negative_slope}})[0];
}
Tensor elu(const Tensor& x, double alpha) { return call(elu_op, {x}, {{"alpha", alpha}})[0]; }
Tensor gelu(const Tensor& x, std::string_view approximate) {
  return call(gelu_op, {x}, {{"approximate", std::string(approximate)}})[0];
}
Tensor silu(const Tensor& x) { return call(silu_op, {x})[0]; }
Tensor softplus(const Tensor& x, double beta, double threshold) {
  return call(softplus_op, {x}, {{"beta", beta}, {"threshold", threshold}})[0];
}
Tensor erf(const Tensor& x) { return call(erf_op, {x})[0]; }
Tensor floor(const Tensor& x) { return call(floor_op, {x})[0]; }
Tensor ceil(const Tensor& x) { return call(ceil_op, {x})[0]; }
Tensor round(const Tensor& x) { return call(round_op, {x})[0]; }
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  Attrs attrs;
  if (min) attrs.set("min", *min);
  if (max) attrs.set("max", *max);
  return call(clamp_op, {x}, std::move(attrs))[0];
}
// An undefined bound is absent (PyTorch's None).
Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max) {
  TensorList inputs{x};
  if (min.defined()) inputs.push_back(min);
  if (max.defined()) inputs.push_back(max);
  return call(clamp_tensor_op, std::move(inputs), {{"has_min", min.defined()}, {"has_max", max.defined()}})[0];
}
Tensor logical_not(const Tensor& x) { return call(logical_not_op, {x})[0]; }
Tensor isnan(const Tensor& x) { return call(isnan_op, {x})[0]; }
Tensor isinf(const Tensor& x) { return call(isinf_op, {x})[0]; }
Tensor to_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return call(to_op, {x}, {{"dtype", dtype}})[0];
}

Tensor operator-(const Tensor& a) { return neg(a); }

static const OpDef* const kUnaryOps[] = {
    &neg_op,     &abs_op,       &sign_op,    &exp_op,    &expm1_op,   &log_op,          &log1p_op,
    &log2_op,    &sqrt_op,      &rsqrt_op,   &square_op, &reciprocal_op, &sin_op,       &cos_op,
    &tanh_op,    &sigmoid_op,   &relu_op,    &leaky_relu_op, &elu_op, &gelu_op,         &silu_op,
    &softplus_op, &erf_op,      &floor_op,   &ceil_op,   &round_op,   &clamp_op,        &clamp_tensor_op,
    &logical_not_op, &isnan_op, &isinf_op,   &to_op};
std::span<const OpDef* const> unary_ops() { return kUnaryOps; }

}  // namespace ember
