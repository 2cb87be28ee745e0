#include "ember/core/parallel.h"

#include <omp.h>

#include "ember/core/error.h"

namespace ember {

void set_num_threads(int n) {
  EMBER_CHECK(n >= 1, ValueError, "set_num_threads: need at least 1 thread, got ", n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

bool in_parallel_region() { return omp_in_parallel() != 0; }

namespace detail {

void parallel_for_impl(int64_t begin, int64_t end, int64_t grain, void* ctx,
                       void (*fn)(void*, int64_t, int64_t)) {
  const int64_t range = end - begin;
  const int64_t max_chunks = grain > 0 ? (range + grain - 1) / grain : range;
  const int threads = int(std::min<int64_t>(get_num_threads(), max_chunks));
  // Exceptions must not cross the OpenMP boundary: keep the first, rethrow after.
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
    const int64_t tid = omp_get_thread_num();
    const int64_t nt = omp_get_num_threads();
    const int64_t chunk = (range + nt - 1) / nt;
    const int64_t b = begin + tid * chunk;
    const int64_t e = std::min(end, b + chunk);
    if (b < e) {
      try {
        fn(ctx, b, e);
      } catch (...) {
#pragma omp critical(ember_parallel_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace detail
}  // namespace ember
