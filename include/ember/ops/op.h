#pragma once
// The op table. Every primitive op is one OpDef: its signature, shape and
// dtype rule (infer), CPU kernel, backward formula written with other Ember
// ops, ONNX mapping and the name of its reference test. Eager calls, autograd,
// the graph tracer and exporters all read the same definition.
//
//   const OpDef exp_op{
//       .name = "exp", .inputs = {"self"},
//       .infer = infer_float_unary, .cpu = ...,
//       .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
//         return {g[0] * c.output(0)}; },
//       .saves = Saves::outputs, .onnx = "Exp"};
//   Tensor exp(const Tensor& x) { return call(exp_op, {x})[0]; }
//
// See Note [The call path] in src/ops/call.cpp.
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ember/core/tensor.h"

namespace ember {

using AttrValue = std::variant<int64_t, double, bool, Shape, std::string, DType, Scalar, std::vector<double>>;

// Named attributes of one op call (dims, eps, stride, ...). Small and copied
// into the autograd node, so lookups are a linear scan.
class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items) : items_(items) {}
  void set(std::string name, AttrValue value);
  bool has(std::string_view name) const { return find(name) != nullptr; }
  const AttrValue& get(std::string_view name) const;  // InternalError if absent
  int64_t i(std::string_view name) const { return std::get<int64_t>(get(name)); }
  double f(std::string_view name) const { return std::get<double>(get(name)); }
  bool b(std::string_view name) const { return std::get<bool>(get(name)); }
  const Shape& ints(std::string_view name) const { return std::get<Shape>(get(name)); }
  const std::string& s(std::string_view name) const { return std::get<std::string>(get(name)); }
  DType dtype(std::string_view name) const { return std::get<DType>(get(name)); }
  const Scalar& scalar(std::string_view name) const { return std::get<Scalar>(get(name)); }
  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }

 private:
  const AttrValue* find(std::string_view name) const;
  std::vector<std::pair<std::string, AttrValue>> items_;
};
std::ostream& operator<<(std::ostream& os, const Attrs& attrs);

struct TensorMeta {
  Shape sizes;
  DType dtype;
  Device device = kCPU;
};

// What a backward formula can see of its forward call.
struct OpDef;

class BackwardContext {
 public:
  BackwardContext(std::span<const Tensor> inputs, std::span<const Tensor> outputs, const Attrs& attrs,
                  std::span<const bool> needs_input_grad, std::span<const TensorMeta> input_meta)
      : inputs_(inputs), outputs_(outputs), attrs_(attrs), needs_(needs_input_grad), input_meta_(input_meta) {}
  const Tensor& input(size_t i) const;   // only if the op saves inputs
  const Tensor& output(size_t i) const;  // only if the op saves outputs
  // Shape and dtype of input i (always available, saved or not).
  const TensorMeta& input_meta(size_t i) const { return input_meta_[i]; }
  size_t num_inputs() const { return needs_.size(); }
  const Attrs& attrs() const { return attrs_; }
  // False when input i needs no gradient: the formula may skip it and return
  // an undefined Tensor there.
  bool needs_grad(size_t i) const { return i < needs_.size() && needs_[i]; }

 private:
  std::span<const Tensor> inputs_, outputs_;
  const Attrs& attrs_;
  std::span<const bool> needs_;
  std::span<const TensorMeta> input_meta_;
};

// Validates the call (throwing an ember::Error that names op.name and the
// offending shapes/values) and returns the outputs' metadata.
using InferFn = std::vector<TensorMeta> (*)(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs);
// Kernels write into preallocated outputs; they never validate arguments
// (infer already did), only data-dependent values such as gather indices.
using KernelFn = void (*)(std::span<const Tensor> inputs, std::span<Tensor> outputs, const Attrs& attrs);
// View ops return outputs that alias the input's storage instead of running a kernel.
using ViewFn = TensorList (*)(std::span<const Tensor> inputs, const Attrs& attrs);
// One gradient per input (undefined = zero / not needed). grads has one
// defined tensor per output (the engine fills missing ones with zeros).
using BackwardFn = TensorList (*)(const BackwardContext& ctx, const TensorList& grads);

enum class Saves : uint8_t { none = 0, inputs = 1, outputs = 2, both = 3 };
// What an AutocastGuard does to an op's floating inputs (see ember/ops/autocast.h).
enum class AutocastPolicy : uint8_t { none, lower_precision, fp32, promote };

struct OpDef {
  std::string_view name = {};
  int version = 1;
  std::vector<std::string_view> inputs = {};  // names; a trailing "..." means variadic
  InferFn infer = nullptr;
  KernelFn cpu = nullptr;
  KernelFn cuda = nullptr;  // set only when built with EMBER_CUDA
  ViewFn view = nullptr;
  BackwardFn backward = nullptr;
  std::string_view nondifferentiable = {};  // why there is no backward (comparisons, argmax, ...)
  Saves saves = Saves::none;
  std::string_view onnx = {};            // ONNX op it maps to
  std::string_view not_exportable = {};  // or why it cannot be exported
  // Name of the golden reference cases ("<reference>/<case>") in tests/golden.
  std::string_view reference = {};
  // Indices of the inputs whose gradients do not exist (integer index inputs).
  std::vector<int> integer_inputs = {};
  AutocastPolicy autocast = AutocastPolicy::none;  // none: inputs reach the op unchanged
  // Output k may be given input in_place_inputs[k]'s buffer: the kernel is
  // written to update that input in place (optimizer updates, which eager
  // mode runs through call_into). Lets a graph write parameters and optimizer
  // state directly instead of copying results back (see Note [State updates
  // in place] in src/graph/memory_plan.cpp).
  std::vector<int> in_place_inputs = {};
};

// Runs an op: infer -> kernel (or view) -> autograd record. Inputs are
// borrowed (a braced list stays on the stack: no vector per call).
TensorList call(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs = {});
inline TensorList call(const OpDef& op, std::initializer_list<Tensor> inputs, const Attrs& attrs = {}) {
  return call(op, std::span<const Tensor>(inputs.begin(), inputs.size()), attrs);
}
// Runs an op's kernel into existing `out` (in-place forms). Output metadata
// must match infer's (same shape; dtype castable) or a DTypeError/ShapeError is raised.
void call_out(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs, Tensor& out);
inline void call_out(const OpDef& op, std::initializer_list<Tensor> inputs, const Attrs& attrs, Tensor& out) {
  call_out(op, std::span<const Tensor>(inputs.begin(), inputs.size()), attrs, out);
}

// Runs an op's kernel into existing tensors that may alias its inputs
// (multi-output in-place updates such as an optimizer's step). Outputs must
// have infer's sizes and dtypes. Not recorded by autograd.
void call_into(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs, std::span<const Tensor> outputs);

// Every registered op (the families listed in src/ops/registry.cpp).
std::span<const OpDef* const> all_ops();
const OpDef* find_op(std::string_view name);  // nullptr if unknown


}  // namespace ember
