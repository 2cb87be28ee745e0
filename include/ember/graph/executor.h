#pragma once
// Runs an (optimized) graph: kernels straight from the op table, no autograd
// bookkeeping, and every intermediate in one arena laid out by a static
// memory plan.
//
//   graph::Executor exe(jit::optimize(jit::trace(net, {x})));
//   TensorList y = exe.run({x});
//   std::cout << exe.plan({x}).arena_bytes;
//
// Note [Memory planning]
// Each kernel output that is not a view and does not outlive the run (a
// graph output, an assigned gradient, or what a view of one is taken from)
// gets a 64-byte aligned slot in one arena, reusing the space of values
// whose last use (through any view of them) has passed: placed in execution
// order (best fit) or largest first, whichever arena is smaller (Note [Two
// placements] in src/graph/memory_plan.cpp). Elementwise ops whose input
// dies at that node write in place. A value that a state update copies into
// a parameter is computed in that parameter's tensor where that is safe, so
// an optimizer step updates weights and its state buffers in place, as eager
// step() does. The plan depends on the dynamic dimensions' values, so the
// executor keeps one per binding.
//
// Note [Executor outputs]
// The arena is one allocation per run (through the caching allocator), so
// runs on several threads never share memory. Graph outputs (and gradients a
// run assigns) outlive the run, so they are allocated on their own, not in
// the arena. An output that is a graph input, parameter or constant, or a
// view of one, is returned as that tensor (or view), not a copy: as in eager
// mode, where `return x;` returns the caller's tensor.
#include <map>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "ember/graph/graph.h"

namespace ember::graph {

struct MemoryPlan {
  int64_t arena_bytes = 0;
  // Per value: its byte offset in the arena, or -1 (inputs, parameters,
  // constants, views, graph outputs, control-flow results: not in the arena).
  std::vector<int64_t> offset;
  // Per value: the value whose buffer it reuses in place, or kNoValue.
  std::vector<ValueId> in_place_of;
  // Per value: the parameter a copy_into state update writes it to, when the
  // kernel computes it straight into that parameter's tensor instead (see
  // Note [State updates in place] in src/graph/memory_plan.cpp), or kNoValue.
  std::vector<ValueId> into_state;
  // The sizes of the values in the arena, summed: what they would allocate
  // one by one without a plan.
  int64_t unplanned_bytes = 0;
};

MemoryPlan plan_memory(const Graph& graph, std::span<const int64_t> bindings);
// True for the elementwise ops whose kernels may write over their input
// (see Note [In-place elementwise kernels] in src/graph/memory_plan.cpp).
bool runs_in_place(const OpDef& op);

class Executor {
 public:
  explicit Executor(Graph graph);
  ~Executor();
  // Checks the inputs against the graph (count, dtype, rank, static sizes;
  // dynamic sizes consistent), runs it and applies its state updates.
  TensorList run(const TensorList& inputs);
  const Graph& graph() const { return graph_; }
  // The plan run() uses for inputs of these sizes.
  const MemoryPlan& plan(const TensorList& inputs);
  // Throws ShapeError/DTypeError saying which input disagrees and how.
  std::vector<int64_t> bind(const TensorList& inputs) const;

 private:
  struct Prepared;  // a plan with each value's geometry under one binding
  const Prepared& prepared(const std::vector<int64_t>& bindings);
  // Drops the gradients this run replaces (see Note [Replaced gradients] in src/graph/executor.cpp).
  void release_replaced_grads();

  Graph graph_;
  std::unordered_set<const Storage*> held_storages_;  // the storage of every parameter and constant
  std::mutex mutex_;  // guards plans_ (run() may be called from several threads)
  std::map<std::vector<int64_t>, std::unique_ptr<const Prepared>> plans_;
};

}  // namespace ember::graph
