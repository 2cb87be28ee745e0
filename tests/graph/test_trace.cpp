// jit::trace: eager code in, graph out; interpret(graph) == eager.
#include <gtest/gtest.h>

#include "ember/ember.h"
#include "graph/graph_testing.h"

namespace ember::graph {
namespace {

using testing::expect_identical;
namespace nn = ember::nn;

nn::Sequential fashion_mlp() {
  return nn::Sequential{nn::Flatten(), nn::Linear(784, 64), nn::ReLU(), nn::Linear(64, 10)};
}

nn::Sequential fashion_cnn() {
  return nn::Sequential{nn::Conv2d(1, 8, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(8, 16, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(16 * 7 * 7, 32), nn::ReLU(), nn::Linear(32, 10)};
}

std::vector<std::string> op_names(const Graph& g) {
  std::vector<std::string> names;
  for (const Node& n : g.nodes) names.emplace_back(n.op->name);
  return names;
}

TEST(Trace, MlpGraphMatchesEager) {
  manual_seed(1);
  auto net = fashion_mlp();
  net.eval();
  Tensor x = randn({4, 1, 28, 28});
  Graph g = jit::trace(net, {x});
  EXPECT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.value(g.inputs[0]).name, "x");
  // Parameters are named as in the state dict and held by reference.
  std::vector<std::string> params;
  for (const Value& v : g.values)
    if (v.kind == ValueKind::parameter) params.push_back(v.name);
  EXPECT_EQ(params, (std::vector<std::string>{"1.weight", "1.bias", "3.weight", "3.bias"}));
  EXPECT_TRUE(g.updates.empty());
  autograd::NoGradGuard no_grad;
  expect_identical(net(x), interpret(g, {x})[0]);
  const std::string text = print(g);
  EXPECT_NE(text.find("linear("), std::string::npos) << text;
  EXPECT_NE(text.find("%1.weight: f32[64, 784]  # parameter"), std::string::npos) << text;
}

TEST(Trace, CnnGraphMatchesEagerAndFollowsWeights) {
  manual_seed(2);
  auto net = fashion_cnn();
  net.eval();
  Tensor x = randn({3, 1, 28, 28});
  Graph g = jit::trace(net, {x});
  autograd::NoGradGuard no_grad;
  expect_identical(net(x), interpret(g, {x})[0]);
  // Weights are captured by reference: an update is seen by the graph.
  net.named_parameters()[0].second.mul_(2);
  expect_identical(net(x), interpret(g, {x})[0]);
}

TEST(Trace, DynamicBatchIsSymbolic) {
  manual_seed(3);
  auto net = fashion_cnn();
  net.eval();
  Graph g = jit::trace(net, {randn({2, 1, 28, 28})}, {.dynamic = {{0, 0, "batch"}}});
  ASSERT_EQ(g.symbols, std::vector<std::string>{"batch"});
  const std::string text = print(g);
  EXPECT_NE(text.find("%x: f32[batch, 1, 28, 28]"), std::string::npos) << text;
  EXPECT_NE(text.find("f32[batch, 10]"), std::string::npos) << text;
  autograd::NoGradGuard no_grad;
  for (int64_t batch : {1, 5, 64}) {
    Tensor x = randn({batch, 1, 28, 28});
    expect_identical(net(x), interpret(g, {x})[0]);
  }
}

TEST(Trace, ViewSizesFollowTheSymbol) {
  // x.view({B, -1}) with B taken from the input: an attribute affine in the symbol.
  TracedFunction fn = [](const TensorList& in) {
    Tensor x = in[0];
    return TensorList{(x.view({x.size(0) * 2, -1}) + 1).sum({1})};
  };
  Graph g = trace(fn, {randn({3, 4, 6})}, {.dynamic = {{0, 0, "n"}}});
  ASSERT_FALSE(g.nodes[0].sym_attrs.empty()) << print(g);
  EXPECT_EQ(g.nodes[0].sym_attrs[0].expr, (DimExpr{0, 2, 0}));
  Tensor x = randn({7, 4, 6});
  expect_identical(fn({x})[0], interpret(g, {x})[0]);
}

TEST(Trace, GuardsRejectOtherInputs) {
  auto net = fashion_mlp();
  Graph g = jit::trace(net, {randn({2, 1, 28, 28})}, {.dynamic = {{0, 0, "batch"}}});
  EXPECT_THROW(
      {
        try {
          interpret(g, {randn({2, 1, 28, 27})});
        } catch (const ShapeError& e) {
          EXPECT_NE(std::string(e.what()).find("input 0 (x) must be f32[batch, 1, 28, 28]"), std::string::npos)
              << e.what();
          throw;
        }
      },
      ShapeError);
  EXPECT_THROW(interpret(g, {randn({2, 1, 28, 28}).to(DType::f64)}), DTypeError);
  EXPECT_THROW(interpret(g, {randn({2, 28, 28})}), ShapeError);
  EXPECT_THROW(interpret(g, {}), ValueError);
}

TEST(Trace, HostReadOfATracedValueIsAnError) {
  auto fn = [](const TensorList& in) {
    Tensor s = in[0].sum();
    return TensorList{s.item<double>() > 0 ? in[0] * 2 : in[0]};
  };
  try {
    trace(fn, {randn({3})});
    FAIL() << "expected a TraceError";
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("item()"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ember::cond"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(is_tracing());  // the hook is gone after the error
  // Reading captured state on the host is fine: it is not computed from inputs.
  Tensor w = full({1}, 3.0);
  Graph g = trace([&](const TensorList& in) { return TensorList{in[0] * w.item<double>()}; }, {randn({2})});
  EXPECT_EQ(g.nodes.size(), 1u);
}

TEST(Trace, SizeUsedAsANumberUnderADynamicDimIsAnError) {
  auto fn = [](const TensorList& in) { return TensorList{in[0].sum() / double(in[0].size(0))}; };
  EXPECT_THROW(trace(fn, {randn({4, 2})}, {.dynamic = {{0, 0, "batch"}}}), TraceError);
  // Without a dynamic dimension the size is a legitimate constant.
  Graph g = trace(fn, {randn({4, 2})});
  Tensor x = randn({4, 2});
  expect_identical(fn({x})[0], interpret(g, {x})[0]);
}

TEST(Trace, InPlaceOpsAreFunctionalized) {
  auto fn = [](const TensorList& in) {
    Tensor y = in[0] * 2;
    y.add_(1);
    y.clamp_(0.0, {});
    return TensorList{y};
  };
  Tensor x = randn({5});
  Graph g = trace(fn, {x});
  EXPECT_EQ(op_names(g), (std::vector<std::string>{"mul", "add", "clamp"}));
  expect_identical(fn({x})[0], interpret(g, {x})[0]);
  // Writing into an input cannot be replayed faithfully.
  EXPECT_THROW(trace([](const TensorList& in) { Tensor x = in[0];
    return TensorList{x.add_(1)}; }, {randn({2})}), TraceError);
  // Nor can reading a view taken before its storage was written.
  auto stale = [](const TensorList& in) {
    Tensor y = in[0] * 2;
    Tensor row = y.view({2, 2})[0];
    y.mul_(3);
    return TensorList{row + 1};
  };
  EXPECT_THROW(trace(stale, {randn({4})}), TraceError);
}

TEST(Trace, CapturedStateWrittenInPlaceBecomesAnUpdate) {
  Tensor counter = zeros({2});
  auto fn = [&](const TensorList& in) {
    counter.add_(in[0]);
    return TensorList{counter * 1};
  };
  Graph g = trace(fn, {ones({2})});
  ASSERT_EQ(g.updates.size(), 1u);
  EXPECT_EQ(g.updates[0].kind, StateUpdate::Kind::copy_into);
  EXPECT_EQ(g.value(g.updates[0].target).kind, ValueKind::parameter);
  EXPECT_EQ(counter.to_vector<float>(), (std::vector<float>{1, 1}));  // the trace ran once
  interpret(g, {ones({2})});
  interpret(g, {ones({2})});
  EXPECT_EQ(counter.to_vector<float>(), (std::vector<float>{3, 3}));
}

TEST(Trace, TrainingStepRecordsBackwardAndGradients) {
  manual_seed(4);
  nn::Linear lin(3, 2);
  auto step = [&](const TensorList& in) {
    for (Tensor p : lin.parameters()) p.impl().grad.reset();
    Tensor loss = square(lin(in[0])).mean();
    loss.backward();
    return TensorList{loss};
  };
  Tensor x = randn({4, 3});
  Graph g = trace(step, {x}, {.named_state = jit::named_state(lin)});
  size_t grads = 0;
  for (const StateUpdate& u : g.updates) grads += u.kind == StateUpdate::Kind::assign_grad;
  EXPECT_EQ(grads, 2u) << print(g);
  const Tensor eager_grad = lin.weight.grad().clone();
  lin.weight.impl().grad.reset();
  interpret(g, {x});
  ASSERT_TRUE(lin.weight.grad().defined());
  expect_identical(eager_grad, lin.weight.grad());
}

TEST(Trace, AccumulatedGradientsAreReported) {
  nn::Linear lin(3, 2);
  lin(randn({1, 3})).sum().backward();  // a gradient from before the call
  auto step = [&](const TensorList& in) {
    lin(in[0]).sum().backward();
    return TensorList{};
  };
  EXPECT_THROW(trace(step, {randn({4, 3})}), TraceError);
}

TEST(Trace, OutputThatIsAnInputOrParameter) {
  Tensor w = randn({2});
  Graph g = trace([&](const TensorList& in) { return TensorList{in[0], w}; }, {randn({2})});
  Tensor x = randn({2});
  TensorList out = interpret(g, {x});
  expect_identical(x, out[0]);
  expect_identical(w, out[1]);
}

TEST(Trace, DropoutDrawsAFreshMaskAtEveryRunLikeEager) {
  auto fn = [](const TensorList& in) { return TensorList{dropout(in[0], 0.5, true)}; };
  Tensor x = ones({1000});
  Graph g = trace(fn, {x});
  ASSERT_EQ(g.nodes.front().op->name, "dropout_mask") << print(g);
  // The graph consumes the default generator as eager code does: same masks.
  manual_seed(7);
  Tensor eager1 = fn({x})[0], eager2 = fn({x})[0];
  manual_seed(7);
  Tensor graph1 = interpret(g, {x})[0], graph2 = interpret(g, {x})[0];
  expect_identical(eager1, graph1);
  expect_identical(eager2, graph2);
  EXPECT_NE(graph1.to_vector<float>(), graph2.to_vector<float>());
}

TEST(Trace, HostRandomNumbersAreAnError) {
  auto fn = [](const TensorList& in) { return TensorList{in[0] + randn(in[0].sizes())}; };
  try {
    trace(fn, {ones({3})});
    FAIL() << "expected a TraceError";
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("random numbers"), std::string::npos) << e.what();
  }
}

TEST(Trace, NestedTraceIsAnError) {
  auto inner = [](const TensorList& in) { return TensorList{in[0] + 1}; };
  auto outer = [&](const TensorList& in) {
    trace(inner, in);
    return in;
  };
  EXPECT_THROW(trace(outer, {randn({2})}), TraceError);
}

}  // namespace
}  // namespace ember::graph
