// Views (outputs alias the input's storage) and data movement.
#include "ember/ops/shape.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "ember/autograd/autograd.h"
#include "ember/ops/binary.h"
#include "ember/ops/creation.h"
#include "elementwise.h"
#include "registry.h"

namespace ember {
using namespace detail;

namespace {

// Resolves one -1 in `sizes` against `numel`.
Shape infer_size(const Shape& sizes, int64_t numel, std::string_view op, const Tensor& x) {
  Shape out = sizes;
  int64_t known = 1;
  std::optional<size_t> infer_at;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      EMBER_CHECK(!infer_at, ShapeError, op, ": only one dimension can be inferred in ", shape_str(sizes));
      infer_at = i;
    } else {
      EMBER_CHECK(out[i] >= 0, ShapeError, op, ": invalid shape dimension ", out[i], " in ", shape_str(sizes));
      known *= out[i];
    }
  }
  if (infer_at) {
    EMBER_CHECK(known != 0 && numel % known == 0, ShapeError, op, ": shape ", shape_str(sizes),
                " is invalid for input of shape ", shape_str(x.sizes()), " (", numel, " elements)");
    out[*infer_at] = numel / known;
  } else {
    EMBER_CHECK(known == numel, ShapeError, op, ": shape ", shape_str(sizes), " is invalid for input of shape ",
                shape_str(x.sizes()), " (", numel, " elements)");
  }
  return out;
}

// Strides that let `new_sizes` view memory laid out as (old_sizes,
// old_strides), or nullopt if no such view exists (PyTorch's computeStride).
std::optional<Shape> view_strides(const Shape& old_sizes, const Shape& old_strides, const Shape& new_sizes) {
  if (old_sizes.empty() || shape_numel(old_sizes) == 0) return contiguous_strides(new_sizes);
  Shape new_strides(new_sizes.size(), 0);
  int64_t view_d = int64_t(new_sizes.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t tensor_d = int64_t(old_sizes.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_sizes[size_t(tensor_d)];
    if (tensor_d == 0 || (old_sizes[size_t(tensor_d - 1)] != 1 &&
                          old_strides[size_t(tensor_d - 1)] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[size_t(view_d)] == 1)) {
        new_strides[size_t(view_d)] = view_numel * chunk_base_stride;
        view_numel *= new_sizes[size_t(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[size_t(tensor_d - 1)];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

// An alias of x with new geometry (shares storage and version counter).
Tensor alias(const Tensor& x, Shape sizes, Shape strides, int64_t offset) {
  Tensor out = Tensor::from_storage(x.impl().storage, std::move(sizes), std::move(strides), offset, x.dtype());
  out.impl().version = x.impl().version;
  out.impl().view_base = x.impl().view_base ? x.impl().view_base : x.impl_ptr();
  return out;
}

// ---- view ----
std::vector<TensorMeta> infer_view(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Shape& sizes = attrs.ints("size");
  EMBER_CHECK(shape_numel(sizes) == in[0].numel(), ShapeError, "view: shape ", shape_str(sizes),
              " is invalid for input of shape ", shape_str(in[0].sizes()));
  EMBER_CHECK(view_strides(in[0].sizes(), in[0].strides(), sizes).has_value(), ShapeError,
              "view: size ", shape_str(sizes), " is not compatible with input tensor's size ",
              shape_str(in[0].sizes()), " and stride ", shape_str(in[0].strides()),
              " (at least one dimension spans across two contiguous subspaces); use reshape instead");
  return {{sizes, in[0].dtype()}};
}
TensorList view_alias(std::span<const Tensor> in, const Attrs& attrs) {
  const Shape& sizes = attrs.ints("size");
  return {alias(in[0], sizes, *view_strides(in[0].sizes(), in[0].strides(), sizes), in[0].storage_offset())};
}

// ---- permute ----
std::vector<TensorMeta> infer_permute(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Shape& dims = attrs.ints("dims");
  const int64_t nd = in[0].dim();
  EMBER_CHECK(int64_t(dims.size()) == nd, ShapeError, "permute: number of dims in ", shape_str(dims),
              " doesn't match the input's ", nd, " dims");
  std::vector<bool> seen(size_t(nd), false);
  Shape sizes;
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, nd, "permute");
    EMBER_CHECK(!seen[size_t(w)], IndexError, "permute: dim ", d, " repeats in ", shape_str(dims));
    seen[size_t(w)] = true;
    sizes.push_back(in[0].sizes()[size_t(w)]);
  }
  return {{sizes, in[0].dtype()}};
}
TensorList permute_alias(std::span<const Tensor> in, const Attrs& attrs) {
  const Shape& dims = attrs.ints("dims");
  Shape sizes, strides;
  for (int64_t d : dims) {
    const size_t w = size_t(wrap_dim(d, in[0].dim(), "permute"));
    sizes.push_back(in[0].sizes()[w]);
    strides.push_back(in[0].strides()[w]);
  }
  return {alias(in[0], sizes, strides, in[0].storage_offset())};
}
TensorList permute_backward(const BackwardContext& c, const TensorList& g) {
  const Shape& dims = c.attrs().ints("dims");
  Shape inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i)
    inverse[size_t(wrap_dim(dims[i], int64_t(dims.size()), "permute"))] = int64_t(i);
  return {permute(g[0], inverse)};
}

// ---- expand ----
std::vector<TensorMeta> infer_expand(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Shape& sizes = attrs.ints("size");
  const Tensor& x = in[0];
  EMBER_CHECK(int64_t(sizes.size()) >= x.dim(), ShapeError, "expand: the number of sizes provided (",
              sizes.size(), ") must be greater or equal to the number of dimensions in the tensor (", x.dim(), ")");
  Shape out(sizes.size());
  const int64_t lead = int64_t(sizes.size()) - x.dim();
  for (int64_t d = 0; d < int64_t(sizes.size()); ++d) {
    const int64_t want = sizes[size_t(d)];
    if (d < lead) {
      EMBER_CHECK(want >= 0, ShapeError, "expand: new leading size ", want, " in ", shape_str(sizes),
                  " must be non-negative");
      out[size_t(d)] = want;
      continue;
    }
    const int64_t have = x.sizes()[size_t(d - lead)];
    EMBER_CHECK(want == -1 || want == have || have == 1, ShapeError, "expand: the expanded size of the tensor (",
                want, ") must match the existing size (", have, ") at non-singleton dimension ", d,
                ". Target sizes: ", shape_str(sizes), ", tensor sizes: ", shape_str(x.sizes()));
    out[size_t(d)] = want == -1 ? have : want;
  }
  return {{out, x.dtype()}};
}
TensorList expand_alias(std::span<const Tensor> in, const Attrs& attrs) {
  const Tensor& x = in[0];
  Shape sizes = attrs.ints("size");  // validated by infer_expand
  const int64_t lead = int64_t(sizes.size()) - x.dim();
  Shape strides(sizes.size(), 0);
  for (int64_t d = lead; d < int64_t(sizes.size()); ++d) {
    const int64_t have = x.sizes()[size_t(d - lead)];
    if (sizes[size_t(d)] == -1) sizes[size_t(d)] = have;
    strides[size_t(d)] = have == sizes[size_t(d)] ? x.strides()[size_t(d - lead)] : 0;
  }
  return {alias(x, std::move(sizes), std::move(strides), x.storage_offset())};
}

// ---- slice (and its gradient) ----
// attrs: dim, start, stop (already clamped to [0, size]), step > 0.
std::vector<TensorMeta> infer_slice(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  Shape sizes = in[0].sizes();
  const int64_t d = attrs.i("dim");
  sizes[size_t(d)] = (attrs.i("stop") - attrs.i("start") + attrs.i("step") - 1) / attrs.i("step");
  return {{sizes, in[0].dtype()}};
}
TensorList slice_alias(std::span<const Tensor> in, const Attrs& attrs) {
  const Tensor& x = in[0];
  const int64_t d = attrs.i("dim");
  Shape sizes = x.sizes(), strides = x.strides();
  sizes[size_t(d)] = (attrs.i("stop") - attrs.i("start") + attrs.i("step") - 1) / attrs.i("step");
  strides[size_t(d)] *= attrs.i("step");
  return {alias(x, sizes, strides, x.storage_offset() + attrs.i("start") * x.strides()[size_t(d)])};
}

std::vector<TensorMeta> infer_slice_backward(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  return {{attrs.ints("input_size"), in[0].dtype()}};
}
void slice_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  Tensor& o = out[0];
  visit_dtype(o.dtype(), [&]<class T>() { std::fill_n(o.data_ptr<T>(), o.numel(), T(compute_t<T>(0))); });
  Tensor window = slice_alias(std::span<const Tensor>(&o, 1), attrs)[0];
  copy_into(window, in[0]);
}

}  // namespace

extern const OpDef slice_op;

const OpDef view_op{.name = "view", .inputs = {"self"}, .infer = infer_view, .view = view_alias,
                    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                      return {reshape(g[0], c.input_meta(0).sizes)};
                    },
                    .onnx = "Reshape", .reference = "view"};
const OpDef permute_op{.name = "permute", .inputs = {"self"}, .infer = infer_permute, .view = permute_alias,
                       .backward = permute_backward, .onnx = "Transpose", .reference = "permute"};
const OpDef expand_op{.name = "expand", .inputs = {"self"}, .infer = infer_expand, .view = expand_alias,
                      .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                        return {sum_to(g[0], c.input_meta(0).sizes)};
                      },
                      .onnx = "Expand", .reference = "expand"};
const OpDef slice_backward_op{
    .name = "slice_backward", .inputs = {"grad"}, .infer = infer_slice_backward, .cpu = slice_backward_kernel,
    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
      return {call(slice_op, {g[0]}, c.attrs())[0]};
    },
    .onnx = "Pad", .reference = "slice_backward"};
const OpDef slice_op{.name = "slice", .inputs = {"self"}, .infer = infer_slice, .view = slice_alias,
                     .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                       Attrs a = c.attrs();
                       a.set("input_size", c.input_meta(0).sizes);
                       return {call(slice_backward_op, {g[0]}, std::move(a))[0]};
                     },
                     .onnx = "Slice", .reference = "slice"};
const OpDef clone_op{.name = "clone", .inputs = {"self"}, .infer = infer_same,
                     .cpu = [](std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
                       copy_into(out[0], in[0]);
                     },
                     .backward = [](const BackwardContext&, const TensorList& g) -> TensorList { return {g[0]}; },
                     .onnx = "Identity", .reference = "clone"};

Tensor view(const Tensor& x, Shape sizes) {
  return call(view_op, {x}, {{"size", infer_size(sizes, x.numel(), "view", x)}})[0];
}

Tensor reshape(const Tensor& x, Shape sizes) {
  Shape resolved = infer_size(sizes, x.numel(), "reshape", x);
  if (view_strides(x.sizes(), x.strides(), resolved)) return call(view_op, {x}, {{"size", std::move(resolved)}})[0];
  return call(view_op, {clone(x)}, {{"size", std::move(resolved)}})[0];
}

Tensor permute(const Tensor& x, Shape dims) { return call(permute_op, {x}, {{"dims", std::move(dims)}})[0]; }

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  const int64_t nd = x.dim();
  const int64_t a = wrap_dim(dim0, nd, "transpose"), b = wrap_dim(dim1, nd, "transpose");
  if (nd == 0) return permute(x, {});
  Shape dims(static_cast<size_t>(nd));
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[size_t(a)], dims[size_t(b)]);
  return permute(x, dims);
}

Tensor slice(const Tensor& x, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) {
  EMBER_CHECK(x.dim() > 0, IndexError, "slice: cannot slice a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "slice");
  EMBER_CHECK(step > 0, ValueError, "slice: step must be positive, got ", step);
  const int64_t n = x.sizes()[size_t(d)];
  auto clamp_index = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  const int64_t b = clamp_index(start.value_or(0));
  const int64_t e = std::max(b, clamp_index(stop.value_or(n)));
  return call(slice_op, {x}, {{"dim", d}, {"start", b}, {"stop", e}, {"step", step}})[0];
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  const int64_t d = wrap_dim(dim, x.dim(), "narrow");
  const int64_t n = x.sizes()[size_t(d)];
  const int64_t s = start < 0 ? start + n : start;
  EMBER_CHECK(s >= 0 && length >= 0 && s + length <= n, IndexError, "narrow: start ", start, " and length ", length,
              " exceed dim ", dim, " of size ", n);
  return slice(x, d, s, s + length);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  EMBER_CHECK(x.dim() > 0, IndexError, "select: cannot select from a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "select");
  const int64_t n = x.sizes()[size_t(d)];
  EMBER_CHECK(index >= -n && index < n, IndexError, "select: index ", index, " is out of bounds for dim ", dim,
              " with size ", n);
  const int64_t i = index < 0 ? index + n : index;
  return squeeze(slice(x, d, i, i + 1), d);
}

Tensor expand(const Tensor& x, Shape sizes) { return call(expand_op, {x}, {{"size", std::move(sizes)}})[0]; }

Tensor squeeze(const Tensor& x, std::optional<int64_t> dim) {
  Shape sizes;
  const int64_t d = dim ? wrap_dim(*dim, x.dim(), "squeeze") : -1;
  for (int64_t i = 0; i < x.dim(); ++i) {
    const int64_t s = x.sizes()[size_t(i)];
    if (s == 1 && (!dim || i == d)) continue;
    sizes.push_back(s);
  }
  return view(x, sizes);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  const int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape sizes = x.sizes();
  sizes.insert(sizes.begin() + d, 1);
  return view(x, sizes);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  const int64_t s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
  EMBER_CHECK(s <= e, ValueError, "flatten: start_dim (", start_dim, ") cannot come after end_dim (", end_dim, ")");
  Shape sizes(x.sizes().begin(), x.sizes().begin() + s);
  int64_t merged = 1;
  for (int64_t i = s; i <= e; ++i) merged *= x.sizes()[size_t(i)];
  sizes.push_back(merged);
  sizes.insert(sizes.end(), x.sizes().begin() + e + 1, x.sizes().end());
  return reshape(x, sizes);
}

Tensor unflatten(const Tensor& x, int64_t dim, Shape sizes) {
  const int64_t d = wrap_dim(dim, x.dim(), "unflatten");
  const Shape inner = infer_size(sizes, x.sizes()[size_t(d)], "unflatten", x);
  Shape out(x.sizes().begin(), x.sizes().begin() + d);
  out.insert(out.end(), inner.begin(), inner.end());
  out.insert(out.end(), x.sizes().begin() + d + 1, x.sizes().end());
  return view(x, out);
}

Tensor as_strided(const Tensor& x, Shape sizes, Shape strides, std::optional<int64_t> offset) {
  EMBER_CHECK(!autograd::needs_grad(x), NotImplementedError,
              "as_strided: is internal and not differentiable; use view ops on tensors that require grad");
  EMBER_CHECK(sizes.size() == strides.size(), ShapeError, "as_strided: sizes ", shape_str(sizes), " and strides ",
              shape_str(strides), " differ in length");
  int64_t max_index = offset.value_or(x.storage_offset());
  for (size_t i = 0; i < sizes.size(); ++i) {
    EMBER_CHECK(sizes[i] >= 0 && strides[i] >= 0, ShapeError, "as_strided: negative size or stride");
    if (sizes[i] == 0) max_index = -1;
    if (max_index >= 0) max_index += (sizes[i] - 1) * strides[i];
  }
  EMBER_CHECK(max_index < 0 || size_t(max_index + 1) * x.itemsize() <= x.impl().storage->nbytes(), IndexError,
              "as_strided: sizes ", shape_str(sizes), " and strides ", shape_str(strides),
              " reach outside the storage");
  return alias(x, std::move(sizes), std::move(strides), offset.value_or(x.storage_offset()));
}

Tensor clone(const Tensor& x) { return call(clone_op, {x})[0]; }
Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

// ---- data movement: cat, flip, constant pad, tril/triu ----
namespace {

// An alias of t restricted to [starts[d], starts[d] + sizes[d]) in every dim,
// for kernels only (no autograd, no view tracking).
Tensor window(const Tensor& t, const Shape& starts, const Shape& sizes) {
  int64_t offset = t.storage_offset();
  for (size_t d = 0; d < starts.size(); ++d) offset += starts[d] * t.strides()[d];
  return Tensor::from_storage(t.impl().storage, sizes, t.strides(), offset, t.dtype());
}

// ---- cat ----
// PyTorch still skips 1-d empty tensors whatever their other inputs' shapes.
bool legacy_empty(const Tensor& t) { return t.dim() == 1 && t.numel() == 0; }
bool legacy_empty(const TensorMeta& m) { return m.sizes.size() == 1 && m.sizes[0] == 0; }

// Index of the tensor whose shape the others must match (the first non-skipped one).
template <class List>
size_t cat_reference(const List& in) {
  for (size_t i = 0; i < in.size(); ++i)
    if (!legacy_empty(in[i])) return i;
  return 0;
}

std::vector<TensorMeta> infer_cat(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  EMBER_CHECK(!in.empty(), ValueError, "cat: expected a non-empty list of tensors");
  check_defined(in, op.name);
  for (size_t i = 0; i < in.size(); ++i)
    EMBER_CHECK(in[i].dim() > 0, ShapeError, "cat: zero-dimensional tensor (at position ", i,
                ") cannot be concatenated");
  const size_t r = cat_reference(in);
  const Tensor& ref = in[r];
  const int64_t d = wrap_dim(attrs.i("dim"), ref.dim(), "cat");
  Shape sizes = ref.sizes();
  sizes[size_t(d)] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (legacy_empty(in[i])) continue;
    EMBER_CHECK(in[i].dim() == ref.dim(), ShapeError, "cat: tensors must have the same number of dimensions: tensor ",
                r, " has shape ", shape_str(ref.sizes()), " but tensor ", i, " has shape ", shape_str(in[i].sizes()));
    for (int64_t k = 0; k < ref.dim(); ++k)
      EMBER_CHECK(k == d || in[i].sizes()[size_t(k)] == ref.sizes()[size_t(k)], ShapeError,
                  "cat: sizes of tensors must match except in dimension ", d, ": tensor ", r, " has shape ",
                  shape_str(ref.sizes()), " but tensor ", i, " has shape ", shape_str(in[i].sizes()),
                  " (mismatch at dim ", k, ")");
    sizes[size_t(d)] += in[i].sizes()[size_t(d)];
  }
  return {{sizes, result_type(in)}};
}

void cat_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const size_t d = size_t(wrap_dim(attrs.i("dim"), out[0].dim(), "cat"));
  Shape starts(size_t(out[0].dim()), 0), sizes = out[0].sizes();
  for (const Tensor& t : in) {
    if (legacy_empty(t) || t.sizes()[d] == 0) continue;
    sizes[d] = t.sizes()[d];
    Tensor dst = window(out[0], starts, sizes);
    copy_into(dst, t);
    starts[d] += sizes[d];
  }
}

// Each input's gradient is its slab of the output's gradient.
TensorList cat_backward(const BackwardContext& c, const TensorList& g) {
  std::vector<TensorMeta> metas;
  for (size_t i = 0; i < c.num_inputs(); ++i) metas.push_back(c.input_meta(i));
  const int64_t d = wrap_dim(c.attrs().i("dim"), int64_t(metas[cat_reference(metas)].sizes.size()), "cat");
  TensorList grads(metas.size());
  int64_t offset = 0;
  for (size_t i = 0; i < metas.size(); ++i) {
    if (legacy_empty(metas[i])) continue;
    const int64_t length = metas[i].sizes[size_t(d)];
    if (c.needs_grad(i)) grads[i] = narrow(g[0], d, offset, length);
    offset += length;
  }
  return grads;
}

// ---- flip ----
// Wrapped dims; a repeated dim is an error (flipping twice is not what anyone means).
Shape flip_dims(const Tensor& x, const Shape& dims) {
  Shape out;
  std::vector<bool> seen(size_t(std::max<int64_t>(x.dim(), 1)), false);
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, x.dim(), "flip");
    EMBER_CHECK(!seen[size_t(w)], IndexError, "flip: dim ", d, " appears more than once in ", shape_str(dims));
    seen[size_t(w)] = true;
    if (x.dim() > 0) out.push_back(w);
  }
  return out;
}

std::vector<TensorMeta> infer_flip(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  flip_dims(in[0], attrs.ints("dims"));
  return {meta_of(in[0])};
}

// Copies through a view with negated strides, so the strided iterator does the work.
void flip_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor& x = in[0];
  Shape strides = x.strides();
  int64_t offset = x.storage_offset();
  for (int64_t d : flip_dims(x, attrs.ints("dims"))) {
    offset += std::max<int64_t>(x.sizes()[size_t(d)] - 1, 0) * strides[size_t(d)];
    strides[size_t(d)] = -strides[size_t(d)];
  }
  copy_into(out[0], Tensor::from_storage(x.impl().storage, x.sizes(), strides, offset, x.dtype()));
}

// ---- constant pad ----
// attrs: pad = (left, right) pairs from the last dim, negative = crop; value.
void check_pads(const Tensor& x, const Shape& pads) {
  EMBER_CHECK(pads.size() % 2 == 0, ValueError, "pad: padding length must be even, got ", shape_str(pads));
  EMBER_CHECK(int64_t(pads.size()) / 2 <= x.dim(), ShapeError, "pad: padding ", shape_str(pads), " has ",
              pads.size(), " values but the input of shape ", shape_str(x.sizes()), " has only ", x.dim(), " dims");
}

std::vector<TensorMeta> infer_constant_pad(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor& x = in[0];
  const Shape& pads = attrs.ints("pad");
  check_pads(x, pads);
  Shape sizes = x.sizes();
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    const size_t d = size_t(x.dim()) - 1 - k;
    const int64_t n = sizes[d] + pads[2 * k] + pads[2 * k + 1];
    EMBER_CHECK(n >= 0, ShapeError, "pad: input size ", sizes[d], " at dim ", d, " with padding (", pads[2 * k], ", ",
                pads[2 * k + 1], ") gives a negative output size ", n, " (input shape ", shape_str(x.sizes()), ")");
    sizes[d] = n;
  }
  return {{sizes, x.dtype()}};
}

void constant_pad_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const Tensor& x = in[0];
  Tensor& o = out[0];
  const double value = attrs.f("value");
  visit_dtype(o.dtype(), [&]<class T>() { std::fill_n(o.data_ptr<T>(), o.numel(), T(compute_t<T>(value))); });
  // The region both tensors share: starts in each, and its sizes.
  const Shape& pads = attrs.ints("pad");
  Shape in_start(size_t(x.dim()), 0), out_start(size_t(x.dim()), 0), sizes = x.sizes();
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    const size_t d = size_t(x.dim()) - 1 - k;
    const int64_t left = pads[2 * k], right = pads[2 * k + 1];
    in_start[d] = std::max<int64_t>(-left, 0);
    out_start[d] = std::max<int64_t>(left, 0);
    sizes[d] = x.sizes()[d] - in_start[d] - std::max<int64_t>(-right, 0);
    if (sizes[d] <= 0) return;
  }
  Tensor dst = window(o, out_start, sizes);
  copy_into(dst, window(x, in_start, sizes));
}

// ---- tril / triu ----
std::vector<TensorMeta> infer_triangle(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  EMBER_CHECK(in[0].dim() >= 2, ShapeError, op.name, ": input must have at least 2 dims, got shape ",
              shape_str(in[0].sizes()));
  return {meta_of(in[0])};
}

// Copies, then zeroes each row's prefix (triu) or suffix (tril): all-zero
// bytes are zero in every dtype, so no dtype dispatch is needed.
template <bool Upper>
void triangle_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  Tensor& o = out[0];
  copy_into(o, in[0]);
  if (o.numel() == 0) return;
  const int64_t diagonal = attrs.i("diagonal");
  const int64_t rows = o.sizes()[size_t(o.dim() - 2)], cols = o.sizes()[size_t(o.dim() - 1)];
  const size_t item = o.itemsize();
  char* base = static_cast<char*>(o.raw_data());
  parallel_for(0, o.numel() / cols, std::max<int64_t>(1, kElementwiseGrain / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t i = r % rows;
      char* row = base + size_t(r * cols) * item;
      if constexpr (Upper) {
        const int64_t zero = std::clamp<int64_t>(i + diagonal, 0, cols);
        std::memset(row, 0, size_t(zero) * item);
      } else {
        const int64_t keep = std::clamp<int64_t>(i + diagonal + 1, 0, cols);
        std::memset(row + size_t(keep) * item, 0, size_t(cols - keep) * item);
      }
    }
  });
}

}  // namespace

const OpDef cat_op{.name = "cat", .inputs = {"tensors..."}, .infer = infer_cat, .cpu = cat_kernel,
                   .backward = cat_backward, .onnx = "Concat", .reference = "cat"};
const OpDef flip_op{.name = "flip", .inputs = {"self"}, .infer = infer_flip, .cpu = flip_kernel,
                    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                      return {flip(g[0], c.attrs().ints("dims"))};
                    },
                    .onnx = "Slice", .reference = "flip"};  // ONNX: Slice with steps -1
const OpDef constant_pad_op{
    .name = "constant_pad_nd", .inputs = {"self"}, .infer = infer_constant_pad, .cpu = constant_pad_kernel,
    // Padding and cropping are adjoint: the gradient crops what was padded and zero-pads what was cropped.
    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
      Shape pads = c.attrs().ints("pad");
      for (int64_t& p : pads) p = -p;
      return {call(constant_pad_op, {g[0]}, {{"pad", std::move(pads)}, {"value", 0.0}})[0]};
    },
    .onnx = "Pad", .reference = "pad"};
const OpDef tril_op{.name = "tril", .inputs = {"self"}, .infer = infer_triangle, .cpu = triangle_kernel<false>,
                    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                      return {tril(g[0], c.attrs().i("diagonal"))};
                    },
                    .onnx = "Trilu", .reference = "tril"};
const OpDef triu_op{.name = "triu", .inputs = {"self"}, .infer = infer_triangle, .cpu = triangle_kernel<true>,
                    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                      return {triu(g[0], c.attrs().i("diagonal"))};
                    },
                    .onnx = "Trilu", .reference = "triu"};

Tensor cat(const TensorList& tensors, int64_t dim) { return call(cat_op, tensors, {{"dim", dim}})[0]; }

Tensor stack(const TensorList& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), ValueError, "stack: expected a non-empty list of tensors");
  check_defined(tensors, "stack");
  for (size_t i = 1; i < tensors.size(); ++i)
    EMBER_CHECK(tensors[i].sizes() == tensors[0].sizes(), ShapeError,
                "stack: expects each tensor to be equal size, but got ", shape_str(tensors[0].sizes()),
                " at entry 0 and ", shape_str(tensors[i].sizes()), " at entry ", i);
  const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  TensorList parts;
  for (const Tensor& t : tensors) parts.push_back(unsqueeze(t, d));
  return cat(parts, d);
}

TensorList split(const Tensor& x, int64_t split_size, int64_t dim) {
  EMBER_CHECK(x.dim() > 0, IndexError, "split: cannot split a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  const int64_t n = x.sizes()[size_t(d)];
  EMBER_CHECK(split_size > 0 || (split_size == 0 && n == 0), ValueError, "split: split_size must be positive, got ",
              split_size, " (0 only for a dim of size 0; dim ", dim, " has size ", n, ")");
  TensorList out;
  if (n == 0) return {narrow(x, d, 0, 0)};
  for (int64_t start = 0; start < n; start += split_size)
    out.push_back(narrow(x, d, start, std::min(split_size, n - start)));
  return out;
}

TensorList split(const Tensor& x, const Shape& split_sizes, int64_t dim) {
  EMBER_CHECK(x.dim() > 0, IndexError, "split: cannot split a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  const int64_t n = x.sizes()[size_t(d)];
  int64_t total = 0;
  for (int64_t s : split_sizes) {
    EMBER_CHECK(s >= 0, ValueError, "split: split_sizes ", shape_str(split_sizes), " contain a negative size");
    total += s;
  }
  EMBER_CHECK(total == n, ShapeError, "split: split_sizes ", shape_str(split_sizes), " sum to ", total,
              " but dim ", dim, " of the input of shape ", shape_str(x.sizes()), " has size ", n);
  TensorList out;
  int64_t start = 0;
  for (int64_t s : split_sizes) {
    out.push_back(narrow(x, d, start, s));
    start += s;
  }
  return out;
}

TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  EMBER_CHECK(chunks > 0, ValueError, "chunk: number of chunks must be positive, got ", chunks);
  EMBER_CHECK(x.dim() > 0, IndexError, "chunk: cannot chunk a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "chunk");
  const int64_t n = x.sizes()[size_t(d)];
  if (n == 0) return split(x, Shape(size_t(chunks), 0), d);  // as PyTorch: `chunks` empty pieces
  return split(x, (n + chunks - 1) / chunks, d);
}

TensorList unbind(const Tensor& x, int64_t dim) {
  EMBER_CHECK(x.dim() > 0, IndexError, "unbind: cannot unbind a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "unbind");
  TensorList out;
  for (int64_t i = 0; i < x.sizes()[size_t(d)]; ++i) out.push_back(select(x, d, i));
  return out;
}

Tensor flip(const Tensor& x, Shape dims) { return call(flip_op, {x}, {{"dims", std::move(dims)}})[0]; }

// A composite of narrow + cat (PyTorch's roll is the same two slices swapped).
Tensor roll(const Tensor& x, Shape shifts, Shape dims) {
  if (dims.empty()) {
    EMBER_CHECK(shifts.size() == 1, ValueError, "roll: without dims, shifts must have one value, got ",
                shape_str(shifts));
    return view(roll(flatten(x), shifts, {0}), x.sizes());
  }
  EMBER_CHECK(shifts.size() == dims.size(), ValueError, "roll: shifts ", shape_str(shifts), " and dims ",
              shape_str(dims), " must have the same length");
  for (int64_t d : dims) wrap_dim(d, x.dim(), "roll");
  Tensor y = x;
  for (size_t k = 0; k < dims.size(); ++k) {
    const int64_t d = wrap_dim(dims[k], x.dim(), "roll");
    const int64_t n = y.dim() == 0 ? 1 : y.sizes()[size_t(d)];
    const int64_t s = n == 0 ? 0 : ((shifts[k] % n) + n) % n;
    if (s == 0) continue;
    y = cat({narrow(y, d, n - s, s), narrow(y, d, 0, n - s)}, d);
  }
  return y.is_same(x) ? clone(x) : y;
}

// x viewed as [1, s0, 1, s1, ...], expanded to [r0, s0, r1, s1, ...], then
// copied into [r0 * s0, r1 * s1, ...]; the gradient sums over the copies.
Tensor repeat(const Tensor& x, Shape repeats) {
  EMBER_CHECK(int64_t(repeats.size()) >= x.dim(), ShapeError, "repeat: number of repeat dims (", repeats.size(),
              ") can not be smaller than number of tensor dims (", x.dim(), ") of shape ", shape_str(x.sizes()));
  for (int64_t r : repeats)
    EMBER_CHECK(r >= 0, ValueError, "repeat: repeats ", shape_str(repeats), " contain a negative value");
  Shape padded(repeats.size() - size_t(x.dim()), 1);
  padded.insert(padded.end(), x.sizes().begin(), x.sizes().end());
  Shape interleaved, expanded, result;
  for (size_t i = 0; i < repeats.size(); ++i) {
    interleaved.insert(interleaved.end(), {1, padded[i]});
    expanded.insert(expanded.end(), {repeats[i], padded[i]});
    result.push_back(repeats[i] * padded[i]);
  }
  return view(clone(expand(reshape(x, interleaved), expanded)), result);
}

Tensor tile(const Tensor& x, Shape reps) {
  if (int64_t(reps.size()) < x.dim()) reps.insert(reps.begin(), size_t(x.dim()) - reps.size(), 1);
  return repeat(x, std::move(reps));
}

// Non-constant modes are built from views, flip and cat, one padded dim at a
// time: positive pads first, then negative ones crop (PyTorch's index mapping
// gives the same result).
Tensor pad(const Tensor& x, Shape pads, std::string_view mode, double value) {
  if (mode == "constant") return call(constant_pad_op, {x}, {{"pad", std::move(pads)}, {"value", value}})[0];
  const bool reflect = mode == "reflect";
  EMBER_CHECK(reflect || mode == "replicate", ValueError,
              "pad: mode must be 'constant', 'reflect' or 'replicate', got '", mode, "'");
  EMBER_CHECK(value == 0, ValueError, "pad: mode '", mode, "' takes no padding value, got ", value);
  check_pads(x, pads);
  const size_t npad = pads.size() / 2;
  for (size_t k = 0; k < npad; ++k) {
    const int64_t d = x.dim() - 1 - int64_t(k), n = x.sizes()[size_t(d)];
    const int64_t left = pads[2 * k], right = pads[2 * k + 1];
    if (reflect) {
      EMBER_CHECK(left < n && right < n, ShapeError, "pad: reflect padding (", left, ", ", right, ") at dim ", d,
                  " must be less than the input size ", n, " (input shape ", shape_str(x.sizes()), ")");
    } else {
      EMBER_CHECK(n > 0 || (left <= 0 && right <= 0), ShapeError, "pad: replicate padding (", left, ", ", right,
                  ") at dim ", d, " needs a non-empty input dim (input shape ", shape_str(x.sizes()), ")");
    }
    EMBER_CHECK(n + left + right >= 0, ShapeError, "pad: input size ", n, " at dim ", d, " with padding (", left, ", ",
                right, ") gives a negative output size ", n + left + right);
  }
  Tensor y = x;
  for (size_t k = 0; k < npad; ++k) {
    const int64_t d = x.dim() - 1 - int64_t(k), n = x.sizes()[size_t(d)];
    const int64_t left = std::max<int64_t>(pads[2 * k], 0), right = std::max<int64_t>(pads[2 * k + 1], 0);
    if (left == 0 && right == 0) continue;
    auto edge = [&](int64_t start, int64_t count, int64_t border) {
      if (reflect) return flip(narrow(y, d, start, count), {d});
      Shape sizes = y.sizes();
      sizes[size_t(d)] = count;
      return expand(narrow(y, d, border, 1), sizes);
    };
    TensorList parts;
    if (left > 0) parts.push_back(edge(1, left, 0));
    parts.push_back(y);
    if (right > 0) parts.push_back(edge(n - 1 - right, right, n - 1));
    y = cat(parts, d);
  }
  for (size_t k = 0; k < npad; ++k) {
    const int64_t d = x.dim() - 1 - int64_t(k);
    const int64_t crop_left = std::max<int64_t>(-pads[2 * k], 0), crop_right = std::max<int64_t>(-pads[2 * k + 1], 0);
    if (crop_left > 0 || crop_right > 0) y = narrow(y, d, crop_left, y.sizes()[size_t(d)] - crop_left - crop_right);
  }
  return y.is_same(x) ? clone(x) : y;
}

Tensor tril(const Tensor& x, int64_t diagonal) { return call(tril_op, {x}, {{"diagonal", diagonal}})[0]; }
Tensor triu(const Tensor& x, int64_t diagonal) { return call(triu_op, {x}, {{"diagonal", diagonal}})[0]; }

// Shared with the rest of the shape family.
namespace detail {
Tensor alias_of(const Tensor& x, Shape sizes, Shape strides, int64_t offset) {
  return alias(x, std::move(sizes), std::move(strides), offset);
}
}  // namespace detail

static const OpDef* const kShapeOps[] = {&view_op,  &permute_op,      &expand_op, &slice_op, &slice_backward_op, &clone_op,
                                         &cat_op,   &constant_pad_op, &flip_op,   &tril_op,  &triu_op};
std::span<const OpDef* const> shape_ops() { return kShapeOps; }

}  // namespace ember
