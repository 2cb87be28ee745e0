// Epilogue fusion: a conv2d, linear or addmm, then (when the op had no bias)
// a bias add, then an activation, becomes one fused_conv2d / fused_linear
// node (src/ops/fused.h), the activation running on the output while it is in
// cache (a oneDNN post-op for convolutions):
//
//   conv2d(x, w, None) -> add(., b[1, O, 1, 1]) -> relu   =>  fused_conv2d(x, w, view(b, [O])) {activation=relu}
//   linear(x, w, b) -> gelu                               =>  fused_linear(x, w, b) {activation=gelu}
//   conv2d(x, w, b) -> relu -> max_pool2d                 =>  fused_conv2d_max_pool2d(x, w, b) {activation=relu, pool_...}
//   addmm(b[O], x, permute(w, [1, 0])) -> silu            =>  fused_linear(x, w, b) {activation=silu}
//
// Each replaced intermediate must have no reader but the next node of the
// chain (not a graph output, a state update or a view): then no other node,
// the backward pass of a training graph included, needs it, and the rewrite
// is valid in any graph. A chain must absorb at least one node after the
// product. Results equal the unfused ops' (linear) or differ by oneDNN's
// eltwise rounding (convolutions; tests/graph/test_fusion.cpp states it).
#include <string>

#include "../../ops/fused.h"
#include "ember/graph/passes.h"
#include "rewrite.h"

namespace ember::graph::passes {
namespace {

// The fused activation a node applies ("relu", "gelu_tanh", ...), or "" if none.
std::string activation_of(const Node& node) {
  const std::string_view op = node.op->name;
  if (op == "gelu") return node.attrs.s("approximate") == "tanh" ? "gelu_tanh" : "gelu";
  if (op == "relu" || op == "silu" || op == "sigmoid" || op == "tanh") return std::string(op);
  return "";
}

}  // namespace

void fuse_epilogues(Graph& graph) {
  const std::vector<int32_t> uses = graph.use_counts();
  // The one node reading each value read exactly once (else -1).
  std::vector<int32_t> reader(graph.values.size(), -1);
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (ValueId in : graph.nodes[n].inputs)
      if (in != kNoValue && uses[size_t(in)] == 1) reader[size_t(in)] = int32_t(n);
  // The next node of a chain: the pure sole reader of `v`.
  auto next = [&](ValueId v) -> const Node* {
    const int32_t r = reader[size_t(v)];
    return r >= 0 && detail::is_pure(graph.nodes[size_t(r)]) ? &graph.nodes[size_t(r)] : nullptr;
  };
  std::vector<bool> removed(graph.nodes.size(), false);
  std::vector<std::vector<Node>> inserted(graph.nodes.size());  // nodes to place before node n
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& product = graph.nodes[n];
    const std::string_view op = product.op->name;
    if ((op != "conv2d" && op != "linear" && op != "addmm") || !detail::is_pure(product)) continue;
    const bool conv = op == "conv2d";
    std::vector<ValueId> inputs = product.inputs;
    std::vector<Node> views;  // a conv bias [1, O, 1, 1] viewed as [O]
    if (op == "addmm") {
      // addmm(b, x, w^T) with unit alpha and beta is linear(x, w, b).
      const Value& wt = graph.value(product.inputs[2]);
      const Value& b = graph.value(product.inputs[0]);
      if (product.attrs.scalar("alpha") != Scalar(1) || product.attrs.scalar("beta") != Scalar(1) ||
          wt.kind != ValueKind::node || b.meta.sizes.size() != 1)
        continue;
      const Node& transpose = graph.nodes[size_t(wt.node)];
      if (transpose.op->name != "permute" || transpose.attrs.ints("dims") != Shape{1, 0}) continue;
      inputs = {product.inputs[1], transpose.inputs[0], product.inputs[0]};
    }
    const bool has_bias = inputs.size() > 2 && inputs[2] != kNoValue;
    ValueId out = product.outputs[0];
    const TensorMeta product_meta = graph.value(out).meta;  // a copy: graph.values may grow below
    std::vector<size_t> absorbed;
    const Node* after = next(out);
    if (!has_bias && after != nullptr && after->op->name == "add" && after->attrs.scalar("alpha") == Scalar(1)) {
      const ValueId other = after->inputs[0] == out ? after->inputs[1] : after->inputs[0];
      const Value& b = graph.value(other);
      const int64_t channels = conv ? product_meta.sizes[1] : product_meta.sizes.back();
      // A bias: one value per output channel where the op's bias would go, changing no metadata.
      const bool per_channel = conv ? b.meta.sizes == Shape{channels, 1, 1} || b.meta.sizes == Shape{1, channels, 1, 1}
                                    : b.meta.sizes == Shape{channels};
      if (other != out && per_channel && !b.is_dynamic() && b.meta.dtype == product_meta.dtype &&
          detail::same_meta(graph.value(after->outputs[0]), graph.value(out))) {
        ValueId bias = other;
        if (conv) {  // conv's bias is [O]: a view node, made here and placed before the fused node
          Value viewed;
          viewed.meta = {Shape{channels}, b.meta.dtype, b.meta.device};
          graph.values.push_back(std::move(viewed));
          bias = ValueId(graph.values.size() - 1);
          Node view;
          view.op = find_op("view");
          view.inputs = {other};
          view.attrs.set("size", Shape{channels});
          view.outputs = {bias};
          views.push_back(std::move(view));
        }
        inputs.resize(3);
        inputs[2] = bias;
        absorbed.push_back(size_t(reader[size_t(out)]));
        out = after->outputs[0];
        after = next(out);
      }
    }
    std::string activation = "none";
    if (after != nullptr && !activation_of(*after).empty() && is_floating(product_meta.dtype)) {
      activation = activation_of(*after);
      absorbed.push_back(size_t(reader[size_t(out)]));
      out = after->outputs[0];
    }
    // A convolution's max-pooling joins too: see Note [Convolution and
    // pooling by batch chunks] in src/ops/fused.cpp.
    const Node* pool = conv ? next(out) : nullptr;
    if (pool != nullptr && pool->op->name != "max_pool2d") pool = nullptr;
    if (pool != nullptr) {
      absorbed.push_back(size_t(reader[size_t(out)]));
      out = pool->outputs[0];
    }
    if (absorbed.empty()) continue;
    Node fused;
    fused.inputs = std::move(inputs);
    fused.outputs = {out};
    fused.op = !conv ? &fused_linear_op : pool != nullptr ? &fused_conv2d_max_pool2d_op : &fused_conv2d_op;
    if (conv)
      for (const auto& [name, value] : product.attrs.items()) fused.attrs.set(name, value);
    fused.attrs.set("activation", activation);
    if (pool != nullptr) {
      for (const auto& [name, value] : pool->attrs.items()) fused.attrs.set("pool_" + name, value);
      if (!fused.attrs.has("pool_dilation")) fused.attrs.set("pool_dilation", Shape{1, 1});
    }
    removed[n] = true;
    for (size_t a = 0; a + 1 < absorbed.size(); ++a) removed[absorbed[a]] = true;
    auto& before = inserted[absorbed.back()];
    for (Node& v : views) before.push_back(std::move(v));
    graph.nodes[absorbed.back()] = std::move(fused);
  }
  detail::rebuild_nodes(graph, removed, std::move(inserted));
}

}  // namespace ember::graph::passes
