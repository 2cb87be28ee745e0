// The fusion passes (src/graph/passes/fold_batch_norm.cpp, fuse_epilogues.cpp,
// fuse_elementwise.cpp): each test builds a graph by hand or traces a module,
// runs the pass, checks the nodes left (ops in order), that the graph
// verifies, and that interpret() gives the same results before and after:
// bit for bit where the fused kernels rerun the unfused ones (fused_linear,
// fused_elementwise), within a stated tolerance where they round differently
// (folded batch-norm weights; oneDNN's post-op activations in fused_conv2d).
#include <gtest/gtest.h>

#include "ember/ember.h"
#include "ember/graph/passes.h"
#include "graph/graph_testing.h"

namespace ember::graph {
namespace {

using testing::add_node;
using testing::expect_identical;

std::vector<std::string> op_names(const Graph& g) {
  std::vector<std::string> names;
  for (const Node& n : g.nodes) names.emplace_back(n.op->name);
  return names;
}
using Names = std::vector<std::string>;

Tensor random(Shape sizes, uint64_t seed) {
  Generator gen(seed);
  return randn(std::move(sizes), DType::f32, &gen);
}

// |got - expected| <= tol * (1 + |expected|) everywhere.
void expect_close(const Tensor& expected, const Tensor& got, double tol) {
  ASSERT_EQ(shape_str(expected.sizes()), shape_str(got.sizes()));
  const Tensor e = expected.to(DType::f64), g = got.to(DType::f64);
  const double excess = amax(sub(abs(sub(e, g)), mul(abs(e), tol))).item<double>();
  EXPECT_LE(excess, tol) << "expected " << expected << "\ngot " << got;
}

// Runs `pass` on a copy of `g`; the copy verifies and is returned.
template <class Pass>
Graph after_pass(const Graph& g, Pass pass) {
  g.verify();
  Graph after = g;
  pass(after);
  after.verify();
  return after;
}

const Attrs kAlpha1{{"alpha", Scalar(1)}};
Attrs conv_attrs(int64_t padding) {
  return {{"stride", Shape{1, 1}}, {"padding", Shape{padding, padding}}, {"dilation", Shape{1, 1}},
          {"groups", int64_t(1)}};
}
const Attrs kEvalBatchNorm{{"training", false}, {"momentum", 0.1}, {"eps", 1e-5}};

// batch_norm's four per-channel parameters: gamma, beta, mean, var (> 0).
std::array<ValueId, 4> batch_norm_parameters(Graph& g, int64_t channels, uint64_t seed) {
  return {g.add_parameter("bn.weight", random({channels}, seed)),
          g.add_parameter("bn.bias", random({channels}, seed + 1)),
          g.add_parameter("bn.running_mean", random({channels}, seed + 2)),
          g.add_parameter("bn.running_var", add(abs(random({channels}, seed + 3)), 0.5))};
}

ValueId batch_norm_node(Graph& g, ValueId x, const std::array<ValueId, 4>& p, bool training = false) {
  Attrs attrs = kEvalBatchNorm;
  attrs.set("training", training);
  return add_node(g, "batch_norm", {x, p[0], p[1], p[2], p[3]}, attrs);
}

// ---------------------------------------------------------------- fold_batch_norm

TEST(FoldBatchNorm, ConvFoldsIntoWeightAndBias) {
  for (bool conv_bias : {true, false}) {
    SCOPED_TRACE(conv_bias ? "conv with bias" : "conv without bias");
    Graph g;
    const ValueId x = g.add_input("x", {{2, 3, 8, 8}, DType::f32});
    const ValueId w = g.add_parameter("w", random({4, 3, 3, 3}, 1));
    const ValueId b = conv_bias ? g.add_parameter("b", random({4}, 2)) : kNoValue;
    const ValueId y = add_node(g, "conv2d", {x, w, b}, conv_attrs(1));
    g.outputs = {add_node(g, "relu", {batch_norm_node(g, y, batch_norm_parameters(g, 4, 3))})};
    const Graph after = after_pass(g, passes::fold_batch_norm);
    EXPECT_EQ(op_names(after), Names({"conv2d", "relu"}));
    EXPECT_EQ(after.value(after.nodes[0].inputs[1]).kind, ValueKind::constant);
    const Tensor input = random({2, 3, 8, 8}, 9);
    // New weights rounded once to float32 from float64 and sums in another order.
    expect_close(interpret(g, {input})[0], interpret(after, {input})[0], 1e-5);
  }
}

TEST(FoldBatchNorm, LinearWith2dOutputFolds) {
  Graph g;
  const ValueId x = g.add_input("x", {{5, 6}, DType::f32});
  const ValueId y = add_node(g, "linear", {x, g.add_parameter("w", random({4, 6}, 1))});
  g.outputs = {batch_norm_node(g, y, batch_norm_parameters(g, 4, 2))};
  const Graph after = after_pass(g, passes::fold_batch_norm);
  EXPECT_EQ(op_names(after), Names({"linear"}));
  EXPECT_EQ(after.nodes[0].inputs.size(), 3u);  // gained a bias
  const Tensor input = random({5, 6}, 9);
  expect_close(interpret(g, {input})[0], interpret(after, {input})[0], 1e-5);
}

TEST(FoldBatchNorm, LeavesWhatItCannotFold) {
  auto conv_bn = [](bool training, bool output_too, bool mean_is_input) {
    Graph g;
    const ValueId x = g.add_input("x", {{2, 3, 6, 6}, DType::f32});
    const ValueId y = add_node(g, "conv2d", {x, g.add_parameter("w", random({4, 3, 3, 3}, 1)), kNoValue},
                               conv_attrs(0));
    auto p = batch_norm_parameters(g, 4, 2);
    if (mean_is_input) p[2] = g.add_input("mean", {{4}, DType::f32});
    g.outputs = {batch_norm_node(g, y, p, training)};
    if (output_too) g.outputs.push_back(y);
    return g;
  };
  const Names unchanged{"conv2d", "batch_norm"};
  EXPECT_EQ(op_names(after_pass(conv_bn(true, false, false), passes::fold_batch_norm)), unchanged);  // training
  EXPECT_EQ(op_names(after_pass(conv_bn(false, true, false), passes::fold_batch_norm)), unchanged);  // conv output read
  EXPECT_EQ(op_names(after_pass(conv_bn(false, false, true), passes::fold_batch_norm)), unchanged);  // not frozen
  // linear with a 3-d output: batch_norm's channels (dim 1) are not its features.
  Graph g;
  const ValueId x = g.add_input("x", {{2, 4, 6}, DType::f32});
  const ValueId y = add_node(g, "linear", {x, g.add_parameter("w", random({3, 6}, 1))});
  g.outputs = {batch_norm_node(g, y, batch_norm_parameters(g, 4, 2))};
  EXPECT_EQ(op_names(after_pass(g, passes::fold_batch_norm)), Names({"linear", "batch_norm"}));
}

// ---------------------------------------------------------------- fuse_epilogues

TEST(FuseEpilogues, LinearActivationBecomesFusedLinear) {
  const std::pair<const char*, Attrs> activations[] = {{"relu", {}},
                                                       {"gelu", {{"approximate", std::string("tanh")}}},
                                                       {"silu", {}},
                                                       {"sigmoid", {}},
                                                       {"tanh", {}}};
  for (const auto& [name, attrs] : activations) {
    SCOPED_TRACE(name);
    Graph g;
    const ValueId x = g.add_input("x", {{3, 5}, DType::f32});
    const ValueId y = add_node(g, "linear", {x, g.add_parameter("w", random({4, 5}, 1)),
                                             g.add_parameter("b", random({4}, 2))});
    g.outputs = {add_node(g, name, {y}, attrs)};
    const Graph after = after_pass(g, passes::fuse_epilogues);
    EXPECT_EQ(op_names(after), Names({"fused_linear"}));
    EXPECT_EQ(after.nodes[0].attrs.s("activation"), std::string(name) == "gelu" ? "gelu_tanh" : name);
    const Tensor input = random({3, 5}, 9);
    expect_identical(interpret(g, {input}), interpret(after, {input}));
  }
}

TEST(FuseEpilogues, LinearBiasAddWithoutActivation) {
  Graph g;
  const ValueId x = g.add_input("x", {{2, 3, 5}, DType::f32});
  const ValueId y = add_node(g, "linear", {x, g.add_parameter("w", random({4, 5}, 1))});
  g.outputs = {add_node(g, "add", {g.add_parameter("b", random({4}, 2)), y}, kAlpha1)};
  const Graph after = after_pass(g, passes::fuse_epilogues);
  EXPECT_EQ(op_names(after), Names({"fused_linear"}));
  EXPECT_EQ(after.nodes[0].attrs.s("activation"), "none");
  const Tensor input = random({2, 3, 5}, 9);
  expect_identical(interpret(g, {input}), interpret(after, {input}));
}

TEST(FuseEpilogues, ConvBiasAddAndActivation) {
  for (const Shape& bias_shape : {Shape{1, 6, 1, 1}, Shape{6, 1, 1}}) {
    SCOPED_TRACE(shape_str(bias_shape));
    Graph g;
    const ValueId x = g.add_input("x", {{2, 3, 9, 9}, DType::f32});
    const ValueId y = add_node(g, "conv2d", {x, g.add_parameter("w", random({6, 3, 3, 3}, 1)), kNoValue},
                               conv_attrs(1));
    const ValueId biased = add_node(g, "add", {y, g.add_parameter("b", random(bias_shape, 2))}, kAlpha1);
    g.outputs = {add_node(g, "gelu", {biased}, {{"approximate", std::string("none")}})};
    const Graph after = after_pass(g, passes::fuse_epilogues);
    EXPECT_EQ(op_names(after), Names({"view", "fused_conv2d"}));
    EXPECT_EQ(after.nodes[1].attrs.s("activation"), "gelu");
    const Tensor input = random({2, 3, 9, 9}, 9);
    // oneDNN's gelu post-op against Ember's gelu kernel: float32 rounding.
    expect_close(interpret(g, {input})[0], interpret(after, {input})[0], 1e-5);
  }
}

// Inference pooling after a convolution joins it (fused_conv2d_max_pool2d);
// a pooling whose indices a backward pass reads, or whose input is read
// elsewhere, does not.
TEST(FuseEpilogues, ConvActivationMaxPool) {
  const Attrs pool{{"kernel_size", Shape{2, 2}}, {"stride", Shape{2, 2}}, {"padding", Shape{0, 0}},
                   {"ceil_mode", false},         {"dilation", Shape{1, 1}}};
  Graph g;
  const ValueId x = g.add_input("x", {{3, 2, 10, 10}, DType::f32});
  const ValueId w = g.add_parameter("w", random({4, 2, 3, 3}, 1)), b = g.add_parameter("b", random({4}, 2));
  const ValueId y = add_node(g, "relu", {add_node(g, "conv2d", {x, w, b}, conv_attrs(1))});
  g.outputs = {add_node(g, "max_pool2d", {y}, pool)};
  const Graph after = after_pass(g, passes::fuse_epilogues);
  EXPECT_EQ(op_names(after), Names({"fused_conv2d_max_pool2d"}));
  EXPECT_EQ(after.nodes[0].attrs.s("activation"), "relu");
  EXPECT_EQ(after.nodes[0].attrs.ints("pool_kernel_size"), (Shape{2, 2}));
  const Tensor input = random({3, 2, 10, 10}, 9);
  // oneDNN's relu post-op against Ember's relu: both exact.
  expect_identical(interpret(g, {input}), interpret(after, {input}));

  Graph training;
  const ValueId xt = training.add_input("x", {{3, 2, 10, 10}, DType::f32});
  const ValueId yt = add_node(training, "conv2d",
                              {xt, training.add_parameter("w", random({4, 2, 3, 3}, 1)), kNoValue}, conv_attrs(1));
  const auto pooled = training.add_node(testing::op("max_pool2d_with_indices"), {yt}, pool);
  training.outputs = {pooled[0], pooled[1]};
  EXPECT_EQ(op_names(after_pass(training, passes::fuse_epilogues)), Names({"conv2d", "max_pool2d_with_indices"}));

  Graph shared;
  const ValueId xs = shared.add_input("x", {{3, 2, 10, 10}, DType::f32});
  const ValueId ys = add_node(shared, "relu", {add_node(shared, "conv2d",
                                                        {xs, shared.add_parameter("w", random({4, 2, 3, 3}, 1)),
                                                         kNoValue},
                                                        conv_attrs(1))});
  shared.outputs = {add_node(shared, "max_pool2d", {ys}, pool), ys};
  EXPECT_EQ(op_names(after_pass(shared, passes::fuse_epilogues)), Names({"fused_conv2d", "max_pool2d"}));
}

TEST(FuseEpilogues, AddmmOfTransposedWeight) {
  Graph g;
  const ValueId x = g.add_input("x", {{3, 5}, DType::f32});
  const ValueId wt = add_node(g, "permute", {g.add_parameter("w", random({4, 5}, 1))}, {{"dims", Shape{1, 0}}});
  const ValueId y = add_node(g, "addmm", {g.add_parameter("b", random({4}, 2)), x, wt},
                             {{"beta", Scalar(1)}, {"alpha", Scalar(1)}});
  g.outputs = {add_node(g, "silu", {y})};
  const Graph after = after_pass(g, passes::fuse_epilogues);
  EXPECT_EQ(op_names(after), Names({"permute", "fused_linear"}));  // the permute is dead code now
  const Tensor input = random({3, 5}, 9);
  expect_identical(interpret(g, {input}), interpret(after, {input}));
}

TEST(FuseEpilogues, IntermediatesReadElsewhereStay) {
  // A training graph's backward reads linear's output (relu's gradient mask
  // comes from relu's output, which may be read freely).
  Graph g;
  const ValueId x = g.add_input("x", {{3, 5}, DType::f32});
  const ValueId y = add_node(g, "linear", {x, g.add_parameter("w", random({4, 5}, 1))});
  const ValueId r = add_node(g, "relu", {y});
  g.outputs = {r, add_node(g, "mul", {y, r})};
  EXPECT_EQ(op_names(after_pass(g, passes::fuse_epilogues)), Names({"linear", "relu", "mul"}));
  // A bias add whose sum is also read elsewhere: the add fuses (its sum is
  // the fused node's output, which anyone may read), the relu does not.
  Graph h;
  const ValueId xc = h.add_input("x", {{1, 2, 5, 5}, DType::f32});
  const ValueId yc = add_node(h, "conv2d", {xc, h.add_parameter("w", random({3, 2, 3, 3}, 1)), kNoValue},
                              conv_attrs(0));
  const ValueId sum = add_node(h, "add", {yc, h.add_parameter("b", random({3, 1, 1}, 2))}, kAlpha1);
  h.outputs = {add_node(h, "relu", {sum}), sum};
  const Graph h_after = after_pass(h, passes::fuse_epilogues);
  EXPECT_EQ(op_names(h_after), Names({"view", "fused_conv2d", "relu"}));
  EXPECT_EQ(h_after.nodes[1].attrs.s("activation"), "none");
  const Tensor input = random({1, 2, 5, 5}, 9);
  expect_identical(interpret(h, {input}), interpret(h_after, {input}));  // no activation: oneDNN's conv as before
  // An add that is not a per-channel bias ([3] broadcasts over conv's width).
  Graph k;
  const ValueId xk = k.add_input("x", {{1, 2, 5, 5}, DType::f32});
  const ValueId yk = add_node(k, "conv2d", {xk, k.add_parameter("w", random({3, 2, 3, 3}, 1)), kNoValue},
                              conv_attrs(1));
  k.outputs = {add_node(k, "relu", {add_node(k, "add", {yk, k.add_parameter("b", random({5}, 2))}, kAlpha1)})};
  EXPECT_EQ(op_names(after_pass(k, passes::fuse_epilogues)), Names({"conv2d", "add", "relu"}));
}

// ---------------------------------------------------------------- fuse_elementwise

TEST(FuseElementwise, ChainBecomesOneNode) {
  Graph g;
  const ValueId x = g.add_input("x", {{4, 3000}, DType::f32});
  const ValueId b = g.add_input("b", {{3000}, DType::f32});
  const ValueId half = g.add_constant(scalar_tensor(0.5, DType::f32));
  const ValueId t = add_node(g, "add", {add_node(g, "mul", {x, half}), b}, kAlpha1);
  g.outputs = {add_node(g, "exp", {add_node(g, "relu", {t})})};
  const Graph after = after_pass(g, passes::fuse_elementwise);
  EXPECT_EQ(op_names(after), Names({"fused_elementwise"}));
  EXPECT_EQ(after.nodes[0].attrs.s("program"), "t0 = mul(x0, x1); t1 = add(t0, x2); t2 = relu(t1); t3 = exp(t2)");
  EXPECT_EQ(after.nodes[0].inputs.size(), 3u);
  const std::string text = print(after);
  EXPECT_NE(text.find("fused_elementwise(%x, 0.5, %b) {t1.alpha=1, program=t0 = mul(x0, x1);"), std::string::npos)
      << text;
  const TensorList inputs{random({4, 3000}, 1), random({3000}, 2)};
  expect_identical(interpret(g, inputs), interpret(after, inputs));
}

TEST(FuseElementwise, SharedValuesInsideTheGroup) {
  // tanh(x) is read twice, x three times: one node, a DAG.
  Graph g;
  const ValueId x = g.add_input("x", {{5, 7}, DType::f32});
  const ValueId t = add_node(g, "tanh", {x});
  const ValueId m = add_node(g, "mul", {t, x});
  g.outputs = {add_node(g, "where", {add_node(g, "gt", {x, t}), add_node(g, "sub", {m, t}, kAlpha1), x})};
  const Graph after = after_pass(g, passes::fuse_elementwise);
  EXPECT_EQ(op_names(after), Names({"fused_elementwise"}));
  const TensorList inputs{random({5, 7}, 1)};
  expect_identical(interpret(g, inputs), interpret(after, inputs));
}

TEST(FuseElementwise, ValuesReadOutsideSplitGroups) {
  // b is read by add and by sum: exp and mul fuse, add stays alone.
  Graph g;
  const ValueId x = g.add_input("x", {{3, 4}, DType::f32});
  const ValueId b = add_node(g, "mul", {add_node(g, "exp", {x}), x});
  const ValueId c = add_node(g, "add", {b, x}, kAlpha1);
  g.outputs = {c, add_node(g, "sum", {b}, {{"dim", Shape{}}, {"keepdim", false}})};
  const Graph after = after_pass(g, passes::fuse_elementwise);
  EXPECT_EQ(op_names(after), Names({"fused_elementwise", "add", "sum"}));
  const TensorList inputs{random({3, 4}, 1)};
  expect_identical(interpret(g, inputs), interpret(after, inputs));
  // A graph output in the middle of a chain, and a single op: nothing fuses.
  Graph h;
  const ValueId y = h.add_input("y", {{3}, DType::f32});
  const ValueId e = add_node(h, "exp", {y});
  h.outputs = {add_node(h, "neg", {e}), e};
  EXPECT_EQ(op_names(after_pass(h, passes::fuse_elementwise)), Names({"exp", "neg"}));
}

TEST(FuseElementwise, CastsAndComparisons) {
  Graph g;
  const ValueId x = g.add_input("x", {{6, 5}, DType::f32});
  const ValueId i = g.add_input("i", {{5}, DType::i64});
  const ValueId cast = add_node(g, "to", {i}, {{"dtype", DType::f32}});
  const ValueId mask = add_node(g, "logical_not", {add_node(g, "lt", {x, cast})});
  g.outputs = {add_node(g, "where", {mask, x, cast})};
  const Graph after = after_pass(g, passes::fuse_elementwise);
  EXPECT_EQ(op_names(after), Names({"fused_elementwise"}));
  const TensorList inputs{random({6, 5}, 1), arange(-2, 3, 1, DType::i64)};
  expect_identical(interpret(g, inputs), interpret(after, inputs));
}

// ---------------------------------------------------------------- traced modules

TEST(FusionOfTracedModules, MlpLinearsBecomeFusedLinear) {
  manual_seed(7);
  nn::Sequential net{nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10)};
  net.eval();
  const Tensor x = randn({64, 1, 28, 28});
  const Graph g = jit::optimize(jit::trace(net, {x}));
  const Names names = op_names(g);
  EXPECT_EQ(std::count(names.begin(), names.end(), "fused_linear"), 1) << print(g);  // the last linear has no activation
  EXPECT_EQ(std::count(names.begin(), names.end(), "relu"), 0) << print(g);
  autograd::NoGradGuard no_grad;
  expect_identical(net(x), interpret(g, {x})[0]);
  expect_identical(net(x), Executor(g).run({x})[0]);  // fused nodes in the arena-planned executor too
}

TEST(FusionOfTracedModules, ConvBatchNormReluBecomesOneNode) {
  manual_seed(8);
  nn::Sequential net{nn::Conv2d(3, 8, 3, {.padding = 1}), nn::BatchNorm2d(8), nn::ReLU()};
  // Running statistics away from their initial 0 and 1.
  for (int step = 0; step < 3; ++step) net(add(mul(randn({4, 3, 10, 10}), 2), 1));
  net.eval();
  const Tensor x = randn({2, 3, 10, 10});
  const Graph g = jit::optimize(jit::trace(net, {x}));
  EXPECT_EQ(op_names(g), Names({"fused_conv2d"})) << print(g);
  autograd::NoGradGuard no_grad;
  // Folded weights (rounded from float64) and oneDNN's relu post-op.
  expect_close(net(x), interpret(g, {x})[0], 1e-5);
  expect_identical(interpret(g, {x})[0], Executor(g).run({x})[0]);
}

}  // namespace
}  // namespace ember::graph
