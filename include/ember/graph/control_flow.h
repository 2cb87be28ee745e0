#pragma once
// Data-dependent control flow that graph mode can capture. Eagerly these run
// the chosen branch / the loop directly (with autograd); while tracing they
// trace their functions into subgraphs and record one node, so the decision
// is made at every run instead of being baked in.
//
//   Tensor y = ember::cond(x.sum() > 0,
//                          [](const TensorList& v) { return TensorList{v[0] * 2}; },
//                          [](const TensorList& v) { return TensorList{-v[0]}; }, {x})[0];
//   TensorList r = ember::while_loop(
//       [](const TensorList& v) { return v[0] < 10; },             // a bool scalar
//       [](const TensorList& v) { return TensorList{v[0] + 1, v[1] * 2}; }, {i, x});
#include <functional>

#include "ember/core/tensor.h"

namespace ember {

using Branch = std::function<TensorList(const TensorList&)>;

// pred: a one-element bool tensor. Both branches take `operands` and must
// return the same number of tensors with the same dtypes and sizes.
TensorList cond(const Tensor& pred, const Branch& then_branch, const Branch& else_branch,
                const TensorList& operands);
// Repeats state = body(state) while cond_fn(state) holds. body must keep each
// tensor's dtype and sizes. Not differentiable through the loop when traced.
TensorList while_loop(const std::function<Tensor(const TensorList&)>& cond_fn, const Branch& body,
                      const TensorList& initial_state);

}  // namespace ember
