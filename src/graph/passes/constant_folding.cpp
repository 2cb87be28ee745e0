// Constant folding: a node whose inputs are all fixed tensors runs once, now,
// and its outputs become constants. Results are bit-identical to running the
// node later, since the same kernel sees the same data.
#include "ember/autograd/autograd.h"
#include "ember/graph/passes.h"
#include "rewrite.h"

namespace ember::graph::passes {
namespace {

// The size rule: a folded node's outputs may hold more bytes than its inputs
// only up to this much. expand(scalar) to a large shape or zeros_like(weight)
// stay nodes: they cost little at run time and would bloat a saved graph.
constexpr int64_t kFreeBytes = 64 * 1024;

int64_t nbytes(const Value& v) { return shape_numel(v.meta.sizes) * int64_t(itemsize(v.meta.dtype)); }

}  // namespace

void fold_constants(Graph& graph, bool parameters_too) {
  // A parameter the graph writes back changes from run to run: never fixed.
  std::vector<bool> written(graph.values.size(), false);
  for (const StateUpdate& u : graph.updates) written[size_t(u.target)] = true;
  auto fixed = [&](ValueId id) {
    const Value& v = graph.value(id);
    return v.kind == ValueKind::constant ||
           (parameters_too && v.kind == ValueKind::parameter && !written[size_t(id)]);
  };
  // A folded value the caller can see would be the graph's own tensor (see
  // escaping_values): such nodes keep running.
  const std::vector<bool> escapes = detail::escaping_values(graph);
  const std::vector<int32_t> uses = graph.use_counts();

  detail::Forwarding forwarding(graph);
  for (Node& node : graph.nodes) {
    forwarding.apply(node);  // inputs folded earlier now name their constants
    if (!detail::is_pure(node)) continue;
    bool foldable = true;
    int64_t input_bytes = 0, output_bytes = 0;
    for (ValueId in : node.inputs) {
      if (in == kNoValue) continue;
      foldable = foldable && fixed(in);
      input_bytes += nbytes(graph.value(in));
    }
    bool used = false;  // running a node nothing reads would only cost time
    for (ValueId out : node.outputs) {
      foldable = foldable && !escapes[size_t(out)];
      used = used || uses[size_t(out)] > 0;
      output_bytes += nbytes(graph.value(out));
    }
    if (!foldable || !used || output_bytes > std::max(input_bytes, kFreeBytes)) continue;

    TensorList args;
    for (ValueId in : node.inputs) args.push_back(in == kNoValue ? Tensor() : graph.value(in).data);
    TensorList results;
    try {
      autograd::NoGradGuard no_grad;
      results = call(*node.op, args, node.attrs);
    } catch (const InternalError&) {
      throw;
    } catch (const Error&) {
      continue;  // e.g. an integer division by zero: it fails when the graph runs, as eager code would
    }
    for (size_t o = 0; o < results.size(); ++o) {
      // A constant owns its data: a view's result would be a window onto a
      // (frozen) parameter's storage.
      Tensor data = node.op->view != nullptr ? results[o].clone() : std::move(results[o]);
      forwarding.forward(node.outputs[o], graph.add_constant(std::move(data)));
    }
  }
  forwarding.finish(graph);
  if (forwarding.changed()) eliminate_dead_code(graph);  // the folded nodes
}

}  // namespace ember::graph::passes
