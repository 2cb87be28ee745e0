// The autograd half of Tensor's methods.
#include "ember/autograd/autograd.h"
#include "node.h"

namespace ember {

Tensor& Tensor::requires_grad_(bool on) {
  auto& i = impl();
  EMBER_CHECK(on || i.grad_fn == nullptr, AutogradError,
              "requires_grad_(false): you can only change requires_grad flags of leaf tensors; use detach()");
  EMBER_CHECK(!on || is_floating(i.dtype), DTypeError,
              "requires_grad_: only floating point tensors can require gradients, got ", i.dtype);
  i.requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  const auto& g = impl().grad;
  return g ? Tensor(g) : Tensor();
}

void Tensor::set_grad(const Tensor& grad) {
  EMBER_CHECK(!grad.defined() || grad.sizes() == sizes(), ShapeError, "set_grad: gradient of shape ",
              shape_str(grad.sizes()), " for a tensor of shape ", shape_str(sizes()));
  impl().grad = grad.impl_ptr();
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, {gradient}, retain_graph, create_graph);
}

void Tensor::retain_grad() const {
  auto& i = impl();
  EMBER_CHECK(i.requires_grad, AutogradError, "can't retain_grad on a tensor that has requires_grad=false");
  if (i.grad_fn == nullptr || i.retains_grad) return;  // leaves keep .grad anyway
  i.retains_grad = true;
  i.grad_fn->watched_outputs.emplace_back(i.output_nr, impl_);
}

void Tensor::register_hook(GradHook hook) const {
  auto& i = impl();
  EMBER_CHECK(i.requires_grad, AutogradError,
              "cannot register a hook on a tensor that doesn't require gradient");
  i.hooks.push_back(std::move(hook));
  if (i.grad_fn) {
    for (const auto& [nr, w] : i.grad_fn->watched_outputs)
      if (w.lock() == impl_) return;
    i.grad_fn->watched_outputs.emplace_back(i.output_nr, impl_);
  }
}

Tensor Tensor::detach() const {
  const auto& i = impl();
  auto out = std::make_shared<TensorImpl>();
  out->storage = i.storage;
  out->sizes = i.sizes;
  out->strides = i.strides;
  out->offset = i.offset;
  out->dtype = i.dtype;
  out->device = i.device;
  out->version = i.version;  // in-place changes through the detached alias are still seen
  out->view_base = impl_;
  return Tensor(std::move(out));
}

Tensor& Tensor::detach_() {
  auto& i = impl();
  i.grad_fn.reset();
  i.requires_grad = false;
  return *this;
}

}  // namespace ember
