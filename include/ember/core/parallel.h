#pragma once
// One OpenMP thread pool for the whole process (oneDNN uses the same runtime).
#include <algorithm>
#include <cstdint>

namespace ember {

void set_num_threads(int n);  // n >= 1
int get_num_threads();
bool in_parallel_region();

namespace detail {
void parallel_for_impl(int64_t begin, int64_t end, int64_t grain, void* ctx,
                       void (*fn)(void*, int64_t, int64_t));
}

// Calls fn(chunk_begin, chunk_end) over [begin, end) split into contiguous
// chunks of at least `grain` items, across the pool's threads. Runs inline when
// the range is small or already inside a parallel region. The chunking depends
// only on (range, grain, thread count), never on timing.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn) {
  if (end <= begin) return;
  if (end - begin <= grain || get_num_threads() == 1 || in_parallel_region()) {
    fn(begin, end);
    return;
  }
  detail::parallel_for_impl(begin, end, grain, const_cast<F*>(&fn), [](void* ctx, int64_t b, int64_t e) {
    (*static_cast<const F*>(ctx))(b, e);
  });
}

}  // namespace ember
