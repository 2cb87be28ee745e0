// Hand-written tests for src/ops/index.cpp: bad arguments and out-of-range
// index values raise the right ember::Error naming the op and the offending
// values; in-place indexing; paths the small goldens do not reach (parallel
// scatters with duplicates, gradients PyTorch does not define). Values and
// gradients are checked against PyTorch in cases_index.cpp.
#include <gtest/gtest.h>

#include <string>

#include "ember/ember.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

namespace {

Tensor grid() { return arange(0, 12, 1, DType::f32).reshape({3, 4}); }  // 0..11 in a 3x4 matrix
Tensor longs(std::initializer_list<int64_t> v) { return tensor(v); }

// ---- out-of-range index values (checked in the kernels) ----

TEST(IndexErrors, OutOfRangeIndexNamesOpValueAndSize) {
  const Tensor x = grid();
  expect_error<IndexError>([&] { index_select(x, 1, longs({0, 7})); },
                           {"index_select: index 7 is out of bounds for dim 1 with size 4"});
  expect_error<IndexError>([&] { gather(x, 1, tensor({7, 0}).reshape({1, 2})); },
                           {"gather: index 7 is out of bounds for dim 1 with size 4"});
  expect_error<IndexError>([&] { scatter(x, 0, tensor({3}).reshape({1, 1}), 1.0); },
                           {"scatter: index 3 is out of bounds for dim 0 with size 3"});
  expect_error<IndexError>([&] { scatter(x, 0, tensor({3}).reshape({1, 1}), ones({1, 1})); },
                           {"scatter: index 3 is out of bounds for dim 0 with size 3"});
  expect_error<IndexError>([&] { scatter_add(x, 1, tensor({4}).reshape({1, 1}), ones({1, 1})); },
                           {"scatter_add: index 4 is out of bounds for dim 1 with size 4"});
  expect_error<IndexError>([&] { index_add(x, 0, longs({5}), ones({1, 4})); },
                           {"index_add: index 5 is out of bounds for dim 0 with size 3"});
  expect_error<IndexError>([&] { index(x, {std::nullopt, longs({1, 4})}); },
                           {"index: index 4 is out of bounds for dim 1 with size 4"});
  expect_error<IndexError>([&] { index_put(x, {longs({0, 3})}, ones({4})); },
                           {"index_put: index 3 is out of bounds for dim 0 with size 3"});
  expect_error<IndexError>([&] { embedding(x, longs({1, 3})); },
                           {"embedding: index 3 is out of bounds for dim 0 with size 3"});
  expect_error<IndexError>([&] { take_along_dim(x, tensor({4}).reshape({1, 1}), 1); }, {"index 4", "size 4"});
  expect_error<IndexError>([&] { x.index({longs({9})}); }, {"index 9 is out of bounds for dim 0 with size 3"});
}

TEST(IndexErrors, NegativeIndicesFollowPyTorch) {
  const Tensor x = grid();
  // Advanced indexing counts negative indices from the end...
  EXPECT_EQ(index(x, {longs({-1})}).to_vector<float>(), (std::vector<float>{8, 9, 10, 11}));
  EXPECT_EQ(index(x, {longs({-3})}).to_vector<float>(), (std::vector<float>{0, 1, 2, 3}));
  Tensor y = index_put(x, {longs({-1})}, zeros({4}));
  EXPECT_EQ(y.sum().item<float>(), 0 + 1 + 2 + 3 + 4 + 5 + 6 + 7);
  expect_error<IndexError>([&] { index(x, {longs({-4})}); },
                           {"index: index -4 is out of bounds for dim 0 with size 3"});
  // ...the dim-wise ops do not.
  expect_error<IndexError>([&] { index_select(x, 0, longs({-1})); }, {"index_select: index -1"});
  expect_error<IndexError>([&] { gather(x, 0, tensor({-1}).reshape({1, 1})); }, {"gather: index -1"});
  expect_error<IndexError>([&] { scatter(x, 0, tensor({-1}).reshape({1, 1}), 0.0); }, {"scatter: index -1"});
  expect_error<IndexError>([&] { index_add(x, 0, longs({-1}), ones({1, 4})); }, {"index_add: index -1"});
  expect_error<IndexError>([&] { embedding(x, longs({-1})); }, {"embedding: index -1"});
}

TEST(IndexErrors, FailedIndexPutChangesNothing) {
  Tensor x = grid();
  expect_error<IndexError>([&] { x.index_put_({longs({0, 1, 5})}, 1.0); }, {"index 5"});
  EXPECT_EQ(x.to_vector<float>(), grid().to_vector<float>());
}

// ---- wrong dtypes ----

TEST(IndexErrors, WrongDTypes) {
  const Tensor x = grid();
  const Tensor f = tensor({0.f, 1.f});
  expect_error<DTypeError>([&] { index_select(x, 0, f); },
                           {"index_select: index must be an int64 or int32", "float32"});
  expect_error<DTypeError>([&] { gather(x, 0, f.reshape({1, 2})); }, {"gather: index must be"});
  expect_error<DTypeError>([&] { scatter(x, 1, tensor({0}).reshape({1, 1}), ones({1, 1}, DType::f64)); },
                           {"scatter: expected self and src to have the same dtype", "float32", "float64"});
  expect_error<DTypeError>([&] { scatter(x.to(DType::i64), 1, tensor({0}).reshape({1, 1}), 1.5); },
                           {"scatter: value 1.5", "int64"});
  expect_error<DTypeError>([&] { index_add(x, 0, longs({0}), ones({1, 4}, DType::f64)); },
                           {"index_add: expected self and source to have the same dtype"});
  expect_error<DTypeError>([&] { index_add(x.to(DType::i64), 0, longs({0}), ones({1, 4}, DType::i64), 0.5); },
                           {"index_add: alpha 0.5"});
  expect_error<IndexError>([&] { index(x, {f}); }, {"index: tensors used as indices must be int64, int32 or bool"});
  expect_error<DTypeError>([&] { index_put(x, {longs({0})}, ones({4}, DType::f64)); },
                           {"index_put: expected self and values to have the same dtype"});
  expect_error<DTypeError>([&] { embedding(x, f); }, {"embedding: indices must be"});
  expect_error<DTypeError>([&] { masked_select(x, ones({3, 4})); }, {"masked_select: mask must be a bool tensor"});
  expect_error<DTypeError>([&] { topk(ones({3}, DType::b8), 1); }, {"topk: bool"});
  expect_error<DTypeError>([&] { take_along_dim(x, f); }, {"take_along_dim: indices must be"});
}

// ---- wrong shapes and dims ----

TEST(IndexErrors, WrongShapes) {
  const Tensor x = grid();
  expect_error<ShapeError>([&] { index_select(x, 0, tensor({0, 1}).reshape({1, 2})); },
                           {"index_select: index must be 0-d or 1-d", "[1, 2]"});
  expect_error<ShapeError>([&] { gather(x, 0, longs({0})); }, {"gather: index [1]", "self [3, 4]"});
  expect_error<ShapeError>([&] { gather(x, 1, zeros({4, 1}, DType::i64)); },
                           {"gather: index [4, 1] is larger than self [3, 4] at dim 0"});
  expect_error<ShapeError>([&] { scatter(x, 1, zeros({2, 2}, DType::i64), ones({2, 1})); },
                           {"scatter: index [2, 2] is larger than src [2, 1] at dim 1"});
  expect_error<ShapeError>([&] { scatter_add(x, 1, zeros({2, 2}, DType::i64), ones({2})); },
                           {"scatter_add: src [2] must have as many dims as self [3, 4]"});
  expect_error<ShapeError>([&] { index_add(x, 0, longs({0, 1}), ones({2, 3})); },
                           {"index_add: source [2, 3] must match self [3, 4] apart from dim 0"});
  expect_error<ShapeError>([&] { index_add(x, 0, longs({0, 1}), ones({3, 4})); },
                           {"index_add: number of indices (2) must equal source.size(0) = 3"});
  expect_error<ShapeError>([&] { index(x, {longs({0, 1}), longs({0, 1, 2})}); }, {"index", "[2]", "[3]"});
  expect_error<ShapeError>([&] { index_put(x, {longs({0, 1})}, ones({3})); },
                           {"index_put: values of shape [3] cannot be broadcast", "indexing result of shape [2, 4]"});
  expect_error<IndexError>([&] { index(x, {longs({0}), longs({0}), longs({0})}); },
                           {"index: too many indices for tensor of shape [3, 4]"});
  expect_error<IndexError>([&] { index(x, {ones({4}, DType::b8)}); },
                           {"index: the shape of the mask [4] at index 0 does not match", "[3, 4] at index 0"});
  expect_error<ShapeError>([&] { embedding(ones({4}), longs({0})); }, {"embedding: weight must be 2-d", "[4]"});
  expect_error<IndexError>([&] { embedding(x, longs({0}), 3); }, {"embedding: padding_idx 3 is out of range for 3"});
  expect_error<ShapeError>([&] { take_along_dim(x, longs({0}), 0); },
                           {"take_along_dim: input [3, 4] and indices [1]"});
  expect_error<ShapeError>([&] { masked_select(x, ones({2}, DType::b8)); }, {"masked_select"});
  expect_error<IndexError>([&] { topk(x, 5); }, {"topk: k (5) is out of range for dim 1 with size 4"});
  expect_error<IndexError>([&] { topk(x, -1); }, {"topk: k (-1)"});
}

TEST(IndexErrors, DimOutOfRange) {
  const Tensor x = grid();
  expect_error<IndexError>([&] { index_select(x, 2, longs({0})); }, {"index_select"});
  expect_error<IndexError>([&] { gather(x, -3, zeros({1, 1}, DType::i64)); }, {"gather"});
  expect_error<IndexError>([&] { scatter(x, 2, zeros({1, 1}, DType::i64), 0.0); }, {"scatter"});
  expect_error<IndexError>([&] { index_add(x, 5, longs({0}), ones({1, 4})); }, {"index_add"});
  expect_error<IndexError>([&] { sort(x, 2); }, {"sort"});
  expect_error<IndexError>([&] { topk(x, 1, -3); }, {"topk"});
  expect_error<IndexError>([&] { take_along_dim(x, zeros({1, 1}, DType::i64), 2); }, {"take_along_dim"});
}

TEST(IndexErrors, TensorIndexSyntax) {
  const Tensor x = grid();
  expect_error<IndexError>([&] { x.index({Ellipsis, 0, Ellipsis}); },
                           {"index: an index can only have a single ellipsis"});
  expect_error<IndexError>([&] { x.index({0, 0, 0}); }, {"index: too many indices for tensor of shape [3, 4]"});
  expect_error<IndexError>([&] { x.index({0, 4}); }, {"select: index 4 is out of bounds"});
}

// ---- Tensor::index and index_put_ ----

TEST(TensorIndexing, BasicIndicesAreViews) {
  Tensor x = grid();
  Tensor v = x.index({Slice(1, None), Slice(None, None, 2)});
  EXPECT_EQ(v.sizes(), (Shape{2, 2}));
  EXPECT_EQ(v.impl().storage, x.impl().storage);
  EXPECT_EQ(v.to_vector<float>(), (std::vector<float>{4, 6, 8, 10}));
  EXPECT_EQ(x.index({None, Ellipsis, 1}).sizes(), (Shape{1, 3}));
}

TEST(TensorIndexing, IndexPutInPlace) {
  Tensor x = grid();
  const uint32_t before = x.version();
  x.index_put_({Slice(), longs({0, 3})}, -1.0);
  EXPECT_GT(x.version(), before);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{-1, 1, 2, -1, -1, 5, 6, -1, -1, 9, 10, -1}));
  // Through a view, with values converted to self's dtype.
  x.index_put_({1, longs({1, 2})}, tensor({7, 8}));
  EXPECT_EQ(x.index({1}).to_vector<float>(), (std::vector<float>{-1, 7, 8, -1}));
  // Only basic indices: a copy into the view.
  x.index_put_({Slice(0, 1)}, zeros({4}));
  EXPECT_EQ(x.index({0}).sum().item<float>(), 0);
  // A bool mask.
  x.index_put_({gt(x, 5.0)}, 0.0);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{0, 0, 0, 0, -1, 0, 0, -1, -1, 0, 0, -1}));
}

TEST(TensorIndexing, IndexPutInPlaceRecordsGradient) {
  Tensor w = ones({4}).requires_grad_();
  Tensor v = tensor({2.f, 3.f}).requires_grad_();
  Tensor y = w * 2.0;
  y.index_put_({longs({1, 3})}, v);
  (y * tensor({1.f, 2.f, 3.f, 4.f})).sum().backward();
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{2, 0, 6, 0}));
  EXPECT_EQ(v.grad().to_vector<float>(), (std::vector<float>{2, 4}));
  Tensor leaf = ones({3}).requires_grad_();
  expect_error<AutogradError>([&] { leaf.index_put_({longs({0})}, 5.0); }, {"leaf"});
}

// ---- paths the goldens are too small to reach ----

TEST(IndexKernels, DuplicatesAccumulateOnLargeInputs) {
  const int64_t n = 200000;
  Tensor idx = remainder(arange(n), 3);  // 0, 1, 2, 0, 1, 2, ...
  Tensor counts = index_put(zeros({3}), {idx}, ones({n}), true);
  EXPECT_EQ(counts.to_vector<float>(), (std::vector<float>{66667, 66667, 66666}));
  Tensor added = index_add(zeros({3, 2}, DType::f64), 0, idx, ones({n, 2}, DType::f64));
  EXPECT_EQ(added.select(1, 1).to_vector<double>(), (std::vector<double>{66667, 66667, 66666}));
  Tensor scattered = scatter_add(zeros({4, 3}), 1, remainder(arange(4 * n), 3).reshape({4, n}), ones({4, n}));
  // 800000 positions counted by residue.
  EXPECT_EQ(scattered.sum(Shape{0}).to_vector<float>(), (std::vector<float>{266667, 266667, 266666}));
}

TEST(IndexKernels, SortsLargeRows) {
  Tensor x = randn({64, 1000});
  ValuesIndices r = sort(x, 1, true);
  Tensor v = r.values;
  EXPECT_TRUE(all(ge(v.slice(1, {}, -1), v.slice(1, 1, {}))).item<bool>());
  EXPECT_EQ(gather(x, 1, r.indices).to_vector<float>(), v.to_vector<float>());
}

TEST(IndexKernels, ScatterGradientForSrcLargerThanIndex) {
  // PyTorch raises here; Ember returns zeros for the src elements no index reaches.
  Tensor x = randn({3, 4}, DType::f64).requires_grad_();
  Tensor src = randn({3, 5}, DType::f64).requires_grad_();
  Tensor idx = tensor({0, 3, 2, 1}).reshape({2, 2});
  auto fn = [&](const TensorList& in) -> TensorList { return {scatter(in[0], 1, idx, in[1])}; };
  EXPECT_EQ(autograd::gradcheck(fn, {x, src}), "");
  EXPECT_EQ(autograd::gradgradcheck(fn, {x, src}), "");
}

}  // namespace
