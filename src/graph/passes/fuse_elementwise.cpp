// Elementwise fusion: a group of elementwise nodes (unary, broadcasting
// binary and ternary ops, comparisons, where, casts: is_fusable_elementwise)
// whose intermediate values nothing outside the group reads becomes one
// fused_elementwise node (Note [fused_elementwise programs] in
// src/ops/fused.cpp), which runs the group over cache-sized blocks: one pass
// over memory instead of one per node, with the same results bit for bit.
//
// Groups grow from their last node backwards, taking in a producer when
// every reader of its output is already in the group; so a group is a DAG
// with one output (the last node's, which anyone may read). Its nodes only
// read values defined before them, so the fused node takes the last node's
// place. A group of one node stays as it is.
#include <algorithm>
#include <string>
#include <unordered_map>

#include "../../ops/fused.h"
#include "ember/graph/passes.h"
#include "rewrite.h"

namespace ember::graph::passes {
namespace {

bool fusable(const Node& node) {
  return detail::is_pure(node) && node.outputs.size() == 1 && ember::detail::is_fusable_elementwise(*node.op) &&
         std::ranges::find(node.inputs, kNoValue) == node.inputs.end();
}

// The fused_elementwise node computing `group` (node indices, ascending).
Node fused_node(const Graph& graph, const std::vector<size_t>& group) {
  std::unordered_map<ValueId, std::string> name;  // value -> "x<k>" or "t<k>"
  Node fused;
  fused.op = &fused_elementwise_op;
  std::string program;
  for (size_t s = 0; s < group.size(); ++s) {
    const Node& node = graph.nodes[group[s]];
    std::string args;
    for (ValueId in : node.inputs) {
      auto it = name.find(in);
      if (it == name.end()) {
        it = name.emplace(in, "x" + std::to_string(fused.inputs.size())).first;
        fused.inputs.push_back(in);
      }
      args += (args.empty() ? "" : ", ") + it->second;
    }
    const std::string step = "t" + std::to_string(s);
    name[node.outputs[0]] = step;
    program += (s ? "; " : "") + step + " = " + std::string(node.op->name) + "(" + args + ")";
    for (const auto& [attr, value] : node.attrs.items()) fused.attrs.set(step + "." + attr, value);
  }
  fused.attrs.set("program", program);
  fused.outputs = {graph.nodes[group.back()].outputs[0]};
  return fused;
}

}  // namespace

void fuse_elementwise(Graph& graph) {
  const std::vector<int32_t> uses = graph.use_counts();
  std::vector<bool> grouped(graph.nodes.size(), false);
  std::vector<bool> removed(graph.nodes.size(), false);
  for (size_t last = graph.nodes.size(); last-- > 0;) {
    if (grouped[last] || !fusable(graph.nodes[last])) continue;
    std::vector<size_t> group{last};
    // Readers of each value inside the group; a producer joins when they are all of its readers.
    std::unordered_map<ValueId, int32_t> reads;
    for (ValueId in : graph.nodes[last].inputs) ++reads[in];
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [value, count] : reads) {
        const Value& v = graph.value(value);
        if (v.kind != ValueKind::node || count != uses[size_t(value)]) continue;
        const auto producer = size_t(v.node);
        if (grouped[producer] || std::ranges::find(group, producer) != group.end() ||
            !fusable(graph.nodes[producer]))
          continue;
        group.push_back(producer);
        for (ValueId in : graph.nodes[producer].inputs) ++reads[in];
        grew = true;
        break;  // `reads` changed under the loop
      }
    }
    if (group.size() < 2) continue;
    std::ranges::sort(group);
    for (size_t n : group) grouped[n] = removed[n] = true;
    removed[last] = false;
    graph.nodes[last] = fused_node(graph, group);
  }
  detail::rebuild_nodes(graph, removed);
}

}  // namespace ember::graph::passes
