// Binary elementwise ops. Each op is one OpDef (see include/ember/ops/op.h);
// Scalar overloads wrap the number as a 0-d tensor that promotes like a
// Python scalar (see Note [Type promotion] in iter.cpp).
#include "ember/ops/binary.h"

#include <cmath>

#include "ember/ops/creation.h"
#include "ember/ops/reduce.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"
#include "defs.h"
#include "elementwise.h"
#include "registry.h"

namespace ember {
using namespace detail;

namespace {

std::vector<TensorMeta> infer_add_sub(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  auto metas = infer_broadcast_promote(op, in, attrs);
  const DType dt = metas[0].dtype;
  const Scalar& alpha = attrs.scalar("alpha");
  EMBER_CHECK(!(op.name == "sub" && in[0].dtype() == DType::b8 && in[1].dtype() == DType::b8), DTypeError,
              "sub: subtraction of two bool tensors is not supported; use logical_xor");
  EMBER_CHECK(is_floating(dt) || !alpha.is_floating(), DTypeError, op.name, ": alpha ", alpha,
              " must be an integer for an integer result (", dt, ")");
  return metas;
}

struct Add : AllDTypes {
  double alpha;
  explicit Add(const Attrs& a) : alpha(a.scalar("alpha").to_double()) {}
  // Floats fuse alpha * b into the addition, as PyTorch's vectorized add does.
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_same_v<C, bool>) return a || (b && alpha != 0);
    else if constexpr (std::is_floating_point_v<C>) return alpha == 1 ? a + b : std::fma(C(alpha), b, a);
    else return alpha == 1 ? C(a + b) : C(a + C(alpha) * b);
  }
  void f32_array(const float* a, const float* b, float* y, int64_t n, cpu::ScalarOperand s) const {
    EMBER_SIMD(add_f32)(a, b, y, n, s, float(alpha));
  }
};
struct Sub : NumericDTypes {
  double alpha;
  explicit Sub(const Attrs& a) : alpha(a.scalar("alpha").to_double()) {}
  // Floats fuse alpha * b into the subtraction, as in Add.
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) return alpha == 1 ? a - b : std::fma(C(-alpha), b, a);
    else return alpha == 1 ? C(a - b) : C(a - C(alpha) * b);
  }
  void f32_array(const float* a, const float* b, float* y, int64_t n, cpu::ScalarOperand s) const {
    EMBER_SIMD(sub_f32)(a, b, y, n, s, float(alpha));
  }
};
struct Mul : AllDTypes {
  explicit Mul(const Attrs&) {}
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_same_v<C, bool>) return a && b;
    else return a * b;
  }
  void f32_array(const float* a, const float* b, float* y, int64_t n, cpu::ScalarOperand s) const {
    EMBER_SIMD(mul_f32)(a, b, y, n, s);
  }
};

// True division in floats; "floor" and "trunc" keep the promoted dtype, and
// integer division by zero is a user error (checked in the kernel: data-dependent).
struct Div : NumericDTypes {
  enum Mode { true_div, floor_div, trunc_div } mode;
  explicit Div(const Attrs& a) {
    const std::string& m = a.s("rounding_mode");
    mode = m == "floor" ? floor_div : m == "trunc" ? trunc_div : true_div;
  }
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      if (b == 0) EMBER_THROW(ValueError, "div: integer division by zero");
      // min / -1 overflows (a hardware trap on x86): wrap around as PyTorch does.
      if constexpr (std::is_signed_v<C>)
        if (b == -1) return C(0 - uint64_t(a));
      const C q = C(a / b);
      if (mode == floor_div && (a % b != 0) && ((a < 0) != (b < 0))) return C(q - 1);
      return q;
    } else {
      const C q = a / b;
      if (mode == floor_div) {
        // Python's floor division: consistent with remainder's sign rule.
        if (b == 0) return q;
        C mod = std::fmod(a, b);
        C div = (a - mod) / b;
        if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
        C floordiv = std::floor(div);
        if (div - floordiv > C(0.5)) floordiv += 1;
        return div == 0 ? std::copysign(C(0), a / b) : floordiv;
      }
      if (mode == trunc_div) return std::trunc(q);
      return q;
    }
  }
  bool has_f32_array() const { return mode == true_div; }
  void f32_array(const float* a, const float* b, float* y, int64_t n, cpu::ScalarOperand s) const {
    EMBER_SIMD(div_f32)(a, b, y, n, s);
  }
};

// Python's sign rule: the result takes the divisor's sign.
struct Remainder : NumericDTypes {
  explicit Remainder(const Attrs&) {}
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      if (b == 0) EMBER_THROW(ValueError, "remainder: integer division by zero");
      if constexpr (std::is_signed_v<C>)
        if (b == -1) return 0;  // min % -1 traps on x86
      C r = C(a % b);
      if (r != 0 && ((r < 0) != (b < 0))) r = C(r + b);
      return r;
    } else {
      C m = std::fmod(a, b);
      if (m != 0 && ((b < 0) != (m < 0))) m += b;
      return m;
    }
  }
};

// NaN in either input gives NaN (unlike std::max/fmax).
struct Maximum : AllDTypes {
  explicit Maximum(const Attrs&) {}
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      if (a != a || b != b) return a + b;
    return a > b ? a : b;
  }
};
struct Minimum : AllDTypes {
  explicit Minimum(const Attrs&) {}
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>)
      if (a != a || b != b) return a + b;
    return a < b ? a : b;
  }
};

struct Atan2 : FloatDTypes {
  explicit Atan2(const Attrs&) {}
  template <class C> C operator()(C a, C b) const { return std::atan2(a, b); }
};

// ---- pow ----
// Integer powers wrap on overflow like PyTorch's powi (computed in uint64 so
// the wrap is defined); a negative exponent truncates 1/base^|e| toward zero.
template <class C> C int_pow(C base, C exp) {
  if constexpr (std::is_signed_v<C>) {
    if (exp < 0) {
      if (base == 1) return 1;
      if (base == -1) return exp % 2 != 0 ? C(-1) : C(1);
      return 0;
    }
  }
  uint64_t result = 1, b = uint64_t(base);
  for (auto e = exp; e > 0; e /= 2) {
    if (e & 1) result *= b;
    b *= b;
  }
  return C(result);
}

void pow_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
  Tensor& o = out[0];
  const DType dt = o.dtype();
  visit_dtype(dt, [&]<class T>() {
    using C = compute_t<T>;
    if constexpr (std::is_same_v<T, bool>) {
      EMBER_INTERNAL_ASSERT(false, "pow: bool result reached the kernel");
    } else if constexpr (is_floating_v<T>) {
      const std::array<Tensor, 1> base{cast(in[0], dt)};
      if (in[1].dim() == 0) {
        // x ** scalar: the special cases of PyTorch's pow_tensor_scalar_optimized_kernel.
        const C e = C(in[1].item<double>());
        if (e == C(2)) return elementwise<T, T, 1>(o, base, [](C x) { return x * x; });
        if (e == C(3)) return elementwise<T, T, 1>(o, base, [](C x) { return x * x * x; });
        if (e == C(0.5)) return elementwise<T, T, 1>(o, base, [](C x) { return std::sqrt(x); });
        if (e == C(-0.5)) return elementwise<T, T, 1>(o, base, [](C x) { return C(1) / std::sqrt(x); });
        if (e == C(-1)) return elementwise<T, T, 1>(o, base, [](C x) { return C(1) / x; });
        if (e == C(-2)) return elementwise<T, T, 1>(o, base, [](C x) { return C(1) / (x * x); });
        return elementwise<T, T, 1>(o, base, [e](C x) { return C(std::pow(x, e)); });
      }
      elementwise<T, T, 2>(o, {base[0], cast(in[1], dt)}, [](C a, C b) { return C(std::pow(a, b)); });
    } else {
      elementwise<T, T, 2>(o, {cast(in[0], dt), cast(in[1], dt)}, [](C a, C b) { return int_pow(a, b); });
    }
  });
}

std::vector<TensorMeta> infer_pow(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  auto metas = infer_broadcast_promote(op, in, attrs);
  const DType dt = metas[0].dtype;
  EMBER_CHECK(dt != DType::b8, DTypeError, "pow: not supported when both operands are bool (as in PyTorch)");
  // As in PyTorch, only a Python-number exponent is checked; tensor exponents follow int_pow.
  const Tensor& e = in[1];
  EMBER_CHECK(!(is_integral(dt) && e.impl().is_wrapped_number && is_integral(e.dtype()) && e.item<int64_t>() < 0),
              ValueError, "pow: integers to negative integer powers are not allowed (exponent ", e.item(), ")");
  return metas;
}

std::vector<TensorMeta> infer_remainder(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  auto metas = infer_broadcast_promote(op, in, attrs);
  EMBER_CHECK(metas[0].dtype != DType::b8, DTypeError,
              "remainder: not supported when both operands are bool (as in PyTorch)");
  return metas;
}

// ---- comparisons and logical ops (bool results) ----
#define EMBER_PREDICATE(Name, expr)                                     \
  struct Name {                                                         \
    explicit Name(const Attrs&) {}                                      \
    template <class C> bool operator()(C a, C b) const { return expr; } \
  };
// Comparisons also have float32 array kernels (Note [Float32 array kernels]).
#define EMBER_COMPARISON(Name, expr, kernel)                                                      \
  struct Name {                                                                                   \
    explicit Name(const Attrs&) {}                                                                \
    template <class C> bool operator()(C a, C b) const { return expr; }                           \
    void f32_array(const float* a, const float* b, bool* y, int64_t n, cpu::ScalarOperand s) const { \
      EMBER_SIMD(kernel)(a, b, y, n, s);                                                          \
    }                                                                                             \
  };
EMBER_COMPARISON(Eq, a == b, eq_f32)
EMBER_COMPARISON(Ne, a != b, ne_f32)
EMBER_COMPARISON(Lt, a < b, lt_f32)
EMBER_COMPARISON(Le, a <= b, le_f32)
EMBER_COMPARISON(Gt, a > b, gt_f32)
EMBER_COMPARISON(Ge, a >= b, ge_f32)
#undef EMBER_COMPARISON
EMBER_PREDICATE(LogicalAnd, a != C(0) && b != C(0))
EMBER_PREDICATE(LogicalOr, a != C(0) || b != C(0))
EMBER_PREDICATE(LogicalXor, (a != C(0)) != (b != C(0)))
#undef EMBER_PREDICATE

// ---- where ----
std::vector<TensorMeta> infer_where(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  EMBER_CHECK(in[0].dtype() == DType::b8, DTypeError,
              "where: expected condition to be a bool tensor, but got a tensor with dtype ", in[0].dtype());
  const Shape shapes[] = {in[0].sizes(), in[1].sizes(), in[2].sizes()};
  return {{broadcast_shape(shapes, op.name), result_type(in.subspan(1))}};
}

// where on a contiguous condition and output with values contiguous or
// single, for 4- and 8-byte dtypes: the per-capability select kernels. False
// when the layout does not allow it.
bool where_flat(const Tensor& condition, const Tensor& a, const Tensor& b, Tensor& o) {
  const size_t item = o.itemsize();
  if ((item != 4 && item != 8) || condition.sizes() != o.sizes() || !condition.is_contiguous()) return false;
  const std::optional<cpu::ScalarOperand> layout = flat_layout<2>({a, b}, o);
  if (!layout) return false;
  const bool a_scalar = *layout == cpu::ScalarOperand::first || *layout == cpu::ScalarOperand::both;
  const bool b_scalar = *layout == cpu::ScalarOperand::second || *layout == cpu::ScalarOperand::both;
  const bool* c = condition.data_ptr<bool>();
  auto run = [&]<class U>(auto kernel) {
    const U* av = static_cast<const U*>(a.raw_data());
    const U* bv = static_cast<const U*>(b.raw_data());
    U* y = static_cast<U*>(o.raw_data());
    parallel_for(0, o.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      kernel(c + begin, a_scalar ? av : av + begin, b_scalar ? bv : bv + begin, y + begin, end - begin, *layout);
    });
  };
  if (item == 4) run.operator()<uint32_t>(EMBER_SIMD(where_32));
  else run.operator()<uint64_t>(EMBER_SIMD(where_64));
  return true;
}

// A select, not arithmetic: values are copied as stored (no compute type).
void where_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
  Tensor& o = out[0];
  const Tensor a = cast(in[1], o.dtype()), b = cast(in[2], o.dtype());
  if (where_flat(in[0], a, b, o)) return;
  const Tensor* operands[] = {&o, &in[0], &a, &b};
  StridedOperands<4> ops;
  for (size_t k = 0; k < 4; ++k) {
    ops.base[k] = static_cast<char*>(operands[k]->raw_data());
    ops.strides[k] = broadcast_byte_strides(*operands[k], o.sizes());
  }
  visit_dtype(o.dtype(), [&]<class T>() {
    for_each_strided<4>(o.sizes(), ops, kElementwiseGrain,
                        [](const std::array<char*, 4>& p, const std::array<int64_t, 4>& s, int64_t n) {
                          for (int64_t j = 0; j < n; ++j) {
                            const bool c = *reinterpret_cast<const bool*>(p[1] + j * s[1]);
                            const char* src = c ? p[2] + j * s[2] : p[3] + j * s[3];
                            *reinterpret_cast<T*>(p[0] + j * s[0]) = *reinterpret_cast<const T*>(src);
                          }
                        });
  });
}

// ---- lerp ----
// PyTorch's formula: exact at both ends and symmetric in rounding.
template <class C> C lerp_value(C start, C end, C w) {
  return std::abs(w) < C(0.5) ? start + w * (end - start) : end - (end - start) * (C(1) - w);
}

std::vector<TensorMeta> infer_lerp(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  const DType dt = in[0].dtype();
  EMBER_CHECK(is_floating(dt), DTypeError, "lerp: expected a floating point start tensor, got ", dt);
  EMBER_CHECK(in[1].dtype() == dt, DTypeError, "lerp: expected dtype ", dt, " for `end` but got dtype ",
              in[1].dtype());
  // A 0-d weight acts as a number (any dtype), as in PyTorch.
  EMBER_CHECK(in[2].dim() == 0 || in[2].dtype() == dt, DTypeError, "lerp: expected dtype ", dt,
              " for `weight` but got dtype ", in[2].dtype());
  const Shape shapes[] = {in[0].sizes(), in[1].sizes(), in[2].sizes()};
  return {{broadcast_shape(shapes, op.name), dt}};
}

void lerp_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
  Tensor& o = out[0];
  visit_dtype(o.dtype(), [&]<class T>() {
    using C = compute_t<T>;
    if constexpr (!is_floating_v<T>) {
      EMBER_INTERNAL_ASSERT(false, "lerp: integer result reached the kernel");
    } else if (in[2].dim() == 0) {
      // Weight in the compute type (not rounded to bf16/f16 first), as PyTorch's lerp_kernel_scalar.
      const C w = C(in[2].item<double>());
      elementwise<T, T, 2>(o, {in[0], in[1]}, [w](C s, C e) { return lerp_value(s, e, w); });
    } else {
      elementwise<T, T, 3>(o, {in[0], in[1], in[2]}, [](C s, C e, C w) { return lerp_value(s, e, w); });
    }
  });
}

std::vector<TensorMeta> infer_div(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  const std::string& mode = attrs.s("rounding_mode");
  EMBER_CHECK(mode.empty() || mode == "floor" || mode == "trunc", ValueError,
              "div: rounding_mode must be none, \"floor\" or \"trunc\", got \"", mode, "\"");
  if (mode.empty()) return infer_broadcast_float(op, in, attrs);
  auto metas = infer_broadcast_promote(op, in, attrs);
  EMBER_CHECK(metas[0].dtype != DType::b8, DTypeError, "div: rounding division of bool tensors is not supported");
  return metas;
}

// Gradients are formulas over Ember ops, so they are recorded again under
// create_graph (double backward).
TensorList add_backward(const BackwardContext& c, const TensorList& g) {
  const Scalar alpha = c.attrs().scalar("alpha");
  return {g[0], c.needs_grad(1) ? (alpha == Scalar(1) ? g[0] : mul(g[0], alpha)) : Tensor{}};
}
TensorList sub_backward(const BackwardContext& c, const TensorList& g) {
  const Scalar alpha = c.attrs().scalar("alpha");
  return {g[0], c.needs_grad(1) ? (alpha == Scalar(1) ? neg(g[0]) : mul(g[0], -alpha.to_double())) : Tensor{}};
}
TensorList mul_backward(const BackwardContext& c, const TensorList& g) {
  return {c.needs_grad(0) ? mul(g[0], c.input(1)) : Tensor{}, c.needs_grad(1) ? mul(g[0], c.input(0)) : Tensor{}};
}
TensorList div_backward(const BackwardContext& c, const TensorList& g) {
  if (!c.attrs().s("rounding_mode").empty()) return {zeros_like(g[0]), zeros_like(g[0])};  // piecewise constant
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  return {c.needs_grad(0) ? div(g[0], b) : Tensor{},
          c.needs_grad(1) ? neg(div(mul(g[0], a), mul(b, b))) : Tensor{}};
}


TensorList pow_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& x = c.input(0);
  const Tensor& e = c.input(1);
  Tensor grad_x, grad_e;
  if (c.needs_grad(0)) {
    if (e.impl().is_wrapped_number) {
      const double ev = e.item<double>();
      grad_x = ev == 0 ? zeros_like(x) : mul(g[0], mul(pow(x, ev - 1), ev));
    } else {
      grad_x = where(eq(e, 0), 0, mul(g[0], mul(e, pow(x, sub(e, 1)))));
    }
  }
  if (c.needs_grad(1)) {
    // d(x^e)/de = x^e log(x); PyTorch defines it as 0 at x == 0 for e >= 0.
    grad_e = where(logical_and(eq(x, 0), ge(e, 0)), 0, mul(g[0], mul(c.output(0), log(x))));
  }
  return {grad_x, grad_e};
}
TensorList remainder_backward(const BackwardContext& c, const TensorList& g) {
  return {g[0], c.needs_grad(1) ? neg(mul(g[0], div(c.input(0), c.input(1), "floor"))) : Tensor{}};
}
// Ties split the gradient evenly between the inputs, as PyTorch does.
// `a_loses` / `b_loses`: where each input is not the one selected.
TensorList split_by_selection(const BackwardContext& c, const Tensor& g, const Tensor& a_loses,
                              const Tensor& b_loses) {
  const Tensor shared = where(eq(c.input(0), c.input(1)), div(g, 2), g);
  return {c.needs_grad(0) ? where(a_loses, 0, shared) : Tensor{}, c.needs_grad(1) ? where(b_loses, 0, shared) : Tensor{}};
}
TensorList maximum_backward(const BackwardContext& c, const TensorList& g) {
  return split_by_selection(c, g[0], lt(c.input(0), c.input(1)), gt(c.input(0), c.input(1)));
}
TensorList minimum_backward(const BackwardContext& c, const TensorList& g) {
  return split_by_selection(c, g[0], gt(c.input(0), c.input(1)), lt(c.input(0), c.input(1)));
}
TensorList atan2_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  const Tensor scale = div(g[0], add(mul(a, a), mul(b, b)));
  return {c.needs_grad(0) ? mul(scale, b) : Tensor{}, c.needs_grad(1) ? mul(scale, neg(a)) : Tensor{}};
}
TensorList where_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& cond = c.input(0);
  return {Tensor{}, c.needs_grad(1) ? where(cond, g[0], 0) : Tensor{},
          c.needs_grad(2) ? where(cond, 0, g[0]) : Tensor{}};
}
TensorList lerp_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor& start = c.input(0);
  const Tensor& end = c.input(1);
  const Tensor& w = c.input(2);
  // A Python-number weight stays a number, so the gradients keep the inputs' dtype.
  const bool number = w.impl().is_wrapped_number;
  const double wv = number ? w.item<double>() : 0;
  return {c.needs_grad(0) ? (number ? mul(g[0], 1 - wv) : mul(g[0], sub(wrap_scalar(1), w))) : Tensor{},
          c.needs_grad(1) ? (number ? mul(g[0], wv) : mul(g[0], w)) : Tensor{},
          c.needs_grad(2) ? mul(g[0], sub(end, start)) : Tensor{}};
}

}  // namespace

const OpDef add_op{.name = "add", .inputs = {"self", "other"}, .infer = infer_add_sub, .cpu = binary_kernel<Add>,
                   .backward = add_backward, .onnx = "Add", .reference = "add"};
const OpDef sub_op{.name = "sub", .inputs = {"self", "other"}, .infer = infer_add_sub, .cpu = binary_kernel<Sub>,
                   .backward = sub_backward, .onnx = "Sub", .reference = "sub"};
const OpDef mul_op{.name = "mul", .inputs = {"self", "other"}, .infer = infer_broadcast_promote,
                   .cpu = binary_kernel<Mul>, .backward = mul_backward, .saves = Saves::inputs, .onnx = "Mul",
                   .reference = "mul"};
const OpDef div_op{.name = "div", .inputs = {"self", "other"}, .infer = infer_div, .cpu = binary_kernel<Div>,
                   .backward = div_backward, .saves = Saves::inputs, .onnx = "Div", .reference = "div"};

const OpDef pow_op{.name = "pow", .inputs = {"self", "exponent"}, .infer = infer_pow, .cpu = pow_kernel,
                   .backward = pow_backward, .saves = Saves::both, .onnx = "Pow", .reference = "pow",
                   .autocast = AutocastPolicy::fp32};
const OpDef remainder_op{.name = "remainder", .inputs = {"self", "other"}, .infer = infer_remainder,
                         .cpu = binary_kernel<Remainder>, .backward = remainder_backward, .saves = Saves::inputs,
                         .onnx = "Mod", .reference = "remainder"};
const OpDef maximum_op{.name = "maximum", .inputs = {"self", "other"}, .infer = infer_broadcast_promote,
                       .cpu = binary_kernel<Maximum>, .backward = maximum_backward, .saves = Saves::inputs,
                       .onnx = "Max", .reference = "maximum"};
const OpDef minimum_op{.name = "minimum", .inputs = {"self", "other"}, .infer = infer_broadcast_promote,
                       .cpu = binary_kernel<Minimum>, .backward = minimum_backward, .saves = Saves::inputs,
                       .onnx = "Min", .reference = "minimum"};
const OpDef atan2_op{.name = "atan2", .inputs = {"self", "other"}, .infer = infer_broadcast_float,
                     .cpu = binary_kernel<Atan2>, .backward = atan2_backward, .saves = Saves::inputs,
                     .not_exportable = "ONNX has no atan2 operator", .reference = "atan2"};

#define EMBER_PREDICATE_OP(op_name, Functor, onnx_field)                                                        \
  const OpDef op_name##_op{.name = #op_name, .inputs = {"self", "other"}, .infer = infer_broadcast_bool,        \
                           .cpu = predicate_kernel<Functor, 2>, .nondifferentiable = "bool result", onnx_field, \
                           .reference = #op_name};
EMBER_PREDICATE_OP(eq, Eq, .onnx = "Equal")
EMBER_PREDICATE_OP(ne, Ne, .not_exportable = "ONNX has no NotEqual (it is Not(Equal))")
EMBER_PREDICATE_OP(lt, Lt, .onnx = "Less")
EMBER_PREDICATE_OP(le, Le, .onnx = "LessOrEqual")
EMBER_PREDICATE_OP(gt, Gt, .onnx = "Greater")
EMBER_PREDICATE_OP(ge, Ge, .onnx = "GreaterOrEqual")
EMBER_PREDICATE_OP(logical_and, LogicalAnd, .not_exportable = "ONNX And takes bool inputs only")
EMBER_PREDICATE_OP(logical_or, LogicalOr, .not_exportable = "ONNX Or takes bool inputs only")
EMBER_PREDICATE_OP(logical_xor, LogicalXor, .not_exportable = "ONNX Xor takes bool inputs only")
#undef EMBER_PREDICATE_OP

const OpDef where_op{.name = "where", .inputs = {"condition", "self", "other"}, .infer = infer_where,
                     .cpu = where_kernel, .backward = where_backward, .saves = Saves::inputs, .onnx = "Where",
                     .reference = "where", .integer_inputs = {0}};
const OpDef lerp_op{.name = "lerp", .inputs = {"self", "end", "weight"}, .infer = infer_lerp, .cpu = lerp_kernel,
                    .backward = lerp_backward, .saves = Saves::inputs,
                    .not_exportable = "ONNX has no lerp operator", .reference = "lerp",
                    .autocast = AutocastPolicy::promote};

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha) { return call(add_op, {a, b}, {{"alpha", alpha}})[0]; }
Tensor add(const Tensor& a, Scalar b, Scalar alpha) { return add(a, wrap_scalar(b), alpha); }
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha) { return call(sub_op, {a, b}, {{"alpha", alpha}})[0]; }
Tensor sub(const Tensor& a, Scalar b, Scalar alpha) { return sub(a, wrap_scalar(b), alpha); }
Tensor mul(const Tensor& a, const Tensor& b) { return call(mul_op, {a, b})[0]; }
Tensor mul(const Tensor& a, Scalar b) { return mul(a, wrap_scalar(b)); }
Tensor mul(Scalar a, const Tensor& b) { return mul(wrap_scalar(a), b); }

Tensor div(const Tensor& a, const Tensor& b, std::optional<std::string_view> rounding_mode) {
  return call(div_op, {a, b}, {{"rounding_mode", std::string(rounding_mode.value_or(""))}})[0];
}
Tensor div(const Tensor& a, Scalar b, std::optional<std::string_view> rounding_mode) {
  return div(a, wrap_scalar(b), rounding_mode);
}
Tensor div(Scalar a, const Tensor& b, std::optional<std::string_view> rounding_mode) {
  return div(wrap_scalar(a), b, rounding_mode);
}
Tensor floor_divide(const Tensor& a, const Tensor& b) { return div(a, b, "floor"); }

#define EMBER_DEFINE_BINARY(name)                                                            \
  Tensor name(const Tensor& a, const Tensor& b) { return call(name##_op, {a, b})[0]; }       \
  Tensor name(const Tensor& a, Scalar b) { return call(name##_op, {a, wrap_scalar(b)})[0]; } \
  Tensor name(Scalar a, const Tensor& b) { return call(name##_op, {wrap_scalar(a), b})[0]; }
EMBER_DEFINE_BINARY(pow)
EMBER_DEFINE_BINARY(remainder)
EMBER_DEFINE_BINARY(maximum)
EMBER_DEFINE_BINARY(minimum)
EMBER_DEFINE_BINARY(atan2)
EMBER_DEFINE_BINARY(eq)
EMBER_DEFINE_BINARY(ne)
EMBER_DEFINE_BINARY(lt)
EMBER_DEFINE_BINARY(le)
EMBER_DEFINE_BINARY(gt)
EMBER_DEFINE_BINARY(ge)
EMBER_DEFINE_BINARY(logical_and)
EMBER_DEFINE_BINARY(logical_or)
EMBER_DEFINE_BINARY(logical_xor)
#undef EMBER_DEFINE_BINARY

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  return call(where_op, {condition, a, b})[0];
}
Tensor where(const Tensor& condition, const Tensor& a, Scalar b) { return where(condition, a, wrap_scalar(b)); }
Tensor where(const Tensor& condition, Scalar a, const Tensor& b) { return where(condition, wrap_scalar(a), b); }

// Composite: where(mask, value, x) with value cast to x's dtype (the result
// keeps x's dtype, as PyTorch's masked_fill; ONNX exports it as Where).
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  EMBER_CHECK(x.defined() && mask.defined() && value.defined(), ValueError, "masked_fill: got an undefined Tensor");
  EMBER_CHECK(mask.dtype() == DType::b8, DTypeError,
              "masked_fill: only supports boolean masks, but got mask with dtype ", mask.dtype());
  EMBER_CHECK(value.dim() == 0, ShapeError, "masked_fill: only supports a 0-dimensional value tensor, but got ",
              value.meta_str());
  return where(mask, to_dtype(value, x.dtype()), x);
}
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  return masked_fill(x, mask, wrap_scalar(value));
}

Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
  return call(lerp_op, {start, end, weight})[0];
}
Tensor lerp(const Tensor& start, const Tensor& end, Scalar weight) { return lerp(start, end, wrap_scalar(weight)); }

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const Shape shapes[] = {a, b};
  return broadcast_shape(shapes, op);
}

Tensor sum_to(const Tensor& x, const Shape& sizes) {
  if (x.sizes() == sizes) return x;
  const int64_t lead = x.dim() - int64_t(sizes.size());
  EMBER_CHECK(lead >= 0, ShapeError, "sum_to: cannot reduce ", shape_str(x.sizes()), " to ", shape_str(sizes));
  Shape dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
      continue;
    }
    const int64_t target = sizes[size_t(d - lead)];
    const int64_t have = x.sizes()[size_t(d)];
    if (target == 1 && have != 1) dims.push_back(d);
    else
      EMBER_CHECK(target == have, ShapeError, "sum_to: cannot reduce ", shape_str(x.sizes()), " to ",
                  shape_str(sizes));
  }
  if (dims.empty()) return reshape(x, sizes);
  return reshape(sum(x, dims, true), sizes);
}

// ---- operators ----
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, Scalar b) { return add(a, b); }
Tensor operator-(const Tensor& a, Scalar b) { return sub(a, b); }
Tensor operator*(const Tensor& a, Scalar b) { return mul(a, b); }
Tensor operator/(const Tensor& a, Scalar b) { return div(a, b); }
Tensor operator+(Scalar a, const Tensor& b) { return add(wrap_scalar(a), b); }
Tensor operator-(Scalar a, const Tensor& b) { return sub(wrap_scalar(a), b); }
Tensor operator*(Scalar a, const Tensor& b) { return mul(a, b); }
Tensor operator/(Scalar a, const Tensor& b) { return div(a, b); }
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator==(const Tensor& a, Scalar b) { return eq(a, b); }
Tensor operator<(const Tensor& a, Scalar b) { return lt(a, b); }
Tensor operator>(const Tensor& a, Scalar b) { return gt(a, b); }
Tensor operator&&(const Tensor& a, const Tensor& b) { return logical_and(a, b); }
Tensor operator||(const Tensor& a, const Tensor& b) { return logical_or(a, b); }
Tensor operator!(const Tensor& a) { return logical_not(a); }

static const OpDef* const kBinaryOps[] = {
    &add_op, &sub_op, &mul_op, &div_op, &pow_op, &remainder_op, &maximum_op, &minimum_op, &atan2_op, &eq_op, &ne_op,
    &lt_op, &le_op, &gt_op, &ge_op, &logical_and_op, &logical_or_op, &logical_xor_op, &where_op, &lerp_op};
std::span<const OpDef* const> binary_ops() { return kBinaryOps; }

}  // namespace ember
