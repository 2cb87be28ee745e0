#pragma once
// Graph mode's fused ops (src/ops/fused.cpp), made by the fusion passes in
// src/graph/passes/. Eager code never calls them: it runs the unfused ops.
//
//   fused_linear(input, weight, [bias]) {activation}
//   fused_conv2d(input, weight, bias) {stride, padding, dilation, groups, activation}
//       activation(linear(...)) / activation(conv2d(...)), activation one of
//       kActivationNames ("none" applies nothing).
//   fused_conv2d_max_pool2d(input, weight, bias) {fused_conv2d's, pool_kernel_size,
//       pool_stride, pool_padding, pool_dilation, pool_ceil_mode}
//       max_pool2d(fused_conv2d(...)), a few images at a time (Note [Convolution
//       and pooling by batch chunks] in fused.cpp).
//   fused_elementwise(x0, x1, ...) {program, t<k>.<attr>...}
//       a chain of elementwise ops run over cache-sized blocks of the output.
//       See Note [fused_elementwise programs] in fused.cpp.
#include <array>
#include <string_view>

#include "ember/ops/op.h"

namespace ember {

extern const OpDef fused_linear_op, fused_conv2d_op, fused_conv2d_max_pool2d_op, fused_elementwise_op;

namespace detail {

// The activations an epilogue applies: "gelu" is gelu(approximate="none"),
// "gelu_tanh" gelu(approximate="tanh").
inline constexpr std::array<std::string_view, 7> kActivationNames = {"none", "relu",    "gelu", "gelu_tanh",
                                                                     "silu", "sigmoid", "tanh"};

// The ops fused_elementwise runs (by name), and so the ops fuse_elementwise groups.
bool is_fusable_elementwise(const OpDef& op);

}  // namespace detail
}  // namespace ember
