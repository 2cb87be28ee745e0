#include "ember/core/generator.h"

#include "ember/core/trace_hook.h"

#include <cmath>

namespace ember {

void notify_random_draw() {
  if (TraceHook* hook = trace_hook()) [[unlikely]] hook->draw_random();
}

// Note [Philox]
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11): ten rounds of two 32x32->64 multiplies and a key schedule (Weyl
// sequence). The counter is (offset, element index), the key is the seed.
std::array<uint32_t, 4> Philox::block(uint64_t key, uint64_t counter_hi, uint64_t counter_lo) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t c0 = uint32_t(counter_lo), c1 = uint32_t(counter_lo >> 32);
  uint32_t c2 = uint32_t(counter_hi), c3 = uint32_t(counter_hi >> 32);
  uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(kMul0) * c0;
    const uint64_t p1 = uint64_t(kMul1) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n1 = uint32_t(p1);
    const uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    const uint32_t n3 = uint32_t(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {c0, c1, c2, c3};
}

Generator& default_generator() {
  static Generator gen(0x5eed);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

// Each element owns one Philox block: counter = (first + i, 0).
uint32_t random_u32(uint64_t seed, uint64_t first, uint64_t i) {
  return Philox::block(seed, 0, first + i)[0];
}

float random_uniform_f32(uint64_t seed, uint64_t first, uint64_t i) {
  return float(random_u32(seed, first, i) >> 8) * 0x1.0p-24f;
}

double random_uniform_f64(uint64_t seed, uint64_t first, uint64_t i) {
  const auto b = Philox::block(seed, 0, first + i);
  const uint64_t bits = (uint64_t(b[0]) << 32 | b[1]) >> 11;
  return double(bits) * 0x1.0p-53;
}

double random_normal(uint64_t seed, uint64_t first, uint64_t i) {
  const auto b = Philox::block(seed, 1, first + i);
  // u1 in (0, 1] so the log is finite.
  const double u1 = (double((uint64_t(b[0]) << 32 | b[1]) >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = double((uint64_t(b[2]) << 32 | b[3]) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace ember
