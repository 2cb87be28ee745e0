#include "ember/graph/control_flow.h"

#include "ember/autograd/autograd.h"
#include "run_node.h"
#include "tracer.h"

namespace ember {

namespace {

// A node's outputs come from its subgraphs, not from a shape rule: the
// tracer and the loader build these nodes with explicit output metadata.
std::vector<TensorMeta> infer_from_subgraphs(const OpDef& op, std::span<const Tensor>, const Attrs&) {
  EMBER_INTERNAL_ASSERT(false, op.name, ": outputs are given by its subgraphs");
  return {};
}

// cond(pred, operands..., then captures..., else captures...)
//   {num_operands, then_captures}; subgraphs {then, else}
const OpDef cond_op{
    .name = "cond",
    .inputs = {"pred", "..."},
    .infer = infer_from_subgraphs,
    .nondifferentiable = "control flow in graphs runs forward only (eager cond is differentiable)",
    .onnx = "If",
};

// while_loop(state..., cond captures..., body captures...)
//   {num_state, cond_captures}; subgraphs {cond, body}
const OpDef while_loop_op{
    .name = "while_loop",
    .inputs = {"state", "..."},
    .infer = infer_from_subgraphs,
    .nondifferentiable = "control flow in graphs runs forward only (eager while_loop is differentiable)",
    .onnx = "Loop",
};

bool host_bool(const Tensor& t, const char* what) {
  EMBER_CHECK(t.numel() == 1 && t.dtype() == DType::b8, ValueError, what,
              ": the predicate must be a one-element bool tensor, got ", t.meta_str());
  TraceHookGuard pause(nullptr);  // the decision is the graph's, made at each run
  return t.item<bool>();
}

TensorList concat(std::span<const Tensor> a, std::span<const Tensor> b) {
  TensorList out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Subgraph outputs that are its inputs are copied: a node's outputs are new values.
TensorList fresh(TensorList outs, std::span<const Tensor> inputs) {
  for (Tensor& t : outs)
    for (const Tensor& in : inputs)
      if (t.is_same(in)) {
        TraceHookGuard pause(nullptr);
        t = t.clone();
        break;
      }
  return outs;
}

// Results the enclosing graph already knows (an operand returned as is, a
// parameter) are copied, so that the node's outputs are values of their own.
TensorList fresh_for(TensorList outs, const graph::detail::Tracer& tracer) {
  TraceHookGuard pause(nullptr);
  for (Tensor& t : outs)
    if (tracer.knows(t)) t = t.clone();
  return outs;
}

struct TracedBranch {
  std::shared_ptr<const graph::Graph> graph;
  TensorList captures;
  TensorList results;
};

TracedBranch trace_branch(const std::function<TensorList(const TensorList&)>& fn, const TensorList& args,
                          graph::detail::Tracer& parent, const char* what) {
  auto g = std::make_shared<graph::Graph>();
  static const graph::TraceOptions no_options;
  graph::detail::Tracer child(*g, no_options, &parent);
  for (size_t i = 0; i < args.size(); ++i) child.add_input(args[i], "arg" + std::to_string(i));
  TensorList outs;
  {
    TraceHookGuard install(&child);
    outs = fn(args);
  }
  child.finish(outs);
  EMBER_CHECK(g->updates.empty() && !g->has_host_state(), TraceError, what,
              ": a traced branch or loop body cannot update state in place");
  g->verify();
  return {std::move(g), child.captures(), std::move(outs)};
}

void check_same_types(const TensorList& a, const TensorList& b, const char* what) {
  EMBER_CHECK(a.size() == b.size(), TraceError, what, ": the two functions return ", a.size(), " and ",
              b.size(), " tensors");
  for (size_t i = 0; i < a.size(); ++i)
    EMBER_CHECK(a[i].dtype() == b[i].dtype() && a[i].sizes() == b[i].sizes(), TraceError, what,
                ": result ", i, " is ", a[i].meta_str(), " in one and ", b[i].meta_str(),
                " in the other; a graph needs one type per result");
}

void check_no_grad(const TensorList& operands, const char* what) {
  if (!autograd::GradMode::is_enabled()) return;
  for (const Tensor& t : operands)
    EMBER_CHECK(!t.requires_grad(), TraceError, what,
                ": cannot trace gradients through control flow; trace it under NoGradGuard (inference), or "
                "keep it out of the differentiated part");
}

}  // namespace

TensorList cond(const Tensor& pred, const Branch& then_branch, const Branch& else_branch,
                const TensorList& operands) {
  graph::detail::Tracer* tracer = graph::detail::active_tracer();
  const bool taken = host_bool(pred, "cond");
  if (tracer == nullptr) return taken ? then_branch(operands) : else_branch(operands);

  check_no_grad(operands, "cond");
  TracedBranch then_traced = trace_branch(then_branch, operands, *tracer, "cond");
  TracedBranch else_traced = trace_branch(else_branch, operands, *tracer, "cond");
  check_same_types(then_traced.results, else_traced.results, "cond");
  TensorList inputs{pred};
  inputs.insert(inputs.end(), operands.begin(), operands.end());
  inputs.insert(inputs.end(), then_traced.captures.begin(), then_traced.captures.end());
  inputs.insert(inputs.end(), else_traced.captures.begin(), else_traced.captures.end());
  TensorList results = fresh_for(taken ? then_traced.results : else_traced.results, *tracer);
  tracer->add_node(cond_op, inputs,
                   {{"num_operands", int64_t(operands.size())},
                    {"then_captures", int64_t(then_traced.captures.size())}},
                   results, {then_traced.graph, else_traced.graph});
  return results;
}

TensorList while_loop(const std::function<Tensor(const TensorList&)>& cond_fn, const Branch& body,
                      const TensorList& initial_state) {
  graph::detail::Tracer* tracer = graph::detail::active_tracer();
  if (tracer == nullptr) {
    TensorList state = initial_state;
    while (host_bool(cond_fn(state), "while_loop")) {
      TensorList next = body(state);
      check_same_types(state, next, "while_loop body");
      state = std::move(next);
    }
    return state;
  }
  check_no_grad(initial_state, "while_loop");
  TracedBranch cond_traced =
      trace_branch([&](const TensorList& s) { return TensorList{cond_fn(s)}; }, initial_state, *tracer, "while_loop");
  EMBER_CHECK(cond_traced.results.size() == 1 && cond_traced.results[0].numel() == 1 &&
                  cond_traced.results[0].dtype() == DType::b8,
              TraceError, "while_loop: the condition must return a one-element bool tensor, got ",
              cond_traced.results[0].meta_str());
  TracedBranch body_traced = trace_branch(body, initial_state, *tracer, "while_loop");
  check_same_types(initial_state, body_traced.results, "while_loop body");
  TensorList inputs = initial_state;
  inputs.insert(inputs.end(), cond_traced.captures.begin(), cond_traced.captures.end());
  inputs.insert(inputs.end(), body_traced.captures.begin(), body_traced.captures.end());
  // The value this call returns: the loop run for real, untraced.
  TensorList state = initial_state;
  {
    TraceHookGuard pause(nullptr);
    while (host_bool(cond_fn(state), "while_loop")) state = body(state);
  }
  state = fresh_for(std::move(state), *tracer);
  tracer->add_node(while_loop_op, inputs,
                   {{"num_state", int64_t(initial_state.size())},
                    {"cond_captures", int64_t(cond_traced.captures.size())}},
                   state, {cond_traced.graph, body_traced.graph});
  return state;
}

namespace graph {

const OpDef* find_graph_op(std::string_view name) {
  if (name == cond_op.name) return &cond_op;
  if (name == while_loop_op.name) return &while_loop_op;
  return find_op(name);
}

namespace detail {

bool is_control_flow(const Node& node) { return node.op == &cond_op || node.op == &while_loop_op; }

TensorList run_control_flow(const Node& node, std::span<const Tensor> inputs) {
  if (node.op == &cond_op) {
    const auto n = size_t(node.attrs.i("num_operands"));
    const auto k = size_t(node.attrs.i("then_captures"));
    const auto operands = inputs.subspan(1, n);
    const bool taken = host_bool(inputs[0], "cond");
    const TensorList args = taken ? concat(operands, inputs.subspan(1 + n, k)) : concat(operands, inputs.subspan(1 + n + k));
    return fresh(interpret(*node.subgraphs[taken ? 0 : 1], args), inputs);
  }
  EMBER_INTERNAL_ASSERT(node.op == &while_loop_op, node.op->name, " is not control flow");
  const auto n = size_t(node.attrs.i("num_state"));
  const auto k = size_t(node.attrs.i("cond_captures"));
  const auto cond_captures = inputs.subspan(n, k);
  const auto body_captures = inputs.subspan(n + k);
  TensorList state(inputs.begin(), inputs.begin() + std::ptrdiff_t(n));
  while (host_bool(interpret(*node.subgraphs[0], concat(state, cond_captures))[0], "while_loop"))
    state = interpret(*node.subgraphs[1], concat(state, body_captures));
  return fresh(std::move(state), inputs);
}

}  // namespace detail
}  // namespace graph
}  // namespace ember
