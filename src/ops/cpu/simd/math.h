#pragma once
// Unary float kernels over arrays (src/ops/cpu/simd/math.cpp), y[i] =
// f(x[i]) with f from vec_math.h or a plain expression: the float32 kernels
// of the unary ops (Note [Float32 array kernels] in src/ops/elementwise.h).
// y may alias x.
#include "dispatch.h"

EMBER_SIMD_KERNEL(void, neg_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, abs_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, relu_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, sqrt_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, rsqrt_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, exp_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, log_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, tanh_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, erf_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, sigmoid_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, silu_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, gelu_erf_f32, (const float* x, float* y, int64_t n))
EMBER_SIMD_KERNEL(void, gelu_tanh_f32, (const float* x, float* y, int64_t n))
