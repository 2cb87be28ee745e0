// The static memory plan: see Note [Memory planning] in ember/graph/executor.h.
#include <algorithm>
#include <map>
#include <string_view>

#include "ember/core/allocator.h"
#include "ember/graph/executor.h"
#include "run_node.h"

namespace ember::graph {

// Note [In-place elementwise kernels]
// These ops run unary_kernel / binary_kernel (same_dtype_kernel in
// src/ops/elementwise.h). When the output has the input's shape, dtype and
// (contiguous) layout, every path of that kernel reads element i of the input
// before writing element i of the output and reads no other element of it
// afterwards: the float32 array kernels (src/ops/cpu/simd/math.h and
// elementwise.h document "y may alias x"), the 256-element gather blocks of
// the strided float32 path, and the generic elementwise<> loop. An input of
// another dtype is cast into a copy first, so only a same-dtype input can be
// overwritten. tests/graph/test_memory_plan.cpp runs each of them in place
// against interpret().
bool runs_in_place(const OpDef& op) {
  static constexpr std::string_view kOps[] = {
      "neg",   "abs",  "sign",     "exp",     "expm1",   "log",     "log1p",   "log2",  "sqrt",
      "rsqrt", "square", "reciprocal", "sin", "cos",     "tanh",    "sigmoid", "relu",  "leaky_relu",
      "elu",   "gelu", "silu",     "softplus", "erf",    "floor",   "ceil",    "round", "add",
      "sub",   "mul",  "div",      "remainder", "maximum", "minimum", "atan2"};
  return std::find(std::begin(kOps), std::end(kOps), op.name) != std::end(kOps);
}

namespace {

int64_t round_up(int64_t n) { return (n + int64_t(kAlignment) - 1) / int64_t(kAlignment) * int64_t(kAlignment); }

// Free space of the arena as disjoint blocks (offset -> size), merged when
// adjacent; the arena grows at its end when no block fits.
class ArenaLayout {
 public:
  int64_t allocate(int64_t size) {
    if (size == 0) return 0;  // any offset will do
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->second >= size && (best == free_.end() || it->second < best->second)) best = it;
    if (best != free_.end()) {
      const auto [offset, block] = *best;
      free_.erase(best);
      if (block > size) free_.emplace(offset + size, block - size);
      return offset;
    }
    // A free block at the end grows instead of leaving a hole below the new one.
    if (!free_.empty() && std::prev(free_.end())->first + std::prev(free_.end())->second == end_) {
      const int64_t offset = std::prev(free_.end())->first;
      free_.erase(std::prev(free_.end()));
      end_ = offset + size;
      return offset;
    }
    const int64_t offset = end_;
    end_ += size;
    return offset;
  }

  void release(int64_t offset, int64_t size) {
    if (size == 0) return;
    auto it = free_.emplace(offset, size).first;
    if (auto next = std::next(it); next != free_.end() && offset + size == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it != free_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == offset) {
        prev->second += it->second;
        free_.erase(it);
      }
    }
  }

  int64_t size() const { return end_; }

 private:
  std::map<int64_t, int64_t> free_;
  int64_t end_ = 0;
};

bool is_view(const Node& node) { return node.op->view != nullptr && !detail::is_control_flow(node); }

// Note [Two placements]
// Placing buffers in execution order into the free space (best fit) is
// simple but fragments the arena when a large buffer that lives long is
// placed after small short-lived ones. The plan is therefore made twice, the
// second time with the buffers (an in-place chain is one buffer, alive from
// its first value's node to its last value's last use) placed largest first,
// each at the smallest gap between the buffers already placed whose lifetimes
// overlap its own (TFLite's greedy-by-size planner), and the smaller arena
// wins. Both keep buffers alive at the same node apart, so either is valid.
struct Buffer {
  int32_t first = 0, last = 0;  // nodes: where it is written, where it is last read
  int64_t bytes = 0;
};

std::vector<int64_t> place_largest_first(const std::vector<Buffer>& buffers) {
  std::vector<size_t> order(buffers.size());
  for (size_t b = 0; b < order.size(); ++b) order[b] = b;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  std::vector<int64_t> offset(buffers.size(), -1);
  std::vector<size_t> placed;
  std::vector<std::pair<int64_t, int64_t>> taken;  // [begin, end) of the overlapping placed buffers
  for (size_t b : order) {
    const Buffer& buffer = buffers[b];
    taken.clear();
    for (size_t p : placed)
      if (buffers[p].first <= buffer.last && buffer.first <= buffers[p].last && buffers[p].bytes > 0)
        taken.emplace_back(offset[p], offset[p] + buffers[p].bytes);
    std::sort(taken.begin(), taken.end());
    int64_t best = -1, best_gap = 0, end = 0;
    for (const auto& [begin, stop] : taken) {
      const int64_t gap = begin - end;
      if (gap >= buffer.bytes && (best < 0 || gap < best_gap)) {
        best = end;
        best_gap = gap;
      }
      end = std::max(end, stop);
    }
    offset[b] = best >= 0 ? best : end;
    placed.push_back(b);
  }
  return offset;
}

// Note [State updates in place]
// A training step's graph ends with copy_into updates: the optimizer's
// update node computes the new weights and state buffers, and the run copies
// them into the parameters' tensors. Copying is a second pass over every
// weight and buffer (and a second set of them in the arena), so where it is
// safe the value is computed in the parameter's tensor itself:
//  - the update is the only copy_into of that target and the only update of
//    that value, the value is computed by a kernel into a buffer of its own
//    (not a view, not a graph output or gradient), and the parameter's
//    tensor is contiguous with the value's sizes and dtype;
//  - nothing reads the parameter's old contents later: no node after the
//    producer (through any view), no graph output, no other update's value;
//  - the producer itself reads the parameter only where its OpDef says the
//    output may be computed over that input (OpDef::in_place_inputs).
// Eager mode's optimizers write in place too, so the results are the same.
std::vector<ValueId> values_into_state(const Graph& graph, std::span<const ValueId> root,
                                       std::span<const int32_t> producer, std::span<const int32_t> last_read,
                                       const std::vector<bool>& in_arena, std::span<const int64_t> bindings) {
  const size_t num_values = graph.values.size();
  std::vector<ValueId> into(num_values, kNoValue);
  std::vector<int> updates_of_target(num_values, 0), updates_of_value(num_values, 0);
  std::vector<bool> read_at_end(num_values, false);  // old contents read by an output or an update
  for (ValueId out : graph.outputs) read_at_end[size_t(root[size_t(out)])] = true;
  for (const StateUpdate& u : graph.updates) {
    if (u.kind == StateUpdate::Kind::copy_into) ++updates_of_target[size_t(u.target)];  // assign_grad sets .grad
    ++updates_of_value[size_t(u.value)];
    read_at_end[size_t(root[size_t(u.value)])] = true;
  }
  for (const StateUpdate& u : graph.updates) {
    const auto v = size_t(u.value), target = size_t(u.target);
    if (u.kind != StateUpdate::Kind::copy_into || !in_arena[v] || producer[v] < 0 || updates_of_target[target] != 1 ||
        updates_of_value[v] != 1 || read_at_end[target])
      continue;
    const Tensor& state = graph.values[target].data;
    if (!state.defined() || !state.is_contiguous() || state.dtype() != graph.values[v].meta.dtype ||
        !state.device().is_cpu() || state.sizes() != graph.sizes(u.value, bindings))
      continue;
    const int32_t at = producer[v];
    if (last_read[target] > at) continue;
    const Node& node = graph.nodes[size_t(at)];
    const auto k = size_t(std::find(node.outputs.begin(), node.outputs.end(), u.value) - node.outputs.begin());
    bool safe = true;
    for (size_t m = 0; m < node.inputs.size() && safe; ++m) {
      const ValueId in = node.inputs[m];
      if (in == kNoValue || size_t(root[size_t(in)]) != target) continue;
      // Read in place: only as the very input this output may overwrite, and not through a view.
      safe = in == u.target && k < node.op->in_place_inputs.size() && node.op->in_place_inputs[k] == int(m);
    }
    if (safe) into[v] = u.target;
  }
  return into;
}

}  // namespace

MemoryPlan plan_memory(const Graph& graph, std::span<const int64_t> bindings) {
  const size_t num_values = graph.values.size();
  const auto num_nodes = int32_t(graph.nodes.size());

  // The value owning each value's buffer: itself, or for a view the value it
  // is (transitively) a view of.
  std::vector<ValueId> root(num_values);
  for (size_t v = 0; v < num_values; ++v) root[v] = ValueId(v);
  for (const Node& node : graph.nodes)
    if (is_view(node))
      for (ValueId out : node.outputs) root[size_t(out)] = root[size_t(node.inputs[0])];

  // Buffers that outlive the run (graph outputs, assigned gradients) are
  // allocated on their own; so are control-flow results (made by their
  // subgraphs) and everything not computed by a node.
  std::vector<bool> in_arena(num_values, false);
  for (const Node& node : graph.nodes)
    if (!is_view(node) && !detail::is_control_flow(node))
      for (ValueId out : node.outputs) in_arena[size_t(out)] = true;
  for (ValueId out : graph.outputs) in_arena[size_t(root[size_t(out)])] = false;
  for (const StateUpdate& update : graph.updates)
    if (update.kind == StateUpdate::Kind::assign_grad) in_arena[size_t(root[size_t(update.value)])] = false;

  // The node defining each value, and the last node that reads each buffer,
  // through any view of it (an unused output dies at its producer).
  std::vector<int32_t> defined_at(num_values, -1), last_use(num_values, -1);
  for (int32_t i = 0; i < num_nodes; ++i) {
    for (ValueId out : graph.nodes[size_t(i)].outputs) defined_at[size_t(out)] = last_use[size_t(out)] = i;
    for (ValueId in : graph.nodes[size_t(i)].inputs)
      if (in != kNoValue) last_use[size_t(root[size_t(in)])] = i;
  }

  MemoryPlan plan;
  plan.into_state = values_into_state(graph, root, defined_at, last_use, in_arena, bindings);
  for (size_t v = 0; v < num_values; ++v)
    if (plan.into_state[v] != kNoValue) in_arena[v] = false;
  // State updates read after the last node.
  for (const StateUpdate& update : graph.updates) last_use[size_t(root[size_t(update.value)])] = num_nodes;

  plan.offset.assign(num_values, -1);
  plan.in_place_of.assign(num_values, kNoValue);
  std::vector<int64_t> bytes(num_values, 0);
  for (size_t v = 0; v < num_values; ++v)
    if (in_arena[v]) {
      bytes[v] = shape_numel(graph.sizes(ValueId(v), bindings)) * int64_t(itemsize(graph.values[v].meta.dtype));
      plan.unplanned_bytes += bytes[v];
    }

  ArenaLayout layout;
  std::vector<std::vector<ValueId>> dies_at(size_t(num_nodes) + 1);
  std::vector<bool> handed_on(num_values, false);  // its buffer now belongs to an in-place output
  for (int32_t i = 0; i < num_nodes; ++i) {
    const Node& node = graph.nodes[size_t(i)];
    for (ValueId out : node.outputs) {
      if (!in_arena[size_t(out)]) continue;
      ValueId reused = kNoValue;
      if (node.outputs.size() == 1 && runs_in_place(*node.op)) {
        for (ValueId in : node.inputs) {
          if (in == kNoValue || !in_arena[size_t(in)] || last_use[size_t(in)] != i || handed_on[size_t(in)] ||
              graph.values[size_t(in)].meta.dtype != graph.values[size_t(out)].meta.dtype ||
              graph.sizes(in, bindings) != graph.sizes(out, bindings))
            continue;
          // Another operand reading the same buffer through a view (x + x.t())
          // would see elements already overwritten.
          const bool aliased = std::any_of(node.inputs.begin(), node.inputs.end(), [&](ValueId other) {
            return other != kNoValue && other != in && root[size_t(other)] == in;
          });
          if (!aliased) {
            reused = in;
            break;
          }
        }
      }
      if (reused != kNoValue) {
        plan.offset[size_t(out)] = plan.offset[size_t(reused)];
        plan.in_place_of[size_t(out)] = reused;
        handed_on[size_t(reused)] = true;
      } else {
        plan.offset[size_t(out)] = layout.allocate(round_up(bytes[size_t(out)]));
      }
      dies_at[size_t(last_use[size_t(out)])].push_back(out);
    }
    // Only after every output has its place: outputs never overlap the inputs
    // they are computed from (in-place outputs aside).
    for (ValueId v : dies_at[size_t(i)])
      if (!handed_on[size_t(v)]) layout.release(plan.offset[size_t(v)], round_up(bytes[size_t(v)]));
  }
  plan.arena_bytes = layout.size();

  // See Note [Two placements]: the same buffers, largest first.
  std::vector<ValueId> owner(num_values, kNoValue);  // the first value of its in-place chain
  std::vector<Buffer> buffers;
  std::vector<int32_t> buffer_of(num_values, -1);
  for (size_t v = 0; v < num_values; ++v) {  // values in definition order: a chain's owner comes first
    if (plan.offset[v] < 0) continue;
    const ValueId from = plan.in_place_of[v];
    if (from == kNoValue) {
      buffer_of[v] = int32_t(buffers.size());
      buffers.push_back({defined_at[v], last_use[v], round_up(bytes[v])});
    } else {
      buffer_of[v] = buffer_of[size_t(from)];
      Buffer& b = buffers[size_t(buffer_of[v])];
      b.last = std::max(b.last, last_use[v]);
    }
  }
  const std::vector<int64_t> offsets = place_largest_first(buffers);
  int64_t largest_first_bytes = 0;
  for (size_t b = 0; b < buffers.size(); ++b)
    largest_first_bytes = std::max(largest_first_bytes, offsets[b] + buffers[b].bytes);
  if (largest_first_bytes < plan.arena_bytes) {
    plan.arena_bytes = largest_first_bytes;
    for (size_t v = 0; v < num_values; ++v)
      if (buffer_of[v] >= 0) plan.offset[v] = offsets[size_t(buffer_of[v])];
  }
  return plan;
}

}  // namespace ember::graph
