// TEMPORARY during parallel development: the elementwise family owner deletes this file
// once the functions below are implemented for real.
#include "ember/ember.h"

namespace ember {

Tensor abs(const Tensor&) { EMBER_THROW(NotImplementedError, "abs: pending"); }
Tensor clamp(const Tensor&, std::optional<Scalar>, std::optional<Scalar>) { EMBER_THROW(NotImplementedError, "clamp: pending"); }
Tensor isinf(const Tensor&) { EMBER_THROW(NotImplementedError, "isinf: pending"); }
Tensor isnan(const Tensor&) { EMBER_THROW(NotImplementedError, "isnan: pending"); }
Tensor log(const Tensor&) { EMBER_THROW(NotImplementedError, "log: pending"); }
Tensor relu(const Tensor&) { EMBER_THROW(NotImplementedError, "relu: pending"); }
Tensor sigmoid(const Tensor&) { EMBER_THROW(NotImplementedError, "sigmoid: pending"); }
Tensor sqrt(const Tensor&) { EMBER_THROW(NotImplementedError, "sqrt: pending"); }
Tensor tanh(const Tensor&) { EMBER_THROW(NotImplementedError, "tanh: pending"); }
Tensor eq(const Tensor&, const Tensor&) { EMBER_THROW(NotImplementedError, "eq: pending"); }
Tensor logical_or(const Tensor&, const Tensor&) { EMBER_THROW(NotImplementedError, "logical_or: pending"); }
Tensor masked_fill(const Tensor&, const Tensor&, Scalar) { EMBER_THROW(NotImplementedError, "masked_fill: pending"); }
Tensor pow(const Tensor&, Scalar) { EMBER_THROW(NotImplementedError, "pow: pending"); }

}  // namespace ember
