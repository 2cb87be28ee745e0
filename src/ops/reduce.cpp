// Reductions. Kernels reduce the rows laid out by reduce_rows (kept dims
// outer, reduced dims inner), accumulating floats in double.
#include "ember/ops/reduce.h"

#include <cmath>

#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "ember/ops/shape.h"
#include "ember/ops/unary.h"
#include "elementwise.h"
#include "registry.h"

namespace ember {
using namespace detail;

namespace {

inline constexpr int64_t kReduceGrain = 16;  // output rows per task (each row may be long)

// The accumulator type of a reduction over T.
template <class T> using acc_t = std::conditional_t<is_floating_v<T>, double, int64_t>;

// Calls f(row_pointer, out_index) for each output row, in parallel.
template <class T, class F>
void for_each_row(const ReduceRows& rows, const F& f) {
  const T* data = rows.data.data_ptr<T>();
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(rows.inner, 1));
  parallel_for(0, rows.outer, std::max(grain, kReduceGrain), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) f(data + o * rows.inner, o);
  });
}

std::vector<TensorMeta> infer_sum(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), op.name);
  const DType dt = attrs.has("dtype") ? attrs.dtype("dtype")
                   : is_floating(in[0].dtype()) ? in[0].dtype()
                                                : DType::i64;
  return {{reduced_shape(in[0].sizes(), dims, attrs.b("keepdim")), dt}};
}

void sum_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), in[0].dim(), "sum");
  const ReduceRows rows = reduce_rows(in[0], dims, in[0].dtype());
  visit_dtype(in[0].dtype(), [&]<class T>() {
    visit_dtype(out[0].dtype(), [&]<class O>() {
      O* o = out[0].data_ptr<O>();
      for_each_row<T>(rows, [&](const T* row, int64_t idx) {
        acc_t<T> acc = 0;
        for (int64_t j = 0; j < rows.inner; ++j) acc += acc_t<T>(compute_t<T>(row[j]));
        o[idx] = O(compute_t<O>(acc));
      });
    });
  });
}

// The gradient of a reduction: g broadcast back over the reduced dims.
Tensor expand_reduced(const Tensor& g, const TensorMeta& input, const Attrs& attrs) {
  const Shape dims = normalize_dims(attrs.ints("dim"), int64_t(input.sizes.size()), "sum");
  const Shape kept = reduced_shape(input.sizes, dims, true);
  return expand(reshape(g, kept), input.sizes);
}

}  // namespace

const OpDef sum_op{.name = "sum", .inputs = {"self"}, .infer = infer_sum, .cpu = sum_kernel,
                   .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                     return {expand_reduced(g[0], c.input_meta(0), c.attrs())};
                   },
                   .onnx = "ReduceSum", .reference = "sum"};

Tensor sum(const Tensor& x, Shape dims, bool keepdim, std::optional<DType> dtype) {
  Attrs attrs{{"dim", std::move(dims)}, {"keepdim", keepdim}};
  if (dtype) attrs.set("dtype", *dtype);
  return call(sum_op, {x}, std::move(attrs))[0];
}

static const OpDef* const kReduceOps[] = {&sum_op};
std::span<const OpDef* const> reduce_ops() { return kReduceOps; }

}  // namespace ember
