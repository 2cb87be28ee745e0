// In-place methods (add_, mul_, copy_, ...). Without autograd they write
// straight into the tensor; when recording, the new value is computed out of
// place from a clone of the old one (so saved values stay intact) and the
// tensor adopts the result's history. Every path bumps the version counter.
#include "ember/autograd/autograd.h"
#include "ember/ops/binary.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"
#include "defs.h"
#include "iter.h"

namespace ember {

namespace {

bool recording(const Tensor& self, std::initializer_list<const Tensor*> others) {
  if (!autograd::GradMode::is_enabled()) return false;
  bool any = self.requires_grad();
  for (const Tensor* t : others) any = any || (t->defined() && t->requires_grad());
  return any;
}

// `recording`: the new value will carry autograd history.
void check_inplace_allowed(const Tensor& self, std::string_view op, bool recording) {
  if (!autograd::GradMode::is_enabled()) return;
  EMBER_CHECK(!(self.requires_grad() && self.is_leaf()), AutogradError, op,
              ": a leaf tensor that requires grad is being used in an in-place operation; wrap it in "
              "autograd::NoGradGuard (as optimizers do) or use the out-of-place op");
  // The base of a view would keep its old history (views are not rebased).
  // Detached aliases (which do not require grad) may still be written.
  EMBER_CHECK(!(self.impl().view_base && (recording || self.requires_grad())), NotImplementedError, op,
              ": in-place modification of a view that takes part in autograd is not supported; use the "
              "out-of-place op");
}

// self <- value, taking value's autograd history.
Tensor& adopt(Tensor& self, const Tensor& value, std::string_view op) {
  EMBER_CHECK(value.sizes() == self.sizes(), ShapeError, op, ": output with shape ", shape_str(self.sizes()),
              " doesn't match the broadcast shape ", shape_str(value.sizes()));
  {
    autograd::NoGradGuard no_grad;
    detail::copy_into(self, value);
  }
  self.bump_version();
  auto& impl = self.impl();
  impl.grad_fn = value.grad_fn();
  impl.output_nr = value.impl().output_nr;
  impl.requires_grad = value.requires_grad();
  return self;
}

Tensor& binary_inplace(Tensor& self, const OpDef& op, const Tensor& other, Attrs attrs) {
  const bool record = recording(self, {&other});
  check_inplace_allowed(self, op.name, record);
  if (!record) {
    call_out(op, {self, other}, std::move(attrs), self);
    return self;
  }
  Tensor result = call(op, {self.clone(), other}, std::move(attrs))[0];
  EMBER_CHECK(result.dtype() == self.dtype() || is_floating(self.dtype()), DTypeError, op.name,
              ": result type ", result.dtype(), " can't be cast to the desired output type ", self.dtype());
  return adopt(self, result.to(self.dtype()), op.name);
}

// As call_out: a float result may not be written into an integer tensor, nor a non-bool one into a bool tensor.
void check_castable(const Tensor& self, const Tensor& value, std::string_view op) {
  const bool narrows = (is_floating(value.dtype()) && !is_floating(self.dtype())) ||
                       (self.dtype() == DType::b8 && value.dtype() != DType::b8);
  EMBER_CHECK(!narrows, DTypeError, op, ": result type ", value.dtype(), " can't be cast to the desired output type ",
              self.dtype());
}

// The general form: self <- f(self).
template <class F>
Tensor& unary_inplace(Tensor& self, std::string_view op, std::initializer_list<const Tensor*> others, const F& f) {
  const bool record = recording(self, others);
  check_inplace_allowed(self, op, record);
  if (!record) {
    autograd::NoGradGuard no_grad;
    Tensor value = f(self);
    check_castable(self, value, op);
    EMBER_CHECK(value.sizes() == self.sizes(), ShapeError, op, ": output with shape ", shape_str(self.sizes()),
                " doesn't match the broadcast shape ", shape_str(value.sizes()));
    detail::copy_into(self, value);
    self.bump_version();
    return self;
  }
  Tensor value = f(self.clone());
  check_castable(self, value, op);
  return adopt(self, value.to(self.dtype()), op);
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, Scalar alpha) { return binary_inplace(*this, add_op, other, {{"alpha", alpha}}); }
Tensor& Tensor::add_(Scalar other) { return add_(detail::wrap_scalar(other)); }
Tensor& Tensor::sub_(const Tensor& other, Scalar alpha) { return binary_inplace(*this, sub_op, other, {{"alpha", alpha}}); }
Tensor& Tensor::sub_(Scalar other) { return sub_(detail::wrap_scalar(other)); }
Tensor& Tensor::mul_(const Tensor& other) { return binary_inplace(*this, mul_op, other, {}); }
Tensor& Tensor::mul_(Scalar other) { return mul_(detail::wrap_scalar(other)); }
Tensor& Tensor::div_(const Tensor& other) {
  return binary_inplace(*this, div_op, other, {{"rounding_mode", std::string()}});
}
Tensor& Tensor::div_(Scalar other) { return div_(detail::wrap_scalar(other)); }

Tensor& Tensor::fill_(Scalar value) {
  check_inplace_allowed(*this, "fill_", requires_grad());
  {
    autograd::NoGradGuard no_grad;
    detail::copy_into(*this, detail::wrap_scalar(value));
  }
  bump_version();
  // The new value is a constant: it no longer depends on anything.
  impl().grad_fn.reset();
  if (!is_leaf()) impl().requires_grad = false;
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0); }

Tensor& Tensor::copy_(const Tensor& src) {
  EMBER_CHECK(src.defined(), ValueError, "copy_: source is an undefined Tensor");
  const Shape target = sizes();
  return unary_inplace(*this, "copy_", {&src}, [&](const Tensor&) {
    // Broadcast src to self's shape; the old value contributes nothing.
    Tensor v = ember::expand(to_dtype(src, dtype()), target);
    return v.is_same(src) ? ember::clone(v) : v;
  });
}

Tensor& Tensor::clamp_(std::optional<Scalar> lo, std::optional<Scalar> hi) {
  return unary_inplace(*this, "clamp_", {}, [&](const Tensor& x) { return ember::clamp(x, lo, hi); });
}

Tensor& Tensor::masked_fill_(const Tensor& mask, Scalar value) {
  return unary_inplace(*this, "masked_fill_", {&mask}, [&](const Tensor& x) { return ember::masked_fill(x, mask, value); });
}

}  // namespace ember
