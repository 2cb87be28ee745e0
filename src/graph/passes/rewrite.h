#pragma once
// Shared by the passes in this folder: which nodes a pass may touch, and
// forwarding the uses of one value to another in a single sweep.
#include <vector>

#include "ember/graph/graph.h"

namespace ember::graph::detail {

// Kernels that draw random numbers: two calls on equal inputs differ and each
// call advances a generator, so such nodes are never merged, folded or
// removed. In the op table today: dropout_mask (eager rand/bernoulli are not
// ops, so a trace captures their results); the other names are listed so
// that adding such an op keeps the passes correct.
bool draws_random_numbers(const OpDef& op);

// A node that must run even when nothing reads its outputs: it draws random
// numbers, or a subgraph writes state.
bool has_side_effects(const Node& node);

// A node whose outputs depend only on its input tensors and its own static
// attributes (no host-bound or symbolic attributes, no subgraphs, no random
// numbers): what folding and rewriting need.
bool is_pure(const Node& node);

// Drops the nodes marked removed (a pass's rewrites leave them behind),
// places inserted[n] before node n, and compacts the graph.
void rebuild_nodes(Graph& graph, const std::vector<bool>& removed, std::vector<std::vector<Node>> inserted = {});

// True when `id` is a constant whose every element equals `x`.
bool filled_with(const Graph& graph, ValueId id, double x);

// Equal shape (static and dynamic), dtype and device.
bool same_meta(const Value& a, const Value& b);

// Per value: the caller can see its tensor after a run, because it is a graph
// output or state update value, a control-flow node's input (a branch may
// return it), or it is viewed by a node whose output escapes. Such a value
// must stay a tensor the run computed: replacing it by a graph input,
// parameter or constant would hand the caller the graph's own tensor (or its
// own input) as a new result.
std::vector<bool> escaping_values(const Graph& graph);

// Uses to be forwarded from values to others while a pass walks the nodes in
// order: the pass calls apply() on each node before it looks at the node,
// forward() when it finds a replacement, and finish() at the end (graph
// outputs and state updates). Each forward is O(1), the whole sweep O(graph).
class Forwarding {
 public:
  explicit Forwarding(const Graph& graph) : to_(graph.values.size()) {
    for (size_t i = 0; i < to_.size(); ++i) to_[i] = ValueId(i);
  }
  ValueId operator()(ValueId id) const {
    return id == kNoValue || size_t(id) >= to_.size() ? id : to_[size_t(id)];
  }
  // `from` existed when the sweep began; `to` is defined before its uses.
  void forward(ValueId from, ValueId to) {
    to_[size_t(from)] = (*this)(to);
    changed_ = true;
  }
  void apply(Node& node) const {
    for (ValueId& in : node.inputs) in = (*this)(in);
  }
  void finish(Graph& graph) const {
    for (ValueId& out : graph.outputs) out = (*this)(out);
    for (StateUpdate& u : graph.updates) u.value = (*this)(u.value);
  }
  bool changed() const { return changed_; }

 private:
  std::vector<ValueId> to_;
  bool changed_ = false;
};

}  // namespace ember::graph::detail
