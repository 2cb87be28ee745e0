// scaled_dot_product_attention: a fused OpDef whose CPU kernel never holds
// the [L, S] score matrix, and its fused backward.
//
// Note [Online softmax]
// The forward walks each block of query rows across the keys one block at a
// time (FlashAttention, Dao et al. 2022). For a tile of scores it keeps, per
// row, the running maximum m and the running sum l of exp(score - m) and the
// unnormalized output acc = sum_j exp(score_j - m) v_j. When a tile raises the
// maximum from m to m', l and acc are rescaled by exp(m - m') before the
// tile's exponentials are added, so the result is the softmax computed over
// the whole row, and memory is O(block) per thread instead of O(L * S). The
// per-row logsumexp m + log(l) is a second, hidden output: the backward
// recomputes each tile's probabilities as exp(score - logsumexp) instead of
// saving them (FlashAttention-2's backward; see attention_backward_kernel).
// The score tiles and both products are oneDNN GEMMs on blocks; the
// elementwise passes between them are the per-capability kernels of
// src/ops/cpu/simd/attention.cpp.
//
// A row whose keys are all masked attends to nothing: its output and its
// gradients are 0, as PyTorch's fused CPU kernel gives (F.scaled_dot_product_attention
// returns 0 there, not the NaN of a plain softmax). Its logsumexp is stored
// as +inf so that the backward's exp(score - logsumexp) is 0 for it too.
//
// Note [Attention double backward]
// The fused backward is a kernel, not Ember ops, so it cannot be
// differentiated again. When grad mode is on during backward (create_graph)
// the forward's backward formula instead recomputes the probabilities with
// Ember ops and applies the softmax/matmul gradient formula (materializing
// [L, S], as second-order gradients do anyway), so gradgradcheck holds. The
// same composite formula serves a floating attn_mask that requires grad: its
// gradient is [L, S]-sized by nature. dropout_p > 0 runs the composite forward
// (probabilities, dropout, matmul) because the dropped probabilities would
// otherwise have to be regenerated tile by tile in the backward.
#include <cmath>
#include <limits>

#include "cpu/gemm.h"
#include "cpu/simd/attention.h"
#include "ember/autograd/autograd.h"
#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "ember/ops/linalg.h"
#include "ember/ops/nn.h"
#include "ember/ops/reduce.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"
#include "iter.h"
#include "registry.h"

namespace ember {
using namespace detail;

extern const OpDef scaled_dot_product_attention_op, scaled_dot_product_attention_backward_op;

namespace {

// Tile sizes: query rows per task and keys per score tile. On the benchmark
// shapes (bench/ember_bench.cpp sdpa_*, head dim 64, one thread, CPU time)
// 64x256, 128x256, 128x512 and 256x512 were within 5% of each other; 64x128
// was slower at S = 512, and 256 rows slowed the causal case (more of each
// diagonal tile is wasted).
constexpr int64_t kBlockQ = 128;
constexpr int64_t kBlockK = 512;
// The backward starts each key block's query loop at the query block holding
// its first key, which then sees at least that key.
static_assert(kBlockK % kBlockQ == 0);

constexpr double kInf = std::numeric_limits<double>::infinity();

Shape leading(const Shape& s, int64_t trailing) { return Shape(s.begin(), s.end() - trailing); }

// Checks q [..., L, E], k [..., S, E], v [..., S, Ev] and the optional mask;
// returns the broadcast batch shape. Shared by infer and the dropout path.
Shape check_attention(std::string_view op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                      bool is_causal) {
  EMBER_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, ShapeError, op,
              ": query, key and value need at least 2 dims, got ", shape_str(q.sizes()), ", ", shape_str(k.sizes()),
              ", ", shape_str(v.sizes()));
  EMBER_CHECK(is_floating(q.dtype()) && k.dtype() == q.dtype() && v.dtype() == q.dtype(), DTypeError, op,
              ": query, key and value must share one floating point dtype, got ", q.dtype(), ", ", k.dtype(), ", ",
              v.dtype());
  EMBER_CHECK(q.size(-1) == k.size(-1), ShapeError, op, ": query head dim ", q.size(-1), " does not match key head dim ",
              k.size(-1), " (query ", shape_str(q.sizes()), ", key ", shape_str(k.sizes()), ")");
  EMBER_CHECK(k.size(-2) == v.size(-2), ShapeError, op, ": key has ", k.size(-2), " positions but value has ",
              v.size(-2), " (key ", shape_str(k.sizes()), ", value ", shape_str(v.sizes()), ")");
  const Shape batch = broadcast_shapes(broadcast_shapes(leading(q.sizes(), 2), leading(k.sizes(), 2), op),
                                       leading(v.sizes(), 2), op);
  if (mask.defined()) {
    EMBER_CHECK(!is_causal, ValueError, op, ": an explicit attn_mask should not be set when is_causal is true");
    EMBER_CHECK(mask.dtype() == DType::b8 || mask.dtype() == q.dtype(), DTypeError, op,
                ": attn_mask must be bool or of the query's dtype ", q.dtype(), ", got ", mask.dtype());
    Shape scores = batch;
    scores.push_back(q.size(-2));
    scores.push_back(k.size(-2));
    bool broadcasts = mask.dim() <= int64_t(scores.size());
    for (int64_t d = 1; broadcasts && d <= mask.dim(); ++d)
      broadcasts = mask.size(-d) == 1 || mask.size(-d) == scores[scores.size() - size_t(d)];
    EMBER_CHECK(broadcasts, ShapeError, op, ": attn_mask of shape ",
                shape_str(mask.sizes()), " does not broadcast to the attention shape ", shape_str(scores));
  }
  return batch;
}

Shape append_dims(Shape s, std::initializer_list<int64_t> tail) {
  s.insert(s.end(), tail);
  return s;
}
// The logsumexp is float32 for bf16/f16 inputs: it is computed in float and
// only the backward reads it.
DType logsumexp_dtype(DType dt) { return dt == DType::f64 ? DType::f64 : DType::f32; }

// (q, k, v, attn_mask) -> (out [batch..., L, Ev], logsumexp [batch..., L]).
std::vector<TensorMeta> infer_attention(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in.first(3), op.name);
  const Tensor &q = in[0], &v = in[2];
  const Shape batch = check_attention(op.name, q, in[1], v, in[3], attrs.b("is_causal"));
  return {{append_dims(batch, {q.size(-2), v.size(-1)}), q.dtype()},
          {append_dims(batch, {q.size(-2)}), logsumexp_dtype(q.dtype())}};
}

// (grad_out, q, k, v, out, logsumexp, attn_mask) -> gradients of q, k, v over
// the broadcast batch shape (the engine sums them down to each input's shape).
std::vector<TensorMeta> infer_attention_backward(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in.first(6), op.name);
  const Tensor &g = in[0], &q = in[1], &k = in[2], &v = in[3];
  const Shape batch = check_attention(op.name, q, k, v, in[6], attrs.b("is_causal"));
  const Shape out_shape = append_dims(batch, {q.size(-2), v.size(-1)});
  for (const Tensor* t : {&g, &in[4]})
    EMBER_CHECK(t->sizes() == out_shape && t->dtype() == q.dtype(), ShapeError, op.name,
                ": grad_output and output must be ", q.dtype(), " of shape ", shape_str(out_shape), ", got ",
                t->dtype(), " ", shape_str(t->sizes()));
  EMBER_CHECK(in[5].sizes() == append_dims(batch, {q.size(-2)}) && in[5].dtype() == logsumexp_dtype(q.dtype()), ShapeError,
              op.name, ": logsumexp of shape ", shape_str(in[5].sizes()), " does not match the query rows ",
              shape_str(append_dims(batch, {q.size(-2)})));
  return {{append_dims(batch, {q.size(-2), q.size(-1)}), q.dtype()},
          {append_dims(batch, {k.size(-2), k.size(-1)}), q.dtype()},
          {append_dims(batch, {v.size(-2), v.size(-1)}), q.dtype()}};
}

// Element offset of each batch index (row-major over `batch`) into a
// contiguous tensor of shape `sizes` whose leading dims broadcast to `batch`
// and whose last `trailing` dims are one matrix.
std::vector<int64_t> batch_offsets(const Shape& batch, const Shape& sizes, int64_t trailing) {
  const int64_t nb = int64_t(batch.size()), own = int64_t(sizes.size()) - trailing;
  int64_t matrix = 1;
  for (int64_t d = own; d < int64_t(sizes.size()); ++d) matrix *= sizes[size_t(d)];
  Shape stride(size_t(nb), 0);  // 0 where the tensor broadcasts
  for (int64_t d = own - 1, s = matrix; d >= 0; --d) {
    const int64_t bd = d + nb - own;
    if (sizes[size_t(d)] != 1) stride[size_t(bd)] = s;
    s *= sizes[size_t(d)];
  }
  std::vector<int64_t> offsets(size_t(shape_numel(batch)));
  for (size_t i = 0; i < offsets.size(); ++i) {
    int64_t rest = int64_t(i), off = 0;
    for (int64_t d = nb - 1; d >= 0; --d) {
      off += rest % batch[size_t(d)] * stride[size_t(d)];
      rest /= batch[size_t(d)];
    }
    offsets[i] = off;
  }
  return offsets;
}

// One call's operands as contiguous arrays of the compute type C, with the
// mask turned into an additive bias (0 or -inf for bool masks).
template <class C>
struct Problem {
  int64_t batch = 0, len_q = 0, len_k = 0, head_dim = 0, value_dim = 0;
  C scale = 1;
  bool causal = false;
  Tensor q, k, v, bias;  // keep the converted buffers alive
  std::vector<int64_t> q_off, k_off, v_off, bias_off;
  int64_t bias_row_stride = 0;  // 0 where the mask broadcasts over query rows
  bool bias_per_key = false;    // false where it broadcasts over keys

  Problem(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask, const Shape& batch_shape,
          const Attrs& attrs)
      : batch(shape_numel(batch_shape)), len_q(q_in.size(-2)), len_k(k_in.size(-2)), head_dim(q_in.size(-1)),
        value_dim(v_in.size(-1)), scale(C(attrs.f("scale"))), causal(attrs.b("is_causal")),
        q(q_in.to(dtype_v<C>).contiguous()), k(k_in.to(dtype_v<C>).contiguous()),
        v(v_in.to(dtype_v<C>).contiguous()), q_off(batch_offsets(batch_shape, q.sizes(), 2)),
        k_off(batch_offsets(batch_shape, k.sizes(), 2)), v_off(batch_offsets(batch_shape, v.sizes(), 2)) {
    if (!mask.defined()) return;
    Tensor m = mask.dtype() == DType::b8 ? masked_fill(zeros(mask.sizes(), dtype_v<C>), logical_not(mask), -kInf)
                                         : mask.to(dtype_v<C>);
    // Rank batch + 2 so that the last two dims are the mask's [L, S] (or 1).
    Shape padded(batch_shape.size() + 2 - size_t(m.dim()), 1);
    padded.insert(padded.end(), m.sizes().begin(), m.sizes().end());
    bias = reshape(m, padded).contiguous();
    bias_off = batch_offsets(batch_shape, padded, 2);
    bias_per_key = padded.back() != 1;
    bias_row_stride = padded[padded.size() - 2] != 1 ? padded.back() : 0;
  }
  const C* q_rows(int64_t b, int64_t i) const { return q.data_ptr<C>() + q_off[size_t(b)] + i * head_dim; }
  const C* k_rows(int64_t b, int64_t j) const { return k.data_ptr<C>() + k_off[size_t(b)] + j * head_dim; }
  const C* v_rows(int64_t b, int64_t j) const { return v.data_ptr<C>() + v_off[size_t(b)] + j * value_dim; }
};

// scores[rows x cols] (row stride kBlockK) = scale * q[i0.., :] k[j0.., :]^T,
// plus the mask's bias, with causally hidden keys (j > i) at -inf.
template <class C>
void score_tile(const Problem<C>& p, int64_t b, int64_t i0, int64_t rows, int64_t j0, int64_t cols, C* scores) {
  const int64_t e = p.head_dim;
  cpu::gemm<C>({p.q_rows(b, i0), rows, e, e, 1}, {p.k_rows(b, j0), e, cols, 1, e}, {scores, rows, cols, kBlockK, 1},
               p.scale, C(0));
  if (p.bias.defined()) {
    const C* bias = p.bias.template data_ptr<C>() + p.bias_off[size_t(b)];
    for (int64_t r = 0; r < rows; ++r) {
      C* s = scores + r * kBlockK;
      const C* br = bias + (i0 + r) * p.bias_row_stride;
      if (p.bias_per_key)
        for (int64_t j = 0; j < cols; ++j) s[j] += br[j0 + j];
      else
        for (int64_t j = 0; j < cols; ++j) s[j] += br[0];
    }
  }
  if (p.causal && j0 + cols - 1 > i0) {  // the tile crosses the diagonal
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t first_hidden = std::max<int64_t>(i0 + r + 1 - j0, 0);
      for (int64_t j = first_hidden; j < cols; ++j) scores[r * kBlockK + j] = C(-kInf);
    }
  }
}

// Keys a query block [i0, i0 + rows) sees: causal attention (top-left
// aligned, as PyTorch) stops at the block's last row.
template <class C>
int64_t key_end(const Problem<C>& p, int64_t i0, int64_t rows) {
  return p.causal ? std::min(p.len_k, i0 + rows) : p.len_k;
}

template <class C>
void online_softmax(C* scores, int64_t rows, int64_t cols, C* row_max, C* row_sum, C* acc, int64_t value_dim) {
  if constexpr (std::is_same_v<C, float>)
    EMBER_SIMD(attention_online_softmax_f32)(scores, rows, cols, kBlockK, row_max, row_sum, acc, value_dim, value_dim);
  else
    EMBER_SIMD(attention_online_softmax_f64)(scores, rows, cols, kBlockK, row_max, row_sum, acc, value_dim, value_dim);
}
template <class C>
void tile_probs(C* scores, int64_t rows, int64_t cols, const C* logsumexp) {
  if constexpr (std::is_same_v<C, float>) EMBER_SIMD(attention_probs_f32)(scores, rows, cols, kBlockK, logsumexp);
  else EMBER_SIMD(attention_probs_f64)(scores, rows, cols, kBlockK, logsumexp);
}
template <class C>
void tile_score_grads(const C* probs, C* grad, int64_t rows, int64_t cols, const C* delta) {
  if constexpr (std::is_same_v<C, float>)
    EMBER_SIMD(attention_score_grads_f32)(probs, grad, rows, cols, kBlockK, delta);
  else
    EMBER_SIMD(attention_score_grads_f64)(probs, grad, rows, cols, kBlockK, delta);
}

// See Note [Online softmax]. Parallel over (batch, query block); each task
// owns its output rows.
template <class C>
void attention_forward(const Problem<C>& p, C* out, C* logsumexp) {
  const int64_t q_blocks = (p.len_q + kBlockQ - 1) / kBlockQ, ev = p.value_dim;
  parallel_for(0, p.batch * q_blocks, 1, [&](int64_t begin, int64_t end) {
    // Per-task workspace from the caching allocator (visible in its peak statistics).
    Tensor work = Tensor::empty({kBlockQ * (kBlockK + ev + 2)}, dtype_v<C>);
    C* scores = work.data_ptr<C>();
    C* acc = scores + kBlockQ * kBlockK;
    C* row_max = acc + kBlockQ * ev;
    C* row_sum = row_max + kBlockQ;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / q_blocks, i0 = task % q_blocks * kBlockQ, rows = std::min(kBlockQ, p.len_q - i0);
      std::fill(row_max, row_max + rows, C(-kInf));
      std::fill(row_sum, row_sum + rows, C(0));
      std::fill(acc, acc + rows * ev, C(0));
      const int64_t keys = key_end(p, i0, rows);
      for (int64_t j0 = 0; j0 < keys; j0 += kBlockK) {
        const int64_t cols = std::min(kBlockK, keys - j0);
        score_tile(p, b, i0, rows, j0, cols, scores);
        online_softmax(scores, rows, cols, row_max, row_sum, acc, ev);
        cpu::gemm<C>({scores, rows, cols, kBlockK, 1}, {p.v_rows(b, j0), cols, ev, ev, 1}, {acc, rows, ev, ev, 1},
                     C(1), C(1));
      }
      C* o = out + (b * p.len_q + i0) * ev;
      C* lse = logsumexp + b * p.len_q + i0;
      for (int64_t r = 0; r < rows; ++r) {
        const C total = row_sum[r];
        // total == 0: every key masked (or none at all); see Note [Online softmax].
        const C inv = total == 0 ? C(0) : C(1) / total;
        for (int64_t e = 0; e < ev; ++e) o[r * ev + e] = acc[r * ev + e] * inv;
        lse[r] = total == 0 ? C(kInf) : row_max[r] + std::log(total);
      }
    }
  });
}

// FlashAttention-2's backward: per batch index, the outer loop walks key
// blocks (accumulating their dK, dV) and the inner loop the query blocks that
// see them, recomputing P = exp(S - logsumexp) per tile:
//   dV += P^T dO;  dP = dO V^T;  dS = P * (dP - D), D = rowsum(dO * O);
//   dQ += scale dS K;  dK += scale dS^T Q.
// Parallel over batch indices, each of which owns its rows of dQ, dK and dV.
template <class C>
void attention_backward(const Problem<C>& p, const C* grad_out, const C* out, const C* logsumexp, C* grad_q,
                        C* grad_k, C* grad_v) {
  const int64_t e = p.head_dim, ev = p.value_dim, lq = p.len_q, lk = p.len_k;
  parallel_for(0, p.batch, 1, [&](int64_t begin, int64_t end) {
    Tensor work = Tensor::empty({2 * kBlockQ * kBlockK + lq}, dtype_v<C>);
    C* probs = work.data_ptr<C>();
    C* grad_scores = probs + kBlockQ * kBlockK;
    C* delta = grad_scores + kBlockQ * kBlockK;
    for (int64_t b = begin; b < end; ++b) {
      const C* go = grad_out + b * lq * ev;
      const C* o = out + b * lq * ev;
      const C* lse = logsumexp + b * lq;
      C* gq = grad_q + b * lq * e;
      C* gk = grad_k + b * lk * e;
      C* gv = grad_v + b * lk * ev;
      std::fill(gq, gq + lq * e, C(0));
      std::fill(gk, gk + lk * e, C(0));
      std::fill(gv, gv + lk * ev, C(0));
      for (int64_t i = 0; i < lq; ++i) {
        C d = 0;
        for (int64_t c = 0; c < ev; ++c) d += go[i * ev + c] * o[i * ev + c];
        delta[i] = d;
      }
      for (int64_t j0 = 0; j0 < lk; j0 += kBlockK) {
        const int64_t cols = std::min(kBlockK, lk - j0);
        // Causal: query blocks wholly above this key block see none of it.
        for (int64_t i0 = p.causal ? j0 / kBlockQ * kBlockQ : 0; i0 < lq; i0 += kBlockQ) {
          const int64_t rows = std::min(kBlockQ, lq - i0), visible = std::min(cols, key_end(p, i0, rows) - j0);
          score_tile(p, b, i0, rows, j0, visible, probs);
          tile_probs(probs, rows, visible, lse + i0);
          cpu::gemm<C>({probs, visible, rows, 1, kBlockK}, {go + i0 * ev, rows, ev, ev, 1},
                       {gv + j0 * ev, visible, ev, ev, 1}, C(1), C(1));
          cpu::gemm<C>({go + i0 * ev, rows, ev, ev, 1}, {p.v_rows(b, j0), ev, visible, 1, ev},
                       {grad_scores, rows, visible, kBlockK, 1}, C(1), C(0));
          tile_score_grads(probs, grad_scores, rows, visible, delta + i0);
          cpu::gemm<C>({grad_scores, rows, visible, kBlockK, 1}, {p.k_rows(b, j0), visible, e, e, 1},
                       {gq + i0 * e, rows, e, e, 1}, p.scale, C(1));
          cpu::gemm<C>({grad_scores, visible, rows, 1, kBlockK}, {p.q_rows(b, i0), rows, e, e, 1},
                       {gk + j0 * e, visible, e, e, 1}, p.scale, C(1));
        }
      }
    }
  });
}

// bf16/f16 compute in float32 (as PyTorch's fused CPU kernel): C is the
// compute type, results are rounded into the outputs once.
template <class F>
void visit_compute_type(DType dt, F&& f) {
  if (dt == DType::f64) f.template operator()<double>();
  else f.template operator()<float>();
}
template <class C>
C* data_of(Tensor& out, Tensor& staging) {
  if (out.dtype() == dtype_v<C>) return out.data_ptr<C>();
  staging = Tensor::empty(out.sizes(), dtype_v<C>);
  return staging.data_ptr<C>();
}
void finish(Tensor& out, const Tensor& staging) {
  if (staging.defined()) copy_into(out, staging);
}

void attention_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape batch = leading(out[1].sizes(), 1);
  visit_compute_type(in[0].dtype(), [&]<class C>() {
    const Problem<C> p(in[0], in[1], in[2], in[3], batch, attrs);
    Tensor staging;
    C* o = data_of<C>(out[0], staging);
    attention_forward(p, o, out[1].data_ptr<C>());
    finish(out[0], staging);
  });
}

void attention_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape batch = leading(in[5].sizes(), 1);
  visit_compute_type(in[1].dtype(), [&]<class C>() {
    const Problem<C> p(in[1], in[2], in[3], in[6], batch, attrs);
    const Tensor go = in[0].to(dtype_v<C>).contiguous(), o = in[4].to(dtype_v<C>).contiguous();
    const Tensor lse = in[5].contiguous();
    Tensor staging[3];
    C* grads[3];
    for (int i = 0; i < 3; ++i) grads[i] = data_of<C>(out[size_t(i)], staging[i]);
    attention_backward(p, go.data_ptr<C>(), o.data_ptr<C>(), lse.data_ptr<C>(), grads[0], grads[1], grads[2]);
    for (int i = 0; i < 3; ++i) finish(out[size_t(i)], staging[i]);
  });
}

// The attention probabilities written with Ember ops (differentiable): the
// dropout path's forward and the double-backward formula. Rows with every
// key masked get 0, as the fused kernel.
Tensor attention_probs(const Tensor& q, const Tensor& k, double scale, bool is_causal, const Tensor& mask) {
  const int64_t len_q = q.size(-2), len_k = k.size(-2);
  Tensor scores = matmul(q, transpose(k, -2, -1)) * scale;
  if (is_causal) {
    // Query i attends to keys 0..i (top-left aligned, as PyTorch).
    std::vector<bool> future(static_cast<size_t>(len_q * len_k));
    for (int64_t i = 0; i < len_q; ++i)
      for (int64_t j = 0; j < len_k; ++j) future[size_t(i * len_k + j)] = j > i;
    scores = masked_fill(scores, tensor(future, {len_q, len_k}), -kInf);
  }
  if (mask.defined())
    scores = mask.dtype() == DType::b8 ? masked_fill(scores, logical_not(mask), -kInf) : scores + mask;
  return masked_fill(softmax(scores, -1), eq(amax(scores, {-1}, true), -kInf), 0);
}

// See Note [Attention double backward].
TensorList attention_backward_formula(const BackwardContext& c, const TensorList& g) {
  const Tensor &q = c.input(0), &k = c.input(1), &v = c.input(2), &mask = c.input(3);
  const double scale = c.attrs().f("scale");
  const bool is_causal = c.attrs().b("is_causal");
  if (!autograd::GradMode::is_enabled() && !c.needs_grad(3)) {
    TensorList grads = call(scaled_dot_product_attention_backward_op,
                            {g[0], q, k, v, c.output(0), c.output(1), mask}, c.attrs());
    grads.emplace_back();
    return grads;
  }
  const Tensor probs = attention_probs(q, k, scale, is_causal, mask);
  const Tensor grad_probs = matmul(g[0], transpose(v, -2, -1));
  const Tensor grad_scores = probs * (grad_probs - sum(grad_probs * probs, {-1}, true));
  TensorList grads(4);
  if (c.needs_grad(0)) grads[0] = matmul(grad_scores, k) * scale;
  if (c.needs_grad(1)) grads[1] = matmul(transpose(grad_scores, -2, -1), q) * scale;
  if (c.needs_grad(2)) grads[2] = matmul(transpose(probs, -2, -1), g[0]);
  if (c.needs_grad(3)) grads[3] = grad_scores;
  return grads;
}

}  // namespace

const OpDef scaled_dot_product_attention_op{
    .name = "scaled_dot_product_attention", .inputs = {"query", "key", "value", "attn_mask"},
    .infer = infer_attention, .cpu = attention_kernel, .backward = attention_backward_formula,
    // ONNX Attention (opset 23) takes the same inputs, scale and is_causal;
    // the logsumexp output is the backward's, not exported.
    .saves = Saves::both, .onnx = "Attention", .reference = "scaled_dot_product_attention"};
const OpDef scaled_dot_product_attention_backward_op{
    .name = "scaled_dot_product_attention_backward",
    .inputs = {"grad_output", "query", "key", "value", "output", "logsumexp", "attn_mask"},
    .infer = infer_attention_backward, .cpu = attention_backward_kernel,
    .nondifferentiable = "runs only with grad mode off; double backward differentiates the composite formula "
                         "instead (Note [Attention double backward] in src/ops/attention.cpp)",
    .not_exportable = "gradient of scaled_dot_product_attention; exported graphs are inference graphs",
    .reference = "scaled_dot_product_attention_backward"};

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options) {
  const OpDef& op = scaled_dot_product_attention_op;
  EMBER_CHECK(options.dropout_p >= 0 && options.dropout_p <= 1, ValueError, op.name,
              ": dropout_p has to be between 0 and 1, but got ", options.dropout_p);
  const double scale = options.scale.value_or(q.dim() > 0 ? 1.0 / std::sqrt(double(q.size(-1))) : 1.0);
  const Attrs attrs{{"scale", scale}, {"is_causal", options.is_causal}};
  if (options.dropout_p > 0) {  // see Note [Attention double backward]
    op.infer(op, std::vector<Tensor>{q, k, v, options.attn_mask}, attrs);
    const Tensor probs = attention_probs(q, k, scale, options.is_causal, options.attn_mask);
    return matmul(dropout(probs, options.dropout_p, true, options.generator), v);
  }
  return call(op, {q, k, v, options.attn_mask}, attrs)[0];
}

static const OpDef* const kAttentionOps[] = {&scaled_dot_product_attention_op,
                                             &scaled_dot_product_attention_backward_op};
std::span<const OpDef* const> attention_ops() { return kAttentionOps; }

}  // namespace ember
