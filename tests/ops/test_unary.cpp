// Bad input to unary ops raises the right ember::Error naming the op and the
// offending value; in-place clamp_. Values are checked by tests/ops/cases_unary.cpp.
#include <gtest/gtest.h>

#include "ember/ember.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

namespace {

Tensor bools() { return tensor({true, false}); }
Tensor ints() { return tensor<int64_t>({-1, 2, 3}); }
Tensor floats() { return tensor({-1.5f, 0.25f, 2.0f}); }

TEST(Unary, BoolRejectedByNumericOps) {
  expect_error<DTypeError>([] { abs(bools()); }, {"abs", "bool"});
  expect_error<DTypeError>([] { neg(bools()); }, {"neg", "bool"});
  expect_error<DTypeError>([] { relu(bools()); }, {"relu", "bool"});
  expect_error<DTypeError>([] { floor(bools()); }, {"floor", "bool"});
  expect_error<DTypeError>([] { round(bools()); }, {"round", "bool"});
}

TEST(Unary, ActivationsRejectIntegers) {
  expect_error<DTypeError>([] { gelu(ints()); }, {"gelu", "int64"});
  expect_error<DTypeError>([] { silu(ints()); }, {"silu", "int64"});
  expect_error<DTypeError>([] { elu(ints()); }, {"elu", "int64"});
  expect_error<DTypeError>([] { leaky_relu(bools()); }, {"leaky_relu", "bool"});
  expect_error<DTypeError>([] { softplus(ints()); }, {"softplus", "int64"});
}

TEST(Unary, GeluApproximateMustBeKnown) {
  expect_error<ValueError>([] { gelu(floats(), "erf"); }, {"gelu", "\"erf\""});
}

TEST(Unary, UndefinedInput) {
  expect_error<ValueError>([] { exp(Tensor{}); }, {"exp", "undefined"});
  expect_error<ValueError>([] { sign(Tensor{}); }, {"sign", "undefined"});
}

TEST(Unary, ClampNeedsABound) {
  expect_error<ValueError>([] { clamp(floats(), std::nullopt, std::nullopt); }, {"clamp", "min", "max"});
  expect_error<ValueError>([] { clamp(floats(), Tensor{}, Tensor{}); }, {"clamp", "min", "max"});
}

TEST(Unary, ClampRejectsBoolResult) {
  expect_error<DTypeError>([] { clamp(bools(), true, std::nullopt); }, {"clamp", "bool"});
  expect_error<DTypeError>([] { clamp(bools(), bools(), Tensor{}); }, {"clamp_tensor", "bool"});
}

TEST(Unary, ClampTensorBoundsMustBroadcast) {
  const Tensor x = zeros({2, 3});
  expect_error<ShapeError>([&] { clamp(x, zeros({4}), Tensor{}); }, {"clamp_tensor", "[2, 3]", "[4]"});
}

TEST(Unary, ClampInPlace) {
  Tensor x = floats();
  x.clamp_(-1.0, 1.0);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{-1.0f, 0.25f, 1.0f}));
  Tensor i = ints();
  i.clamp_(0, std::nullopt);
  EXPECT_EQ(i.dtype(), DType::i64);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 3}));
}

// A float bound cannot be written into an integer tensor in place.
TEST(Unary, ClampInPlaceCannotNarrow) {
  Tensor i = ints();
  EXPECT_THROW(i.clamp_(0.5, std::nullopt), DTypeError);
}

TEST(Unary, ClampInPlaceRecordsGradient) {
  Tensor leaf = floats().requires_grad_();
  Tensor y = mul(leaf, 2.0);  // non-leaf: in-place allowed
  y.clamp_(-1.0, 1.0);
  sum(y).backward();
  // y = 2x = {-3, 0.5, 4}: only the middle element is inside the bounds.
  EXPECT_EQ(leaf.grad().to_vector<float>(), (std::vector<float>{0.0f, 2.0f, 0.0f}));
}

}  // namespace
