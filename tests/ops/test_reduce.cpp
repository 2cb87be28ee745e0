// Hand-written tests for src/ops/reduce.cpp: bad arguments raise the right
// ember::Error naming the op and the offending values, and long reductions
// are exact and independent of the thread count. Values and gradients are
// checked against PyTorch in cases_reduce.cpp.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "ember/ember.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

TEST(ReduceErrors, DimOutOfRange) {
  const Tensor x = zeros({2, 3});
  expect_error<IndexError>([&] { sum(x, {2}); }, {"sum", "dim 2", "[-2, 1]"});
  expect_error<IndexError>([&] { mean(x, {-3}); }, {"mean", "dim -3"});
  expect_error<IndexError>([&] { max(x, 5); }, {"max_dim", "dim 5"});
  expect_error<IndexError>([&] { argmax(x, 2); }, {"argmax", "dim 2"});
  expect_error<IndexError>([&] { cumsum(x, -3); }, {"cumsum", "dim -3"});
  expect_error<IndexError>([&] { prod(x, 2); }, {"prod", "dim 2"});
  expect_error<IndexError>([&] { all(x, 3); }, {"all", "dim 3"});
  expect_error<IndexError>([&] { logsumexp(x, {0, 0}); }, {"logsumexp", "dim 0 appears more than once"});
}

TEST(ReduceErrors, FloatOnlyReductionsRejectIntegers) {
  const Tensor i = arange(6);
  expect_error<DTypeError>([&] { mean(i); }, {"mean", "floating point", "int64"});
  expect_error<DTypeError>([&] { var(i); }, {"var", "int64"});
  expect_error<DTypeError>([&] { ember::std(i); }, {"std", "int64"});
  expect_error<DTypeError>([&] { norm(i); }, {"norm", "int64"});
  expect_error<DTypeError>([&] { argmax(ones({3}, DType::b8)); }, {"argmax", "bool"});
}

TEST(ReduceErrors, NoIdentityOverAnEmptyDim) {
  const Tensor e = zeros({0, 3});
  expect_error<IndexError>([&] { max(e); }, {"max", "empty input", "[0, 3]"});
  expect_error<IndexError>([&] { min(e); }, {"min", "empty input"});
  expect_error<IndexError>([&] { max(e, 0); }, {"max_dim", "reduction dim 0", "non-zero size", "[0, 3]"});
  expect_error<IndexError>([&] { amin(e, {0}); }, {"amin", "reduction dim 0", "non-zero size"});
  expect_error<IndexError>([&] { amax(e); }, {"amax", "reduction dim 0"});
  expect_error<IndexError>([&] { argmax(e); }, {"argmax", "empty input", "[0, 3]"});
  expect_error<IndexError>([&] { argmin(e, 0); }, {"argmin", "reduction dim 0"});
  expect_error<IndexError>([&] { norm(e, kInf, {0}); }, {"norm", "reduction dim 0"});
  // Reductions with an identity accept empty dims.
  EXPECT_EQ(max(e, 1).values.sizes(), Shape{0});
  EXPECT_EQ(sum(e, {0}).to_vector<float>(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(prod(e, 0).to_vector<float>(), (std::vector<float>{1, 1, 1}));
}

TEST(ReduceErrors, UnsupportedNormOrder) {
  expect_error<ValueError>([] { norm(ones({3}), 3); }, {"norm", "p must be 1, 2 or inf", "got 3"});
}

TEST(ReduceErrors, UndefinedInput) {
  expect_error<ValueError>([] { sum(Tensor{}); }, {"sum", "undefined"});
}

// Long rows are summed in fixed chunks whose order does not depend on the
// thread count; integers are exact.
TEST(ReduceLong, SumIsIndependentOfThreadCount) {
  const Tensor x = randn({3 * 65536 + 17}, DType::f32);
  const int threads = get_num_threads();
  set_num_threads(1);
  const float one_thread = sum(x).item<float>();
  const double mean_one = mean(x.to(DType::f64)).item<double>();
  set_num_threads(std::max(threads, 2));
  EXPECT_EQ(sum(x).item<float>(), one_thread);
  EXPECT_EQ(mean(x.to(DType::f64)).item<double>(), mean_one);
  set_num_threads(threads);
  const int64_t n = 300000;
  EXPECT_EQ(sum(arange(n)).item<int64_t>(), n * (n - 1) / 2);
}

TEST(ReduceLong, OuterDimReductionMatchesRowSums) {
  const Tensor x = randn({257, 130}, DType::f64);
  const std::vector<double> by_cols = sum(x, {0}).to_vector<double>();
  const std::vector<double> by_rows = sum(x.t().contiguous(), {1}).to_vector<double>();
  ASSERT_EQ(by_cols.size(), by_rows.size());
  for (size_t i = 0; i < by_cols.size(); ++i) EXPECT_NEAR(by_cols[i], by_rows[i], 1e-12);
}

}  // namespace
