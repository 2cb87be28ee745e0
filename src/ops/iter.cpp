#include "iter.h"

#include "ember/core/trace_hook.h"

#include <algorithm>

namespace ember::detail {

Shape broadcast_byte_strides(const Tensor& t, const Shape& sizes) {
  const int64_t nd = int64_t(sizes.size());
  const int64_t td = t.dim();
  const int64_t item = int64_t(t.itemsize());
  Shape out(size_t(nd), 0);
  for (int64_t d = 0; d < td; ++d) {
    const int64_t od = nd - td + d;
    out[size_t(od)] = t.sizes()[size_t(d)] == 1 ? 0 : t.strides()[size_t(d)] * item;
  }
  return out;
}

Shape broadcast_shape(std::span<const Shape> shapes, std::string_view op) {
  size_t nd = 0;
  for (const auto& s : shapes) nd = std::max(nd, s.size());
  Shape out(nd, 1);
  for (const auto& s : shapes) {
    for (size_t d = 0; d < s.size(); ++d) {
      int64_t& o = out[nd - s.size() + d];
      const int64_t v = s[d];
      if (v == o || v == 1) continue;
      if (o == 1) {
        o = v;
        continue;
      }
      std::string all;
      for (const auto& x : shapes) all += (all.empty() ? "" : " and ") + shape_str(x);
      EMBER_THROW(ShapeError, op, ": shapes ", all, " cannot be broadcast together (dim ",
                  int64_t(d) - int64_t(s.size()), ": ", o, " vs ", v, ")");
    }
  }
  return out;
}

void copy_into(Tensor& dst, const Tensor& src) {
  // In-place methods write through here; a tracer records dst's new value.
  if (TraceHook* hook = trace_hook()) [[unlikely]] hook->record_copy(dst, src);
  visit_dtype(dst.dtype(), [&]<class D>() {
    visit_dtype(src.dtype(), [&]<class S>() {
      StridedOperands<2> ops;
      ops.base = {static_cast<char*>(dst.raw_data()), static_cast<char*>(src.raw_data())};
      ops.strides = {broadcast_byte_strides(dst, dst.sizes()), broadcast_byte_strides(src, dst.sizes())};
      for_each_strided<2>(dst.sizes(), ops, kElementwiseGrain,
                          [](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
                            if (s[0] == sizeof(D) && s[1] == sizeof(S) && std::is_same_v<D, S>) {
                              std::memcpy(p[0], p[1], size_t(n) * sizeof(D));
                              return;
                            }
                            for (int64_t j = 0; j < n; ++j) {
                              const S v = *reinterpret_cast<const S*>(p[1] + j * s[1]);
                              D* o = reinterpret_cast<D*>(p[0] + j * s[0]);
                              if constexpr (std::is_same_v<D, bool>) *o = compute_t<S>(v) != compute_t<S>(0);
                              else if constexpr (std::is_same_v<S, bool>) *o = D(compute_t<D>(v ? 1 : 0));
                              else *o = D(compute_t<D>(compute_t<S>(v)));
                            }
                          });
    });
  });
}

// Note [Type promotion]
// Follows torch's ResultTypeState: tensors with dims decide unless a 0-d
// tensor or a wrapped number belongs to a higher category (bool < int <
// float); a wrapped float counts as the default float dtype, so
// int32_tensor * 2.5 is float32 and float16_tensor * 2.5 stays float16.
namespace {
enum class Slot { dim, zero, wrapped };
DType combine_categories(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return *lower;
  if (!lower) return *higher;
  if (is_floating(*higher)) return *higher;
  if (*higher == DType::b8 || is_floating(*lower)) return promote_types(*higher, *lower);
  return *higher;
}
}  // namespace

DType result_type(std::span<const Tensor> tensors) {
  std::optional<DType> slots[3];
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    const auto& impl = t.impl();
    Slot slot = impl.is_wrapped_number ? Slot::wrapped : t.dim() == 0 ? Slot::zero : Slot::dim;
    DType dt = impl.dtype;
    if (slot == Slot::wrapped && is_floating(dt)) dt = kDefaultFloat;
    auto& s = slots[int(slot)];
    s = s ? promote_types(*s, dt) : dt;
  }
  EMBER_INTERNAL_ASSERT(slots[0] || slots[1] || slots[2], "result_type of no tensors");
  std::optional<DType> low = slots[1] || slots[2] ? std::optional(combine_categories(slots[1], slots[2]))
                                                  : std::nullopt;
  return combine_categories(slots[0], low);
}

Tensor wrap_scalar(Scalar s) {
  Tensor t;
  switch (s.kind()) {
    case Scalar::Kind::boolean:
      t = Tensor::empty({}, DType::b8);
      *t.data_ptr<bool>() = s.to_bool();
      break;
    case Scalar::Kind::integer:
      t = Tensor::empty({}, DType::i64);
      *t.data_ptr<int64_t>() = s.to_int();
      break;
    case Scalar::Kind::floating:
      t = Tensor::empty({}, DType::f64);
      *t.data_ptr<double>() = s.to_double();
      break;
  }
  t.impl().is_wrapped_number = true;
  return t;
}

Shape normalize_dims(const Shape& dims, int64_t ndim, std::string_view op) {
  Shape out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, ndim, op);
    EMBER_CHECK(std::find(out.begin(), out.end(), w) == out.end(), IndexError, op, ": dim ", d,
                " appears more than once in ", shape_str(dims));
    out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  if (ndim == 0) out.clear();  // dim 0 / -1 of a 0-d tensor reduces nothing
  return out;
}

Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim) {
  Shape out;
  for (size_t d = 0; d < sizes.size(); ++d) {
    const bool reduced = std::find(dims.begin(), dims.end(), int64_t(d)) != dims.end();
    if (!reduced) out.push_back(sizes[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

ReduceRows reduce_rows(const Tensor& x, const Shape& dims, DType dtype) {
  Shape perm;
  ReduceRows rows;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      perm.push_back(d);
      rows.outer *= x.sizes()[size_t(d)];
    }
  for (int64_t d : dims) {
    perm.push_back(d);
    rows.inner *= x.sizes()[size_t(d)];
  }
  // Raw permuted view (no autograd: kernels only read it).
  const auto& impl = x.impl();
  Shape sizes, strides;
  for (int64_t p : perm) {
    sizes.push_back(impl.sizes[size_t(p)]);
    strides.push_back(impl.strides[size_t(p)]);
  }
  Tensor view = Tensor::from_storage(impl.storage, sizes, strides, impl.offset, impl.dtype);
  if (view.is_contiguous() && view.dtype() == dtype) {
    rows.data = view;
  } else {
    rows.data = Tensor::empty(sizes, dtype);
    copy_into(rows.data, view);
  }
  return rows;
}

TensorMeta meta_of(const Tensor& t) { return {t.sizes(), t.dtype(), t.device()}; }

std::vector<TensorMeta> infer_same(const OpDef&, std::span<const Tensor> in, const Attrs&) { return {meta_of(in[0])}; }

void check_defined(std::span<const Tensor> in, std::string_view op) {
  for (size_t i = 0; i < in.size(); ++i)
    EMBER_CHECK(in[i].defined(), ValueError, op, ": input ", i, " is an undefined Tensor");
}

}  // namespace ember::detail
