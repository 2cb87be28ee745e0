#pragma once
// Branch-free float math for the per-capability kernels (see Note
// [Per-capability kernels] in dispatch.h): inline scalar functions the
// compiler vectorizes inside loops. Include only from src/ops/cpu/simd/*.cpp.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace ember::cpu::EMBER_CPU_NS {

// e^x for float, within 2 ulp of std::exp over the whole range, including
// subnormal results, overflow to inf and NaN propagation (Cephes' expf
// polynomial after a Cody-Waite reduction x = n*ln2 + r, |r| <= ln2/2).
inline float exp(float x) {
  x = std::min(std::max(x, -104.0f), 89.0f);  // beyond: 0 or inf either way; NaN passes
  constexpr float kRound = 0x1.8p23f;         // adding it rounds to an integer in the low mantissa bits
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
  p = std::fma(p, r * r, r) + 1.0f;
  // 2^n as two factors: n reaches -150 (subnormal results) and 128.
  const int32_t n1 = ni >> 1;
  const float s1 = std::bit_cast<float>((n1 + 127) << 23);
  const float s2 = std::bit_cast<float>((ni - n1 + 127) << 23);
  return p * s1 * s2;
}

}  // namespace ember::cpu::EMBER_CPU_NS
