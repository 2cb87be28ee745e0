#pragma once
// Each op family exports its OpDefs; registry.cpp lists the families.
// Explicit on purpose: no static initializers that a linker could drop.
#include <span>

#include "ember/ops/op.h"

namespace ember {

std::span<const OpDef* const> unary_ops();
std::span<const OpDef* const> binary_ops();
std::span<const OpDef* const> reduce_ops();
std::span<const OpDef* const> shape_ops();
std::span<const OpDef* const> index_ops();
std::span<const OpDef* const> linalg_ops();
std::span<const OpDef* const> nn_ops();         // softmax, norms, dropout, losses
std::span<const OpDef* const> nn_conv_ops();    // convolution, pooling, interpolation
std::span<const OpDef* const> attention_ops();  // scaled_dot_product_attention and its backward
std::span<const OpDef* const> fused_ops();      // graph mode's fusions: fused_linear, fused_conv2d, fused_elementwise

}  // namespace ember
