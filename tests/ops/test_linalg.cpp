// Hand-written tests for src/ops/linalg.cpp and src/ops/cpu/gemm.cpp: bad
// arguments raise the right ember::Error naming the op and the offending
// shapes, and the GEMM paths (oneDNN sgemm, the float64/integer loop kernel,
// packed layouts, batch-parallel) agree on sizes larger than the goldens'.
// Values and gradients are checked against PyTorch in cases_linalg.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ember/ember.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

namespace {

// Largest |a - b| / (1 + |b|) over all elements.
double max_rel_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]) / (1 + std::abs(y[i])));
  return worst;
}

// ---- bad input ----

TEST(LinalgErrors, MatmulInnerDimensionsNameBothShapes) {
  expect_error<ShapeError>([] { matmul(zeros({2, 3}), zeros({4, 5})); },
                           {"matmul", "[2, 3]", "[4, 5]", "inner dimensions 3 and 4"});
  expect_error<ShapeError>([] { matmul(zeros({3}), zeros({4})); }, {"matmul", "[3]", "[4]"});
  expect_error<ShapeError>([] { matmul(zeros({2, 2, 3}), zeros({5})); }, {"matmul", "[2, 2, 3]", "[5]"});
}

TEST(LinalgErrors, MatmulRejectsZeroDimOperands) {
  expect_error<ShapeError>([] { matmul(zeros({}), zeros({3})); }, {"matmul", "at least 1 dimension", "[]"});
  expect_error<ShapeError>([] { matmul(zeros({3}), scalar_tensor(2.0)); }, {"matmul", "[3]", "[]"});
}

TEST(LinalgErrors, MatmulBatchDimsMustBroadcast) {
  expect_error<ShapeError>([] { matmul(zeros({2, 3, 4}), zeros({3, 4, 5})); },
                           {"matmul", "[2, 3, 4]", "[3, 4, 5]", "broadcast"});
}

TEST(LinalgErrors, MatmulDTypes) {
  expect_error<DTypeError>([] { matmul(zeros({2, 3}), zeros({3, 2}, DType::f64)); },
                           {"matmul", "same dtype", "float32", "float64"});
  expect_error<DTypeError>([] { matmul(zeros({2, 3}, DType::b8), zeros({3, 2}, DType::b8)); }, {"matmul", "bool"});
}

TEST(LinalgErrors, MmAndBmmRanks) {
  expect_error<ShapeError>([] { mm(zeros({2, 3, 4}), zeros({4, 5})); }, {"mm", "2-D", "[2, 3, 4]"});
  expect_error<ShapeError>([] { mm(zeros({2, 3}), zeros({2, 3})); }, {"mm", "inner dimensions 3 and 2"});
  expect_error<ShapeError>([] { bmm(zeros({3, 4}), zeros({4, 5})); }, {"bmm", "3-D", "[3, 4]"});
  expect_error<ShapeError>([] { bmm(zeros({2, 3, 4}), zeros({1, 4, 5})); },
                           {"bmm", "batch sizes 2 and 1", "does not broadcast"});
  expect_error<DTypeError>([] { bmm(zeros({1, 3, 4}, DType::i64), zeros({1, 4, 5})); }, {"bmm", "int64", "float32"});
}

TEST(LinalgErrors, LinearShapes) {
  expect_error<ShapeError>([] { linear(zeros({2, 3}), zeros({4, 5})); },
                           {"linear", "[2, 3]", "[4, 5]", "in_features 3 and 5"});
  expect_error<ShapeError>([] { linear(zeros({2, 3}), zeros({3})); }, {"linear", "weight must be 2-D", "[3]"});
  expect_error<ShapeError>([] { linear(zeros({}), zeros({4, 1})); }, {"linear", "0-d"});
  expect_error<ShapeError>([] { linear(zeros({2, 3}), zeros({4, 3}), zeros({3})); },
                           {"linear", "bias [3]", "out_features 4"});
  expect_error<DTypeError>([] { linear(zeros({2, 3}), zeros({4, 3}), zeros({4}, DType::f64)); },
                           {"linear", "float64"});
}

TEST(LinalgErrors, Addmm) {
  expect_error<ShapeError>([] { addmm(zeros({3}), zeros({2, 3}), zeros({3, 4})); },
                           {"addmm", "input [3]", "[2, 4]"});
  expect_error<ShapeError>([] { addmm(zeros({2, 4}), zeros({2, 3}), zeros({2, 4})); },
                           {"addmm", "inner dimensions 3 and 2"});
  expect_error<ShapeError>([] { addmm(zeros({2, 4}), zeros({2, 3, 1}), zeros({3, 4})); }, {"addmm", "[2, 3, 1]"});
  expect_error<DTypeError>([] { addmm(zeros({2, 4}, DType::f64), zeros({2, 3}), zeros({3, 4})); },
                           {"addmm", "float64", "float32"});
  expect_error<DTypeError>(
      [] { addmm(zeros({2, 4}, DType::i64), zeros({2, 3}, DType::i64), zeros({3, 4}, DType::i64), 1, 0.5); },
      {"addmm", "alpha 0.5", "integer"});
}

TEST(LinalgErrors, Outer) {
  expect_error<ShapeError>([] { outer(zeros({2, 2}), zeros({3})); }, {"outer", "1-D", "[2, 2]"});
}

TEST(LinalgErrors, EinsumEquations) {
  const Tensor a = zeros({2, 3}), b = zeros({3, 4});
  expect_error<ValueError>([&] { einsum("ij,jk->ik", {a}); }, {"einsum", "'ij,jk->ik'", "2 operand term(s)", "1"});
  expect_error<ValueError>([&] { einsum("ij->ij", {a, b}); }, {"einsum", "'ij->ij'", "1 operand term(s)", "2"});
  expect_error<ValueError>([&] { einsum("i", {}); }, {"einsum", "no operands"});
  expect_error<ValueError>([&] { einsum("i1,jk", {a, b}); }, {"einsum", "'i1,jk'", "invalid subscript '1'"});
  expect_error<ValueError>([&] { einsum("i.j", {a}); }, {"einsum", "'i.j'", "ellipsis"});
  expect_error<ValueError>([&] { einsum("...i...", {a}); }, {"einsum", "more than one ellipsis"});
  expect_error<ValueError>([&] { einsum("ij->i->j", {a}); }, {"einsum", "more than one '->'"});
  expect_error<ValueError>([&] { einsum("ij->k", {a}); }, {"einsum", "'ij->k'", "output subscript 'k'"});
  expect_error<ValueError>([&] { einsum("ij->ii", {a}); }, {"einsum", "'i'", "more than once"});
}

TEST(LinalgErrors, EinsumShapes) {
  const Tensor a = zeros({2, 3}), b = zeros({3, 4});
  expect_error<ShapeError>([&] { einsum("ijk->i", {a}); }, {"einsum", "operand 0", "3 subscript(s)", "[2, 3]"});
  expect_error<ShapeError>([&] { einsum("i...jk->i", {a}); }, {"einsum", "operand 0", "[2, 3]"});
  expect_error<ShapeError>([&] { einsum("ii->i", {a}); }, {"einsum", "'i'", "repeated", "2 != 3"});
  expect_error<ShapeError>([&] { einsum("ij,ik->jk", {a, b}); }, {"einsum", "'i'", "size 3", "size 2"});
  expect_error<DTypeError>([&] { einsum("ij,jk", {a, b.to(DType::f64)}); }, {"einsum", "float32", "float64"});
}

// ---- the GEMM paths agree beyond the goldens' sizes ----

TEST(LinalgKernels, Float64LoopKernelMatchesSgemmAcrossBlocks) {
  // 300 and 270 cross the loop kernel's 256-wide blocks; slicing and
  // transposing force both the strided-A path and B packing.
  const Tensor a = randn({67, 600}, DType::f64).slice(1, {}, {}, 2);
  const Tensor b = randn({270, 300}, DType::f64).t();
  const Tensor want = matmul(a.to(DType::f32), b.to(DType::f32));
  EXPECT_LT(max_rel_diff(matmul(a, b), want), 1e-4);
}

TEST(LinalgKernels, IntegerMatmulIsExact) {
  const Tensor a = randint(-20, 20, {33, 290}), b = randint(-20, 20, {290, 41});
  const Tensor got = matmul(a, b);
  EXPECT_EQ(got.dtype(), DType::i64);
  EXPECT_EQ(max_rel_diff(got, matmul(a.to(DType::f64), b.to(DType::f64))), 0.0);
}

TEST(LinalgKernels, BatchParallelMatchesOneMatrixAtATime) {
  // Many small matrices take the batch-parallel path; broadcasting b (stride 0) too.
  const Tensor a = randn({64, 5, 7}), b = randn({7, 3});
  const Tensor bb = b.expand({64, 7, 3});
  const Tensor got = bmm(a, bb);
  for (int64_t i : {0, 31, 63}) EXPECT_LT(max_rel_diff(got[i], mm(a[i], b)), 1e-6) << "batch " << i;
}

TEST(LinalgKernels, ThreadCountDoesNotChangeResults) {
  // ember::set_num_threads governs oneDNN's pool too (one OpenMP runtime).
  const Tensor a = randn({200, 300}), b = randn({300, 150});
  const int before = get_num_threads();
  set_num_threads(1);
  const Tensor one = matmul(a, b);
  set_num_threads(std::max(2, before));
  const Tensor many = matmul(a, b);
  set_num_threads(before);
  EXPECT_LT(max_rel_diff(one, many), 1e-5);
}

TEST(LinalgKernels, FusedLinearMatchesMatmulPlusBias) {
  const Tensor w = randn({6, 5}), bias = randn({6});
  // Collapsible leading dims (strided alias) and non-collapsible ones (copied).
  for (const Tensor& x : {randn({3, 4, 5}), randn({4, 3, 5}).permute({1, 0, 2}), randn({3, 4, 10}).slice(2, {}, {}, 2)}) {
    EXPECT_LT(max_rel_diff(linear(x, w, bias), matmul(x, w.t()) + bias), 1e-6) << x.meta_str();
  }
}

TEST(LinalgKernels, EmptyInnerDimensionGivesZeros) {
  const Tensor c = addmm(full({2, 3}, 1.5), zeros({2, 0}), zeros({0, 3}), 2, 7);
  EXPECT_EQ(c.to_vector<float>(), std::vector<float>(6, 3.0f));
  EXPECT_EQ(matmul(zeros({4, 0}, DType::f64), zeros({0, 2}, DType::f64)).to_vector<double>(), std::vector<double>(8, 0.0));
}

}  // namespace
