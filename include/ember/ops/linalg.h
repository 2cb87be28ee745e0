#pragma once
// Matrix products. Operands share one dtype (float or integer, not bool), as
// in PyTorch. float32 runs on oneDNN's sgemm; bfloat16/float16 accumulate in
// float32; float64 and integers use Ember's loop kernel (src/ops/cpu/gemm.h).
#include <string_view>

#include "ember/core/tensor.h"

namespace ember {

// numpy/torch.matmul semantics: 1-d operands are promoted and squeezed back,
// batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);   // [n,k] x [k,m]
Tensor bmm(const Tensor& a, const Tensor& b);  // [b,n,k] x [b,k,m], no broadcasting
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});  // x @ weight^T + bias
// beta * input + alpha * (a @ b); input broadcasts to [n, m]; beta == 0 ignores it (NaN included).
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, Scalar beta = 1, Scalar alpha = 1);
Tensor outer(const Tensor& a, const Tensor& b);  // a[:, None] * b (dtypes promote)
// "ij,jk->ik", "bij,bjk->bik", "ii->i", "i,i->", "bhqd,bhkd->bhqk", "...ij,...jk", ...
// Implicit output (labels used once, sorted), ellipses, repeated labels
// (diagonals, traces) and size-1 broadcasting, as torch.einsum. Operands share a dtype.
Tensor einsum(std::string_view equation, const TensorList& operands);

}  // namespace ember
