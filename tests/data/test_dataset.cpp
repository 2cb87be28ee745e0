// Datasets and collate: indexing, batched gathers, next-token windows, and
// the errors a mismatched example gives.
#include <gtest/gtest.h>

#include "ember/ember.h"

using namespace ember;
using namespace ember::data;

namespace {

TEST(TensorDataset, IndexesDimZero) {
  const TensorDataset ds(arange(0, 12).reshape({6, 2}), arange(10, 16));
  EXPECT_EQ(ds.size(), 6);
  const Example e = ds.get(4);
  EXPECT_EQ(e.input.to_vector<int64_t>(), (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(e.target.item<int64_t>(), 14);
  EXPECT_THROW(ds.get(6), IndexError);
  EXPECT_THROW(ds.get(-1), IndexError);
}

TEST(TensorDataset, GetBatchEqualsCollatedGets) {
  const TensorDataset ds(randn({7, 3, 2}), arange(0, 7));
  const std::vector<int64_t> indices{5, 0, 5, 2};
  const Batch gathered = ds.get_batch(indices);
  std::vector<Example> examples;
  for (const int64_t i : indices) examples.push_back(ds.get(i));
  const Batch stacked = collate(examples);
  EXPECT_EQ(gathered.input.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(gathered.input.to_vector<float>(), stacked.input.to_vector<float>());
  EXPECT_EQ(gathered.target.to_vector<int64_t>(), (std::vector<int64_t>{5, 0, 5, 2}));
  EXPECT_THROW(ds.get_batch(std::vector<int64_t>{1, 7}), IndexError);
}

TEST(TensorDataset, InputOnlyAndBadShapes) {
  const TensorDataset unlabelled(zeros({3, 2}));
  EXPECT_FALSE(unlabelled.get(0).target.defined());
  EXPECT_FALSE(unlabelled.get_batch(std::vector<int64_t>{0, 1}).target.defined());
  EXPECT_THROW(TensorDataset(zeros({3, 2}), zeros({4})), ShapeError);
  EXPECT_THROW(TensorDataset(scalar_tensor(1.0)), ShapeError);
  EXPECT_THROW(TensorDataset(Tensor{}), ValueError);
}

TEST(NextTokenDataset, TargetIsInputShiftedByOne) {
  const NextTokenDataset ds(arange(0, 10), 3);
  EXPECT_EQ(ds.size(), 3);  // 10 tokens: blocks at 0, 3, 6, each needing one more for its target
  const Example e = ds.get(2);
  EXPECT_EQ(e.input.to_vector<int64_t>(), (std::vector<int64_t>{6, 7, 8}));
  EXPECT_EQ(e.target.to_vector<int64_t>(), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_THROW(ds.get(3), IndexError);
  EXPECT_EQ(NextTokenDataset(arange(0, 3), 3).size(), 0);
  EXPECT_THROW(NextTokenDataset(arange(0, 10), 0), ValueError);
  EXPECT_THROW(NextTokenDataset(zeros({10}), 2), DTypeError);
  EXPECT_THROW(NextTokenDataset(arange(0, 10).reshape({2, 5}), 2), ShapeError);
}

TEST(Collate, StacksEachField) {
  const std::vector<Example> examples{{tensor({1.f, 2.f}), scalar_tensor(int64_t(3))},
                                      {tensor({4.f, 5.f}), scalar_tensor(int64_t(6))}};
  const Batch b = collate(examples);
  EXPECT_EQ(b.input.shape(), (Shape{2, 2}));
  EXPECT_EQ(b.input.to_vector<float>(), (std::vector<float>{1, 2, 4, 5}));
  EXPECT_EQ(b.target.to_vector<int64_t>(), (std::vector<int64_t>{3, 6}));
}

TEST(Collate, RejectsMismatchedExamples) {
  const auto message = [](const std::vector<Example>& examples) {
    try {
      collate(examples);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THROW(collate(std::vector<Example>{}), ValueError);
  EXPECT_EQ(message({{zeros({2}), {}}, {zeros({3}), {}}}),
            "collate: example 1 has input float32[3], example 0 has float32[2]");
  EXPECT_EQ(message({{zeros({2}), {}}, {zeros({2}, DType::f64), {}}}),
            "collate: example 1 has input float64[2], example 0 has float32[2]");
  EXPECT_EQ(message({{zeros({2}), zeros({1})}, {zeros({2}), {}}}),
            "collate: example 1 lacks a target, example 0 has one");
  EXPECT_THROW(collate(std::vector<Example>{{zeros({2}), zeros({1})}, {zeros({2}), zeros({2})}}), ShapeError);
}

}  // namespace
