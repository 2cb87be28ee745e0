#pragma once
// The CPU allocator: 64-byte aligned blocks (one cache line, one AVX-512
// register) from a cache of freed blocks, so a training step that allocates
// the same sizes every iteration stops calling malloc after the first.
#include <cstddef>
#include <cstdint>

namespace ember {

inline constexpr size_t kAlignment = 64;

struct AllocatorStats {
  size_t allocated_bytes = 0;  // in live blocks (rounded sizes)
  size_t cached_bytes = 0;     // in freed blocks kept for reuse
  size_t peak_allocated_bytes = 0;
  uint64_t system_allocations = 0;  // calls that missed the cache
};

void* cpu_allocate(size_t nbytes);
void cpu_free(void* ptr, size_t nbytes);
AllocatorStats cpu_allocator_stats();
void cpu_allocator_empty_cache();  // returns cached blocks to the system
void cpu_allocator_reset_peak();   // peak_allocated_bytes = allocated_bytes (to measure one region)

}  // namespace ember
