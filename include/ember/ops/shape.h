#pragma once
// Views and data movement. view ... unflatten, as_strided and split/chunk/
// unbind return tensors sharing storage with their input, as in PyTorch
// (reshape and flatten copy when the strides allow no view); the others
// return new tensors.
//
//   auto x = ember::arange(0, 6).reshape({2, 3});   // a view of arange's result
//   auto y = ember::cat({x, ember::flip(x, {1})}, 1);  // [2, 6], a copy
//   auto p = ember::pad(x.to(ember::DType::f32), {1, 1}, "reflect");
#include <optional>
#include <string_view>

#include "ember/core/tensor.h"

namespace ember {

// Free forms of the Tensor view methods.
Tensor view(const Tensor& x, Shape sizes);  // -1 infers one dim; errors if not viewable
Tensor reshape(const Tensor& x, Shape sizes);  // a view when possible, else a copy
Tensor permute(const Tensor& x, Shape dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor slice(const Tensor& x, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> stop,
             int64_t step = 1);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor expand(const Tensor& x, Shape sizes);  // -1 keeps a dim
Tensor squeeze(const Tensor& x, std::optional<int64_t> dim = {});
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unflatten(const Tensor& x, int64_t dim, Shape sizes);
Tensor as_strided(const Tensor& x, Shape sizes, Shape strides, std::optional<int64_t> offset = {});
Tensor contiguous(const Tensor& x);
Tensor clone(const Tensor& x);

Tensor cat(const TensorList& tensors, int64_t dim = 0);
Tensor stack(const TensorList& tensors, int64_t dim = 0);
TensorList split(const Tensor& x, int64_t split_size, int64_t dim = 0);
TensorList split(const Tensor& x, const Shape& split_sizes, int64_t dim = 0);
TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
TensorList unbind(const Tensor& x, int64_t dim = 0);
Tensor flip(const Tensor& x, Shape dims);
Tensor roll(const Tensor& x, Shape shifts, Shape dims = {});  // no dims: over the flattened tensor
Tensor repeat(const Tensor& x, Shape repeats);
Tensor tile(const Tensor& x, Shape reps);
// pad: (left, right) pairs starting from the LAST dim, as torch.nn.functional.pad.
// mode: "constant", "reflect" or "replicate".
Tensor pad(const Tensor& x, Shape pads, std::string_view mode = "constant", double value = 0);
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);

}  // namespace ember
