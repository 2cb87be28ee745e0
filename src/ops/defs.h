#pragma once
// OpDefs used outside their family file (in-place forms, fused paths).
#include "ember/ops/op.h"

namespace ember {

extern const OpDef add_op, sub_op, mul_op, div_op;

}  // namespace ember
