#pragma once
// Runs a check on every CPU capability's kernels (src/ops/cpu/simd/).
#include <gtest/gtest.h>

#include <string>

#include "ember/core/cpu.h"

namespace ember::testing {

// Runs `check` once per capability this CPU has, restoring the current one.
template <class F>
void for_each_capability(const F& check) {
  const CpuCapability saved = cpu_capability();
  for (CpuCapability cap : {CpuCapability::avx2, CpuCapability::avx512}) {
    if (cap == CpuCapability::avx512 && max_cpu_capability() != CpuCapability::avx512) continue;
    set_cpu_capability(cap);
    SCOPED_TRACE(std::string(to_string(cap)));
    check();
  }
  set_cpu_capability(saved);
}

}  // namespace ember::testing
