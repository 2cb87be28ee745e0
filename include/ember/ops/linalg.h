#pragma once
// Matrix products. float32 runs on oneDNN's GEMM.
#include <string_view>

#include "ember/core/tensor.h"

namespace ember {

// numpy/torch.matmul semantics: 1-d operands are promoted and squeezed back,
// batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);   // [n,k] x [k,m]
Tensor bmm(const Tensor& a, const Tensor& b);  // [b,n,k] x [b,k,m]
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});  // x @ weight^T + bias
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, Scalar beta = 1, Scalar alpha = 1);
Tensor outer(const Tensor& a, const Tensor& b);
// "ij,jk->ik", "bij,bjk->bik", "ii->i", "i,i->", "bhqd,bhkd->bhqk", ... (implicit output too)
Tensor einsum(std::string_view equation, const TensorList& operands);

}  // namespace ember
