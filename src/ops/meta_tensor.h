#pragma once
// A tensor with sizes, dtype and device but no storage: what shape rules
// (OpDef::infer) run on when only metadata is known (fused ops checking their
// steps, graph mode's tracer, passes and loader via graph::meta_tensor).
#include "ember/ops/op.h"

namespace ember::detail {

inline Tensor meta_tensor(const TensorMeta& meta) {
  auto impl = std::make_shared<TensorImpl>();
  impl->sizes = meta.sizes;
  impl->strides = contiguous_strides(meta.sizes);
  impl->dtype = meta.dtype;
  impl->device = meta.device;
  impl->version = std::make_shared<VersionCounter>();
  return Tensor(std::move(impl));
}

}  // namespace ember::detail
