#pragma once
// Which vector instruction set Ember's CPU kernels use. Kernels under
// src/ops/cpu/simd/ are compiled once per capability and picked at run time:
// AVX-512 where the CPU has avx512f/bw/vl/dq, else AVX2 (x86-64-v3, the
// baseline every build requires). The environment variable
// EMBER_CPU_CAPABILITY=avx2 forces the fallback (as PyTorch's
// ATEN_CPU_CAPABILITY does), e.g. to test it on an AVX-512 machine.
#include <string_view>

namespace ember {

enum class CpuCapability { avx2, avx512 };

// The capability kernels use now.
CpuCapability cpu_capability();
// The best capability this CPU supports.
CpuCapability max_cpu_capability();
// Switches the kernels; ValueError if the CPU lacks `cap`. Not thread-safe:
// call it before running ops (tests and benchmarks do).
void set_cpu_capability(CpuCapability cap);
std::string_view to_string(CpuCapability cap);

namespace detail {
extern bool g_use_avx512;  // read on every dispatched kernel call
}

}  // namespace ember
