// Unary elementwise ops. Each op is one OpDef; functors compute in
// compute_t<T> (float for bf16/f16).
#include "ember/ops/unary.h"

#include <cmath>

#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "elementwise.h"
#include "registry.h"

namespace ember {
using namespace detail;

namespace {

struct Neg : NumericDTypes {
  explicit Neg(const Attrs&) {}
  template <class C> C operator()(C x) const { return C(-x); }
};
struct Exp : FloatDTypes {
  explicit Exp(const Attrs&) {}
  template <class C> C operator()(C x) const { return std::exp(x); }
};

// to_dtype: any dtype to any dtype.
std::vector<TensorMeta> infer_to(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  return {{in[0].sizes(), attrs.dtype("dtype")}};
}
void to_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) { copy_into(out[0], in[0]); }

}  // namespace

const OpDef neg_op{.name = "neg", .inputs = {"self"}, .infer = infer_unary_numeric, .cpu = unary_kernel<Neg>,
                   .backward = [](const BackwardContext&, const TensorList& g) -> TensorList { return {neg(g[0])}; },
                   .onnx = "Neg", .reference = "neg"};
const OpDef exp_op{.name = "exp", .inputs = {"self"}, .infer = infer_unary_float, .cpu = unary_kernel<Exp>,
                   .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                     return {mul(g[0], c.output(0))};
                   },
                   .saves = Saves::outputs, .onnx = "Exp", .reference = "exp"};
const OpDef to_op{.name = "to", .inputs = {"self"}, .infer = infer_to, .cpu = to_kernel,
                  .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                    return {to_dtype(g[0], c.input_meta(0).dtype)};
                  },
                  .onnx = "Cast", .reference = "to"};

Tensor neg(const Tensor& x) { return call(neg_op, {x})[0]; }
Tensor exp(const Tensor& x) { return call(exp_op, {x})[0]; }
Tensor to_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return call(to_op, {x}, {{"dtype", dtype}})[0];
}

Tensor operator-(const Tensor& a) { return neg(a); }

static const OpDef* const kUnaryOps[] = {&neg_op, &exp_op, &to_op};
std::span<const OpDef* const> unary_ops() { return kUnaryOps; }

}  // namespace ember
