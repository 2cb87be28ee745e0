// Bad input to the nn functions raises the right ember::Error naming the op
// and the offending values; dropout is checked statistically (its random
// masks cannot be compared with PyTorch's).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "ember/core/cpu.h"
#include "ember/ember.h"
#include "reference.h"
#include "support/capabilities.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

namespace {

TEST(NnErrors, SoftmaxDimOutOfRangeAndIntegerInput) {
  expect_error<IndexError>([] { softmax(zeros({2, 3}), 2); }, {"softmax", "dim 2"});
  expect_error<IndexError>([] { log_softmax(zeros({2, 3}), -3); }, {"log_softmax", "-3"});
  expect_error<DTypeError>([] { softmax(zeros({2, 3}, DType::i64), 1); }, {"softmax", "int64"});
}

TEST(NnErrors, CrossEntropyTargetShape) {
  expect_error<ShapeError>([] { cross_entropy(zeros({4, 5}), zeros({3}, DType::i64)); },
                           {"cross_entropy", "[3]", "[4, 5]", "expected target shape [4]"});
  expect_error<ShapeError>([] { cross_entropy(zeros({2, 5, 3}), zeros({2, 5}, DType::i64)); },
                           {"cross_entropy", "[2, 5]", "[2, 5, 3]", "[2, 3]"});
  // Probability targets must have the input's shape.
  expect_error<ShapeError>([] { cross_entropy(zeros({4, 5}), zeros({4, 4})); }, {"cross_entropy", "[4, 4]", "[4, 5]"});
}

TEST(NnErrors, NllLossTargetShapeAndDType) {
  expect_error<ShapeError>([] { nll_loss(zeros({4, 5}), zeros({4, 2}, DType::i64)); },
                           {"nll_loss", "[4, 2]", "[4, 5]"});
  expect_error<DTypeError>([] { nll_loss(zeros({4, 5}), zeros({4})); }, {"nll_loss", "int64", "float32"});
  expect_error<DTypeError>([] { cross_entropy(zeros({4, 5}), zeros({4}, DType::i32)); }, {"cross_entropy", "int32"});
  expect_error<ShapeError>([] { nll_loss(zeros({4, 5}), zeros({4}, DType::i64), {.weight = ones({4})}); },
                           {"nll_loss", "weight", "[4]", "[5]"});
  expect_error<ShapeError>([] { nll_loss(zeros({}), zeros({}, DType::i64)); }, {"nll_loss", "[]"});
}

TEST(NnErrors, NllLossTargetOutOfBounds) {
  const Tensor x = zeros({3, 10});
  expect_error<IndexError>([&] { nll_loss(x, tensor({1, 12, 3})); }, {"nll_loss: target 12 is out of bounds for 10 classes"});
  expect_error<IndexError>([&] { nll_loss(x, tensor({-1, 2, 3})); }, {"nll_loss", "target -1"});
  expect_error<IndexError>([&] { cross_entropy(x, tensor({0, 10, 3})); },
                           {"cross_entropy_loss", "target 10", "10 classes"});
  // ignore_index may lie outside the class range.
  EXPECT_NO_THROW(nll_loss(x, tensor({-1, 2, 3}), {.ignore_index = -1}));
  EXPECT_NO_THROW(cross_entropy(x, tensor({-100, 2, 3})));
}

TEST(NnErrors, CrossEntropyLabelSmoothingRange) {
  expect_error<ValueError>([] { cross_entropy(zeros({2, 3}), tensor({0, 1}), {.label_smoothing = 1.5}); },
                           {"cross_entropy", "label_smoothing", "1.5"});
}

TEST(NnErrors, LayerNormShapeMismatch) {
  expect_error<ShapeError>([] { layer_norm(zeros({2, 3, 4}), {5}); }, {"layer_norm", "[5]", "[2, 3, 4]"});
  expect_error<ShapeError>([] { layer_norm(zeros({2, 3, 4}), {2, 3}); }, {"layer_norm", "[2, 3]", "[2, 3, 4]"});
  expect_error<ShapeError>([] { layer_norm(zeros({4}), {2, 4}); }, {"layer_norm", "[2, 4]", "[4]"});
  expect_error<ShapeError>([] { layer_norm(zeros({2, 4}), {4}, ones({3})); }, {"layer_norm", "weight", "[3]", "[4]"});
  expect_error<ShapeError>([] { layer_norm(zeros({2, 4}), {4}, {}, ones({4, 1})); },
                           {"layer_norm", "bias", "[4, 1]"});
  expect_error<DTypeError>([] { layer_norm(zeros({2, 4}, DType::i32), {4}); }, {"layer_norm", "int32"});
}

TEST(NnErrors, BatchNormRunningStatSize) {
  Tensor rm = zeros({4}), rv = ones({3});
  expect_error<ShapeError>([&] { batch_norm(randn({2, 3, 5}), rm, rv, {}, {}, true); },
                           {"batch_norm", "running_mean", "[4]", "[3]"});
  expect_error<ShapeError>([&] { batch_norm(randn({2, 3}), zeros({3}), rv, ones({2}), {}, true); },
                           {"batch_norm", "weight", "[2]", "[3]"});
  expect_error<ShapeError>([&] { batch_norm(randn({3}), zeros({3}), rv); }, {"batch_norm", "[3]"});
  expect_error<ValueError>([&] { batch_norm(randn({1, 3}), zeros({3}), rv, {}, {}, true); },
                           {"batch_norm", "more than 1 value per channel", "[1, 3]"});
  expect_error<ValueError>([] { batch_norm(randn({2, 3}), {}, {}); }, {"batch_norm", "evaluation mode"});
}

TEST(NnErrors, RejectedBatchNormLeavesRunningStatsUntouched) {
  Tensor rm = zeros({3}), rv = ones({3});
  EXPECT_THROW(batch_norm(randn({4, 3}), rm, rv, ones({5}), {}, true), ShapeError);
  EXPECT_EQ(rm.to_vector<float>(), std::vector<float>(3, 0.f));
  EXPECT_EQ(rv.to_vector<float>(), std::vector<float>(3, 1.f));
}

TEST(NnErrors, GroupNormGroups) {
  expect_error<ValueError>([] { group_norm(zeros({2, 6, 3}), 4); }, {"group_norm", "6 channels", "4 groups"});
  expect_error<ShapeError>([] { group_norm(zeros({2, 6, 3}), 3, ones({3})); }, {"group_norm", "weight", "[3]"});
}

TEST(NnErrors, DropoutProbabilityOutOfRange) {
  expect_error<ValueError>([] { dropout(ones({3}), 1.5); }, {"dropout", "1.5"});
  expect_error<ValueError>([] { dropout(ones({3}), -0.1); }, {"dropout", "-0.1"});
  expect_error<DTypeError>([] { dropout(ones({3}, DType::i64), 0.5); }, {"dropout", "int64"});
}

TEST(NnErrors, LossShapesAndOptions) {
  expect_error<ShapeError>([] { binary_cross_entropy_with_logits(zeros({3, 2}), zeros({3})); },
                           {"binary_cross_entropy_with_logits", "[3]", "[3, 2]"});
  expect_error<ValueError>([] { smooth_l1_loss(zeros({3}), zeros({3}), Reduction::mean, -1.0); },
                           {"smooth_l1_loss", "beta", "-1"});
}

TEST(NnErrors, AttentionMismatchedShapes) {
  expect_error<ShapeError>([] { scaled_dot_product_attention(zeros({2, 3, 4}), zeros({2, 5, 6}), zeros({2, 5, 4})); },
                           {"scaled_dot_product_attention", "query head dim 4", "key head dim 6", "[2, 3, 4]",
                            "[2, 5, 6]"});
  expect_error<ShapeError>([] { scaled_dot_product_attention(zeros({2, 3, 4}), zeros({2, 5, 4}), zeros({2, 6, 4})); },
                           {"scaled_dot_product_attention", "5 positions", "6"});
  expect_error<ShapeError>([] { scaled_dot_product_attention(zeros({4}), zeros({2, 4}), zeros({2, 4})); },
                           {"scaled_dot_product_attention", "at least 2 dims", "[4]"});
  expect_error<ValueError>(
      [] {
        scaled_dot_product_attention(zeros({3, 4}), zeros({3, 4}), zeros({3, 4}),
                                     {.attn_mask = ones({3, 3}), .is_causal = true});
      },
      {"scaled_dot_product_attention", "is_causal"});
  expect_error<DTypeError>(
      [] { scaled_dot_product_attention(zeros({3, 4}), zeros({3, 4}), zeros({3, 4}), {.attn_mask = ones({3, 3}, DType::i64)}); },
      {"scaled_dot_product_attention", "attn_mask", "int64"});
}

TEST(NnErrors, BackwardOpsCheckTheirArguments) {
  expect_error<ShapeError>(
      [] { call(*find_op("softmax_backward_data"), {zeros({2, 3}), zeros({3, 2})}, {{"dim", int64_t(1)}}); },
      {"softmax_backward_data", "[2, 3]", "[3, 2]"});
  expect_error<DTypeError>(
      [] {
        call(*find_op("log_softmax_backward_data"), {zeros({2, 3}), zeros({2, 3}, DType::f64)}, {{"dim", int64_t(1)}});
      },
      {"log_softmax_backward_data", "float32", "float64"});
  expect_error<ShapeError>(
      [] {
        call(*find_op("layer_norm_backward"), {zeros({2, 4}), zeros({2, 4}), ones({3})},
             {{"normalized_shape", Shape{4}}, {"eps", 1e-5}});
      },
      {"layer_norm_backward", "weight", "[3]", "[4]"});
  const Attrs mean{{"reduction", int64_t(Reduction::mean)}, {"ignore_index", int64_t(-100)}, {"label_smoothing", 0.0}};
  expect_error<ShapeError>(
      [&] {
        call(*find_op("cross_entropy_loss_backward"),
             {zeros({3}), zeros({3, 5}), tensor({0, 1, 2}), {}, ones({}), zeros({3})}, mean);
      },
      {"cross_entropy_loss_backward", "grad_output", "[3]", "[]"});
  expect_error<ValueError>(
      [&] {
        call(*find_op("cross_entropy_loss_backward"), {zeros({}), zeros({3, 5}), tensor({0, 1, 2}), {}, {}, zeros({3})},
             mean);
      },
      {"cross_entropy_loss_backward", "total_weight"});
  expect_error<ShapeError>(
      [&] {
        call(*find_op("cross_entropy_loss_backward"), {zeros({}), zeros({3, 5}), tensor({0, 1, 2}), {}, ones({}), {}},
             mean);
      },
      {"cross_entropy_loss_backward", "logsumexp", "[3]"});
}

// ---- fused kernels: the f32 row kernels (src/ops/cpu/simd/nn.cpp) against the float64 path ----

using ember::testing::for_each_capability;

// f32 results within a few float ulps of the float64 computation at the same
// (f32) point. Ember's float64 path does not use the f32 kernels.
void expect_close_to_f64(const Tensor& actual, const Tensor& expected64, double rtol = 1e-5, double atol = 1e-6) {
  EXPECT_EQ(ember::testing::compare(actual, to_dtype(expected64, DType::f32), {rtol, atol}), "");
}

// Values and gradients of f at x (f32) and at x as float64, for a random upstream gradient.
template <class F>
void expect_f32_matches_f64(const F& f, const Tensor& x, double rtol = 1e-5, double atol = 1e-6) {
  Tensor x32 = x.clone(), x64 = to_dtype(x, DType::f64);
  x32.requires_grad_();
  x64.requires_grad_();
  const Tensor y32 = f(x32), y64 = f(x64);
  expect_close_to_f64(y32, y64, rtol, atol);
  const Tensor g = randn(y32.sizes());
  const Tensor g32 = autograd::grad({y32}, {x32}, {g})[0];
  const Tensor g64 = autograd::grad({y64}, {x64}, {to_dtype(g, DType::f64)})[0];
  expect_close_to_f64(g32, g64, rtol, atol);
}

// Row lengths below, at and around the vector widths, and long enough for
// several summation blocks.
const int64_t kRowLengths[] = {1, 2, 7, 15, 16, 17, 31, 33, 100, 1000, 4097, 9000};

TEST(NnKernels, SoftmaxFamilyAcrossRowLengths) {
  for_each_capability([] {
    for (int64_t n : kRowLengths) {
      SCOPED_TRACE("row length " + std::to_string(n));
      const Tensor x = randn({3, n}) * 8;
      expect_f32_matches_f64([](const Tensor& t) { return softmax(t, -1); }, x);
      expect_f32_matches_f64([](const Tensor& t) { return log_softmax(t, -1); }, x, 1e-5, 1e-5);
    }
  });
}

TEST(NnKernels, SoftmaxOverOtherDims) {
  const Tensor x = randn({4, 37, 5}) * 5;
  for (int64_t dim : {0, 1}) {
    expect_f32_matches_f64([dim](const Tensor& t) { return softmax(t, dim); }, x);
    expect_f32_matches_f64([dim](const Tensor& t) { return log_softmax(t, dim); }, x, 1e-5, 1e-5);
  }
}

TEST(NnKernels, SoftmaxOfLargeMagnitudes) {
  // exp would overflow without the row maximum subtracted first.
  for_each_capability([] {
    const Tensor x = randn({4, 300}) * 1000 + 5e4;
    expect_f32_matches_f64([](const Tensor& t) { return softmax(t, -1); }, x);
    expect_f32_matches_f64([](const Tensor& t) { return log_softmax(t, -1); }, x, 1e-5, 1e-3);
  });
}

TEST(NnKernels, RowsOfMinusInfinityAreNaNAsInPyTorch) {
  for_each_capability([] {
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> values(2 * 21, -inf);
    for (int64_t j = 0; j < 21; ++j) values[size_t(21 + j)] = float(j % 5);
    const Tensor x = tensor(values, {2, 21});
    for (const Tensor& y : {softmax(x, -1), log_softmax(x, -1)}) {
      const auto v = y.to_vector<float>();
      for (int64_t j = 0; j < 21; ++j) {
        EXPECT_TRUE(std::isnan(v[size_t(j)])) << "element " << j;
        EXPECT_TRUE(std::isfinite(v[size_t(21 + j)])) << "element " << 21 + j;
      }
    }
  });
}

TEST(NnKernels, LayerNormAcrossRowLengthsAndOffsets) {
  for_each_capability([] {
    for (int64_t n : kRowLengths) {
      if (n == 1) continue;  // one element normalizes to 0; its gradient is 0 too
      SCOPED_TRACE("row length " + std::to_string(n));
      const Tensor w = randn({n}), b = randn({n});
      // Far from zero the variance needs the two-pass (or Welford) method.
      for (double offset : {0.0, 1e3}) {
        const Tensor x = randn({5, n}) + offset;
        expect_f32_matches_f64(
            [&](const Tensor& t) { return layer_norm(t, {n}, to_dtype(w, t.dtype()), to_dtype(b, t.dtype())); }, x,
            1e-5, 1e-5);
      }
    }
  });
}

TEST(NnKernels, LayerNormBackwardSumsWeightGradientsOverManyRows) {
  // Enough rows for several row blocks and both threads.
  const int64_t rows = 700, n = 129;
  Tensor x = randn({rows, n}), w = randn({n}), b = randn({n});
  Tensor x64 = to_dtype(x, DType::f64), w64 = to_dtype(w, DType::f64), b64 = to_dtype(b, DType::f64);
  for (Tensor* t : {&x, &w, &b, &x64, &w64, &b64}) t->requires_grad_();
  const Tensor g = randn({rows, n});
  for_each_capability([&] {
    const TensorList d32 = autograd::grad({layer_norm(x, {n}, w, b)}, {x, w, b}, {g});
    const TensorList d64 =
        autograd::grad({layer_norm(x64, {n}, w64, b64)}, {x64, w64, b64}, {to_dtype(g, DType::f64)});
    for (size_t i = 0; i < 3; ++i) expect_close_to_f64(d32[i], d64[i], 1e-4, 1e-4);
  });
}

TEST(NnKernels, CrossEntropyAcrossRowLengths) {
  for_each_capability([] {
    for (int64_t classes : {2, 17, 1000}) {
      SCOPED_TRACE(std::to_string(classes) + " classes");
      const Tensor target = randint(0, classes, {6});
      const Tensor weight = rand({classes}) + 0.5;
      for (const CrossEntropyOptions& o : {CrossEntropyOptions{},
                                           CrossEntropyOptions{.reduction = Reduction::none, .label_smoothing = 0.2},
                                           CrossEntropyOptions{.weight = weight, .ignore_index = 0,
                                                               .reduction = Reduction::sum, .label_smoothing = 0.1}}) {
        expect_f32_matches_f64(
            [&](const Tensor& t) {
              CrossEntropyOptions typed = o;
              if (o.weight.defined()) typed.weight = to_dtype(o.weight, t.dtype());
              return cross_entropy(t, target, typed);
            },
            randn({6, classes}) * 10, 1e-5, 1e-5);
      }
    }
  });
}

// ---- dropout ----

TEST(Dropout, DropsAboutPAndScalesTheRest) {
  Generator gen(7);
  const double p = 0.3;
  const auto y = dropout(ones({200000}), p, true, &gen).to_vector<float>();
  int64_t dropped = 0;
  const float scale = float(1.0 / (1.0 - p));
  for (float v : y) {
    if (v == 0) ++dropped;
    else ASSERT_EQ(v, scale);
  }
  // Binomial(200000, 0.3): the standard deviation of the fraction is about 0.001.
  EXPECT_NEAR(double(dropped) / double(y.size()), p, 0.006);
}

TEST(Dropout, DeterministicForASeed) {
  Generator a(42), b(42), c(43);
  const Tensor x = ones({1000});
  const auto ya = dropout(x, 0.5, true, &a).to_vector<float>();
  EXPECT_EQ(ya, dropout(x, 0.5, true, &b).to_vector<float>());
  EXPECT_NE(ya, dropout(x, 0.5, true, &c).to_vector<float>());
  // The generator advances: the next mask differs from the first.
  EXPECT_NE(ya, dropout(x, 0.5, true, &a).to_vector<float>());
}

TEST(Dropout, GradientIsMaskTimesScale) {
  Generator gen(3);
  const double p = 0.4;
  Tensor x = rand({64, 32}, DType::f32, &gen) + 0.5;  // nonzero, so y == 0 exactly where dropped
  x.requires_grad_();
  const Tensor y = dropout(x, p, true, &gen);
  y.backward(ones_like(y));
  const auto yv = y.to_vector<float>(), gv = x.grad().to_vector<float>();
  const float scale = float(1.0 / (1.0 - p));
  for (size_t i = 0; i < yv.size(); ++i) EXPECT_EQ(gv[i], yv[i] == 0 ? 0.f : scale) << "element " << i;
}

TEST(Dropout, EdgeProbabilities) {
  const Tensor x = randn({5, 4});
  EXPECT_TRUE(dropout(x, 0.0, true).is_same(x));
  EXPECT_TRUE(dropout(x, 0.7, false).is_same(x));
  Tensor leaf = randn({5, 4});
  leaf.requires_grad_();
  const Tensor y = dropout(leaf, 1.0, true);
  EXPECT_EQ(y.to_vector<float>(), std::vector<float>(20, 0.f));
  y.backward(ones_like(y));
  EXPECT_EQ(leaf.grad().to_vector<float>(), std::vector<float>(20, 0.f));
}

TEST(Dropout, AttentionDropoutIsSeeded) {
  const Tensor q = randn({2, 3, 4}), k = randn({2, 5, 4}), v = randn({2, 5, 4});
  Generator a(9), b(9);
  const auto ya = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.5, .generator = &a}).to_vector<float>();
  const auto yb = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.5, .generator = &b}).to_vector<float>();
  EXPECT_EQ(ya, yb);
  EXPECT_NE(ya, scaled_dot_product_attention(q, k, v).to_vector<float>());
}

}  // namespace
