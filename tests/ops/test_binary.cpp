// Bad input to the binary ops (src/ops/binary.cpp) and the in-place methods
// (src/ops/inplace.cpp): each failure raises the right ember::Error subclass
// with a message naming the op and the offending values. Values of the ops
// themselves are checked against PyTorch in cases_binary.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ember/ember.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

namespace {

Tensor f32(std::initializer_list<float> v) { return tensor(v); }
std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

}  // namespace

// ---- out-of-place errors ----

TEST(BinaryErrors, BroadcastMismatchNamesOpAndShapes) {
  const Tensor a = zeros({2, 3}), b = zeros({4});
  expect_error<ShapeError>([&] { add(a, b); }, {"add", "[2, 3]", "[4]"});
  expect_error<ShapeError>([&] { pow(a, b); }, {"pow", "[2, 3]"});
  expect_error<ShapeError>([&] { maximum(a, b); }, {"maximum"});
  expect_error<ShapeError>([&] { lt(a, b); }, {"lt"});
  expect_error<ShapeError>([&] { logical_xor(a, b); }, {"logical_xor"});
  expect_error<ShapeError>([&] { where(zeros({2, 3}, DType::b8), a, b); }, {"where", "[4]"});
  expect_error<ShapeError>([&] { lerp(a, b, 0.5); }, {"lerp"});
}

TEST(BinaryErrors, UndefinedInput) {
  expect_error<ValueError>([] { atan2(Tensor{}, zeros({2})); }, {"atan2", "undefined"});
  expect_error<ValueError>([] { eq(zeros({2}), Tensor{}); }, {"eq", "input 1"});
  expect_error<ValueError>([] { masked_fill(zeros({2}), Tensor{}, 1); }, {"masked_fill", "undefined"});
}

TEST(BinaryErrors, UnsupportedDTypes) {
  const Tensor b = tensor({true, false});
  expect_error<DTypeError>([&] { pow(b, b); }, {"pow", "bool"});
  expect_error<DTypeError>([&] { remainder(b, b); }, {"remainder", "bool"});
  expect_error<DTypeError>([&] { sub(b, b); }, {"sub", "bool"});
  expect_error<DTypeError>([&] { div(b, b, "floor"); }, {"div", "bool"});
  expect_error<DTypeError>([] { add(tensor({1, 2}), tensor({1, 2}), 0.5); }, {"add", "alpha", "0.5"});
}

TEST(BinaryErrors, IntegerEdgeCases) {
  expect_error<ValueError>([] { pow(tensor({2, 3}), -1); }, {"pow", "negative integer powers", "-1"});
  // A tensor exponent follows integer-power semantics instead (1/2 truncates to 0).
  EXPECT_EQ(pow(tensor({2, -1}), tensor({-1, -3})).to_vector<int64_t>(), (std::vector<int64_t>{0, -1}));
  expect_error<ValueError>([] { remainder(tensor({3, 4}), tensor({1, 0})); }, {"remainder", "division by zero"});
  expect_error<ValueError>([] { div(tensor({3, 4}), tensor({0, 1}), "trunc"); }, {"div", "division by zero"});
  expect_error<ValueError>([] { div(zeros({2}), zeros({2}), "round"); }, {"div", "rounding_mode", "round"});
  // Floats follow IEEE instead of raising.
  EXPECT_TRUE(std::isnan(remainder(f32({3}), f32({0})).item<float>()));
}

TEST(BinaryErrors, WhereCondition) {
  expect_error<DTypeError>([] { where(tensor({1, 0}), zeros({2}), ones({2})); }, {"where", "bool", "int64"});
}

TEST(BinaryErrors, MaskedFill) {
  const Tensor x = zeros({2, 3});
  expect_error<DTypeError>([&] { masked_fill(x, tensor({1, 0, 1}), 1.0); }, {"masked_fill", "boolean", "int64"});
  expect_error<ShapeError>([&] { masked_fill(x, tensor({true, false, true}), f32({1})); },
                           {"masked_fill", "0-dimensional", "[1]"});
  expect_error<ShapeError>([&] { masked_fill(x, zeros({4}, DType::b8), 1.0); }, {"where", "[2, 3]", "[4]"});
}

TEST(BinaryErrors, Lerp) {
  const Tensor a = zeros({3});
  expect_error<DTypeError>([] { lerp(tensor({1, 2}), tensor({3, 4}), 0.5); }, {"lerp", "floating", "int64"});
  expect_error<DTypeError>([&] { lerp(a, zeros({3}, DType::f64), 0.5); }, {"lerp", "`end`", "float64"});
  expect_error<DTypeError>([&] { lerp(a, a, zeros({3}, DType::f64)); }, {"lerp", "`weight`", "float64"});
  // A 0-d weight acts as a number, whatever its dtype (as in PyTorch).
  EXPECT_EQ(values(lerp(a, ones({3}), scalar_tensor(0.25, DType::f64))), (std::vector<float>{0.25f, 0.25f, 0.25f}));
}

// ---- operators ----

TEST(BinaryOperators, ComparisonsAndLogic) {
  const Tensor a = f32({1, 2, 3}), b = f32({3, 2, 1});
  auto bools = [](const Tensor& t) {
    EXPECT_EQ(t.dtype(), DType::b8);
    return t.to_vector<bool>();
  };
  using V = std::vector<bool>;
  EXPECT_EQ(bools(a == b), (V{false, true, false}));
  EXPECT_EQ(bools(a != b), (V{true, false, true}));
  EXPECT_EQ(bools(a < b), (V{true, false, false}));
  EXPECT_EQ(bools(a <= b), (V{true, true, false}));
  EXPECT_EQ(bools(a > b), (V{false, false, true}));
  EXPECT_EQ(bools(a >= b), (V{false, true, true}));
  EXPECT_EQ(bools(a == 2), (V{false, true, false}));
  EXPECT_EQ(bools(a < 2.5), (V{true, true, false}));
  EXPECT_EQ(bools(a > 1), (V{false, true, true}));
  EXPECT_EQ(bools((a < b) || (a > b)), (V{true, false, true}));
  EXPECT_EQ(bools((a <= b) && (a >= b)), (V{false, true, false}));
  EXPECT_EQ(bools(!(a == b)), (V{true, false, true}));
}

TEST(BinaryOperators, ComparisonsAreNotDifferentiable) {
  const Tensor x = f32({1, 2}).requires_grad_();
  EXPECT_FALSE((x < 1.5).requires_grad());
  EXPECT_FALSE(logical_and(x, x).requires_grad());
}

// ---- in-place methods ----

TEST(InPlace, ResultsAndVersionCounter) {
  Tensor x = f32({1, 2, 3});
  uint32_t v = x.version();
  x.add_(f32({1, 1, 1}), 2);
  EXPECT_EQ(values(x), (std::vector<float>{3, 4, 5}));
  EXPECT_GT(x.version(), v);
  v = x.version();
  x.sub_(1).mul_(2).div_(4);
  EXPECT_EQ(values(x), (std::vector<float>{1, 1.5, 2}));
  EXPECT_GE(x.version(), v + 3);
  // Broadcast other, and a wider dtype computed then cast back.
  Tensor m = zeros({2, 2});
  m.add_(f32({1, 2})).mul_(ones({2}, DType::f64) * 3);
  EXPECT_EQ(values(m), (std::vector<float>{3, 6, 3, 6}));
  EXPECT_EQ(m.dtype(), DType::f32);
  v = m.version();
  m.zero_();
  EXPECT_EQ(values(m), (std::vector<float>{0, 0, 0, 0}));
  m.fill_(7.5);
  EXPECT_EQ(values(m), (std::vector<float>{7.5, 7.5, 7.5, 7.5}));
  m.copy_(tensor({1, 2}));  // broadcast + int -> float
  EXPECT_EQ(values(m), (std::vector<float>{1, 2, 1, 2}));
  m.masked_fill_(tensor({true, false}), -1);
  EXPECT_EQ(values(m), (std::vector<float>{-1, 2, -1, 2}));
  EXPECT_EQ(m.version(), v + 4);
}

TEST(InPlace, ViewsShareTheVersionCounter) {
  Tensor base = zeros({2, 3});
  Tensor row = base[1];
  const uint32_t v = base.version();
  row.add_(1);
  EXPECT_EQ(base.version(), v + 1);
  EXPECT_EQ(values(base), (std::vector<float>{0, 0, 0, 1, 1, 1}));
}

TEST(InPlace, ErrorsLeaveTheTensorUnchanged) {
  Tensor i = tensor({1, 2});
  expect_error<DTypeError>([&] { i.div_(2); }, {"div", "float32", "int64"});
  expect_error<DTypeError>([&] { i.mul_(1.5); }, {"mul", "int64"});
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  Tensor x = zeros({3});
  const uint32_t v = x.version();
  expect_error<ShapeError>([&] { x.add_(ones({2, 3})); }, {"add", "[3]", "[2, 3]"});
  expect_error<ShapeError>([&] { x.masked_fill_(zeros({2, 3}, DType::b8), 1); }, {"masked_fill_", "[3]", "[2, 3]"});
  EXPECT_EQ(x.version(), v);
  EXPECT_EQ(values(x), (std::vector<float>{0, 0, 0}));
}

TEST(InPlace, LeafThatRequiresGradIsRejected) {
  Tensor w = f32({1, 2}).requires_grad_();
  expect_error<AutogradError>([&] { w.add_(1); }, {"add", "leaf tensor that requires grad"});
  expect_error<AutogradError>([&] { w.zero_(); }, {"fill_", "leaf"});
  expect_error<AutogradError>([&] { w.copy_(f32({0, 0})); }, {"copy_", "leaf"});
  {
    autograd::NoGradGuard no_grad;  // what optimizers do
    w.sub_(f32({1, 1}));
  }
  EXPECT_EQ(values(w), (std::vector<float>{0, 1}));
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(w.requires_grad());
}

TEST(InPlace, ViewsInAutogradAreRejectedButDetachedAliasesAreNot) {
  Tensor w = f32({1, 2, 3, 4}).requires_grad_();
  Tensor y = w * 2;
  expect_error<NotImplementedError>([&] { y[0].mul_(3); }, {"mul", "view"});
  Tensor alias = w.detach();
  alias.mul_(2);  // no history involved; w sees the new values and version
  EXPECT_EQ(values(w), (std::vector<float>{2, 4, 6, 8}));
}

TEST(InPlace, ModifiedSavedTensorIsDetectedAtBackward) {
  Tensor x = f32({1, 2, 3}).requires_grad_();
  Tensor y = x * 2;
  Tensor z = y * y;  // mul saves y
  y.add_(1);
  expect_error<AutogradError>([&] { z.sum().backward(); },
                              {"modified by an inplace operation", "float32[3]", "mul", "version 1", "version 0"});
}

TEST(InPlace, NonLeafBackpropagatesThroughTheNewValue) {
  Tensor x = f32({1, 2, 3}).requires_grad_();
  Tensor w = f32({0.5, 0.5, 0.5}).requires_grad_();
  Tensor y = x * 2;
  y.mul_(x).add_(w, 3);  // y = 2x^2 + 3w
  EXPECT_FALSE(y.is_leaf());
  y.sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<float>{4, 8, 12}));
  EXPECT_EQ(values(w.grad()), (std::vector<float>{3, 3, 3}));

  // A tensor that did not require grad picks up the history of `other`.
  Tensor v = f32({1, 2}).requires_grad_();
  Tensor s = zeros({2});
  s.sub_(v).div_(4);
  EXPECT_TRUE(s.requires_grad());
  s.sum().backward();
  EXPECT_EQ(values(v.grad()), (std::vector<float>{-0.25, -0.25}));

  // masked_fill_ and copy_ route gradients like their out-of-place forms.
  Tensor a = f32({1, 2, 3}).requires_grad_();
  Tensor b = a * 1;
  b.masked_fill_(tensor({false, true, false}), 0);
  Tensor c = zeros({3});
  c.copy_(b * 5);
  c.sum().backward();
  EXPECT_EQ(values(a.grad()), (std::vector<float>{5, 0, 5}));
}
