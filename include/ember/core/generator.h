#pragma once
// Counter-based random numbers (Philox4x32-10). Element i of a random tensor
// is a pure function of (seed, offset, i), so results do not depend on the
// thread count or on how the work is split.
#include <array>
#include <cstdint>
#include <mutex>

namespace ember {

struct Philox {
  // Four 32-bit random words for counter `counter` under `key`.
  static std::array<uint32_t, 4> block(uint64_t key, uint64_t counter_hi, uint64_t counter_lo);
};

// Tells an active tracer that random numbers are drawn outside an op's
// kernel (they would be baked into the graph; see ember/core/trace_hook.h).
void notify_random_draw();

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x853c49e6748fea9bULL) : seed_(seed) {}
  void manual_seed(uint64_t seed) {
    std::lock_guard lock(mutex_);
    seed_ = seed;
    offset_ = 0;
  }
  uint64_t seed() const { return seed_; }
  // Reserves `n` counters for one random op and returns the first. Each op
  // gets a fresh, non-overlapping range, so consecutive calls differ.
  uint64_t reserve(uint64_t n) {
    notify_random_draw();
    std::lock_guard lock(mutex_);
    const uint64_t first = offset_;
    offset_ += n;
    return first;
  }
  struct State {
    uint64_t seed, offset;
  };
  State state() const { return {seed_, offset_}; }
  void set_state(State s) {
    std::lock_guard lock(mutex_);
    seed_ = s.seed;
    offset_ = s.offset;
  }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
  std::mutex mutex_;
};

Generator& default_generator();
void manual_seed(uint64_t seed);  // seeds the default generator

// Helpers for kernels: element i of a stream starting at `first`.
uint32_t random_u32(uint64_t seed, uint64_t first, uint64_t i);
float random_uniform_f32(uint64_t seed, uint64_t first, uint64_t i);   // [0, 1)
double random_uniform_f64(uint64_t seed, uint64_t first, uint64_t i);  // [0, 1)
double random_normal(uint64_t seed, uint64_t first, uint64_t i);       // N(0, 1), Box-Muller

}  // namespace ember
