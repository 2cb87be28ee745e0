#pragma once
// Reductions over any set of dims (an empty list means all dims), with keepdim.
#include <optional>

#include "ember/core/tensor.h"

namespace ember {

struct ValuesIndices {
  Tensor values;
  Tensor indices;  // int64
};

Tensor sum(const Tensor& x, Shape dims = {}, bool keepdim = false, std::optional<DType> dtype = {});
Tensor mean(const Tensor& x, Shape dims = {}, bool keepdim = false);
Tensor prod(const Tensor& x, std::optional<int64_t> dim = {}, bool keepdim = false);
Tensor var(const Tensor& x, Shape dims = {}, double correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, Shape dims = {}, double correction = 1, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements
Tensor min(const Tensor& x);
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor amax(const Tensor& x, Shape dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, Shape dims = {}, bool keepdim = false);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = {}, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = {}, bool keepdim = false);
Tensor logsumexp(const Tensor& x, Shape dims, bool keepdim = false);
// p = 1, 2 or infinity (std::numeric_limits<double>::infinity()).
Tensor norm(const Tensor& x, double p = 2, Shape dims = {}, bool keepdim = false);
Tensor all(const Tensor& x);
Tensor all(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor any(const Tensor& x);
Tensor any(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor cumsum(const Tensor& x, int64_t dim);
Tensor cumprod(const Tensor& x, int64_t dim);

}  // namespace ember
