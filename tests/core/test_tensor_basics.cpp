// Core: dtypes and promotion, storage and views, the allocator, the thread
// pool, random numbers and printing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "ember/ember.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

TEST(DType, PromotionFollowsPyTorch) {
  // A few rows of torch.promote_types (the whole table is generated from it).
  EXPECT_EQ(promote_types(DType::i32, DType::f16), DType::f16);
  EXPECT_EQ(promote_types(DType::bf16, DType::f16), DType::f32);
  EXPECT_EQ(promote_types(DType::u8, DType::i8), DType::i16);
  EXPECT_EQ(promote_types(DType::b8, DType::u8), DType::u8);
  EXPECT_EQ(promote_types(DType::i64, DType::f32), DType::f32);
  EXPECT_EQ(promote_types(DType::f32, DType::f64), DType::f64);
}

TEST(DType, ScalarAndTensorPromotion) {
  const Tensor i = tensor({1, 2, 3}, DType::i32);
  EXPECT_EQ((i + 2).dtype(), DType::i32);          // int tensor + int scalar stays int32
  EXPECT_EQ((i + 2.5).dtype(), DType::f32);        // int tensor + float scalar -> default float
  EXPECT_EQ((i / i).dtype(), DType::f32);          // true division of ints -> float
  EXPECT_EQ((tensor({1.f}, DType::f16) + 2.5).dtype(), DType::f16);  // scalar does not widen
  const Tensor b = tensor({true, false});
  EXPECT_EQ((b + b).dtype(), DType::b8);
  EXPECT_EQ((b + 1).dtype(), DType::i64);
  // A 0-d tensor of a higher category keeps its own dtype (only numbers use the default).
  EXPECT_EQ((i + scalar_tensor(1.0, DType::f64)).dtype(), DType::f64);
}

TEST(DType, HalfAndBFloat16RoundToNearestEven) {
  EXPECT_EQ(float(BFloat16(1.0f)), 1.0f);
  EXPECT_EQ(BFloat16(1.00390625f).bits, BFloat16(1.0f).bits);  // halfway: rounds to even
  EXPECT_EQ(float(Half(65504.f)), 65504.f);
  EXPECT_TRUE(std::isinf(float(Half(65520.f))));
  EXPECT_EQ(float(Half(5.9604645e-08f)), 5.9604645e-08f);  // smallest subnormal
  EXPECT_TRUE(std::isnan(float(Half(std::nanf("")))));
  EXPECT_TRUE(std::isnan(float(BFloat16(std::nanf("")))));
}

TEST(Tensor, ViewsShareStorageAndVersion) {
  Tensor x = arange(0, 12, 1, DType::f32).reshape({3, 4});
  Tensor row = x[1];
  Tensor col = x.select(1, 2);
  row.fill_(7);
  EXPECT_EQ(x.to_vector<float>()[4], 7.f);
  EXPECT_EQ(col.to_vector<float>(), (std::vector<float>{2, 7, 10}));
  EXPECT_EQ(x.version(), row.version());
  EXPECT_FALSE(x.t().is_contiguous());
  EXPECT_EQ(x.t().strides(), (Shape{1, 4}));
  EXPECT_EQ(x.slice(1, 0, 4, 2).to_vector<float>(), (std::vector<float>{0, 2, 7, 7, 8, 10}));
}

TEST(Tensor, ZeroDimAndEmpty) {
  Tensor s = scalar_tensor(3.5);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item<double>(), 3.5);
  Tensor e = zeros({0, 5});
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ((e + 1).sizes(), (Shape{0, 5}));
  EXPECT_EQ(e.sum().item<float>(), 0.f);
  expect_error<ValueError>([&] { e.item<float>(); }, "cannot be converted to a scalar");
}

TEST(Tensor, IndexingReadsLikePyTorch) {
  Tensor x = arange(0, 24, 1, DType::f32).reshape({2, 3, 4});
  EXPECT_EQ(x.index({0, Slice(1, None), None}).sizes(), (Shape{2, 1, 4}));
  EXPECT_EQ(x.index({Ellipsis, 1}).sizes(), (Shape{2, 3}));
  EXPECT_EQ(x.index({1, 2, 3}).item<float>(), 23.f);
  Tensor mask = x > 20;
  EXPECT_EQ(x.index({mask}).to_vector<float>(), (std::vector<float>{21, 22, 23}));
  Tensor rows = tensor({int64_t(1), int64_t(0)});
  EXPECT_EQ(x.index({rows, 0, 0}).to_vector<float>(), (std::vector<float>{12, 0}));
  expect_error<IndexError>([&] { x.index({2}); }, "index 2 is out of bounds for dim 0");
}

TEST(Allocator, AlignedAndCached) {
  cpu_allocator_empty_cache();
  const auto before = cpu_allocator_stats();
  for (int i = 0; i < 10; ++i) {
    Tensor t = empty({1000});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % kAlignment, 0u);
  }
  // One system allocation served all ten tensors of the same size.
  EXPECT_LE(cpu_allocator_stats().system_allocations - before.system_allocations, 1u);
}

TEST(Parallel, ThreadCountIsSettable) {
  const int prev = get_num_threads();
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  set_num_threads(prev);
  expect_error<ValueError>([] { set_num_threads(0); }, "at least 1 thread");
}

TEST(Random, PhiloxKnownAnswer) {
  // Random123's kat_vectors: philox4x32 10 rounds, counter 0, key 0.
  const auto b = Philox::block(0, 0, 0);
  EXPECT_EQ(b[0], 0x6627e8d5u);
  EXPECT_EQ(b[1], 0xe169c58du);
  EXPECT_EQ(b[2], 0xbc57ac4cu);
  EXPECT_EQ(b[3], 0x9b00dbd8u);
}

TEST(Random, SameSeedSameNumbersAnyThreadCount) {
  const int prev = get_num_threads();
  auto draw = [](int threads) {
    set_num_threads(threads);
    Generator gen(42);
    return std::vector<std::vector<double>>{
        randn({300000}, DType::f32, &gen).to_vector<double>(), rand({1000}, DType::f64, &gen).to_vector<double>(),
        randint(0, 10, {1000}, DType::i64, &gen).to_vector<double>(),
        randperm(100, DType::i64, &gen).to_vector<double>(),
        bernoulli({1000}, 0.3, DType::f32, &gen).to_vector<double>()};
  };
  const auto one = draw(1);
  const auto two = draw(2);
  set_num_threads(prev);
  EXPECT_EQ(one, two);
  Generator other(43);
  EXPECT_NE(randn({10}, DType::f32, &other).to_vector<float>(), std::vector<float>(one[0].begin(), one[0].begin() + 10));
}

TEST(Random, DistributionsHaveTheRightMoments) {
  Generator gen(7);
  const Tensor n = randn({200000}, DType::f64, &gen);
  EXPECT_NEAR(n.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(ember::std(n).item<double>(), 1.0, 0.01);
  const Tensor u = rand({200000}, DType::f64, &gen);
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 0.01);
  EXPECT_GE(u.min().item<double>(), 0.0);
  EXPECT_LT(u.max().item<double>(), 1.0);
  auto perm = randperm(1000, DType::i64, &gen).to_vector<int64_t>();
  std::sort(perm.begin(), perm.end());
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(perm[size_t(i)], i);
  const Tensor b = bernoulli({100000}, 0.25, DType::f32, &gen);
  EXPECT_NEAR(b.mean().item<double>(), 0.25, 0.01);
  expect_error<ValueError>([&] { randint(5, 5, {3}, DType::i64, &gen); }, "must be greater than low");
}

TEST(Print, LooksLikePyTorch) {
  std::ostringstream a;
  a << tensor({1.f, 2.5f, 3.f, 4.f}).reshape({2, 2});
  EXPECT_EQ(a.str(), "tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]])");
  std::ostringstream b;
  b << tensor({1, 2, 3});
  EXPECT_EQ(b.str(), "tensor([1, 2, 3])");
  std::ostringstream c;
  c << arange(0, 2000, 1, DType::f32);
  EXPECT_NE(c.str().find("..."), std::string::npos);
  std::ostringstream d;
  d << tensor({1.0, 2.0}, DType::f64).requires_grad_();
  EXPECT_NE(d.str().find("dtype=float64, requires_grad=True"), std::string::npos) << d.str();
}

TEST(Tensor, HugeShapesAreAnErrorNotAnOverflow) {
  // Sizes read from files must not overflow the element or byte count, even
  // when another dim is 0 (the strides still multiply the others).
  EXPECT_THROW(empty({int64_t(1) << 40, int64_t(1) << 40}), ShapeError);
  EXPECT_THROW(empty({0, int64_t(1) << 40, int64_t(1) << 40}), ShapeError);
  EXPECT_THROW(empty({int64_t(1) << 61}, DType::f64), ShapeError);
  EXPECT_EQ(empty({0, int64_t(1) << 20}).numel(), 0);
}
