// The fused scaled_dot_product_attention (src/ops/attention.cpp) beyond its
// PyTorch goldens (tests/ops/cases_attention.cpp): memory that stays linear
// in the sequence length, reduced precision, empty keys and its errors.
#include <gtest/gtest.h>

#include <cmath>

#include "ember/core/allocator.h"
#include "ember/ember.h"
#include "support/expect_error.h"

using namespace ember;
using ember::testing::expect_error;

namespace {

// The composite (matmul, softmax, matmul) holds at least one [S, S] float
// matrix: 64 MiB at S = 4096. The fused forward and backward keep per-tile
// workspaces, so everything they allocate is a few [S, E] tensors.
TEST(Attention, LongSequenceMemoryStaysLinear) {
  constexpr int64_t kLen = 4096, kDim = 64;
  constexpr size_t kScoreMatrixBytes = size_t(kLen) * kLen * sizeof(float);
  Tensor q = randn({1, kLen, kDim}), k = randn({1, kLen, kDim}), v = randn({1, kLen, kDim});
  for (Tensor* t : {&q, &k, &v}) t->requires_grad_();
  const Tensor grad_out = randn({1, kLen, kDim});
  const size_t before = cpu_allocator_stats().allocated_bytes;
  cpu_allocator_reset_peak();
  for (bool is_causal : {false, true}) {
    const Tensor out = scaled_dot_product_attention(q, k, v, {.is_causal = is_causal});
    const TensorList grads = autograd::grad({out}, {q, k, v}, {grad_out});
    EXPECT_TRUE(std::isfinite(grads[0].abs().sum().item<float>()));
  }
  const size_t peak = cpu_allocator_stats().peak_allocated_bytes - before;
  // Output, logsumexp, three gradients and the workspaces: about 6 MiB.
  EXPECT_LT(peak, kScoreMatrixBytes / 8) << "peak " << peak << " bytes";
}

// bf16/f16 run the float32 kernel and round once.
TEST(Attention, ReducedPrecisionMatchesFloat32) {
  const Tensor q = randn({2, 3, 70, 8}), k = randn({2, 3, 130, 8}), v = randn({2, 3, 130, 8});
  for (DType dt : {DType::bf16, DType::f16}) {
    const Tensor ql = q.to(dt), kl = k.to(dt), vl = v.to(dt);
    const Tensor got = scaled_dot_product_attention(ql, kl, vl, {.is_causal = true});
    ASSERT_EQ(got.dtype(), dt);
    const Tensor want = scaled_dot_product_attention(ql.to(DType::f32), kl.to(DType::f32), vl.to(DType::f32),
                                                     {.is_causal = true})
                            .to(dt);
    EXPECT_EQ(got.to_vector<float>(), want.to_vector<float>()) << dt;
  }
}

// No keys: an empty softmax, so the output is 0 (as PyTorch).
TEST(Attention, NoKeysGivesZeros) {
  const Tensor out = scaled_dot_product_attention(randn({2, 3, 4}), randn({2, 0, 4}), randn({2, 0, 5}));
  EXPECT_EQ(out.sizes(), (Shape{2, 3, 5}));
  EXPECT_EQ(out.to_vector<float>(), std::vector<float>(30, 0.f));
}

TEST(Attention, Errors) {
  const Tensor q = zeros({3, 4}), kv = zeros({5, 4});
  expect_error<DTypeError>([&] { scaled_dot_product_attention(q, kv.to(DType::f64), kv); },
                           {"scaled_dot_product_attention", "float32", "float64"});
  expect_error<DTypeError>([&] { scaled_dot_product_attention(q, kv, kv, {.attn_mask = zeros({3, 5}, DType::f64)}); },
                           {"scaled_dot_product_attention", "attn_mask", "float64"});
  expect_error<ShapeError>([&] { scaled_dot_product_attention(q, kv, kv, {.attn_mask = ones({3, 4}, DType::b8)}); },
                           {"scaled_dot_product_attention", "attn_mask", "[3, 4]", "[3, 5]"});
  expect_error<ShapeError>([] { scaled_dot_product_attention(zeros({2, 3, 4}), zeros({3, 5, 4}), zeros({3, 5, 4})); },
                           {"scaled_dot_product_attention", "[2]", "[3]"});
}

}  // namespace
