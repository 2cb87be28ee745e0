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
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_same_v<C, bool>) return a || (b && alpha != 0);
    else return alpha == 1 ? C(a + b) : C(a + C(alpha) * b);
  }
};
struct Sub : NumericDTypes {
  double alpha;
  explicit Sub(const Attrs& a) : alpha(a.scalar("alpha").to_double()) {}
  template <class C> C operator()(C a, C b) const { return alpha == 1 ? C(a - b) : C(a - C(alpha) * b); }
};
struct Mul : AllDTypes {
  explicit Mul(const Attrs&) {}
  template <class C> C operator()(C a, C b) const {
    if constexpr (std::is_same_v<C, bool>) return a && b;
    else return a * b;
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
};

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

static const OpDef* const kBinaryOps[] = {&add_op, &sub_op, &mul_op, &div_op};
std::span<const OpDef* const> binary_ops() { return kBinaryOps; }

}  // namespace ember
