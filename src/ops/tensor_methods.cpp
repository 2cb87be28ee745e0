// Tensor's method forms: each forwards to the free function of the same name.
#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "ember/ops/index.h"
#include "ember/ops/linalg.h"
#include "ember/ops/nn.h"
#include "ember/ops/reduce.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"

namespace ember {

Tensor Tensor::view(Shape s) const { return ember::view(*this, std::move(s)); }
Tensor Tensor::reshape(Shape s) const { return ember::reshape(*this, std::move(s)); }
Tensor Tensor::permute(Shape dims) const { return ember::permute(*this, std::move(dims)); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return ember::transpose(*this, a, b); }
Tensor Tensor::t() const {
  EMBER_CHECK(dim() <= 2, ShapeError, "t: expects a tensor with <= 2 dimensions, but it has ", dim());
  return ember::transpose(*this, 0, dim() < 2 ? 0 : 1);  // a view even when nothing moves, as PyTorch
}
Tensor Tensor::slice(int64_t d, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) const {
  return ember::slice(*this, d, start, stop, step);
}
Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const { return ember::narrow(*this, d, start, length); }
Tensor Tensor::select(int64_t d, int64_t i) const { return ember::select(*this, d, i); }
Tensor Tensor::expand(Shape s) const { return ember::expand(*this, std::move(s)); }
Tensor Tensor::expand_as(const Tensor& other) const { return ember::expand(*this, other.sizes()); }
Tensor Tensor::squeeze() const { return ember::squeeze(*this); }
Tensor Tensor::squeeze(int64_t d) const { return ember::squeeze(*this, d); }
Tensor Tensor::unsqueeze(int64_t d) const { return ember::unsqueeze(*this, d); }
Tensor Tensor::flatten(int64_t s, int64_t e) const { return ember::flatten(*this, s, e); }
Tensor Tensor::unflatten(int64_t d, Shape s) const { return ember::unflatten(*this, d, std::move(s)); }
Tensor Tensor::as_strided(Shape s, Shape st, std::optional<int64_t> o) const {
  return ember::as_strided(*this, std::move(s), std::move(st), o);
}
Tensor Tensor::contiguous() const { return ember::contiguous(*this); }
Tensor Tensor::operator[](int64_t i) const { return ember::select(*this, 0, i); }
Tensor Tensor::to(DType dt) const { return to_dtype(*this, dt); }
Tensor Tensor::clone() const { return ember::clone(*this); }

Tensor Tensor::sum() const { return ember::sum(*this); }
Tensor Tensor::sum(Shape dims, bool keepdim) const { return ember::sum(*this, std::move(dims), keepdim); }
Tensor Tensor::mean() const { return ember::mean(*this); }
Tensor Tensor::mean(Shape dims, bool keepdim) const { return ember::mean(*this, std::move(dims), keepdim); }
Tensor Tensor::max() const { return ember::max(*this); }
Tensor Tensor::min() const { return ember::min(*this); }
Tensor Tensor::argmax(std::optional<int64_t> d, bool keepdim) const { return ember::argmax(*this, d, keepdim); }
Tensor Tensor::abs() const { return ember::abs(*this); }
Tensor Tensor::exp() const { return ember::exp(*this); }
Tensor Tensor::log() const { return ember::log(*this); }
Tensor Tensor::sqrt() const { return ember::sqrt(*this); }
Tensor Tensor::pow(Scalar e) const { return ember::pow(*this, e); }
Tensor Tensor::relu() const { return ember::relu(*this); }
Tensor Tensor::sigmoid() const { return ember::sigmoid(*this); }
Tensor Tensor::tanh() const { return ember::tanh(*this); }
Tensor Tensor::softmax(int64_t d) const { return ember::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return ember::log_softmax(*this, d); }
Tensor Tensor::matmul(const Tensor& o) const { return ember::matmul(*this, o); }
Tensor Tensor::mm(const Tensor& o) const { return ember::mm(*this, o); }
Tensor Tensor::eq(const Tensor& o) const { return ember::eq(*this, o); }
Tensor Tensor::all() const { return ember::all(*this); }
Tensor Tensor::any() const { return ember::any(*this); }

}  // namespace ember
