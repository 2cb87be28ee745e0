#pragma once
// Graph-to-graph rewrites. Each pass is one file in src/graph/passes/, keeps
// the graph's outputs and state updates unchanged in value (tests compare
// interpret() before and after) and leaves a graph that verify()s.
//
//   graph::Graph g = jit::trace(net, {x});
//   g = jit::optimize(std::move(g));        // the default pipeline below
//   std::cout << jit::print(g);
#include "ember/graph/graph.h"

namespace ember::graph {

namespace passes {

// Removes nodes whose outputs nothing uses (ops with side effects stay).
void eliminate_dead_code(Graph& graph);
// Merges nodes that apply the same op with equal attributes to the same inputs.
void eliminate_common_subexpressions(Graph& graph);
// Runs nodes whose inputs are all constants (or, when `parameters_too`, also
// parameters — for a graph frozen for inference) once, making constants.
void fold_constants(Graph& graph, bool parameters_too);
// x*1, x+0, x-0, x/1, transpose of a transpose, view/reshape chains, no-op
// views and casts, ...: identities that hold in every dtype and shape.
void simplify_algebra(Graph& graph);
// Training: relu's gradient mask applied to max-pooling's gradient before the
// scatter, at the pooled size (exact; see src/graph/passes/mask_pooled_gradients.cpp).
void mask_pooled_gradients(Graph& graph);
// Inference: batch_norm(eval) after conv2d/linear folded into their weights.
void fold_batch_norm(Graph& graph);
// conv2d/linear/addmm followed by bias add and an activation (relu, gelu,
// silu, sigmoid, tanh) become one fused node (a oneDNN post-op).
void fuse_epilogues(Graph& graph);
// Chains of elementwise and broadcast ops become one fused_elementwise node
// that runs over cache-sized blocks.
void fuse_elementwise(Graph& graph);

}  // namespace passes

struct OptimizeOptions {
  // Inference: parameters are constants (folding, batch-norm folding). A
  // graph with state updates is never frozen.
  bool freeze = true;
  bool fuse = true;  // epilogue and elementwise fusion
};

// The default pipeline: simplify, fold, CSE, DCE, then fusion.
Graph optimize(Graph graph, const OptimizeOptions& options = {});

}  // namespace ember::graph
