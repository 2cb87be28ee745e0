#include "ember/graph/graph.h"

#include <algorithm>
#include <sstream>

#include "ember/autograd/autograd.h"
#include "ember/core/trace_hook.h"
#include "../ops/meta_tensor.h"
#include "run_node.h"

namespace ember::graph {

Tensor meta_tensor(const TensorMeta& meta) { return ember::detail::meta_tensor(meta); }

// ---- building ----

ValueId Graph::add_input(std::string name, TensorMeta meta) {
  Value v;
  v.kind = ValueKind::input;
  v.meta = std::move(meta);
  v.name = std::move(name);
  values.push_back(std::move(v));
  inputs.push_back(ValueId(values.size() - 1));
  return inputs.back();
}

ValueId Graph::add_parameter(std::string name, Tensor data) {
  Value v;
  v.kind = ValueKind::parameter;
  v.meta = {data.sizes(), data.dtype(), data.device()};
  v.name = std::move(name);
  v.data = std::move(data);
  values.push_back(std::move(v));
  return ValueId(values.size() - 1);
}

ValueId Graph::add_constant(Tensor data) {
  Value v;
  v.kind = ValueKind::constant;
  v.meta = {data.sizes(), data.dtype(), data.device()};
  v.data = std::move(data);
  values.push_back(std::move(v));
  return ValueId(values.size() - 1);
}

const Value& Graph::value(ValueId id) const {
  EMBER_INTERNAL_ASSERT(id >= 0 && size_t(id) < values.size(), "graph value %", id, " does not exist");
  return values[size_t(id)];
}

Value& Graph::value(ValueId id) {
  EMBER_INTERNAL_ASSERT(id >= 0 && size_t(id) < values.size(), "graph value %", id, " does not exist");
  return values[size_t(id)];
}

Shape Graph::sizes(ValueId id, std::span<const int64_t> bindings) const {
  const Value& v = value(id);
  if (!v.is_dynamic()) return v.meta.sizes;
  Shape s = v.meta.sizes;
  for (size_t d = 0; d < v.dims.size(); ++d) s[d] = v.dims[d].eval(bindings);
  return s;
}

namespace {

// The symbols' values the graph was traced (or built) at, from its inputs.
std::vector<int64_t> example_bindings(const Graph& g) {
  std::vector<int64_t> b(g.symbols.size(), -1);
  for (ValueId id : g.inputs) {
    const Value& v = g.value(id);
    for (size_t d = 0; d < v.dims.size(); ++d)
      if (!v.dims[d].is_static() && v.dims[d].scale != 0)
        b[size_t(v.dims[d].symbol)] = (v.meta.sizes[d] - v.dims[d].offset) / v.dims[d].scale;
  }
  return b;
}

bool depends_on_symbols(const Graph& g, const Node& node) {
  if (!node.sym_attrs.empty()) return true;
  for (ValueId in : node.inputs)
    if (in != kNoValue && g.value(in).is_dynamic()) return true;
  return false;
}

// op.infer on the node's inputs as they are under `bindings`.
std::vector<TensorMeta> infer_node(const Graph& g, const OpDef& op, std::span<const ValueId> inputs,
                                   const Attrs& attrs, std::span<const SymAttr> sym_attrs,
                                   std::span<const int64_t> bindings) {
  TensorList metas;
  metas.reserve(inputs.size());
  for (ValueId id : inputs) {
    if (id == kNoValue) {
      metas.emplace_back();
      continue;
    }
    const Value& v = g.value(id);
    // Constants keep their tensor: promotion reads is_wrapped_number.
    if (v.data.defined() && !v.is_dynamic()) metas.push_back(v.data);
    else metas.push_back(meta_tensor({g.sizes(id, bindings), v.meta.dtype, v.meta.device}));
  }
  if (sym_attrs.empty()) return op.infer(op, metas, attrs);
  Node tmp;
  tmp.attrs = attrs;
  tmp.sym_attrs.assign(sym_attrs.begin(), sym_attrs.end());
  return op.infer(op, metas, detail::resolved_attrs(tmp, bindings));
}

// Output dims of a node with dynamic inputs: shape rules are evaluated at two
// bindings and each size fitted as scale * symbol + offset (one symbol per dim).
std::vector<std::vector<DimExpr>> fit_dims(const std::vector<TensorMeta>& at0, const std::vector<TensorMeta>& at1,
                                           std::span<const int64_t> b0) {
  std::vector<std::vector<DimExpr>> dims(at0.size());
  for (size_t o = 0; o < at0.size(); ++o) {
    EMBER_CHECK(at0[o].sizes.size() == at1[o].sizes.size(), ShapeError,
                "the rank of an output depends on a dynamic dimension");
    bool dynamic = false;
    std::vector<DimExpr> d(at0[o].sizes.size());
    for (size_t k = 0; k < d.size(); ++k) {
      const int64_t delta = at1[o].sizes[k] - at0[o].sizes[k];
      if (delta == 0) {
        d[k] = {-1, 0, at0[o].sizes[k]};
        continue;
      }
      // Every symbol moved by one: attribute the change to the first symbol
      // (graphs with one symbol, the common case, are exact).
      dynamic = true;
      d[k] = {0, delta, at0[o].sizes[k] - delta * b0[0]};
    }
    if (dynamic) dims[o] = std::move(d);
  }
  return dims;
}

}  // namespace

std::vector<ValueId> Graph::add_node(const OpDef& op, std::vector<ValueId> node_inputs, Attrs attrs) {
  const std::vector<int64_t> b0 = example_bindings(*this);
  Node probe;
  probe.inputs = node_inputs;
  const std::vector<TensorMeta> metas = infer_node(*this, op, node_inputs, attrs, {}, b0);
  std::vector<ValueId> outs = add_node(op, std::move(node_inputs), std::move(attrs), metas);
  const Node& node = nodes.back();
  if (depends_on_symbols(*this, node)) {
    std::vector<int64_t> b1 = b0;
    for (auto& s : b1) ++s;
    auto fitted = fit_dims(metas, infer_node(*this, op, node.inputs, node.attrs, node.sym_attrs, b1), b0);
    for (size_t o = 0; o < outs.size(); ++o) value(outs[o]).dims = std::move(fitted[o]);
  }
  return outs;
}

std::vector<ValueId> Graph::add_node(const OpDef& op, std::vector<ValueId> node_inputs, Attrs attrs,
                                     const std::vector<TensorMeta>& output_meta) {
  Node node;
  node.op = &op;
  node.inputs = std::move(node_inputs);
  node.attrs = std::move(attrs);
  const auto index = int32_t(nodes.size());
  for (size_t o = 0; o < output_meta.size(); ++o) {
    Value v;
    v.kind = ValueKind::node;
    v.meta = output_meta[o];
    v.node = index;
    v.index = int32_t(o);
    values.push_back(std::move(v));
    node.outputs.push_back(ValueId(values.size() - 1));
  }
  nodes.push_back(std::move(node));
  return nodes.back().outputs;
}

std::vector<int32_t> Graph::use_counts() const {
  std::vector<int32_t> uses(values.size(), 0);
  for (const Node& n : nodes)
    for (ValueId in : n.inputs)
      if (in != kNoValue) ++uses[size_t(in)];
  for (ValueId out : outputs) ++uses[size_t(out)];
  for (const StateUpdate& u : updates) ++uses[size_t(u.value)], ++uses[size_t(u.target)];
  return uses;
}

bool Graph::has_host_state() const {
  if (!host_effects.empty()) return true;
  return std::any_of(nodes.begin(), nodes.end(), [](const Node& n) { return !n.host_attrs.empty(); });
}

// ---- checking ----

void Graph::verify() const {
  std::vector<bool> defined(values.size(), false);
  for (size_t i = 0; i < values.size(); ++i) {
    const Value& v = values[i];
    if (v.kind == ValueKind::parameter || v.kind == ValueKind::constant) {
      EMBER_INTERNAL_ASSERT(v.data.defined(), "graph value %", i, " is a ", v.kind == ValueKind::parameter ?
                            "parameter" : "constant", " without a tensor");
      EMBER_INTERNAL_ASSERT(v.data.sizes() == v.meta.sizes && v.data.dtype() == v.meta.dtype, "graph value %", i,
                            " is ", v.meta.dtype, shape_str(v.meta.sizes), " but holds ", v.data.meta_str());
      defined[i] = true;
    }
    for (const DimExpr& d : v.dims)
      EMBER_INTERNAL_ASSERT(d.symbol < int(symbols.size()), "graph value %", i, " uses symbol ", d.symbol,
                            " of ", symbols.size());
    EMBER_INTERNAL_ASSERT(v.dims.empty() || v.dims.size() == v.meta.sizes.size(), "graph value %", i,
                          " has ", v.dims.size(), " dimension expressions for rank ", v.meta.sizes.size());
  }
  for (ValueId id : inputs) {
    EMBER_INTERNAL_ASSERT(id >= 0 && size_t(id) < values.size() && values[size_t(id)].kind == ValueKind::input,
                          "graph input %", id, " is not an input value");
    defined[size_t(id)] = true;
  }
  const std::vector<int64_t> b0 = example_bindings(*this);
  std::vector<int64_t> b1 = b0;
  for (auto& s : b1) ++s;
  for (size_t n = 0; n < nodes.size(); ++n) {
    const Node& node = nodes[n];
    EMBER_INTERNAL_ASSERT(node.op != nullptr, "graph node ", n, " has no op");
    for (ValueId in : node.inputs)
      EMBER_INTERNAL_ASSERT(in == kNoValue || (in >= 0 && size_t(in) < values.size() && defined[size_t(in)]),
                            "graph node ", n, " (", node.op->name, ") uses %", in, " before it is defined");
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const ValueId out = node.outputs[o];
      EMBER_INTERNAL_ASSERT(out >= 0 && size_t(out) < values.size() && !defined[size_t(out)] &&
                                values[size_t(out)].node == int32_t(n) && values[size_t(out)].index == int32_t(o),
                            "graph node ", n, " (", node.op->name, ") output ", o, " is not its own value");
      defined[size_t(out)] = true;
    }
    if (detail::is_control_flow(node)) continue;  // checked against its subgraphs when it runs
    const auto metas = infer_node(*this, *node.op, node.inputs, node.attrs, node.sym_attrs, b0);
    EMBER_INTERNAL_ASSERT(metas.size() == node.outputs.size(), "graph node ", n, " (", node.op->name, ") has ",
                          node.outputs.size(), " outputs, its op gives ", metas.size());
    for (size_t o = 0; o < metas.size(); ++o) {
      const Value& v = values[size_t(node.outputs[o])];
      EMBER_INTERNAL_ASSERT(metas[o].sizes == v.meta.sizes && metas[o].dtype == v.meta.dtype, "graph node ", n,
                            " (", node.op->name, ") output ", o, " is recorded as ", v.meta.dtype,
                            shape_str(v.meta.sizes), " but its op gives ", metas[o].dtype, shape_str(metas[o].sizes));
    }
    if (depends_on_symbols(*this, node)) {
      const auto at1 = infer_node(*this, *node.op, node.inputs, node.attrs, node.sym_attrs, b1);
      for (size_t o = 0; o < at1.size(); ++o)
        EMBER_INTERNAL_ASSERT(at1[o].sizes == sizes(node.outputs[o], b1), "graph node ", n, " (", node.op->name,
                              ") output ", o, " has dynamic sizes ", shape_str(sizes(node.outputs[o], b1)),
                              " that its op does not give (", shape_str(at1[o].sizes), ")");
    }
  }
  for (ValueId out : outputs)
    EMBER_INTERNAL_ASSERT(out >= 0 && size_t(out) < values.size() && defined[size_t(out)], "graph output %", out,
                          " is not defined");
  for (const StateUpdate& u : updates) {
    EMBER_INTERNAL_ASSERT(u.target >= 0 && size_t(u.target) < values.size() &&
                              values[size_t(u.target)].kind == ValueKind::parameter,
                          "state update target %", u.target, " is not a parameter");
    EMBER_INTERNAL_ASSERT(u.value >= 0 && size_t(u.value) < values.size() && defined[size_t(u.value)],
                          "state update value %", u.value, " is not defined");
  }
}

void Graph::compact() {
  std::vector<bool> keep(values.size(), false);
  for (ValueId id : inputs) keep[size_t(id)] = true;
  for (const Node& n : nodes) {
    for (ValueId in : n.inputs)
      if (in != kNoValue) keep[size_t(in)] = true;
    for (ValueId out : n.outputs) keep[size_t(out)] = true;
  }
  for (ValueId id : outputs) keep[size_t(id)] = true;
  for (const StateUpdate& u : updates) keep[size_t(u.target)] = keep[size_t(u.value)] = true;
  std::vector<ValueId> remap(values.size(), kNoValue);
  std::vector<Value> kept;
  for (size_t i = 0; i < values.size(); ++i)
    if (keep[i]) {
      remap[i] = ValueId(kept.size());
      kept.push_back(std::move(values[i]));
    }
  values = std::move(kept);
  auto fix = [&](ValueId& id) {
    if (id != kNoValue) id = remap[size_t(id)];
  };
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (ValueId& in : nodes[n].inputs) fix(in);
    for (ValueId& out : nodes[n].outputs) {
      fix(out);
      values[size_t(out)].node = int32_t(n);
    }
  }
  for (ValueId& id : inputs) fix(id);
  for (ValueId& id : outputs) fix(id);
  for (StateUpdate& u : updates) fix(u.target), fix(u.value);
}

// ---- printing ----

namespace {

std::string short_dtype(DType dt) {
  std::string s(dtype_safetensors_name(dt));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string dim_str(const Graph& g, const DimExpr& d) {
  if (d.is_static()) return std::to_string(d.offset);
  std::string s = d.scale == 1 ? "" : std::to_string(d.scale) + "*";
  s += g.symbols[size_t(d.symbol)];
  if (d.offset > 0) s += "+" + std::to_string(d.offset);
  if (d.offset < 0) s += std::to_string(d.offset);
  return s;
}

std::string type_str(const Graph& g, const Value& v) {
  std::string s = short_dtype(v.meta.dtype) + "[";
  for (size_t d = 0; d < v.meta.sizes.size(); ++d) {
    if (d) s += ", ";
    s += v.is_dynamic() ? dim_str(g, v.dims[d]) : std::to_string(v.meta.sizes[d]);
  }
  return s + "]";
}

std::string value_name(const Graph& g, ValueId id) {
  if (id == kNoValue) return "None";
  const Value& v = g.value(id);
  if (!v.name.empty()) return "%" + v.name;
  if (v.kind == ValueKind::constant && v.data.numel() == 1) {
    std::ostringstream os;
    os << v.data.item();
    return os.str();
  }
  return (v.kind == ValueKind::constant ? "%c" : "%") + std::to_string(id);
}

void print_graph(std::ostringstream& os, const Graph& g, const std::string& indent) {
  os << "graph(";
  for (size_t i = 0; i < g.inputs.size(); ++i)
    os << (i ? ", " : "") << value_name(g, g.inputs[i]) << ": " << type_str(g, g.value(g.inputs[i]));
  os << ") {\n";
  for (size_t i = 0; i < g.values.size(); ++i) {
    const Value& v = g.values[i];
    if (v.kind == ValueKind::parameter)
      os << indent << "  " << value_name(g, ValueId(i)) << ": " << type_str(g, v) << "  # parameter\n";
    else if (v.kind == ValueKind::constant && v.data.numel() != 1)
      os << indent << "  " << value_name(g, ValueId(i)) << ": " << type_str(g, v) << "  # constant\n";
  }
  for (const Node& n : g.nodes) {
    os << indent << "  ";
    for (size_t o = 0; o < n.outputs.size(); ++o)
      os << (o ? ", " : "") << value_name(g, n.outputs[o]) << ": " << type_str(g, g.value(n.outputs[o]));
    os << " = " << n.op->name << "(";
    for (size_t i = 0; i < n.inputs.size(); ++i) os << (i ? ", " : "") << value_name(g, n.inputs[i]);
    os << ")";
    if (!n.attrs.items().empty()) os << " " << n.attrs;
    for (const SymAttr& s : n.sym_attrs)
      os << " " << s.name << (s.index >= 0 ? "[" + std::to_string(s.index) + "]" : "") << "=" << dim_str(g, s.expr);
    for (const HostAttr& h : n.host_attrs) os << " " << h.name << "=<host>";
    os << "\n";
    for (size_t k = 0; k < n.subgraphs.size(); ++k) {
      os << indent << "    " << (k == 0 ? "then/cond" : "else/body") << ": ";
      print_graph(os, *n.subgraphs[k], indent + "    ");
    }
  }
  os << indent << "  return ";
  for (size_t o = 0; o < g.outputs.size(); ++o) os << (o ? ", " : "") << value_name(g, g.outputs[o]);
  os << "\n";
  for (const StateUpdate& u : g.updates)
    os << indent << "  " << (u.kind == StateUpdate::Kind::copy_into ? "update " : "grad of ")
       << value_name(g, u.target) << " <- " << value_name(g, u.value) << "\n";
  if (!g.host_effects.empty()) os << indent << "  (" << g.host_effects.size() << " host effects before each run)\n";
  os << indent << "}\n";
}

}  // namespace

std::string print(const Graph& graph) {
  std::ostringstream os;
  print_graph(os, graph, "");
  return os.str();
}

// ---- running, the simple way ----

namespace detail {

Attrs resolved_attrs(const Node& node, std::span<const int64_t> bindings) {
  Attrs attrs = node.attrs;
  for (const SymAttr& s : node.sym_attrs) {
    const int64_t v = s.expr.eval(bindings);
    if (s.index < 0) {
      attrs.set(s.name, v);
    } else {
      Shape shape = attrs.ints(s.name);
      shape[size_t(s.index)] = v;
      attrs.set(s.name, std::move(shape));
    }
  }
  for (const HostAttr& h : node.host_attrs) attrs.set(h.name, h.read());
  return attrs;
}

std::vector<int64_t> bind_inputs(const Graph& graph, std::span<const Tensor> inputs) {
  EMBER_CHECK(inputs.size() == graph.inputs.size(), ValueError, "graph expects ", graph.inputs.size(),
              " inputs, got ", inputs.size());
  std::vector<int64_t> bindings(graph.symbols.size(), -1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = graph.value(graph.inputs[i]);
    const Tensor& t = inputs[i];
    // Named only when a check fails: a run with good inputs builds no strings.
    auto what = [&] { return "input " + std::to_string(i) + " (" + v.name + ")"; };
    EMBER_CHECK(t.defined(), ValueError, what(), " is undefined");
    EMBER_CHECK(t.dtype() == v.meta.dtype, DTypeError, what(), " must be ", v.meta.dtype, ", got ", t.dtype());
    EMBER_CHECK(t.dim() == int64_t(v.meta.sizes.size()), ShapeError, what(), " must have ", v.meta.sizes.size(),
                " dimensions (", type_str(graph, v), "), got ", t.meta_str());
    for (size_t d = 0; d < v.meta.sizes.size(); ++d) {
      const int64_t got = t.sizes()[d];
      if (!v.is_dynamic() || v.dims[d].is_static()) {
        EMBER_CHECK(got == v.meta.sizes[d], ShapeError, what(), " must be ", type_str(graph, v), ", got ",
                    t.meta_str(), " (dimension ", d, " is static)");
        continue;
      }
      const DimExpr& e = v.dims[d];
      const int64_t diff = got - e.offset;
      EMBER_CHECK(diff % e.scale == 0 && diff / e.scale >= 1, ShapeError, what(), " must be ", type_str(graph, v),
                  ", got ", t.meta_str());
      int64_t& b = bindings[size_t(e.symbol)];
      EMBER_CHECK(b < 0 || b == diff / e.scale, ShapeError, what(), ": dimension ", d, " (",
                  graph.symbols[size_t(e.symbol)], ") is ", got, " but another input set ",
                  graph.symbols[size_t(e.symbol)], " = ", b);
      b = diff / e.scale;
    }
  }
  return bindings;
}

void check_sizes_at(const Graph& graph, std::span<const int64_t> bindings) {
  std::string symbols;
  for (size_t s = 0; s < bindings.size(); ++s)
    symbols += (s ? ", " : "") + graph.symbols[s] + " = " + std::to_string(bindings[s]);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (is_control_flow(node) || !depends_on_symbols(graph, node)) continue;
    const auto metas = infer_node(graph, *node.op, node.inputs, node.attrs, node.sym_attrs, bindings);
    for (size_t o = 0; o < metas.size() && o < node.outputs.size(); ++o)
      EMBER_CHECK(metas[o].sizes == graph.sizes(node.outputs[o], bindings), ShapeError, "graph node ", n, " (",
                  node.op->name, ") output ", o, " is ", shape_str(graph.sizes(node.outputs[o], bindings)),
                  " at ", symbols, " but its op gives ", shape_str(metas[o].sizes));
  }
}

void apply_updates(const Graph& graph, std::span<const Tensor> values) {
  autograd::NoGradGuard no_grad;
  for (const StateUpdate& u : graph.updates) {
    const Tensor& target = graph.value(u.target).data;
    const Tensor& value = values[size_t(u.value)];
    if (u.kind == StateUpdate::Kind::copy_into) {
      if (!value.is_same(target)) Tensor(target).copy_(value);
    } else {
      target.impl().grad = value.impl_ptr();
    }
  }
}

}  // namespace detail

TensorList interpret(const Graph& graph, const TensorList& inputs) {
  const std::vector<int64_t> bindings = detail::bind_inputs(graph, inputs);
  for (const auto& effect : graph.host_effects) effect();
  autograd::NoGradGuard no_grad;
  TensorList values(graph.values.size());
  for (size_t i = 0; i < graph.inputs.size(); ++i) values[size_t(graph.inputs[i])] = inputs[i];
  for (size_t i = 0; i < graph.values.size(); ++i)
    if (graph.values[i].data.defined()) values[i] = graph.values[i].data;
  TensorList args;
  for (const Node& node : graph.nodes) {
    args.clear();
    for (ValueId in : node.inputs) args.push_back(in == kNoValue ? Tensor() : values[size_t(in)]);
    TensorList outs = detail::is_control_flow(node) ? detail::run_control_flow(node, args)
                                                    : call(*node.op, args, detail::resolved_attrs(node, bindings));
    EMBER_INTERNAL_ASSERT(outs.size() == node.outputs.size(), node.op->name, " gave ", outs.size(), " outputs");
    for (size_t o = 0; o < outs.size(); ++o) values[size_t(node.outputs[o])] = std::move(outs[o]);
  }
  detail::apply_updates(graph, values);
  TensorList result;
  for (ValueId out : graph.outputs) result.push_back(values[size_t(out)]);
  return result;
}

}  // namespace ember::graph
