#include "ember/core/cpu.h"

#include <cstdlib>
#include <string>

#include "ember/core/error.h"

namespace ember {
namespace {

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

CpuCapability parse(std::string_view name) {
  if (name == "avx2") return CpuCapability::avx2;
  if (name == "avx512") return CpuCapability::avx512;
  EMBER_THROW(ValueError, "EMBER_CPU_CAPABILITY: expected 'avx2' or 'avx512', got '", name, "'");
}

bool initial_use_avx512() {
  const char* env = std::getenv("EMBER_CPU_CAPABILITY");
  if (env == nullptr || *env == '\0') return cpu_has_avx512();
  // An unusable request falls back rather than throwing during static
  // initialization; set_cpu_capability reports it properly.
  try {
    return parse(env) == CpuCapability::avx512 && cpu_has_avx512();
  } catch (const Error&) {
    return cpu_has_avx512();
  }
}

}  // namespace

namespace detail {
bool g_use_avx512 = initial_use_avx512();
}

CpuCapability cpu_capability() { return detail::g_use_avx512 ? CpuCapability::avx512 : CpuCapability::avx2; }

CpuCapability max_cpu_capability() { return cpu_has_avx512() ? CpuCapability::avx512 : CpuCapability::avx2; }

void set_cpu_capability(CpuCapability cap) {
  EMBER_CHECK(cap != CpuCapability::avx512 || cpu_has_avx512(), ValueError,
              "set_cpu_capability: this CPU does not support avx512 (needs avx512f/bw/vl/dq)");
  detail::g_use_avx512 = cap == CpuCapability::avx512;
}

std::string_view to_string(CpuCapability cap) { return cap == CpuCapability::avx512 ? "avx512" : "avx2"; }

}  // namespace ember
