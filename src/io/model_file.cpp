// .ember model files: a graph and its weights as one safetensors file (see
// docs/FORMATS.md, ".ember"). The graph is JSON in the metadata; parameters
// and constants are the file's tensors.
//
// Note [Loading a model file]
// The bytes are hostile. The safetensors reader checks the container; this
// file then checks every key and type of the graph JSON, resolves ops by name
// (refusing versions newer than ours), checks arity, attribute encodings,
// symbols and value references (each value defined exactly once, before its
// first use), matches every tensor against the value that names it, and
// rebuilds the graph node by node, comparing each node's recorded outputs
// with its op's shape rule. Graph::verify() then checks the dynamic
// dimensions at a second binding. Every failure is a FormatError naming the
// file and the place in the graph ("graph.nodes[3] (conv2d): ...").
#include "ember/io/model_file.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <variant>

#include "ember/io/checkpoint.h"  // write_file_atomic
#include "ember/io/safetensors.h"

namespace ember {
namespace {

using graph::DimExpr;
using graph::Graph;
using graph::kNoValue;
using graph::Node;
using graph::SymAttr;
using graph::Value;
using graph::ValueId;
using graph::ValueKind;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kFormat = "ember";
constexpr std::string_view kFormatVersion = "1";
// Subgraphs nest (a cond in a loop body ...); deeper than this is an attack.
constexpr int kMaxDepth = 32;
// Bounds on a file's sizes and dimension expressions, so that no size
// arithmetic at load or run time can overflow.
constexpr int64_t kMaxSize = int64_t(1) << 48;
constexpr int64_t kMaxCoefficient = int64_t(1) << 31;

const char* kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::input: return "input";
    case ValueKind::parameter: return "parameter";
    case ValueKind::constant: return "constant";
    case ValueKind::node: return "node";
  }
  return "?";
}

const char* update_kind_name(graph::StateUpdate::Kind kind) {
  return kind == graph::StateUpdate::Kind::copy_into ? "copy_into" : "assign_grad";
}

// ---- writing ----

// Attribute values as [name, type, value]: the type tag keeps int 1 apart
// from float 1.0 and a Scalar from a plain number. Non-finite doubles are
// strings, since JSON has no NaN or infinity.
OrderedJson double_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

OrderedJson attr_json(const std::string& name, const AttrValue& value) {
  return std::visit(
      [&](const auto& v) -> OrderedJson {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int64_t>) return {name, "int", v};
        else if constexpr (std::is_same_v<T, double>) return {name, "float", double_json(v)};
        else if constexpr (std::is_same_v<T, bool>) return {name, "bool", v};
        else if constexpr (std::is_same_v<T, Shape>) return {name, "ints", std::vector<int64_t>(v.begin(), v.end())};
        else if constexpr (std::is_same_v<T, std::string>) return {name, "string", v};
        else if constexpr (std::is_same_v<T, DType>) return {name, "dtype", std::string(dtype_name(v))};
        else if constexpr (std::is_same_v<T, Scalar>) {
          if (v.is_bool()) return {name, "scalar_bool", v.to_bool()};
          if (v.is_integral()) return {name, "scalar_int", v.to_int()};
          return {name, "scalar_float", double_json(v.to_double())};
        } else {
          static_assert(std::is_same_v<T, std::vector<double>>);
          OrderedJson list = OrderedJson::array();
          for (double d : v) list.push_back(double_json(d));
          return {name, "floats", list};
        }
      },
      value);
}

OrderedJson dim_json(const DimExpr& d) { return {d.symbol, d.scale, d.offset}; }

class Writer {
 public:
  io::TensorMap tensors;

  OrderedJson graph_json(const Graph& g) {
    EMBER_CHECK(!g.has_host_state(), ValueError,
                "save: the graph reads or writes host state (a compiled training step's learning rate or "
                "step counter); only graphs without host attributes or effects can be saved");
    // File ids: the leaves in use, in graph order, then each node's outputs.
    // Passes leave unused values behind; they are not written.
    std::vector<bool> used(g.values.size(), false);
    for (ValueId id : g.inputs) used[size_t(id)] = true;
    for (const Node& n : g.nodes)
      for (ValueId id : n.inputs)
        if (id != kNoValue) used[size_t(id)] = true;
    for (ValueId id : g.outputs) used[size_t(id)] = true;
    for (const auto& u : g.updates) used[size_t(u.target)] = used[size_t(u.value)] = true;
    std::vector<ValueId> file_id(g.values.size(), kNoValue);
    OrderedJson values = OrderedJson::array();
    auto add_value = [&](ValueId id) {
      file_id[size_t(id)] = ValueId(values.size());
      values.push_back(value_json(g.value(id)));
    };
    for (size_t i = 0; i < g.values.size(); ++i)
      if (used[i] && g.values[i].kind != ValueKind::node) add_value(ValueId(i));
    for (const Node& n : g.nodes)
      for (ValueId id : n.outputs) add_value(id);
    auto ids = [&](const std::vector<ValueId>& list) {
      std::vector<int64_t> out;
      for (ValueId id : list) out.push_back(id == kNoValue ? -1 : file_id[size_t(id)]);
      return out;
    };

    OrderedJson nodes = OrderedJson::array();
    for (const Node& n : g.nodes) {
      OrderedJson node = {{"op", n.op->name}, {"version", n.op->version}, {"inputs", ids(n.inputs)},
                          {"outputs", ids(n.outputs)}};
      OrderedJson attrs = OrderedJson::array();
      for (const auto& [name, value] : n.attrs.items()) attrs.push_back(attr_json(name, value));
      node["attrs"] = std::move(attrs);
      if (!n.sym_attrs.empty()) {
        OrderedJson sym = OrderedJson::array();
        for (const SymAttr& s : n.sym_attrs) sym.push_back({s.name, s.index, dim_json(s.expr)});
        node["sym_attrs"] = std::move(sym);
      }
      if (!n.subgraphs.empty()) {
        OrderedJson subgraphs = OrderedJson::array();
        for (const auto& sub : n.subgraphs) subgraphs.push_back(graph_json(*sub));
        node["subgraphs"] = std::move(subgraphs);
      }
      nodes.push_back(std::move(node));
    }
    OrderedJson updates = OrderedJson::array();
    for (const auto& u : g.updates)
      updates.push_back({{"kind", update_kind_name(u.kind)},
                         {"target", file_id[size_t(u.target)]},
                         {"value", file_id[size_t(u.value)]}});
    return {{"symbols", g.symbols}, {"values", std::move(values)}, {"nodes", std::move(nodes)},
            {"inputs", ids(g.inputs)},  {"outputs", ids(g.outputs)}, {"updates", std::move(updates)}};
  }

 private:
  OrderedJson value_json(const Value& v) {
    OrderedJson j = {{"kind", kind_name(v.kind)},
                     {"dtype", std::string(dtype_name(v.meta.dtype))},
                     {"sizes", std::vector<int64_t>(v.meta.sizes.begin(), v.meta.sizes.end())}};
    if (v.is_dynamic()) {
      OrderedJson dims = OrderedJson::array();
      for (const DimExpr& d : v.dims) dims.push_back(dim_json(d));
      j["dims"] = std::move(dims);
    }
    if (v.kind == ValueKind::input || v.kind == ValueKind::parameter) j["name"] = v.name;
    if (v.kind == ValueKind::parameter || v.kind == ValueKind::constant) {
      EMBER_CHECK(v.data.device().is_cpu(), ValueError, "save: parameter \"", v.name, "\" is on ", v.data.device(),
                  "; move the model to the CPU first");
      j["tensor"] = tensor_key(v);
      // A number written in the code (x * 2) promotes like a Python scalar.
      if (v.data.impl().is_wrapped_number) j["wrapped_number"] = true;
    }
    return j;
  }

  // One tensor per distinct tensor object (a weight shared by two layers is
  // stored once); parameters keep their names where they are free.
  std::string tensor_key(const Value& v) {
    const TensorImpl* impl = v.data.impl_ptr().get();
    if (auto it = keys_.find(impl); it != keys_.end()) return it->second;
    const std::string base = v.kind == ValueKind::parameter && !v.name.empty() ? v.name : "constant";
    std::string key = base == "constant" ? "constant.0" : base;
    for (int n = 1; key == "__metadata__" || tensors.contains(key); ++n) key = base + "." + std::to_string(n);
    tensors.emplace(key, v.data);
    keys_.emplace(impl, key);
    return key;
  }

  std::map<const TensorImpl*, std::string> keys_;
};

// ---- reading ----

class Reader {
 public:
  Reader(std::string source, const io::TensorMap& tensors) : source_(std::move(source)), tensors_(tensors) {}

  Graph read(const Json& j) {
    Graph g = read_graph(j, "graph", 0);
    for (const auto& [key, tensor] : tensors_)
      if (!used_keys_.contains(key)) fail("", "tensor \"" + key + "\" is not used by the graph");
    return g;
  }

 private:
  // What a value entry says, before the graph is rebuilt.
  struct FileValue {
    ValueKind kind;
    TensorMeta meta;
    std::vector<DimExpr> dims;
    std::string name;
    Tensor data;
  };

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    EMBER_THROW(FormatError, source_, ": not a valid .ember model: ", where, where.empty() ? "" : ": ", what);
  }

  const Json& member(const Json& j, const char* key, const std::string& where) const {
    if (!j.is_object()) fail(where, "expected a JSON object");
    const auto it = j.find(key);
    if (it == j.end()) fail(where, std::string("missing \"") + key + "\"");
    return *it;
  }
  const Json& array(const Json& j, const std::string& where) const {
    if (!j.is_array()) fail(where, "expected an array");
    return j;
  }
  int64_t integer(const Json& j, const std::string& where) const {
    if (!j.is_number_integer() || (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(INT64_MAX)))
      fail(where, "expected an integer, got " + j.dump());
    return j.get<int64_t>();
  }
  int64_t bounded(const Json& j, int64_t lo, int64_t hi, const std::string& where) const {
    const int64_t v = integer(j, where);
    if (v < lo || v > hi) fail(where, std::to_string(v) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  }
  const std::string& string(const Json& j, const std::string& where) const {
    if (!j.is_string()) fail(where, "expected a string, got " + j.dump());
    return j.get_ref<const std::string&>();
  }
  double number(const Json& j, const std::string& where) const {
    if (j.is_number()) return j.get<double>();
    if (j.is_string()) {
      const std::string& s = j.get_ref<const std::string&>();
      if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
      if (s == "inf") return std::numeric_limits<double>::infinity();
      if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    fail(where, "expected a number (or \"nan\", \"inf\", \"-inf\"), got " + j.dump());
  }
  DType dtype(const Json& j, const std::string& where) const {
    const std::string& name = string(j, where);
    for (int k = 0; k < kNumDTypes; ++k)
      if (dtype_name(DType(k)) == name) return DType(k);
    fail(where, "unknown dtype \"" + name + "\"");
  }

  DimExpr dim_expr(const Json& j, size_t num_symbols, const std::string& where) const {
    if (!j.is_array() || j.size() != 3) fail(where, "a dimension is [symbol, scale, offset]");
    DimExpr d{int(bounded(j[0], -1, int64_t(num_symbols) - 1, where + ".symbol")),
              bounded(j[1], -kMaxCoefficient, kMaxCoefficient, where + ".scale"),
              bounded(j[2], -kMaxCoefficient, kMaxCoefficient, where + ".offset")};
    if (!d.is_static() && d.scale == 0) fail(where, "a dynamic dimension needs a non-zero scale");
    return d;
  }

  AttrValue attr_value(const std::string& type, const Json& v, const std::string& where) const {
    if (type == "int") return integer(v, where);
    if (type == "float") return number(v, where);
    if (type == "bool") {
      if (!v.is_boolean()) fail(where, "expected true or false, got " + v.dump());
      return v.get<bool>();
    }
    if (type == "ints") {
      Shape s;
      for (size_t i = 0; i < array(v, where).size(); ++i) s.push_back(integer(v[i], where));
      return s;
    }
    if (type == "string") return string(v, where);
    if (type == "dtype") return dtype(v, where);
    if (type == "scalar_bool") {
      if (!v.is_boolean()) fail(where, "expected true or false, got " + v.dump());
      return Scalar(v.get<bool>());
    }
    if (type == "scalar_int") return Scalar(integer(v, where));
    if (type == "scalar_float") return Scalar(number(v, where));
    if (type == "floats") {
      std::vector<double> list;
      for (size_t i = 0; i < array(v, where).size(); ++i) list.push_back(number(v[i], where));
      return list;
    }
    fail(where, "unknown attribute type \"" + type + "\"");
  }

  Attrs attrs(const Json& j, const std::string& where) const {
    Attrs out;
    for (size_t i = 0; i < array(j, where).size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      if (!j[i].is_array() || j[i].size() != 3) fail(at, "an attribute is [name, type, value]");
      const std::string& name = string(j[i][0], at);
      if (out.has(name)) fail(at, "attribute \"" + name + "\" appears twice");
      out.set(name, attr_value(string(j[i][1], at), j[i][2], at + " (" + name + ")"));
    }
    return out;
  }

  FileValue value(const Json& j, size_t num_symbols, const std::string& where) {
    FileValue v;
    const std::string& kind = string(member(j, "kind", where), where + ".kind");
    if (kind == "input") v.kind = ValueKind::input;
    else if (kind == "parameter") v.kind = ValueKind::parameter;
    else if (kind == "constant") v.kind = ValueKind::constant;
    else if (kind == "node") v.kind = ValueKind::node;
    else fail(where, "unknown value kind \"" + kind + "\"");
    v.meta.dtype = dtype(member(j, "dtype", where), where + ".dtype");
    const Json& sizes = array(member(j, "sizes", where), where + ".sizes");
    int64_t numel = 1;
    for (const Json& s : sizes) {
      const int64_t d = bounded(s, 0, kMaxSize, where + ".sizes");
      v.meta.sizes.push_back(d);
      if (d != 0 && numel > kMaxSize / d) fail(where, "sizes " + shape_str(v.meta.sizes) + "... are too large");
      numel *= d;
    }
    if (j.contains("dims")) {
      const Json& dims = array(j["dims"], where + ".dims");
      if (dims.size() != v.meta.sizes.size())
        fail(where, std::to_string(dims.size()) + " dimension expressions for rank " + std::to_string(v.meta.sizes.size()));
      for (const Json& d : dims) v.dims.push_back(dim_expr(d, num_symbols, where + ".dims"));
      for (size_t k = 0; k < v.dims.size(); ++k)
        if (v.dims[k].is_static() && v.dims[k].offset != v.meta.sizes[k])
          fail(where, "static dimension " + std::to_string(k) + " is " + std::to_string(v.dims[k].offset) +
                          " but sizes say " + std::to_string(v.meta.sizes[k]));
      if (v.kind == ValueKind::parameter || v.kind == ValueKind::constant)
        fail(where, "a " + kind + " cannot have dynamic dimensions");
    }
    if (v.kind == ValueKind::input || v.kind == ValueKind::parameter) v.name = string(member(j, "name", where), where + ".name");
    if (v.kind == ValueKind::parameter || v.kind == ValueKind::constant) {
      const std::string& key = string(member(j, "tensor", where), where + ".tensor");
      const auto it = tensors_.find(key);
      if (it == tensors_.end()) fail(where, "tensor \"" + key + "\" is not in the file");
      used_keys_.insert(key);
      v.data = it->second;
      if (v.data.dtype() != v.meta.dtype || v.data.sizes() != v.meta.sizes)
        fail(where, "tensor \"" + key + "\" is " + v.data.meta_str() + " but the value is " +
                        std::string(dtype_name(v.meta.dtype)) + shape_str(v.meta.sizes));
      if (j.contains("wrapped_number")) {
        if (!j["wrapped_number"].is_boolean()) fail(where + ".wrapped_number", "expected true or false");
        if (j["wrapped_number"].get<bool>()) {
          if (v.data.dim() != 0) fail(where, "a wrapped number must be a 0-dimensional tensor");
          // A fresh handle: the same key may also be an ordinary tensor.
          v.data = v.data.detach();
          v.data.impl().is_wrapped_number = true;
        }
      }
    }
    return v;
  }

  // The symbols' values the graph was built at: fixed by its inputs, whose
  // dynamic dimensions are plain symbols (as tracing makes them).
  std::vector<int64_t> example_bindings(const Graph& g, const std::string& where) const {
    std::vector<int64_t> b(g.symbols.size(), -1);
    for (ValueId id : g.inputs) {
      const Value& v = g.value(id);
      for (size_t k = 0; k < v.dims.size(); ++k) {
        const DimExpr& d = v.dims[k];
        if (d.is_static()) continue;
        if (d.scale != 1 || d.offset != 0 || v.meta.sizes[k] < 1)
          fail(where, "input \"" + v.name + "\" dimension " + std::to_string(k) +
                          " must be a plain symbol with a positive size");
        int64_t& s = b[size_t(d.symbol)];
        if (s >= 0 && s != v.meta.sizes[k])
          fail(where, "symbol \"" + g.symbols[size_t(d.symbol)] + "\" is both " + std::to_string(s) + " and " +
                          std::to_string(v.meta.sizes[k]));
        s = v.meta.sizes[k];
      }
    }
    for (size_t s = 0; s < b.size(); ++s)
      if (b[s] < 0) fail(where, "symbol \"" + g.symbols[s] + "\" is not a dimension of any input");
    return b;
  }

  // Control-flow nodes carry their output metadata; it must agree with their
  // subgraphs, and their count attributes with their inputs (see
  // src/graph/control_flow.cpp):
  //   cond(pred, operands..., then captures..., else captures...) {then, else}
  //   while_loop(state..., cond captures..., body captures...) {cond, body}
  void check_control_flow(const Node& node, const Graph& g, const std::vector<TensorMeta>& outputs,
                          const std::string& where) const {
    auto count = [&](const char* name) {
      if (!node.attrs.has(name) || !std::holds_alternative<int64_t>(node.attrs.get(name)))
        fail(where, std::string("needs the integer attribute \"") + name + "\"");
      const int64_t v = node.attrs.i(name);
      if (v < 0 || v > int64_t(node.inputs.size())) fail(where, std::string(name) + " = " + std::to_string(v) + " is out of range");
      return size_t(v);
    };
    auto same = [](const TensorMeta& a, const TensorMeta& b) { return a.dtype == b.dtype && a.sizes == b.sizes; };
    // `sub` is called with inputs[first, first + n) followed by inputs[captures, captures + k).
    auto check = [&](const Graph& sub, size_t first, size_t n, size_t captures, size_t k,
                     const std::vector<TensorMeta>* results, const std::string& what) {
      if (sub.inputs.size() != n + k)
        fail(where, what + " takes " + std::to_string(sub.inputs.size()) + " inputs, the node passes " +
                        std::to_string(n + k));
      for (size_t i = 0; i < n + k; ++i) {
        const ValueId in = node.inputs[i < n ? first + i : captures + i - n];
        if (in == kNoValue) fail(where, "control-flow inputs cannot be absent");
        if (!same(sub.value(sub.inputs[i]).meta, g.value(in).meta))
          fail(where, what + " input " + std::to_string(i) + " disagrees with the value the node passes");
      }
      if (results == nullptr) return;
      if (sub.outputs.size() != results->size())
        fail(where, what + " returns " + std::to_string(sub.outputs.size()) + " values, expected " +
                        std::to_string(results->size()));
      for (size_t o = 0; o < results->size(); ++o)
        if (!same(sub.value(sub.outputs[o]).meta, (*results)[o]))
          fail(where, what + " output " + std::to_string(o) + " disagrees with the node's");
    };
    if (node.subgraphs.size() != 2) fail(where, "needs 2 subgraphs");
    for (const auto& sub : node.subgraphs)
      if (!sub->updates.empty()) fail(where, "a subgraph cannot update state");
    const size_t total = node.inputs.size();
    if (node.op->name == "cond") {
      const size_t n = count("num_operands"), k = count("then_captures");
      if (total < 1 + n + k) fail(where, "num_operands + then_captures exceed the inputs");
      if (node.inputs[0] == kNoValue) fail(where, "cond needs a predicate");
      const TensorMeta& pred = g.value(node.inputs[0]).meta;
      if (pred.dtype != DType::b8 || shape_numel(pred.sizes) != 1) fail(where, "the predicate must be one bool");
      check(*node.subgraphs[0], 1, n, 1 + n, k, &outputs, "then branch");
      check(*node.subgraphs[1], 1, n, 1 + n + k, total - 1 - n - k, &outputs, "else branch");
    } else {
      const size_t n = count("num_state"), k = count("cond_captures");
      if (total < n + k) fail(where, "num_state + cond_captures exceed the inputs");
      const Graph& loop_cond = *node.subgraphs[0];
      check(loop_cond, 0, n, n, k, nullptr, "loop condition");
      if (loop_cond.outputs.size() != 1 || loop_cond.value(loop_cond.outputs[0]).meta.dtype != DType::b8 ||
          shape_numel(loop_cond.value(loop_cond.outputs[0]).meta.sizes) != 1)
        fail(where, "the loop condition must return one bool");
      check(*node.subgraphs[1], 0, n, n + k, total - n - k, &outputs, "loop body");
      if (outputs.size() != n) fail(where, "a loop has one output per state value");
      for (size_t o = 0; o < n; ++o)
        if (!same(outputs[o], g.value(node.inputs[o]).meta)) fail(where, "a loop's outputs must match its state");
    }
  }

  Graph read_graph(const Json& j, const std::string& where, int depth) {
    if (depth > kMaxDepth) fail(where, "subgraphs nest deeper than " + std::to_string(kMaxDepth));
    Graph g;
    for (const Json& s : array(member(j, "symbols", where), where + ".symbols")) g.symbols.push_back(string(s, where + ".symbols"));
    const Json& values = array(member(j, "values", where), where + ".values");
    const Json& nodes = array(member(j, "nodes", where), where + ".nodes");
    if (values.size() > size_t(INT32_MAX)) fail(where, "too many values");
    std::vector<FileValue> file;
    for (size_t i = 0; i < values.size(); ++i)
      file.push_back(value(values[i], g.symbols.size(), where + ".values[" + std::to_string(i) + "]"));

    // Leaves first. Graph inputs are added in the order "inputs" lists them.
    std::vector<ValueId> id(file.size(), kNoValue);  // file id -> graph id
    const Json& inputs = array(member(j, "inputs", where), where + ".inputs");
    for (const Json& in : inputs) {
      const auto k = size_t(bounded(in, 0, int64_t(file.size()) - 1, where + ".inputs"));
      if (file[k].kind != ValueKind::input) fail(where + ".inputs", "value " + std::to_string(k) + " is not an input");
      if (id[k] != kNoValue) fail(where + ".inputs", "value " + std::to_string(k) + " is listed twice");
      id[k] = g.add_input(file[k].name, file[k].meta);
      g.value(id[k]).dims = file[k].dims;
    }
    for (size_t k = 0; k < file.size(); ++k) {
      if (file[k].kind == ValueKind::input && id[k] == kNoValue)
        fail(where, "input value " + std::to_string(k) + " is not in \"inputs\"");
      if (file[k].kind == ValueKind::parameter) id[k] = g.add_parameter(file[k].name, file[k].data);
      if (file[k].kind == ValueKind::constant) id[k] = g.add_constant(file[k].data);
    }
    const std::vector<int64_t> bindings = example_bindings(g, where);
    for (size_t k = 0; k < file.size(); ++k)
      for (size_t d = 0; d < file[k].dims.size(); ++d)
        if (file[k].dims[d].eval(bindings) != file[k].meta.sizes[d])
          fail(where + ".values[" + std::to_string(k) + "]",
               "dimension " + std::to_string(d) + " does not evaluate to its size at the inputs' sizes");

    auto use = [&](const Json& ref, const std::string& at) {
      const int64_t k = bounded(ref, -1, int64_t(file.size()) - 1, at);
      if (k >= 0 && id[size_t(k)] == kNoValue)
        fail(at, "value " + std::to_string(k) + " is used before it is defined");
      return k < 0 ? kNoValue : id[size_t(k)];
    };
    for (size_t n = 0; n < nodes.size(); ++n) read_node(g, nodes[n], file, id, use, where + ".nodes[" + std::to_string(n) + "]", depth);
    for (size_t k = 0; k < file.size(); ++k)
      if (id[k] == kNoValue) fail(where + ".values[" + std::to_string(k) + "]", "no node defines this value");

    for (const Json& out : array(member(j, "outputs", where), where + ".outputs")) {
      const ValueId v = use(out, where + ".outputs");
      if (v == kNoValue) fail(where + ".outputs", "an output cannot be absent");
      g.outputs.push_back(v);
    }
    const Json& updates = array(member(j, "updates", where), where + ".updates");
    for (size_t i = 0; i < updates.size(); ++i) {
      const std::string at = where + ".updates[" + std::to_string(i) + "]";
      graph::StateUpdate u;
      const std::string& kind = string(member(updates[i], "kind", at), at + ".kind");
      if (kind == "assign_grad") u.kind = graph::StateUpdate::Kind::assign_grad;
      else if (kind != "copy_into") fail(at, "unknown update kind \"" + kind + "\"");
      u.target = use(member(updates[i], "target", at), at + ".target");
      u.value = use(member(updates[i], "value", at), at + ".value");
      if (u.target == kNoValue || g.value(u.target).kind != ValueKind::parameter)
        fail(at, "the target must be a parameter");
      if (u.value == kNoValue) fail(at, "the value cannot be absent");
      const TensorMeta &t = g.value(u.target).meta, &v = g.value(u.value).meta;
      if (u.kind == graph::StateUpdate::Kind::copy_into && (t.sizes != v.sizes || t.dtype != v.dtype))
        fail(at, "cannot copy a " + std::string(dtype_name(v.dtype)) + shape_str(v.sizes) + " value into a " +
                     std::string(dtype_name(t.dtype)) + shape_str(t.sizes) + " parameter");
      g.updates.push_back(u);
    }
    try {
      g.verify();
    } catch (const Error& e) {  // dynamic dimensions its ops disagree with (InternalError for a pass's graph)
      fail(where, e.what());
    }
    return g;
  }

  template <class Use>
  void read_node(Graph& g, const Json& j, const std::vector<FileValue>& file, std::vector<ValueId>& id, Use& use,
                 const std::string& where, int depth) {
    const std::string& op_name = string(member(j, "op", where), where + ".op");
    const std::string at = where + " (" + op_name + ")";
    const OpDef* op = graph::find_graph_op(op_name);
    if (op == nullptr) fail(at, "unknown op \"" + op_name + "\"");
    const int64_t version = integer(member(j, "version", where), at + ".version");
    if (version < 1 || version > op->version)
      fail(at, "op version " + std::to_string(version) + " is not supported (this Ember has version " +
                   std::to_string(op->version) + ")");

    std::vector<ValueId> inputs;
    const Json& in = array(member(j, "inputs", where), at + ".inputs");
    for (const Json& ref : in) inputs.push_back(use(ref, at + ".inputs"));
    const bool variadic = !op->inputs.empty() && op->inputs.back().ends_with("...");
    const size_t fixed = op->inputs.size() - (variadic ? 1 : 0);
    const bool control_flow = op_name == "cond" || op_name == "while_loop";
    if (variadic ? inputs.size() < fixed : inputs.size() != fixed)
      fail(at, "takes " + std::string(variadic ? "at least " : "") + std::to_string(fixed) + " inputs, got " +
                   std::to_string(inputs.size()));

    Attrs node_attrs = attrs(j.contains("attrs") ? j["attrs"] : Json::array(), at + ".attrs");
    std::vector<SymAttr> sym_attrs;
    if (j.contains("sym_attrs")) {
      const Json& list = array(j["sym_attrs"], at + ".sym_attrs");
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string sat = at + ".sym_attrs[" + std::to_string(i) + "]";
        if (!list[i].is_array() || list[i].size() != 3) fail(sat, "a symbolic attribute is [name, index, dimension]");
        SymAttr s{string(list[i][0], sat), int(bounded(list[i][1], -1, 1 << 20, sat)),
                  dim_expr(list[i][2], g.symbols.size(), sat)};
        if (!node_attrs.has(s.name)) fail(sat, "attribute \"" + s.name + "\" does not exist");
        const AttrValue& target = node_attrs.get(s.name);
        if (s.index < 0 ? !std::holds_alternative<int64_t>(target)
                        : !std::holds_alternative<Shape>(target) || size_t(s.index) >= std::get<Shape>(target).size())
          fail(sat, "attribute \"" + s.name + "\" has no integer entry " + std::to_string(s.index));
        sym_attrs.push_back(std::move(s));
      }
    }
    std::vector<std::shared_ptr<const Graph>> subgraphs;
    if (j.contains("subgraphs")) {
      const Json& list = array(j["subgraphs"], at + ".subgraphs");
      for (size_t i = 0; i < list.size(); ++i)
        subgraphs.push_back(std::make_shared<const Graph>(read_graph(list[i], at + ".subgraphs[" + std::to_string(i) + "]", depth + 1)));
    }
    if (!control_flow && !subgraphs.empty()) fail(at, "only cond and while_loop have subgraphs");

    std::vector<size_t> outputs;  // file ids
    std::vector<TensorMeta> recorded;
    for (const Json& ref : array(member(j, "outputs", where), at + ".outputs")) {
      const auto k = size_t(bounded(ref, 0, int64_t(file.size()) - 1, at + ".outputs"));
      if (file[k].kind != ValueKind::node) fail(at, "output value " + std::to_string(k) + " is a " + kind_name(file[k].kind));
      if (id[k] != kNoValue || std::find(outputs.begin(), outputs.end(), k) != outputs.end())
        fail(at, "value " + std::to_string(k) + " is defined twice");
      outputs.push_back(k);
      recorded.push_back(file[k].meta);
    }

    if (!control_flow) {
      // The op's shape rule on the inputs as recorded must give the recorded outputs.
      TensorList metas;
      for (ValueId v : inputs) {
        if (v == kNoValue) metas.emplace_back();
        else if (g.value(v).data.defined()) metas.push_back(g.value(v).data);  // wrapped numbers promote as such
        else metas.push_back(graph::meta_tensor(g.value(v).meta));
      }
      std::vector<TensorMeta> inferred;
      try {
        inferred = op->infer(*op, metas, node_attrs);
      } catch (const Error& e) {
        fail(at, e.what());
      } catch (const std::bad_variant_access&) {
        fail(at, "an attribute has the wrong type for this op");
      }
      if (inferred.size() != recorded.size())
        fail(at, "records " + std::to_string(recorded.size()) + " outputs, the op gives " + std::to_string(inferred.size()));
      for (size_t o = 0; o < inferred.size(); ++o)
        if (inferred[o].dtype != recorded[o].dtype || inferred[o].sizes != recorded[o].sizes)
          fail(at, "output " + std::to_string(o) + " is recorded as " + std::string(dtype_name(recorded[o].dtype)) +
                       shape_str(recorded[o].sizes) + " but the op gives " + std::string(dtype_name(inferred[o].dtype)) +
                       shape_str(inferred[o].sizes));
    }
    const bool dynamic = !sym_attrs.empty() || std::any_of(inputs.begin(), inputs.end(), [&](ValueId v) {
      return v != kNoValue && g.value(v).is_dynamic();
    });
    for (size_t k : outputs)
      if (!dynamic && !file[k].dims.empty() && !control_flow)
        fail(at, "output value " + std::to_string(k) + " has dynamic dimensions but the node depends on none");
    const std::vector<ValueId> made = g.add_node(*op, std::move(inputs), std::move(node_attrs), recorded);
    Node& node = g.nodes.back();
    node.sym_attrs = std::move(sym_attrs);
    node.subgraphs = std::move(subgraphs);
    if (control_flow) check_control_flow(node, g, recorded, at);
    for (size_t o = 0; o < made.size(); ++o) {
      id[outputs[o]] = made[o];
      g.value(made[o]).dims = file[outputs[o]].dims;
    }
  }

  std::string source_;
  const io::TensorMap& tensors_;
  std::set<std::string> used_keys_;
};

Graph load_contents(const io::SafetensorsContents& contents, const std::string& source) {
  auto meta = [&](const char* key) -> const std::string* {
    const auto it = contents.metadata.find(key);
    return it == contents.metadata.end() ? nullptr : &it->second;
  };
  const std::string* format = meta("format");
  EMBER_CHECK(format != nullptr && *format == kFormat, FormatError, source,
              ": not an .ember model (a safetensors file whose metadata \"format\" is ",
              format ? "\"" + *format + "\"" : "absent", ", not \"ember\")");
  const std::string* version = meta("format_version");
  EMBER_CHECK(version != nullptr && *version == kFormatVersion, FormatError, source, ": .ember format version ",
              version ? "\"" + *version + "\"" : "(absent)", " is not supported (this Ember reads version ",
              kFormatVersion, ")");
  const std::string* text = meta("graph");
  EMBER_CHECK(text != nullptr, FormatError, source, ": not a valid .ember model: no \"graph\" in the metadata");
  const Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  EMBER_CHECK(!j.is_discarded(), FormatError, source, ": not a valid .ember model: the graph is not valid JSON");
  return Reader(source, contents.tensors).read(j);
}

}  // namespace

std::string to_model_bytes(const graph::Graph& graph) {
  Writer writer;
  std::string text;
  try {
    text = writer.graph_json(graph).dump();
  } catch (const nlohmann::json::type_error& e) {  // JSON text must be UTF-8
    EMBER_THROW(ValueError, "save: a name or string attribute is not valid UTF-8 (", e.what(), ")");
  }
  return io::to_safetensors_bytes(writer.tensors, {{"format", std::string(kFormat)},
                                                   {"format_version", std::string(kFormatVersion)},
                                                   {"graph", text}});
}

void save(const graph::Graph& graph, const std::string& path) { io::write_file_atomic(path, to_model_bytes(graph)); }

graph::Graph load(const std::string& path) { return load_contents(io::load_safetensors_file(path), path); }

graph::Graph load_model_bytes(std::span<const uint8_t> bytes, const std::string& name) {
  return load_contents(io::parse_safetensors(bytes, name), name);
}

}  // namespace ember
