#pragma once
// ember::jit: graph mode's front door.
//
//   Net net;                                   // any module with forward(Tensor)
//   graph::Graph g = jit::trace(net, {x}, {.dynamic = {{0, 0, "batch"}}});
//   std::cout << jit::print(g);                // the IR, readable
//   g = jit::optimize(std::move(g));           // passes (ember/graph/passes.h)
//   graph::Executor run(std::move(g));         // arena-planned, no autograd
//   Tensor y = run.run({x})[0];
#include "ember/graph/compile.h"
#include "ember/graph/control_flow.h"
#include "ember/graph/executor.h"
#include "ember/graph/graph.h"
#include "ember/graph/passes.h"
#include "ember/graph/trace.h"
#include "ember/nn/module.h"

namespace ember::jit {

using graph::optimize;
using graph::print;

// Traces a function TensorList(const TensorList&) (see graph::trace).
template <class F>
  requires(!std::derived_from<std::remove_cvref_t<F>, nn::Module>)
graph::Graph trace(F&& fn, const TensorList& example_inputs, const graph::TraceOptions& options = {}) {
  return graph::trace(graph::TracedFunction(std::forward<F>(fn)), example_inputs, options);
}

// The module's parameters and buffers, named as in its state_dict.
inline std::vector<std::pair<std::string, Tensor>> named_state(const nn::Module& module) {
  auto state = module.named_parameters();
  for (auto& item : module.named_buffers()) state.push_back(std::move(item));
  return state;
}

// Traces module.forward(x) on one example input.
template <class M>
  requires std::derived_from<M, nn::Module>
graph::Graph trace(M& module, const TensorList& example_inputs, graph::TraceOptions options = {}) {
  EMBER_CHECK(example_inputs.size() == 1, ValueError, "jit::trace(module): forward takes one tensor, got ",
              example_inputs.size(), " example inputs (trace a function for more)");
  auto state = named_state(module);
  options.named_state.insert(options.named_state.begin(), state.begin(), state.end());
  if (options.input_names.empty()) options.input_names = {"x"};
  return graph::trace([&module](const TensorList& in) { return TensorList{module.forward(in[0])}; },
                      example_inputs, options);
}

}  // namespace ember::jit
