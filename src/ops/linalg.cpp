// Matrix products. Three primitives run GEMMs (src/ops/cpu/gemm.h):
//   matmul  a [..., n, k] @ b [..., k, m] with broadcast batch dims (both >= 2-D)
//   linear  x @ weight^T + bias, fused: the bias is the GEMM's beta * C
//   addmm   beta * input + alpha * (a @ b)
// mm, bmm, outer, einsum and the 1-d forms of matmul are compositions of
// them and of views, so they inherit autograd and tracing.
#include "ember/ops/linalg.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "cpu/gemm.h"
#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "ember/ops/reduce.h"
#include "ember/ops/shape.h"
#include "elementwise.h"
#include "registry.h"

namespace ember {
using namespace detail;

namespace {

Shape drop_last(const Shape& s, size_t n) { return Shape(s.begin(), s.end() - std::ptrdiff_t(n)); }

void check_same_dtype(std::string_view op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dtype() == b.dtype(), DTypeError, op, ": expected a and b to have the same dtype, got ", a.dtype(),
              " and ", b.dtype());
  EMBER_CHECK(a.dtype() != DType::b8, DTypeError, op, ": not supported for bool tensors");
}

// a's last dim against b's rows (b's only dim when b is a vector).
void check_inner(std::string_view op, const Tensor& a, const Tensor& b) {
  const int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  EMBER_CHECK(ka == kb, ShapeError, op, ": a is ", shape_str(a.sizes()), ", b is ", shape_str(b.sizes()),
              ": inner dimensions ", ka, " and ", kb, " differ");
}

Tensor mT(const Tensor& t) { return transpose(t, -2, -1); }

// ---- matmul (>= 2-D operands) ----

std::vector<TensorMeta> infer_matmul(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  const Tensor &a = in[0], &b = in[1];
  EMBER_CHECK(a.dim() >= 2 && b.dim() >= 2, ShapeError, "matmul: the primitive takes operands of 2 or more dims, got ",
              shape_str(a.sizes()), " and ", shape_str(b.sizes()), " (ember::matmul promotes vectors)");
  check_same_dtype("matmul", a, b);
  check_inner("matmul", a, b);
  const Shape ba = drop_last(a.sizes(), 2), bb = drop_last(b.sizes(), 2);
  Shape out(std::max(ba.size(), bb.size()), 1);
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t x = i < out.size() - ba.size() ? 1 : ba[i - (out.size() - ba.size())];
    const int64_t y = i < out.size() - bb.size() ? 1 : bb[i - (out.size() - bb.size())];
    EMBER_CHECK(x == y || x == 1 || y == 1, ShapeError, "matmul: batch dimensions of a ", shape_str(a.sizes()),
                " and b ", shape_str(b.sizes()), " cannot be broadcast together (", x, " vs ", y, ")");
    out[i] = x == 1 ? y : x;
  }
  out.push_back(a.size(-2));
  out.push_back(b.size(-1));
  return {{std::move(out), a.dtype()}};
}

TensorList matmul_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor &a = c.input(0), &b = c.input(1);
  return {c.needs_grad(0) ? sum_to(matmul(g[0], mT(b)), a.sizes()) : Tensor{},
          c.needs_grad(1) ? sum_to(matmul(mT(a), g[0]), b.sizes()) : Tensor{}};
}

// ---- linear ----

std::vector<TensorMeta> infer_linear(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  EMBER_INTERNAL_ASSERT(in.size() == 2 || in.size() == 3, "linear takes input, weight and an optional bias");
  check_defined(in, op.name);
  const Tensor &x = in[0], &w = in[1];
  EMBER_CHECK(x.dim() >= 1, ShapeError, "linear: input must have at least 1 dimension, got a 0-d tensor");
  EMBER_CHECK(w.dim() == 2, ShapeError, "linear: weight must be 2-D [out_features, in_features], got ",
              shape_str(w.sizes()));
  check_same_dtype("linear", x, w);
  EMBER_CHECK(x.size(-1) == w.size(1), ShapeError, "linear: input is ", shape_str(x.sizes()), ", weight is ",
              shape_str(w.sizes()), ": in_features ", x.size(-1), " and ", w.size(1), " differ");
  if (in.size() == 3) {
    const Tensor& bias = in[2];
    check_same_dtype("linear", x, bias);
    EMBER_CHECK(bias.dim() == 0 || (bias.dim() == 1 && (bias.size(0) == w.size(0) || bias.size(0) == 1)),
                ShapeError, "linear: bias ", shape_str(bias.sizes()), " does not match out_features ", w.size(0),
                " of weight ", shape_str(w.sizes()));
  }
  Shape out = x.sizes();
  out.back() = w.size(0);
  return {{std::move(out), x.dtype()}};
}

// x [..., k] as a [rows, k] matrix: a strided alias when the leading dims
// collapse into one stride, else a contiguous copy.
Tensor as_matrix(const Tensor& x, int64_t rows) {
  const int64_t nd = x.dim(), k = x.size(-1);
  int64_t row_stride = k, expected = 0;
  bool first = true, collapses = true;
  for (int64_t d = nd - 2; d >= 0 && collapses; --d) {
    const int64_t size = x.sizes()[size_t(d)], stride = x.strides()[size_t(d)];
    if (size == 1) continue;
    if (!first && stride != expected) collapses = false;
    if (first) row_stride = stride;
    first = false;
    expected = stride * size;
  }
  if (collapses)
    return Tensor::from_storage(x.impl().storage, {rows, k}, {row_stride, x.stride(-1)}, x.storage_offset(),
                                x.dtype());
  Tensor copy = Tensor::empty(x.sizes(), x.dtype());
  copy_into(copy, x);
  return Tensor::from_storage(copy.impl().storage, {rows, k}, {k, 1}, copy.storage_offset(), copy.dtype());
}

void linear_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
  const Tensor &x = in[0], &w = in[1];
  Tensor& y = out[0];
  const int64_t n = w.size(0), k = w.size(1);
  const int64_t rows = shape_numel(drop_last(x.sizes(), 1));
  const Tensor x2 = as_matrix(x, rows);
  const Tensor wt = Tensor::from_storage(w.impl().storage, {k, n}, {w.stride(1), w.stride(0)}, w.storage_offset(),
                                         w.dtype());
  Tensor y2 = Tensor::from_storage(y.impl().storage, {rows, n}, {n, 1}, y.storage_offset(), y.dtype());
  const bool has_bias = in.size() == 3;
  if (has_bias) copy_into(y2, in[2]);  // broadcast over rows; the GEMM adds onto it (beta = 1)
  cpu::matmul_into(x2, wt, y2, 1, has_bias ? 1 : 0);
}

TensorList linear_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor &x = c.input(0), &w = c.input(1);
  const int64_t n = w.size(0), k = w.size(1);
  const int64_t rows = shape_numel(drop_last(x.sizes(), 1));
  TensorList grads(c.num_inputs());
  if (c.needs_grad(0)) grads[0] = matmul(g[0], w);
  if (c.needs_grad(1)) grads[1] = mm(mT(reshape(g[0], {rows, n})), reshape(x, {rows, k}));
  if (c.num_inputs() == 3 && c.needs_grad(2)) grads[2] = sum_to(g[0], c.input_meta(2).sizes);
  return grads;
}

// ---- addmm ----

std::vector<TensorMeta> infer_addmm(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor &input = in[0], &a = in[1], &b = in[2];
  EMBER_CHECK(a.dim() == 2 && b.dim() == 2, ShapeError, "addmm: mat1 and mat2 must be 2-D matrices, got ",
              shape_str(a.sizes()), " and ", shape_str(b.sizes()));
  check_same_dtype("addmm", a, b);
  EMBER_CHECK(input.dtype() == a.dtype(), DTypeError, "addmm: input is ", input.dtype(), " but mat1 and mat2 are ",
              a.dtype());
  check_inner("addmm", a, b);
  const Shape out{a.size(0), b.size(1)};
  bool broadcasts = input.dim() <= 2;
  for (int64_t d = 0; d < input.dim() && broadcasts; ++d) {
    const int64_t s = input.size(-1 - d);
    broadcasts = s == 1 || s == out[size_t(1 - d)];
  }
  EMBER_CHECK(broadcasts, ShapeError, "addmm: input ", shape_str(input.sizes()),
              " cannot be broadcast to the product's shape ", shape_str(out));
  if (!is_floating(a.dtype()))
    for (const char* name : {"alpha", "beta"})
      EMBER_CHECK(!attrs.scalar(name).is_floating(), DTypeError, "addmm: ", name, " ", attrs.scalar(name),
                  " must be an integer for integer tensors (", a.dtype(), ")");
  return {{out, a.dtype()}};
}

void addmm_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Scalar beta = attrs.scalar("beta");
  // beta == 0 ignores input entirely (NaN included), as PyTorch does.
  if (beta.to_double() != 0) copy_into(out[0], in[0]);
  cpu::matmul_into(in[1], in[2], out[0], attrs.scalar("alpha"), beta);
}

Tensor scaled(const Tensor& t, const Scalar& s) { return s == Scalar(1) ? t : mul(t, s); }

TensorList addmm_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor &a = c.input(1), &b = c.input(2);
  const Scalar alpha = c.attrs().scalar("alpha"), beta = c.attrs().scalar("beta");
  return {c.needs_grad(0) ? sum_to(scaled(g[0], beta), c.input_meta(0).sizes) : Tensor{},
          c.needs_grad(1) ? scaled(mm(g[0], mT(b)), alpha) : Tensor{},
          c.needs_grad(2) ? scaled(mm(mT(a), g[0]), alpha) : Tensor{}};
}

}  // namespace

const OpDef matmul_op{.name = "matmul", .inputs = {"self", "other"}, .infer = infer_matmul,
                      .cpu = [](std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
                        cpu::matmul_into(in[0], in[1], out[0]);
                      },
                      .backward = matmul_backward, .saves = Saves::inputs, .onnx = "MatMul", .reference = "matmul",
                      .autocast = AutocastPolicy::lower_precision};
// ONNX Gemm takes a 2-D input; the exporter lowers N-d inputs to MatMul + Add.
const OpDef linear_op{.name = "linear", .inputs = {"input", "weight", "bias"}, .infer = infer_linear,
                      .cpu = linear_kernel, .backward = linear_backward, .saves = Saves::inputs, .onnx = "Gemm",
                      .reference = "linear", .autocast = AutocastPolicy::lower_precision};
const OpDef addmm_op{.name = "addmm", .inputs = {"self", "mat1", "mat2"}, .infer = infer_addmm,
                     .cpu = addmm_kernel, .backward = addmm_backward, .saves = Saves::inputs, .onnx = "Gemm",
                     .reference = "addmm", .autocast = AutocastPolicy::lower_precision};

Tensor matmul(const Tensor& a, const Tensor& b) {
  const Tensor operands[] = {a, b};
  check_defined(operands, "matmul");
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, ShapeError, "matmul: both arguments need at least 1 dimension, got a ",
              shape_str(a.sizes()), " and b ", shape_str(b.sizes()));
  check_same_dtype("matmul", a, b);
  check_inner("matmul", a, b);
  // Vectors become a row (a) or a column (b) and are squeezed back out.
  const Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  const Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  Tensor r;
  if (a2.dim() >= 3 && b2.dim() == 2) {
    // Fold a's batch dims into its rows: one GEMM, and b's gradient is one
    // GEMM too instead of a batch of them summed (PyTorch folds the same way).
    Shape out = drop_last(a2.sizes(), 1);
    out.push_back(b2.size(1));
    const int64_t rows = shape_numel(drop_last(a2.sizes(), 1));
    r = reshape(call(matmul_op, {reshape(a2, {rows, a2.size(-1)}), b2})[0], std::move(out));
  } else {
    r = call(matmul_op, {a2, b2})[0];
  }
  if (b.dim() == 1) r = squeeze(r, -1);
  if (a.dim() == 1) r = squeeze(r, b.dim() == 1 ? -1 : -2);
  return r;
}

Tensor mm(const Tensor& a, const Tensor& b) {
  const Tensor operands[] = {a, b};
  check_defined(operands, "mm");
  EMBER_CHECK(a.dim() == 2 && b.dim() == 2, ShapeError, "mm: a and b must be 2-D matrices, got ",
              shape_str(a.sizes()), " and ", shape_str(b.sizes()));
  check_same_dtype("mm", a, b);
  check_inner("mm", a, b);
  return call(matmul_op, {a, b})[0];
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  const Tensor operands[] = {a, b};
  check_defined(operands, "bmm");
  EMBER_CHECK(a.dim() == 3 && b.dim() == 3, ShapeError, "bmm: a and b must be 3-D batches of matrices, got ",
              shape_str(a.sizes()), " and ", shape_str(b.sizes()));
  EMBER_CHECK(a.size(0) == b.size(0), ShapeError, "bmm: a ", shape_str(a.sizes()), " and b ", shape_str(b.sizes()),
              " have different batch sizes ", a.size(0), " and ", b.size(0), " (bmm does not broadcast)");
  check_same_dtype("bmm", a, b);
  check_inner("bmm", a, b);
  return call(matmul_op, {a, b})[0];
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (!bias.defined()) return call(linear_op, {x, weight})[0];
  return call(linear_op, {x, weight, bias})[0];
}

Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, Scalar beta, Scalar alpha) {
  return call(addmm_op, {input, a, b}, {{"beta", beta}, {"alpha", alpha}})[0];
}

Tensor outer(const Tensor& a, const Tensor& b) {
  const Tensor operands[] = {a, b};
  check_defined(operands, "outer");
  EMBER_CHECK(a.dim() == 1 && b.dim() == 1, ShapeError, "outer: a and b must be 1-D vectors, got ",
              shape_str(a.sizes()), " and ", shape_str(b.sizes()));
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

// ---- einsum ----
// Note [einsum lowering]
// Labels become ids (A-Z = 0..25, a-z = 26..51, ellipsis dims 52...; the
// ellipsis is right-aligned across operands and broadcasts). Each operand
// first takes its diagonals (a repeated label: multiply by an identity mask
// and sum, which costs one pass over the operand and stays differentiable)
// and sums out labels no one else uses. Operands are then contracted left to
// right: labels both share and still need are batch dims, labels both share
// and no longer need are contracted, the rest are rows/columns of one
// broadcasting batched matmul (or a broadcasting mul when nothing is
// contracted). Size-1 dims broadcast against their label's size, as in PyTorch.
namespace {

constexpr int kEllipsisLabel = 52;  // first ellipsis dim's id
constexpr int kEllipsisMarker = -1;

std::string label_name(int id) {
  if (id >= kEllipsisLabel) return "... dim " + std::to_string(id - kEllipsisLabel);
  return std::string(1, id < 26 ? char('A' + id) : char('a' + id - 26));
}

struct Operand {
  Tensor t;
  std::vector<int> labels;  // one per dim
};

struct EinsumSpec {
  std::vector<std::vector<int>> inputs;
  std::vector<int> output;
};

std::vector<int> parse_term(std::string_view term, std::string_view eq) {
  std::vector<int> labels;
  bool ellipsis = false;
  for (size_t i = 0; i < term.size();) {
    const char ch = term[i];
    if (ch == '.') {
      EMBER_CHECK(term.substr(i, 3) == "...", ValueError, "einsum: equation '", eq,
                  "' has a '.' that is not part of an ellipsis '...'");
      EMBER_CHECK(!ellipsis, ValueError, "einsum: equation '", eq, "' has more than one ellipsis in the term '",
                  term, "'");
      ellipsis = true;
      labels.push_back(kEllipsisMarker);
      i += 3;
      continue;
    }
    const bool upper = ch >= 'A' && ch <= 'Z', lower = ch >= 'a' && ch <= 'z';
    EMBER_CHECK(upper || lower, ValueError, "einsum: equation '", eq, "' has the invalid subscript '", ch,
                "' (subscripts are letters a-z, A-Z and '...')");
    labels.push_back(upper ? ch - 'A' : 26 + ch - 'a');
    ++i;
  }
  return labels;
}

// Parses and validates the equation against the operands: label ids per dim
// (ellipses expanded) and the output's labels.
EinsumSpec parse_einsum(std::string_view equation, const TensorList& operands) {
  std::string eq;
  for (char ch : equation)
    if (!std::isspace(static_cast<unsigned char>(ch))) eq += ch;
  EMBER_CHECK(!operands.empty(), ValueError, "einsum: equation '", equation, "' was given no operands");
  const size_t arrow = eq.find("->");
  EMBER_CHECK(arrow == std::string::npos || eq.find("->", arrow + 2) == std::string::npos, ValueError,
              "einsum: equation '", equation, "' has more than one '->'");
  const std::string_view lhs = std::string_view(eq).substr(0, arrow);
  std::vector<std::string_view> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  EMBER_CHECK(terms.size() == operands.size(), ValueError, "einsum: equation '", equation, "' has ", terms.size(),
              " operand term(s) but ", operands.size(), " operand(s) were given");

  EinsumSpec spec;
  std::vector<int64_t> ellipsis_dims(operands.size(), 0);
  int64_t max_ellipsis = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    check_defined(std::span<const Tensor>(&operands[i], 1), "einsum");
    const std::vector<int> labels = parse_term(terms[i], equation);
    const bool has_ellipsis = std::ranges::count(labels, kEllipsisMarker) == 1;
    const int64_t named = int64_t(labels.size()) - (has_ellipsis ? 1 : 0);
    const int64_t nd = operands[i].dim();
    EMBER_CHECK(has_ellipsis ? nd >= named : nd == named, ShapeError, "einsum: equation '", equation, "' gives operand ",
                i, " ", named, " subscript(s) ('", terms[i], "') but it has ", nd, " dimension(s) ",
                shape_str(operands[i].sizes()));
    ellipsis_dims[i] = has_ellipsis ? nd - named : 0;
    max_ellipsis = std::max(max_ellipsis, ellipsis_dims[i]);
    spec.inputs.push_back(labels);
  }
  std::array<int, 52> count{};
  for (size_t i = 0; i < terms.size(); ++i) {
    std::vector<int> expanded;
    for (int l : spec.inputs[i]) {
      if (l != kEllipsisMarker) {
        ++count[size_t(l)];
        expanded.push_back(l);
        continue;
      }
      for (int64_t e = max_ellipsis - ellipsis_dims[i]; e < max_ellipsis; ++e)
        expanded.push_back(kEllipsisLabel + int(e));
    }
    spec.inputs[i] = std::move(expanded);
  }

  if (arrow == std::string::npos) {
    // Implicit output: the ellipsis, then the labels used exactly once, sorted.
    for (int e = 0; e < max_ellipsis; ++e) spec.output.push_back(kEllipsisLabel + e);
    for (int l = 0; l < 52; ++l)
      if (count[size_t(l)] == 1) spec.output.push_back(l);
  } else {
    for (int l : parse_term(std::string_view(eq).substr(arrow + 2), equation)) {
      if (l == kEllipsisMarker) {
        for (int e = 0; e < max_ellipsis; ++e) spec.output.push_back(kEllipsisLabel + e);
        continue;
      }
      EMBER_CHECK(count[size_t(l)] > 0, ValueError, "einsum: output subscript '", label_name(l), "' of equation '",
                  equation, "' does not appear in any operand");
      EMBER_CHECK(std::ranges::count(spec.output, l) == 0, ValueError, "einsum: output subscript '", label_name(l),
                  "' appears more than once in equation '", equation, "'");
      spec.output.push_back(l);
    }
  }

  // Sizes: equal within an operand (diagonals), equal or 1 across operands.
  std::vector<int64_t> size_of(size_t(kEllipsisLabel + max_ellipsis), -1);
  std::vector<size_t> seen_in(size_of.size(), 0);
  for (size_t i = 0; i < operands.size(); ++i) {
    std::vector<int64_t> mine(size_of.size(), -1);
    for (size_t d = 0; d < spec.inputs[i].size(); ++d) {
      const int l = spec.inputs[i][d];
      const int64_t s = operands[i].sizes()[d];
      int64_t& m = mine[size_t(l)];
      EMBER_CHECK(m < 0 || m == s, ShapeError, "einsum: subscript '", label_name(l), "' is repeated for operand ",
                  i, " ", shape_str(operands[i].sizes()), " but the sizes don't match, ", m, " != ", s);
      m = s;
      int64_t& g = size_of[size_t(l)];
      EMBER_CHECK(g < 0 || g == s || g == 1 || s == 1, ShapeError, "einsum: subscript '", label_name(l),
                  "' has size ", s, " in operand ", i, " ", shape_str(operands[i].sizes()), " but size ", g,
                  " in operand ", seen_in[size_t(l)], "; they cannot be broadcast together");
      if (g < 0 || g == 1) {
        g = s;
        seen_in[size_t(l)] = i;
      }
    }
  }
  return spec;
}

int64_t dim_of(const Operand& o, int label) {
  return int64_t(std::ranges::find(o.labels, label) - o.labels.begin());
}
bool has_label(const std::vector<int>& labels, int l) { return std::ranges::find(labels, l) != labels.end(); }

// Sums o over the dims whose label satisfies `drop` (sum keeps o's dtype).
template <class Pred>
void sum_labels(Operand& o, Pred drop) {
  Shape dims;
  std::vector<int> kept;
  for (size_t d = 0; d < o.labels.size(); ++d) {
    if (drop(o.labels[d])) dims.push_back(int64_t(d));
    else kept.push_back(o.labels[d]);
  }
  if (dims.empty()) return;
  o.t = sum(o.t, dims, false, o.t.dtype());
  o.labels = std::move(kept);
}

// Replaces every repeated label by its diagonal.
void take_diagonals(Operand& o) {
  for (size_t d1 = 0; d1 < o.labels.size(); ++d1)
    for (size_t d2 = d1 + 1; d2 < o.labels.size();) {
      if (o.labels[d2] != o.labels[d1]) {
        ++d2;
        continue;
      }
      const int64_t n = o.t.sizes()[d1];
      Shape mask_shape(o.labels.size(), 1);
      mask_shape[d1] = mask_shape[d2] = n;
      const Tensor mask = reshape(eye(n, n, o.t.dtype()), mask_shape);
      o.t = sum(mul(o.t, mask), {int64_t(d2)}, false, o.t.dtype());
      o.labels.erase(o.labels.begin() + std::ptrdiff_t(d2));
    }
}

// o permuted to the given label order.
Tensor permuted(const Operand& o, const std::vector<int>& order) {
  Shape dims;
  for (int l : order) dims.push_back(dim_of(o, l));
  bool identity = true;
  for (size_t i = 0; i < dims.size(); ++i) identity = identity && dims[i] == int64_t(i);
  return identity ? o.t : permute(o.t, dims);
}

Tensor reshaped(const Tensor& t, const Shape& sizes) { return t.sizes() == sizes ? t : reshape(t, sizes); }

Operand contract(Operand a, Operand b, const std::vector<int>& needed_later) {
  std::vector<int> batch, contracted, a_only, b_only;
  for (int l : a.labels) {
    if (!has_label(b.labels, l)) a_only.push_back(l);
    else if (has_label(needed_later, l)) batch.push_back(l);
    else contracted.push_back(l);
  }
  for (int l : b.labels)
    if (!has_label(a.labels, l)) b_only.push_back(l);
  // A contracted label of size 1 on one side broadcasts: sum the other side first.
  for (int l : contracted) {
    const int64_t sa = a.t.size(dim_of(a, l)), sb = b.t.size(dim_of(b, l));
    if (sa == 1 && sb != 1) b.t = sum(b.t, {dim_of(b, l)}, true, b.t.dtype());
    if (sb == 1 && sa != 1) a.t = sum(a.t, {dim_of(a, l)}, true, a.t.dtype());
  }
  auto concat = [](std::initializer_list<const std::vector<int>*> parts) {
    std::vector<int> all;
    for (const auto* p : parts) all.insert(all.end(), p->begin(), p->end());
    return all;
  };
  Operand r;
  r.labels = concat({&batch, &a_only, &b_only});
  if (contracted.empty()) {
    // Nothing to sum: a broadcasting product [batch, a_only, 1...] * [batch, 1..., b_only].
    Tensor ta = permuted(a, concat({&batch, &a_only}));
    for (size_t i = 0; i < b_only.size(); ++i) ta = unsqueeze(ta, -1);
    Tensor tb = permuted(b, concat({&batch, &b_only}));
    for (size_t i = 0; i < a_only.size(); ++i) tb = unsqueeze(tb, int64_t(batch.size()));
    r.t = mul(ta, tb);
    return r;
  }
  auto sizes_of = [](const Operand& o, const std::vector<int>& labels) {
    Shape s;
    for (int l : labels) s.push_back(o.t.size(dim_of(o, l)));
    return s;
  };
  const Shape a_batch = sizes_of(a, batch), b_batch = sizes_of(b, batch);
  const Shape m_sizes = sizes_of(a, a_only), n_sizes = sizes_of(b, b_only);
  const int64_t m = shape_numel(m_sizes), n = shape_numel(n_sizes), k = shape_numel(sizes_of(a, contracted));
  auto with = [](Shape s, std::initializer_list<int64_t> tail) {
    s.insert(s.end(), tail);
    return s;
  };
  const Tensor ta = reshaped(permuted(a, concat({&batch, &a_only, &contracted})), with(a_batch, {m, k}));
  const Tensor tb = reshaped(permuted(b, concat({&batch, &contracted, &b_only})), with(b_batch, {k, n}));
  Tensor prod = matmul(ta, tb);
  Shape out = drop_last(prod.sizes(), 2);
  out.insert(out.end(), m_sizes.begin(), m_sizes.end());
  out.insert(out.end(), n_sizes.begin(), n_sizes.end());
  r.t = reshaped(prod, out);
  return r;
}

}  // namespace

Tensor einsum(std::string_view equation, const TensorList& operands) {
  const EinsumSpec spec = parse_einsum(equation, operands);
  for (size_t i = 1; i < operands.size(); ++i)
    EMBER_CHECK(operands[i].dtype() == operands[0].dtype(), DTypeError, "einsum: operands must share a dtype, got ",
                operands[0].dtype(), " (operand 0) and ", operands[i].dtype(), " (operand ", i, ")");
  EMBER_CHECK(operands[0].dtype() != DType::b8, DTypeError, "einsum: not supported for bool tensors");

  std::vector<Operand> ops;
  for (size_t i = 0; i < operands.size(); ++i) {
    Operand o{operands[i], spec.inputs[i]};
    take_diagonals(o);
    // Labels no other operand and not the output uses are summed right away.
    sum_labels(o, [&](int l) {
      if (has_label(spec.output, l)) return false;
      for (size_t j = 0; j < operands.size(); ++j)
        if (j != i && has_label(spec.inputs[j], l)) return false;
      return true;
    });
    ops.push_back(std::move(o));
  }
  Operand acc = std::move(ops[0]);
  for (size_t i = 1; i < ops.size(); ++i) {
    std::vector<int> needed = spec.output;
    for (size_t j = i + 1; j < ops.size(); ++j) needed.insert(needed.end(), ops[j].labels.begin(), ops[j].labels.end());
    acc = contract(std::move(acc), std::move(ops[i]), needed);
  }
  return permuted(acc, spec.output);
}

static const OpDef* const kLinalgOps[] = {&matmul_op, &linear_op, &addmm_op};
std::span<const OpDef* const> linalg_ops() { return kLinalgOps; }

}  // namespace ember
