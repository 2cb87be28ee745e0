#pragma once
// Tensor factories. Names and arguments as in PyTorch.
//   auto x = ember::arange(0, 6).reshape({2, 3});
//   auto w = ember::randn({128, 64}) * 0.02;
#include <initializer_list>
#include <optional>
#include <vector>

#include "ember/core/generator.h"
#include "ember/core/tensor.h"

namespace ember {

Tensor empty(Shape sizes, DType dtype = DType::f32);
Tensor zeros(Shape sizes, DType dtype = DType::f32);
Tensor ones(Shape sizes, DType dtype = DType::f32);
Tensor full(Shape sizes, Scalar value, std::optional<DType> dtype = {});  // dtype from value if unset
Tensor empty_like(const Tensor& t, std::optional<DType> dtype = {});
Tensor zeros_like(const Tensor& t, std::optional<DType> dtype = {});
Tensor ones_like(const Tensor& t, std::optional<DType> dtype = {});
Tensor full_like(const Tensor& t, Scalar value, std::optional<DType> dtype = {});
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);
// [start, end) with step; dtype i64 if all arguments are integers, else f32.
Tensor arange(Scalar end);
Tensor arange(Scalar start, Scalar end, Scalar step = 1, std::optional<DType> dtype = {});
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::f32);
Tensor eye(int64_t n, std::optional<int64_t> m = {}, DType dtype = DType::f32);
Tensor one_hot(const Tensor& indices, int64_t num_classes = -1);  // i64 result

// From C++ values: tensor({1.f, 2.f}) is f32, tensor({1, 2}) is i64 (as torch.tensor).
template <class T> Tensor tensor(std::initializer_list<T> values, std::optional<DType> dtype = {});
template <class T> Tensor tensor(const std::vector<T>& values, Shape sizes, std::optional<DType> dtype = {});
Tensor scalar_tensor(Scalar value, std::optional<DType> dtype = {});  // 0-d

// Random (default generator unless one is given).
Tensor rand(Shape sizes, DType dtype = DType::f32, Generator* gen = nullptr);   // U[0, 1)
Tensor randn(Shape sizes, DType dtype = DType::f32, Generator* gen = nullptr);  // N(0, 1)
Tensor randint(int64_t low, int64_t high, Shape sizes, DType dtype = DType::i64, Generator* gen = nullptr);
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);  // same dtype as p, values 0/1
Tensor bernoulli(Shape sizes, double p, DType dtype = DType::f32, Generator* gen = nullptr);
Tensor randperm(int64_t n, DType dtype = DType::i64, Generator* gen = nullptr);
// In-place fills used by init functions.
Tensor& uniform_(Tensor& t, double low = 0, double high = 1, Generator* gen = nullptr);
Tensor& normal_(Tensor& t, double mean = 0, double std = 1, Generator* gen = nullptr);

// ---- template definitions ----
namespace detail {
Tensor tensor_from_data(const void* data, DType src_dtype, Shape sizes, std::optional<DType> dtype);
template <class T> constexpr DType literal_dtype() {
  if constexpr (std::is_same_v<T, bool>) return DType::b8;
  else if constexpr (std::is_floating_point_v<T>) return DType::f32;
  else if constexpr (std::is_integral_v<T>) return DType::i64;
  else return dtype_v<T>;
}
}  // namespace detail

template <class T> Tensor tensor(std::initializer_list<T> values, std::optional<DType> dtype) {
  return tensor(std::vector<T>(values), Shape{int64_t(values.size())}, dtype ? dtype : detail::literal_dtype<T>());
}
template <class T> Tensor tensor(const std::vector<T>& values, Shape sizes, std::optional<DType> dtype) {
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(values.begin(), values.end());
    return detail::tensor_from_data(bytes.data(), DType::b8, std::move(sizes), dtype ? dtype : DType::b8);
  } else {
    EMBER_CHECK(int64_t(values.size()) == shape_numel(sizes), ShapeError, "tensor: ", values.size(),
                " values do not fill shape ", shape_str(sizes));
    return detail::tensor_from_data(values.data(), dtype_v<T>, std::move(sizes),
                                    dtype ? dtype : detail::literal_dtype<T>());
  }
}

}  // namespace ember
