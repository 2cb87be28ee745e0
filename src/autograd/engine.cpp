// The backward engine: counts dependencies from the roots, then runs each node
// once all gradients flowing into it have arrived, latest-created first.
#include <cmath>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "ember/core/profiler.h"
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

TensorList apply_node(Node& node, TensorList&& grads) {
  if (profiler::is_enabled()) [[unlikely]] {
    profiler::Scope scope(node.name(), profiler::Category::backward, profiler::shapes_of(grads));
    return node.apply(std::move(grads));
  }
  return node.apply(std::move(grads));
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

// The nodes one backward pass reaches, each with its count of pending
// gradients and its input buffer, found by Node* through an open-addressing
// table. (Three std::unordered_maps cost a heap node per graph node each; on
// an eager step of small ops that was a tenth of the time.)
class NodeTable {
 public:
  struct Entry {
    std::shared_ptr<Node> node;
    int deps = 0;       // edges from reachable nodes not yet run
    TensorList buffer;  // gradients arrived so far, one per forward output
  };

  NodeTable() : slots_(16, 0) { entries_.reserve(8); }
  // Index of `n`'s entry; `inserted` says whether it was new.
  size_t insert(const std::shared_ptr<Node>& n, bool& inserted) {
    if (2 * (entries_.size() + 1) > slots_.size()) grow();
    size_t s = slot_of(n.get());
    inserted = slots_[s] == 0;
    if (inserted) {
      entries_.push_back({n, 0, {}});
      slots_[s] = uint32_t(entries_.size());
    }
    return slots_[s] - 1;
  }
  size_t index(Node* n) const { return slots_[slot_of(n)] - 1; }  // n must be in the table
  Entry& operator[](size_t i) { return entries_[i]; }
  size_t size() const { return entries_.size(); }
  TensorList& buffer(size_t i) {
    auto& b = entries_[i].buffer;
    if (b.empty()) b.resize(entries_[i].node->output_meta.size());
    return b;
  }

 private:
  // The slot holding n, or the empty slot where it would go (linear probing).
  size_t slot_of(Node* n) const {
    const size_t mask = slots_.size() - 1;
    size_t s = (reinterpret_cast<uintptr_t>(n) >> 4) * 0x9E3779B97F4A7C15ull & mask;
    while (slots_[s] != 0 && entries_[slots_[s] - 1].node.get() != n) s = (s + 1) & mask;
    return s;
  }
  void grow() {
    slots_.assign(2 * slots_.size(), 0);
    for (size_t i = 0; i < entries_.size(); ++i) slots_[slot_of(entries_[i].node.get())] = uint32_t(i + 1);
  }
  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;  // entry index + 1; 0 = empty; a power of two long
};

void execute(const std::vector<Edge>& roots, const TensorList& root_grads, GraphTask& task) {
  // Dependencies: how many edges point at each reachable node.
  NodeTable nodes;
  std::vector<size_t> stack;
  bool inserted = false;
  for (const auto& r : roots)
    if (r.node) {
      const size_t i = nodes.insert(r.node, inserted);
      if (inserted) stack.push_back(i);
    }
  while (!stack.empty()) {
    const size_t i = stack.back();
    stack.pop_back();
    for (const auto& e : nodes[i].node->next_edges) {
      if (!e.node) continue;
      const size_t j = nodes.insert(e.node, inserted);
      ++nodes[j].deps;
      if (inserted) stack.push_back(j);
    }
  }
  if (!task.accumulate_into_leaves) {
    std::unordered_map<Node*, bool> memo;
    for (const auto& r : roots)
      if (r.node) collect_needed(r.node.get(), task, memo);
    for (auto& [n, needed] : memo)
      if (needed) task.needed.insert(n);
  }

  for (size_t i = 0; i < roots.size(); ++i)
    if (roots[i].node) add_into(nodes.buffer(nodes.index(roots[i].node.get())), roots[i].input_nr, root_grads[i]);

  auto later_first = [&](size_t a, size_t b) { return nodes[a].node->sequence_nr < nodes[b].node->sequence_nr; };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later_first)> ready(later_first);
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].deps == 0) ready.push(i);

  GradMode::set_enabled(task.create_graph);
  while (!ready.empty()) {
    const size_t index = ready.top();
    ready.pop();
    // The table keeps the node alive; `node` stays valid while entries grow.
    Node* node = nodes[index].node.get();
    TensorList grads = std::move(nodes.buffer(index));
    nodes[index].buffer = {};
    // Integer outputs (max_pool2d's indices, argmax-like results) never
    // carry a gradient, so they get none rather than a zero tensor: for the
    // CNN's two pools that was 4.8 MB allocated and zeroed every step.
    for (size_t i = 0; i < grads.size(); ++i)
      if (!grads[i].defined() && is_floating(node->output_meta[i].dtype))
        grads[i] = zeros(node->output_meta[i].sizes, node->output_meta[i].dtype);
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
      outs = apply_node(*node, std::move(grads));
      if (!task.retain_graph) node->release_saved();
      if (is_anomaly_enabled())
        for (size_t i = 0; i < outs.size(); ++i)
          EMBER_CHECK(!has_nan_or_inf(outs[i]), AutogradError, "Function '", node->name(),
                      "' returned nan or inf values in its ", i, "th output (anomaly mode)");
    }
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.node) continue;
      const size_t next = nodes.index(e.node.get());
      if (i < outs.size() && outs[i].defined())
        add_into(nodes.buffer(next), e.input_nr, conform(outs[i], node->input_meta[i], *node));
      if (--nodes[next].deps == 0) ready.push(next);
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
