#pragma once
// A number passed where a tensor could be (x + 2, clamp(x, 0.0, 1.0)). It
// remembers whether it was written as bool, integer or floating point, because
// type promotion depends on that (int tensor + 2.5 -> float tensor).
#include <cstdint>
#include <iosfwd>
#include <type_traits>

#include "ember/core/dtype.h"

namespace ember {

class Scalar {
 public:
  enum class Kind : uint8_t { boolean, integer, floating };
  Scalar() : kind_(Kind::integer), i_(0) {}
  template <class T>
    requires std::is_arithmetic_v<T>
  Scalar(T v) {  // NOLINT: implicit, numbers are scalars
    if constexpr (std::is_same_v<T, bool>) {
      kind_ = Kind::boolean;
      i_ = v;
    } else if constexpr (std::is_integral_v<T>) {
      kind_ = Kind::integer;
      i_ = int64_t(v);
    } else {
      kind_ = Kind::floating;
      d_ = double(v);
    }
  }
  Kind kind() const { return kind_; }
  bool is_floating() const { return kind_ == Kind::floating; }
  bool is_integral() const { return kind_ == Kind::integer; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  double to_double() const { return kind_ == Kind::floating ? d_ : double(i_); }
  int64_t to_int() const { return kind_ == Kind::floating ? int64_t(d_) : i_; }
  bool to_bool() const { return kind_ == Kind::floating ? d_ != 0 : i_ != 0; }
  template <class T> T to() const {
    if constexpr (std::is_same_v<T, bool>) return to_bool();
    else if constexpr (is_floating_v<T>) return T(to_double());
    else return kind_ == Kind::floating ? T(d_) : T(i_);
  }
  // The dtype a tensor made from this scalar alone would have.
  DType dtype() const {
    return kind_ == Kind::boolean ? DType::b8 : kind_ == Kind::integer ? DType::i64 : kDefaultFloat;
  }
  bool operator==(const Scalar& o) const {
    return kind_ == o.kind_ && (kind_ == Kind::floating ? d_ == o.d_ : i_ == o.i_);
  }

 private:
  Kind kind_;
  union {
    int64_t i_;
    double d_;
  };
};

std::ostream& operator<<(std::ostream& os, const Scalar& s);

}  // namespace ember
