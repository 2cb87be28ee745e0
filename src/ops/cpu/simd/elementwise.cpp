// Binary kernels, one copy per CPU capability (Note [Per-capability kernels]).
#include "elementwise.h"

#include <cmath>

namespace ember::cpu::EMBER_CPU_NS {

namespace {
// One loop per operand layout, so each is a plain loop over arrays (a
// broadcast operand read once, outside the loop).
template <class A, class B, class Y, class F>
void binary(const A* a, const B* b, Y* y, int64_t n, ScalarOperand scalar, F f) {
  switch (scalar) {
    case ScalarOperand::none:
      for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
      break;
    case ScalarOperand::first: {
      const A av = *a;
      for (int64_t i = 0; i < n; ++i) y[i] = f(av, b[i]);
      break;
    }
    case ScalarOperand::second: {
      const B bv = *b;
      for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], bv);
      break;
    }
    case ScalarOperand::both: {
      const Y v = f(*a, *b);
      for (int64_t i = 0; i < n; ++i) y[i] = v;
      break;
    }
  }
}
}  // namespace

// alpha * b is fused into the addition, as in PyTorch's vectorized add; an
// explicit fma also keeps the rounding the same whichever operand is
// broadcast (the compiler could otherwise contract some loops and not others).
void add_f32(const float* a, const float* b, float* y, int64_t n, ScalarOperand scalar, float alpha) {
  if (alpha == 1.0f) binary(a, b, y, n, scalar, [](float u, float v) { return u + v; });
  else binary(a, b, y, n, scalar, [alpha](float u, float v) { return std::fma(alpha, v, u); });
}
void sub_f32(const float* a, const float* b, float* y, int64_t n, ScalarOperand scalar, float alpha) {
  if (alpha == 1.0f) binary(a, b, y, n, scalar, [](float u, float v) { return u - v; });
  else binary(a, b, y, n, scalar, [alpha](float u, float v) { return std::fma(-alpha, v, u); });
}
void mul_f32(const float* a, const float* b, float* y, int64_t n, ScalarOperand scalar) {
  binary(a, b, y, n, scalar, [](float u, float v) { return u * v; });
}
void div_f32(const float* a, const float* b, float* y, int64_t n, ScalarOperand scalar) {
  binary(a, b, y, n, scalar, [](float u, float v) { return u / v; });
}

void eq_f32(const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar) {
  binary(a, b, y, n, scalar, [](float u, float v) { return u == v; });
}
void ne_f32(const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar) {
  binary(a, b, y, n, scalar, [](float u, float v) { return u != v; });
}
void lt_f32(const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar) {
  binary(a, b, y, n, scalar, [](float u, float v) { return u < v; });
}
void le_f32(const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar) {
  binary(a, b, y, n, scalar, [](float u, float v) { return u <= v; });
}
void gt_f32(const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar) {
  binary(a, b, y, n, scalar, [](float u, float v) { return u > v; });
}
void ge_f32(const float* a, const float* b, bool* y, int64_t n, ScalarOperand scalar) {
  binary(a, b, y, n, scalar, [](float u, float v) { return u >= v; });
}

namespace {
// A bit-mask select on the stored bits, so both values are loaded every time
// (a conditional load would keep the loop scalar). The condition is read as
// the byte a bool is stored in (0 or 1): GCC does not vectorize bool widening.
template <class T>
T select(uint8_t condition, T a, T b) {
  const T mask = T(0) - T(condition);
  return (a & mask) | (b & ~mask);
}

template <class T>
void where(const bool* condition_bools, const T* a, const T* b, T* y, int64_t n, ScalarOperand scalar) {
  const auto* condition = reinterpret_cast<const uint8_t*>(condition_bools);
  switch (scalar) {
    case ScalarOperand::none:
      for (int64_t i = 0; i < n; ++i) y[i] = select(condition[i], a[i], b[i]);
      break;
    case ScalarOperand::first: {
      const T av = *a;
      for (int64_t i = 0; i < n; ++i) y[i] = select(condition[i], av, b[i]);
      break;
    }
    case ScalarOperand::second: {
      const T bv = *b;
      for (int64_t i = 0; i < n; ++i) y[i] = select(condition[i], a[i], bv);
      break;
    }
    case ScalarOperand::both: {
      const T av = *a, bv = *b;
      for (int64_t i = 0; i < n; ++i) y[i] = select(condition[i], av, bv);
      break;
    }
  }
}
}  // namespace

void where_32(const bool* condition, const uint32_t* a, const uint32_t* b, uint32_t* y, int64_t n,
              ScalarOperand scalar) {
  where(condition, a, b, y, n, scalar);
}
void where_64(const bool* condition, const uint64_t* a, const uint64_t* b, uint64_t* y, int64_t n,
              ScalarOperand scalar) {
  where(condition, a, b, y, n, scalar);
}

}  // namespace ember::cpu::EMBER_CPU_NS
