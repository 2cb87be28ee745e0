#include "registry.h"

#include <vector>

namespace ember {

std::span<const OpDef* const> all_ops() {
  static const std::vector<const OpDef*> ops = [] {
    std::vector<const OpDef*> all;
    for (auto family : {unary_ops, binary_ops, reduce_ops, shape_ops, index_ops, linalg_ops, nn_ops, nn_conv_ops,
                        attention_ops, fused_ops})
      for (const OpDef* op : family()) all.push_back(op);
    return all;
  }();
  return ops;
}

const OpDef* find_op(std::string_view name) {
  for (const OpDef* op : all_ops())
    if (op->name == name) return op;
  return nullptr;
}

}  // namespace ember
