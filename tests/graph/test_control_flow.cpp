// ember::cond and ember::while_loop: eager, and traced into graph nodes whose
// decision is made at every run.
#include <gtest/gtest.h>

#include "ember/ember.h"
#include "graph/graph_testing.h"

namespace ember::graph {
namespace {

using testing::expect_identical;

TensorList double_it(const TensorList& v) { return {v[0] * 2}; }
TensorList negate(const TensorList& v) { return {-v[0]}; }

TensorList sign_dependent(const TensorList& in) {
  return cond(in[0].sum() > 0, double_it, negate, {in[0]});
}

TEST(Cond, EagerRunsTheChosenBranchWithAutograd) {
  Tensor x = full({3}, 1.0).requires_grad_();
  Tensor y = sign_dependent({x})[0];
  expect_identical(full({3}, 2.0), y.detach());
  y.sum().backward();
  expect_identical(full({3}, 2.0), x.grad());
  expect_identical(full({3}, 1.0), sign_dependent({full({3}, -1.0)})[0]);
}

TEST(Cond, TracedDecidesAtEveryRun) {
  Graph g = trace(sign_dependent, {full({3}, 1.0)});
  ASSERT_EQ(g.nodes.back().op->name, "cond") << print(g);
  EXPECT_EQ(g.nodes.back().subgraphs.size(), 2u);
  for (double v : {1.0, -1.0, 0.5, -4.0}) {
    Tensor x = full({3}, v);
    expect_identical(sign_dependent({x})[0], interpret(g, {x})[0]);
  }
  const std::string text = print(g);
  EXPECT_NE(text.find("cond("), std::string::npos) << text;
}

TEST(Cond, BranchesMayReadOuterValuesAndParameters) {
  Tensor w = randn({3});
  auto fn = [&](const TensorList& in) {
    Tensor scale = in[0].abs() + 1;  // an outer value the branch captures
    return cond(in[0].mean() > 0, [&](const TensorList& v) { return TensorList{v[0] * scale + w}; },
                [&](const TensorList& v) { return TensorList{v[0] - w}; }, {in[0]});
  };
  Graph g = trace(fn, {randn({3})});
  for (int i = 0; i < 4; ++i) {
    Tensor x = randn({3});
    expect_identical(fn({x})[0], interpret(g, {x})[0]);
  }
}

TEST(Cond, BranchesMustAgreeOnTypes) {
  auto fn = [](const TensorList& in) {
    return cond(in[0].sum() > 0, [](const TensorList& v) { return TensorList{v[0].sum()}; }, negate, {in[0]});
  };
  EXPECT_THROW(trace(fn, {randn({3})}), TraceError);
  EXPECT_THROW(cond(randn({2}) > 0, double_it, negate, {randn({2})}), ValueError);  // not one element
  EXPECT_THROW(cond(ones({1}), double_it, negate, {randn({2})}), ValueError);       // not bool
}

TEST(Cond, TracingGradientsThroughControlFlowIsReported) {
  Tensor w = randn({3}).requires_grad_();
  auto fn = [&](const TensorList& in) { return sign_dependent({in[0] * w}); };
  EXPECT_THROW(trace(fn, {randn({3})}), TraceError);
}

TensorList collatz_steps(const TensorList& in) {
  // state: {n, steps}; runs until n == 1.
  return while_loop([](const TensorList& s) { return s[0] > 1; },
                    [](const TensorList& s) {
                      Tensor odd = remainder(s[0], 2) == 1;
                      return TensorList{where(odd, s[0] * 3 + 1, div(s[0], 2, "floor")), s[1] + 1};
                    },
                    {in[0], zeros({}, DType::i64)});
}

TEST(WhileLoop, EagerAndTracedAgree) {
  const Tensor six = full({}, int64_t(6));
  TensorList eager = collatz_steps({six});
  EXPECT_EQ(eager[1].item<int64_t>(), 8);
  Graph g = trace(collatz_steps, {six});
  EXPECT_EQ(g.nodes.back().op->name, "while_loop") << print(g);
  for (int64_t n : {1, 6, 7, 27}) {
    Tensor x = full({}, n);
    expect_identical(collatz_steps({x}), interpret(g, {x}));
  }
}

TEST(WhileLoop, BodyMustKeepTypes) {
  auto grows = [](const TensorList& in) {
    return while_loop([](const TensorList& s) { return s[0].sum() < 10; },
                      [](const TensorList& s) { return TensorList{cat({s[0], s[0]})}; }, {in[0]});
  };
  EXPECT_THROW(grows({ones({1})}), TraceError);
  EXPECT_THROW(trace(grows, {ones({1})}), TraceError);
}

}  // namespace
}  // namespace ember::graph
