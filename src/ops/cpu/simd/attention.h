#pragma once
// Row kernels of the fused attention (src/ops/attention.cpp) on score tiles:
// `rows` rows of `cols` scores, row r at scores + r * ld. The tile's GEMMs run
// on oneDNN; these are the elementwise passes between them. float32 is the
// fast path; the float64 copies serve float64 attention and its gradcheck.
#include "dispatch.h"

// See Note [Online softmax] in src/ops/attention.cpp. For each row: raises
// row_max[r] to the tile's maximum, replaces the scores by exp(score - max),
// rescales row_sum[r] and the row's output accumulator acc[r * acc_ld, + value_dim)
// by exp(old max - new max), and adds the row's exponentials to row_sum[r].
#define EMBER_ATTENTION_ROW_KERNELS(T, suffix)                                                                  \
  EMBER_SIMD_KERNEL(void, attention_online_softmax_##suffix,                                                    \
                    (T * scores, int64_t rows, int64_t cols, int64_t ld, T* row_max, T* row_sum, T* acc,          \
                     int64_t acc_ld, int64_t value_dim))                                                        \
  /* Backward: scores become probabilities exp(score - logsumexp[r]). */                                        \
  EMBER_SIMD_KERNEL(void, attention_probs_##suffix,                                                             \
                    (T * scores, int64_t rows, int64_t cols, int64_t ld, const T* logsumexp))                   \
  /* Backward: grad_probs becomes the scores' gradient probs * (grad_probs - delta[r]). */                     \
  EMBER_SIMD_KERNEL(void, attention_score_grads_##suffix,                                                       \
                    (const T* probs, T* grad_probs, int64_t rows, int64_t cols, int64_t ld, const T* delta))
EMBER_ATTENTION_ROW_KERNELS(float, f32)
EMBER_ATTENTION_ROW_KERNELS(double, f64)
#undef EMBER_ATTENTION_ROW_KERNELS
