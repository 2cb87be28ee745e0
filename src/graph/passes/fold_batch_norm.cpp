// Batch-norm folding (inference): batch_norm in evaluation mode reading a
// conv2d or linear output becomes part of that op's weight and bias,
//   batch_norm(conv2d(x, W, b)) = conv2d(x, W * s, (b - mean) * s + beta),
//   s = gamma / sqrt(running_var + eps)   (per output channel: W's dim 0),
// and likewise for linear, whose out_features are batch_norm's channels only
// when its output is 2-D [N, C].
//
// Only when the batch_norm is the sole reader of the op's output (nothing
// else sees the unnormalized values) and the weight, bias and all four
// statistics are parameters or constants: their current values are baked
// into new constants, so this is a pass for graphs frozen for inference
// (optimize runs it only then). Scale and shift are computed in float64 and
// rounded once to the weight's dtype; the folded graph then differs from the
// unfolded one only by that rounding and the order of the additions
// (tests/graph/test_fusion.cpp bounds it at 1e-5 relative in float32).
#include "ember/graph/passes.h"
#include "ember/ops/binary.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"
#include "ember/autograd/autograd.h"
#include "rewrite.h"

namespace ember::graph::passes {
namespace {

bool frozen(const Graph& graph, ValueId id) {
  if (id == kNoValue) return true;  // an absent optional input
  const Value& v = graph.value(id);
  return (v.kind == ValueKind::parameter || v.kind == ValueKind::constant) && !v.is_dynamic();
}

Tensor f64(const Graph& graph, ValueId id) { return to_dtype(graph.value(id).data, DType::f64); }

}  // namespace

void fold_batch_norm(Graph& graph) {
  const std::vector<int32_t> uses = graph.use_counts();
  std::vector<bool> removed(graph.nodes.size(), false);
  autograd::NoGradGuard no_grad;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& bn = graph.nodes[n];
    if (bn.op->name != "batch_norm" || !detail::is_pure(bn) || bn.attrs.b("training")) continue;
    const ValueId y = bn.inputs[0];
    const Value& yv = graph.value(y);
    if (yv.kind != ValueKind::node || uses[size_t(y)] != 1) continue;
    Node& producer = graph.nodes[size_t(yv.node)];
    const std::string_view op = producer.op->name;
    const bool conv = op == "conv2d";
    if ((!conv && op != "linear") || !detail::is_pure(producer) || removed[size_t(yv.node)]) continue;
    if (!conv && yv.meta.sizes.size() != 2) continue;
    const ValueId weight = producer.inputs[1];
    const ValueId bias = producer.inputs.size() > 2 ? producer.inputs[2] : kNoValue;
    bool all_frozen = frozen(graph, weight) && frozen(graph, bias);
    for (size_t i = 1; i < 5; ++i) all_frozen = all_frozen && frozen(graph, bn.inputs[i]);
    if (!all_frozen) continue;

    const Tensor w = graph.value(weight).data;  // a handle: add_constant below grows graph.values
    const int64_t channels = w.size(0);
    const ValueId gamma = bn.inputs[1], beta = bn.inputs[2], mean = bn.inputs[3], var = bn.inputs[4];
    Tensor scale = rsqrt(add(f64(graph, var), bn.attrs.f("eps")));
    if (gamma != kNoValue) scale = mul(scale, f64(graph, gamma));
    Shape per_channel(size_t(w.dim()), 1);  // [O, 1, ...]: scales W's dim 0
    per_channel[0] = channels;
    Tensor new_bias = neg(f64(graph, mean));
    if (bias != kNoValue) new_bias = add(new_bias, f64(graph, bias));  // a linear bias may be 0-d or [1]
    new_bias = mul(new_bias, scale);
    if (beta != kNoValue) new_bias = add(new_bias, f64(graph, beta));
    const Tensor new_weight = mul(to_dtype(w, DType::f64), reshape(scale, per_channel));
    producer.inputs[1] = graph.add_constant(to_dtype(new_weight, w.dtype()).contiguous());
    const ValueId folded_bias = graph.add_constant(to_dtype(new_bias, w.dtype()).contiguous());
    if (producer.inputs.size() > 2) producer.inputs[2] = folded_bias;
    else producer.inputs.push_back(folded_bias);
    // The producer now computes batch_norm's result: it takes over that value.
    producer.outputs[0] = bn.outputs[0];
    removed[n] = true;
  }
  detail::rebuild_nodes(graph, removed);
}

}  // namespace ember::graph::passes
