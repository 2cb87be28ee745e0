#include "ember/graph/trace.h"

#include <algorithm>
#include <cstring>

#include "ember/autograd/autograd.h"
#include "ember/ops/binary.h"
#include "ember/ops/shape.h"
#include "tracer.h"

namespace ember::graph {

namespace detail {

Tracer* active_tracer() { return dynamic_cast<Tracer*>(trace_hook()); }

Tracer::Tracer(Graph& graph, const TraceOptions& options, Tracer* parent)
    : graph_(graph), options_(options), parent_(parent) {
  for (const auto& [name, t] : options.named_state)
    if (t.defined()) names_.emplace(&t.impl(), name);
}

ValueId Tracer::find(const Tensor& t) const {
  auto it = value_of_.find(&t.impl());
  return it == value_of_.end() ? kNoValue : it->second;
}

void Tracer::bind(const Tensor& t, ValueId id) {
  if (value_of_.insert_or_assign(&t.impl(), id).second) keep_alive_.push_back(t);
  stale_.erase(&t.impl());
}

void Tracer::add_input(const Tensor& t, std::string name) {
  EMBER_CHECK(find(t) == kNoValue, TraceError, "trace: input '", name, "' is the same tensor as another input");
  bind(t, graph_.add_input(std::move(name), {t.sizes(), t.dtype(), t.device()}));
}

bool Tracer::is_traced_value(const Tensor& t) const {
  const ValueId id = find(t);
  if (id == kNoValue) return parent_ != nullptr && parent_->is_traced_value(t);
  const ValueKind kind = graph_.value(id).kind;
  return kind == ValueKind::input || kind == ValueKind::node;
}

ValueId Tracer::lookup(const Tensor& t) {
  if (!t.defined()) return kNoValue;
  EMBER_CHECK(!stale_.contains(&t.impl()), TraceError,
              "trace: a tensor was read after an in-place op changed the storage it views; the graph would read "
              "the old value. Use the result of the in-place op, or clone() the view before writing");
  if (const ValueId id = find(t); id != kNoValue) return id;
  if (parent_ != nullptr && parent_->find(t) != kNoValue) {
    // A value of the enclosing graph: becomes an extra input of this branch.
    captures_.push_back(t);
    const ValueId id = graph_.add_input("capture" + std::to_string(captures_.size() - 1),
                                        {t.sizes(), t.dtype(), t.device()});
    bind(t, id);
    return id;
  }
  // Another handle on a known tensor (detach(), a copied impl): same value.
  for (const Tensor& known : keep_alive_) {
    const TensorImpl& k = known.impl();
    if (k.storage == t.impl().storage && k.offset == t.impl().offset && k.sizes == t.sizes() &&
        k.strides == t.strides() && k.dtype == t.dtype()) {
      const ValueId id = find(known);
      if (id == kNoValue || stale_.contains(&k)) continue;
      bind(t, id);
      return id;
    }
  }
  EMBER_CHECK(!prior_grads_.contains(&t.impl()), TraceError,
              "trace: the function reads a parameter's gradient from before the call (gradients accumulated "
              "across calls); call optimizer.zero_grad() inside the traced function");
  // Captured by reference: named state and parameters stay live; anything
  // else read-only is a constant (it may become state if written later).
  ValueId id;
  if (auto name = names_.find(&t.impl()); name != names_.end()) {
    id = graph_.add_parameter(name->second, t);
  } else if (t.requires_grad() && t.is_leaf()) {
    id = graph_.add_parameter("param." + std::to_string(unnamed_state_++), t);
  } else {
    id = graph_.add_constant(t);
  }
  if (t.requires_grad() && t.is_leaf() && t.impl().grad) prior_grads_.insert(t.impl().grad.get());
  captured_value_.emplace(&t.impl(), id);
  bind(t, id);
  return id;
}

void Tracer::add_node(const OpDef& op, std::span<const Tensor> inputs, Attrs attrs,
                      std::span<const Tensor> outputs, std::vector<std::shared_ptr<const Graph>> subgraphs) {
  std::vector<ValueId> ids;
  ids.reserve(inputs.size());
  for (const Tensor& t : inputs) ids.push_back(lookup(t));
  std::vector<TensorMeta> metas;
  for (const Tensor& t : outputs) metas.push_back({t.sizes(), t.dtype(), t.device()});
  const std::vector<ValueId> outs = graph_.add_node(op, std::move(ids), std::move(attrs), metas);
  Node& node = graph_.nodes.back();
  node.subgraphs = std::move(subgraphs);
  node.host_attrs = std::move(pending_host_attrs_);
  pending_host_attrs_.clear();
  for (size_t o = 0; o < outputs.size(); ++o) bind(outputs[o], outs[o]);
}

void Tracer::record(const OpDef& op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                    const Attrs& attrs) {
  add_node(op, inputs, attrs, outputs);
}

void Tracer::check_writable(const Tensor& out, std::string_view op) {
  const ValueId id = find(out);
  EMBER_CHECK(id == kNoValue || graph_.value(id).kind != ValueKind::input, TraceError, "trace: ", op,
              " writes in place into graph input '", graph_.value(id).name,
              "'; inputs are read-only in a graph (write into a copy)");
  EMBER_CHECK(out.impl().view_base == nullptr, TraceError, "trace: ", op,
              " writes in place into a view; graphs cannot replay writes through views (write into the base "
              "tensor, or use the out-of-place op)");
  lookup(out);  // captures state written before it is read
}

// Note [In-place writes]
// A graph is functional: an in-place op makes a new value, and the written
// tensor is rebound to it. Other handles with the same geometry (detach(),
// p.data) follow; other views of the storage taken earlier are stale (an
// error if read). Captured state written this way becomes a StateUpdate.
void Tracer::assign(const Tensor& out, ValueId result) {
  const TensorImpl& w = out.impl();
  for (auto& [impl, value] : value_of_) {
    if (impl->storage != w.storage) continue;
    if (impl->offset == w.offset && impl->sizes == w.sizes && impl->strides == w.strides && impl->dtype == w.dtype) {
      value = result;
      stale_.erase(impl);
      if (captured_value_.contains(impl) && std::find(mutated_.begin(), mutated_.end(), impl) == mutated_.end())
        mutated_.push_back(impl);
    } else {
      stale_.insert(impl);
    }
  }
}

void Tracer::record_inplace(const OpDef& op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
                            const Attrs& attrs) {
  for (const Tensor& out : outputs) check_writable(out, op.name);
  // The op's own result types; a cast follows where the destination differs
  // (an in-place add into a float64 tensor of float32 operands).
  TensorList metas;
  {
    TraceHookGuard pause(nullptr);
    for (const TensorMeta& m : op.infer(op, inputs, attrs)) metas.push_back(meta_tensor(m));
  }
  std::vector<ValueId> ids;
  for (const Tensor& t : inputs) ids.push_back(lookup(t));
  std::vector<TensorMeta> out_metas;
  for (const Tensor& m : metas) out_metas.push_back({m.sizes(), m.dtype(), m.device()});
  const std::vector<ValueId> results = graph_.add_node(op, std::move(ids), attrs, out_metas);
  graph_.nodes.back().host_attrs = std::move(pending_host_attrs_);
  pending_host_attrs_.clear();
  static const OpDef* const to_op = find_op("to");
  for (size_t o = 0; o < outputs.size(); ++o) {
    ValueId result = results[o];
    if (outputs[o].dtype() != metas[o].dtype())
      result = graph_.add_node(*to_op, {result}, {{"dtype", outputs[o].dtype()}})[0];
    assign(outputs[o], result);
  }
}

void Tracer::record_copy(const Tensor& dst, const Tensor& src) {
  check_writable(dst, "copy_");
  static const OpDef* const expand_op = find_op("expand");
  static const OpDef* const to_op = find_op("to");
  ValueId v = lookup(src);
  if (src.sizes() != dst.sizes()) v = graph_.add_node(*expand_op, {v}, {{"size", dst.sizes()}})[0];
  if (src.dtype() != dst.dtype()) v = graph_.add_node(*to_op, {v}, {{"dtype", dst.dtype()}})[0];
  assign(dst, v);
}

void Tracer::read_on_host(const Tensor& t, const char* what) {
  EMBER_CHECK(!is_traced_value(t), TraceError, "trace: ", what,
              " reads a value computed from the traced inputs on the host; the graph would bake in this call's "
              "value. Return it from the function and read it outside, or use ember::cond / ember::while_loop "
              "for data-dependent control flow");
}

void Tracer::draw_random() {
  EMBER_CHECK(false, TraceError,
              "trace: random numbers drawn on the host (ember::rand, randn, randint, randperm, or a dropout with a "
              "generator of its own) would be baked into the graph and repeat at every run. Draw them inside the "
              "op table (nn::Dropout with the default generator does), or pass them in as inputs");
}

void Tracer::bind_next_attr(std::string name, std::function<AttrValue()> read) {
  pending_host_attrs_.push_back({std::move(name), std::move(read)});
}

void Tracer::add_host_effect(std::function<void()> effect) { graph_.host_effects.push_back(std::move(effect)); }

void Tracer::finish(const TensorList& outputs) {
  for (const Tensor& t : outputs) {
    EMBER_CHECK(t.defined(), TraceError, "trace: the function returned an undefined tensor");
    graph_.outputs.push_back(lookup(t));
  }
  // State written in place: the captured value becomes a parameter the graph
  // updates at the end of each run.
  for (const TensorImpl* impl : mutated_) {
    const ValueId target = captured_value_.at(impl);
    Value& v = graph_.value(target);
    if (v.kind == ValueKind::constant) {
      v.kind = ValueKind::parameter;
      v.name = "state." + std::to_string(unnamed_state_++);
    }
    graph_.updates.push_back({StateUpdate::Kind::copy_into, target, value_of_.at(impl)});
  }
  // Gradients the trace assigned to captured parameters (backward()).
  for (const auto& [impl, id] : captured_value_) {
    const Value& v = graph_.value(id);
    if (v.kind != ValueKind::parameter || !impl->grad) continue;
    auto it = value_of_.find(impl->grad.get());
    if (it == value_of_.end() || graph_.value(it->second).kind != ValueKind::node) continue;
    graph_.updates.push_back({StateUpdate::Kind::assign_grad, id, it->second});
  }
  // Deterministic order (captured_value_ is a hash map).
  std::stable_sort(graph_.updates.begin(), graph_.updates.end(),
                   [](const StateUpdate& a, const StateUpdate& b) {
                     return std::pair(a.kind, a.target) < std::pair(b.kind, b.target);
                   });
  EMBER_CHECK(pending_host_attrs_.empty(), TraceError,
              "trace: bind_next_attr_to_host was called but no op followed it");
}

}  // namespace detail

void bind_next_attr_to_host(std::string name, std::function<AttrValue()> read) {
  detail::Tracer* tracer = detail::active_tracer();
  EMBER_CHECK(tracer != nullptr, ValueError, "bind_next_attr_to_host: not tracing");
  tracer->bind_next_attr(std::move(name), std::move(read));
}

void add_host_effect(std::function<void()> effect) {
  detail::Tracer* tracer = detail::active_tracer();
  EMBER_CHECK(tracer != nullptr, ValueError, "add_host_effect: not tracing");
  tracer->add_host_effect(std::move(effect));
}

bool is_tracing() { return detail::active_tracer() != nullptr; }

namespace {

Graph trace_once(const TracedFunction& fn, const TensorList& inputs, const TraceOptions& options,
                 TensorList* results) {
  Graph graph;
  detail::Tracer tracer(graph, options);
  for (size_t i = 0; i < inputs.size(); ++i) {
    EMBER_CHECK(inputs[i].defined(), ValueError, "trace: example input ", i, " is undefined");
    tracer.add_input(inputs[i], i < options.input_names.size() ? options.input_names[i] : "input" + std::to_string(i));
  }
  TensorList outputs;
  {
    TraceHookGuard install(&tracer);
    outputs = fn(inputs);
  }
  tracer.finish(outputs);
  if (results) *results = outputs;
  return graph;
}

// Example inputs with dimension `dim` of input `input` one larger: the
// first slice repeated (values stay valid, e.g. class indices).
Tensor grow(const Tensor& t, int dim) {
  EMBER_CHECK(dim >= 0 && dim < t.dim() && t.size(dim) >= 1, ValueError, "trace: dynamic dimension ", dim,
              " of an input shaped ", t.meta_str());
  autograd::NoGradGuard no_grad;
  return cat({t, t.narrow(dim, 0, 1)}, dim);
}

// Sizes as an affine function of one symbol, from traces at b and b + 1.
DimExpr fit(int symbol, int64_t b, int64_t at_b, int64_t at_b1) {
  if (at_b == at_b1) return {-1, 0, at_b};
  return {symbol, at_b1 - at_b, at_b - (at_b1 - at_b) * b};
}

bool same_contents(const Tensor& a, const Tensor& b) {
  TraceHookGuard pause(nullptr);
  autograd::NoGradGuard no_grad;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw_data(), cb.raw_data(), size_t(ca.numel()) * itemsize(ca.dtype())) == 0;
}

std::string node_str(const Node& n, size_t index) { return std::string(n.op->name) + " (node " + std::to_string(index) + ")"; }

// Folds a trace at symbol s = b + 1 into `base` (traced at b).
void merge_symbol(Graph& base, const Graph& grown, int symbol, int64_t b) {
  const std::string& sym = base.symbols[size_t(symbol)];
  EMBER_CHECK(base.nodes.size() == grown.nodes.size() && base.values.size() == grown.values.size(), TraceError,
              "trace: the graph's structure depends on dynamic dimension '", sym, "' (", base.nodes.size(),
              " ops at ", sym, " = ", b, ", ", grown.nodes.size(), " at ", b + 1,
              "); make it static or move the data-dependent part into ember::cond / ember::while_loop");
  for (size_t i = 0; i < base.values.size(); ++i) {
    Value& v = base.values[i];
    const Value& w = grown.values[i];
    EMBER_CHECK(v.kind == w.kind && v.meta.sizes.size() == w.meta.sizes.size() && v.meta.dtype == w.meta.dtype,
                TraceError, "trace: the graph's structure depends on dynamic dimension '", sym, "'");
    if (v.kind == ValueKind::constant) {
      const bool same = v.meta.sizes == w.meta.sizes && same_contents(v.data, w.data);
      EMBER_CHECK(same, TraceError, "trace: a constant (", v.data.meta_str(), ") depends on dynamic dimension '",
                  sym, "': it was computed on the host (x.size(", "...", ") used as a number, or a tensor created "
                  "with a size taken from an input). Compute it with ops on traced values instead "
                  "(e.g. mean() instead of sum() / x.size(0), zeros_like(x) instead of zeros({x.size(0)}))");
      continue;
    }
    for (size_t d = 0; d < v.meta.sizes.size(); ++d) {
      const DimExpr e = fit(symbol, b, v.meta.sizes[d], w.meta.sizes[d]);
      if (e.is_static() && (v.dims.empty() || v.dims[d].is_static())) continue;
      if (v.dims.empty()) {
        v.dims.resize(v.meta.sizes.size());
        for (size_t k = 0; k < v.dims.size(); ++k) v.dims[k] = {-1, 0, v.meta.sizes[k]};
      }
      if (e.is_static() || v.dims[d] == e) continue;
      EMBER_CHECK(v.dims[d].is_static(), TraceError, "trace: a size depends on two dynamic dimensions");
      v.dims[d] = e;
    }
  }
  for (size_t n = 0; n < base.nodes.size(); ++n) {
    Node& node = base.nodes[n];
    const Node& other = grown.nodes[n];
    EMBER_CHECK(node.op == other.op && node.inputs == other.inputs && node.attrs.items().size() == other.attrs.items().size(),
                TraceError, "trace: the graph's structure depends on dynamic dimension '", sym, "' at ",
                node_str(node, n));
    for (size_t a = 0; a < node.attrs.items().size(); ++a) {
      const auto& [name, value] = node.attrs.items()[a];
      const AttrValue& grown_value = other.attrs.items()[a].second;
      if (value == grown_value) continue;
      if (const auto* i = std::get_if<int64_t>(&value)) {
        node.sym_attrs.push_back({name, -1, fit(symbol, b, *i, std::get<int64_t>(grown_value))});
        continue;
      }
      const auto* shape = std::get_if<Shape>(&value);
      EMBER_CHECK(shape != nullptr && std::get<Shape>(grown_value).size() == shape->size(), TraceError,
                  "trace: attribute '", name, "' of ", node_str(node, n), " depends on dynamic dimension '", sym,
                  "' in a way a graph cannot express");
      for (size_t k = 0; k < shape->size(); ++k)
        if ((*shape)[k] != std::get<Shape>(grown_value)[k])
          node.sym_attrs.push_back({name, int(k), fit(symbol, b, (*shape)[k], std::get<Shape>(grown_value)[k])});
    }
  }
}

}  // namespace

Graph trace(const TracedFunction& fn, const TensorList& example_inputs, const TraceOptions& options,
            TensorList* results) {
  EMBER_CHECK(!is_tracing(), TraceError, "trace: already tracing (nested trace of the same thread)");
  Graph graph = trace_once(fn, example_inputs, options, results);
  if (options.dynamic.empty()) {
    graph.verify();
    return graph;
  }
  EMBER_CHECK(graph.updates.empty() && !graph.has_host_state(), TraceError,
              "trace: a function that updates state (an optimizer step) cannot have dynamic dimensions; "
              "use ember::compile, which traces once per input signature");
  // One symbol per distinct name; inputs naming the same symbol grow together.
  for (const DynamicDim& d : options.dynamic) {
    EMBER_CHECK(d.input >= 0 && size_t(d.input) < example_inputs.size(), ValueError, "trace: dynamic dimension '",
                d.name, "' names input ", d.input, " of ", example_inputs.size());
    if (std::find(graph.symbols.begin(), graph.symbols.end(), d.name) == graph.symbols.end())
      graph.symbols.push_back(d.name);
  }
  for (size_t s = 0; s < graph.symbols.size(); ++s) {
    TensorList grown_inputs = example_inputs;
    int64_t b = -1;
    for (const DynamicDim& d : options.dynamic) {
      if (d.name != graph.symbols[s]) continue;
      Tensor& t = grown_inputs[size_t(d.input)];
      const int64_t size = example_inputs[size_t(d.input)].size(d.dim);
      EMBER_CHECK(b < 0 || b == size, ValueError, "trace: dynamic dimension '", d.name, "' is ", b,
                  " in one input and ", size, " in another");
      b = size;
      t = grow(t, d.dim);
      Value& in = graph.value(graph.inputs[size_t(d.input)]);
      if (in.dims.empty())
        for (int64_t k : in.meta.sizes) in.dims.push_back({-1, 0, k});
      in.dims[size_t(d.dim)] = {int(s), 1, 0};
    }
    Graph grown = trace_once(fn, grown_inputs, options, nullptr);
    merge_symbol(graph, grown, int(s), b);
  }
  graph.verify();
  return graph;
}

}  // namespace ember::graph
