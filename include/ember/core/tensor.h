#pragma once
// Tensor: a refcounted handle to sizes, strides and an offset over shared
// storage. Copying a Tensor copies the handle (like torch.Tensor in Python);
// views share storage and a version counter with their base.
//
//   auto x = ember::tensor({1.f, 2.f, 3.f, 4.f}).reshape({2, 2});
//   auto y = (x * 2 + 1).sum();      // free functions live in ember/ops/*.h
//   std::cout << x.t() << "\n";      // prints like PyTorch's repr
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ember/core/device.h"
#include "ember/core/dtype.h"
#include "ember/core/error.h"
#include "ember/core/scalar.h"
#include "ember/core/shape.h"

namespace ember {

std::string shape_str(std::span<const int64_t> shape);  // "[2, 3]"
int64_t shape_numel(std::span<const int64_t> shape);
Shape contiguous_strides(std::span<const int64_t> shape);

class Tensor;
using TensorList = std::vector<Tensor>;

namespace autograd {
class Node;
}

// Counts in-place modifications of a storage region; shared by a tensor and
// its views so autograd can tell when a saved tensor was overwritten.
struct VersionCounter {
  uint32_t version = 0;
};

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  // Wraps memory owned elsewhere; `release` is called when the storage dies.
  Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // Every tensor over this storage shares one counter: views and detached
  // aliases see each other's in-place writes. It lives here rather than in a
  // block of its own so that a new tensor costs one allocation less.
  VersionCounter& version_counter() { return version_; }

 private:
  VersionCounter version_;
  void* data_;
  size_t nbytes_;
  Device device_;
  std::function<void(void*)> release_;
};

using GradHook = std::function<Tensor(const Tensor&)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape sizes;
  Shape strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  Device device = kCPU;
  // Points into the storage (see Storage::version_counter); set by
  // Tensor::empty / from_storage and copied by views.
  std::shared_ptr<VersionCounter> version;
  // The tensor this one is a view of (null if it owns its storage region).
  std::shared_ptr<TensorImpl> view_base;

  // A number the user wrote (x + 2): promotes like a Python scalar, below
  // every tensor of its category (see Note [Type promotion] in ops/promotion.cpp).
  bool is_wrapped_number = false;

  // Autograd state. A leaf has requires_grad set by the user and no grad_fn; a
  // non-leaf that requires grad has the grad_fn that produced it.
  bool requires_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;
  uint32_t output_nr = 0;
  std::shared_ptr<TensorImpl> grad;
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves: shared by every use
  bool retains_grad = false;
  std::vector<GradHook> hooks;
};

// A[...] indexing, in a readable C++ form:
//   x.index({0, Slice(1, None), None, Ellipsis, mask})
struct NoneIndex {};
inline constexpr NoneIndex None{};
struct EllipsisIndex {};
inline constexpr EllipsisIndex Ellipsis{};
struct Slice {
  std::optional<int64_t> start, stop;
  int64_t step = 1;
  Slice(std::optional<int64_t> start_ = std::nullopt, std::optional<int64_t> stop_ = std::nullopt,
        int64_t step_ = 1)
      : start(start_), stop(stop_), step(step_) {}
  Slice(std::optional<int64_t> start_, NoneIndex, int64_t step_ = 1) : start(start_), step(step_) {}
  Slice(NoneIndex, std::optional<int64_t> stop_, int64_t step_ = 1) : stop(stop_), step(step_) {}
  Slice(NoneIndex, NoneIndex, int64_t step_ = 1) : step(step_) {}
};
class TensorIndex;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Allocates an uninitialized contiguous tensor.
  static Tensor empty(Shape sizes, DType dtype = DType::f32, Device device = kCPU);
  // A view over `storage` with explicit geometry (internal: as_strided).
  static Tensor from_storage(std::shared_ptr<Storage> storage, Shape sizes, Shape strides,
                             int64_t offset, DType dtype);

  bool defined() const { return impl_ != nullptr; }
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- metadata ----
  const Shape& sizes() const { return impl().sizes; }
  const Shape& shape() const { return impl().sizes; }
  const Shape& strides() const { return impl().strides; }
  int64_t size(int64_t dim) const;    // negative dims count from the end
  int64_t stride(int64_t dim) const;
  int64_t dim() const { return int64_t(impl().sizes.size()); }
  int64_t numel() const { return shape_numel(impl().sizes); }
  int64_t storage_offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().device; }
  size_t itemsize() const { return ember::itemsize(dtype()); }
  bool is_contiguous() const;
  bool is_floating_point() const { return is_floating(dtype()); }
  std::string meta_str() const;  // "float32[2, 3]"

  // ---- raw data (CPU) ----
  void* raw_data() const;  // points at element [0, ..., 0]
  template <class T> T* data_ptr() const {
    EMBER_CHECK(dtype_v<T> == dtype(), DTypeError, "data_ptr: tensor is ", dtype(), ", asked for ",
                dtype_v<T>);
    return static_cast<T*>(raw_data());
  }
  template <class T> T item() const;  // one-element tensor -> value
  Scalar item() const;
  template <class T> std::vector<T> to_vector() const;  // contiguous copy, row-major

  // ---- autograd ----
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  void backward(const Tensor& gradient = {}, bool retain_graph = false, bool create_graph = false) const;
  void retain_grad() const;
  bool retains_grad() const { return impl().retains_grad; }
  // hook(grad) -> replacement grad (or an undefined Tensor to keep it).
  void register_hook(GradHook hook) const;
  Tensor detach() const;  // shares storage, no history
  Tensor& detach_();
  uint32_t version() const { return impl().version->version; }
  void bump_version() const { ++impl().version->version; }

  // ---- views (share storage) ----
  Tensor view(Shape sizes) const;
  Tensor reshape(Shape sizes) const;
  Tensor permute(Shape dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;
  Tensor slice(int64_t dim, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step = 1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(Shape sizes) const;
  Tensor expand_as(const Tensor& other) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor unflatten(int64_t dim, Shape sizes) const;
  Tensor as_strided(Shape sizes, Shape strides, std::optional<int64_t> offset = {}) const;
  Tensor contiguous() const;
  Tensor operator[](int64_t index) const;  // select(0, index)
  Tensor index(std::initializer_list<TensorIndex> indices) const;
  Tensor index(const std::vector<TensorIndex>& indices) const;
  void index_put_(const std::vector<TensorIndex>& indices, const Tensor& values);
  void index_put_(const std::vector<TensorIndex>& indices, Scalar value);

  // ---- conversions ----
  Tensor to(DType dtype) const;  // same tensor if dtype matches
  Tensor clone() const;

  // ---- in-place (bump the version counter) ----
  Tensor& add_(const Tensor& other, Scalar alpha = 1);
  Tensor& add_(Scalar other);
  Tensor& sub_(const Tensor& other, Scalar alpha = 1);
  Tensor& sub_(Scalar other);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(Scalar other);
  Tensor& div_(const Tensor& other);
  Tensor& div_(Scalar other);
  Tensor& zero_();
  Tensor& fill_(Scalar value);
  Tensor& copy_(const Tensor& src);
  Tensor& clamp_(std::optional<Scalar> min, std::optional<Scalar> max);
  Tensor& masked_fill_(const Tensor& mask, Scalar value);

  // ---- method forms of common ops (same as the free functions) ----
  Tensor sum() const;
  Tensor sum(Shape dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(Shape dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  Tensor argmax(std::optional<int64_t> dim = {}, bool keepdim = false) const;
  Tensor abs() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor pow(Scalar exponent) const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;
  Tensor matmul(const Tensor& other) const;
  Tensor mm(const Tensor& other) const;
  Tensor eq(const Tensor& other) const;
  Tensor all() const;
  Tensor any() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

class TensorIndex {
 public:
  TensorIndex(int64_t i) : v_(i) {}  // NOLINT
  TensorIndex(int i) : v_(int64_t(i)) {}  // NOLINT
  TensorIndex(Slice s) : v_(s) {}  // NOLINT
  TensorIndex(NoneIndex n) : v_(n) {}  // NOLINT
  TensorIndex(EllipsisIndex e) : v_(e) {}  // NOLINT
  TensorIndex(Tensor t) : v_(std::move(t)) {}  // NOLINT
  const std::variant<int64_t, Slice, NoneIndex, EllipsisIndex, Tensor>& value() const { return v_; }

 private:
  std::variant<int64_t, Slice, NoneIndex, EllipsisIndex, Tensor> v_;
};

// Arithmetic operators (defined with the ops).
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(Scalar a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, Scalar b);
Tensor operator<(const Tensor& a, Scalar b);
Tensor operator>(const Tensor& a, Scalar b);
Tensor operator&&(const Tensor& a, const Tensor& b);
Tensor operator||(const Tensor& a, const Tensor& b);
Tensor operator!(const Tensor& a);

// Printing like PyTorch's repr: values with elision, then dtype and shape.
std::ostream& operator<<(std::ostream& os, const Tensor& t);
struct PrintOptions {
  int precision = 4;
  int64_t threshold = 1000;  // elide when numel exceeds this
  int64_t edgeitems = 3;
};
void set_print_options(const PrintOptions& options);
std::string to_string(const Tensor& t);

template <class T> T Tensor::item() const {
  EMBER_CHECK(numel() == 1, ValueError, "item: tensor with ", numel(),
              " elements cannot be converted to a scalar");
  return item().to<T>();
}

// Tells an active tracer that host code reads t's value (see ember/core/trace_hook.h).
void notify_host_read(const Tensor& t, const char* what);

template <class T> std::vector<T> Tensor::to_vector() const {
  notify_host_read(*this, "to_vector()");
  Tensor c = to(dtype_v<T>).contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

// Normalizes a possibly negative dim for a tensor of rank `ndim`; throws
// IndexError naming `op`.
int64_t wrap_dim(int64_t dim, int64_t ndim, std::string_view op);

}  // namespace ember
