#pragma once
// Capture: eager code in, graph out.
//
//   nn::Sequential net = ...;
//   graph::Graph g = jit::trace(net, {x}, {.dynamic = {{0, 0, "batch"}}});
//   auto y = graph::Executor(jit::optimize(g)).run({x2})[0];
//
//   auto step = ember::compile([&](const TensorList& in) {
//     opt.zero_grad();
//     Tensor loss = cross_entropy(net(in[0]), in[1]);
//     loss.backward();
//     opt.step();
//     return TensorList{loss};
//   });
//   for (auto [x, y] : loader) step({x, y});   // calls 3.. run one graph
//
// Note [Tracing by running]
// trace() runs the function eagerly on the example inputs with a TraceHook
// installed: every op that call() runs becomes a node, with the metadata the
// op's shape rule gave. Tensors the function reads that it did not compute are
// captured by reference: a module's parameters and buffers by name (named
// parameters of the graph, read afresh at every run), anything else as an
// unnamed parameter (e.g. optimizer state) — so state that eager code updates
// in place stays shared. Values that escape to the host (item(), to_vector())
// are an error while tracing, since they would be baked in: use ember::cond /
// ember::while_loop for data-dependent control flow.
//
// Note [Dynamic dimensions]
// A dimension marked dynamic is traced twice, at the example's size and one
// larger. Both traces must have the same nodes (else the graph's structure
// depends on that size: an error); an attribute or size that differs between
// them is affine in the symbol and is kept as `scale * symbol + offset`.
// Functions with side effects (optimizer steps) are traced once, without
// dynamic dimensions.
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/graph/graph.h"

namespace ember {
// Eager code that a graph cannot represent faithfully (see the Notes above).
class TraceError : public Error {
  using Error::Error;
};
}  // namespace ember

namespace ember::graph {

using ember::TraceError;

struct DynamicDim {
  int input = 0;           // which input
  int dim = 0;             // which of its dimensions
  std::string name = "batch";
};

struct TraceOptions {
  std::vector<DynamicDim> dynamic = {};
  // Names for captured tensors (a module's named_parameters and named_buffers);
  // other captured tensors are named state.<n>.
  std::vector<std::pair<std::string, Tensor>> named_state = {};
  std::vector<std::string> input_names = {};  // default: input0, input1, ...
};

using TracedFunction = std::function<TensorList(const TensorList&)>;

// Runs fn(example_inputs) eagerly and returns its graph. The example run's
// side effects happen (once, or once more per dynamic dimension); `results`,
// when given, receives the first run's outputs.
Graph trace(const TracedFunction& fn, const TensorList& example_inputs, const TraceOptions& options = {},
            TensorList* results = nullptr);

// While tracing: the next node recorded reads attribute `name` from `read` at
// every run instead of the value it has now (see HostAttr).
void bind_next_attr_to_host(std::string name, std::function<AttrValue()> read);
// While tracing: `effect` runs before every run of the graph (e.g. an
// optimizer's step count increment, which eager code does on the host).
void add_host_effect(std::function<void()> effect);
// True while this thread is tracing.
bool is_tracing();

}  // namespace ember::graph
