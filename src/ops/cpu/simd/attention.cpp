// Row kernels of the fused attention, one copy per CPU capability (Note
// [Per-capability kernels]).
#include "attention.h"

#include <cmath>
#include <limits>

#include "vec_math.h"

namespace ember::cpu::EMBER_CPU_NS {
namespace {

// float takes the vectorizable exp of vec_math.h (exp(-inf) is exactly 0,
// which masked scores rely on); double the library's.
inline float exp_of(float x) { return exp(x); }
inline double exp_of(double x) { return std::exp(x); }

// `omp simd reduction` lets the compiler keep vector partial results, a
// reassociation plain C++ forbids (as in src/ops/cpu/simd/nn.cpp).
template <class T>
T row_max_of(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// x[j] = exp(x[j] - shift); returns the sum of the new values.
template <class T>
T exp_shifted_sum(T* x, int64_t n, T shift) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) {
    x[j] = exp_of(x[j] - shift);
    s += x[j];
  }
  return s;
}

template <class T>
void online_softmax(T* scores, int64_t rows, int64_t cols, int64_t ld, T* row_max, T* row_sum, T* acc,
                    int64_t acc_ld, int64_t value_dim) {
  for (int64_t r = 0; r < rows; ++r) {
    T* s = scores + r * ld;
    const T old_max = row_max[r];
    const T new_max = std::max(old_max, row_max_of(s, cols));
    // A row masked so far has max -inf; shifting by 0 keeps exp(-inf) = 0
    // instead of exp(-inf - -inf) = NaN.
    const T shift = new_max == -std::numeric_limits<T>::infinity() ? T(0) : new_max;
    const T rescale = exp_of(old_max - shift);
    row_sum[r] = row_sum[r] * rescale + exp_shifted_sum(s, cols, shift);
    row_max[r] = new_max;
    T* a = acc + r * acc_ld;
    for (int64_t e = 0; e < value_dim; ++e) a[e] *= rescale;
  }
}

template <class T>
void probs(T* scores, int64_t rows, int64_t cols, int64_t ld, const T* logsumexp) {
  for (int64_t r = 0; r < rows; ++r) {
    T* s = scores + r * ld;
    const T shift = logsumexp[r];
    for (int64_t j = 0; j < cols; ++j) s[j] = exp_of(s[j] - shift);
  }
}

template <class T>
void score_grads(const T* probs, T* grad_probs, int64_t rows, int64_t cols, int64_t ld, const T* delta) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* p = probs + r * ld;
    T* g = grad_probs + r * ld;
    const T d = delta[r];
    for (int64_t j = 0; j < cols; ++j) g[j] = p[j] * (g[j] - d);
  }
}

}  // namespace

#define EMBER_ATTENTION_ROW_KERNELS(T, suffix)                                                                   \
  void attention_online_softmax_##suffix(T* scores, int64_t rows, int64_t cols, int64_t ld, T* row_max,          \
                                         T* row_sum, T* acc, int64_t acc_ld, int64_t value_dim) {                \
    online_softmax(scores, rows, cols, ld, row_max, row_sum, acc, acc_ld, value_dim);                            \
  }                                                                                                              \
  void attention_probs_##suffix(T* scores, int64_t rows, int64_t cols, int64_t ld, const T* logsumexp) {        \
    probs(scores, rows, cols, ld, logsumexp);                                                                    \
  }                                                                                                              \
  void attention_score_grads_##suffix(const T* probs, T* grad_probs, int64_t rows, int64_t cols, int64_t ld,     \
                                      const T* delta) {                                                          \
    score_grads(probs, grad_probs, rows, cols, ld, delta);                                                       \
  }
EMBER_ATTENTION_ROW_KERNELS(float, f32)
EMBER_ATTENTION_ROW_KERNELS(double, f64)
#undef EMBER_ATTENTION_ROW_KERNELS

}  // namespace ember::cpu::EMBER_CPU_NS
