#include "ember/core/dtype.h"

#include <ostream>

namespace ember {

std::string_view dtype_name(DType dt) {
  switch (dt) {
#define EMBER_DTYPE_CASE(name, type, str, st) \
  case DType::name:                          \
    return str;
    EMBER_FORALL_DTYPES(EMBER_DTYPE_CASE)
#undef EMBER_DTYPE_CASE
  }
  return "invalid";
}

std::string_view dtype_safetensors_name(DType dt) {
  switch (dt) {
#define EMBER_DTYPE_CASE(name, type, str, st) \
  case DType::name:                          \
    return st;
    EMBER_FORALL_DTYPES(EMBER_DTYPE_CASE)
#undef EMBER_DTYPE_CASE
  }
  return "invalid";
}

DType dtype_from_safetensors_name(std::string_view name) {
#define EMBER_DTYPE_CASE(n, type, str, st) \
  if (name == st) return DType::n;
  EMBER_FORALL_DTYPES(EMBER_DTYPE_CASE)
#undef EMBER_DTYPE_CASE
  EMBER_THROW(FormatError, "dtype '", name, "' is not supported by Ember");
}

size_t itemsize(DType dt) {
  return visit_dtype(dt, []<class T>() { return sizeof(T); });
}

std::ostream& operator<<(std::ostream& os, DType dt) { return os << dtype_name(dt); }

// torch.promote_types restricted to Ember's dtypes, as rules; the golden cases
// promote_types/* (scripts/goldens/promotion.py) check every pair against PyTorch.
DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::b8) return b;
  if (b == DType::b8) return a;
  const bool fa = is_floating(a), fb = is_floating(b);
  if (fa && fb) {
    if (a == DType::f64 || b == DType::f64) return DType::f64;
    return DType::f32;  // f16+bf16, or either with f32
  }
  if (fa) return a;
  if (fb) return b;
  if (a == DType::u8 || b == DType::u8) {
    const DType other = a == DType::u8 ? b : a;
    return other == DType::i8 ? DType::i16 : other;
  }
  return itemsize(a) >= itemsize(b) ? a : b;
}

}  // namespace ember
