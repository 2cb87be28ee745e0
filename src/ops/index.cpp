// Gathering and scattering by integer index tensors, advanced indexing
// (x[idx, mask]), embedding lookups and sorting.
//
// Note [Index kernels]
// Every kernel here is an elementwise loop of the strided iterator (iter.h)
// in which one operand is addressed at a data-dependent offset: a gather reads
// src[p + index[p] * step], a scatter writes dst[p + index[p] * step], where
// the strided operand has stride 0 along the dims the index replaces. Index
// values are checked in the kernel (they are data) and raise IndexError naming
// the op, the value and the dim's size. Pure data movement dispatches on the
// element size only; accumulating scatters dispatch on the dtype.
#include "ember/ops/index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>

#include "ember/autograd/autograd.h"
#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "ember/ops/shape.h"
#include "elementwise.h"
#include "registry.h"

namespace ember {
using namespace detail;

// Defined below; the backward formulas of index and index_put call each other.
extern const OpDef index_op, index_put_op;

namespace {

// ---- shared pieces ----

bool is_index_dtype(DType dt) { return dt == DType::i64 || dt == DType::i32; }

void check_index_dtype(const Tensor& index, std::string_view op, std::string_view what = "index") {
  EMBER_CHECK(is_index_dtype(index.dtype()), DTypeError, op, ": ", what, " must be an int64 or int32 tensor, got ",
              index.dtype());
}

void check_same_dtype(const Tensor& self, const Tensor& src, std::string_view op, std::string_view what) {
  EMBER_CHECK(self.dtype() == src.dtype(), DTypeError, op, ": expected self and ", what,
              " to have the same dtype, got ", self.dtype(), " and ", src.dtype());
}

// gather/scatter treat a 0-d tensor as 1-d (as PyTorch does).
int64_t rank1(const Tensor& t) { return std::max<int64_t>(t.dim(), 1); }
int64_t size1(const Tensor& t, int64_t d) { return t.dim() == 0 ? 1 : t.sizes()[size_t(d)]; }
int64_t dim_attr(const Tensor& x, const Attrs& attrs, std::string_view op) {
  return wrap_dim(attrs.i("dim"), rank1(x), op);
}

// An index value read by a kernel: wrapped if negative indices are allowed,
// then bounds-checked.
struct IndexBound {
  std::string_view op;
  int64_t dim = 0;
  int64_t size = 0;
  bool negative_ok = false;
  int64_t operator()(int64_t i) const {
    const int64_t w = i < 0 && negative_ok ? i + size : i;
    if (w < 0 || w >= size) [[unlikely]]
      EMBER_THROW(IndexError, op, ": index ", i, " is out of bounds for dim ", dim, " with size ", size);
    return w;
  }
};

// An operand of an index kernel: base pointer and byte strides over the
// iteration shape (a 0-d tensor is seen as [1]).
struct Operand {
  char* data;
  Shape strides;
};
Operand operand(const Tensor& t) {
  Operand o{static_cast<char*>(t.raw_data()), t.strides()};
  for (auto& s : o.strides) s *= int64_t(t.itemsize());
  if (o.strides.empty()) o.strides = {0};
  return o;
}
Shape sizes1(const Tensor& t) { return t.dim() == 0 ? Shape{1} : t.sizes(); }

// Same-sized unsigned type: copies need only the element size.
template <class F>
void visit_itemsize(size_t size, const F& f) {
  switch (size) {
    case 1: return f.template operator()<uint8_t>();
    case 2: return f.template operator()<uint16_t>();
    case 4: return f.template operator()<uint32_t>();
    default: return f.template operator()<uint64_t>();
  }
}
template <class F>
void visit_index(DType dt, const F& f) {
  if (dt == DType::i32) f.template operator()<int32_t>();
  else f.template operator()<int64_t>();
}

template <class T>
T load(const char* p) {
  return *reinterpret_cast<const T*>(p);
}

// out[p] = src[p + index[p] * step] over `sizes` (Note [Index kernels]).
template <class T, class I>
void take(const Shape& sizes, const Operand& out, const Operand& src, int64_t step, const Operand& index,
          const IndexBound& bound) {
  StridedOperands<3> ops{{out.data, src.data, index.data}, {out.strides, src.strides, index.strides}};
  for_each_strided<3>(sizes, ops, kElementwiseGrain,
                      [&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
                        for (int64_t j = 0; j < n; ++j) {
                          const int64_t i = bound(int64_t(load<I>(p[2] + j * s[2])));
                          *reinterpret_cast<T*>(p[0] + j * s[0]) = load<T>(p[1] + j * s[1] + i * step);
                        }
                      });
}

// Combining a scattered value into its destination.
struct Assign {
  template <class T> void operator()(T& d, T v) const { d = v; }
};
struct Accumulate {
  double alpha = 1;
  template <class T> void operator()(T& d, T v) const {
    using C = compute_t<T>;
    if constexpr (std::is_same_v<T, bool>) d = d || (v && alpha != 0);
    else if (alpha == 1) d = T(C(C(d) + C(v)));
    else d = T(C(C(d) + C(alpha) * C(v)));
  }
};

// For each position p of `sizes`: dst[p + index[p] * step] op= src[p], except
// that the lines along `dim` are each walked by one thread, in order, so that
// duplicate indices combine deterministically and without races.
template <class T, class I, class Op>
void put_lines(Shape sizes, int64_t dim, const Operand& dst, int64_t step, const Operand& src, const Operand& index,
               const IndexBound& bound, const Op& op) {
  const int64_t len = sizes[size_t(dim)];
  sizes[size_t(dim)] = 1;
  const int64_t src_step = src.strides[size_t(dim)], index_step = index.strides[size_t(dim)];
  StridedOperands<3> ops{{dst.data, src.data, index.data}, {dst.strides, src.strides, index.strides}};
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(len, 1));
  for_each_strided<3>(sizes, ops, grain,
                      [&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
                        for (int64_t j = 0; j < n; ++j)
                          for (int64_t k = 0; k < len; ++k) {
                            const int64_t i = bound(int64_t(load<I>(p[2] + j * s[2] + k * index_step)));
                            T& d = *reinterpret_cast<T*>(p[0] + j * s[0] + i * step);
                            op(d, load<T>(p[1] + j * s[1] + k * src_step));
                          }
                      });
}

// out <- in (unless a call_out already aliases them).
void copy_self(Tensor& out, const Tensor& in) {
  if (out.raw_data() == in.raw_data() && out.strides() == in.strides()) return;
  copy_into(out, in);
}

// ---- index_select ----
std::vector<TensorMeta> infer_index_select(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor &x = in[0], &index = in[1];
  const int64_t d = dim_attr(x, attrs, op.name);
  check_index_dtype(index, op.name);
  EMBER_CHECK(index.dim() <= 1, ShapeError, "index_select: index must be 0-d or 1-d, got shape ",
              shape_str(index.sizes()));
  if (x.dim() == 0) {
    EMBER_CHECK(index.numel() == 1, ShapeError, "index_select: index into a 0-d tensor must have 1 value, got ",
                index.numel());
    return {meta_of(x)};
  }
  Shape sizes = x.sizes();
  sizes[size_t(d)] = index.numel();
  return {{sizes, x.dtype()}};
}

void index_select_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor &x = in[0], &index = in[1];
  const int64_t d = dim_attr(x, attrs, "index_select");
  const Shape sizes = sizes1(out[0]);
  Operand src = operand(x);
  const int64_t step = src.strides[size_t(d)];
  src.strides[size_t(d)] = 0;
  Operand idx{static_cast<char*>(index.raw_data()), Shape(sizes.size(), 0)};
  idx.strides[size_t(d)] = index.dim() == 0 ? 0 : index.strides()[0] * int64_t(index.itemsize());
  const IndexBound bound{"index_select", d, size1(x, d)};
  visit_itemsize(x.itemsize(), [&]<class T>() {
    visit_index(index.dtype(), [&]<class I>() { take<T, I>(sizes, operand(out[0]), src, step, idx, bound); });
  });
}

// ---- gather ----
// index has self's rank and fits in self apart from `dim`.
void check_gather_shapes(const Tensor& x, const Tensor& index, int64_t d, std::string_view op) {
  EMBER_CHECK(rank1(index) == rank1(x), ShapeError, op, ": index ", shape_str(index.sizes()),
              " must have as many dims as self ", shape_str(x.sizes()));
  for (int64_t k = 0; k < rank1(x); ++k)
    EMBER_CHECK(k == d || size1(index, k) <= size1(x, k), ShapeError, op, ": index ", shape_str(index.sizes()),
                " is larger than self ", shape_str(x.sizes()), " at dim ", k, " (only dim ", d, " may differ)");
}

std::vector<TensorMeta> infer_gather(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor &x = in[0], &index = in[1];
  const int64_t d = dim_attr(x, attrs, op.name);
  check_index_dtype(index, op.name);
  check_gather_shapes(x, index, d, op.name);
  return {{index.sizes(), x.dtype()}};
}

void gather_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor &x = in[0], &index = in[1];
  const int64_t d = dim_attr(x, attrs, "gather");
  Operand src = operand(x);
  const int64_t step = src.strides[size_t(d)];
  src.strides[size_t(d)] = 0;
  const IndexBound bound{"gather", d, size1(x, d)};
  visit_itemsize(x.itemsize(), [&]<class T>() {
    visit_index(index.dtype(), [&]<class I>() {
      take<T, I>(sizes1(index), operand(out[0]), src, step, operand(index), bound);
    });
  });
}

// ---- scatter, scatter_add ----
std::vector<TensorMeta> infer_scatter(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const std::string_view name = op.name == "scatter_value" ? "scatter" : op.name;  // as the user called it
  const Tensor &x = in[0], &index = in[1];
  const int64_t d = dim_attr(x, attrs, name);
  check_index_dtype(index, name);
  check_gather_shapes(x, index, d, name);
  if (in.size() > 2) {
    const Tensor& src = in[2];
    check_same_dtype(x, src, name, "src");
    EMBER_CHECK(rank1(src) == rank1(x), ShapeError, name, ": src ", shape_str(src.sizes()),
                " must have as many dims as self ", shape_str(x.sizes()));
    for (int64_t k = 0; k < rank1(x); ++k)
      EMBER_CHECK(size1(index, k) <= size1(src, k), ShapeError, name, ": index ", shape_str(index.sizes()),
                  " is larger than src ", shape_str(src.sizes()), " at dim ", k);
  } else {
    const Scalar& v = attrs.scalar("value");
    EMBER_CHECK(is_floating(x.dtype()) || !v.is_floating(), DTypeError, name, ": value ", v,
                " cannot be scattered into a ", x.dtype(), " tensor");
  }
  return {meta_of(x)};
}

template <class Op>
void scatter_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs, std::string_view name) {
  const Tensor &x = in[0], &index = in[1];
  copy_self(out[0], x);
  const int64_t d = dim_attr(x, attrs, name);
  Operand dst = operand(out[0]);
  const int64_t step = dst.strides[size_t(d)];
  dst.strides[size_t(d)] = 0;
  const IndexBound bound{name, d, size1(x, d)};
  visit_dtype(x.dtype(), [&]<class T>() {
    T value{};  // the scalar form reads one value with zero strides
    Operand src{reinterpret_cast<char*>(&value), Shape(size_t(rank1(x)), 0)};
    if (in.size() > 2) src = operand(in[2]);
    else value = attrs.scalar("value").to<T>();
    visit_index(index.dtype(), [&]<class I>() {
      put_lines<T, I>(sizes1(index), d, dst, step, src, operand(index), bound, Op{});
    });
  });
}

// The gradient of scatter for src: grad at the scattered positions, laid
// into src's shape (src may be larger than index).
Tensor scatter_src_grad(const Tensor& g, int64_t dim, const Tensor& index, const TensorMeta& src) {
  Tensor picked = gather(g, dim, index);
  if (picked.sizes() == src.sizes) return picked;
  // Put `picked` at the leading corner of zeros(src): index every dim with an open mesh of aranges.
  std::vector<std::optional<Tensor>> mesh;
  const int64_t nd = int64_t(src.sizes.size());
  for (int64_t k = 0; k < nd; ++k) {
    Shape s(size_t(nd), 1);
    s[size_t(k)] = picked.sizes()[size_t(k)];
    mesh.emplace_back(reshape(arange(picked.sizes()[size_t(k)]), s));
  }
  return index_put(zeros(src.sizes, g.dtype()), mesh, picked);
}

// ---- index_add ----
std::vector<TensorMeta> infer_index_add(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor &x = in[0], &index = in[1], &source = in[2];
  const int64_t d = dim_attr(x, attrs, op.name);
  check_index_dtype(index, op.name);
  check_same_dtype(x, source, op.name, "source");
  EMBER_CHECK(index.dim() <= 1, ShapeError, "index_add: index must be 0-d or 1-d, got shape ",
              shape_str(index.sizes()));
  EMBER_CHECK(rank1(source) == rank1(x), ShapeError, "index_add: source ", shape_str(source.sizes()),
              " must have as many dims as self ", shape_str(x.sizes()));
  for (int64_t k = 0; k < rank1(x); ++k)
    EMBER_CHECK(k == d || size1(source, k) == size1(x, k), ShapeError, "index_add: source ",
                shape_str(source.sizes()), " must match self ", shape_str(x.sizes()), " apart from dim ", d);
  EMBER_CHECK(index.numel() == size1(source, d), ShapeError, "index_add: number of indices (", index.numel(),
              ") must equal source.size(", d, ") = ", size1(source, d));
  const Scalar& alpha = attrs.scalar("alpha");
  EMBER_CHECK(is_floating(x.dtype()) || !alpha.is_floating(), DTypeError, "index_add: alpha ", alpha,
              " must be an integer for a ", x.dtype(), " tensor");
  return {meta_of(x)};
}

void index_add_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor &x = in[0], &index = in[1], &source = in[2];
  copy_self(out[0], x);
  const int64_t d = dim_attr(x, attrs, "index_add");
  Operand dst = operand(out[0]);
  const int64_t step = dst.strides[size_t(d)];
  dst.strides[size_t(d)] = 0;
  // The 1-d index seen over source's shape: it varies along `dim` only.
  const Shape sizes = sizes1(source);
  Operand idx{static_cast<char*>(index.raw_data()), Shape(sizes.size(), 0)};
  idx.strides[size_t(d)] = index.dim() == 0 ? 0 : index.strides()[0] * int64_t(index.itemsize());
  const IndexBound bound{"index_add", d, size1(x, d)};
  const Accumulate acc{attrs.scalar("alpha").to_double()};
  visit_dtype(x.dtype(), [&]<class T>() {
    visit_index(index.dtype(), [&]<class I>() {
      put_lines<T, I>(sizes, d, dst, step, operand(source), idx, bound, acc);
    });
  });
}

// ---- index, index_put (advanced indexing) ----
// attrs "dims": the dims of self that the index tensors (inputs `first`...) select.

// Where x[indices] puts its dims: the broadcast index shape B replaces the
// indexed dims in place when they are adjacent, else it goes first (NumPy's rule).
struct IndexPlan {
  Shape index_shape;     // B
  Shape result;          // shape of x[indices]
  Shape self_strides;    // self's byte strides over `result` (0 along B)
  Shape offset_strides;  // strides of the offsets tensor (over B) over `result`
};

IndexPlan plan_index(const Tensor& x, const Shape& dims, std::span<const Tensor> indices, std::string_view op) {
  std::vector<Shape> shapes;
  for (const auto& t : indices) shapes.push_back(t.sizes());
  IndexPlan plan;
  plan.index_shape = broadcast_shape(shapes, op);
  const Shape& b = plan.index_shape;
  const bool adjacent = dims.back() - dims.front() + 1 == int64_t(dims.size());
  Shape kept_sizes, kept_strides;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      kept_sizes.push_back(x.sizes()[size_t(d)]);
      kept_strides.push_back(x.strides()[size_t(d)] * int64_t(x.itemsize()));
    }
  const size_t pos = adjacent ? size_t(dims.front()) : 0;
  Shape b_strides = contiguous_strides(b);
  for (size_t k = 0; k < b.size(); ++k) b_strides[k] = b[k] == 1 ? 0 : b_strides[k] * int64_t(sizeof(int64_t));
  auto splice = [&](const Shape& kept, const Shape& middle, int64_t fill_kept) {
    Shape out;
    for (size_t k = 0; k < pos; ++k) out.push_back(fill_kept < 0 ? kept[k] : fill_kept);
    out.insert(out.end(), middle.begin(), middle.end());
    for (size_t k = pos; k < kept.size(); ++k) out.push_back(fill_kept < 0 ? kept[k] : fill_kept);
    return out;
  };
  plan.result = splice(kept_sizes, b, -1);
  plan.self_strides = splice(kept_strides, Shape(b.size(), 0), -1);
  plan.offset_strides = splice(kept_sizes, b_strides, 0);
  return plan;
}

void check_index_inputs(const Tensor& x, const Shape& dims, std::span<const Tensor> indices, std::string_view op) {
  EMBER_CHECK(!indices.empty() && dims.size() == indices.size(), ValueError, op, ": expected one dim per index tensor");
  for (size_t k = 0; k < indices.size(); ++k) {
    check_index_dtype(indices[k], op, "index tensor");
    EMBER_CHECK(dims[k] >= 0 && dims[k] < x.dim() && (k == 0 || dims[k] > dims[k - 1]), IndexError, op,
                ": too many indices for tensor of shape ", shape_str(x.sizes()));
  }
}

std::vector<TensorMeta> infer_index(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  check_index_inputs(in[0], attrs.ints("dims"), in.subspan(1), op.name);
  return {{plan_index(in[0], attrs.ints("dims"), in.subspan(1), op.name).result, in[0].dtype()}};
}

std::vector<TensorMeta> infer_index_put(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor &x = in[0], &values = in[1];
  check_index_inputs(x, attrs.ints("dims"), in.subspan(2), op.name);
  check_same_dtype(x, values, op.name, "values");
  const Shape result = plan_index(x, attrs.ints("dims"), in.subspan(2), op.name).result;
  bool fits = values.dim() <= int64_t(result.size());
  for (int64_t k = 1; fits && k <= values.dim(); ++k) {
    const int64_t v = values.sizes()[size_t(values.dim() - k)], r = result[result.size() - size_t(k)];
    fits = v == 1 || v == r;
  }
  EMBER_CHECK(fits, ShapeError, "index_put: values of shape ", shape_str(values.sizes()),
              " cannot be broadcast to the indexing result of shape ", shape_str(result));
  return {meta_of(x)};
}

// Byte offset into x of each position of the broadcast index shape (a
// contiguous int64 tensor); negative indices count from the end.
Tensor index_offsets(const Tensor& x, const Shape& dims, std::span<const Tensor> indices, const Shape& b,
                     std::string_view op) {
  Tensor offsets = Tensor::empty(b, DType::i64);
  int64_t* o = offsets.data_ptr<int64_t>();
  std::fill_n(o, offsets.numel(), 0);
  Tensor column = Tensor::empty(b, DType::i64);
  for (size_t k = 0; k < indices.size(); ++k) {
    copy_into(column, indices[k]);  // broadcast, int32 -> int64
    const int64_t* c = column.data_ptr<int64_t>();
    const int64_t d = dims[k];
    const IndexBound bound{op, d, x.sizes()[size_t(d)], true};
    const int64_t stride = x.strides()[size_t(d)] * int64_t(x.itemsize());
    parallel_for(0, offsets.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] += bound(c[i]) * stride;
    });
  }
  return offsets;
}

void index_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor& x = in[0];
  const Shape& dims = attrs.ints("dims");
  const IndexPlan plan = plan_index(x, dims, in.subspan(1), "index");
  const Tensor offsets = index_offsets(x, dims, in.subspan(1), plan.index_shape, "index");
  const Operand src{static_cast<char*>(x.raw_data()), plan.self_strides};
  const Operand off{static_cast<char*>(offsets.raw_data()), plan.offset_strides};
  const IndexBound unchecked{"index", 0, INT64_MAX};  // offsets were checked above
  visit_itemsize(x.itemsize(), [&]<class T>() {
    take<T, int64_t>(plan.result, operand(out[0]), src, 1, off, unchecked);
  });
}

void index_put_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  Tensor& o = out[0];
  const Tensor& values = in[1];
  const Shape& dims = attrs.ints("dims");
  // Offsets are computed (and checked) before anything is written: a bad index changes nothing.
  const IndexPlan plan = plan_index(o, dims, in.subspan(2), "index_put");
  const Tensor offsets = index_offsets(o, dims, in.subspan(2), plan.index_shape, "index_put");
  copy_self(o, in[0]);
  // Duplicate offsets write the same element: then walk them in order on one
  // thread (small calls run on one thread anyway).
  bool duplicates = false;
  if (shape_numel(plan.result) > kElementwiseGrain) {
    std::vector<int64_t> sorted = offsets.to_vector<int64_t>();
    std::sort(sorted.begin(), sorted.end());
    duplicates = std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
  }
  const int64_t grain = duplicates ? INT64_MAX : kElementwiseGrain;
  StridedOperands<3> ops{{static_cast<char*>(o.raw_data()), static_cast<char*>(values.raw_data()),
                          static_cast<char*>(offsets.raw_data())},
                         {plan.self_strides, broadcast_byte_strides(values, plan.result), plan.offset_strides}};
  auto run = [&]<class T>(const auto& op) {
    for_each_strided<3>(plan.result, ops, grain,
                        [&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
                          for (int64_t j = 0; j < n; ++j)
                            op(*reinterpret_cast<T*>(p[0] + j * s[0] + load<int64_t>(p[2] + j * s[2])),
                               load<T>(p[1] + j * s[1]));
                        });
  };
  if (attrs.b("accumulate")) visit_dtype(o.dtype(), [&]<class T>() { run.template operator()<T>(Accumulate{}); });
  else visit_itemsize(o.itemsize(), [&]<class T>() { run.template operator()<T>(Assign{}); });
}

// ---- embedding ----
std::vector<TensorMeta> infer_embedding(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor &weight = in[0], &indices = in[1];
  EMBER_CHECK(weight.dim() == 2, ShapeError, "embedding: weight must be 2-d, got shape ",
              shape_str(weight.sizes()));
  check_index_dtype(indices, op.name, "indices");
  const int64_t n = weight.sizes()[0], pad = attrs.i("padding_idx");
  EMBER_CHECK(!attrs.b("has_padding") || (pad >= -n && pad < n), IndexError, "embedding: padding_idx ", pad,
              " is out of range for ", n, " embeddings");
  Shape sizes = indices.sizes();
  sizes.push_back(weight.sizes()[1]);
  return {{sizes, weight.dtype()}};
}

void embedding_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
  const Tensor &weight = in[0], &indices = in[1];
  // Over out's shape [indices..., D]: rows of weight picked by indices.
  const Shape& sizes = out[0].sizes();
  const int64_t item = int64_t(weight.itemsize());
  Operand src{static_cast<char*>(weight.raw_data()), Shape(sizes.size(), 0)};
  src.strides.back() = weight.strides()[1] * item;
  Operand idx{static_cast<char*>(indices.raw_data()), Shape(sizes.size(), 0)};
  for (int64_t k = 0; k < indices.dim(); ++k)
    idx.strides[size_t(k)] = indices.strides()[size_t(k)] * int64_t(indices.itemsize());
  const IndexBound bound{"embedding", 0, weight.sizes()[0]};
  visit_itemsize(weight.itemsize(), [&]<class T>() {
    visit_index(indices.dtype(), [&]<class I>() {
      take<T, I>(sizes, operand(out[0]), src, weight.strides()[0] * item, idx, bound);
    });
  });
}

// ---- sort, topk ----
// Sorting order with NaN as the largest value (PyTorch's); ties keep their
// original order, so every sort here is stable.
template <class C>
bool before(C a, C b, bool descending) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a)) return descending && !std::isnan(b);
    if (std::isnan(b)) return !descending;
  }
  return descending ? a > b : a < b;
}

std::vector<TensorMeta> infer_sort(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor& x = in[0];
  const int64_t d = dim_attr(x, attrs, op.name);
  Shape sizes = x.sizes();
  if (attrs.has("k")) {
    EMBER_CHECK(x.dtype() != DType::b8, DTypeError, "topk: bool tensors are not supported");
    const int64_t k = attrs.i("k"), n = size1(x, d);
    EMBER_CHECK(k >= 0 && k <= n, IndexError, "topk: k (", k, ") is out of range for dim ", d, " with size ", n);
    if (x.dim() > 0) sizes[size_t(d)] = k;
  }
  return {{sizes, x.dtype()}, {sizes, DType::i64}};
}

// Sorts each line of x along `dim` and writes its first k entries (sort: k = n).
void sort_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor& x = in[0];
  const bool descending = attrs.b("descending");
  if (x.dim() == 0) {
    copy_into(out[0], x);
    out[1].data_ptr<int64_t>()[0] = 0;
    return;
  }
  const int64_t d = dim_attr(x, attrs, "sort");
  const int64_t n = x.sizes()[size_t(d)], k = out[0].sizes()[size_t(d)];
  const ReduceRows rows = reduce_rows(x, {d}, x.dtype());
  // Outputs seen with `dim` moved last, matching the rows' layout.
  auto moved = [&](const Tensor& t) {
    if (d == x.dim() - 1) return t;
    Shape sizes = t.sizes(), strides = t.strides();
    std::rotate(sizes.begin() + d, sizes.begin() + d + 1, sizes.end());
    std::rotate(strides.begin() + d, strides.begin() + d + 1, strides.end());
    return Tensor::from_storage(t.impl().storage, sizes, strides, t.storage_offset(), t.dtype());
  };
  Tensor values = moved(out[0]), indices = moved(out[1]);
  // Rows are written to contiguous buffers, then copied into the outputs' layout.
  const bool direct = values.is_contiguous() && indices.is_contiguous();
  Tensor vbuf = direct ? values : Tensor::empty(values.sizes(), x.dtype());
  Tensor ibuf = direct ? indices : Tensor::empty(indices.sizes(), DType::i64);
  visit_dtype(x.dtype(), [&]<class T>() {
    using C = compute_t<T>;
    const T* data = rows.data.data_ptr<T>();
    T* vo = vbuf.data_ptr<T>();
    int64_t* io = ibuf.data_ptr<int64_t>();
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1));
    parallel_for(0, rows.outer, grain, [&](int64_t begin, int64_t end) {
      std::vector<int64_t> perm(static_cast<size_t>(n));
      for (int64_t r = begin; r < end; ++r) {
        const T* row = data + r * n;
        std::iota(perm.begin(), perm.end(), 0);
        auto order = [&](int64_t a, int64_t b) {
          const C va = C(row[a]), vb = C(row[b]);
          if (before(va, vb, descending)) return true;
          return !before(vb, va, descending) && a < b;
        };
        if (k == n) std::sort(perm.begin(), perm.end(), order);
        else std::partial_sort(perm.begin(), perm.begin() + k, perm.end(), order);
        for (int64_t j = 0; j < k; ++j) {
          vo[r * k + j] = row[perm[size_t(j)]];
          io[r * k + j] = perm[size_t(j)];
        }
      }
    });
  });
  if (!direct) {
    copy_into(values, vbuf);
    copy_into(indices, ibuf);
  }
}

// The gradient of a value-selecting op (sort, topk): grad back at the selected positions.
TensorList select_values_backward(const BackwardContext& c, const TensorList& g) {
  const TensorMeta& x = c.input_meta(0);
  if (x.sizes.empty()) return {g[0]};
  const int64_t d = wrap_dim(c.attrs().i("dim"), int64_t(x.sizes.size()), "sort");
  return {scatter_add(zeros(x.sizes, g[0].dtype()), d, c.output(1), g[0])};
}

// ---- nonzero ----
int64_t count_nonzero(const Tensor& x) {
  std::atomic<int64_t> count{0};
  visit_dtype(x.dtype(), [&]<class T>() {
    StridedOperands<1> ops{{static_cast<char*>(x.raw_data())}, {broadcast_byte_strides(x, x.sizes())}};
    for_each_strided<1>(x.sizes(), ops, kElementwiseGrain,
                        [&](const std::array<char*, 1>& p, const std::array<int64_t, 1>& s, int64_t n) {
                          int64_t c = 0;
                          for (int64_t j = 0; j < n; ++j) c += compute_t<T>(load<T>(p[0] + j * s[0])) != 0;
                          count += c;
                        });
  });
  return count;
}

// The output size depends on the data: infer counts the nonzeros.
std::vector<TensorMeta> infer_nonzero(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  return {{{count_nonzero(in[0]), in[0].dim()}, DType::i64}};
}

void nonzero_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
  const Tensor& x = in[0];
  Tensor flat = x;
  if (!x.is_contiguous()) {
    flat = Tensor::empty(x.sizes(), x.dtype());
    copy_into(flat, x);
  }
  const int64_t nd = x.dim();
  int64_t* o = out[0].data_ptr<int64_t>();
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* p = flat.data_ptr<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) {
      if (compute_t<T>(p[i]) == 0) continue;
      for (int64_t d = nd - 1, rem = i; d >= 0; --d) {
        o[d] = rem % x.sizes()[size_t(d)];
        rem /= x.sizes()[size_t(d)];
      }
      o += nd;
    }
  });
}

// ---- backward formulas (Ember ops, so they differentiate again) ----
Tensor zeros_of(const TensorMeta& m, const Tensor& like) { return zeros(m.sizes, like.dtype()); }

TensorList index_select_backward(const BackwardContext& c, const TensorList& g) {
  return {index_add(zeros_of(c.input_meta(0), g[0]), c.attrs().i("dim"), c.input(1), g[0])};
}
TensorList gather_backward(const BackwardContext& c, const TensorList& g) {
  return {scatter_add(zeros_of(c.input_meta(0), g[0]), c.attrs().i("dim"), c.input(1), g[0])};
}
TensorList scatter_backward(const BackwardContext& c, const TensorList& g) {
  const int64_t d = c.attrs().i("dim");
  const Tensor& index = c.input(1);
  TensorList grads(c.num_inputs());
  if (c.needs_grad(0)) grads[0] = scatter(g[0], d, index, Scalar(0));
  if (c.num_inputs() > 2 && c.needs_grad(2)) grads[2] = scatter_src_grad(g[0], d, index, c.input_meta(2));
  return grads;
}
TensorList scatter_add_backward(const BackwardContext& c, const TensorList& g) {
  const int64_t d = c.attrs().i("dim");
  return {g[0], Tensor{}, c.needs_grad(2) ? scatter_src_grad(g[0], d, c.input(1), c.input_meta(2)) : Tensor{}};
}
TensorList index_add_backward(const BackwardContext& c, const TensorList& g) {
  if (!c.needs_grad(2)) return {g[0], Tensor{}, Tensor{}};
  const Scalar alpha = c.attrs().scalar("alpha");
  Tensor source = index_select(g[0], c.attrs().i("dim"), c.input(1));
  if (!(alpha == Scalar(1))) source = mul(source, alpha);
  return {g[0], Tensor{}, source};
}

TensorList index_backward(const BackwardContext& c, const TensorList& g) {
  TensorList in{zeros_of(c.input_meta(0), g[0]), g[0]};
  for (size_t k = 1; k < c.num_inputs(); ++k) in.push_back(c.input(k));
  Attrs attrs{{"dims", c.attrs().ints("dims")}, {"accumulate", true}};
  return {call(index_put_op, std::move(in), std::move(attrs))[0]};
}
TensorList index_put_backward(const BackwardContext& c, const TensorList& g) {
  TensorList indices;
  for (size_t k = 2; k < c.num_inputs(); ++k) indices.push_back(c.input(k));
  TensorList grads(c.num_inputs());
  if (c.needs_grad(0)) {
    if (c.attrs().b("accumulate")) {
      grads[0] = g[0];
    } else {  // overwritten positions get no gradient
      TensorList in{g[0], zeros({}, g[0].dtype())};
      in.insert(in.end(), indices.begin(), indices.end());
      grads[0] = call(index_put_op, std::move(in), {{"dims", c.attrs().ints("dims")}, {"accumulate", false}})[0];
    }
  }
  if (c.needs_grad(1)) {
    TensorList in{g[0]};
    in.insert(in.end(), indices.begin(), indices.end());
    grads[1] = sum_to(call(index_op, std::move(in), {{"dims", c.attrs().ints("dims")}})[0], c.input_meta(1).sizes);
  }
  return grads;
}

TensorList embedding_backward(const BackwardContext& c, const TensorList& g) {
  const TensorMeta& w = c.input_meta(0);
  const int64_t n = w.sizes[0], dim = w.sizes[1];
  Tensor grad = index_add(zeros_of(w, g[0]), 0, reshape(c.input(1), {-1}), reshape(g[0], {-1, dim}));
  if (c.attrs().b("has_padding")) {  // the padding row gets no gradient
    const int64_t pad = c.attrs().i("padding_idx");
    TensorList in{grad, zeros({}, grad.dtype()), full({1}, pad < 0 ? pad + n : pad, DType::i64)};
    grad = call(index_put_op, std::move(in), {{"dims", Shape{0}}, {"accumulate", false}})[0];
  }
  return {grad};
}

}  // namespace

const OpDef index_select_op{
    .name = "index_select", .inputs = {"self", "index"}, .infer = infer_index_select, .cpu = index_select_kernel,
    .backward = index_select_backward, .saves = Saves::inputs, .onnx = "Gather", .reference = "index_select",
    .integer_inputs = {1}};
const OpDef gather_op{.name = "gather", .inputs = {"self", "index"}, .infer = infer_gather, .cpu = gather_kernel,
                      .backward = gather_backward, .saves = Saves::inputs, .onnx = "GatherElements",
                      .reference = "gather", .integer_inputs = {1}};
const OpDef scatter_op{
    .name = "scatter", .inputs = {"self", "index", "src"}, .infer = infer_scatter,
    .cpu = [](std::span<const Tensor> in, std::span<Tensor> out, const Attrs& a) {
      scatter_kernel<Assign>(in, out, a, "scatter");
    },
    .backward = scatter_backward, .saves = Saves::inputs, .onnx = "ScatterElements", .reference = "scatter",
    .integer_inputs = {1}};
const OpDef scatter_value_op{
    .name = "scatter_value", .inputs = {"self", "index"}, .infer = infer_scatter,
    .cpu = [](std::span<const Tensor> in, std::span<Tensor> out, const Attrs& a) {
      scatter_kernel<Assign>(in, out, a, "scatter");
    },
    .backward = scatter_backward, .saves = Saves::inputs, .onnx = "ScatterElements", .reference = "scatter_value",
    .integer_inputs = {1}};
const OpDef scatter_add_op{
    .name = "scatter_add", .inputs = {"self", "index", "src"}, .infer = infer_scatter,
    .cpu = [](std::span<const Tensor> in, std::span<Tensor> out, const Attrs& a) {
      scatter_kernel<Accumulate>(in, out, a, "scatter_add");
    },
    .backward = scatter_add_backward, .saves = Saves::inputs, .onnx = "ScatterElements",
    .reference = "scatter_add", .integer_inputs = {1}, .autocast = AutocastPolicy::promote};
const OpDef index_add_op{
    .name = "index_add", .inputs = {"self", "index", "source"}, .infer = infer_index_add, .cpu = index_add_kernel,
    .backward = index_add_backward, .saves = Saves::inputs, .onnx = "ScatterElements", .reference = "index_add",
    .integer_inputs = {1}, .autocast = AutocastPolicy::promote};
// The index tensors are variadic inputs from 1 on (integer_inputs names the first).
const OpDef index_op{.name = "index", .inputs = {"self", "indices..."}, .infer = infer_index, .cpu = index_kernel,
                     .backward = index_backward, .saves = Saves::inputs, .onnx = "GatherND", .reference = "index",
                     .integer_inputs = {1}};
const OpDef index_put_op{.name = "index_put", .inputs = {"self", "values", "indices..."}, .infer = infer_index_put,
                         .cpu = index_put_kernel, .backward = index_put_backward, .saves = Saves::inputs,
                         .onnx = "ScatterND", .reference = "index_put", .integer_inputs = {2},
                         .autocast = AutocastPolicy::promote};
const OpDef embedding_op{.name = "embedding", .inputs = {"weight", "indices"}, .infer = infer_embedding,
                         .cpu = embedding_kernel, .backward = embedding_backward, .saves = Saves::inputs,
                         .onnx = "Gather", .reference = "embedding", .integer_inputs = {1}};
const OpDef sort_op{.name = "sort", .inputs = {"self"}, .infer = infer_sort, .cpu = sort_kernel,
                    .backward = select_values_backward, .saves = Saves::outputs, .onnx = "TopK",
                    .reference = "sort"};
const OpDef topk_op{.name = "topk", .inputs = {"self"}, .infer = infer_sort, .cpu = sort_kernel,
                    .backward = select_values_backward, .saves = Saves::outputs, .onnx = "TopK",
                    .reference = "topk"};
const OpDef nonzero_op{.name = "nonzero", .inputs = {"self"}, .infer = infer_nonzero, .cpu = nonzero_kernel,
                       .nondifferentiable = "returns integer positions", .onnx = "NonZero",
                       .reference = "nonzero"};

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  return call(index_select_op, {x, index}, {{"dim", dim}})[0];
}
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  return call(gather_op, {x, index}, {{"dim", dim}})[0];
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return call(scatter_op, {x, index, src}, {{"dim", dim}})[0];
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, Scalar value) {
  return call(scatter_value_op, {x, index}, {{"dim", dim}, {"value", value}})[0];
}
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return call(scatter_add_op, {x, index, src}, {{"dim", dim}})[0];
}
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  return call(index_add_op, {x, index, source}, {{"dim", dim}, {"alpha", alpha}})[0];
}

namespace {
// Index tensors as the op takes them: bool masks become one int64 tensor per
// masked dim (the mask's nonzero positions); `dims` names the dim each selects.
struct ResolvedIndices {
  Shape dims;
  TensorList tensors;
};
ResolvedIndices resolve_indices(const Tensor& x, const std::vector<std::optional<Tensor>>& indices,
                                std::string_view op) {
  ResolvedIndices r;
  int64_t d = 0;
  for (const auto& index : indices) {
    if (!index) {
      ++d;
      continue;
    }
    EMBER_CHECK(index->defined(), ValueError, op, ": index ", d, " is an undefined Tensor");
    if (index->dtype() != DType::b8) {
      EMBER_CHECK(is_index_dtype(index->dtype()), IndexError, op,
                  ": tensors used as indices must be int64, int32 or bool, got ", index->dtype());
      r.dims.push_back(d++);
      r.tensors.push_back(*index);
      continue;
    }
    const Tensor& mask = *index;
    EMBER_CHECK(mask.dim() > 0, IndexError, op, ": a 0-d bool index is only supported in Tensor::index");
    EMBER_CHECK(d + mask.dim() <= x.dim(), IndexError, op, ": too many indices for tensor of shape ",
                shape_str(x.sizes()));
    for (int64_t k = 0; k < mask.dim(); ++k)
      EMBER_CHECK(mask.sizes()[size_t(k)] == x.sizes()[size_t(d + k)], IndexError, op, ": the shape of the mask ",
                  shape_str(mask.sizes()), " at index ", k, " does not match the shape of the indexed tensor ",
                  shape_str(x.sizes()), " at index ", d + k);
    const Tensor positions = nonzero(mask);
    for (int64_t k = 0; k < mask.dim(); ++k) {
      r.dims.push_back(d + k);
      r.tensors.push_back(select(positions, 1, k));
    }
    d += mask.dim();
  }
  EMBER_CHECK(d <= x.dim(), IndexError, op, ": too many indices for tensor of shape ", shape_str(x.sizes()),
              " (got ", d, ")");
  return r;
}
}  // namespace

Tensor index(const Tensor& x, const std::vector<std::optional<Tensor>>& indices) {
  ResolvedIndices r = resolve_indices(x, indices, "index");
  if (r.tensors.empty()) return x;
  TensorList in{x};
  in.insert(in.end(), r.tensors.begin(), r.tensors.end());
  return call(index_op, std::move(in), {{"dims", std::move(r.dims)}})[0];
}

Tensor index_put(const Tensor& x, const std::vector<std::optional<Tensor>>& indices, const Tensor& values,
                 bool accumulate) {
  ResolvedIndices r = resolve_indices(x, indices, "index_put");
  if (r.tensors.empty()) {
    // Every element is selected.
    const Tensor v = expand(values, x.sizes());
    return accumulate ? add(x, v) : add(zeros_like(x), v);
  }
  TensorList in{x, values};
  in.insert(in.end(), r.tensors.begin(), r.tensors.end());
  return call(index_put_op, std::move(in), {{"dims", std::move(r.dims)}, {"accumulate", accumulate}})[0];
}

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx) {
  return call(embedding_op, {weight, indices},
              {{"padding_idx", padding_idx.value_or(0)}, {"has_padding", padding_idx.has_value()}})[0];
}

Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim) {
  EMBER_CHECK(x.defined() && indices.defined(), ValueError, "take_along_dim: undefined input");
  check_index_dtype(indices, "take_along_dim", "indices");
  if (!dim) return gather(reshape(x, {-1}), 0, reshape(indices, {-1}));
  EMBER_CHECK(x.dim() == indices.dim(), ShapeError, "take_along_dim: input ", shape_str(x.sizes()), " and indices ",
              shape_str(indices.sizes()), " should have the same number of dims");
  const int64_t d = wrap_dim(*dim, rank1(x), "take_along_dim");
  if (x.dim() == 0) return gather(x, 0, indices);
  // Broadcast every dim but `dim`.
  Shape xs = x.sizes();
  xs[size_t(d)] = indices.sizes()[size_t(d)];
  Shape shape = broadcast_shapes(xs, indices.sizes(), "take_along_dim");
  Shape index_shape = shape;
  shape[size_t(d)] = x.sizes()[size_t(d)];
  return gather(expand(x, shape), d, expand(indices, index_shape));
}

Tensor nonzero(const Tensor& x) { return call(nonzero_op, {x})[0]; }

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  EMBER_CHECK(x.defined() && mask.defined(), ValueError, "masked_select: undefined input");
  EMBER_CHECK(mask.dtype() == DType::b8, DTypeError, "masked_select: mask must be a bool tensor, got ", mask.dtype());
  Shape shape = broadcast_shapes(x.sizes(), mask.sizes(), "masked_select");
  if (shape.empty()) shape = {1};
  return index(expand(x, shape), {expand(mask, shape)});
}

ValuesIndices sort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  (void)stable;  // every sort here is stable (see before())
  TensorList out = call(sort_op, {x}, {{"dim", dim}, {"descending", descending}});
  return {out[0], out[1]};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  return sort(x, dim, descending, stable).indices;
}

ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  (void)sorted;  // the k values always come out sorted (a valid order for sorted=false)
  TensorList out = call(topk_op, {x}, {{"dim", dim}, {"descending", largest}, {"k", k}});
  return {out[0], out[1]};
}

// ---- Tensor::index, Tensor::index_put_ ----
namespace {
// Basic indices (int, Slice, None, Ellipsis) become views of x; tensor indices
// are collected for advanced indexing of that view, at the dims they apply to.
struct Sliced {
  Tensor view;
  std::vector<std::optional<Tensor>> advanced;
};
Sliced apply_basic_indices(const Tensor& x, const std::vector<TensorIndex>& indices) {
  int64_t specified = 0;
  bool ellipsis = false;
  for (const auto& i : indices) {
    const auto& v = i.value();
    if (std::holds_alternative<EllipsisIndex>(v)) {
      EMBER_CHECK(!ellipsis, IndexError, "index: an index can only have a single ellipsis");
      ellipsis = true;
    } else if (const Tensor* t = std::get_if<Tensor>(&v)) {
      EMBER_CHECK(t->defined(), ValueError, "index: an index is an undefined Tensor");
      specified += t->dtype() == DType::b8 ? t->dim() : 1;
    } else if (!std::holds_alternative<NoneIndex>(v)) {
      ++specified;
    }
  }
  EMBER_CHECK(specified <= x.dim(), IndexError, "index: too many indices for tensor of shape ",
              shape_str(x.sizes()), " (got ", specified, ")");
  Sliced s{x, {}};
  int64_t d = 0, covered = 0;  // current dim of the view; dims covered by `advanced`
  auto add_advanced = [&](Tensor t, int64_t width) {
    for (; covered < d; ++covered) s.advanced.emplace_back();
    s.advanced.emplace_back(std::move(t));
    covered += width;
    d += width;
  };
  for (const auto& i : indices) {
    const auto& v = i.value();
    if (const int64_t* n = std::get_if<int64_t>(&v)) {
      s.view = select(s.view, d, *n);
    } else if (const Slice* sl = std::get_if<Slice>(&v)) {
      s.view = slice(s.view, d++, sl->start, sl->stop, sl->step);
    } else if (std::holds_alternative<NoneIndex>(v)) {
      s.view = unsqueeze(s.view, d++);
    } else if (std::holds_alternative<EllipsisIndex>(v)) {
      d += x.dim() - specified;
    } else {
      const Tensor& t = std::get<Tensor>(v);
      if (t.dtype() == DType::b8 && t.dim() == 0) {
        // x[true] adds a dim of size 1 and keeps it; x[false] makes it empty.
        s.view = unsqueeze(s.view, d);
        add_advanced(t.item<bool>() ? zeros({1}, DType::i64) : zeros({0}, DType::i64), 1);
      } else {
        add_advanced(t, t.dtype() == DType::b8 ? t.dim() : 1);
      }
    }
  }
  return s;
}
}  // namespace

Tensor Tensor::index(std::initializer_list<TensorIndex> indices) const {
  return index(std::vector<TensorIndex>(indices));
}

Tensor Tensor::index(const std::vector<TensorIndex>& indices) const {
  Sliced s = apply_basic_indices(*this, indices);
  return s.advanced.empty() ? s.view : ember::index(s.view, s.advanced);
}

void Tensor::index_put_(const std::vector<TensorIndex>& indices, const Tensor& values) {
  EMBER_CHECK(values.defined(), ValueError, "index_put_: values is an undefined Tensor");
  Sliced s = apply_basic_indices(*this, indices);
  const Tensor v = values.to(dtype());
  if (s.advanced.empty()) {
    s.view.copy_(v);
    return;
  }
  const ResolvedIndices r = resolve_indices(s.view, s.advanced, "index_put_");
  const bool recording =
      autograd::GradMode::is_enabled() && (s.view.requires_grad() || v.requires_grad());
  TensorList in{s.view, v};
  in.insert(in.end(), r.tensors.begin(), r.tensors.end());
  Attrs attrs{{"dims", r.dims}, {"accumulate", false}};
  if (!recording) {
    call_out(index_put_op, std::move(in), std::move(attrs), s.view);
    return;
  }
  // Recorded out of place from a copy (index_put saves its inputs), then adopted by copy_.
  in[0] = s.view.clone();
  s.view.copy_(call(index_put_op, std::move(in), std::move(attrs))[0]);
}

void Tensor::index_put_(const std::vector<TensorIndex>& indices, Scalar value) {
  index_put_(indices, full({}, value, dtype()));
}

static const OpDef* const kIndexOps[] = {&index_select_op, &gather_op,    &scatter_op, &scatter_value_op,
                                         &scatter_add_op,  &index_add_op, &index_op,   &index_put_op,
                                         &embedding_op,    &sort_op,      &topk_op,    &nonzero_op};
std::span<const OpDef* const> index_ops() { return kIndexOps; }

}  // namespace ember
