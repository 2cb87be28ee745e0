// The backward engine: counts dependencies from the roots, then runs each node
// once all gradients flowing into it have arrived, latest-created first.
#include <cmath>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "ember/ops/reduce.h"
#include "ember/ops/unary.h"
#include "node.h"

namespace ember::autograd {
namespace {

struct Capture {
  uint32_t output_nr;
  size_t slot;
};

struct GraphTask {
  bool retain_graph = false;
  bool create_graph = false;
  bool accumulate_into_leaves = true;            // false for autograd::grad()
  std::unordered_map<Node*, std::vector<Capture>> captures;
  std::unordered_set<Node*> needed;              // grad(): nodes that lead to a capture
  TensorList captured;
};

bool has_nan_or_inf(const Tensor& t) {
  if (!t.defined() || !t.is_floating_point() || t.numel() == 0) return false;
  NoGradGuard no_grad;
  return any(logical_or(isnan(t), isinf(t))).item<bool>();
}

// Brings a gradient to the shape and dtype of the forward value it is for.
Tensor conform(Tensor g, const TensorMeta& meta, const Node& producer) {
  if (g.sizes() != meta.sizes) {
    // The forward value must broadcast to g (a size-0 g may reduce to a non-empty value).
    bool reducible = g.dim() >= int64_t(meta.sizes.size());
    for (size_t d = 1; reducible && d <= meta.sizes.size(); ++d) {
      const int64_t want = meta.sizes[meta.sizes.size() - d], have = g.sizes()[g.sizes().size() - d];
      reducible = want == have || want == 1;
    }
    EMBER_CHECK(reducible, InternalError, producer.name(), " returned a gradient of shape ",
                shape_str(g.sizes()), " for an input of shape ", shape_str(meta.sizes));
    g = sum_to(g, meta.sizes);
  }
  if (g.dtype() != meta.dtype && is_floating(meta.dtype)) g = g.to(meta.dtype);
  return g;
}

void add_into(TensorList& buffer, uint32_t nr, const Tensor& g) {
  if (buffer[nr].defined()) buffer[nr] = add(buffer[nr], g);
  else buffer[nr] = g;
}

// Runs the watched tensors' hooks and retain_grad on a node's incoming grads.
void apply_tensor_hooks(Node& node, TensorList& grads) {
  for (auto& [nr, weak] : node.watched_outputs) {
    auto impl = weak.lock();
    if (!impl || !grads[nr].defined()) continue;
    for (const auto& hook : impl->hooks) {
      Tensor replaced = hook(grads[nr]);
      if (replaced.defined()) grads[nr] = replaced;
    }
    if (impl->retains_grad) {
      if (impl->grad) impl->grad = add(Tensor(impl->grad), grads[nr]).impl_ptr();
      else impl->grad = grads[nr].clone().impl_ptr();
    }
  }
}

void collect_needed(Node* node, const GraphTask& task, std::unordered_map<Node*, bool>& memo) {
  if (memo.count(node)) return;
  memo[node] = task.captures.count(node) > 0;
  bool needed = memo[node];
  for (const auto& e : node->next_edges) {
    if (!e.node) continue;
    collect_needed(e.node.get(), task, memo);
    needed = needed || memo[e.node.get()];
  }
  memo[node] = needed;
}

void execute(const std::vector<Edge>& roots, const TensorList& root_grads, GraphTask& task) {
  // Dependencies: how many edges point at each reachable node.
  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, std::shared_ptr<Node>> owner;
  std::vector<Node*> stack;
  for (const auto& r : roots)
    if (r.node && !owner.count(r.node.get())) {
      owner[r.node.get()] = r.node;
      stack.push_back(r.node.get());
    }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const auto& e : n->next_edges) {
      if (!e.node) continue;
      ++deps[e.node.get()];
      if (!owner.count(e.node.get())) {
        owner[e.node.get()] = e.node;
        stack.push_back(e.node.get());
      }
    }
  }
  if (!task.accumulate_into_leaves) {
    std::unordered_map<Node*, bool> memo;
    for (const auto& r : roots)
      if (r.node) collect_needed(r.node.get(), task, memo);
    for (auto& [n, needed] : memo)
      if (needed) task.needed.insert(n);
  }

  std::unordered_map<Node*, TensorList> buffers;
  auto buffer_of = [&](Node* n) -> TensorList& {
    auto& b = buffers[n];
    if (b.empty()) b.resize(n->output_meta.size());
    return b;
  };
  for (size_t i = 0; i < roots.size(); ++i)
    if (roots[i].node) add_into(buffer_of(roots[i].node.get()), roots[i].input_nr, root_grads[i]);

  auto later_first = [](Node* a, Node* b) { return a->sequence_nr < b->sequence_nr; };
  std::priority_queue<Node*, std::vector<Node*>, decltype(later_first)> ready(later_first);
  for (const auto& [n, o] : owner)
    if (deps[n] == 0) ready.push(n);

  GradMode::set_enabled(task.create_graph);
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    TensorList grads = std::move(buffer_of(node));
    buffers.erase(node);
    for (size_t i = 0; i < grads.size(); ++i)
      if (!grads[i].defined()) grads[i] = zeros(node->output_meta[i].sizes, node->output_meta[i].dtype);
    apply_tensor_hooks(*node, grads);
    if (auto c = task.captures.find(node); c != task.captures.end())
      for (const auto& cap : c->second) {
        Tensor& slot = task.captured[cap.slot];
        slot = slot.defined() ? add(slot, grads[cap.output_nr]) : grads[cap.output_nr];
      }

    const bool is_sink = dynamic_cast<AccumulateGrad*>(node) != nullptr;
    const bool run = task.accumulate_into_leaves ? true : (!is_sink && task.needed.count(node) > 0);
    TensorList outs;
    if (run) {
      outs = node->apply(std::move(grads));
      if (!task.retain_graph) node->release_saved();
      if (is_anomaly_enabled())
        for (size_t i = 0; i < outs.size(); ++i)
          EMBER_CHECK(!has_nan_or_inf(outs[i]), AutogradError, "Function '", node->name(),
                      "' returned nan or inf values in its ", i, "th output (anomaly mode)");
    }
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.node) continue;
      if (i < outs.size() && outs[i].defined())
        add_into(buffer_of(e.node.get()), e.input_nr, conform(outs[i], node->input_meta[i], *node));
      if (--deps[e.node.get()] == 0) ready.push(e.node.get());
    }
  }
}

// Restores grad mode however execute() leaves.
struct GradModeRestore {
  bool prev = GradMode::is_enabled();
  ~GradModeRestore() { GradMode::set_enabled(prev); }
};

std::vector<Edge> root_edges(const TensorList& outputs, const TensorList& grad_outputs, TensorList& root_grads) {
  EMBER_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), ValueError, "backward: got ",
              grad_outputs.size(), " gradients for ", outputs.size(), " outputs");
  std::vector<Edge> roots;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    EMBER_CHECK(out.defined() && out.requires_grad(), AutogradError, "element ", i,
                " of tensors does not require grad and does not have a grad_fn");
    Tensor g = grad_outputs.empty() ? Tensor{} : grad_outputs[i];
    if (!g.defined()) {
      EMBER_CHECK(out.numel() == 1, AutogradError,
                  "grad can be implicitly created only for scalar outputs (output ", i, " has shape ",
                  shape_str(out.sizes()), ")");
      g = ones_like(out);
    } else {
      EMBER_CHECK(g.sizes() == out.sizes(), ShapeError, "backward: gradient of shape ", shape_str(g.sizes()),
                  " does not match output ", i, " of shape ", shape_str(out.sizes()));
    }
    roots.push_back(gradient_edge(out));
    root_grads.push_back(g);
  }
  return roots;
}

}  // namespace

void backward(const TensorList& outputs, const TensorList& grad_outputs, bool retain_graph, bool create_graph) {
  TensorList root_grads;
  auto roots = root_edges(outputs, grad_outputs, root_grads);
  GraphTask task;
  task.retain_graph = retain_graph || create_graph;
  task.create_graph = create_graph;
  GradModeRestore restore;
  execute(roots, root_grads, task);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                bool create_graph, std::optional<bool> retain_graph, bool allow_unused) {
  TensorList root_grads;
  auto roots = root_edges(outputs, grad_outputs, root_grads);
  GraphTask task;
  task.retain_graph = retain_graph.value_or(create_graph);
  task.create_graph = create_graph;
  task.accumulate_into_leaves = false;
  task.captured.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    EMBER_CHECK(inputs[i].defined() && inputs[i].requires_grad(), AutogradError, "grad: input ", i,
                " does not require grad");
    Edge e = gradient_edge(inputs[i]);
    task.captures[e.node.get()].push_back({e.input_nr, i});
  }
  {
    GradModeRestore restore;
    execute(roots, root_grads, task);
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    EMBER_CHECK(allow_unused || task.captured[i].defined(), AutogradError, "grad: input ", i,
                " (", inputs[i].meta_str(),
                ") appears to not have been used in the graph; pass allow_unused=true if this is intended");
  return task.captured;
}

}  // namespace ember::autograd
