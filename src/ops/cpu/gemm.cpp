// GEMM kernels: oneDNN's sgemm for float32, a blocked loop for the rest. See gemm.h.
#include "gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <array>
#include <bit>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "../elementwise.h"

namespace ember::cpu {
namespace {

inline constexpr int64_t kGrainFlops = int64_t(1) << 16;  // multiply-adds per parallel task
inline constexpr int64_t kBlockK = 256;  // loop kernel: a kBlockK x kBlockN panel of B stays in L2
inline constexpr int64_t kBlockN = 256;  // and a kBlockN slice of a row of C in L1

// How BLAS addresses a strided matrix: 'N' = row-major, 'T' = column-major,
// each with a leading dimension. A dim of size 1 never steps, so its stride is free.
struct BlasLayout {
  char trans;
  int64_t ld;
};
std::optional<BlasLayout> blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if ((cs == 1 || cols <= 1) && (rows <= 1 || rs >= std::max<int64_t>(cols, 1)))
    return BlasLayout{'N', rows <= 1 ? std::max<int64_t>(cols, 1) : rs};
  if ((rs == 1 || rows <= 1) && (cols <= 1 || cs >= std::max<int64_t>(rows, 1)))
    return BlasLayout{'T', cols <= 1 ? std::max<int64_t>(rows, 1) : cs};
  return std::nullopt;
}

// A row-major copy of m in `buffer`.
template <class T>
MatrixRef<const T> pack(MatrixRef<const T> m, std::vector<T>& buffer) {
  buffer.resize(size_t(m.rows * m.cols));
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) buffer[size_t(i * m.cols + j)] = m.data[i * m.row_stride + j * m.col_stride];
  return {buffer.data(), m.rows, m.cols, m.cols, 1};
}

// The BLAS layout of m, packing it into `buffer` first when BLAS cannot
// address its strides.
template <class T>
BlasLayout blas_operand(MatrixRef<const T>& m, std::vector<T>& buffer) {
  if (std::optional<BlasLayout> layout = blas_layout(m.rows, m.cols, m.row_stride, m.col_stride)) return *layout;
  m = pack(m, buffer);
  return BlasLayout{'N', m.cols};
}

// C = beta * C (beta == 0 writes zeros, so NaN in uninitialized memory never leaks).
template <class T>
void scale_rows(MatrixRef<T> c, T beta, int64_t i0, int64_t i1) {
  if (beta == T(1)) return;
  for (int64_t i = i0; i < i1; ++i) {
    T* row = c.data + i * c.row_stride;
    if (beta == T(0)) std::fill(row, row + c.cols, T(0));
    else
      for (int64_t j = 0; j < c.cols; ++j) row[j] = T(beta * row[j]);
  }
}

// Rows of C split across threads; within a task, C += alpha * A @ B one
// (n-block, k-block, row) at a time so the innermost loop is a contiguous
// axpy over a row of B that the compiler vectorizes. (Register-tiled
// variants measured slower here: GCC spills their accumulator arrays.)
template <class T>
void gemm_loops(MatrixRef<const T> a, MatrixRef<const T> b, MatrixRef<T> c, T alpha, T beta) {
  std::vector<T> packed;
  if (b.col_stride != 1 && b.cols > 1) b = pack(b, packed);
  const int64_t n = c.cols, k = a.cols;
  const int64_t grain = std::max<int64_t>(1, kGrainFlops / std::max<int64_t>(1, n * k));
  parallel_for(0, c.rows, grain, [&](int64_t i0, int64_t i1) {
    scale_rows(c, beta, i0, i1);
    for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
      const int64_t j1 = std::min(n, j0 + kBlockN);
      for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
        const int64_t p1 = std::min(k, p0 + kBlockK);
        for (int64_t i = i0; i < i1; ++i) {
          T* __restrict crow = c.data + i * c.row_stride;
          for (int64_t p = p0; p < p1; ++p) {
            const T av = T(alpha * a.data[i * a.row_stride + p * a.col_stride]);
            const T* __restrict brow = b.data + p * b.row_stride;
            for (int64_t j = j0; j < j1; ++j) crow[j] = T(crow[j] + av * brow[j]);
          }
        }
      }
    }
  });
}

void sgemm(MatrixRef<const float> a, MatrixRef<const float> b, MatrixRef<float> c, float alpha, float beta) {
  const int64_t m = c.rows, n = c.cols, k = a.cols;
  if (k == 0) {  // sgemm would leave C alone; the product of nothing is zero
    scale_rows(c, beta, 0, m);
    return;
  }
  std::vector<float> pa, pb;
  const BlasLayout la = blas_operand(a, pa), lb = blas_operand(b, pb);
  const int64_t ldc = m <= 1 ? n : c.row_stride;
  const dnnl_status_t status =
      dnnl_sgemm(la.trans, lb.trans, m, n, k, alpha, a.data, la.ld, b.data, lb.ld, beta, c.data, ldc);
  EMBER_INTERNAL_ASSERT(status == dnnl_success, "dnnl_sgemm failed with status ", int(status), " for m=", m,
                        " n=", n, " k=", k);
}

// ---- bfloat16: oneDNN's matmul primitive ----
// bf16 operands, float32 accumulation (AMX or AVX512-BF16 kernels, whichever
// the CPU has), one rounding into the bf16 C; alpha is an output scale and beta a
// sum post-op, so C's old value is added in float32 too. The primitive is
// made once per shape, layout, alpha and beta (making one costs far more than
// a small product) and cached.

dnnl::engine& dnnl_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// oneDNN's strides for a BLAS layout of a rows x cols matrix.
dnnl::memory::desc bf16_matrix(int64_t rows, int64_t cols, BlasLayout layout) {
  const dnnl::memory::dims strides = layout.trans == 'N' ? dnnl::memory::dims{layout.ld, 1}
                                                         : dnnl::memory::dims{1, layout.ld};
  return dnnl::memory::desc({rows, cols}, dnnl::memory::data_type::bf16, strides);
}

// nullptr when oneDNN offers only its reference implementation (a CPU
// without AVX-512): there float32 via sgemm is far faster.
std::shared_ptr<const dnnl::matmul> make_bf16_matmul(int64_t m, int64_t n, int64_t k, BlasLayout la, BlasLayout lb,
                                                     int64_t ldc, float alpha, float beta) {
  dnnl::primitive_attr attr;
  if (alpha != 1) attr.set_output_scales(0, {alpha});
  if (beta != 0) {
    dnnl::post_ops sum;
    sum.append_sum(beta);
    attr.set_post_ops(sum);
  }
  try {
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(bf16_matrix(m, k, la), bf16_matrix(k, n, lb), bf16_matrix(m, n, {'N', ldc})), attr,
        dnnl_engine());
    if (std::string_view(pd.impl_info_str()).starts_with("ref")) return nullptr;
    return std::make_shared<const dnnl::matmul>(pd);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

std::shared_ptr<const dnnl::matmul> cached_bf16_matmul(int64_t m, int64_t n, int64_t k, BlasLayout la, BlasLayout lb,
                                                       int64_t ldc, float alpha, float beta) {
  // oneDNN sizes a primitive's work split for the thread count at creation.
  using Key = std::array<int64_t, 11>;
  const Key key{get_num_threads(), m, n, k, la.trans, la.ld, lb.trans, lb.ld, ldc,
                std::bit_cast<int32_t>(alpha), std::bit_cast<int32_t>(beta)};
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<const dnnl::matmul>> cache;
  constexpr size_t kMaxEntries = 512;  // bounds memory under ever-changing shapes
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto made = make_bf16_matmul(m, n, k, la, lb, ldc, alpha, beta);  // slow: outside the lock
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxEntries) cache.clear();
  return cache.emplace(key, std::move(made)).first->second;
}

// Whether this CPU runs bf16 products natively (probed once on a small shape).
bool native_bf16_gemm() {
  static const bool native = make_bf16_matmul(16, 16, 16, {'N', 16}, {'N', 16}, 16, 1, 0) != nullptr;
  return native;
}

void gemm_bf16(MatrixRef<const BFloat16> a, MatrixRef<const BFloat16> b, MatrixRef<BFloat16> c, float alpha,
               float beta) {
  const int64_t m = c.rows, n = c.cols, k = a.cols;
  if (m == 0 || n == 0) return;
  if (k == 0) {  // the product of nothing is zero: C = beta * C
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        BFloat16& v = c.data[i * c.row_stride + j];
        v = beta == 0 ? BFloat16(0.f) : BFloat16(beta * float(v));
      }
    return;
  }
  std::vector<BFloat16> pa, pb;
  const BlasLayout la = blas_operand(a, pa), lb = blas_operand(b, pb);
  const int64_t ldc = m <= 1 ? n : c.row_stride;
  const auto matmul = cached_bf16_matmul(m, n, k, la, lb, ldc, alpha, beta);
  EMBER_INTERNAL_ASSERT(matmul != nullptr, "oneDNN declined a bf16 matmul m=", m, " n=", n, " k=", k);
  const dnnl::memory ma(bf16_matrix(m, k, la), dnnl_engine(), const_cast<BFloat16*>(a.data));
  const dnnl::memory mb(bf16_matrix(k, n, lb), dnnl_engine(), const_cast<BFloat16*>(b.data));
  const dnnl::memory mc(bf16_matrix(m, n, {'N', ldc}), dnnl_engine(), c.data);
  dnnl::stream stream(dnnl_engine());
  matmul->execute(stream, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
  stream.wait();
}

}  // namespace

template <class T>
void gemm(MatrixRef<const T> a, MatrixRef<const T> b, MatrixRef<T> c, T alpha, T beta) {
  if (c.rows == 0 || c.cols == 0) return;
  if constexpr (std::is_same_v<T, float>) sgemm(a, b, c, alpha, beta);
  else gemm_loops(a, b, c, alpha, beta);
}

template void gemm<float>(MatrixRef<const float>, MatrixRef<const float>, MatrixRef<float>, float, float);
template void gemm<double>(MatrixRef<const double>, MatrixRef<const double>, MatrixRef<double>, double, double);
template void gemm<int8_t>(MatrixRef<const int8_t>, MatrixRef<const int8_t>, MatrixRef<int8_t>, int8_t, int8_t);
template void gemm<uint8_t>(MatrixRef<const uint8_t>, MatrixRef<const uint8_t>, MatrixRef<uint8_t>, uint8_t,
                            uint8_t);
template void gemm<int32_t>(MatrixRef<const int32_t>, MatrixRef<const int32_t>, MatrixRef<int32_t>, int32_t,
                            int32_t);
template void gemm<int64_t>(MatrixRef<const int64_t>, MatrixRef<const int64_t>, MatrixRef<int64_t>, int64_t,
                            int64_t);

void matmul_into(const Tensor& a, const Tensor& b, Tensor& c, Scalar alpha, Scalar beta) {
  const DType dt = c.dtype();
  if ((dt == DType::bf16 && !native_bf16_gemm()) || dt == DType::f16) {
    Tensor c32 = beta.to_double() == 0 ? Tensor::empty(c.sizes(), DType::f32) : detail::cast(c, DType::f32);
    matmul_into(detail::cast(a, DType::f32), detail::cast(b, DType::f32), c32, alpha, beta);
    detail::copy_into(c, c32);
    return;
  }
  const int64_t nd = c.dim();
  const int64_t m = c.size(-2), n = c.size(-1), k = a.size(-1);
  const Shape batch(c.sizes().begin(), c.sizes().end() - 2);
  const int64_t nbatch = shape_numel(batch);
  if (nbatch == 0 || m == 0 || n == 0) return;

  // Element strides of a and b seen through batch broadcasting.
  auto strides_to = [&](const Tensor& t, int64_t rows, int64_t cols) {
    Shape sizes = batch;
    sizes.push_back(rows);
    sizes.push_back(cols);
    Shape s = detail::broadcast_byte_strides(t, sizes);
    for (int64_t& v : s) v /= int64_t(t.itemsize());
    return s;
  };
  const Shape sa = strides_to(a, m, k), sb = strides_to(b, k, n);
  // Element offsets of each batch's matrices (c is contiguous: batch i starts at i * m * n).
  std::vector<int64_t> off_a(size_t(nbatch), 0), off_b(size_t(nbatch), 0);
  {
    Shape idx(batch.size(), 0);
    int64_t oa = 0, ob = 0;
    for (int64_t i = 0; i < nbatch; ++i) {
      off_a[size_t(i)] = oa;
      off_b[size_t(i)] = ob;
      for (size_t d = batch.size(); d-- > 0;) {
        oa += sa[d];
        ob += sb[d];
        if (++idx[d] < batch[d]) break;
        oa -= sa[d] * batch[d];
        ob -= sb[d] * batch[d];
        idx[d] = 0;
      }
    }
  }

  visit_dtype(dt, [&]<class T>() {
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, Half>) {
      EMBER_INTERNAL_ASSERT(false, "matmul_into: dtype ", dt, " reached the GEMM");
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      // One product at a time, each on every thread: in oneDNN's default
      // scratchpad mode, concurrent runs of one primitive would share scratch memory.
      const T* pa = static_cast<const T*>(a.raw_data());
      const T* pb = static_cast<const T*>(b.raw_data());
      T* pc = static_cast<T*>(c.raw_data());
      for (int64_t i = 0; i < nbatch; ++i)
        gemm_bf16({pa + off_a[size_t(i)], m, k, sa[size_t(nd - 2)], sa[size_t(nd - 1)]},
                  {pb + off_b[size_t(i)], k, n, sb[size_t(nd - 2)], sb[size_t(nd - 1)]},
                  {pc + i * m * n, m, n, n, 1}, float(alpha.to_double()), float(beta.to_double()));
    } else {
      const T* pa = static_cast<const T*>(a.raw_data());
      const T* pb = static_cast<const T*>(b.raw_data());
      T* pc = static_cast<T*>(c.raw_data());
      const T alpha_t = alpha.to<T>(), beta_t = beta.to<T>();
      auto one = [&](int64_t i) {
        gemm<T>({pa + off_a[size_t(i)], m, k, sa[size_t(nd - 2)], sa[size_t(nd - 1)]},
                {pb + off_b[size_t(i)], k, n, sb[size_t(nd - 2)], sb[size_t(nd - 1)]},
                {pc + i * m * n, m, n, n, 1}, alpha_t, beta_t);
      };
      // Many matrices: one per thread (a GEMM inside parallel_for runs
      // single-threaded). Few large ones: let each GEMM use every thread.
      const int64_t work = m * n * std::max<int64_t>(k, 1);
      if (nbatch > 1 && (nbatch >= 2 * get_num_threads() || work <= kGrainFlops * 4)) {
        parallel_for(0, nbatch, std::max<int64_t>(1, kGrainFlops / work), [&](int64_t b0, int64_t b1) {
          for (int64_t i = b0; i < b1; ++i) one(i);
        });
      } else {
        for (int64_t i = 0; i < nbatch; ++i) one(i);
      }
    }
  });
}

}  // namespace ember::cpu
