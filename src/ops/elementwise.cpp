#include "elementwise.h"

namespace ember::detail {

Tensor cast(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.sizes(), dtype);
  copy_into(out, t);
  return out;
}

namespace {
Shape broadcast_inputs(const OpDef& op, std::span<const Tensor> in) {
  check_defined(in, op.name);
  std::vector<Shape> shapes;
  for (const auto& t : in) shapes.push_back(t.sizes());
  return broadcast_shape(shapes, op.name);
}
}  // namespace

std::vector<TensorMeta> infer_broadcast_promote(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  Shape shape = broadcast_inputs(op, in);
  return {{std::move(shape), result_type(in)}};
}

std::vector<TensorMeta> infer_broadcast_float(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  Shape shape = broadcast_inputs(op, in);
  return {{std::move(shape), float_result(result_type(in))}};
}

std::vector<TensorMeta> infer_broadcast_bool(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  Shape shape = broadcast_inputs(op, in);
  return {{std::move(shape), DType::b8}};
}

std::vector<TensorMeta> infer_unary_float(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  return {{in[0].sizes(), float_result(in[0].dtype())}};
}

std::vector<TensorMeta> infer_unary_numeric(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  EMBER_CHECK(in[0].dtype() != DType::b8, DTypeError, op.name, ": not supported for bool tensors");
  return {{in[0].sizes(), in[0].dtype()}};
}

std::vector<TensorMeta> infer_unary_bool(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  return {{in[0].sizes(), DType::b8}};
}

}  // namespace ember::detail
