#pragma once
// Gathering and scattering by integer (int64) index tensors, sorting.
#include <optional>
#include <vector>

#include "ember/core/tensor.h"
#include "ember/ops/reduce.h"

namespace ember {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, Scalar value);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha = 1);
// Advanced indexing: one optional index tensor per leading dim (int64 or bool mask).
Tensor index(const Tensor& x, const std::vector<std::optional<Tensor>>& indices);
Tensor index_put(const Tensor& x, const std::vector<std::optional<Tensor>>& indices, const Tensor& values,
                 bool accumulate = false);
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx = {});
Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim = {});
Tensor nonzero(const Tensor& x);  // [n, ndim] int64
Tensor masked_select(const Tensor& x, const Tensor& mask);
// NaN sorts as the largest value. Every sort is stable (equal values keep their order).
ValuesIndices sort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = true);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = true);
// The k values come out sorted even when sorted = false (any order is valid then).
ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

}  // namespace ember
