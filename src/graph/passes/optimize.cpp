// The default pipeline (ember::jit::optimize).
#include "ember/graph/passes.h"

namespace ember::graph {

Graph optimize(Graph graph, const OptimizeOptions& options) {
  // Parameters are constants only in a graph that neither writes them back
  // nor reads host state (a training step is never frozen).
  const bool freeze = options.freeze && graph.updates.empty() && !graph.has_host_state();
  // Simplifying first exposes constants (x*1 of a constant) and duplicates.
  passes::simplify_algebra(graph);
  passes::fold_constants(graph, freeze);
  passes::eliminate_common_subexpressions(graph);
  passes::eliminate_dead_code(graph);
  passes::mask_pooled_gradients(graph);
  if (freeze) passes::fold_batch_norm(graph);
  if (options.fuse) {
    passes::fuse_epilogues(graph);
    passes::fuse_elementwise(graph);
  }
  passes::eliminate_dead_code(graph);  // compacts
  graph.verify();
  return graph;
}

}  // namespace ember::graph
