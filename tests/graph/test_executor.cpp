// The graph executor (src/graph/executor.cpp): results bit-identical to
// interpret() (and to eager mode, which runs the same kernels) on traced
// models and hand-built graphs, input guards, state updates, host state,
// profiling and concurrent runs.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "ember/autograd/autograd.h"
#include "ember/core/profiler.h"
#include "ember/ember.h"
#include "graph/graph_testing.h"
#include "nn/models.h"
#include "support/expect_error.h"

namespace ember::graph {
namespace {

using testing::add_node;
using testing::expect_identical;
using testing::expect_error;

// Dimension 0 of each of these inputs is the dynamic "batch".
TraceOptions dynamic_batch(std::initializer_list<int> inputs = {0}) {
  TraceOptions options;
  for (int i : inputs) options.dynamic.push_back({i, 0, "batch"});
  return options;
}

// The MLP: Flatten, Linear 784->256, ReLU, Linear 256->10.
nn::Sequential make_mlp() { return nn::Sequential(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10)); }

TEST(Executor, MlpMatchesInterpretAndEagerAtEveryBatchWithOnePlanEach) {
  manual_seed(0);
  nn::Sequential net = make_mlp();
  const Graph g = jit::trace(net, {randn({2, 1, 28, 28})}, dynamic_batch());
  Executor exe(g);
  for (int64_t batch : {1, 7, 64}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    const Tensor x = randn({batch, 1, 28, 28});
    const TensorList got = exe.run({x});
    expect_identical(interpret(g, TensorList{x}), got);
    expect_identical(net(x), got[0]);
  }
  const Tensor x1 = randn({1, 1, 28, 28}), x7 = randn({7, 1, 28, 28});
  EXPECT_EQ(&exe.plan({x1}), &exe.plan({randn({1, 1, 28, 28})}));  // cached per binding
  EXPECT_NE(&exe.plan({x1}), &exe.plan({x7}));
  EXPECT_LT(exe.plan({x1}).arena_bytes, exe.plan({x7}).arena_bytes);
}

TEST(Executor, CnnMatchesInterpretAndEager) {
  manual_seed(1);
  nn_test::Net net;  // conv2d, relu, max_pool2d, flatten, linear
  const Graph g = jit::trace<nn_test::Net>(net, {randn({2, 1, 28, 28})}, dynamic_batch());
  Executor exe(g);
  for (int64_t batch : {1, 7}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    const Tensor x = randn({batch, 1, 28, 28});
    const TensorList got = exe.run({x});
    expect_identical(interpret(g, TensorList{x}), got);
    expect_identical(net.forward(x), got[0]);
  }
  // max_pool2d's unused indices and the activations share the arena.
  const MemoryPlan& plan = exe.plan({randn({7, 1, 28, 28})});
  EXPECT_GT(plan.arena_bytes, 0);
  EXPECT_LT(plan.arena_bytes, plan.unplanned_bytes);
}

// A chain of equal convolutions: the arena hands a dead input's slot to a
// later input of the same shape. The convolution caches its inputs reordered
// to oneDNN's layout by (storage, offset, version), so each arena value must
// carry a version of its own or the later convolution reads the earlier
// input's copy (see Note [Arena tensors] in src/graph/executor.cpp).
TEST(Executor, ConvolutionChainReusingArenaSlots) {
  manual_seed(2);
  nn::Sequential net{nn::Conv2d(16, 16, 3, {.padding = 1}), nn::Conv2d(16, 16, 3, {.padding = 1}),
                     nn::Conv2d(16, 16, 3, {.padding = 1}), nn::Conv2d(16, 16, 3, {.padding = 1}),
                     nn::Conv2d(16, 16, 3, {.padding = 1})};
  autograd::NoGradGuard no_grad;
  const Tensor x = randn({2, 16, 8, 8});
  Executor exe(jit::optimize(jit::trace(net, {x})));
  const MemoryPlan& plan = exe.plan({x});
  EXPECT_LT(plan.arena_bytes, plan.unplanned_bytes);  // slots are reused
  for (int run = 0; run < 2; ++run) expect_identical(net(x), exe.run({x})[0]);
}

// A run frees everything it allocated but its outputs: the arena goes back
// to the caching allocator, and the next run takes it from there.
TEST(Executor, RunsFreeTheirArena) {
  manual_seed(3);
  nn_test::Net net;
  autograd::NoGradGuard no_grad;
  const Tensor x = randn({4, 1, 28, 28});
  Executor exe(jit::optimize(jit::trace<nn_test::Net>(net, {x})));
  ASSERT_GT(exe.plan({x}).arena_bytes, 0);
  exe.run({x});  // the first run caches the plan and the convolutions' primitives
  const AllocatorStats before = cpu_allocator_stats();
  for (int run = 0; run < 3; ++run) exe.run({x});
  const AllocatorStats after = cpu_allocator_stats();
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);
  EXPECT_EQ(after.system_allocations, before.system_allocations);
}

TEST(Executor, BroadcastingAndScalars) {
  const Tensor bias = randn({5});
  auto fn = [&](const TensorList& in) { return TensorList{relu((in[0] + bias) * in[1] - 0.5).exp()}; };
  const Tensor x = randn({3, 1, 5}), y = randn({3, 4, 1});
  const Graph g = trace(fn, {x, y}, dynamic_batch({0, 1}));
  Executor exe(g);
  for (int64_t batch : {1, 3, 9}) {
    const TensorList in{randn({batch, 1, 5}), randn({batch, 4, 1})};
    expect_identical(interpret(g, in), exe.run(in));
    expect_identical(fn(in), exe.run(in));
  }
  expect_error<ShapeError>([&] { exe.run({randn({2, 1, 5}), randn({3, 4, 1})}); },
                           {"input 1 (input1)", "batch", "another input set"});
}

// Views of intermediates keep their buffer alive; views of inputs and the
// inputs themselves are returned as such (Note [Executor outputs]).
TEST(Executor, ViewsAndAliasedOutputs) {
  Graph g;
  const ValueId x = g.add_input("x", {{4, 6}, DType::f32});
  const ValueId a = add_node(g, "mul", {x, x});
  const ValueId t = add_node(g, "permute", {a}, {{"dims", Shape{1, 0}}});
  const ValueId e = add_node(g, "exp", {x});
  const ValueId u = add_node(g, "add", {t, t}, {{"alpha", Scalar(1)}});
  const ValueId window = add_node(g, "slice", {e}, {{"dim", int64_t(1)}, {"start", int64_t(1)},
                                                     {"stop", int64_t(4)}, {"step", int64_t(1)}});
  const ValueId later = add_node(g, "neg", {u});  // allocated after e's last direct use
  const ValueId x_t = add_node(g, "permute", {x}, {{"dims", Shape{1, 0}}});
  g.outputs = {later, window, x, x_t};
  g.verify();
  Executor exe(g);
  const Tensor in = randn({4, 6});
  const TensorList got = exe.run({in});
  expect_identical(interpret(g, TensorList{in}), got);
  EXPECT_TRUE(got[2].is_same(in));
  EXPECT_EQ(got[3].impl().storage, in.impl().storage);
  const MemoryPlan& plan = exe.plan({in});
  EXPECT_EQ(plan.offset[size_t(e)], -1);  // a graph output is a view of it
  EXPECT_GE(plan.offset[size_t(a)], 0);
  EXPECT_EQ(plan.offset[size_t(t)], -1);
  // Outputs do not depend on a later run's arena.
  const Tensor window_before = got[1].clone();
  exe.run({randn({4, 6})});
  expect_identical(window_before, got[1]);
}

// A branch returning a view of its operand must not leave the node's output
// in arena space the plan hands on (here to exp's outputs).
TEST(Executor, ControlFlowResultsDoNotAliasTheArena) {
  auto fn = [](const TensorList& in) {
    const Tensor a = in[0] * 2;
    const Tensor r = cond(in[1] > 0, [](const TensorList& v) { return TensorList{v[0].t()}; },
                          [](const TensorList& v) { return TensorList{-v[0].t()}; }, {a})[0];
    return TensorList{r + exp(exp(in[0])).t()};
  };
  const TensorList inputs{randn({5, 5}), tensor({1.f})};
  const Graph g = trace(fn, inputs);
  Executor exe(g);
  for (float pred : {1.f, -1.f}) {
    const TensorList in{randn({5, 5}), tensor({pred})};
    expect_identical(fn(in), exe.run(in));
  }
}

TEST(Executor, InputGuards) {
  manual_seed(2);
  nn::Sequential net = make_mlp();
  Graph g = jit::trace(net, {randn({2, 1, 28, 28})}, dynamic_batch());
  int effects = 0;
  g.host_effects.push_back([&] { ++effects; });
  Executor exe(g);
  expect_error<ValueError>([&] { exe.run({}); }, {"expects 1 inputs, got 0"});
  expect_error<ValueError>([&] { exe.run({randn({1, 1, 28, 28}), randn({1})}); }, {"expects 1 inputs, got 2"});
  expect_error<DTypeError>([&] { exe.run({randn({1, 1, 28, 28}, DType::f64)}); },
                           {"input 0 (x)", "float32", "float64"});
  expect_error<ShapeError>([&] { exe.run({randn({1, 28, 28})}); }, {"input 0 (x)", "4 dimensions", "[1, 28, 28]"});
  expect_error<ShapeError>([&] { exe.run({randn({3, 1, 28, 27})}); },
                           {"input 0 (x)", "[3, 1, 28, 27]", "dimension 3 is static"});
  expect_error<ShapeError>([&] { exe.plan({randn({3, 2, 28, 28})}); }, {"input 0 (x)", "dimension 1 is static"});
  EXPECT_EQ(effects, 0);  // a rejected call runs nothing
  exe.run({randn({3, 1, 28, 28})});
  EXPECT_EQ(effects, 1);
}

TEST(Executor, RejectsNodesWithoutCpuKernel) {
  static const OpDef no_kernel{
      .name = "no_kernel", .inputs = {"self"},
      .infer = [](const OpDef&, std::span<const Tensor> in, const Attrs&) {
        return std::vector<TensorMeta>{{in[0].sizes(), in[0].dtype()}};
      }};
  Graph g;
  const ValueId x = g.add_input("x", {{2}, DType::f32});
  g.outputs = {g.add_node(no_kernel, {x})[0]};
  expect_error<NotImplementedError>([&] { Executor exe(g); }, {"Executor", "no_kernel", "no CPU kernel"});
}

// Host effects run before the nodes, and host-bound attributes are read at
// each run (as a scheduler's learning rate is).
TEST(Executor, HostEffectsRunFirstAndHostAttributesAreReadEachRun) {
  Graph g;
  const ValueId x = g.add_input("x", {{2, 3}, DType::f32});
  const ValueId negated = add_node(g, "neg", {x});
  g.outputs = {add_node(g, "leaky_relu", {negated}, {{"negative_slope", 0.01}})};
  double slope = 0.0;
  g.nodes.back().host_attrs.push_back({"negative_slope", [&slope] { return AttrValue(slope); }});
  g.host_effects.push_back([&slope] { slope += 0.5; });
  Executor exe(g);
  const Tensor in = tensor({1.f, 2.f, 3.f, 4.f, 5.f, -6.f}).reshape({2, 3});
  EXPECT_EQ(exe.run({in})[0].to_vector<float>(), std::vector<float>({-0.5f, -1.f, -1.5f, -2.f, -2.5f, 6.f}));
  EXPECT_EQ(exe.run({in})[0].to_vector<float>(), std::vector<float>({-1.f, -2.f, -3.f, -4.f, -5.f, 6.f}));
  EXPECT_EQ(slope, 1.0);
}

TEST(Executor, StateUpdatesAreApplied) {
  Tensor p = randn({3});
  const Tensor p0 = p.clone();
  auto fn = [&](const TensorList& in) {
    Tensor y = in[0] * 2;
    p.add_(y);
    return TensorList{y + 1};
  };
  const Tensor x = randn({3});
  const Graph g = trace(fn, {x});  // runs fn once: p = p0 + 2x
  ASSERT_EQ(g.updates.size(), 1u);
  Executor exe(g);
  const Tensor x2 = randn({3});
  const TensorList got = exe.run({x2});
  expect_identical(x2 * 2 + 1, got[0]);
  expect_identical((p0 + x * 2) + x2 * 2, p);

  // An assigned gradient outlives the run: never in the arena.
  Graph h;
  const ValueId in = h.add_input("x", {{3}, DType::f32});
  Tensor w = randn({3});
  const ValueId wv = h.add_parameter("w", w);
  const ValueId prod = add_node(h, "mul", {in, wv});
  const ValueId grad = add_node(h, "exp", {prod});
  const ValueId out = add_node(h, "neg", {grad});
  h.outputs = {out};
  h.updates.push_back({StateUpdate::Kind::assign_grad, wv, grad});
  Executor assign(h);
  const Tensor a = randn({3});
  assign.run({a});
  expect_identical(exp(a * w), w.grad());
  EXPECT_EQ(assign.plan({a}).offset[size_t(grad)], -1);
  const Tensor first = w.grad();
  assign.run({randn({3})});
  expect_identical(exp(a * w), first);  // a second run did not write over it
}

TEST(Executor, ProfilerRecordsOneEventPerNode) {
  manual_seed(3);
  nn::Sequential net = make_mlp();
  const Graph g = jit::trace(net, {randn({2, 1, 28, 28})}, dynamic_batch());
  Executor exe(g);
  const Tensor x = randn({4, 1, 28, 28});
  profiler::start();
  exe.run({x});
  profiler::stop();
  std::vector<std::string> names;
  for (const profiler::Event& e : profiler::events())
    if (e.category == profiler::Category::op) names.push_back(e.name);
  std::vector<std::string> expected;
  for (const Node& n : g.nodes) expected.emplace_back(n.op->name);
  EXPECT_EQ(names, expected);
}

TEST(Executor, ConcurrentRunsAreIndependent) {
  manual_seed(4);
  nn::Sequential net = make_mlp();
  const Graph g = jit::trace(net, {randn({2, 1, 28, 28})}, dynamic_batch());
  Executor exe(g);
  const TensorList inputs{randn({1, 1, 28, 28}), randn({16, 1, 28, 28}), randn({5, 1, 28, 28})};
  TensorList expected;
  for (const Tensor& x : inputs) expected.push_back(interpret(g, TensorList{x})[0]);
  std::atomic<int> mismatches = 0;
  auto worker = [&](size_t first) {
    for (int i = 0; i < 60; ++i) {
      const size_t k = (first + size_t(i)) % inputs.size();
      const Tensor y = exe.run({inputs[k]})[0];
      const Tensor e = expected[k];
      if (y.to_vector<float>() != e.to_vector<float>()) ++mismatches;
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace ember::graph
