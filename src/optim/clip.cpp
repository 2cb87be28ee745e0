// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#include "ember/optim/clip.h"

#include <cmath>
#include <limits>

#include "ember/autograd/autograd.h"
#include "ember/graph/trace.h"
#include "ember/ops/binary.h"
#include "ember/ops/reduce.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"

namespace ember::optim {

namespace {

// torch.linalg.vector_norm over all elements, in x's dtype.
Tensor vector_norm(const Tensor& x, double p) {
  if (p == 1 || p == 2 || p == kInf) return norm(x, p);
  return abs(x).pow(p).sum().pow(1 / p);
}

std::vector<Tensor> defined_grads(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  EMBER_CHECK(norm_type > 0, ValueError, "clip_grad_norm_: norm_type must be positive or inf, got ", norm_type);
  autograd::NoGradGuard no_grad;
  std::vector<Tensor> grads = defined_grads(parameters);
  if (grads.empty()) return 0;
  // As torch: the norm of the per-gradient norms, each in its gradient's
  // dtype (mixed dtypes meet in float64).
  DType dtype = grads[0].dtype();
  for (const Tensor& g : grads) {
    EMBER_CHECK(g.is_floating_point(), DTypeError, "clip_grad_norm_: gradient ", g.meta_str(),
                " is not floating point");
    if (g.dtype() != dtype) dtype = DType::f64;
  }
  TensorList norms;
  for (const Tensor& g : grads) norms.push_back(vector_norm(g, norm_type).to(dtype));
  const Tensor total = vector_norm(stack(norms), norm_type);
  // While tracing (ember::compile), the norm stays a graph value: reading it
  // on the host would bake this call's value into the graph.
  const bool tracing = graph::is_tracing();
  EMBER_CHECK(!tracing || !error_if_nonfinite, graph::TraceError,
              "clip_grad_norm_: error_if_nonfinite reads the norm on the host, which a traced function cannot do; "
              "pass error_if_nonfinite = false");
  const double total_value = tracing ? std::numeric_limits<double>::quiet_NaN() : total.item<double>();
  EMBER_CHECK(!error_if_nonfinite || std::isfinite(total_value), ValueError, "clip_grad_norm_: the total norm of order ",
              norm_type, " for gradients from `parameters` is ", total_value,
              ", so it cannot be clipped (pass error_if_nonfinite = false to scale by it anyway)");
  // Scales even when the coefficient clamps to 1, like torch (no data-dependent branch).
  const Tensor coef = clamp(Scalar(max_norm) / (total + 1e-6), std::nullopt, Scalar(1.0));
  for (Tensor& g : grads) g.mul_(coef.to(g.dtype()));
  return total_value;
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  EMBER_CHECK(clip_value >= 0, ValueError, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  autograd::NoGradGuard no_grad;
  for (Tensor& g : defined_grads(parameters)) g.clamp_(Scalar(-clip_value), Scalar(clip_value));
}

}  // namespace ember::optim
