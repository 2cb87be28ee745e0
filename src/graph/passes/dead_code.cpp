// Dead-code elimination: a node stays when something the caller sees reads
// it, directly or through other nodes (graph outputs, state updates), or when
// it has side effects. Graph inputs stay even when unused: the caller passes them.
#include "ember/graph/passes.h"
#include "rewrite.h"

namespace ember::graph::passes {

void eliminate_dead_code(Graph& graph) {
  std::vector<bool> live(graph.values.size(), false);
  for (ValueId out : graph.outputs) live[size_t(out)] = true;
  for (const StateUpdate& u : graph.updates) live[size_t(u.value)] = true;
  std::vector<bool> keep(graph.nodes.size(), false);
  for (size_t n = graph.nodes.size(); n-- > 0;) {
    const Node& node = graph.nodes[n];
    keep[n] = detail::has_side_effects(node);
    for (ValueId out : node.outputs) keep[n] = keep[n] || live[size_t(out)];
    if (!keep[n]) continue;
    for (ValueId in : node.inputs)
      if (in != kNoValue) live[size_t(in)] = true;
  }
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    if (keep[n]) kept.push_back(std::move(graph.nodes[n]));
  graph.nodes = std::move(kept);
  graph.compact();  // drops the removed nodes' values and renumbers
}

}  // namespace ember::graph::passes
