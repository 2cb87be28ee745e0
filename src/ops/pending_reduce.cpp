// TEMPORARY during parallel development: the reduce family owner deletes this file
// once the functions below are implemented for real.
#include "ember/ember.h"

namespace ember {

Tensor all(const Tensor&) { EMBER_THROW(NotImplementedError, "all: pending"); }
Tensor any(const Tensor&) { EMBER_THROW(NotImplementedError, "any: pending"); }
Tensor argmax(const Tensor&, std::optional<int64_t>, bool) { EMBER_THROW(NotImplementedError, "argmax: pending"); }
Tensor max(const Tensor&) { EMBER_THROW(NotImplementedError, "max: pending"); }
Tensor min(const Tensor&) { EMBER_THROW(NotImplementedError, "min: pending"); }
Tensor mean(const Tensor&, Shape, bool) { EMBER_THROW(NotImplementedError, "mean: pending"); }

}  // namespace ember
