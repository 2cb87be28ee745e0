// Views (outputs alias the input's storage) and data movement.
#include "ember/ops/shape.h"

#include <algorithm>
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
  for (size_t i = 0; i < dims.size(); ++i) inverse[size_t(wrap_dim(dims[i], int64_t(dims.size()), "permute"))] = int64_t(i);
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
  const Shape sizes = infer_expand(*find_op("expand"), in, attrs)[0].sizes;
  const int64_t lead = int64_t(sizes.size()) - x.dim();
  Shape strides(sizes.size(), 0);
  for (int64_t d = lead; d < int64_t(sizes.size()); ++d) {
    const int64_t have = x.sizes()[size_t(d - lead)];
    strides[size_t(d)] = have == sizes[size_t(d)] ? x.strides()[size_t(d - lead)] : 0;
  }
  return {alias(x, sizes, strides, x.storage_offset())};
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
    .onnx = "Pad", .reference = "slice"};
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
  if (nd == 0) return x;
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

// Shared with the rest of the shape family.
namespace detail {
Tensor alias_of(const Tensor& x, Shape sizes, Shape strides, int64_t offset) {
  return alias(x, std::move(sizes), std::move(strides), offset);
}
}  // namespace detail

static const OpDef* const kShapeOps[] = {&view_op, &permute_op, &expand_op, &slice_op, &slice_backward_op, &clone_op};
std::span<const OpDef* const> shape_ops() { return kShapeOps; }

}  // namespace ember
