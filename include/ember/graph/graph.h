#pragma once
// Graph mode's IR: a flat SSA program over the op table.
//
//   Value  — a tensor-valued name: a graph input, a parameter or constant
//            (holding its tensor), or output k of a node. Metadata as traced;
//            a dynamic dimension is an affine expression of a symbol.
//   Node   — one OpDef applied to values, with its attributes (and, for the
//            control-flow ops, subgraphs).
//   Graph  — values + nodes in execution order, its inputs and outputs, and
//            the state it writes back (parameters and optimizer state updated
//            in place, gradients assigned).
//
// Nodes refer to op-table entries, so every pass, the executor, the printer
// and the serializer read the same OpDef that eager mode runs.
//
//   ember::graph::Graph g = ember::jit::trace(net, {x});
//   std::cout << ember::jit::print(g);
//   // graph(%x: f32[B, 1, 28, 28], %c1.weight: f32[32, 1, 3, 3], ...) {
//   //   %3: f32[B, 32, 28, 28] = conv2d(%x, %c1.weight, %c1.bias) {stride=[1, 1], ...}
//   //   ...
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/ops/op.h"

namespace ember::graph {

using ValueId = int32_t;
inline constexpr ValueId kNoValue = -1;  // an absent optional input

// A dimension that depends on a dynamic input dimension: scale * symbol + offset.
struct DimExpr {
  int symbol = -1;  // index into Graph::symbols; -1: static (offset is the size)
  int64_t scale = 0;
  int64_t offset = 0;
  bool is_static() const { return symbol < 0; }
  int64_t eval(std::span<const int64_t> bindings) const {
    return symbol < 0 ? offset : scale * bindings[size_t(symbol)] + offset;
  }
  bool operator==(const DimExpr&) const = default;
};

enum class ValueKind : uint8_t {
  input,      // passed by the caller at each run
  parameter,  // a named tensor the graph reads at each run (weights, buffers, optimizer state)
  constant,   // a tensor captured when tracing (never written)
  node,       // output `index` of node `node`
};

struct Value {
  ValueKind kind = ValueKind::node;
  TensorMeta meta;             // sizes as traced; dynamic ones are also in `dims`
  std::vector<DimExpr> dims;   // empty when every dimension is static
  std::string name;            // inputs and parameters: their names
  int32_t node = -1;           // producer (kind == node)
  int32_t index = 0;           // which of its outputs
  Tensor data;                 // parameters and constants: the tensor, held by reference
  bool is_dynamic() const { return !dims.empty(); }
};

// An attribute entry that follows a dynamic dimension (view's sizes, ...).
struct SymAttr {
  std::string name;  // the attribute (an int64_t, or a Shape when index >= 0)
  int index = -1;    // the entry of a Shape attribute
  DimExpr expr;
};

// An attribute read from host memory at each run (a learning rate a scheduler
// changes, an optimizer's step count). Graphs holding one cannot be saved.
struct HostAttr {
  std::string name;
  std::function<AttrValue()> read;
};

class Graph;

struct Node {
  const OpDef* op = nullptr;
  std::vector<ValueId> inputs;   // kNoValue for an absent optional input
  std::vector<ValueId> outputs;
  Attrs attrs;
  std::vector<SymAttr> sym_attrs;
  std::vector<HostAttr> host_attrs;
  // cond: {then, else}; while_loop: {cond, body}. Shared: copying a graph
  // shares its (immutable) subgraphs.
  std::vector<std::shared_ptr<const Graph>> subgraphs;
};

// What a run writes back to host state when it finishes.
struct StateUpdate {
  enum class Kind : uint8_t {
    copy_into,    // target's tensor (a parameter) gets the value's contents, in place
    assign_grad,  // target's tensor (a parameter) gets the value as its .grad
  };
  Kind kind = Kind::copy_into;
  ValueId target = kNoValue;
  ValueId value = kNoValue;
};

class Graph {
 public:
  std::vector<Value> values;
  std::vector<Node> nodes;  // in execution order
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  std::vector<StateUpdate> updates;
  std::vector<std::string> symbols;  // names of the dynamic dimensions ("batch", ...)
  // Host code to run before each run (optimizer step counters); cannot be saved.
  std::vector<std::function<void()>> host_effects;

  // ---- building (the tracer, passes, the loader and tests use these) ----
  ValueId add_input(std::string name, TensorMeta meta);
  ValueId add_parameter(std::string name, Tensor data);
  ValueId add_constant(Tensor data);
  // Appends `op` applied to `inputs`; output metadata comes from op.infer.
  // Throws whatever infer throws (a bad node never enters the graph).
  std::vector<ValueId> add_node(const OpDef& op, std::vector<ValueId> inputs, Attrs attrs = {});
  // Appends a node with given output metadata (the tracer, control-flow ops).
  std::vector<ValueId> add_node(const OpDef& op, std::vector<ValueId> inputs, Attrs attrs,
                                const std::vector<TensorMeta>& output_meta);

  const Value& value(ValueId id) const;
  Value& value(ValueId id);
  // Uses of each value by nodes, outputs and updates (index = ValueId).
  std::vector<int32_t> use_counts() const;
  // True when running the graph reads host state or writes it back.
  bool has_host_state() const;
  // A graph's current sizes of `id` under symbol bindings.
  Shape sizes(ValueId id, std::span<const int64_t> bindings) const;

  // Throws InternalError when the graph is malformed (a pass bug): values
  // used before they are defined, dangling ids, node outputs whose metadata
  // disagrees with op.infer. The loader reports the same as FormatError.
  void verify() const;
  // Drops unreachable values and renumbers (passes leave holes behind).
  void compact();
};

// The readable form of a graph (ember::jit::print).
std::string print(const Graph& graph);

// Runs a graph node by node through call() (no arena, no fusion): the
// reference the passes and the executor are tested against.
TensorList interpret(const Graph& graph, const TensorList& inputs);

// An op by name: the op table's (find_op) or graph mode's own (cond,
// while_loop); nullptr if unknown. What the loader resolves names with.
const OpDef* find_graph_op(std::string_view name);

// A tensor with metadata only (no storage), for running shape rules.
Tensor meta_tensor(const TensorMeta& meta);

}  // namespace ember::graph
