// Graph mode end to end: every snippet of docs/graph_mode.md, runnable.
// Built as `ember_graph_mode`; CTest runs it as a smoke test.
//
//   ./build/ember_graph_mode [DIR]     # writes DIR/cnn.ember (default: .)
#include <chrono>
#include <iostream>

#include "ember/ember.h"

using namespace ember;

namespace {

// The layers of `ember train fashion-cnn` (tools/ember/recipe.cpp).
nn::Sequential fashion_cnn() {
  return nn::Sequential{nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(32, 64, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Dropout(0.25), nn::Linear(64 * 7 * 7, 128), nn::ReLU(),
                        nn::Linear(128, 10)};
}

double max_difference(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item<double>(); }

template <class F>
double microseconds_per_call(const F& f, int calls) {
  for (int i = 0; i < 3; ++i) f();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) f();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / calls;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  manual_seed(0);
  nn::Sequential net = fashion_cnn();
  net.eval();
  autograd::NoGradGuard no_grad;

  // 1. Capture: run once, record the ops; the batch dimension stays symbolic.
  Tensor x = randn({8, 1, 28, 28});
  graph::Graph traced = jit::trace(net, {x}, {.dynamic = {{0, 0, "batch"}}});
  // 2. Optimize: fold, fuse conv+bias+ReLU, plan memory.
  graph::Graph optimized = jit::optimize(traced);
  std::cout << "traced " << traced.nodes.size() << " nodes, optimized " << optimized.nodes.size() << ":\n"
            << jit::print(optimized);

  // 3. Run at any batch size, no autograd bookkeeping, one arena per run.
  graph::Executor executor(optimized);
  for (int64_t batch : {1, 64}) {
    Tensor xb = randn({batch, 1, 28, 28});
    const Tensor eager = net(xb), compiled = executor.run({xb})[0];
    const graph::MemoryPlan& plan = executor.plan({xb});
    std::cout << "batch " << batch << ": max |eager - graph| = " << max_difference(eager, compiled) << ", arena "
              << plan.arena_bytes / 1024 << " KiB for " << plan.unplanned_bytes / 1024 << " KiB of intermediates, "
              << "eager " << microseconds_per_call([&] { net(xb); }, batch == 1 ? 200 : 10) << " us, graph "
              << microseconds_per_call([&] { executor.run({xb}); }, batch == 1 ? 200 : 10) << " us\n";
  }

  // 4. Save and load: one file, no model class needed to run it.
  const std::string path = dir + "/cnn.ember";
  save(optimized, path);
  graph::Graph loaded = load(path);
  std::cout << "saved " << path << "; loaded graph gives max |difference| = "
            << max_difference(executor.run({x})[0], graph::Executor(std::move(loaded)).run({x})[0]) << "\n";

  // 5. Data-dependent control flow: the decision is made at every run.
  auto clip_or_scale = [](const TensorList& in) {
    return cond(in[0].abs().max() > 1, [](const TensorList& v) { return TensorList{clamp(v[0], -1.0, 1.0)}; },
                [](const TensorList& v) { return TensorList{v[0] * 2}; }, {in[0]});
  };
  graph::Graph branchy = graph::trace(clip_or_scale, {full({2}, 3.0)});
  std::cout << "cond traced once, run twice: " << graph::interpret(branchy, {full({2}, 3.0)})[0] << " "
            << graph::interpret(branchy, {full({2}, 0.25)})[0] << "\n";

  // 6. What cannot be traced is reported, not baked in.
  try {
    graph::trace([](const TensorList& in) { return TensorList{in[0].sum().item<double>() > 0 ? in[0] : -in[0]}; },
                 {ones({2})});
  } catch (const TraceError& e) {
    std::cout << "TraceError: " << e.what() << "\n";
  }
  return 0;
}
