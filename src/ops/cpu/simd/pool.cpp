// The 2x2 max-pooling kernel, one copy per CPU capability (see pool.h).
#include "pool.h"

namespace ember::cpu::EMBER_CPU_NS {
namespace {

// GCC emulates the gathers below with scalar loads (it emits no gather
// instructions for generic tuning), and at 512 bits that costs more than at
// 256: measured on the CNN's first pool (64 x 32 x 28 x 28), 0.59 against
// 0.75 ms, one thread. noinline: inlined into its caller, the loop would be
// vectorized at the caller's width.
#define EMBER_GATHER_LOOP __attribute__((noinline, target("prefer-vector-width=256")))

// Branch-free selects over gathered window corners, so the plane loop
// vectorizes. Without indices (inference) the index stores are compiled out.
template <class T, bool kIndices>
EMBER_GATHER_LOOP void max_pool_2x2(const T* __restrict x, int64_t planes, int64_t plane_in, int64_t w,
                                    const int32_t* __restrict window, int64_t plane_out, T* __restrict y,
                                    int64_t* __restrict index) {
  const int32_t w32 = int32_t(w);
  for (int64_t p = 0; p < planes; ++p) {
    const T* __restrict xp = x + p * plane_in;
    T* __restrict yp = y + p * plane_out;
    int64_t* __restrict ip = kIndices ? index + p * plane_out : nullptr;
    for (int64_t o = 0; o < plane_out; ++o) {
      const int32_t top_left = window[o];
      const T v0 = xp[top_left], v1 = xp[top_left + 1], v2 = xp[top_left + w32], v3 = xp[top_left + w32 + 1];
      T best = v0;
      int32_t k = 0;
      bool take = v1 > best || v1 != v1;
      best = take ? v1 : best;
      k = take ? 1 : k;
      take = v2 > best || v2 != v2;
      best = take ? v2 : best;
      k = take ? w32 : k;
      take = v3 > best || v3 != v3;
      best = take ? v3 : best;
      k = take ? w32 + 1 : k;
      yp[o] = best;
      if constexpr (kIndices) ip[o] = top_left + k;
    }
  }
}

#undef EMBER_GATHER_LOOP

}  // namespace

void max_pool_2x2_f32(const float* x, int64_t planes, int64_t plane_in, int64_t w, const int32_t* window,
                      int64_t plane_out, float* y, int64_t* index) {
  if (index) max_pool_2x2<float, true>(x, planes, plane_in, w, window, plane_out, y, index);
  else max_pool_2x2<float, false>(x, planes, plane_in, w, window, plane_out, y, index);
}
void max_pool_2x2_f64(const double* x, int64_t planes, int64_t plane_in, int64_t w, const int32_t* window,
                      int64_t plane_out, double* y, int64_t* index) {
  if (index) max_pool_2x2<double, true>(x, planes, plane_in, w, window, plane_out, y, index);
  else max_pool_2x2<double, false>(x, planes, plane_in, w, window, plane_out, y, index);
}

}  // namespace ember::cpu::EMBER_CPU_NS
