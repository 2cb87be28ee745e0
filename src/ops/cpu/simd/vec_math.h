#pragma once
// Branch-free float math for the per-capability kernels (see Note
// [Per-capability kernels] in dispatch.h): inline scalar functions the
// compiler vectorizes inside loops. Include only from src/ops/cpu/simd/*.cpp.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ember::cpu::EMBER_CPU_NS {

// e^x = p * 2^n with n = round(x / ln2): Cephes' expf polynomial after a
// Cody-Waite reduction x = n*ln2 + r, |r| <= ln2/2. Shared by exp and
// exp_normal_range, which differ in the range they handle.
struct ExpParts {
  float p;
  int32_t n;
};
inline ExpParts exp_parts(float x) {
  constexpr float kRound = 0x1.8p23f;  // adding it rounds to an integer in the low mantissa bits
  const float t = std::fma(x, 1.44269504088896341f, kRound);
  const float n = t - kRound;
  const int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound);
  float r = std::fma(n, -0.693359375f, x);  // ln2 split in two so n*ln2_hi is exact
  r = std::fma(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  return {std::fma(p, r * r, r) + 1.0f, ni};
}

// e^x for float, within 2 ulp of std::exp over the whole range, including
// subnormal results, overflow to inf and NaN propagation.
inline float exp(float x) {
  x = std::min(std::max(x, -104.0f), 89.0f);  // beyond: 0 or inf either way; NaN passes
  const ExpParts e = exp_parts(x);
  // 2^n as two factors: n reaches -150 (subnormal results) and 128.
  const int32_t n1 = e.n >> 1;
  const float s1 = std::bit_cast<float>((n1 + 127) << 23);
  const float s2 = std::bit_cast<float>((e.n - n1 + 127) << 23);
  return e.p * s1 * s2;
}

// e^x for x in [-87, 88], where the result is a normal float: exp without
// the range handling (a third of its instructions), for callers whose
// argument is bounded.
inline float exp_normal_range(float x) {
  const ExpParts e = exp_parts(x);
  return e.p * std::bit_cast<float>((e.n + 127) << 23);
}

// `take_a ? a : b` as a bit-mask blend, for the reasons in Note [Keeping
// selects vectorizable] (see log below).
inline float blend(bool take_a, float a, float b) {
  const int32_t mask = -int32_t(take_a);
  return std::bit_cast<float>((std::bit_cast<int32_t>(a) & mask) | (std::bit_cast<int32_t>(b) & ~mask));
}

// |x| < limit for a non-negative limit, compared on the bits (integer
// comparisons never trap; NaN compares as large).
inline bool magnitude_below(float x, float limit) {
  return (std::bit_cast<int32_t>(x) & 0x7fffffff) < std::bit_cast<int32_t>(limit);
}

inline bool is_nan(float x) { return (std::bit_cast<int32_t>(x) & 0x7fffffff) > 0x7f800000; }

// Natural log for float, within 2 ulp of std::log: x = 2^k * m with m in
// [sqrt(1/2), sqrt(2)), log(m) = f - f^2/2 + f^3 P(f) for f = m - 1 (P a
// minimax fit, Cephes' logf form), plus k*ln2 in two parts. Subnormals are
// scaled up first; 0 gives -inf, negatives and NaN give NaN, inf stays inf.
inline float log(float x) {
  // Note [Keeping selects vectorizable]: GCC may turn `c ? a : b` into a
  // branch, moving a's float ops into it; without AVX-512's masked ops it
  // then cannot if-convert the loop back (the moved ops might trap) and the
  // loop stays scalar. So cases are told apart with integer comparisons on
  // the bits, the subnormal rescale is arithmetic, and results are blended.
  const int32_t bits = std::bit_cast<int32_t>(x);
  constexpr int32_t kInfBits = 0x7f800000, kMinNormalBits = 0x00800000;
  // Subnormals are scaled by 2^23 (so are 0 and negatives: they are replaced below).
  const float subnormal = float(bits < kMinNormalBits);
  const float scaled = x * std::fma(subnormal, 0x1p23f - 1.0f, 1.0f);
  // Subtracting sqrt(1/2)'s bits puts m's range boundary at an exponent step.
  constexpr int32_t kSqrtHalfBits = 0x3f3504f3;
  // In unsigned arithmetic: negative inputs (replaced below) would overflow int32.
  const int32_t shifted = int32_t(std::bit_cast<uint32_t>(scaled) - uint32_t(kSqrtHalfBits));
  const float k = std::fma(subnormal, -23.0f, float(shifted >> 23));
  const float f = std::bit_cast<float>((shifted & 0x007fffff) + kSqrtHalfBits) - 1.0f;
  float p = 7.037301362e-02f;
  p = std::fma(p, f, -1.151441634e-01f);
  p = std::fma(p, f, 1.167705134e-01f);
  p = std::fma(p, f, -1.242017224e-01f);
  p = std::fma(p, f, 1.424932033e-01f);
  p = std::fma(p, f, -1.666805595e-01f);
  p = std::fma(p, f, 2.000071406e-01f);
  p = std::fma(p, f, -2.499999404e-01f);
  p = std::fma(p, f, 3.333333135e-01f);
  const float f2 = f * f;
  float y = std::fma(k, -2.12194440e-4f, p * f2 * f);
  y = std::fma(-0.5f, f2, y);
  const float r = std::fma(k, 0.693359375f, f + y);
  const int32_t special = (bits & 0x7fffffff) == 0 ? int32_t(0xff800000u)  // +-0: -inf
                          : bits == kInfBits      ? kInfBits                // inf: inf
                                                  : 0x7fc00000;             // negative or NaN: NaN
  return blend((bits > 0) & (bits < kInfBits), r, std::bit_cast<float>(special));
}

// tanh for float, within 2 ulp of std::tanh: an odd minimax polynomial for
// |x| < 0.625, 1 - 2 / (e^2|x| + 1) beyond (cancellation is mild there,
// since tanh(0.625) > 0.55), with |x| capped at 10 where tanh rounds to 1.
inline float tanh(float x) {
  const float a = std::abs(x);
  const float z = x * x;
  float p = 2.292971825e-03f;
  p = std::fma(p, z, -8.344181813e-03f);
  p = std::fma(p, z, 2.176900767e-02f);
  p = std::fma(p, z, -5.395927280e-02f);
  p = std::fma(p, z, 1.333330423e-01f);
  p = std::fma(p, z, -3.333333433e-01f);
  const float small = std::fma(p * z, x, x);  // NaN for NaN x
  const float capped = blend(magnitude_below(a, 10.0f), a, 10.0f);
  const float large = std::copysign(1.0f - 2.0f / (exp_normal_range(2.0f * capped) + 1.0f), x);
  return blend(magnitude_below(x, 0.625f) | is_nan(x), small, large);
}

// erf for float, within 3 ulp of std::erf: x P(x^2) for |x| < 0.875, and
// 1 - e^Q(|x|) beyond, Q a fit of log(erfc) on [0.875, 3.95] (erf rounds to
// 1 past 3.92). Both fits are minimax polynomials computed with mpmath.
inline float erf(float x) {
  const float a = std::abs(x);
  const float z = x * x;
  float p = -6.203537341e-04f;
  p = std::fma(p, z, 5.032240879e-03f);
  p = std::fma(p, z, -2.679150924e-02f);
  p = std::fma(p, z, 1.128245667e-01f);
  p = std::fma(p, z, -3.761255145e-01f);
  p = std::fma(p, z, 1.128379107e+00f);
  const float small = x * p;
  const float t = blend(magnitude_below(a, 3.95f), a, 3.95f) - 0.875f;
  float q = 1.614676876e-06f;
  q = std::fma(q, t, -3.428556010e-05f);
  q = std::fma(q, t, 3.480105661e-04f);
  q = std::fma(q, t, -2.300059423e-03f);
  q = std::fma(q, t, 1.142971870e-02f);
  q = std::fma(q, t, -4.693919048e-02f);
  q = std::fma(q, t, -8.265326023e-01f);
  q = std::fma(q, t, -2.430220366e+00f);
  q = std::fma(q, t, -1.532824397e+00f);
  const float large = std::copysign(1.0f - exp_normal_range(q), x);  // q is in [-17.9, -1.5]
  return blend(magnitude_below(x, 0.875f) | is_nan(x), small, large);  // small is NaN for NaN x
}

// The activations, with the same formulas as their functors in
// src/ops/unary.cpp (which serve the other dtypes and strided operands).
inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }
inline float silu(float x) { return x / (1.0f + exp(-x)); }
inline float gelu_erf(float x) { return x * 0.5f * (1.0f + erf(x * 0.707106781186547524f)); }
inline float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.797884560802865356f, kKappa = 0.044715f;
  return 0.5f * x * (1.0f + tanh(kSqrt2OverPi * (x + kKappa * x * x * x)));
}

}  // namespace ember::cpu::EMBER_CPU_NS
