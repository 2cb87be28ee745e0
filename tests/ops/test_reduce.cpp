// Hand-written tests for src/ops/reduce.cpp: bad arguments raise the right
// ember::Error naming the op and the offending values, and long reductions
// are exact and independent of the thread count. Values and gradients are
// checked against PyTorch in cases_reduce.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

// A run of middle dims is summed down contiguous columns (no transposing
// copy); the result matches summing the same values laid out as rows.
TEST(ReduceLong, MiddleDimReductionMatchesRowSums) {
  for (DType dt : {DType::f32, DType::f64, DType::i32}) {
    const Tensor x = to_dtype(mul(randn({3, 4, 65, 33}, DType::f64), 100), dt);
    for (const Shape& dims : {Shape{1}, Shape{1, 2}, Shape{0, 1}, Shape{0, 1, 2}}) {
      Shape perm;
      for (int64_t d = 0; d < 4; ++d)
        if (std::find(dims.begin(), dims.end(), d) == dims.end()) perm.push_back(d);
      perm.insert(perm.end(), dims.begin(), dims.end());
      const Tensor rows = x.permute(perm).contiguous();
      Shape row_dims;
      for (size_t i = 0; i < dims.size(); ++i) row_dims.push_back(4 - int64_t(dims.size()) + int64_t(i));
      const Tensor by_cols = to_dtype(sum(x, dims), DType::f64), by_rows = to_dtype(sum(rows, row_dims), DType::f64);
      const Tensor means_cols = to_dtype(mean(to_dtype(x, DType::f32), dims), DType::f64);
      const Tensor means_rows = to_dtype(mean(to_dtype(rows, DType::f32), row_dims), DType::f64);
      ASSERT_EQ(by_cols.sizes(), by_rows.sizes());
      const std::vector<double> c = by_cols.to_vector<double>(), r = by_rows.to_vector<double>();
      const std::vector<double> mc = means_cols.to_vector<double>(), mr = means_rows.to_vector<double>();
      for (size_t i = 0; i < c.size(); ++i) {
        EXPECT_NEAR(c[i], r[i], 1e-9 * std::max(1.0, std::abs(r[i]))) << dt << " dims " << shape_str(dims);
        EXPECT_NEAR(mc[i], mr[i], 1e-6 * std::max(1.0, std::abs(mr[i]))) << dt << " dims " << shape_str(dims);
      }
    }
  }
}

// The float32 max/min kernels: NaN anywhere gives NaN, infinities and signed
// values are handled, for lengths around the vector widths.
TEST(ReduceLong, Float32ExtremesOverTailsAndNaN) {
  for (int64_t n : {1, 15, 17, 33, 1023, 70001}) {
    const Tensor x = randn({n}, DType::f32);
    const std::vector<float> v = x.to_vector<float>();
    EXPECT_EQ(max(x).item<float>(), *std::max_element(v.begin(), v.end())) << n;
    EXPECT_EQ(min(x).item<float>(), *std::min_element(v.begin(), v.end())) << n;
    EXPECT_EQ(amax(reshape(x, {1, n}), {1}).item<float>(), *std::max_element(v.begin(), v.end())) << n;
    Tensor with_nan = x.clone();
    with_nan.data_ptr<float>()[n - 1] = std::nanf("");
    EXPECT_TRUE(std::isnan(max(with_nan).item<float>())) << n;
    EXPECT_TRUE(std::isnan(min(with_nan).item<float>())) << n;
    Tensor with_inf = x.clone();
    with_inf.data_ptr<float>()[n / 2] = -std::numeric_limits<float>::infinity();
    EXPECT_EQ(min(with_inf).item<float>(), -std::numeric_limits<float>::infinity()) << n;
  }
}

}  // namespace
