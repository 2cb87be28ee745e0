// Float32 reduction kernels, one copy per CPU capability (Note [Per-capability kernels]).
#include "reduce.h"

#include <algorithm>
#include <limits>

namespace ember::cpu::EMBER_CPU_NS {

namespace {
// sum of f(x[i]) in double over kLanes independent accumulators (four
// AVX-512 registers, so additions overlap instead of waiting on one chain),
// combined pairwise at the end.
template <class F>
double sum_lanes(const float* x, int64_t n, F f) {
  constexpr int kLanes = 32;
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += f(double(x[i + k]));
  for (int k = 0; i < n; ++i, ++k) acc[k] += f(double(x[i]));
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int k = 0; k < width; ++k) acc[k] += acc[k + width];
  return acc[0];
}

// NaN-propagating extreme over kLanes independent lanes: a lane takes v when
// `better` says so or v is NaN, and nothing replaces a NaN (every comparison
// with it is false), so a NaN anywhere comes out. Both comparisons are
// evaluated unconditionally (`|`) so the loop stays a vector select.
template <class Better>
float extreme(const float* x, int64_t n, Better better) {
  constexpr int kLanes = 32;
  auto take = [&](float v, float best) { return (better(v, best) | (v != v)) ? v : best; };
  float best[kLanes];
  std::fill(best, best + kLanes, x[0]);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) best[k] = take(x[i + k], best[k]);
  for (int k = 0; i < n; ++i, ++k) best[k] = take(x[i], best[k]);
  float result = best[0];
  for (int k = 1; k < kLanes; ++k) result = take(best[k], result);
  return result;
}
}  // namespace

double sum_f32(const float* x, int64_t n) {
  return sum_lanes(x, n, [](double v) { return v; });
}

double sum_squared_deviations_f32(const float* x, int64_t n, double mean) {
  return sum_lanes(x, n, [mean](double v) { return (v - mean) * (v - mean); });
}

void sum_columns_f32(const float* x, int64_t rows, int64_t cols, int64_t row_stride, double* acc) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * row_stride;
    for (int64_t c = 0; c < cols; ++c) acc[c] += double(row[c]);
  }
}

float max_f32(const float* x, int64_t n) {
  return extreme(x, n, [](float v, float best) { return v > best; });
}
float min_f32(const float* x, int64_t n) {
  return extreme(x, n, [](float v, float best) { return v < best; });
}

}  // namespace ember::cpu::EMBER_CPU_NS
