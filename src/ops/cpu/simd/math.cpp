// Unary float kernels, one copy per CPU capability (Note [Per-capability kernels]).
#include "math.h"

#include "vec_math.h"

namespace ember::cpu::EMBER_CPU_NS {

namespace {
template <class F>
void map(const float* x, float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}
}  // namespace

void neg_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return -v; }); }
void abs_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return std::abs(v); }); }
// Keeps NaN and -0.0, as the Relu functor.
void relu_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return v < 0.0f ? 0.0f : v; }); }
void sqrt_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return std::sqrt(v); }); }
void rsqrt_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return 1.0f / std::sqrt(v); }); }
void exp_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return exp(v); }); }
void log_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return log(v); }); }
void tanh_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return tanh(v); }); }
void erf_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return erf(v); }); }
void sigmoid_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return sigmoid(v); }); }
void silu_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return silu(v); }); }
void gelu_erf_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return gelu_erf(v); }); }
void gelu_tanh_f32(const float* x, float* y, int64_t n) { map(x, y, n, [](float v) { return gelu_tanh(v); }); }

}  // namespace ember::cpu::EMBER_CPU_NS
