#include "registry.h"

namespace ember {

static const OpDef* const kindexOps[] = {nullptr};
std::span<const OpDef* const> index_ops() { return std::span<const OpDef* const>(kindexOps, 0); }

}  // namespace ember
