#pragma once
// Functional forms that nn's layers and losses need beyond the op table,
// composed from existing ops (so autograd and tracing come for free).
//
//   auto y = ember::bilinear(x1, x2, w, b);           // torch.nn.functional.bilinear
//   auto l = ember::huber_loss(pred, target, ember::Reduction::mean, 0.5);
#include "ember/core/tensor.h"
#include "ember/ops/nn.h"

namespace ember {

// y[..., o] = sum_ij x1[..., i] weight[o, i, j] x2[..., j] + bias[o].
// x1 [..., in1], x2 [..., in2] (same leading dims), weight [out, in1, in2], bias [out] or undefined.
Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias = {});

// 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), with d = input - target.
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
                  double delta = 1.0);

}  // namespace ember
