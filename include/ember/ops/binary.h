#pragma once
// Elementwise functions of two or three tensors, with broadcasting and
// PyTorch's type promotion. Every binary op also takes a Scalar on either side.
#include <optional>
#include <string_view>

#include "ember/core/tensor.h"

namespace ember {

#define EMBER_DECLARE_BINARY(name)                 \
  Tensor name(const Tensor& a, const Tensor& b);   \
  Tensor name(const Tensor& a, Scalar b);          \
  Tensor name(Scalar a, const Tensor& b);

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha = 1);  // a + alpha * b
Tensor add(const Tensor& a, Scalar b, Scalar alpha = 1);
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha = 1);  // a - alpha * b
Tensor sub(const Tensor& a, Scalar b, Scalar alpha = 1);
EMBER_DECLARE_BINARY(mul)
EMBER_DECLARE_BINARY(pow)
EMBER_DECLARE_BINARY(remainder)  // sign of the divisor, like Python's %
EMBER_DECLARE_BINARY(maximum)
EMBER_DECLARE_BINARY(minimum)
EMBER_DECLARE_BINARY(atan2)
EMBER_DECLARE_BINARY(eq)
EMBER_DECLARE_BINARY(ne)
EMBER_DECLARE_BINARY(lt)
EMBER_DECLARE_BINARY(le)
EMBER_DECLARE_BINARY(gt)
EMBER_DECLARE_BINARY(ge)
EMBER_DECLARE_BINARY(logical_and)
EMBER_DECLARE_BINARY(logical_or)
EMBER_DECLARE_BINARY(logical_xor)
#undef EMBER_DECLARE_BINARY

// rounding_mode: none (true division, float result), "floor" or "trunc".
Tensor div(const Tensor& a, const Tensor& b, std::optional<std::string_view> rounding_mode = {});
Tensor div(const Tensor& a, Scalar b, std::optional<std::string_view> rounding_mode = {});
Tensor div(Scalar a, const Tensor& b, std::optional<std::string_view> rounding_mode = {});
Tensor floor_divide(const Tensor& a, const Tensor& b);

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, Scalar b);
Tensor where(const Tensor& condition, Scalar a, const Tensor& b);
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);  // 0-d value
Tensor lerp(const Tensor& start, const Tensor& end, Scalar weight);  // start + w * (end - start)
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);

// Sums `x` down to `sizes` (the inverse of broadcasting); used for gradients.
Tensor sum_to(const Tensor& x, const Shape& sizes);
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

}  // namespace ember
