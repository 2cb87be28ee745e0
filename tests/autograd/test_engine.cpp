// The autograd engine: accumulation, retain_graph, no_grad / inference mode,
// leaves and non-leaves, hooks, higher-order gradients, custom functions,
// anomaly mode and the misuse errors users hit in PyTorch.
#include <gtest/gtest.h>

#include <cmath>

#include "ember/ember.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;
namespace ag = ember::autograd;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor w = tensor({1.0, 2.0, 3.0}, DType::f64).requires_grad_();
  (w * w).sum().backward();
  (w * 3).sum().backward();
  EXPECT_EQ(values(w.grad()), (std::vector<double>{5, 7, 9}));
}

TEST(Autograd, BackwardWithAGivenGradientForNonScalars) {
  Tensor x = tensor({1.0, 2.0}, DType::f64).requires_grad_();
  Tensor y = x * x;
  expect_error<AutogradError>([&] { y.backward(); }, "grad can be implicitly created only for scalar outputs");
  y.backward(tensor({1.0, 0.5}, DType::f64));
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2, 2}));
  Tensor z = x * 2;
  expect_error<ShapeError>([&] { z.backward(ones({3}, DType::f64)); }, "gradient of shape [3]");
}

TEST(Autograd, SecondBackwardNeedsRetainGraph) {
  Tensor x = tensor({2.0}, DType::f64).requires_grad_();
  Tensor y = (x.exp() * x).sum();
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  EXPECT_NEAR(values(x.grad())[0], 2 * 3 * std::exp(2.0), 1e-12);
  expect_error<AutogradError>([&] { y.backward(); }, "backward through the graph a second time");
}

TEST(Autograd, NoGradAndInferenceMode) {
  Tensor x = ones({2}).requires_grad_();
  {
    ag::NoGradGuard no_grad;
    Tensor y = x * 2;
    EXPECT_FALSE(y.requires_grad());
    {
      ag::EnableGradGuard enable;
      EXPECT_TRUE((x * 2).requires_grad());
    }
  }
  {
    ag::InferenceModeGuard inference;
    EXPECT_FALSE((x * 2).requires_grad());
    EXPECT_TRUE(ag::InferenceModeGuard::is_enabled());
  }
  EXPECT_TRUE((x * 2).requires_grad());
}

TEST(Autograd, LeavesDetachAndRetainGrad) {
  Tensor x = ones({2}).requires_grad_();
  Tensor h = x * 3;
  h.retain_grad();
  Tensor y = (h * h).sum();
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(h.is_leaf());
  y.backward();
  EXPECT_EQ(values(h.grad()), (std::vector<double>{6, 6}));
  EXPECT_EQ(values(x.grad()), (std::vector<double>{18, 18}));
  Tensor d = h.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  expect_error<DTypeError>([] { tensor({1, 2}).requires_grad_(); }, "only floating point tensors");
  expect_error<AutogradError>([&] { h.requires_grad_(false); }, "only change requires_grad flags of leaf tensors");
}

TEST(Autograd, HooksCanReplaceGradients) {
  Tensor x = ones({3}).requires_grad_();
  Tensor h = x * 2;
  int calls = 0;
  h.register_hook([&](const Tensor& g) {
    ++calls;
    return g * 10;
  });
  x.register_hook([](const Tensor& g) { return g + 1; });
  h.sum().backward();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(values(x.grad()), (std::vector<double>{21, 21, 21}));
}

TEST(Autograd, GradFunctionDoesNotTouchDotGrad) {
  Tensor x = tensor({1.0, 2.0}, DType::f64).requires_grad_();
  Tensor unused = tensor({1.0}, DType::f64).requires_grad_();
  Tensor y = (x * x * x).sum();
  auto g = ag::grad({y}, {x});
  EXPECT_EQ(values(g[0]), (std::vector<double>{3, 12}));
  EXPECT_FALSE(x.grad().defined());
  Tensor y2 = (x * x).sum();
  expect_error<AutogradError>([&] { ag::grad({y2}, {unused}); }, "grad: input 0");
  Tensor y3 = (x * x).sum();
  EXPECT_FALSE(ag::grad({y3}, {unused}, {}, false, {}, /*allow_unused=*/true)[0].defined());
}

TEST(Autograd, SecondDerivativeOfTanh) {
  const double v = 0.7;
  Tensor x = tensor({v}, DType::f64).requires_grad_();
  Tensor y = ember::tanh(x).sum();
  Tensor dy = ag::grad({y}, {x}, {}, /*create_graph=*/true)[0];
  Tensor d2y = ag::grad({dy.sum()}, {x})[0];
  const double t = std::tanh(v);
  EXPECT_NEAR(values(dy)[0], 1 - t * t, 1e-12);
  EXPECT_NEAR(values(d2y)[0], -2 * t * (1 - t * t), 1e-12);
}

TEST(Autograd, GradientPenalty) {
  // WGAN-GP style: the penalty (||d f / d x|| - 1)^2 is differentiated w.r.t. w.
  Tensor w = tensor({0.5, -1.5, 2.0}, DType::f64).requires_grad_();
  Tensor x = tensor({1.0, 2.0, 3.0}, DType::f64).requires_grad_();
  Tensor f = ember::tanh((w * x).sum());
  Tensor gx = ag::grad({f}, {x}, {}, /*create_graph=*/true)[0];
  Tensor penalty = (gx.pow(2).sum().sqrt() - 1).pow(2);
  penalty.backward();
  // Finite-difference check of d penalty / d w.
  auto penalty_at = [&](const Tensor& wv) {
    Tensor xx = x.detach().clone().requires_grad_();
    Tensor ff = ember::tanh((wv * xx).sum());
    Tensor g = ag::grad({ff}, {xx})[0];
    return std::pow(std::sqrt((g * g).sum().item<double>()) - 1, 2);
  };
  for (int i = 0; i < 3; ++i) {
    Tensor plus = w.detach().clone(), minus = w.detach().clone();
    plus.index_put_({i}, plus.index({i}).item<double>() + 1e-6);
    minus.index_put_({i}, minus.index({i}).item<double>() - 1e-6);
    EXPECT_NEAR(values(w.grad())[size_t(i)], (penalty_at(plus) - penalty_at(minus)) / 2e-6, 1e-6);
  }
}

TEST(Autograd, InPlaceAfterSaveIsCaught) {
  Tensor x = tensor({1.0, 2.0}, DType::f64).requires_grad_();
  Tensor h = x * 1;
  Tensor y = ember::exp(h);  // exp saves its output
  y.mul_(2);
  expect_error<AutogradError>([&] { y.sum().backward(); }, "modified by an inplace operation");
  expect_error<AutogradError>([&] { x.add_(1); }, "a leaf tensor that requires grad");
}

namespace {
struct Cube {
  static TensorList forward(ag::FunctionContext& ctx, const TensorList& x) {
    ctx.save_for_backward({x[0]});
    return {x[0] * x[0] * x[0]};
  }
  static TensorList backward(ag::FunctionContext& ctx, const TensorList& g) {
    const Tensor x = ctx.saved()[0];
    return {g[0] * 3 * x * x};
  }
};
}  // namespace

TEST(Autograd, CustomFunction) {
  Tensor x = tensor({1.0, -2.0}, DType::f64).requires_grad_();
  Tensor y = ag::Function<Cube>::apply({x})[0];
  EXPECT_EQ(values(y), (std::vector<double>{1, -8}));
  y.sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{3, 12}));
  Tensor x64 = tensor({0.3, -0.7}, DType::f64).requires_grad_();
  EXPECT_EQ(ag::gradcheck([](const TensorList& in) { return ag::Function<Cube>::apply(in); }, {x64}), "");
}

TEST(Autograd, AnomalyModeNamesTheOp) {
  Tensor x = tensor({0.0, 1.0}, DType::f64).requires_grad_();
  ag::DetectAnomalyGuard anomaly;
  Tensor y = ember::sqrt(x).sum();  // d sqrt / dx at 0 is inf
  expect_error<AutogradError>([&] { y.backward(); }, "sqrtBackward");
}

TEST(Gradcheck, CatchesAWrongGradient) {
  struct Wrong {
    static TensorList forward(ag::FunctionContext&, const TensorList& x) { return {x[0] * x[0]}; }
    static TensorList backward(ag::FunctionContext&, const TensorList& g) { return {g[0] * 3}; }
  };
  Tensor x = tensor({0.5, 1.5}, DType::f64).requires_grad_();
  EXPECT_NE(ag::gradcheck([](const TensorList& in) { return ag::Function<Wrong>::apply(in); }, {x}), "");
  Tensor f32 = tensor({0.5f}).requires_grad_();
  EXPECT_THROW(ag::gradcheck([](const TensorList& in) { return TensorList{in[0] * 2}; }, {f32}), DTypeError);
}
