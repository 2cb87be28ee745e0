#pragma once
// Row kernels of the nn op family (src/ops/nn.cpp) over one contiguous float
// row of n > 0 elements, one copy per CPU capability (Note [Per-capability
// kernels] in dispatch.h). The callers split the rows across threads.
#include "dispatch.h"

// y = softmax(x) and y = log_softmax(x), the row maximum subtracted before exp.
EMBER_SIMD_KERNEL(void, softmax_row_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, log_softmax_row_f32, (const float* x, float* y, int64_t n))
// The gradients given the forward output y and its gradient g:
// softmax: gx = y * (g - sum(g * y)); log_softmax: gx = g - exp(y) * sum(g).
EMBER_SIMD_KERNEL(void, softmax_backward_row_f32, (const float* g, const float* y, float* gx, int64_t n))
EMBER_SIMD_KERNEL(void, log_softmax_backward_row_f32, (const float* g, const float* y, float* gx, int64_t n))

// log(sum(exp(x))), the row maximum subtracted before exp.
EMBER_SIMD_KERNEL(float, logsumexp_row_f32, (const float* x, int64_t n))
// sum((x - shift) * w), or sum(x - shift) when w is null.
EMBER_SIMD_KERNEL(float, shifted_weighted_sum_row_f32, (const float* x, float shift, const float* w, int64_t n))
// The cross-entropy gradient of one sample before its target's term:
// gx = exp(x - lse) * prob_scale - uniform_scale * (w ? w : 1).
EMBER_SIMD_KERNEL(void, cross_entropy_backward_row_f32,
                  (const float* x, float lse, float prob_scale, const float* w, float uniform_scale, float* gx,
                   int64_t n))

// layer_norm of one row: y = (x - mean) * rstd * w + b (w, b may be null).
EMBER_SIMD_KERNEL(void, layer_norm_row_f32,
                  (const float* x, const float* w, const float* b, float* y, int64_t n, float eps))
// Its gradient: writes dx and adds g * xhat to dw_sum and g to db_sum (the
// caller reduces those over rows). The statistics are recomputed from x,
// which is already in cache, rather than saved by the forward pass.
EMBER_SIMD_KERNEL(void, layer_norm_backward_row_f32,
                  (const float* g, const float* x, const float* w, float* dx, float* dw_sum, float* db_sum, int64_t n,
                   float eps))
