// Relu's gradient mask moved before max-pooling's gradient scatter:
//
//   where(gt(y, 0), max_pool2d_backward(g, idx), 0)        [y's size]
//     => max_pool2d_backward(where(gt(pooled, 0), g, 0), idx)  [the pooled size]
//
// where (pooled, idx) = max_pool2d_with_indices(y): the backward of
// relu -> max_pool2d, the pair every classic CNN has. The scatter puts each
// window's gradient at its maximum, idx_w, and relu's mask keeps position p
// when y_p > 0; since pooled_w = y[idx_w], masking the windows' gradients by
// pooled_w > 0 before the scatter keeps exactly the same terms, summed in the
// same order, so the rewrite is exact (NaNs included: a NaN maximum fails
// both tests). The mask then reads and writes a quarter of the memory (2x2
// pooling), and one activation-sized buffer is never made.
#include "ember/graph/passes.h"
#include "rewrite.h"

namespace ember::graph::passes {

void mask_pooled_gradients(Graph& graph) {
  const std::vector<int32_t> uses = graph.use_counts();
  std::vector<int32_t> producer(graph.values.size(), -1);
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (ValueId out : graph.nodes[n].outputs) producer[size_t(out)] = int32_t(n);
  auto made_by = [&](ValueId v, std::string_view op) -> const Node* {
    if (v == kNoValue || producer[size_t(v)] < 0) return nullptr;
    const Node& node = graph.nodes[size_t(producer[size_t(v)])];
    return node.op->name == op && detail::is_pure(node) ? &node : nullptr;
  };
  std::vector<bool> removed(graph.nodes.size(), false);
  std::vector<std::vector<Node>> inserted(graph.nodes.size());  // nodes to place before node n
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& mask = graph.nodes[n];
    if (mask.op->name != "where" || !detail::is_pure(mask)) continue;
    const ValueId condition = mask.inputs[0], scattered = mask.inputs[1], zero = mask.inputs[2];
    const Node* compare = made_by(condition, "gt");
    const Node* scatter = made_by(scattered, "max_pool2d_backward");
    if (compare == nullptr || scatter == nullptr || uses[size_t(scattered)] != 1 ||
        !detail::filled_with(graph, zero, 0) || !detail::filled_with(graph, compare->inputs[1], 0))
      continue;
    const Node* pool = made_by(scatter->inputs[1], "max_pool2d_with_indices");
    if (pool == nullptr || pool->outputs[1] != scatter->inputs[1] || pool->inputs[0] != compare->inputs[0]) continue;
    const ValueId pooled = pool->outputs[0], grad = scatter->inputs[0];
    const Value& out = graph.value(mask.outputs[0]);
    // The same values, dtypes and (static) sizes on both sides.
    if (!detail::same_meta(out, graph.value(scattered)) || !detail::same_meta(graph.value(grad), graph.value(pooled)) ||
        out.is_dynamic() || graph.value(grad).is_dynamic())
      continue;
    auto add_value = [&](TensorMeta meta) {
      Value v;
      v.meta = std::move(meta);
      graph.values.push_back(std::move(v));
      return ValueId(graph.values.size() - 1);
    };
    const TensorMeta pooled_meta = graph.value(pooled).meta, grad_meta = graph.value(grad).meta;
    const ValueId positive = add_value({pooled_meta.sizes, DType::b8, pooled_meta.device});
    const ValueId masked = add_value(grad_meta);
    Node gt_node{.op = find_op("gt"), .inputs = {pooled, compare->inputs[1]}, .outputs = {positive}};
    Node where_node{.op = find_op("where"), .inputs = {positive, grad, zero}, .outputs = {masked}};
    inserted[n].push_back(std::move(gt_node));
    inserted[n].push_back(std::move(where_node));
    removed[size_t(producer[size_t(scattered)])] = true;
    if (uses[size_t(condition)] == 1) removed[size_t(producer[size_t(condition)])] = true;
    // `mask` becomes the scatter of the masked gradient.
    mask.op = scatter->op;
    mask.inputs = {masked, scatter->inputs[1]};
    mask.attrs = scatter->attrs;
  }
  detail::rebuild_nodes(graph, removed, std::move(inserted));
}

}  // namespace ember::graph::passes
