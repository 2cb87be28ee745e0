#pragma once
// CPU matrix multiplication, the one place Ember calls a GEMM library.
//
// float32 runs on oneDNN's dnnl_sgemm (DESIGN.md: 85-99% of the FMA peak here;
// Debian's OpenBLAS misdetects the CPU). oneDNN on Debian is built on OpenMP,
// the runtime behind ember::parallel_for, so there is one thread pool:
// ember::set_num_threads (omp_set_num_threads) governs oneDNN too, and a GEMM
// called inside parallel_for runs single-threaded. float64 and integers use a
// blocked loop kernel (oneDNN has no dgemm). bfloat16 runs on oneDNN's matmul
// primitive: bf16 products accumulated in float32 and rounded once, as
// PyTorch's mkldnn bf16 matmul does. It halves the bytes moved, and on this
// machine oneDNN runs it on AMX, 3-6x faster than sgemm (docs/mixed_precision.md);
// autocast relies on it. float16, and bfloat16 on CPUs without AVX-512, are
// converted to float32, multiplied by sgemm and rounded once.
//
//   // C[m, n] = A[m, k] @ B[k, n], A transposed in memory: no copy, sgemm gets 'T'.
//   cpu::gemm<float>({a, m, k, 1, m}, {b, k, n, n, 1}, {c, m, n, n, 1}, 1.f, 0.f);
#include "ember/core/tensor.h"

namespace ember::cpu {

// A strided matrix: element (i, j) lives at data[i * row_stride + j * col_stride].
template <class T>
struct MatrixRef {
  T* data;
  int64_t rows, cols;
  int64_t row_stride, col_stride;
};

// C = alpha * A @ B + beta * C, with A m x k, B k x n and C m x n with unit
// column stride. beta == 0 ignores C's old contents (NaN included). A and B
// may have any strides: layouts that BLAS cannot address are packed first.
// Defined for float, double, int8_t, uint8_t, int32_t and int64_t.
template <class T>
void gemm(MatrixRef<const T> a, MatrixRef<const T> b, MatrixRef<T> c, T alpha, T beta);

// The same over tensors: a [..., m, k] @ b [..., k, n] into a contiguous c
// [batch..., m, n], where a's and b's batch dims broadcast to c's. One dtype
// for all three (any but bool); the caller has validated the shapes.
void matmul_into(const Tensor& a, const Tensor& b, Tensor& c, Scalar alpha = 1, Scalar beta = 0);

}  // namespace ember::cpu
