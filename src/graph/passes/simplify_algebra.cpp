// Algebraic simplification: identities that hold in every dtype and shape.
//
//   x*1, 1*x, x/1        -> x      (the 1 a constant whose every element is one)
//   x+0, 0+x, x-0        -> x      (likewise zero; add's alpha must keep it zero)
//   to(x, x.dtype), clone(x) -> x
//   permute(permute(x))  -> permute(x), or x when the permutations cancel
//   view(view(x))        -> view(x), and view(x, x.sizes) -> x
//
// A rewrite happens only when the replacement has exactly the replaced
// value's metadata: x*ones([3, 4]) with x of shape [4] broadcasts, and an int
// x plus a float 0 promotes, so neither is x. Adding +0.0 turns x = -0.0 into
// +0.0; the two compare equal, and this is the one way the pass is not bit-exact.
//
// Dropping a kernel (x*1, clone) makes the result's readers see x itself. That
// is fine for nodes that only read it, but a value the caller sees (see
// escaping_values) or a view op reads (it needs a contiguous, unaliased
// tensor, as the kernel gave) is replaced only by a fresh kernel result that
// nothing else reads. Dropping a view keeps the layout, so there the only rule
// is: a value the caller sees is never replaced by a graph input, parameter
// or constant — that node stays.
#include <cmath>
#include <string_view>

#include "ember/graph/passes.h"
#include "rewrite.h"

namespace ember::graph::passes {
namespace {

// add/sub with a zero operand: alpha * 0 is zero unless alpha is inf or nan.
bool finite_alpha(const Node& node) {
  const Scalar& alpha = node.attrs.scalar("alpha");
  return !alpha.is_floating() || std::isfinite(alpha.to_double());
}

// The input an arithmetic node, a cast or a copy returns unchanged, or kNoValue.
ValueId kernel_identity(const Graph& graph, const Node& node) {
  const std::string_view op = node.op->name;
  const auto& in = node.inputs;
  if (op == "mul") {
    if (detail::filled_with(graph, in[1], 1)) return in[0];
    if (detail::filled_with(graph, in[0], 1)) return in[1];
  } else if (op == "add") {
    if (detail::filled_with(graph, in[1], 0) && finite_alpha(node)) return in[0];
    if (detail::filled_with(graph, in[0], 0) && node.attrs.scalar("alpha").to_double() == 1) return in[1];
  } else if (op == "sub") {
    if (detail::filled_with(graph, in[1], 0) && finite_alpha(node)) return in[0];
  } else if (op == "div") {
    // floor(x / 1) is x only for integers (the result dtype says which).
    const bool rounds = !node.attrs.s("rounding_mode").empty();
    if (detail::filled_with(graph, in[1], 1) && (!rounds || !is_floating(graph.value(node.outputs[0]).meta.dtype)))
      return in[0];
  } else if (op == "to" || op == "clone") {
    return in[0];  // same_meta rejects a cast that changes the dtype
  }
  return kNoValue;
}

// permute(permute(x, inner), outer) is permute(x, inner[outer[i]]).
Shape compose_permutations(const Shape& inner, const Shape& outer) {
  const auto nd = int64_t(inner.size());
  auto wrap = [nd](int64_t d) { return d < 0 ? d + nd : d; };
  Shape dims = outer;
  for (auto& d : dims) d = wrap(inner[size_t(wrap(d))]);
  return dims;
}

bool is_identity_permutation(const Shape& dims) {
  const auto nd = int64_t(dims.size());
  for (int64_t i = 0; i < nd; ++i)
    if (dims[size_t(i)] != i && dims[size_t(i)] != i - nd) return false;
  return true;
}

class Simplifier {
 public:
  explicit Simplifier(Graph& graph)
      : graph_(graph), escapes_(detail::escaping_values(graph)), viewed_(graph.values.size(), false),
        uses_(graph.use_counts()), forwarding_(graph) {
    for (const Node& node : graph.nodes)
      if (node.op->view != nullptr)
        for (ValueId in : node.inputs)
          if (in != kNoValue) viewed_[size_t(in)] = true;
  }

  void run() {
    for (Node& node : graph_.nodes) {
      forwarding_.apply(node);
      if (!node.host_attrs.empty() || !node.subgraphs.empty() || node.outputs.size() != 1) continue;
      if (node.op->view != nullptr) simplify_view(node);
      else if (ValueId x = kernel_identity(graph_, node); x != kNoValue) drop_kernel(node, x);
    }
    forwarding_.finish(graph_);
    if (forwarding_.changed()) eliminate_dead_code(graph_);  // the bypassed nodes
  }

 private:
  // The node that computes `id` when it is another `op` node, else null.
  const Node* producer(ValueId id, std::string_view op) const {
    const Value& v = graph_.value(id);
    if (v.kind != ValueKind::node) return nullptr;
    const Node& p = graph_.nodes[size_t(v.node)];
    return p.op->name == op && p.host_attrs.empty() ? &p : nullptr;
  }

  void rewire_input(Node& node, ValueId x) {
    --uses_[size_t(node.inputs[0])];
    ++uses_[size_t(x)];
    viewed_[size_t(x)] = true;
    node.inputs[0] = x;
  }

  void simplify_view(Node& node) {
    if (node.op->name == "permute" && node.sym_attrs.empty()) {
      if (const Node* inner = producer(node.inputs[0], "permute"); inner && inner->sym_attrs.empty()) {
        node.attrs.set("dims", compose_permutations(inner->attrs.ints("dims"), node.attrs.ints("dims")));
        rewire_input(node, inner->inputs[0]);
      }
      if (is_identity_permutation(node.attrs.ints("dims"))) drop_view(node, node.inputs[0]);
    } else if (node.op->name == "view") {
      // The outer view's sizes (and their symbolic entries) say everything.
      if (const Node* inner = producer(node.inputs[0], "view")) rewire_input(node, inner->inputs[0]);
      drop_view(node, node.inputs[0]);
    }
  }

  void drop_view(const Node& node, ValueId x) {
    const ValueId result = node.outputs[0];
    if (!detail::same_meta(graph_.value(result), graph_.value(x))) return;
    if (escapes_[size_t(result)] && graph_.value(x).kind != ValueKind::node) return;
    forward(result, x);
  }

  void drop_kernel(const Node& node, ValueId x) {
    const ValueId result = node.outputs[0];
    if (!detail::same_meta(graph_.value(result), graph_.value(x))) return;
    if (escapes_[size_t(result)] || viewed_[size_t(result)]) {
      const Value& v = graph_.value(x);
      const bool fresh = v.kind == ValueKind::node && graph_.nodes[size_t(v.node)].op->view == nullptr &&
                         graph_.nodes[size_t(v.node)].subgraphs.empty();
      if (!fresh || uses_[size_t(x)] != 1) return;
    }
    forward(result, x);
  }

  // The node computing `result` is dead from here on.
  void forward(ValueId result, ValueId x) {
    const auto r = size_t(result), i = size_t(x);
    forwarding_.forward(result, x);
    uses_[i] += uses_[r] - 1;
    uses_[r] = 0;
    escapes_[i] = escapes_[i] || escapes_[r];
    viewed_[i] = viewed_[i] || viewed_[r];
  }

  Graph& graph_;
  std::vector<bool> escapes_;
  std::vector<bool> viewed_;  // read by a view op
  std::vector<int32_t> uses_;
  detail::Forwarding forwarding_;
};

}  // namespace

void simplify_algebra(Graph& graph) { Simplifier(graph).run(); }

}  // namespace ember::graph::passes
