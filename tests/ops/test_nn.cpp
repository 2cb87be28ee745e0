// Bad input to the nn functions raises the right ember::Error naming the op
// and the offending values; dropout is checked statistically (its random
// masks cannot be compared with PyTorch's).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ember/ember.h"
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
  expect_error<IndexError>([&] { cross_entropy(x, tensor({0, 10, 3})); }, {"nll_loss", "target 10", "10 classes"});
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
