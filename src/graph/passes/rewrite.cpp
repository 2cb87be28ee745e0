#include "rewrite.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace ember::graph::detail {

bool draws_random_numbers(const OpDef& op) {
  static constexpr std::array<std::string_view, 9> kRandomOps = {
      "bernoulli", "dropout", "dropout_mask", "multinomial", "normal", "rand", "randint", "randn", "randperm"};
  return std::find(kRandomOps.begin(), kRandomOps.end(), op.name) != kRandomOps.end();
}

bool has_side_effects(const Node& node) {
  if (draws_random_numbers(*node.op)) return true;
  for (const auto& subgraph : node.subgraphs) {
    if (!subgraph->updates.empty() || !subgraph->host_effects.empty()) return true;
    if (std::any_of(subgraph->nodes.begin(), subgraph->nodes.end(), has_side_effects)) return true;
  }
  return false;
}

bool is_pure(const Node& node) {
  return node.host_attrs.empty() && node.sym_attrs.empty() && node.subgraphs.empty() &&
         !draws_random_numbers(*node.op);
}

bool filled_with(const Graph& graph, ValueId id, double x) {
  const Value& v = graph.value(id);
  return v.kind == ValueKind::constant && (v.data == Scalar(x)).all().item<bool>();
}

void rebuild_nodes(Graph& graph, const std::vector<bool>& removed, std::vector<std::vector<Node>> inserted) {
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (n < inserted.size())
      for (Node& node : inserted[n]) kept.push_back(std::move(node));
    if (!removed[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
  graph.compact();
}

bool same_meta(const Value& a, const Value& b) {
  return a.meta.sizes == b.meta.sizes && a.meta.dtype == b.meta.dtype && a.meta.device == b.meta.device &&
         a.dims == b.dims;
}

std::vector<bool> escaping_values(const Graph& graph) {
  std::vector<bool> escapes(graph.values.size(), false);
  for (ValueId out : graph.outputs) escapes[size_t(out)] = true;
  for (const StateUpdate& u : graph.updates) escapes[size_t(u.value)] = true;
  for (size_t n = graph.nodes.size(); n-- > 0;) {
    const Node& node = graph.nodes[n];
    bool through = !node.subgraphs.empty();
    if (node.op->view != nullptr)
      for (ValueId out : node.outputs) through = through || escapes[size_t(out)];
    if (!through) continue;
    for (ValueId in : node.inputs)
      if (in != kNoValue) escapes[size_t(in)] = true;
  }
  return escapes;
}

}  // namespace ember::graph::detail
