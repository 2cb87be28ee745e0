// Array math kernels, one copy per CPU capability (Note [Per-capability kernels]).
#include "math.h"

#include "vec_math.h"

namespace ember::cpu::EMBER_CPU_NS {

void exp_f32(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp(x[i]);
}

}  // namespace ember::cpu::EMBER_CPU_NS
