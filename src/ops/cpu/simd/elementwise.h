#pragma once
// Binary kernels over arrays (src/ops/cpu/simd/elementwise.cpp), the
// float32 kernels of the elementwise ops (Note [Float32 array kernels] in
// src/ops/elementwise.h). Either operand may instead be one value broadcast
// over all n (`scalar` says which); y may alias an array operand.
#include "dispatch.h"

namespace ember::cpu {
enum class ScalarOperand : uint8_t { none, first, second, both };
}

// y = a + alpha * b and y = a - alpha * b, as the Add and Sub functors.
EMBER_SIMD_KERNEL(void, add_f32, (const float* a, const float* b, float* y, int64_t n, ScalarOperand scalar, float alpha))
EMBER_SIMD_KERNEL(void, sub_f32, (const float* a, const float* b, float* y, int64_t n, ScalarOperand scalar, float alpha))
EMBER_SIMD_KERNEL(void, mul_f32, (const float* a, const float* b, float* y, int64_t n, ScalarOperand scalar))
EMBER_SIMD_KERNEL(void, div_f32, (const float* a, const float* b, float* y, int64_t n, ScalarOperand scalar))

// Comparisons, y[i] = a[i] op b[i] as bool.
EMBER_SIMD_KERNEL(void, eq_f32, (const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar))
EMBER_SIMD_KERNEL(void, ne_f32, (const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar))
EMBER_SIMD_KERNEL(void, lt_f32, (const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar))
EMBER_SIMD_KERNEL(void, le_f32, (const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar))
EMBER_SIMD_KERNEL(void, gt_f32, (const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar))
EMBER_SIMD_KERNEL(void, ge_f32, (const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar))

// where: y[i] = condition[i] ? a[i] : b[i], values copied as stored (4- or
// 8-byte elements of any dtype).
EMBER_SIMD_KERNEL(void, where_32, (const bool* condition, const uint32_t* a, const uint32_t* b, uint32_t* y, int64_t n, ScalarOperand scalar))
EMBER_SIMD_KERNEL(void, where_64, (const bool* condition, const uint64_t* a, const uint64_t* b, uint64_t* y, int64_t n, ScalarOperand scalar))
