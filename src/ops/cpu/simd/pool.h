#pragma once
// The max-pooling kernel for the 2x2, stride-2, unpadded window (the CNN
// case), one copy per CPU capability (Note [Per-capability kernels]). Planes
// [h, w] pool to [oh, ow] with 2 * oh <= h and 2 * ow <= w. A table of flat
// in-plane positions (built once per call by the caller) turns each plane into
// one long loop whatever its width, so short rows (ow = 7) still vectorize.
#include "dispatch.h"

// y[o] = the maximum of the window whose top-left input is window[o],
// index[o] (unless index is null) = its flat position in the plane: the first maximum wins and NaN
// counts as larger than anything (the last NaN wins), as in PyTorch.
// `planes` planes of plane_in inputs and plane_out outputs.
EMBER_SIMD_KERNEL(void, max_pool_2x2_f32,
                  (const float* x, int64_t planes, int64_t plane_in, int64_t w, const int32_t* window,
                   int64_t plane_out, float* y, int64_t* index))
EMBER_SIMD_KERNEL(void, max_pool_2x2_f64,
                  (const double* x, int64_t planes, int64_t plane_in, int64_t w, const int32_t* window,
                   int64_t plane_out, double* y, int64_t* index))
