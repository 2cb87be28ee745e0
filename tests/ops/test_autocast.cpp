// Tests for AutocastGuard (include/ember/ops/autocast.h) and the bf16 GEMM and
// convolution kernels it runs on (src/ops/cpu/gemm.cpp, src/ops/cpu/conv.cpp).
//
// Tolerances: a bf16 product with float32 accumulation differs from the
// float32 product of the same (bf16-rounded) operands by its one final
// rounding, at most half a bf16 ulp: 2^-8 relative, as bf16 keeps 8
// significant bits (kOneRounding; accumulating in bf16 would miss it by far).
// Against the float32 product of the unrounded operands, the inputs' own
// rounding adds up to 2^-8 relative per term; for the random operands here
// that stays under 3% of the output's largest value (kBf16Scale).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>

#include "ember/ember.h"
#include "ember/ops/autocast.h"
#include "nn/models.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

namespace {

constexpr double kOneRounding = 1.0 / 256;  // half a bf16 ulp, relative
constexpr double kBf16Scale = 3e-2;         // relative to the largest |value|

// Largest |a - b| over all elements, both read as float64.
double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}
double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}
// Each element of `a` within one bf16 rounding of `b`'s (plus a float32 accumulation's slack).
void expect_one_rounding(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  ASSERT_EQ(x.size(), y.size());
  const double slack = 1e-5 * max_abs(b);
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_LE(std::abs(x[i] - y[i]), kOneRounding * std::abs(y[i]) + slack) << "element " << i;
}
Tensor rounded_to_bf16(const Tensor& t) { return t.to(DType::bf16).to(DType::f32); }

// ---- the scope ----

TEST(Autocast, GuardRejectsDtypesThatAreNotLowerPrecision) {
  expect_error<ValueError>([] { AutocastGuard g(DType::f32); }, {"autocast", "bfloat16 or float16", "float32"});
  EXPECT_FALSE(is_autocast_enabled());
}

TEST(Autocast, NestsAndDisablesInside) {
  EXPECT_FALSE(is_autocast_enabled());
  {
    AutocastGuard outer(DType::bf16);
    EXPECT_TRUE(is_autocast_enabled());
    EXPECT_EQ(autocast_dtype(), DType::bf16);
    {
      AutocastGuard off({.enabled = false});
      EXPECT_FALSE(is_autocast_enabled());
      EXPECT_EQ(matmul(randn({2, 3}), randn({3, 4})).dtype(), DType::f32);
      {
        AutocastGuard half(DType::f16);
        EXPECT_EQ(matmul(randn({2, 3}), randn({3, 4})).dtype(), DType::f16);
      }
      EXPECT_FALSE(is_autocast_enabled());
    }
    EXPECT_TRUE(is_autocast_enabled());
    EXPECT_EQ(matmul(randn({2, 3}), randn({3, 4})).dtype(), DType::bf16);
  }
  EXPECT_FALSE(is_autocast_enabled());
  EXPECT_EQ(matmul(randn({2, 3}), randn({3, 4})).dtype(), DType::f32);
}

TEST(Autocast, StateIsPerThread) {
  AutocastGuard g(DType::bf16);
  bool other_thread_enabled = true;
  std::thread([&] { other_thread_enabled = is_autocast_enabled(); }).join();
  EXPECT_FALSE(other_thread_enabled);
}

// ---- the policies ----

TEST(Autocast, MatmulsAndConvolutionsRunInLowerPrecision) {
  const Tensor x = randn({4, 8}), w = randn({5, 8}), b = randn({5});
  const Tensor img = randn({2, 3, 6, 6}), k = randn({4, 3, 3, 3});
  AutocastGuard g(DType::bf16);
  EXPECT_EQ(linear(x, w, b).dtype(), DType::bf16);
  EXPECT_EQ(matmul(x, w.t()).dtype(), DType::bf16);
  EXPECT_EQ(mm(x, w.t()).dtype(), DType::bf16);
  EXPECT_EQ(bmm(randn({2, 4, 8}), randn({2, 8, 3})).dtype(), DType::bf16);
  EXPECT_EQ(addmm(randn({4, 5}), x, w.t()).dtype(), DType::bf16);
  EXPECT_EQ(conv2d(img, k).dtype(), DType::bf16);
  EXPECT_EQ(conv1d(randn({2, 3, 10}), randn({4, 3, 3})).dtype(), DType::bf16);
  EXPECT_EQ(conv_transpose2d(randn({2, 4, 5, 5}), randn({4, 3, 3, 3})).dtype(), DType::bf16);
}

TEST(Autocast, ReductionsNormsAndLossesRunInFloat32) {
  const Tensor h = randn({4, 10}).to(DType::bf16);
  AutocastGuard g(DType::bf16);
  EXPECT_EQ(softmax(h, 1).dtype(), DType::f32);
  EXPECT_EQ(log_softmax(h, 1).dtype(), DType::f32);
  EXPECT_EQ(sum(h).dtype(), DType::f32);
  EXPECT_EQ(mean(h).dtype(), DType::f32);
  EXPECT_EQ(exp(h).dtype(), DType::f32);
  EXPECT_EQ(log(abs(h)).dtype(), DType::f32);
  EXPECT_EQ(layer_norm(h, {10}).dtype(), DType::f32);
  EXPECT_EQ(cross_entropy(h, tensor<int64_t>({0, 1, 2, 3}, DType::i64)).dtype(), DType::f32);
  EXPECT_EQ(mse_loss(h, zeros({4, 10})).dtype(), DType::f32);
}

TEST(Autocast, OtherOpsKeepTheirInputsDtype) {
  const Tensor h = randn({4, 10}).to(DType::bf16);
  AutocastGuard g(DType::bf16);
  EXPECT_EQ(relu(h).dtype(), DType::bf16);
  EXPECT_EQ(max_pool2d(randn({1, 2, 4, 4}).to(DType::bf16), 2).dtype(), DType::bf16);
  EXPECT_EQ(relu(randn({3})).dtype(), DType::f32);                    // float32 stays float32
  EXPECT_EQ(add(h, randn({4, 10})).dtype(), DType::f32);              // mixed: the widest
  EXPECT_EQ(lerp(h, randn({4, 10}), 0.5).dtype(), DType::f32);        // promote policy
  EXPECT_EQ(matmul(randn({2, 3}, DType::f64), randn({3, 2}, DType::f64)).dtype(), DType::f64);  // never cast
}

// ---- gradients reach float32 master weights ----

TEST(Autocast, GradientsReachFloat32WeightsAsFloat32) {
  manual_seed(0);
  nn::Linear fc{16, 8};
  const Tensor x = randn({32, 16});
  const Tensor target = randint(0, 8, {32});
  Tensor loss;
  {
    AutocastGuard g(DType::bf16);
    loss = cross_entropy(fc(x), target);
  }
  EXPECT_EQ(loss.dtype(), DType::f32);
  loss.backward();
  ASSERT_TRUE(fc.weight.grad().defined());
  EXPECT_EQ(fc.weight.dtype(), DType::f32);
  EXPECT_EQ(fc.weight.grad().dtype(), DType::f32);
  EXPECT_EQ(fc.bias.grad().dtype(), DType::f32);

  // The same gradient in float32, within bf16 accuracy.
  const Tensor w_grad = fc.weight.grad().clone(), b_grad = fc.bias.grad().clone();
  fc.weight.set_grad(Tensor());
  fc.bias.set_grad(Tensor());
  cross_entropy(fc(x), target).backward();
  EXPECT_LE(max_abs_diff(w_grad, fc.weight.grad()), kBf16Scale * max_abs(fc.weight.grad()));
  EXPECT_LE(max_abs_diff(b_grad, fc.bias.grad()), kBf16Scale * max_abs(fc.bias.grad()));
}

TEST(Autocast, ConvolutionGradientsReachFloat32Weights) {
  manual_seed(1);
  nn::Conv2d conv{3, 4, 3, {.padding = 1}};
  Tensor x = randn({2, 3, 8, 8}).requires_grad_();
  Tensor y;
  {
    AutocastGuard g(DType::bf16);
    y = conv(x);
  }
  EXPECT_EQ(y.dtype(), DType::bf16);
  sum(square(y.to(DType::f32))).backward();
  EXPECT_EQ(conv.weight.grad().dtype(), DType::f32);
  EXPECT_EQ(conv.bias.grad().dtype(), DType::f32);
  EXPECT_EQ(x.grad().dtype(), DType::f32);
  const Tensor w_grad = conv.weight.grad().clone(), x_grad = x.grad().clone();
  conv.weight.set_grad(Tensor());
  x.set_grad(Tensor());
  sum(square(conv(x))).backward();
  EXPECT_LE(max_abs_diff(w_grad, conv.weight.grad()), kBf16Scale * max_abs(conv.weight.grad()));
  EXPECT_LE(max_abs_diff(x_grad, x.grad()), kBf16Scale * max_abs(x.grad()));
}

// ---- the weight-cast cache ----

// The node that cast `weight` for the lower-precision op that produced `out`.
const autograd::Node* cast_node(const Tensor& out) { return out.grad_fn()->next_edges[1].node.get(); }

TEST(Autocast, WeightCastIsReusedWithinARegionUntilTheWeightChanges) {
  nn::Linear fc{8, 4};
  const Tensor x = randn({2, 8});
  const autograd::Node* first = nullptr;
  {
    AutocastGuard g(DType::bf16);
    const Tensor a = fc(x), b = fc(x);
    first = cast_node(a);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first, cast_node(b));  // one cast for both calls
    {
      autograd::NoGradGuard no_grad;
      fc.weight.add_(1.0);  // an optimizer step: a new version
    }
    const Tensor c = fc(x);
    EXPECT_NE(cast_node(c), first);
    EXPECT_LE(max_abs_diff(c.to(DType::f32), linear(x, fc.weight, fc.bias)), kBf16Scale * max_abs(c.to(DType::f32)));
  }
}

TEST(Autocast, CastUnderNoGradIsNotReusedWithGrad) {
  nn::Linear fc{8, 4};
  const Tensor x = randn({2, 8});
  AutocastGuard g(DType::bf16);
  {
    autograd::NoGradGuard no_grad;
    EXPECT_FALSE(fc(x).requires_grad());
  }
  const Tensor y = fc(x);
  EXPECT_TRUE(y.requires_grad());
  sum(y.to(DType::f32)).backward();
  EXPECT_TRUE(fc.weight.grad().defined());
}

// ---- bf16 arithmetic: products of bf16 values accumulated in float32 ----

TEST(Autocast, Bf16MatmulIsTheFloat32ProductOfTheRoundedOperandsRoundedOnce) {
  manual_seed(2);
  for (auto [m, n, k] : {std::array<int64_t, 3>{1, 1, 1}, {3, 5, 7}, {64, 128, 784}, {128, 10, 128}, {33, 65, 300}}) {
    SCOPED_TRACE(::testing::Message() << m << "x" << n << "x" << k);
    const Tensor a = randn({m, k}), b = randn({k, n});
    const Tensor expected = matmul(rounded_to_bf16(a), rounded_to_bf16(b));
    expect_one_rounding(matmul(a.to(DType::bf16), b.to(DType::bf16)), expected);
    // Transposed and strided operands (no copy for BLAS layouts; packed otherwise).
    expect_one_rounding(matmul(a.t().to(DType::bf16).t(), b.t().to(DType::bf16).t()), expected);
    const Tensor wide = randn({m, 2 * k});
    const Tensor every_other = wide.to(DType::bf16).slice(1, 0, 2 * k, 2);
    expect_one_rounding(matmul(every_other, b.to(DType::bf16)),
                        matmul(rounded_to_bf16(wide).slice(1, 0, 2 * k, 2), rounded_to_bf16(b)));
  }
}

TEST(Autocast, Bf16LinearAndAddmmAddInFloat32) {
  manual_seed(3);
  const Tensor x = randn({16, 32}), w = randn({24, 32}), bias = randn({24}), c = randn({16, 24});
  const Tensor xr = rounded_to_bf16(x), wr = rounded_to_bf16(w), br = rounded_to_bf16(bias), cr = rounded_to_bf16(c);
  expect_one_rounding(linear(x.to(DType::bf16), w.to(DType::bf16), bias.to(DType::bf16)), linear(xr, wr, br));
  expect_one_rounding(addmm(c.to(DType::bf16), x.to(DType::bf16), w.t().to(DType::bf16), 0.5, 2.0),
                      addmm(cr, xr, wr.t(), 0.5, 2.0));
  // Batched, with broadcast batch dims.
  const Tensor a3 = randn({3, 4, 32}), b2 = randn({32, 6});
  expect_one_rounding(matmul(a3.to(DType::bf16), b2.to(DType::bf16)),
                      matmul(rounded_to_bf16(a3), rounded_to_bf16(b2)));
}

TEST(Autocast, Bf16ConvolutionMatchesFloat32OfTheRoundedOperands) {
  manual_seed(4);
  const Tensor x = randn({4, 3, 12, 12}), w = randn({8, 3, 3, 3}), b = randn({8});
  const Tensor xb = x.to(DType::bf16).requires_grad_(), wb = w.to(DType::bf16).requires_grad_();
  const Tensor xr = rounded_to_bf16(x).requires_grad_(), wr = rounded_to_bf16(w).requires_grad_();
  const Conv2dOptions o{.stride = 2, .padding = 1};
  const Tensor y = conv2d(xb, wb, b.to(DType::bf16), o), yr = conv2d(xr, wr, rounded_to_bf16(b), o);
  expect_one_rounding(y, yr);
  // Backward: the same bf16 upstream gradient through both.
  const Tensor g = randn(yr.sizes()).to(DType::bf16);
  y.backward(g);
  yr.backward(g.to(DType::f32));
  expect_one_rounding(xb.grad(), xr.grad());
  expect_one_rounding(wb.grad(), wr.grad());
}

// ---- training ----

// A two-layer MLP on a synthetic task (labels from a random teacher) trained
// with SGD: with autocast the loss curve and accuracy follow float32's.
struct Mlp : nn::Module {
  nn::Linear f1{20, 64}, f2{64, 4};
  EMBER_MODULE(f1, f2)
  Tensor forward(const Tensor& x) { return f2(relu(f1(x))); }
};

struct RunResult {
  double first_loss, last_loss, accuracy;
};

RunResult train_mlp(bool autocast) {
  manual_seed(5);
  const Tensor x = randn({512, 20}), teacher = randn({20, 4});
  const Tensor y = matmul(x, teacher).argmax(1);
  Mlp model;
  optim::SGD opt(model.parameters(), {.lr = 0.2, .momentum = 0.9});
  RunResult r{};
  for (int step = 0; step < 150; ++step) {
    opt.zero_grad();
    Tensor loss;
    {
      AutocastGuard g({.enabled = autocast});
      loss = cross_entropy(model(x), y);
    }
    loss.backward();
    opt.step();
    if (step == 0) r.first_loss = loss.item<double>();
    r.last_loss = loss.item<double>();
  }
  for (const Tensor& p : model.parameters()) EXPECT_EQ(p.dtype(), DType::f32);  // master weights stay float32
  autograd::NoGradGuard no_grad;
  AutocastGuard g({.enabled = autocast});
  r.accuracy = mean(model(x).argmax(1).eq(y).to(DType::f32)).item<double>();
  return r;
}

TEST(Autocast, MlpTrainingConvergesLikeFloat32) {
  const RunResult fp32 = train_mlp(false), bf16 = train_mlp(true);
  EXPECT_NEAR(bf16.first_loss, fp32.first_loss, 2e-2);
  EXPECT_LT(fp32.last_loss, 0.25 * fp32.first_loss);
  EXPECT_LT(bf16.last_loss, 0.25 * bf16.first_loss);
  EXPECT_NEAR(bf16.last_loss, fp32.last_loss, 0.1 * fp32.last_loss + 1e-2);
  EXPECT_NEAR(bf16.accuracy, fp32.accuracy, 0.02);
}

// ---- activation memory ----

struct StepMemory {
  size_t held_for_backward;  // what one forward leaves allocated: the autograd graph's saved values
  size_t step_peak;          // the most allocated at once during forward, backward and the update
};

// One training step of the README CNN (batch 64, Adam), after a first step
// has created the optimizer state.
StepMemory cnn_step_memory(bool autocast) {
  manual_seed(6);
  nn_test::Net net;
  optim::Adam opt(net.parameters(), {.lr = 1e-3});
  const Tensor x = randn({64, 1, 28, 28});
  const Tensor target = randint(0, 10, {64});
  StepMemory m{};
  for (int step = 0; step < 2; ++step) {
    opt.zero_grad();
    const size_t before = cpu_allocator_stats().allocated_bytes;
    cpu_allocator_reset_peak();
    Tensor loss;
    {
      AutocastGuard g({.enabled = autocast});
      loss = cross_entropy(net(x), target);
    }
    m.held_for_backward = cpu_allocator_stats().allocated_bytes - before;
    loss.backward();
    opt.step();
    m.step_peak = cpu_allocator_stats().peak_allocated_bytes - before;
  }
  return m;
}

TEST(Autocast, ShrinksTheCnnActivationMemory) {
  const StepMemory fp32 = cnn_step_memory(false), bf16 = cnn_step_memory(true);
  std::printf("README CNN, batch 64: held for backward float32 %.2f MB, bf16 autocast %.2f MB (%.0f%%); "
              "step peak %.2f MB vs %.2f MB (%.0f%%)\n",
              fp32.held_for_backward / 1e6, bf16.held_for_backward / 1e6,
              100.0 * double(bf16.held_for_backward) / double(fp32.held_for_backward), fp32.step_peak / 1e6,
              bf16.step_peak / 1e6, 100.0 * double(bf16.step_peak) / double(fp32.step_peak));
  // max_pool2d's int64 indices do not shrink, so the total falls by less than half.
  EXPECT_LT(double(bf16.held_for_backward), 0.75 * double(fp32.held_for_backward));
  EXPECT_LT(bf16.step_peak, fp32.step_peak);
}

}  // namespace
