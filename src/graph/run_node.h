#pragma once
// Shared by interpret() and the Executor: running the nodes that are not a
// plain kernel call.
#include "ember/graph/graph.h"

namespace ember::graph::detail {

// The attributes a node runs with: its own, with symbolic entries evaluated
// under `bindings` and host-bound ones read now.
Attrs resolved_attrs(const Node& node, std::span<const int64_t> bindings);
// True for cond / while_loop (nodes with subgraphs).
bool is_control_flow(const Node& node);
// Runs a cond / while_loop node on its input tensors.
TensorList run_control_flow(const Node& node, std::span<const Tensor> inputs);
// Binds the graph's symbols from the inputs' sizes, checking every input's
// count, dtype, rank and static sizes (ShapeError / DTypeError naming the input).
std::vector<int64_t> bind_inputs(const Graph& graph, std::span<const Tensor> inputs);
// Checks every node's recorded sizes under `bindings` against its op's shape
// rule (verify() checks two bindings; a graph from an untrusted file must not
// make a kernel write past a buffer at a third). ShapeError on disagreement.
void check_sizes_at(const Graph& graph, std::span<const int64_t> bindings);
// Applies the graph's state updates (values[i] is the tensor of value i).
void apply_updates(const Graph& graph, std::span<const Tensor> values);

}  // namespace ember::graph::detail
