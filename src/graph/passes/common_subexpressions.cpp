// Common-subexpression elimination: a node that applies the same op, with
// equal attributes, to the same inputs as an earlier node is replaced by it.
#include <algorithm>
#include <bit>
#include <map>

#include "ember/graph/passes.h"
#include "rewrite.h"

namespace ember::graph::passes {
namespace {

// Doubles compare by their bits: 0.0 and -0.0 (or two NaNs) are different
// attributes, and merging them could change a result's sign.
bool same_bits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

bool same_attr(const AttrValue& a, const AttrValue& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<double>(&a)) return same_bits(*x, std::get<double>(b));
  if (const auto* x = std::get_if<std::vector<double>>(&a)) {
    const auto& y = std::get<std::vector<double>>(b);
    return x->size() == y.size() && std::equal(x->begin(), x->end(), y.begin(), same_bits);
  }
  if (const auto* x = std::get_if<Scalar>(&a)) {
    const Scalar& y = std::get<Scalar>(b);
    if (x->kind() != y.kind()) return false;
    return x->is_floating() ? same_bits(x->to_double(), y.to_double()) : x->to_int() == y.to_int();
  }
  return a == b;
}

// Same names with same values, in any order.
bool same_attrs(const Attrs& a, const Attrs& b) {
  if (a.items().size() != b.items().size()) return false;
  for (const auto& [name, value] : a.items())
    if (!b.has(name) || !same_attr(value, b.get(name))) return false;
  return true;
}

bool same_sym_attrs(const std::vector<SymAttr>& a, const std::vector<SymAttr>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].index != b[i].index || !(a[i].expr == b[i].expr)) return false;
  return true;
}

// Host-bound attributes may differ at run time, subgraphs are not compared,
// and random draws differ by design.
bool mergeable(const Node& node) {
  return node.host_attrs.empty() && node.subgraphs.empty() && !detail::draws_random_numbers(*node.op);
}

// `a` and `b` have the same op and inputs.
bool equivalent(const Graph& graph, const Node& a, const Node& b) {
  if (!same_attrs(a.attrs, b.attrs) || !same_sym_attrs(a.sym_attrs, b.sym_attrs)) return false;
  if (a.outputs.size() != b.outputs.size()) return false;
  for (size_t o = 0; o < a.outputs.size(); ++o)
    if (!detail::same_meta(graph.value(a.outputs[o]), graph.value(b.outputs[o]))) return false;
  return true;
}

}  // namespace

void eliminate_common_subexpressions(Graph& graph) {
  detail::Forwarding forwarding(graph);
  // Earlier nodes by (op, inputs); attributes are compared on a hit.
  std::map<std::pair<const OpDef*, std::vector<ValueId>>, std::vector<size_t>> seen;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& node = graph.nodes[n];
    forwarding.apply(node);  // inputs merged earlier now name the kept value
    if (!mergeable(node)) continue;
    std::vector<size_t>& candidates = seen[{node.op, node.inputs}];
    const Node* kept = nullptr;
    for (size_t c : candidates)
      if (equivalent(graph, graph.nodes[c], node)) {
        kept = &graph.nodes[c];
        break;
      }
    if (kept == nullptr) {
      candidates.push_back(n);
      continue;
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) forwarding.forward(node.outputs[o], kept->outputs[o]);
  }
  forwarding.finish(graph);
  if (forwarding.changed()) eliminate_dead_code(graph);  // the merged nodes
}

}  // namespace ember::graph::passes
