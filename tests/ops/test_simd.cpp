// The per-capability kernels (src/ops/cpu/simd/): both the AVX-512 and the
// AVX2 copy are checked here directly; CTest also reruns test_ops with
// EMBER_CPU_CAPABILITY=avx2 so every op's reference cases cover the fallback.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "ember/core/cpu.h"
#include "ops/cpu/simd/math.h"
#include "support/expect_error.h"

namespace ember {
namespace {

// Distance in units in the last place between two finite floats of one sign.
int64_t ulp_distance(float a, float b) {
  if (a == b) return 0;
  auto key = [](float f) {
    const int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? int64_t(std::numeric_limits<int32_t>::min()) - i : int64_t(i);
  };
  return std::abs(key(a) - key(b));
}

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

TEST(Simd, CapabilityCanBeSwitchedAndRefusesWhatTheCpuLacks) {
  const CpuCapability saved = cpu_capability();
  set_cpu_capability(CpuCapability::avx2);
  EXPECT_EQ(cpu_capability(), CpuCapability::avx2);
  if (max_cpu_capability() == CpuCapability::avx2)
    testing::expect_error<ValueError>([] { set_cpu_capability(CpuCapability::avx512); }, "does not support avx512");
  set_cpu_capability(saved);
}

TEST(Simd, ExpIsWithinTwoUlpOverTheWholeRange) {
  std::vector<float> x;
  for (float v = -110.0f; v <= 90.0f; v += 0.0137f) x.push_back(v);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 88.72f, -87.33f, -103.9f}) x.push_back(v);
  std::vector<float> y(x.size());
  for_each_capability([&] {
    EMBER_SIMD(exp_f32)(x.data(), y.data(), int64_t(x.size()));
    int64_t worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = std::exp(x[i]);
      if (std::isinf(want)) {
        EXPECT_TRUE(std::isinf(y[i])) << "exp(" << x[i] << ")";
        continue;
      }
      worst = std::max(worst, ulp_distance(y[i], want));
      EXPECT_LE(ulp_distance(y[i], want), 2) << "exp(" << x[i] << ") = " << y[i] << ", want " << want;
    }
    RecordProperty("worst_ulp", int(worst));
  });
}

TEST(Simd, ExpKeepsNanAndInfinities) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {std::nanf(""), inf, -inf}, y(3);
  for_each_capability([&] {
    EMBER_SIMD(exp_f32)(x.data(), y.data(), 3);
    EXPECT_TRUE(std::isnan(y[0]));
    EXPECT_EQ(y[1], inf);
    EXPECT_EQ(y[2], 0.0f);
  });
}

}  // namespace
}  // namespace ember
