#pragma once
// Seeds derived from (seed, stream, epoch, index) by splitmix64 mixing, so
// that neighbouring epochs or indices give unrelated Philox keys.
#include <cstdint>

namespace ember::data::detail {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
inline uint64_t mix_seed(uint64_t seed, uint64_t value) { return splitmix64(seed ^ splitmix64(value)); }

// Separate streams keep the sampler's draws independent of the transforms'.
inline constexpr uint64_t kSamplerStream = 1;
inline constexpr uint64_t kTransformStream = 2;

}  // namespace ember::data::detail
