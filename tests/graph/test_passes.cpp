// The graph passes (src/graph/passes/): each test builds a graph, runs a pass,
// checks the nodes left (ops in order), that the graph verifies, and that
// interpret() gives bit-identical results before and after on random inputs:
// every pass here reruns the same kernels on the same data, so no tolerance.
#include <gtest/gtest.h>

#include <cmath>

#include "ember/autograd/autograd.h"
#include "ember/ember.h"
#include "ember/graph/passes.h"
#include "graph/graph_testing.h"
#include "support/expect_error.h"

namespace ember::graph {
namespace {

using testing::add_node;
using testing::expect_identical;

const Attrs kAlpha1{{"alpha", Scalar(1)}};

// A number as eager code passes it (x * 2.0): a 0-d wrapped tensor.
Tensor wrapped(Scalar s) {
  Tensor t = scalar_tensor(s, s.is_floating() ? std::optional(DType::f64) : std::nullopt);
  t.impl().is_wrapped_number = true;
  return t;
}

std::vector<std::string> op_names(const Graph& g) {
  std::vector<std::string> names;
  for (const Node& n : g.nodes) names.emplace_back(n.op->name);
  return names;
}

using Names = std::vector<std::string>;

// The graph's outputs, then the new contents of the parameters it writes
// back, which are restored afterwards so that two graphs sharing parameters
// can be compared.
TensorList run_restoring(const Graph& g, const TensorList& inputs) {
  autograd::NoGradGuard no_grad;
  std::vector<std::pair<Tensor, Tensor>> saved;  // target, its contents before the run
  for (const StateUpdate& u : g.updates) saved.emplace_back(g.value(u.target).data, g.value(u.target).data.clone());
  TensorList results;
  for (const Tensor& t : interpret(g, inputs)) results.push_back(t.clone());  // outputs may alias parameters
  for (auto& [target, before] : saved) {
    results.push_back(target.clone());
    Tensor(target).copy_(before);
  }
  return results;
}

void expect_same_results(const Graph& before, const Graph& after, const TensorList& inputs) {
  expect_identical(run_restoring(before, inputs), run_restoring(after, inputs));
}

// Runs `pass` on a copy of `g`, checks it verifies and computes what `g` does
// on `inputs`, and returns the copy.
template <class Pass>
Graph run_pass(const Graph& g, Pass pass, const TensorList& inputs) {
  g.verify();
  Graph after = g;
  pass(after);
  after.verify();
  expect_same_results(g, after, inputs);
  return after;
}

Tensor random(Shape sizes, uint64_t seed, DType dtype = DType::f32) {
  Generator gen(seed);
  if (is_floating(dtype)) return randn(std::move(sizes), dtype, &gen);
  return randint(-50, 50, std::move(sizes), dtype, &gen);
}

// ---------------------------------------------------------------- dead code

TEST(DeadCode, RemovesNodesNothingReads) {
  Graph g;
  const ValueId x = g.add_input("x", {{3, 4}, DType::f32});
  add_node(g, "exp", {x});                              // unused
  const ValueId m = add_node(g, "mul", {x, x});
  add_node(g, "neg", {add_node(g, "sigmoid", {m})});  // unused chain
  g.outputs = {m};
  const Graph after = run_pass(g, passes::eliminate_dead_code, {random({3, 4}, 1)});
  EXPECT_EQ(op_names(after), Names({"mul"}));
  EXPECT_EQ(after.values.size(), 2u);  // compacted: x and the product
  EXPECT_EQ(after.inputs.size(), 1u);
}

TEST(DeadCode, KeepsUnusedInputs) {
  Graph g;
  const ValueId x = g.add_input("x", {{3}, DType::f32});
  g.add_input("unused", {{2}, DType::f32});
  g.outputs = {add_node(g, "exp", {x})};
  const Graph after = run_pass(g, passes::eliminate_dead_code, {random({3}, 1), random({2}, 2)});
  EXPECT_EQ(after.inputs.size(), 2u);
  EXPECT_EQ(after.value(after.inputs[1]).name, "unused");
}

TEST(DeadCode, KeepsNodesFeedingStateUpdates) {
  Graph g;
  const ValueId x = g.add_input("x", {{4}, DType::f32});
  const ValueId p = g.add_parameter("p", random({4}, 7));
  const ValueId y = add_node(g, "mul", {x, p});
  add_node(g, "exp", {p});  // unused
  const ValueId step = add_node(g, "sub", {p, add_node(g, "neg", {x})}, kAlpha1);
  g.outputs = {y};
  g.updates = {{StateUpdate::Kind::copy_into, p, step}};
  const Graph after = run_pass(g, passes::eliminate_dead_code, {random({4}, 1)});
  EXPECT_EQ(op_names(after), Names({"mul", "neg", "sub"}));
  ASSERT_EQ(after.updates.size(), 1u);
  EXPECT_EQ(after.value(after.updates[0].target).name, "p");
  EXPECT_EQ(after.value(after.updates[0].value).node, 2);
}

// ------------------------------------------------ common subexpressions

TEST(CommonSubexpressions, MergesSameOpOnSameInputs) {
  Graph g;
  const ValueId x = g.add_input("x", {{2, 3}, DType::f32});
  const ValueId a = add_node(g, "exp", {x});
  const ValueId b = add_node(g, "exp", {x});
  // Chains merge too: the second neg reads the second exp, merged just before.
  const ValueId na = add_node(g, "neg", {a});
  const ValueId nb = add_node(g, "neg", {b});
  g.outputs = {add_node(g, "add", {na, nb}, kAlpha1)};
  const Graph after = run_pass(g, passes::eliminate_common_subexpressions, {random({2, 3}, 3)});
  EXPECT_EQ(op_names(after), Names({"exp", "neg", "add"}));
  EXPECT_EQ(after.nodes[2].inputs[0], after.nodes[2].inputs[1]);
}

TEST(CommonSubexpressions, RewiresOutputsAndUpdates) {
  Graph g;
  const ValueId x = g.add_input("x", {{5}, DType::f32});
  const ValueId p = g.add_parameter("p", random({5}, 4));
  const ValueId s1 = add_node(g, "sigmoid", {x});
  const ValueId s2 = add_node(g, "sigmoid", {x});
  const ValueId s3 = add_node(g, "sigmoid", {x});
  g.outputs = {s1, s2};
  g.updates = {{StateUpdate::Kind::copy_into, p, s3}};
  const Graph after = run_pass(g, passes::eliminate_common_subexpressions, {random({5}, 5)});
  EXPECT_EQ(op_names(after), Names({"sigmoid"}));
  EXPECT_EQ(after.outputs[0], after.outputs[1]);
  EXPECT_EQ(after.updates[0].value, after.outputs[0]);
}

TEST(CommonSubexpressions, KeepsNodesWithDifferentAttributes) {
  Graph g;
  const ValueId x = g.add_input("x", {{2, 3}, DType::f32});
  const ValueId y = g.add_input("y", {{2, 3}, DType::f32});
  const ValueId outs[] = {
      add_node(g, "add", {x, y}, kAlpha1),
      add_node(g, "add", {x, y}, {{"alpha", Scalar(2)}}),
      add_node(g, "add", {x, y}, {{"alpha", Scalar(1.0)}}),  // a float 1 is another attribute
      add_node(g, "add", {y, x}, kAlpha1),                   // other input order
      add_node(g, "leaky_relu", {x}, {{"negative_slope", 0.0}}),
      add_node(g, "leaky_relu", {x}, {{"negative_slope", -0.0}}),  // a different sign of zero
      add_node(g, "sum", {x}, {{"dim", Shape{0}}, {"keepdim", true}}),
      add_node(g, "sum", {x}, {{"keepdim", true}, {"dim", Shape{0}}}),  // same, in another order: merged
  };
  g.outputs.assign(std::begin(outs), std::end(outs));
  const Graph after =
      run_pass(g, passes::eliminate_common_subexpressions, {random({2, 3}, 1), random({2, 3}, 2)});
  EXPECT_EQ(op_names(after), Names({"add", "add", "add", "add", "leaky_relu", "leaky_relu", "sum"}));
}

TEST(CommonSubexpressions, NeverMergesHostBoundAttributes) {
  Graph g;
  const ValueId x = g.add_input("x", {{3}, DType::f32});
  double alpha = 2;
  auto host_add = [&] {
    const ValueId v = add_node(g, "add", {x, x}, {{"alpha", Scalar(alpha)}});
    g.nodes.back().host_attrs.push_back({"alpha", [&alpha] { return AttrValue(Scalar(alpha)); }});
    return v;
  };
  g.outputs = {host_add(), host_add()};
  const Graph after = run_pass(g, passes::eliminate_common_subexpressions, {random({3}, 1)});
  EXPECT_EQ(op_names(after), Names({"add", "add"}));
}

// --------------------------------------------------------- constant folding

TEST(ConstantFolding, FoldsChainsOfConstants) {
  Graph g;
  const ValueId x = g.add_input("x", {{3}, DType::f32});
  const ValueId c = g.add_constant(tensor({0.5f, -1.f, 2.f}));
  const ValueId e = add_node(g, "exp", {c});
  const ValueId s = add_node(g, "add", {e, g.add_constant(wrapped(1.5))}, kAlpha1);
  g.outputs = {add_node(g, "mul", {x, s})};
  const Graph after = run_pass(g, [](Graph& h) { passes::fold_constants(h, false); }, {random({3}, 1)});
  EXPECT_EQ(op_names(after), Names({"mul"}));
  const Value& folded = after.value(after.nodes[0].inputs[1]);
  ASSERT_EQ(folded.kind, ValueKind::constant);
  expect_identical(folded.data, exp(tensor({0.5f, -1.f, 2.f})) + 1.5);
}

TEST(ConstantFolding, FoldsParametersOnlyWhenFrozen) {
  Graph g;
  const ValueId x = g.add_input("x", {{2, 3}, DType::f32});
  const ValueId w = g.add_parameter("w", random({2, 3}, 9));
  g.outputs = {add_node(g, "matmul", {x, add_node(g, "permute", {w}, {{"dims", Shape{1, 0}}})})};
  const TensorList in = {random({2, 3}, 1)};
  const Graph live = run_pass(g, [](Graph& h) { passes::fold_constants(h, false); }, in);
  EXPECT_EQ(op_names(live), Names({"permute", "matmul"}));
  const Graph frozen = run_pass(g, [](Graph& h) { passes::fold_constants(h, true); }, in);
  EXPECT_EQ(op_names(frozen), Names({"matmul"}));
  // The folded transpose owns its data: not a window onto the parameter.
  const Tensor& folded = frozen.value(frozen.nodes[0].inputs[1]).data;
  EXPECT_NE(folded.impl().storage, g.value(w).data.impl().storage);
  EXPECT_TRUE(folded.is_contiguous());
}

TEST(ConstantFolding, NeverFoldsParametersTheGraphWrites) {
  Graph g;
  const ValueId x = g.add_input("x", {{4}, DType::f32});
  const ValueId p = g.add_parameter("p", random({4}, 9));
  g.outputs = {add_node(g, "mul", {x, add_node(g, "exp", {p})})};
  g.updates = {{StateUpdate::Kind::copy_into, p, add_node(g, "add", {p, x}, kAlpha1)}};
  const TensorList in = {random({4}, 1)};
  const Graph after = run_pass(g, [](Graph& h) { passes::fold_constants(h, true); }, in);
  EXPECT_EQ(op_names(after), Names({"exp", "mul", "add"}));
  // The second run reads what the first wrote.
  const Tensor start = g.value(p).data.clone();
  interpret(g, in);
  const Tensor expected = interpret(g, in)[0];
  Tensor(g.value(p).data).copy_(start);
  interpret(after, in);
  expect_identical(expected, interpret(after, in)[0]);
}

TEST(ConstantFolding, KeepsResultsTheCallerSees) {
  // A folded output would hand the caller the graph's own constant (or, through
  // a view, its storage) at every run.
  Graph g;
  const ValueId c = g.add_constant(tensor({1.f, 2.f, 3.f, 4.f}));
  const ValueId e = add_node(g, "exp", {c});
  g.outputs = {add_node(g, "view", {e}, {{"size", Shape{2, 2}}}), add_node(g, "neg", {c})};
  const Graph after = run_pass(g, [](Graph& h) { passes::fold_constants(h, false); }, {});
  EXPECT_EQ(op_names(after), Names({"exp", "view", "neg"}));
}

TEST(ConstantFolding, SizeRuleKeepsLargeExpansions) {
  // Outputs may outgrow the inputs only up to 64 KiB: a scalar expanded to
  // 4 MB stays a node, to 64 bytes it is folded.
  Graph g;
  const ValueId x = g.add_input("x", {{1024, 1024}, DType::f32});
  const ValueId y = g.add_input("y", {{4, 4}, DType::f32});
  const ValueId c = g.add_constant(scalar_tensor(3.f));
  const ValueId big = add_node(g, "expand", {c}, {{"size", Shape{1024, 1024}}});
  const ValueId small = add_node(g, "expand", {c}, {{"size", Shape{4, 4}}});
  g.outputs = {add_node(g, "mul", {x, big}), add_node(g, "mul", {y, small})};
  const Graph after = run_pass(g, [](Graph& h) { passes::fold_constants(h, false); },
                               {random({1024, 1024}, 1), random({4, 4}, 2)});
  EXPECT_EQ(op_names(after), Names({"expand", "mul", "mul"}));
  EXPECT_EQ(after.value(after.nodes[2].inputs[1]).kind, ValueKind::constant);
}

TEST(ConstantFolding, LeavesRunTimeErrorsToTheRun) {
  // 7 // 0 on integers throws: folding must not throw it at optimize time.
  Graph g;
  const ValueId x = g.add_input("x", {{2}, DType::i64});
  const ValueId q = add_node(g, "div", {g.add_constant(tensor({7, 8})), g.add_constant(tensor({0, 1}))},
                             {{"rounding_mode", std::string("floor")}});
  g.outputs = {add_node(g, "add", {x, q}, kAlpha1)};
  Graph after = g;
  passes::fold_constants(after, false);
  after.verify();
  EXPECT_EQ(op_names(after), Names({"div", "add"}));
  testing::expect_error<ValueError>([&] { interpret(after, {tensor({1, 2})}); }, "division by zero");
}

// ---------------------------------------------------------- simplification

TEST(SimplifyAlgebra, RemovesIdentityArithmetic) {
  Graph g;
  const ValueId x = g.add_input("x", {{3, 4}, DType::f32});
  const ValueId one = g.add_constant(wrapped(1.0));
  const ValueId zero = g.add_constant(wrapped(0.0));
  ValueId v = add_node(g, "exp", {x});
  v = add_node(g, "mul", {v, one});
  v = add_node(g, "mul", {one, v});
  v = add_node(g, "add", {v, zero}, {{"alpha", Scalar(3.5)}});
  v = add_node(g, "add", {zero, v}, kAlpha1);
  v = add_node(g, "sub", {v, g.add_constant(zeros({4}))}, kAlpha1);  // every element zero, no broadcast
  v = add_node(g, "div", {v, g.add_constant(ones({3, 4}))}, {{"rounding_mode", std::string()}});
  g.outputs = {add_node(g, "neg", {v})};
  const Graph after = run_pass(g, passes::simplify_algebra, {random({3, 4}, 1)});
  EXPECT_EQ(op_names(after), Names({"exp", "neg"}));
}

TEST(SimplifyAlgebra, KeepsOperationsThatChangeMetadataOrValues) {
  // Each result feeds a neg only, so nothing but the identity itself decides.
  Graph g;
  const ValueId x = g.add_input("x", {{4}, DType::f32});
  const ValueId e = add_node(g, "exp", {x});
  const ValueId kept[] = {
      add_node(g, "mul", {e, g.add_constant(ones({3, 4}))}),           // broadcasts to [3, 4]
      add_node(g, "mul", {e, g.add_constant(tensor({1.f, 2.f, 1.f, 1.f}))}),  // not all ones
      add_node(g, "add", {g.add_constant(wrapped(0.0)), e}, {{"alpha", Scalar(2)}}),  // 0 + 2x
      add_node(g, "add", {e, g.add_constant(wrapped(0.0))}, {{"alpha", Scalar(INFINITY)}}),  // x + inf*0
      add_node(g, "div", {e, g.add_constant(wrapped(1.0))}, {{"rounding_mode", std::string("floor")}}),
      add_node(g, "mul", {e, g.add_constant(ones({4}, DType::f64))}),  // a f64 tensor promotes
      add_node(g, "to", {e}, {{"dtype", DType::f64}}),
  };
  for (ValueId v : kept) g.outputs.push_back(add_node(g, "neg", {v}));
  const Graph after = run_pass(g, passes::simplify_algebra, {random({4}, 1)});
  Names expected = {"exp", "mul", "mul", "add", "add", "div", "mul", "to"};
  expected.resize(expected.size() + std::size(kept), "neg");
  EXPECT_EQ(op_names(after), expected);
}

TEST(SimplifyAlgebra, IntegerArithmeticStaysInteger) {
  Graph g;
  const ValueId x = g.add_input("x", {{5}, DType::i64});
  const ValueId d = add_node(g, "mul", {x, x});
  // int + int 0 is the int: removed. int + 0.0 is a float: kept.
  const ValueId same = add_node(g, "add", {d, g.add_constant(wrapped(0))}, kAlpha1);
  const ValueId floated = add_node(g, "add", {d, g.add_constant(wrapped(0.0))}, kAlpha1);
  // Integer floor division by one is the integer.
  const ValueId div = add_node(g, "div", {d, g.add_constant(wrapped(1))}, {{"rounding_mode", std::string("floor")}});
  g.outputs = {add_node(g, "neg", {same}), add_node(g, "neg", {floated}), add_node(g, "neg", {div})};
  const Graph after = run_pass(g, passes::simplify_algebra, {random({5}, 1, DType::i64)});
  EXPECT_EQ(op_names(after), Names({"mul", "add", "neg", "neg", "neg"}));
  EXPECT_EQ(after.value(after.outputs[0]).meta.dtype, DType::i64);
  EXPECT_EQ(after.value(after.outputs[1]).meta.dtype, DType::f32);
}

TEST(SimplifyAlgebra, ComposesPermutes) {
  Graph g;
  const ValueId x = g.add_input("x", {{2, 3, 4}, DType::f32});
  const ValueId p1 = add_node(g, "permute", {x}, {{"dims", Shape{1, 2, 0}}});        // [3, 4, 2]
  const ValueId back = add_node(g, "permute", {p1}, {{"dims", Shape{-1, 0, 1}}});    // [2, 3, 4]: cancels
  const ValueId other = add_node(g, "permute", {p1}, {{"dims", Shape{1, 0, 2}}});    // [4, 3, 2]
  const ValueId same = add_node(g, "permute", {x}, {{"dims", Shape{0, -2, -1}}});    // alone, the identity
  g.outputs = {add_node(g, "exp", {back}), add_node(g, "exp", {other}), add_node(g, "exp", {same})};
  const Graph after = run_pass(g, passes::simplify_algebra, {random({2, 3, 4}, 1)});
  EXPECT_EQ(op_names(after), Names({"permute", "exp", "exp", "exp"}));
  EXPECT_EQ(after.nodes[3].inputs[0], after.inputs[0]);
  EXPECT_EQ(after.nodes[1].inputs[0], after.inputs[0]);
  EXPECT_EQ(after.nodes[0].inputs[0], after.inputs[0]);
  EXPECT_EQ(shape_str(after.nodes[0].attrs.ints("dims")), "[2, 1, 0]");
}

TEST(SimplifyAlgebra, CollapsesViewChains) {
  Graph g;
  const ValueId x = g.add_input("x", {{3, 4}, DType::f32});
  const ValueId e = add_node(g, "exp", {x});
  const ValueId flat = add_node(g, "view", {e}, {{"size", Shape{12}}});
  const ValueId v = add_node(g, "view", {flat}, {{"size", Shape{2, 6}}});
  const ValueId back = add_node(g, "view", {add_node(g, "view", {e}, {{"size", Shape{4, 3}}})},
                                {{"size", Shape{3, 4}}});  // back to e's shape
  g.outputs = {add_node(g, "neg", {v}), add_node(g, "neg", {back})};
  const Graph after = run_pass(g, passes::simplify_algebra, {random({3, 4}, 1)});
  EXPECT_EQ(op_names(after), Names({"exp", "view", "neg", "neg"}));
  EXPECT_EQ(after.nodes[1].inputs[0], after.nodes[0].outputs[0]);
  EXPECT_EQ(after.nodes[3].inputs[0], after.nodes[0].outputs[0]);
}

TEST(SimplifyAlgebra, RemovesNoOpCastsAndCopies) {
  Graph g;
  const ValueId x = g.add_input("x", {{6}, DType::f32});
  const ValueId c = add_node(g, "clone", {add_node(g, "exp", {x})});  // a copy of a value used once
  const ValueId t = add_node(g, "to", {c}, {{"dtype", DType::f32}});
  g.outputs = {add_node(g, "view", {t}, {{"size", Shape{2, 3}}})};
  const Graph after = run_pass(g, passes::simplify_algebra, {random({6}, 1)});
  EXPECT_EQ(op_names(after), Names({"exp", "view"}));
}

TEST(SimplifyAlgebra, KeepsCopiesAViewNeeds) {
  // reshape of a transposed tensor is view(clone(permute(x))): the view needs
  // the clone's contiguous copy (interpret would throw without it).
  Graph g;
  const ValueId x = g.add_input("x", {{3, 4}, DType::f32});
  const ValueId p = add_node(g, "permute", {x}, {{"dims", Shape{1, 0}}});
  const ValueId flat = add_node(g, "view", {add_node(g, "clone", {p})}, {{"size", Shape{12}}});
  g.outputs = {add_node(g, "exp", {flat})};
  const Graph after = run_pass(g, passes::simplify_algebra, {random({3, 4}, 1)});
  EXPECT_EQ(op_names(after), Names({"permute", "clone", "view", "exp"}));
}

TEST(SimplifyAlgebra, NeverReturnsTheCallersTensor) {
  // x*1 as an output stays a node (the caller must get a new tensor, not its
  // input); a copy of a parameter written back stays a copy; a fresh result
  // used once can stand for the output.
  Graph g;
  const ValueId x = g.add_input("x", {{4}, DType::f32});
  const ValueId p = g.add_parameter("p", random({4}, 3));
  const ValueId one = g.add_constant(wrapped(1.0));
  const ValueId of_input = add_node(g, "mul", {x, one});
  const ValueId view_of_input = add_node(g, "view", {x}, {{"size", Shape{4}}});
  const ValueId fresh = add_node(g, "mul", {add_node(g, "exp", {x}), one});
  const ValueId copy = add_node(g, "clone", {p});
  g.outputs = {of_input, view_of_input, fresh};
  g.updates = {{StateUpdate::Kind::copy_into, p, add_node(g, "add", {copy, x}, kAlpha1)},
               {StateUpdate::Kind::copy_into, p, add_node(g, "clone", {p})}};
  const Graph after = run_pass(g, passes::simplify_algebra, {random({4}, 1)});
  EXPECT_EQ(op_names(after), Names({"mul", "view", "exp", "add", "clone"}));
  EXPECT_EQ(after.outputs[2], after.nodes[2].outputs[0]);  // the exp
}

// An op whose kernel draws random numbers. The op table has none yet; the
// passes know such ops by name (bernoulli, dropout, rand, ...).
const OpDef bernoulli_op{
    .name = "bernoulli", .inputs = {"p"},
    .infer = [](const OpDef&, std::span<const Tensor> in, const Attrs&) -> std::vector<TensorMeta> {
      return {{in[0].sizes(), in[0].dtype(), in[0].device()}};
    },
    .cpu = [](std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) { out[0].copy_(bernoulli(in[0])); },
    .nondifferentiable = "random draws", .not_exportable = "test only"};

// ---------------------------------------------------------------- mask_pooled_gradients

// relu -> max_pool2d's backward, as autograd records it: the pooled gradient
// scattered to the input's size, then relu's mask where(y > 0, ., 0).
struct PoolReluBackward {
  Graph g;
  ValueId y, pooled, indices, grad, zero, scattered, positive;
};

PoolReluBackward pool_relu_backward(Shape kernel, Shape stride) {
  PoolReluBackward b;
  Graph& g = b.g;
  b.y = add_node(g, "relu", {g.add_input("x", {{2, 3, 9, 8}, DType::f32})});
  const Attrs pool{{"kernel_size", kernel}, {"stride", stride}, {"padding", Shape{0, 0}},
                   {"ceil_mode", false},    {"dilation", Shape{1, 1}}};
  const auto pooled = g.add_node(testing::op("max_pool2d_with_indices"), {b.y}, pool);
  b.pooled = pooled[0];
  b.indices = pooled[1];
  b.grad = g.add_input("grad", g.value(b.pooled).meta);
  Attrs scatter = pool;
  scatter.set("input_size", Shape{2, 3, 9, 8});
  b.scattered = add_node(g, "max_pool2d_backward", {b.grad, b.indices}, scatter);
  b.zero = g.add_constant(wrapped(0));
  b.positive = add_node(g, "gt", {b.y, b.zero});
  return b;
}

TEST(MaskPooledGradients, MasksBeforeTheScatter) {
  // 2x2 windows, and overlapping 3x3 windows with stride 2 (several windows
  // may pick one input: their gradients add up).
  for (const auto& [kernel, stride] : {std::pair{Shape{2, 2}, Shape{2, 2}}, std::pair{Shape{3, 3}, Shape{2, 2}}}) {
    SCOPED_TRACE(shape_str(kernel));
    PoolReluBackward b = pool_relu_backward(kernel, stride);
    b.g.outputs = {add_node(b.g, "where", {b.positive, b.scattered, b.zero})};
    Tensor x = random({2, 3, 9, 8}, 1);
    x.index({0, 0}).fill_(-1.0);  // whole windows of zeros after relu
    const Tensor grad = random(b.g.value(b.grad).meta.sizes, 2);
    const Graph after = run_pass(b.g, passes::mask_pooled_gradients, {x, grad});
    EXPECT_EQ(op_names(after), (Names{"relu", "max_pool2d_with_indices", "gt", "where", "max_pool2d_backward"}));
    EXPECT_EQ(after.value(after.nodes[3].outputs[0]).meta.sizes, b.g.value(b.grad).meta.sizes);  // the pooled size
  }
}

TEST(MaskPooledGradients, LeavesOtherPatterns) {
  // The scattered gradient read elsewhere, a mask other than > 0, an else
  // branch other than 0, a mask of another tensor than the pool's input.
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE(variant);
    PoolReluBackward b = pool_relu_backward({2, 2}, {2, 2});
    Graph& g = b.g;
    ValueId condition = b.positive, otherwise = b.zero;
    if (variant == 1) condition = add_node(g, "gt", {b.y, g.add_constant(wrapped(0.5))});
    if (variant == 2) otherwise = g.add_constant(wrapped(1.0));
    if (variant == 3) condition = add_node(g, "gt", {add_node(g, "neg", {b.y}), b.zero});
    g.outputs = {add_node(g, "where", {condition, b.scattered, otherwise})};
    if (variant == 0) g.outputs.push_back(b.scattered);
    const Tensor x = random({2, 3, 9, 8}, 1), grad = random(g.value(b.grad).meta.sizes, 2);
    const Graph after = run_pass(g, passes::mask_pooled_gradients, {x, grad});
    EXPECT_EQ(op_names(after), op_names(g));
  }
}

// A traced CNN training step: both relu -> max_pool2d pairs are rewritten and
// the step still trains exactly as eager (tests/graph/test_training.cpp).
TEST(MaskPooledGradients, TracedCnnBackward) {
  manual_seed(3);
  nn::Sequential net{nn::Conv2d(1, 4, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                     nn::Conv2d(4, 8, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                     nn::Linear(8 * 7 * 7, 10)};
  const Tensor x = randn({4, 1, 28, 28});
  const Graph g = jit::trace(
      [&](const TensorList& in) {
        const TensorList params = net.parameters();
        return autograd::grad({net(in[0]).sum()}, params);
      },
      {x});
  const Graph after = run_pass(g, passes::mask_pooled_gradients, {x});
  const Names names = op_names(after);
  EXPECT_EQ(std::count(names.begin(), names.end(), "where"), 2) << print(after);
  std::vector<int64_t> mask_heights;  // at the pooled sizes: 14 and 7, not 28 and 14
  for (const Node& node : after.nodes)
    if (node.op->name == "where") mask_heights.push_back(after.value(node.outputs[0]).meta.sizes[2]);
  std::sort(mask_heights.begin(), mask_heights.end());
  EXPECT_EQ(mask_heights, (std::vector<int64_t>{7, 14}));
}

TEST(RandomOps, AreNeverMergedFoldedOrRemoved) {
  Graph g;
  const ValueId x = g.add_input("x", {{64}, DType::f32});
  const ValueId half = g.add_constant(full({64}, 0.5));
  const ValueId r1 = g.add_node(bernoulli_op, {half})[0];  // constant inputs
  const ValueId r2 = g.add_node(bernoulli_op, {half})[0];  // same op, same inputs
  g.add_node(bernoulli_op, {half});                        // unused: it still advances the generator
  const ValueId r4 = g.add_node(bernoulli_op, {half})[0];
  g.outputs = {add_node(g, "mul", {x, add_node(g, "add", {r1, r2}, kAlpha1)}), r4};
  Graph after = g;
  after = optimize(std::move(after), {.fuse = false});
  EXPECT_EQ(op_names(after), Names({"bernoulli", "bernoulli", "bernoulli", "bernoulli", "add", "mul"}));
  const TensorList in = {random({64}, 1)};
  manual_seed(7);
  const TensorList expected = interpret(g, in);
  manual_seed(7);
  expect_identical(expected, interpret(after, in));
}

// The op table's own random op: dropout's mask, as a traced training step
// records it. Two dropouts of one tensor draw two masks; a mask of a constant
// is drawn at every run; an unused one still advances the generator.
TEST(RandomOps, DropoutMasksAreNeverMergedFoldedOrRemoved) {
  Graph g;
  const ValueId x = g.add_input("x", {{64}, DType::f32});
  const ValueId ones_ = g.add_constant(ones({64}));
  const Attrs half{{"p", 0.5}};
  const ValueId m1 = add_node(g, "dropout_mask", {x}, half), m2 = add_node(g, "dropout_mask", {x}, half);
  add_node(g, "dropout_mask", {x}, half);
  const ValueId m4 = add_node(g, "dropout_mask", {ones_}, half);
  g.outputs = {add_node(g, "mul", {x, add_node(g, "add", {m1, m2}, kAlpha1)}), m4};
  const Graph after = optimize(g, {.fuse = false});
  const Names names = op_names(after);
  EXPECT_EQ(std::count(names.begin(), names.end(), "dropout_mask"), 4) << print(after);
  const TensorList in = {random({64}, 1)};
  manual_seed(7);
  const TensorList expected = interpret(g, in);
  manual_seed(7);
  expect_identical(expected, interpret(after, in));
  // A folded mask would be the same at every run.
  manual_seed(8);
  EXPECT_FALSE((interpret(after, in)[1] == expected[1]).all().item<bool>());
}

// ---------------------------------------------------------------- pipeline

TEST(Optimize, RunsThePassesInOrder) {
  Graph g;
  const ValueId x = g.add_input("x", {{2, 3}, DType::f32});
  const ValueId w = g.add_parameter("w", random({3}, 5));
  const ValueId scale = add_node(g, "mul", {add_node(g, "exp", {w}), g.add_constant(wrapped(1.0))});
  const ValueId a = add_node(g, "mul", {x, scale});
  const ValueId b = add_node(g, "mul", {x, scale});
  const ValueId t = add_node(g, "permute", {add_node(g, "permute", {add_node(g, "add", {a, b}, kAlpha1)},
                                                      {{"dims", Shape{1, 0}}})},
                             {{"dims", Shape{1, 0}}});
  add_node(g, "tanh", {t});  // unused
  g.outputs = {add_node(g, "sigmoid", {t})};
  const TensorList in = {random({2, 3}, 1)};
  const Graph after = run_pass(g, [](Graph& h) { h = optimize(std::move(h), {.freeze = true, .fuse = false}); }, in);
  EXPECT_EQ(op_names(after), Names({"mul", "add", "sigmoid"}));
  const Graph live = run_pass(g, [](Graph& h) { h = optimize(std::move(h), {.freeze = false, .fuse = false}); }, in);
  EXPECT_EQ(op_names(live), Names({"exp", "mul", "add", "sigmoid"}));
  const std::string text = print(after);
  for (const char* name : {"mul(%x", "add(", "sigmoid(", "return"})
    EXPECT_NE(text.find(name), std::string::npos) << text;
}

TEST(Optimize, NeverFreezesAGraphWithStateUpdates) {
  Graph g;
  const ValueId x = g.add_input("x", {{4}, DType::f32});
  const ValueId p = g.add_parameter("p", random({4}, 9));
  const ValueId q = g.add_parameter("q", random({4}, 10));
  g.outputs = {add_node(g, "mul", {x, add_node(g, "exp", {q})})};
  g.updates = {{StateUpdate::Kind::copy_into, p, add_node(g, "add", {p, x}, kAlpha1)}};
  const Graph after = run_pass(g, [](Graph& h) { h = optimize(std::move(h), {.fuse = false}); }, {random({4}, 1)});
  EXPECT_EQ(op_names(after), Names({"exp", "mul", "add"}));
}

TEST(Optimize, TracedFunction) {
  const Tensor w = random({3, 4}, 5);
  const Tensor b = random({4}, 6);
  const TracedFunction fn = [&](const TensorList& in) {
    const Tensor h = matmul(in[0], w.t().t());    // transposed twice
    const Tensor y = exp(h + b) * 1.0 + exp(h + b);  // x*1 and a repeated subexpression
    tanh(y);                                        // unused
    return TensorList{y.reshape({-1}).reshape({-1, 4})};  // back to y's shape
  };
  const Graph g = trace(fn, {random({2, 3}, 1)},
                        {.dynamic = {{0, 0, "batch"}}, .named_state = {{"w", w}, {"b", b}}, .input_names = {"x"}});
  const TensorList in = {random({5, 3}, 2)};  // another batch size
  for (bool freeze : {true, false}) {
    SCOPED_TRACE(freeze ? "frozen" : "live parameters");
    const Graph after =
        run_pass(g, [&](Graph& h) { h = optimize(std::move(h), {.freeze = freeze, .fuse = false}); }, in);
    EXPECT_EQ(op_names(after), Names({"matmul", "add", "exp", "add"}));
    expect_identical(interpret(after, in)[0], fn(in)[0]);
    const std::string text = print(after);
    for (const char* name : {"matmul(%x, %w)", "exp(", "%x: f32[batch, 3]"})
      EXPECT_NE(text.find(name), std::string::npos) << text;
  }
}

TEST(Optimize, DefaultPipelineRunsOnTheExecutor) {
  // With fusion the kernels change, so results may round differently: within
  // 1e-5 relative (about 80 float ulps) plus 1e-6 absolute of eager.
  const Tensor w = random({3, 4}, 5);
  const Tensor b = random({4}, 6);
  const TracedFunction fn = [&](const TensorList& in) {
    const Tensor y = matmul(in[0], w.t().t()) + b;
    return TensorList{relu(y) * 1.0 + sigmoid(y) * exp(b)};
  };
  const Graph g = trace(fn, {random({2, 3}, 1)},
                        {.dynamic = {{0, 0, "batch"}}, .named_state = {{"w", w}, {"b", b}}, .input_names = {"x"}});
  Executor run(optimize(g));
  EXPECT_EQ(run.graph().value(run.graph().nodes[0].inputs[1]).name, "w");  // no transposes left
  for (int64_t batch : {2, 7}) {
    const TensorList in = {random({batch, 3}, uint64_t(batch))};
    const Tensor expected = fn(in)[0], got = run.run(in)[0];
    ASSERT_EQ(shape_str(got.sizes()), shape_str(expected.sizes()));
    const auto x = got.to_vector<double>(), y = expected.to_vector<double>();
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_LE(std::abs(x[i] - y[i]), 1e-6 + 1e-5 * std::abs(y[i])) << "element " << i << "\n" << print(run.graph());
  }
}

TEST(Optimize, TracedConstantsFold) {
  // An unnamed tensor the function reads is a constant: work on it alone folds
  // even in a graph that is not frozen.
  const Tensor scale = tensor({1.f, 2.f, 3.f});
  const TracedFunction fn = [&](const TensorList& in) { return TensorList{in[0] * (exp(scale) + 1.0)}; };
  const Graph g = trace(fn, {random({2, 3}, 1)});
  EXPECT_EQ(op_names(g), Names({"exp", "add", "mul"}));
  const Graph after = run_pass(g, [](Graph& h) { h = optimize(std::move(h), {.freeze = false, .fuse = false}); },
                               {random({2, 3}, 3)});
  EXPECT_EQ(op_names(after), Names({"mul"}));
}

}  // namespace
}  // namespace ember::graph
