// Row kernels of the nn op family, one copy per CPU capability (Note
// [Per-capability kernels]).
#include "nn.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "vec_math.h"

namespace ember::cpu::EMBER_CPU_NS {
namespace {

// Row sums accumulate in double. Under `omp simd reduction` the compiler
// keeps vector partial sums (a reassociation plain C++ forbids), and a build
// that does not vectorize (the -O1 sanitizer build) sums sequentially: in
// double, both are accurate to float precision on long rows, so both builds
// give results within a float ulp or two of each other. (GCC 12 does not
// vectorize such a loop inside a lambda, so each is a plain function.)

float row_max(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

double row_sum(const float* x, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

double row_dot(const float* x, const float* y, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}

double row_shifted_sum(const float* x, float shift, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += x[i] - shift;
  return s;
}

double row_shifted_dot(const float* x, float shift, const float* w, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += (x[i] - shift) * w[i];
  return s;
}

// sum(x - shift) and sum((x - shift)^2).
void shifted_moments(const float* x, float shift, int64_t n, double& sum, double& squares) {
  double s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
  for (int64_t i = 0; i < n; ++i) {
    s1 += x[i] - shift;
    s2 += (x[i] - shift) * (x[i] - shift);
  }
  sum += s1;
  squares += s2;
}

// sum(exp(x - m)), also stored in e when e is not null. An all -inf row gives
// NaN (x - m is NaN), as in PyTorch.
double row_sum_exp(const float* x, float m, float* e, int64_t n) {
  double s = 0;
  if (e) {
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) {
      e[i] = exp(x[i] - m);
      s += e[i];
    }
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += exp(x[i] - m);
  }
  return s;
}

// A row's mean as the float sum mean_hi + mean_lo, and 1/sqrt(var + eps).
// x - mean_hi is exact for x near the mean, so (x - mean_hi) - mean_lo keeps
// the deviations of values far from zero accurate to float precision.
struct Moments {
  float mean_hi, mean_lo, rstd;
  float deviation(float x) const { return (x - mean_hi) - mean_lo; }
};
// Two passes over the row (the second from cache): a first estimate of the
// mean, then the sums of the deviations from it and of their squares, which
// are small numbers however far the row lies from zero (E[x^2] - E[x]^2
// would cancel catastrophically).
Moments moments(const float* x, int64_t n, float eps) {
  const float shift = float(row_sum(x, n) / double(n));
  double sum = 0, squares = 0;
  shifted_moments(x, shift, n, sum, squares);
  const double offset = sum / double(n), mean = double(shift) + offset;
  const double var = std::max(squares / double(n) - offset * offset, 0.0);
  const float mean_hi = float(mean);
  return {mean_hi, float(mean - double(mean_hi)), float(1.0 / std::sqrt(var + double(eps)))};
}

template <bool HasWeight, bool HasBias>
void normalize(const float* x, const float* w, const float* b, float* y, int64_t n, Moments s) {
  for (int64_t i = 0; i < n; ++i) {
    float v = s.deviation(x[i]) * s.rstd;
    if constexpr (HasWeight) v *= w[i];
    if constexpr (HasBias) v += b[i];
    y[i] = v;
  }
}

// dx = rstd * (gx - mean(gx) - xhat * mean(gx * xhat)) with gx = g * w.
template <bool HasWeight>
void layer_norm_backward_row(const float* g, const float* x, const float* w, float* dx, float* dw_sum, float* db_sum,
                             int64_t n, float eps) {
  const Moments st = moments(x, n, eps);
  const float mean_hi = st.mean_hi, mean_lo = st.mean_lo, rstd = st.rstd;
  double sum_gx = 0, sum_gx_xhat = 0;
#pragma omp simd reduction(+ : sum_gx, sum_gx_xhat)
  for (int64_t i = 0; i < n; ++i) {
    const float xhat = ((x[i] - mean_hi) - mean_lo) * rstd;
    const float gx = HasWeight ? g[i] * w[i] : g[i];
    dw_sum[i] += g[i] * xhat;
    db_sum[i] += g[i];
    sum_gx += gx;
    sum_gx_xhat += gx * xhat;
  }
  const float mean_gx = float(sum_gx / double(n)), mean_gx_xhat = float(sum_gx_xhat / double(n));
  for (int64_t i = 0; i < n; ++i) {
    const float xhat = ((x[i] - mean_hi) - mean_lo) * rstd;
    const float gx = HasWeight ? g[i] * w[i] : g[i];
    dx[i] = rstd * (gx - mean_gx - xhat * mean_gx_xhat);
  }
}

}  // namespace

void softmax_row_f32(const float* x, float* y, int64_t n) {
  const float r = float(1.0 / row_sum_exp(x, row_max(x, n), y, n));
  for (int64_t i = 0; i < n; ++i) y[i] *= r;
}

void log_softmax_row_f32(const float* x, float* y, int64_t n) {
  const float m = row_max(x, n);
  const float shift = m + float(std::log(row_sum_exp(x, m, nullptr, n)));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] - shift;
}

void softmax_backward_row_f32(const float* g, const float* y, float* gx, int64_t n) {
  const float dot = float(row_dot(g, y, n));
  for (int64_t i = 0; i < n; ++i) gx[i] = y[i] * (g[i] - dot);
}

void log_softmax_backward_row_f32(const float* g, const float* y, float* gx, int64_t n) {
  const float total = float(row_sum(g, n));
  for (int64_t i = 0; i < n; ++i) gx[i] = g[i] - exp(y[i]) * total;
}

float logsumexp_row_f32(const float* x, int64_t n) {
  const float m = row_max(x, n);
  return m + float(std::log(row_sum_exp(x, m, nullptr, n)));
}

float shifted_weighted_sum_row_f32(const float* x, float shift, const float* w, int64_t n) {
  return float(w ? row_shifted_dot(x, shift, w, n) : row_shifted_sum(x, shift, n));
}

void cross_entropy_backward_row_f32(const float* x, float lse, float prob_scale, const float* w, float uniform_scale,
                                    float* gx, int64_t n) {
  if (w) {
    for (int64_t i = 0; i < n; ++i) gx[i] = exp(x[i] - lse) * prob_scale - uniform_scale * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) gx[i] = exp(x[i] - lse) * prob_scale - uniform_scale;
  }
}

void layer_norm_row_f32(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  const Moments s = moments(x, n, eps);
  if (w && b) normalize<true, true>(x, w, b, y, n, s);
  else if (w) normalize<true, false>(x, w, b, y, n, s);
  else if (b) normalize<false, true>(x, w, b, y, n, s);
  else normalize<false, false>(x, w, b, y, n, s);
}

void layer_norm_backward_row_f32(const float* g, const float* x, const float* w, float* dx, float* dw_sum,
                                 float* db_sum, int64_t n, float eps) {
  if (w) layer_norm_backward_row<true>(g, x, w, dx, dw_sum, db_sum, n, eps);
  else layer_norm_backward_row<false>(g, x, w, dx, dw_sum, db_sum, n, eps);
}

}  // namespace ember::cpu::EMBER_CPU_NS
