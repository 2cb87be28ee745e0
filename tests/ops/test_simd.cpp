// The per-capability kernels (src/ops/cpu/simd/): both the AVX-512 and the
// AVX2 copy are checked here directly (accuracy over the whole float range),
// and through the ops (the same bits for every operand layout, tails and
// parallel chunks); CTest also reruns test_ops with EMBER_CPU_CAPABILITY=avx2
// so every op's reference cases cover the fallback.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include <cstring>
#include <functional>
#include <string>

#include "ember/core/cpu.h"
#include "ember/ember.h"
#include "ops/cpu/simd/math.h"
#include "support/capabilities.h"
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

using ember::testing::for_each_capability;

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

// Every float from lo to hi (both of one sign), stepping `stride` bit patterns.
std::vector<float> floats_between(float lo, float hi, int32_t stride) {
  std::vector<float> out;
  for (int32_t b = std::bit_cast<int32_t>(lo); b <= std::bit_cast<int32_t>(hi); b += stride)
    out.push_back(std::bit_cast<float>(b));
  return out;
}

// Inputs across the whole float range: subnormals, around 0, large values,
// both signs, with the special values.
std::vector<float> whole_range() {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = floats_between(0.0f, std::numeric_limits<float>::max(), 997);
  const size_t positives = x.size();
  for (size_t i = 0; i < positives; ++i) x.push_back(-x[i]);
  for (float v : {inf, -inf, std::nanf(""), -std::nanf(""), 0.625f, 0.875f, 3.95f, 1e-45f, 1.17549435e-38f})
    x.push_back(v);
  return x;
}

using ArrayKernel = void (*)(const float*, float*, int64_t);

// Checks kernel(x) against want(x) in double: NaN where it is NaN, equal
// infinities, and at most `max_ulp` apart otherwise.
template <class Want>
void expect_close_to(const char* name, ArrayKernel (*kernel)(), const Want& want, int64_t max_ulp) {
  const std::vector<float> x = whole_range();
  std::vector<float> y(x.size());
  for_each_capability([&] {
    kernel()(x.data(), y.data(), int64_t(x.size()));
    int64_t worst = 0, failures = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const float w = float(want(double(x[i])));
      if (std::isnan(w) || std::isinf(w)) {
        if (!(std::isnan(w) ? std::isnan(y[i]) : y[i] == w) && failures++ < 5)
          ADD_FAILURE() << name << "(" << x[i] << ") = " << y[i] << ", want " << w;
        continue;
      }
      const int64_t d = std::isnan(y[i]) ? std::numeric_limits<int64_t>::max() : ulp_distance(y[i], w);
      worst = std::max(worst, d);
      if (d > max_ulp && failures++ < 5)
        ADD_FAILURE() << name << "(" << x[i] << ") = " << y[i] << ", want " << w << " (" << d << " ulp)";
    }
    ::testing::Test::RecordProperty(std::string(name) + "_worst_ulp", int(worst));
  });
}

// The kernel EMBER_SIMD picks for the current capability, as a function pointer.
#define EMBER_KERNEL_OF(name) [] { return ArrayKernel(EMBER_SIMD(name)); }

TEST(Simd, LogIsWithinTwoUlpOverTheWholeRange) {
  expect_close_to("log", EMBER_KERNEL_OF(log_f32), [](double v) { return std::log(v); }, 2);
}

TEST(Simd, TanhIsWithinTwoUlpOverTheWholeRange) {
  expect_close_to("tanh", EMBER_KERNEL_OF(tanh_f32), [](double v) { return std::tanh(v); }, 2);
}

TEST(Simd, ErfIsWithinThreeUlpOverTheWholeRange) {
  expect_close_to("erf", EMBER_KERNEL_OF(erf_f32), [](double v) { return std::erf(v); }, 3);
}

TEST(Simd, ExpKernelIsWithinTwoUlpOverTheWholeRange) {
  expect_close_to("exp", EMBER_KERNEL_OF(exp_f32), [](double v) { return std::exp(v); }, 2);
}

// sigmoid and silu compose exp with a few float operations; they are
// compared with their double values, except that e^-x overflows for
// x < -88.7 in float (so the results are 0 and -0, as with std::exp).
double float_exp(double v) { return double(std::exp(float(v))); }
TEST(Simd, SigmoidAndSiluAreCloseToTheirDoubleValues) {
  expect_close_to("sigmoid", EMBER_KERNEL_OF(sigmoid_f32), [](double v) { return 1 / (1 + float_exp(-v)); }, 4);
  expect_close_to("silu", EMBER_KERNEL_OF(silu_f32), [](double v) { return v / (1 + float_exp(-v)); }, 4);
}

// gelu's 1 + erf(x/sqrt2) cancels for negative x, in float as in PyTorch's own
// kernels, so it is compared against the same float formula built on std::erf.
TEST(Simd, GeluMatchesTheFloatFormula) {
  const std::vector<float> sample = [&] {
    std::vector<float> s;
    for (float v = -12.0f; v <= 12.0f; v += 0.00731f) s.push_back(v);
    return s;
  }();
  std::vector<float> y(sample.size());
  for_each_capability([&] {
    EMBER_SIMD(gelu_erf_f32)(sample.data(), y.data(), int64_t(sample.size()));
    for (size_t i = 0; i < sample.size(); ++i) {
      const float v = sample[i];
      const float want = v * 0.5f * (1.0f + std::erf(v * 0.707106781f));
      EXPECT_NEAR(y[i], want, 4e-7f * std::max(1.0f, std::abs(v))) << "gelu(" << v << ")";
    }
    EMBER_SIMD(gelu_tanh_f32)(sample.data(), y.data(), int64_t(sample.size()));
    for (size_t i = 0; i < sample.size(); ++i) {
      const float v = sample[i];
      const float want = 0.5f * v * (1.0f + std::tanh(0.797884561f * (v + 0.044715f * v * v * v)));
      EXPECT_NEAR(y[i], want, 4e-7f * std::max(1.0f, std::abs(v))) << "gelu_tanh(" << v << ")";
    }
  });
}

// ---- the ops' float32 array kernels (Note [Float32 array kernels]) ----

// Lengths around the vector widths and the parallel grain: empty, tails, and
// several chunks.
const int64_t kLengths[] = {0, 1, 15, 17, 1023, 70001};

// n normal values scaled by 4, with NaN, infinities and signed zeros
// scattered in where there is room.
Tensor test_values(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Tensor x = mul(randn({n}, DType::f32, &gen), 4.0).contiguous();
  float* p = x.data_ptr<float>();
  const float specials[] = {std::nanf(""), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), 0.0f, -0.0f, 1e-40f};
  for (size_t i = 0; i < std::size(specials) && int64_t(i * 7 + 3) < n; ++i) p[i * 7 + 3] = specials[i];
  return x;
}

// Same dtype, shape and bits (NaN payloads included).
void expect_same_bits(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const Tensor g = got.contiguous(), w = want.contiguous();
  EXPECT_EQ(std::memcmp(g.raw_data(), w.raw_data(), size_t(g.numel()) * g.itemsize()), 0) << what;
}

using UnaryOp = std::function<Tensor(const Tensor&)>;
const std::pair<const char*, UnaryOp> kUnaryOps[] = {
    {"neg", [](const Tensor& x) { return neg(x); }},
    {"abs", [](const Tensor& x) { return abs(x); }},
    {"relu", [](const Tensor& x) { return relu(x); }},
    {"exp", [](const Tensor& x) { return exp(x); }},
    {"log", [](const Tensor& x) { return log(x); }},
    {"sqrt", [](const Tensor& x) { return sqrt(x); }},
    {"rsqrt", [](const Tensor& x) { return rsqrt(x); }},
    {"tanh", [](const Tensor& x) { return tanh(x); }},
    {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
    {"silu", [](const Tensor& x) { return silu(x); }},
    {"erf", [](const Tensor& x) { return erf(x); }},
    {"gelu", [](const Tensor& x) { return gelu(x); }},
    {"gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }},
};

TEST(SimdOps, UnaryOpsGiveTheSameBitsForEveryLayout) {
  for_each_capability([] {
    for (int64_t n : kLengths) {
      const Tensor x = test_values(n, uint64_t(n));
      // Every other element of a (n, 2) tensor: a strided operand.
      const Tensor pairs = stack({x, neg(x)}, 1);
      const Tensor strided = pairs.select(1, 0);
      // One row broadcast to three: a stride-0 dim.
      const Tensor broadcast = x.reshape({1, n}).expand({3, n});
      for (const auto& [name, op] : kUnaryOps) {
        const std::string what = std::string(name) + " n=" + std::to_string(n);
        const Tensor want = op(x);
        expect_same_bits(op(strided), want, what + " strided");
        expect_same_bits(op(broadcast), op(broadcast.contiguous()), what + " broadcast");
      }
    }
  });
}

// The array kernels follow the functors' formulas: float64 through the
// functor, rounded to float32, lands within a few float32 ulp.
TEST(SimdOps, UnaryArrayKernelsAgreeWithTheFloat64Functors) {
  for_each_capability([] {
    const Tensor x = test_values(4099, 7);
    for (const auto& [name, op] : kUnaryOps) {
      const Tensor got = op(x), want = to_dtype(op(to_dtype(x, DType::f64)), DType::f32);
      const float* g = got.data_ptr<float>();
      const float* w = want.data_ptr<float>();
      const float* in = x.data_ptr<float>();
      int failures = 0;
      for (int64_t i = 0; i < x.numel(); ++i) {
        const bool both_nan = std::isnan(g[i]) && std::isnan(w[i]);
        // gelu cancels in 1 + erf(x / sqrt2) for x << 0 in float (as PyTorch's
        // float kernels), so absolute error is what is bounded there.
        const bool ok = both_nan || g[i] == w[i] ||
                        (std::isfinite(w[i]) && (ulp_distance(g[i], w[i]) <= 4 || std::abs(g[i] - w[i]) <= 1e-6f));
        if (!ok && failures++ < 3) ADD_FAILURE() << name << "(" << in[i] << ") = " << g[i] << ", float64 gives " << w[i];
      }
    }
  });
}

using BinaryOp = std::function<Tensor(const Tensor&, const Tensor&)>;
const std::pair<const char*, BinaryOp> kBinaryOps[] = {
    {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
    {"add_alpha", [](const Tensor& a, const Tensor& b) { return add(a, b, 0.5); }},
    {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
    {"sub_alpha", [](const Tensor& a, const Tensor& b) { return sub(a, b, 3); }},
    {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
    {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
    {"div_floor", [](const Tensor& a, const Tensor& b) { return div(a, b, "floor"); }},
    {"eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }},
    {"ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }},
    {"lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }},
    {"le", [](const Tensor& a, const Tensor& b) { return le(a, b); }},
    {"gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }},
    {"ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }},
    {"where", [](const Tensor& a, const Tensor& b) { return where(gt(a, 0.5), a, b); }},
};

TEST(SimdOps, BinaryOpsGiveTheSameBitsForEveryLayout) {
  for_each_capability([] {
    for (int64_t n : kLengths) {
      const Tensor a = test_values(n, uint64_t(n)), b = test_values(n, uint64_t(n) + 1000);
      const Tensor strided_b = stack({b, a}, 1).select(1, 0);
      const Tensor one = scalar_tensor(-1.25, DType::f32);
      const Tensor one_filled = full({n}, -1.25, DType::f32);
      const Tensor row = b.reshape({1, n}), rows = stack({a, b, neg(a)}, 0);
      for (const auto& [name, op] : kBinaryOps) {
        const std::string what = std::string(name) + " n=" + std::to_string(n);
        const Tensor want = op(a, b);
        expect_same_bits(op(a, strided_b), want, what + " strided");
        expect_same_bits(op(strided_b, a), op(b, a), what + " strided first");
        expect_same_bits(op(a, one), op(a, one_filled), what + " scalar second");
        expect_same_bits(op(one, a), op(one_filled, a), what + " scalar first");
        expect_same_bits(op(rows, row), op(rows, row.expand({3, n}).contiguous()), what + " broadcast row");
      }
    }
  });
}

// Python-number operands (wrapped as 0-d float64 or int64 tensors), in the
// forms the backward formulas use, e.g. relu's where(gt(y, 0), g, 0).
TEST(SimdOps, NumberOperandsMatchFilledTensors) {
  for_each_capability([] {
    for (int64_t n : kLengths) {
      const Tensor a = test_values(n, uint64_t(n)), g = test_values(n, uint64_t(n) + 1);
      const std::string what = "n=" + std::to_string(n);
      auto filled = [n](double v) { return full({n}, v, DType::f32); };
      expect_same_bits(add(a, 2.5), add(a, filled(2.5)), what + " add");
      expect_same_bits(sub(a, 1, 2), sub(a, filled(1), 2), what + " sub alpha");
      expect_same_bits(mul(a, 0.1), mul(a, filled(0.1)), what + " mul");
      expect_same_bits(div(3, a), div(filled(3), a), what + " div");
      expect_same_bits(gt(a, 0), gt(a, filled(0)), what + " gt");
      expect_same_bits(where(gt(a, 0), g, 0), where(gt(a, 0), g, filled(0)), what + " where");
      expect_same_bits(where(gt(a, 0), scalar_tensor(1.5, DType::f32), 0), where(gt(a, 0), filled(1.5), filled(0)),
                       what + " where numbers");
    }
  });
}

// In-place ops write through a strided output (the blocked scatter).
TEST(SimdOps, InPlaceOnAStridedTensorMatchesOutOfPlace) {
  for_each_capability([] {
    for (int64_t n : kLengths) {
      const Tensor a = test_values(n, uint64_t(n)), b = test_values(n, uint64_t(n) + 1);
      Tensor pairs = stack({a, b}, 1);
      Tensor column = pairs.select(1, 0);
      column.add_(b, 2);
      expect_same_bits(column, add(a, b, 2), "add_ n=" + std::to_string(n));
      column.mul_(b);
      expect_same_bits(column, mul(add(a, b, 2), b), "mul_ n=" + std::to_string(n));
      expect_same_bits(pairs.select(1, 1), b, "untouched n=" + std::to_string(n));
    }
  });
}

}  // namespace
}  // namespace ember
