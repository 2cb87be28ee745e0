#include "ember/core/tensor.h"
#include "ember/core/trace_hook.h"

#include <limits>
#include <ostream>

#include "ember/core/allocator.h"

namespace ember {

std::string shape_str(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Shape contiguous_strides(std::span<const int64_t> shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, std::string_view op) {
  const int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1
  EMBER_CHECK(dim >= -n && dim < n, IndexError, op, ": dim ", dim, " is out of range for a tensor with ", ndim,
              " dims (expected in [", -n, ", ", n - 1, "])");
  return dim < 0 ? dim + n : dim;
}

std::ostream& operator<<(std::ostream& os, Device d) {
  os << (d.type == DeviceType::cpu ? "cpu" : "cuda");
  if (d.type == DeviceType::cuda) os << ":" << d.index;
  return os;
}

std::ostream& operator<<(std::ostream& os, const Scalar& s) {
  if (s.is_floating()) return os << s.to_double();
  if (s.is_bool()) return os << (s.to_bool() ? "true" : "false");
  return os << s.to_int();
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  EMBER_CHECK(device.is_cpu(), NotImplementedError, "Storage: device ", device,
              " needs Ember built with EMBER_CUDA=ON");
  data_ = cpu_allocate(nbytes);
}

Storage::Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> release)
    : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)) {}

Storage::~Storage() {
  if (release_) release_(data_);
  else cpu_free(data_, nbytes_);
}

Tensor Tensor::empty(Shape sizes, DType dtype, Device device) {
  // Sizes may come from files: the element count, the strides (which skip
  // zero dims) and the byte count must all fit before anything is computed.
  int64_t extent = 1;
  for (int64_t s : sizes) {
    EMBER_CHECK(s >= 0, ShapeError, "empty: negative dimension in shape ", shape_str(sizes));
    EMBER_CHECK(s <= 1 || extent <= std::numeric_limits<int64_t>::max() / int64_t(ember::itemsize(dtype)) / s,
                ShapeError, "empty: shape ", shape_str(sizes), " of ", dtype, " is too large");
    extent *= std::max<int64_t>(s, 1);
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape_numel(sizes)) * ember::itemsize(dtype), device);
  impl->version = std::shared_ptr<VersionCounter>(impl->storage, &impl->storage->version_counter());
  impl->strides = contiguous_strides(sizes);
  impl->sizes = std::move(sizes);
  impl->dtype = dtype;
  impl->device = device;
  return Tensor(std::move(impl));
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset,
                            DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->device = storage->device();
  impl->version = std::shared_ptr<VersionCounter>(storage, &storage->version_counter());
  impl->storage = std::move(storage);
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

TensorImpl& Tensor::impl() const {
  EMBER_CHECK(impl_ != nullptr, ValueError, "use of an undefined Tensor (default-constructed or moved-from)");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const { return impl().sizes[size_t(wrap_dim(d, dim(), "size"))]; }
int64_t Tensor::stride(int64_t d) const { return impl().strides[size_t(wrap_dim(d, dim(), "stride"))]; }

bool Tensor::is_contiguous() const {
  const auto& s = sizes();
  const auto& st = strides();
  int64_t expected = 1;
  for (size_t i = s.size(); i-- > 0;) {
    if (s[i] == 1) continue;
    if (s[i] == 0) return true;
    if (st[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

std::string Tensor::meta_str() const {
  return std::string(dtype_name(dtype())) + shape_str(sizes());
}

void* Tensor::raw_data() const {
  const auto& i = impl();
  return static_cast<char*>(i.storage->data()) + i.offset * int64_t(ember::itemsize(i.dtype));
}

void notify_host_read(const Tensor& t, const char* what) {
  if (TraceHook* hook = trace_hook()) [[unlikely]] hook->read_on_host(t, what);
}

Scalar Tensor::item() const {
  EMBER_CHECK(numel() == 1, ValueError, "item: tensor with ", numel(), " elements cannot be converted to a scalar");
  notify_host_read(*this, "item()");
  return visit_dtype(dtype(), [&]<class T>() -> Scalar {
    const T v = *static_cast<const T*>(raw_data());
    if constexpr (is_floating_v<T>) return Scalar(double(v));
    else if constexpr (std::is_same_v<T, bool>) return Scalar(v);
    else return Scalar(int64_t(v));
  });
}

}  // namespace ember
