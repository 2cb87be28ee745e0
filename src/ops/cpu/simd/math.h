#pragma once
// Array math kernels over contiguous float arrays (src/ops/cpu/simd/math.cpp).
#include "dispatch.h"

EMBER_SIMD_KERNEL(void, exp_f32, (const float* x, float* y, int64_t n))
