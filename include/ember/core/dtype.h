#pragma once
// Element types. One X-macro lists them; visit_dtype turns a runtime DType into
// a compile-time type, so kernels are written once as templates.
#include <bit>
#include <cstdint>
#include <cstring>
#include <iosfwd>
#include <string_view>

#include "ember/core/error.h"

namespace ember {

// Note [Half and bfloat16 storage]
// Both are 16-bit storage types; arithmetic happens in float (as PyTorch does
// on the CPU). Conversions round to nearest even.
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  BFloat16(float f) : bits(from_float(f)) {}  // NOLINT: implicit like a float type
  operator float() const { return std::bit_cast<float>(uint32_t(bits) << 16); }
  static uint16_t from_float(float f) {
    uint32_t u = std::bit_cast<uint32_t>(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
  }
};

struct Half {
  uint16_t bits = 0;
  Half() = default;
  Half(float f) : bits(from_float(f)) {}  // NOLINT
  operator float() const { return to_float(bits); }
  static uint16_t from_float(float f);
  static float to_float(uint16_t h);
};

inline uint16_t Half::from_float(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return uint16_t(sign | 0x7e00u);  // NaN
  if (u >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (u < 0x38800000u) {
    // Result is subnormal (or zero): add a magic number so the FPU rounds the
    // mantissa to the 2^-24 grid for us.
    const float magic = std::bit_cast<float>(0x3f000000u);  // 0.5: ulp 2^-24 after scaling
    const float r = std::bit_cast<float>(u) + magic;
    return uint16_t(sign | (std::bit_cast<uint32_t>(r) - 0x3f000000u));
  }
  const uint32_t mant_odd = (u >> 13) & 1u;
  u += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round to nearest even
  return uint16_t(sign | (u >> 13));
}

inline float Half::to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    const float v = float(mant) * std::bit_cast<float>(0x33800000u);
    return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(v));
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

// _(enum name, C++ type, printed name, safetensors name)
#define EMBER_FORALL_DTYPES(_)                   \
  _(f32, float, "float32", "F32")                \
  _(f64, double, "float64", "F64")               \
  _(bf16, ::ember::BFloat16, "bfloat16", "BF16") \
  _(f16, ::ember::Half, "float16", "F16")        \
  _(i8, int8_t, "int8", "I8")                    \
  _(u8, uint8_t, "uint8", "U8")                  \
  _(i16, int16_t, "int16", "I16")                \
  _(i32, int32_t, "int32", "I32")                \
  _(i64, int64_t, "int64", "I64")                \
  _(b8, bool, "bool", "BOOL")

enum class DType : uint8_t {
#define EMBER_DTYPE_ENUM(name, type, str, st) name,
  EMBER_FORALL_DTYPES(EMBER_DTYPE_ENUM)
#undef EMBER_DTYPE_ENUM
};
inline constexpr int kNumDTypes = 10;

template <class T> struct dtype_of;
#define EMBER_DTYPE_OF(name, type, str, st) \
  template <> struct dtype_of<type> { static constexpr DType value = DType::name; };
EMBER_FORALL_DTYPES(EMBER_DTYPE_OF)
#undef EMBER_DTYPE_OF
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

std::string_view dtype_name(DType dt);              // "float32"
std::string_view dtype_safetensors_name(DType dt);  // "F32"
DType dtype_from_safetensors_name(std::string_view name);  // throws FormatError
size_t itemsize(DType dt);
std::ostream& operator<<(std::ostream& os, DType dt);

inline bool is_floating(DType dt) {
  return dt == DType::f32 || dt == DType::f64 || dt == DType::bf16 || dt == DType::f16;
}
inline bool is_integral(DType dt, bool include_bool = false) {
  return !is_floating(dt) && (include_bool || dt != DType::b8);
}

// PyTorch's torch.promote_types over Ember's dtypes (table in dtype.cpp,
// generated from PyTorch and committed).
DType promote_types(DType a, DType b);
// The float dtype used when an integer tensor meets a float scalar or a
// true division (torch.get_default_dtype()).
inline constexpr DType kDefaultFloat = DType::f32;

// Calls f.template operator()<T>() with T the C++ type of dt.
template <class F>
decltype(auto) visit_dtype(DType dt, F&& f) {
  switch (dt) {
#define EMBER_DTYPE_CASE(name, type, str, st) \
  case DType::name:                          \
    return f.template operator()<type>();
    EMBER_FORALL_DTYPES(EMBER_DTYPE_CASE)
#undef EMBER_DTYPE_CASE
  }
  EMBER_INTERNAL_ASSERT(false, "bad dtype ", int(dt));
  return f.template operator()<float>();
}

// The type arithmetic happens in: float for the 16-bit floats, else T.
template <class T> struct compute_type { using type = T; };
template <> struct compute_type<BFloat16> { using type = float; };
template <> struct compute_type<Half> { using type = float; };
template <class T> using compute_t = typename compute_type<T>::type;

template <class T> inline constexpr bool is_floating_v =
    std::is_floating_point_v<T> || std::is_same_v<T, BFloat16> || std::is_same_v<T, Half>;

}  // namespace ember
