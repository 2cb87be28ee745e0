#pragma once
// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_).
//
//   loss.backward();
//   double norm = ember::optim::clip_grad_norm_(net.parameters(), 1.0);
//   opt.step();
//
// Parameters without a gradient are ignored. Gradients are scaled in place.
#include <limits>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::optim {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

// Scales all gradients by max_norm / (total_norm + 1e-6) when that is below 1,
// where total_norm is the norm_type-norm of all gradients together (kInf for
// the max-abs norm). Returns total_norm (before clipping). With
// error_if_nonfinite, a NaN/Inf total norm throws ValueError and leaves the
// gradients unchanged. While a function is traced (ember::compile) the norm
// is not read on the host: the call returns NaN, and error_if_nonfinite is a
// graph::TraceError.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);

}  // namespace ember::optim
