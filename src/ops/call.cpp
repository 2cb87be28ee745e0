#include <ostream>

#include "ember/autograd/autograd.h"
#include "ember/core/profiler.h"
#include "ember/core/trace_hook.h"
#include "ember/ops/autocast.h"
#include "ember/ops/op.h"

namespace ember {

void Attrs::set(std::string name, AttrValue value) {
  for (auto& [n, v] : items_)
    if (n == name) {
      v = std::move(value);
      return;
    }
  items_.emplace_back(std::move(name), std::move(value));
}

const AttrValue* Attrs::find(std::string_view name) const {
  for (const auto& [n, v] : items_)
    if (n == name) return &v;
  return nullptr;
}

const AttrValue& Attrs::get(std::string_view name) const {
  const AttrValue* v = find(name);
  EMBER_INTERNAL_ASSERT(v != nullptr, "missing attribute '", name, "'");
  return *v;
}

std::ostream& operator<<(std::ostream& os, const Attrs& attrs) {
  os << "{";
  bool first = true;
  for (const auto& [name, value] : attrs.items()) {
    os << (first ? "" : ", ") << name << "=";
    first = false;
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, Shape>) os << shape_str(v);
          else if constexpr (std::is_same_v<V, std::vector<double>>) {
            os << "[";
            for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
            os << "]";
          } else os << v;
        },
        value);
  }
  return os << "}";
}

const Tensor& BackwardContext::input(size_t i) const {
  EMBER_INTERNAL_ASSERT(i < inputs_.size(), "backward formula read input ", i, " that its op did not save");
  return inputs_[i];
}

const Tensor& BackwardContext::output(size_t i) const {
  EMBER_INTERNAL_ASSERT(i < outputs_.size(), "backward formula read output ", i, " that its op did not save");
  return outputs_[i];
}

// Note [The call path]
// call() is the only way an op runs eagerly: infer validates and computes the
// output metadata before anything is allocated or written (so a bad call
// changes nothing), then the kernel (or view function) runs, then, if grad
// mode is on and some input requires grad, autograd records a node holding
// &op and what the op saves. No string lookups, no virtual dispatch, and no
// heap allocation beyond the outputs, the metadata vectors and (when
// recording) the autograd node. With the profiler on, each call is one event
// (see Note [Profiler cost] in ember/core/profiler.h). While graph mode traces,
// the trace hook records the call after it ran (ember/graph/trace.h); kernels
// run with the hook paused, so ops a kernel uses internally are not recorded.
namespace {

TensorList run(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs) {
  // See Note [Autocast] in ember/ops/autocast.h.
  TensorList autocast_copies;  // owns the cast inputs while `inputs` points at them
  if (op.autocast != AutocastPolicy::none && is_autocast_enabled()) {
    autocast_copies = detail::autocast_inputs(op, inputs);
    inputs = autocast_copies;
  }
  const std::vector<TensorMeta> metas = op.infer(op, inputs, attrs);
  TensorList outputs;
  if (op.view) {
    outputs = op.view(inputs, attrs);
  } else {
    outputs.reserve(metas.size());
    for (const auto& m : metas) outputs.push_back(Tensor::empty(m.sizes, m.dtype, m.device));
    EMBER_CHECK(op.cpu != nullptr, NotImplementedError, op.name, ": no CPU kernel");
    // Kernels may use Tensor methods (contiguous(), to()) on inputs that
    // require grad; none of that is part of the user's graph.
    autograd::NoGradGuard no_grad;
    TraceHookGuard pause(nullptr);
    op.cpu(inputs, outputs, attrs);
  }
  if (autograd::GradMode::is_enabled() && (op.backward != nullptr)) {
    for (const auto& t : inputs)
      if (t.defined() && t.requires_grad()) {
        autograd::record(op, inputs, outputs, attrs);
        break;
      }
  }
  if (TraceHook* hook = trace_hook()) [[unlikely]] hook->record(op, inputs, outputs, attrs);
  return outputs;
}

void run_out(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs, Tensor& out) {
  const std::vector<TensorMeta> metas = op.infer(op, inputs, attrs);
  EMBER_INTERNAL_ASSERT(metas.size() == 1 && !op.view, op.name, " has no out= form");
  EMBER_CHECK(metas[0].sizes == out.sizes(), ShapeError, op.name, ": output with shape ", shape_str(out.sizes()),
              " doesn't match the broadcast shape ", shape_str(metas[0].sizes));
  const DType result = metas[0].dtype;
  // In-place ops may not narrow the category (float result into an int tensor).
  const bool narrows = (is_floating(result) && !is_floating(out.dtype())) ||
                       (out.dtype() == DType::b8 && result != DType::b8);
  EMBER_CHECK(!narrows,
              DTypeError, op.name, ": result type ", result, " can't be cast to the desired output type ",
              out.dtype());
  TraceHook* hook = trace_hook();
  {
    autograd::NoGradGuard no_grad;  // see call()
    TraceHookGuard pause(nullptr);
    if (result == out.dtype()) {
      Tensor outs[1] = {out};
      op.cpu(inputs, std::span<Tensor>(outs, 1), attrs);
      out.bump_version();
    } else {
      Tensor outs[1] = {Tensor::empty(metas[0].sizes, result)};
      op.cpu(inputs, std::span<Tensor>(outs, 1), attrs);
      out.copy_(outs[0]);  // bumps the version
    }
  }
  if (hook) [[unlikely]] hook->record_inplace(op, inputs, std::span<const Tensor>(&out, 1), attrs);
}

void run_into(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs, std::span<const Tensor> outputs) {
  const std::vector<TensorMeta> metas = op.infer(op, inputs, attrs);
  EMBER_INTERNAL_ASSERT(metas.size() == outputs.size() && !op.view, op.name, ": call_into with ", outputs.size(),
                        " outputs for ", metas.size());
  for (size_t i = 0; i < metas.size(); ++i)
    EMBER_INTERNAL_ASSERT(metas[i].sizes == outputs[i].sizes() && metas[i].dtype == outputs[i].dtype(), op.name,
                          ": call_into output ", i, " is ", outputs[i].meta_str());
  TraceHook* hook = trace_hook();
  {
    autograd::NoGradGuard no_grad;
    TraceHookGuard pause(nullptr);
    TensorList outs(outputs.begin(), outputs.end());
    op.cpu(inputs, outs, attrs);
  }
  for (const Tensor& t : outputs) t.bump_version();
  if (hook) [[unlikely]] hook->record_inplace(op, inputs, outputs, attrs);
}

}  // namespace

TensorList call(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs) {
  if (profiler::is_enabled()) [[unlikely]] {
    profiler::Scope scope(op.name, profiler::Category::op, profiler::shapes_of(inputs));
    return run(op, inputs, attrs);
  }
  return run(op, inputs, attrs);
}

// In-place forms are named as in PyTorch's profiler: "add_", "mul_", ...
void call_out(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs, Tensor& out) {
  if (profiler::is_enabled()) [[unlikely]] {
    profiler::Scope scope(std::string(op.name) + "_", profiler::Category::op, profiler::shapes_of(inputs));
    return run_out(op, inputs, attrs, out);
  }
  run_out(op, inputs, attrs, out);
}

void call_into(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs, std::span<const Tensor> outputs) {
  if (profiler::is_enabled()) [[unlikely]] {
    profiler::Scope scope(op.name, profiler::Category::op, profiler::shapes_of(inputs));
    return run_into(op, inputs, attrs, outputs);
  }
  run_into(op, inputs, attrs, outputs);
}

}  // namespace ember
