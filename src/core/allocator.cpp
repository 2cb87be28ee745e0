#include "ember/core/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#include "ember/core/error.h"
#include "ember/core/profiler.h"

namespace ember {
namespace {

// Sizes round up to 64 bytes below 1 MiB and to 4 KiB pages above, so that
// nearby sizes share cache buckets.
size_t round_size(size_t n) {
  const size_t unit = n < (size_t(1) << 20) ? kAlignment : 4096;
  return (n + unit - 1) / unit * unit;
}

class CachingAllocator {
 public:
  void* allocate(size_t nbytes) {
    const size_t size = round_size(nbytes == 0 ? 1 : nbytes);
    {
      std::lock_guard lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        stats_.cached_bytes -= size;
        note_allocated(size);
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, size);
    if (p == nullptr) {
      empty_cache();
      p = std::aligned_alloc(kAlignment, size);
    }
    if (p == nullptr) throw std::bad_alloc();
    std::lock_guard lock(mutex_);
    ++stats_.system_allocations;
    note_allocated(size);
    return p;
  }

  void release(void* p, size_t nbytes) {
    if (p == nullptr) return;
    const size_t size = round_size(nbytes == 0 ? 1 : nbytes);
    std::lock_guard lock(mutex_);
    stats_.allocated_bytes -= size;
    free_.emplace(size, p);
    stats_.cached_bytes += size;
  }

  void empty_cache() {
    std::lock_guard lock(mutex_);
    for (auto& [size, p] : free_) std::free(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  void reset_peak() {
    std::lock_guard lock(mutex_);
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }

  AllocatorStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  ~CachingAllocator() { empty_cache(); }

 private:
  void note_allocated(size_t size) {
    stats_.allocated_bytes += size;
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  AllocatorStats stats_;
};

CachingAllocator& allocator() {
  // Leaked on purpose: tensors held by static objects may be freed after
  // main returns, and must still find the allocator.
  static auto* instance = new CachingAllocator();
  return *instance;
}

}  // namespace

void* cpu_allocate(size_t nbytes) {
  if (profiler::is_enabled()) profiler::detail::note_allocation(nbytes);
  return allocator().allocate(nbytes);
}
void cpu_free(void* ptr, size_t nbytes) { allocator().release(ptr, nbytes); }
AllocatorStats cpu_allocator_stats() { return allocator().stats(); }
void cpu_allocator_empty_cache() { allocator().empty_cache(); }
void cpu_allocator_reset_peak() { allocator().reset_peak(); }

}  // namespace ember
