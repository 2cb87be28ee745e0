// FP32 FMA peak microbenchmark: 16 independent FMA chains per thread, so the
// FMA ports never wait on latency. Compiled with -O3 -march=native (see the
// top-level CMakeLists.txt); AVX-512 when the compiler targets it, else AVX2.
#include <immintrin.h>
#include <omp.h>

#include <cstdint>

namespace bench {

namespace {
#if defined(__AVX512F__)
using V = __m512;
constexpr int kLanes = 16;
inline V vset(float x) { return _mm512_set1_ps(x); }
inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
inline float vsum(V a) {  // (GCC 12's _mm512_reduce_add_ps warns -Wmaybe-uninitialized)
  alignas(64) float t[16];
  _mm512_store_ps(t, a);
  float s = 0;
  for (float x : t) s += x;
  return s;
}
#else
using V = __m256;
constexpr int kLanes = 8;
inline V vset(float x) { return _mm256_set1_ps(x); }
inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
inline float vsum(V a) {
  alignas(32) float t[8];
  _mm256_store_ps(t, a);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif
constexpr int kChains = 16;

float fma_loop(int64_t iters) {
  V acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vset(1.0f + 0.001f * i);
  const V b = vset(0.999999f), c = vset(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = vfma(acc[i], b, c);
  }
  V s = acc[0];
  for (int i = 1; i < kChains; ++i) s = vadd(s, acc[i]);
  return vsum(s);
}
}  // namespace

// Runs `iters` iterations on each of `threads` OpenMP threads; returns the
// FLOPs done in total (2 per lane per FMA). `sink` keeps the result live.
double fma_peak_run(int threads, int64_t iters, float* sink) {
  float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  total += fma_loop(iters);
  *sink += total;
  return 2.0 * kLanes * kChains * double(iters) * threads;
}

// STREAM-like memory bandwidth: copy (a = b) or triad (a = b + s*c) over
// arrays of `bytes` bytes each, split statically over `threads` OpenMP
// threads. Returns the bytes read + written per call (STREAM's counting:
// copy 2 arrays, triad 3; write-allocate traffic not counted).
double stream_run(int threads, bool triad, float* a, const float* b, const float* c, int64_t n) {
  const float s = 0.5f;
  if (triad) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
  } else {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i];
  }
  return (triad ? 3.0 : 2.0) * 4.0 * double(n);
}

const char* fma_peak_isa() {
#if defined(__AVX512F__)
  return "avx512";
#else
  return "avx2";
#endif
}

}  // namespace bench
