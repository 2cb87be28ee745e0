// Hand-written tests for src/ops/shape.cpp: views alias their base, reshape
// views when it can and copies when it must (as PyTorch), and bad arguments
// raise the right ember::Error naming the op and the offending values.
// Values and gradients are checked against PyTorch in cases_shape.cpp.
#include <gtest/gtest.h>

#include <string>

#include "ember/ember.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

namespace {

bool shares_storage(const Tensor& a, const Tensor& b) { return a.impl().storage == b.impl().storage; }

Tensor grid() { return arange(0, 12, 1, DType::f32).reshape({3, 4}); }  // 0..11 in a 3x4 matrix

// ---- aliasing ----

TEST(ShapeViews, WritesThroughViewsReachTheBase) {
  Tensor x = grid();
  x.view({4, 3}).select(0, 1).fill_(100);      // elements 3, 4, 5
  x.t().select(0, 2).fill_(-1);                // column 2
  x.slice(1, 1, {}, 2).select(0, 2).fill_(7);  // row 2, columns 1 and 3
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{0, 1, -1, 100, 100, 100, -1, 7, 8, 7, -1, 7}));
}

TEST(ShapeViews, ViewsShareStorageAndVersion) {
  const Tensor x = grid();
  for (const Tensor& v : {x.view({12}), x.reshape({2, 6}), x.permute({1, 0}), x.transpose(0, 1), x.t(),
                          x.slice(0, 1, 3), x.narrow(1, 1, 2), x.select(1, 0), x.unsqueeze(0), x.unsqueeze(0).squeeze(),
                          x.flatten(), x.unflatten(1, {2, 2}), x.expand({2, 3, 4}), x[1]}) {
    EXPECT_TRUE(shares_storage(v, x)) << v.meta_str();
  }
  const uint32_t before = x.version();
  x.select(0, 0).fill_(3);
  EXPECT_GT(x.version(), before);
}

TEST(ShapeViews, SplitChunkUnbindReturnViews) {
  const Tensor x = grid();
  for (const Tensor& part : split(x, 2, 1)) EXPECT_TRUE(shares_storage(part, x));
  for (const Tensor& part : chunk(x, 3)) EXPECT_TRUE(shares_storage(part, x));
  TensorList rows = unbind(x);
  ASSERT_EQ(rows.size(), 3u);
  rows[1].fill_(-5);
  EXPECT_EQ(x.select(0, 1).to_vector<float>(), (std::vector<float>{-5, -5, -5, -5}));
}

TEST(ShapeViews, DataMovementOpsCopy) {
  const Tensor x = grid();
  for (const Tensor& y : {cat({x}), stack({x}), flip(x, {0}), roll(x, {0}, {0}), repeat(x, {1, 1}), tile(x, {1}),
                          pad(x, {}), pad(x, {0, 0}, "reflect"), tril(x), triu(x), clone(x)}) {
    EXPECT_FALSE(shares_storage(y, x)) << y.meta_str();
  }
}

TEST(ShapeViews, ReshapeIsAViewWhenPossibleElseACopy) {
  const Tensor x = grid();
  EXPECT_TRUE(shares_storage(x.reshape({6, 2}), x));
  EXPECT_TRUE(shares_storage(x.t().reshape({2, 2, 3}), x));       // splits the stride-1 dim
  EXPECT_TRUE(shares_storage(x.slice(0, 0, 2).reshape({8}), x));  // rows stay contiguous
  Tensor copied = x.t().reshape({12});
  EXPECT_FALSE(shares_storage(copied, x));
  EXPECT_EQ(copied.to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  copied.fill_(0);
  EXPECT_EQ(x.to_vector<float>()[1], 1.f);  // the copy is independent
  EXPECT_FALSE(shares_storage(x.slice(1, 0, 2).reshape({6}), x));
  EXPECT_FALSE(shares_storage(x.t().flatten(), x));
}

TEST(ShapeViews, MinusOneIsInferred) {
  const Tensor x = grid();
  EXPECT_EQ(x.view({-1, 6}).sizes(), (Shape{2, 6}));
  EXPECT_EQ(x.reshape({3, -1, 2}).sizes(), (Shape{3, 2, 2}));
  EXPECT_EQ(x.unflatten(1, {-1, 2}).sizes(), (Shape{3, 2, 2}));
  EXPECT_EQ(x.expand({2, -1, -1}).sizes(), (Shape{2, 3, 4}));
  EXPECT_EQ(zeros({0, 3}).view({-1, 3}).sizes(), (Shape{0, 3}));
  expect_error<ShapeError>([&] { x.view({-1, -1}); }, {"view", "only one dimension can be inferred"});
  expect_error<ShapeError>([&] { x.view({-1, 5}); }, {"view", "[-1, 5]", "[3, 4]"});
  expect_error<ShapeError>([&] { zeros({0, 3}).view({-1, 0}); }, {"view", "[-1, 0]"});
}

// ---- view errors ----

TEST(ShapeErrors, ViewOnIncompatibleStridesSuggestsReshape) {
  const Tensor x = grid();
  expect_error<ShapeError>([&] { x.t().view({12}); }, {"view", "[12]", "[4, 3]", "stride [1, 4]", "reshape"});
}

TEST(ShapeErrors, BadSizes) {
  const Tensor x = grid();
  expect_error<ShapeError>([&] { x.view({5}); }, {"view", "[5]", "[3, 4]"});
  expect_error<ShapeError>([&] { x.reshape({-2, 6}); }, {"reshape", "invalid shape dimension -2"});
  expect_error<ShapeError>([&] { x.expand({3, 5}); }, {"expand", "(5)", "(4)", "dimension 1"});
  expect_error<ShapeError>([&] { x.expand({4}); }, {"expand", "number of sizes provided (1)"});
  expect_error<ShapeError>([&] { x.permute({0}); }, {"permute", "[0]", "2 dims"});
  expect_error<ShapeError>([&] { zeros({2, 3, 4}).t(); }, {"t:", "3"});
}

TEST(ShapeErrors, DimOrIndexOutOfRange) {
  const Tensor x = grid();
  expect_error<IndexError>([&] { x.transpose(0, 2); }, {"transpose", "dim 2"});
  expect_error<IndexError>([&] { x.permute({1, -1}); }, {"permute", "repeats"});
  expect_error<IndexError>([&] { x.select(0, 3); }, {"select", "index 3", "size 3"});
  expect_error<IndexError>([&] { x.select(1, -5); }, {"select", "index -5"});
  expect_error<IndexError>([&] { x.narrow(1, 2, 3); }, {"narrow", "start 2", "length 3", "size 4"});
  expect_error<IndexError>([&] { x.unsqueeze(3); }, {"unsqueeze", "dim 3"});
  expect_error<IndexError>([&] { x.squeeze(-3); }, {"squeeze", "dim -3"});
  expect_error<IndexError>([&] { x.slice(2, 0, 1); }, {"slice", "dim 2"});
  expect_error<IndexError>([&] { scalar_tensor(1.0).select(0, 0); }, {"select", "0-d"});
  expect_error<ValueError>([&] { x.slice(0, 0, 2, 0); }, {"slice", "step", "0"});
  expect_error<ValueError>([&] { x.flatten(1, 0); }, {"flatten", "start_dim"});
}

// ---- cat / stack / split ----

TEST(ShapeErrors, CatMismatchedShapesNamesBothShapesAndTheDim) {
  expect_error<ShapeError>(
      [] {
        cat({zeros({2, 3}), zeros({2, 4})});
      },
      {"cat", "[2, 3]", "[2, 4]", "except in dimension 0", "mismatch at dim 1"});
  expect_error<ShapeError>([] { cat({zeros({2, 3}), zeros({2, 3, 1})}, 1); }, {"cat", "same number of dimensions"});
  expect_error<ShapeError>([] { cat({zeros({2}), scalar_tensor(1.0)}); }, {"cat", "zero-dimensional", "position 1"});
  expect_error<ValueError>([] { cat({}); }, {"cat", "non-empty"});
  expect_error<IndexError>([] { cat({zeros({2, 3}), zeros({2, 3})}, 2); }, {"cat", "dim 2"});
}

TEST(ShapeOps, CatPromotesAndSkipsLegacyEmptyTensors) {
  const Tensor y = cat({ones({2}, DType::i32), zeros({1}, DType::f64)});
  EXPECT_EQ(y.dtype(), DType::f64);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{1, 1, 0}));
  EXPECT_EQ(cat({zeros({0}), ones({2, 2})}, 1).sizes(), (Shape{2, 2}));
}

TEST(ShapeErrors, StackOfDifferentShapes) {
  expect_error<ShapeError>(
      [] {
        stack({zeros({2, 3}), zeros({2, 3}), zeros({3, 2})});
      },
      {"stack", "[2, 3] at entry 0", "[3, 2] at entry 2"});
  expect_error<IndexError>([] { stack({zeros({2, 3})}, 3); }, {"stack", "dim 3"});
  expect_error<ValueError>([] { stack({}); }, {"stack", "non-empty"});
}

TEST(ShapeErrors, SplitChunkUnbind) {
  const Tensor x = grid();
  expect_error<ShapeError>([&] { split(x, Shape{1, 1}); }, {"split", "[1, 1]", "sum to 2", "size 3"});
  expect_error<ValueError>([&] { split(x, Shape{4, -1}); }, {"split", "negative"});
  expect_error<ValueError>([&] { split(x, 0); }, {"split", "split_size", "0"});
  expect_error<IndexError>([&] { split(x, 1, 2); }, {"split", "dim 2"});
  expect_error<ValueError>([&] { chunk(x, 0); }, {"chunk", "0"});
  expect_error<IndexError>([] { unbind(scalar_tensor(1.0)); }, {"unbind", "0-d"});
  EXPECT_EQ(chunk(zeros({0, 2}), 3).size(), 3u);  // PyTorch: `chunks` empty pieces
  EXPECT_EQ(split(zeros({0, 2}), 2).size(), 1u);
}

// ---- flip / roll / repeat / pad / tril ----

TEST(ShapeErrors, FlipRollRepeat) {
  const Tensor x = grid();
  expect_error<IndexError>([&] { flip(x, {2}); }, {"flip", "dim 2"});
  expect_error<IndexError>([&] { flip(x, {0, -2}); }, {"flip", "more than once"});
  expect_error<ValueError>([&] { roll(x, {1, 2}, {0}); }, {"roll", "[1, 2]", "[0]"});
  expect_error<ValueError>([&] { roll(x, {1, 2}); }, {"roll", "one value"});
  expect_error<IndexError>([&] { roll(x, {1}, {-3}); }, {"roll", "dim -3"});
  expect_error<ShapeError>([&] { repeat(x, {2}); }, {"repeat", "(1)", "(2)"});
  expect_error<ValueError>([&] { repeat(x, {2, -1}); }, {"repeat", "negative"});
}

TEST(ShapeErrors, Pad) {
  const Tensor x = zeros({2, 3});
  expect_error<ShapeError>([&] { pad(x, {3, 1}, "reflect"); }, {"pad", "reflect", "(3, 1)", "size 3"});
  expect_error<ShapeError>([&] { pad(x, {1, 0, 2, 0}, "reflect"); }, {"pad", "reflect", "dim 0", "size 2"});
  expect_error<ShapeError>([&] { pad(zeros({2, 0}), {1, 0}, "replicate"); }, {"pad", "replicate", "[2, 0]"});
  expect_error<ValueError>([&] { pad(x, {1, 2, 3}); }, {"pad", "even", "[1, 2, 3]"});
  expect_error<ShapeError>([&] { pad(x, {1, 1, 1, 1, 1, 1}); }, {"pad", "[2, 3]", "2 dims"});
  expect_error<ShapeError>([&] { pad(x, {-2, -2}); }, {"pad", "size 3", "(-2, -2)", "negative"});
  expect_error<ValueError>([&] { pad(x, {1, 1}, "circular"); }, {"pad", "circular"});
  expect_error<ValueError>([&] { pad(x, {1, 1}, "reflect", 2.0); }, {"pad", "value"});
}

TEST(ShapeErrors, TriangleNeedsAMatrix) {
  expect_error<ShapeError>([] { tril(zeros({3})); }, {"tril", "at least 2", "[3]"});
  expect_error<ShapeError>([] { triu(scalar_tensor(1.0)); }, {"triu", "[]"});
}

TEST(ShapeOps, BadCallsChangeNothing) {
  Tensor x = grid();
  const uint32_t before = x.version();
  EXPECT_THROW(cat({x, zeros({2, 5})}), ShapeError);
  EXPECT_THROW(pad(x, {9, 9}, "reflect"), ShapeError);
  EXPECT_EQ(x.version(), before);
  EXPECT_EQ(x.to_vector<float>(), grid().to_vector<float>());
}

}  // namespace
