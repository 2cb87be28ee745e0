#pragma once
// Note [Per-capability kernels]
// Each .cpp in src/ops/cpu/simd/ is compiled twice (see CMakeLists.txt): once
// with -march=x86-64-v4 into namespace ember::cpu::avx512, once with
// -march=x86-64-v3 into ember::cpu::avx2 (EMBER_CPU_NS names the namespace).
// The kernels are plain C++ loops over contiguous arrays, written so that the
// compiler vectorizes them for each target. Declare a kernel once for both
// namespaces and call the one the CPU supports:
//
//   EMBER_SIMD_KERNEL(void, exp_f32, (const float* x, float* y, int64_t n));
//   EMBER_SIMD(exp_f32)(x, y, n);   // avx512::exp_f32 or avx2::exp_f32
//
// The cost of the choice is one load and one branch per call, so dispatch
// whole loops (a row, a block), never single elements.
#include <cstdint>

#include "ember/core/cpu.h"

#define EMBER_SIMD_KERNEL(ret, name, params)    \
  namespace ember::cpu {                        \
  namespace avx512 { ret name params; }         \
  namespace avx2 { ret name params; }           \
  }

#define EMBER_SIMD(name) (::ember::detail::g_use_avx512 ? ::ember::cpu::avx512::name : ::ember::cpu::avx2::name)
