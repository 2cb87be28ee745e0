// The graph executor: see Note [Memory planning] and Note [Executor outputs]
// in ember/graph/executor.h.
#include "ember/graph/executor.h"

#include "ember/autograd/autograd.h"
#include "ember/core/profiler.h"
#include "ember/core/trace_hook.h"
#include "run_node.h"

namespace ember::graph {

// Note [Arena tensors]
// A run makes its arena tensors all at once: the TensorImpls of every arena
// value, prepared once per binding (geometry, dtype, offset), are copied into
// one block per run and pointed at that run's arena. The tensors alias the
// block (shared_ptr's aliasing constructor), so a run allocates the arena,
// this block and its value table, and nothing per node.
//
// Each arena value has a version counter of its own, starting at its value id
// times 1024: values that occupy the same slot at different times are then
// different (storage, offset, version) to the caches that key on that triple
// (the convolution's reordered inputs, Note [Reordered copies] in
// src/ops/cpu/conv.cpp), as tensors of their own would be. The counters are
// a block of their own: in the TensorImpls' block they would keep it alive.
struct Executor::Prepared {
  MemoryPlan plan;
  // Values computed into a parameter's tensor: {value, parameter} (see Note
  // [State updates in place] in src/graph/memory_plan.cpp).
  std::vector<std::pair<ValueId, ValueId>> state_values;
  std::vector<ValueId> arena_values;  // the values with an arena slot
  std::vector<TensorImpl> arena_impls;  // theirs, without storage
  // Per value computed by a kernel outside the arena: its sizes (else empty).
  std::vector<Shape> fresh_sizes;
};

Executor::Executor(Graph graph) : graph_(std::move(graph)) {
  graph_.verify();
  for (const Value& value : graph_.values)
    if (value.data.defined()) held_storages_.insert(value.data.impl().storage.get());
  for (const Node& node : graph_.nodes) {
    if (node.op->view || detail::is_control_flow(node)) continue;
    EMBER_CHECK(node.op->cpu != nullptr, NotImplementedError, "Executor: ", node.op->name, " has no CPU kernel");
    for (ValueId out : node.outputs)
      EMBER_CHECK(graph_.value(out).meta.device.is_cpu(), NotImplementedError, "Executor: ", node.op->name,
                  " produces a tensor on ", graph_.value(out).meta.device, "; graphs run on the CPU only");
  }
}

Executor::~Executor() = default;

// Note [Replaced gradients]
// A compiled training step assigns every parameter a new gradient at the end
// of the run. The old ones are dead: the tracer rejects a function that reads
// a gradient from before the call. Eager code drops them in zero_grad(),
// before the forward pass; dropping them when the run starts does the same,
// so that the old and the new set are not both alive during the run. A
// gradient the graph itself holds (a captured tensor) stays.
void Executor::release_replaced_grads() {
  for (const StateUpdate& update : graph_.updates) {
    if (update.kind != StateUpdate::Kind::assign_grad) continue;
    std::shared_ptr<TensorImpl>& grad = graph_.value(update.target).data.impl().grad;
    if (grad && !held_storages_.contains(grad->storage.get())) grad.reset();
  }
}

std::vector<int64_t> Executor::bind(const TensorList& inputs) const { return detail::bind_inputs(graph_, inputs); }

const Executor::Prepared& Executor::prepared(const std::vector<int64_t>& bindings) {
  std::lock_guard lock(mutex_);
  std::unique_ptr<const Prepared>& slot = plans_[bindings];
  if (!slot) {
    if (!bindings.empty()) detail::check_sizes_at(graph_, bindings);
    auto p = std::make_unique<Prepared>();
    p->plan = plan_memory(graph_, bindings);
    p->fresh_sizes.resize(graph_.values.size());
    for (const Node& node : graph_.nodes) {
      if (node.op->view || detail::is_control_flow(node)) continue;
      for (ValueId out : node.outputs) {
        const TensorMeta& meta = graph_.value(out).meta;
        if (const ValueId state = p->plan.into_state[size_t(out)]; state != kNoValue) {
          p->state_values.emplace_back(out, state);
          continue;
        }
        const int64_t offset = p->plan.offset[size_t(out)];
        if (offset < 0) {
          p->fresh_sizes[size_t(out)] = graph_.sizes(out, bindings);
          continue;
        }
        TensorImpl& impl = p->arena_impls.emplace_back();
        impl.sizes = graph_.sizes(out, bindings);
        impl.strides = contiguous_strides(impl.sizes);
        impl.offset = offset / int64_t(itemsize(meta.dtype));  // aligned to 64 bytes: a whole element
        impl.dtype = meta.dtype;
        impl.device = meta.device;
        p->arena_values.push_back(out);
      }
    }
    slot = std::move(p);
  }
  return *slot;
}

const MemoryPlan& Executor::plan(const TensorList& inputs) { return prepared(bind(inputs)).plan; }

namespace {

// Runs one node on `args`, leaving its outputs in `results`. Kernel outputs
// are the arena tensors of `values` where the plan placed them, else fresh.
void run_node(const Graph& graph, const Node& node, std::span<const Tensor> args, const Attrs& attrs,
              std::span<const Shape> fresh_sizes, std::span<const Tensor> values, const Storage& arena,
              TensorList& results) {
  if (detail::is_control_flow(node)) {
    results = detail::run_control_flow(node, args);
    // A branch may return a view of an operand, which can be an arena tensor
    // whose space the plan hands on after this node.
    for (Tensor& t : results)
      if (t.impl().storage.get() == &arena) t = t.clone();
    return;
  }
  if (node.op->view) {
    results = node.op->view(args, attrs);
    return;
  }
  results.clear();
  for (ValueId out : node.outputs) {
    const auto v = size_t(out);
    if (values[v].defined()) results.push_back(values[v]);  // its arena tensor
    else results.push_back(Tensor::empty(fresh_sizes[v], graph.values[v].meta.dtype, graph.values[v].meta.device));
  }
  node.op->cpu(args, results, attrs);
}

}  // namespace

TensorList Executor::run(const TensorList& inputs) {
  const std::vector<int64_t> bindings = bind(inputs);  // before any effect: a bad call changes nothing
  for (const auto& effect : graph_.host_effects) effect();
  release_replaced_grads();
  const Prepared& prepared_plan = prepared(bindings);
  // One allocation for every intermediate of this run (offsets are 64-byte
  // aligned, so each slice is as aligned as a tensor of its own).
  const auto arena = std::make_shared<Storage>(size_t(prepared_plan.plan.arena_bytes), kCPU);

  std::vector<Tensor> values(graph_.values.size());
  for (size_t i = 0; i < graph_.inputs.size(); ++i) values[size_t(graph_.inputs[i])] = inputs[i];
  for (size_t v = 0; v < graph_.values.size(); ++v)
    if (graph_.values[v].data.defined()) values[v] = graph_.values[v].data;  // parameters, constants
  for (const auto& [value, state] : prepared_plan.state_values) values[size_t(value)] = values[size_t(state)];
  // See Note [Arena tensors].
  const auto impls = std::make_shared<std::vector<TensorImpl>>(prepared_plan.arena_impls);
  const auto versions = std::make_shared<std::vector<VersionCounter>>(impls->size());
  for (size_t k = 0; k < impls->size(); ++k) {
    TensorImpl& impl = (*impls)[k];
    const ValueId value = prepared_plan.arena_values[k];
    impl.storage = arena;
    (*versions)[k].version = uint32_t(value) << 10;
    impl.version = std::shared_ptr<VersionCounter>(versions, &(*versions)[k]);
    values[size_t(value)] = Tensor(std::shared_ptr<TensorImpl>(impls, &impl));
  }
  {
    // As in call(): kernels may use Tensor methods on inputs that require
    // grad, and none of that belongs to a trace in progress.
    autograd::NoGradGuard no_grad;
    TraceHookGuard pause(nullptr);
    TensorList args, results;
    for (const Node& node : graph_.nodes) {
      args.clear();
      for (ValueId in : node.inputs) args.push_back(in == kNoValue ? Tensor() : values[size_t(in)]);
      Attrs resolved;
      const bool symbolic = !node.sym_attrs.empty() || !node.host_attrs.empty();
      if (symbolic) resolved = detail::resolved_attrs(node, bindings);
      const Attrs& attrs = symbolic ? resolved : node.attrs;
      if (profiler::is_enabled()) [[unlikely]] {
        profiler::Scope scope(node.op->name, profiler::Category::op, profiler::shapes_of(args));
        run_node(graph_, node, args, attrs, prepared_plan.fresh_sizes, values, *arena, results);
      } else {
        run_node(graph_, node, args, attrs, prepared_plan.fresh_sizes, values, *arena, results);
      }
      EMBER_INTERNAL_ASSERT(results.size() == node.outputs.size(), node.op->name, " gave ", results.size(),
                            " outputs for ", node.outputs.size());
      for (size_t k = 0; k < results.size(); ++k) values[size_t(node.outputs[k])] = std::move(results[k]);
    }
  }
  // Kernels that wrote parameters in place did not bump their versions (as
  // call_into does); caches keyed by version (a convolution's reordered
  // weights) must see the change.
  for (const auto& [value, state] : prepared_plan.state_values) values[size_t(state)].bump_version();
  detail::apply_updates(graph_, values);
  TensorList outputs;
  outputs.reserve(graph_.outputs.size());
  for (ValueId out : graph_.outputs) outputs.push_back(values[size_t(out)]);
  return outputs;
}

}  // namespace ember::graph
