#include "registry.h"

namespace ember {

static const OpDef* const knnOps[] = {nullptr};
std::span<const OpDef* const> nn_ops() { return std::span<const OpDef* const>(knnOps, 0); }

}  // namespace ember
