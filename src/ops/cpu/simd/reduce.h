#pragma once
// Float32 reduction kernels over contiguous arrays (src/ops/cpu/simd/reduce.cpp),
// accumulating in double as Ember's reductions do (src/ops/reduce.cpp).
#include "dispatch.h"

// Sum of x[0..n) in double.
EMBER_SIMD_KERNEL(double, sum_f32, (const float* x, int64_t n))
// Sum of (x[i] - mean)^2 in double: var's second pass.
EMBER_SIMD_KERNEL(double, sum_squared_deviations_f32, (const float* x, int64_t n, double mean))
// acc[c] += x[r * row_stride + c] for r < rows, c < cols: sums down the
// columns of a row-major block (reductions over non-trailing dims).
EMBER_SIMD_KERNEL(void, sum_columns_f32, (const float* x, int64_t rows, int64_t cols, int64_t row_stride, double* acc))
// The largest (Max) or smallest element, NaN if any element is NaN; n >= 1.
EMBER_SIMD_KERNEL(float, max_f32, (const float* x, int64_t n))
EMBER_SIMD_KERNEL(float, min_f32, (const float* x, int64_t n))
