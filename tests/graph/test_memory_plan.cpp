// The static memory plan (src/graph/memory_plan.cpp): every plan is checked
// against lifetimes computed here independently (no two buffers alive at the
// same node overlap, offsets aligned, inside the arena), arenas are smaller
// than the sum of what they replace, and every op allowed to run in place is
// run in place and compared with interpret() bit for bit.
#include <gtest/gtest.h>

#include <functional>

#include "ember/ember.h"
#include "graph/graph_testing.h"
#include "nn/models.h"

namespace ember::graph {
namespace {

using testing::add_node;
using testing::expect_identical;

// Checks `plan` for `graph` under `bindings`: a buffer is alive from its
// node to the last node reading it or a view of it (state updates read it
// after the last node); buffers alive at the same node do not overlap, except
// an in-place output and the input it replaces, at the node joining them.
void check_plan(const Graph& graph, const MemoryPlan& plan, std::span<const int64_t> bindings) {
  const size_t n = graph.values.size();
  ASSERT_EQ(plan.offset.size(), n);
  ASSERT_EQ(plan.in_place_of.size(), n);
  std::vector<ValueId> root(n);
  for (size_t v = 0; v < n; ++v) root[v] = ValueId(v);
  std::vector<int64_t> first(n, -1), last(n, -1);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    for (ValueId in : node.inputs)
      if (in != kNoValue) last[size_t(root[size_t(in)])] = int64_t(i);
    for (ValueId out : node.outputs) {
      first[size_t(out)] = last[size_t(out)] = int64_t(i);
      if (node.op->view) root[size_t(out)] = root[size_t(node.inputs[0])];
    }
  }
  for (const StateUpdate& u : graph.updates) last[size_t(root[size_t(u.value)])] = int64_t(graph.nodes.size());
  std::vector<bool> escapes(n, false);
  for (ValueId out : graph.outputs) escapes[size_t(root[size_t(out)])] = true;

  int64_t unplanned = 0;
  std::vector<int64_t> bytes(n, 0);
  for (size_t v = 0; v < n; ++v) {
    if (plan.offset[v] < 0) continue;
    SCOPED_TRACE("value %" + std::to_string(v));
    EXPECT_EQ(graph.values[v].kind, ValueKind::node);
    EXPECT_EQ(root[v], ValueId(v)) << "a view has an arena slot";
    EXPECT_FALSE(escapes[v]) << "a graph output lives in the arena";
    bytes[v] = shape_numel(graph.sizes(ValueId(v), bindings)) * int64_t(itemsize(graph.values[v].meta.dtype));
    unplanned += bytes[v];
    EXPECT_EQ(plan.offset[v] % 64, 0);
    EXPECT_LE(plan.offset[v] + bytes[v], plan.arena_bytes);
    if (const ValueId from = plan.in_place_of[v]; from != kNoValue) {
      EXPECT_EQ(plan.offset[size_t(from)], plan.offset[v]);
      EXPECT_EQ(last[size_t(from)], first[v]) << "written in place over a value still needed";
    }
  }
  EXPECT_EQ(plan.unplanned_bytes, unplanned);
  for (size_t u = 0; u < n; ++u)
    for (size_t v = u + 1; v < n; ++v) {
      if (bytes[u] == 0 || bytes[v] == 0) continue;
      if (first[u] > last[v] || first[v] > last[u]) continue;  // never alive together
      if (plan.in_place_of[v] == ValueId(u) || plan.in_place_of[u] == ValueId(v)) continue;
      const bool disjoint = plan.offset[u] + bytes[u] <= plan.offset[v] || plan.offset[v] + bytes[v] <= plan.offset[u];
      EXPECT_TRUE(disjoint) << "%" << u << " [" << first[u] << ", " << last[u] << "] and %" << v << " ["
                            << first[v] << ", " << last[v] << "] overlap";
    }
}

MemoryPlan checked_plan(const Graph& graph, std::vector<int64_t> bindings = {}) {
  MemoryPlan plan = plan_memory(graph, bindings);
  check_plan(graph, plan, bindings);
  return plan;
}

void expect_runs_like_interpret(const Graph& g, const TensorList& inputs) {
  Executor exe(g);
  expect_identical(interpret(g, inputs), exe.run(inputs));
}

TEST(MemoryPlan, ElementwiseChainRunsInPlaceInOneBuffer) {
  Graph g;
  const ValueId x = g.add_input("x", {{64, 64}, DType::f32});
  ValueId h = add_node(g, "mul", {x, x});
  for (const char* name : {"tanh", "exp", "neg", "sigmoid", "relu", "sqrt"}) h = add_node(g, name, {h});
  h = add_node(g, "add", {h, x}, {{"alpha", Scalar(1)}});
  g.outputs = {add_node(g, "clone", {h})};
  const MemoryPlan plan = checked_plan(g);
  EXPECT_EQ(plan.arena_bytes, 64 * 64 * 4);
  EXPECT_EQ(plan.unplanned_bytes, 8 * 64 * 64 * 4);
  for (size_t i = 1; i + 1 < g.nodes.size(); ++i)
    EXPECT_EQ(plan.in_place_of[size_t(g.nodes[i].outputs[0])], g.nodes[i].inputs[0]) << g.nodes[i].op->name;
  expect_runs_like_interpret(g, {randn({64, 64})});
}

TEST(MemoryPlan, MatmulChainReusesTwoBuffers) {
  Graph g;
  const ValueId x = g.add_input("x", {{32, 32}, DType::f32});
  const ValueId w = g.add_parameter("w", randn({32, 32}) * 0.2);
  ValueId h = x;
  for (int i = 0; i < 6; ++i) h = add_node(g, "matmul", {h, w});
  g.outputs = {add_node(g, "relu", {h})};
  const MemoryPlan plan = checked_plan(g);
  EXPECT_EQ(plan.arena_bytes, 2 * 32 * 32 * 4);  // ping-pong: matmul never runs in place
  EXPECT_EQ(plan.unplanned_bytes, 6 * 32 * 32 * 4);
  expect_runs_like_interpret(g, {randn({32, 32})});
}

// `a` is last read directly by the permute, but through the view until the
// add: exp's outputs must not take its space.
TEST(MemoryPlan, BufferLivesAsLongAsItsViews) {
  Graph g;
  const ValueId x = g.add_input("x", {{8, 8}, DType::f32});
  const ValueId a = add_node(g, "mul", {x, x});
  const ValueId t = add_node(g, "permute", {a}, {{"dims", Shape{1, 0}}});
  const ValueId b = add_node(g, "exp", {x});
  const ValueId c = add_node(g, "exp", {b});
  const ValueId d = add_node(g, "add", {t, c}, {{"alpha", Scalar(1)}});
  g.outputs = {add_node(g, "neg", {d})};
  const MemoryPlan plan = checked_plan(g);
  EXPECT_EQ(plan.offset[size_t(t)], -1);
  EXPECT_NE(plan.offset[size_t(a)], plan.offset[size_t(b)]);
  EXPECT_NE(plan.offset[size_t(a)], plan.offset[size_t(c)]);
  expect_runs_like_interpret(g, {randn({8, 8})});
}

TEST(MemoryPlan, NoInPlaceWhenTheInputIsStillNeededOrReadThroughAView) {
  Graph g;
  const ValueId x = g.add_input("x", {{6, 6}, DType::f32});
  const ValueId a = add_node(g, "mul", {x, x});
  const ValueId b = add_node(g, "exp", {a});               // a is read again below
  const ValueId c = add_node(g, "add", {a, b}, {{"alpha", Scalar(1)}});  // a and b both die here
  const ValueId ct = add_node(g, "permute", {c}, {{"dims", Shape{1, 0}}});
  const ValueId d = add_node(g, "mul", {c, ct});           // writing c would change ct's elements
  g.outputs = {add_node(g, "neg", {d})};
  const MemoryPlan plan = checked_plan(g);
  EXPECT_EQ(plan.in_place_of[size_t(b)], kNoValue);
  EXPECT_EQ(plan.in_place_of[size_t(c)], a);
  EXPECT_EQ(plan.in_place_of[size_t(d)], kNoValue);
  expect_runs_like_interpret(g, {randn({6, 6})});
}

TEST(MemoryPlan, NoInPlaceAcrossShapesOrDtypes) {
  Graph g;
  const ValueId x = g.add_input("x", {{1, 5}, DType::f32});
  const ValueId y = g.add_input("y", {{3, 5}, DType::f32});
  const ValueId i = g.add_input("i", {{3, 5}, DType::i32});
  const ValueId a = add_node(g, "mul", {x, x});                                  // [1, 5]
  const ValueId b = add_node(g, "add", {a, y}, {{"alpha", Scalar(1)}});           // [3, 5]: a is smaller
  const ValueId k = add_node(g, "mul", {i, i});                                  // int32
  const ValueId c = add_node(g, "mul", {k, b});                                  // float32 from int32 k
  g.outputs = {add_node(g, "neg", {c})};
  const MemoryPlan plan = checked_plan(g);
  EXPECT_EQ(plan.in_place_of[size_t(b)], kNoValue);
  EXPECT_EQ(plan.in_place_of[size_t(c)], b);  // not k: it is int32
  expect_runs_like_interpret(g, {randn({1, 5}), randn({3, 5}), (randn({3, 5}) * 10).to(DType::i32)});
}

// A value a state update copies from is read after the last node.
TEST(MemoryPlan, StateUpdateValuesLiveToTheEnd) {
  Graph g;
  const ValueId x = g.add_input("x", {{16}, DType::f32});
  Tensor p = randn({16});
  const Tensor p0 = p.clone();
  const ValueId pv = g.add_parameter("p", p);
  const ValueId updated = add_node(g, "add", {pv, x}, {{"alpha", Scalar(1)}});
  const ValueId b = add_node(g, "exp", {x});
  const ValueId c = add_node(g, "mul", {b, x});
  g.outputs = {add_node(g, "neg", {c})};
  g.updates.push_back({StateUpdate::Kind::copy_into, pv, updated});
  const MemoryPlan plan = checked_plan(g);
  EXPECT_NE(plan.offset[size_t(updated)], plan.offset[size_t(b)]);
  Executor exe(g);
  const Tensor in = randn({16});
  exe.run({in});
  expect_identical(p0 + in, p);
}

// See Note [State updates in place]: a value only copied into a parameter is
// computed in the parameter's tensor, whose version changes as with copy_.
TEST(MemoryPlan, StateUpdateComputedInTheParameter) {
  Graph g;
  const ValueId x = g.add_input("x", {{16}, DType::f32});
  Tensor p = randn({16});
  const void* storage = p.raw_data();
  const ValueId pv = g.add_parameter("p", p);
  const ValueId updated = add_node(g, "exp", {x});
  g.outputs = {add_node(g, "neg", {x})};
  g.updates.push_back({StateUpdate::Kind::copy_into, pv, updated});
  const MemoryPlan plan = checked_plan(g);
  EXPECT_EQ(plan.into_state[size_t(updated)], pv);
  EXPECT_EQ(plan.offset[size_t(updated)], -1);
  EXPECT_EQ(plan.arena_bytes, 0);
  const uint32_t version = p.version();
  Executor exe(g);
  const Tensor in = randn({16});
  exe.run({in});
  expect_identical(exp(in), p);
  EXPECT_EQ(p.raw_data(), storage);
  EXPECT_GT(p.version(), version);
}

// The parameter's old contents are still needed: the value gets a buffer of
// its own and is copied at the end.
TEST(MemoryPlan, NoStateWriteWhileTheOldValueIsNeeded) {
  auto graph_reading_old_value = [](Tensor p, bool through_a_view, bool as_output) {
    Graph g;
    const ValueId x = g.add_input("x", {{4, 4}, DType::f32});
    const ValueId pv = g.add_parameter("p", p);
    const ValueId updated = add_node(g, "exp", {x});
    ValueId old = pv;
    if (through_a_view) old = add_node(g, "permute", {pv}, {{"dims", Shape{1, 0}}});
    g.outputs = {as_output ? old : add_node(g, "mul", {old, updated})};
    g.updates.push_back({StateUpdate::Kind::copy_into, pv, updated});
    return std::pair{g, updated};
  };
  for (const bool view : {false, true})
    for (const bool output : {false, true}) {
      SCOPED_TRACE(std::string(view ? "through a view" : "directly") + (output ? ", as an output" : ", by a node"));
      Tensor p = randn({4, 4});
      const Tensor p0 = p.clone();
      const auto [g, updated] = graph_reading_old_value(p, view, output);
      EXPECT_EQ(checked_plan(g).into_state[size_t(updated)], kNoValue);
      const Tensor in = randn({4, 4});
      const Tensor result = Executor(g).run({in})[0].clone();
      Tensor q = p0.clone();
      expect_identical(interpret(graph_reading_old_value(q, view, output).first, {in})[0], result);
      expect_identical(exp(in), p);
    }
  // A node reading the parameter may write it only where its OpDef allows
  // (OpDef::in_place_inputs): add may not.
  Graph g;
  const ValueId x = g.add_input("x", {{16}, DType::f32});
  const ValueId pv = g.add_parameter("p", randn({16}));
  const ValueId updated = add_node(g, "add", {pv, x}, {{"alpha", Scalar(1)}});
  g.outputs = {x};
  g.updates.push_back({StateUpdate::Kind::copy_into, pv, updated});
  EXPECT_EQ(checked_plan(g).into_state[size_t(updated)], kNoValue);
}

TEST(MemoryPlan, OnePlanPerBindingOfTheDynamicDimensions) {
  manual_seed(0);
  nn_test::Net net;  // max_pool2d's indices: an output nobody reads
  TraceOptions options;
  options.dynamic.push_back({0, 0, "batch"});
  const Graph g = jit::trace<nn_test::Net>(net, {randn({2, 1, 28, 28})}, options);
  const MemoryPlan one = checked_plan(g, {1});
  const MemoryPlan many = checked_plan(g, {64});
  EXPECT_EQ(many.unplanned_bytes, 64 * one.unplanned_bytes);
  EXPECT_LT(many.arena_bytes, many.unplanned_bytes);
}

// A CNN training step (forward, backward, Adam): many buffers of mixed sizes
// and lifetimes, where placing the largest first (Note [Two placements])
// beats execution order. The plan must be valid, and the step must train as
// the unplanned interpreter does.
TEST(MemoryPlan, TrainingStepPlan) {
  manual_seed(4);
  nn_test::Net net;
  optim::Adam opt(net.parameters(), {.lr = 1e-3});
  const Tensor x = randn({16, 1, 28, 28}), y = randint(0, 10, {16});
  auto step = [&](const TensorList& in) {
    opt.zero_grad();
    Tensor loss = cross_entropy(net.forward(in[0]), in[1]);
    loss.backward();
    opt.step();
    return TensorList{loss};
  };
  CompiledFunction compiled(step, {.named_state = jit::named_state(net)});
  for (int i = 0; i < 2; ++i) compiled({x, y});
  const Graph& g = *compiled.graph_for({x, y});
  const MemoryPlan plan = checked_plan(g);
  // 2026-12-06: 3.2 MB of arena for 7.9 MB of intermediates (4.4 MB placed in
  // execution order alone).
  EXPECT_LT(plan.arena_bytes, plan.unplanned_bytes / 2);
}

TEST(MemoryPlan, EmptyTensors) {
  Graph g;
  const ValueId x = g.add_input("x", {{0, 4}, DType::f32});
  const ValueId a = add_node(g, "mul", {x, x});
  g.outputs = {add_node(g, "exp", {add_node(g, "matmul", {a, add_node(g, "permute", {a}, {{"dims", Shape{1, 0}}})})})};
  checked_plan(g);
  expect_runs_like_interpret(g, {randn({0, 4})});
}

// ---- every op allowed to run in place, run in place ----

struct InPlaceCase {
  std::string_view op;
  // The op applied to the dying intermediate `a` (and an operand `b`).
  std::function<Tensor(const Tensor& a, const Tensor& b)> apply;
  bool positive = false;  // the op's domain (log, sqrt, ...)
  bool integers = false;  // also runs on int32
};

const std::vector<InPlaceCase>& in_place_cases() {
  using T = const Tensor&;
  static const std::vector<InPlaceCase> cases = {
      {"neg", [](T a, T) { return neg(a); }, false, true},
      {"abs", [](T a, T) { return abs(a); }, false, true},
      {"sign", [](T a, T) { return sign(a); }, false, true},
      {"exp", [](T a, T) { return exp(a); }},
      {"expm1", [](T a, T) { return expm1(a); }},
      {"log", [](T a, T) { return log(a); }, true},
      {"log1p", [](T a, T) { return log1p(a); }, true},
      {"log2", [](T a, T) { return log2(a); }, true},
      {"sqrt", [](T a, T) { return sqrt(a); }, true},
      {"rsqrt", [](T a, T) { return rsqrt(a); }, true},
      {"square", [](T a, T) { return square(a); }, false, true},
      {"reciprocal", [](T a, T) { return reciprocal(a); }},
      {"sin", [](T a, T) { return sin(a); }},
      {"cos", [](T a, T) { return cos(a); }},
      {"tanh", [](T a, T) { return tanh(a); }},
      {"sigmoid", [](T a, T) { return sigmoid(a); }},
      {"relu", [](T a, T) { return relu(a); }, false, true},
      {"leaky_relu", [](T a, T) { return leaky_relu(a, 0.2); }},
      {"elu", [](T a, T) { return elu(a, 0.7); }},
      {"gelu", [](T a, T) { return gelu(a); }},
      {"gelu", [](T a, T) { return gelu(a, "tanh"); }},
      {"silu", [](T a, T) { return silu(a); }},
      {"softplus", [](T a, T) { return softplus(a, 2.0, 3.0); }},
      {"erf", [](T a, T) { return erf(a); }},
      {"floor", [](T a, T) { return floor(a); }, false, true},
      {"ceil", [](T a, T) { return ceil(a); }, false, true},
      {"round", [](T a, T) { return round(a); }, false, true},
      {"add", [](T a, T b) { return add(a, b); }, false, true},
      {"add", [](T a, T b) { return add(b, a, 3); }},  // the dying input second; alpha in a fused multiply-add
      {"sub", [](T a, T b) { return sub(a, b, 0.5); }},
      {"sub", [](T a, T b) { return sub(b, a); }, false, true},
      {"mul", [](T a, T b) { return mul(a, b); }, false, true},
      {"div", [](T a, T b) { return div(a, b); }},
      {"div", [](T a, T b) { return div(b, a, "floor"); }},
      {"remainder", [](T a, T b) { return remainder(a, b); }, true},
      {"maximum", [](T a, T b) { return maximum(a, b); }, false, true},
      {"minimum", [](T a, T b) { return minimum(b, a); }, false, true},
      {"atan2", [](T a, T b) { return atan2(a, b); }},
  };
  return cases;
}

TEST(MemoryPlan, EveryInPlaceOpIsTested) {
  for (const OpDef* def : all_ops()) {
    if (!runs_in_place(*def)) continue;
    const auto& cases = in_place_cases();
    EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [&](const InPlaceCase& c) { return c.op == def->name; }))
        << def->name << " may run in place but has no case below";
  }
}

// Each op writes over `a = x * y`, which dies at it: contiguous operands, an
// operand broadcast along rows (the strided kernels), sizes with a vector
// tail and sizes split across threads, in float32 (the array kernels),
// float64 and bfloat16 (the generic loop) and, where the op takes them, int32.
TEST(MemoryPlan, InPlaceOpsMatchInterpret) {
  for (const InPlaceCase& c : in_place_cases())
    for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::i32}) {
      if (dtype == DType::i32 && !c.integers) continue;
      for (const Shape& sizes : {Shape{33, 65}, Shape{200, 201}})
        for (bool broadcast : {false, true}) {
          SCOPED_TRACE(std::string(c.op) + " " + std::string(dtype_name(dtype)) + shape_str(sizes) +
                       (broadcast ? " broadcast" : ""));
          auto make = [&](Shape s) {
            Tensor t = c.positive ? rand(s) + 0.5 : randn(s) * 3;
            return t.to(dtype);
          };
          const TensorList inputs{make(sizes), make(sizes), make(broadcast ? Shape{sizes[1]} : sizes)};
          auto fn = [&](const TensorList& in) { return TensorList{c.apply(in[0] * in[1], in[2]).clone()}; };
          const Graph g = trace(fn, inputs);
          const MemoryPlan plan = checked_plan(g);
          ASSERT_GE(g.nodes.size(), 3u);
          const Node& node = g.nodes[g.nodes.size() - 2];  // x * y, the op, clone
          ASSERT_EQ(node.op->name, c.op);
          EXPECT_NE(plan.in_place_of[size_t(node.outputs[0])], kNoValue);
          expect_runs_like_interpret(g, inputs);
        }
    }
}

}  // namespace
}  // namespace ember::graph
