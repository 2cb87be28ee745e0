// Convolution, pooling and interpolation (torch.nn.functional's conv2d,
// conv_transpose2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d, interpolate).
//
// Note [Convolution gradients]
// conv2d and conv_transpose2d are each other's data gradient, and the weight
// gradient is its own op (conv2d_backward_weight) whose gradient is again a
// conv2d / conv_transpose2d. So every derivative of a convolution, of any
// order, is a convolution, and each runs through oneDNN in float32. When
// conv2d needs both, conv2d_backward_weight also returns the bias gradient
// (grad_output summed over batch and space), which oneDNN computes in the
// same pass over grad_output instead of a separate reduction.
//
// Note [Separable resampling]
// Average pooling, adaptive average pooling and nearest / bilinear
// interpolation are all linear maps out = A_h x A_w^T over each [H, W] plane,
// with sparse A_h, A_w (an Axis below). One kernel applies such a map, one
// its transpose; each op's gradient is the transpose op, and the transpose
// op's gradient is the op again (both are linear).
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu/conv.h"
#include "ember/autograd/autograd.h"
#include "cpu/simd/pool.h"
#include "elementwise.h"
#include "ember/ops/binary.h"
#include "ember/ops/nn.h"
#include "ember/ops/reduce.h"
#include "ember/ops/shape.h"
#include "registry.h"

namespace ember {
using namespace detail;

extern const OpDef conv2d_op, conv_transpose2d_op, conv2d_backward_weight_op;
extern const OpDef max_pool2d_with_indices_op, max_pool2d_op, max_pool2d_backward_op, max_pool2d_double_backward_op;
extern const OpDef avg_pool2d_op, avg_pool2d_backward_op, adaptive_avg_pool2d_op, adaptive_avg_pool2d_backward_op;
extern const OpDef upsample_nearest2d_op, upsample_nearest2d_backward_op, upsample_bilinear2d_op,
    upsample_bilinear2d_backward_op;

namespace {

Shape pair(Int2 v) { return {v.h, v.w}; }
std::string pair_str(int64_t a, int64_t b) { return shape_str(Shape{a, b}); }
std::string pair_str(const Shape& s) { return shape_str(s); }

// Planes per task so that a task touches at least kElementwiseGrain elements.
int64_t plane_grain(int64_t plane_size) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, plane_size));
}

void check_4d(const OpDef& op, const Tensor& x, std::string_view what, std::string_view layout) {
  EMBER_CHECK(x.dim() == 4, ShapeError, op.name, ": expected a 4-d ", what, " ", layout, ", got ",
              shape_str(x.sizes()));
}
void check_floating(const OpDef& op, const Tensor& x, std::string_view what) {
  EMBER_CHECK(x.is_floating_point(), DTypeError, op.name, ": ", what, " must be a floating tensor, got ", x.dtype());
}

// ---- convolution ----

struct ConvParams {
  int64_t sh, sw, ph, pw, dh, dw, groups;
};
ConvParams conv_params(const OpDef& op, const Attrs& a) {
  const Shape &s = a.ints("stride"), &p = a.ints("padding"), &d = a.ints("dilation");
  const ConvParams c{s[0], s[1], p[0], p[1], d[0], d[1], a.i("groups")};
  EMBER_CHECK(c.sh > 0 && c.sw > 0, ValueError, op.name, ": stride must be positive, got ", pair_str(s));
  EMBER_CHECK(c.ph >= 0 && c.pw >= 0, ValueError, op.name, ": padding must be non-negative, got ", pair_str(p));
  EMBER_CHECK(c.dh > 0 && c.dw > 0, ValueError, op.name, ": dilation must be positive, got ", pair_str(d));
  EMBER_CHECK(c.groups > 0, ValueError, op.name, ": groups must be positive, got ", c.groups);
  return c;
}

// The checks conv2d and conv_transpose2d share: 4-d tensors of one floating dtype, a bias of `channels` values.
void check_conv_tensors(const OpDef& op, std::span<const Tensor> in, int64_t bias_channels) {
  check_defined(in.first(2), op.name);
  const Tensor &x = in[0], &w = in[1], &b = in[2];
  check_4d(op, x, "input", "[N, C, H, W] (or 3-d unbatched)");
  check_4d(op, w, "weight", op.name == "conv2d" ? "[O, C / groups, kH, kW]" : "[C, O / groups, kH, kW]");
  check_floating(op, x, "input");
  EMBER_CHECK(w.dtype() == x.dtype(), DTypeError, op.name, ": input (", x.dtype(), ") and weight (", w.dtype(),
              ") must have the same dtype");
  if (!b.defined()) return;
  EMBER_CHECK(b.dtype() == x.dtype(), DTypeError, op.name, ": bias (", b.dtype(), ") must have the input's dtype (",
              x.dtype(), ")");
  EMBER_CHECK(b.dim() == 1 && b.size(0) == bias_channels, ShapeError, op.name, ": bias ", shape_str(b.sizes()),
              " must have shape [", bias_channels, "] (one value per output channel)");
}

// The forward convolution src [N, C, H, W] * weight [O, C/groups, kh, kw] -> [N, O, oh, ow].
ConvGeometry make_geometry(const Shape& src, const Shape& weight, int64_t oh, int64_t ow, const ConvParams& p) {
  return {src[0], src[1], src[2], src[3], weight[0], weight[2], weight[3], oh,
          ow,     p.sh,   p.sw,   p.ph,   p.pw,      p.dh,      p.dw,      p.groups};
}

int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

ConvGeometry conv2d_geometry(const OpDef& op, const Tensor& x, const Tensor& w, const Attrs& attrs) {
  const ConvParams p = conv_params(op, attrs);
  const int64_t c = x.size(1), o = w.size(0);
  EMBER_CHECK(c == w.size(1) * p.groups, ShapeError, op.name, ": input has ", c, " channels but weight expects ",
              w.size(1) * p.groups, " (weight ", shape_str(w.sizes()), ", groups ", p.groups, ")");
  EMBER_CHECK(o % p.groups == 0, ShapeError, op.name, ": groups ", p.groups, " must divide the weight's ", o,
              " output channels (weight ", shape_str(w.sizes()), ")");
  const int64_t eh = p.dh * (w.size(2) - 1) + 1, ew = p.dw * (w.size(3) - 1) + 1;
  EMBER_CHECK(eh <= x.size(2) + 2 * p.ph && ew <= x.size(3) + 2 * p.pw, ShapeError, op.name, ": kernel size ",
              pair_str(eh, ew), " (dilated) is larger than the padded input size ",
              pair_str(x.size(2) + 2 * p.ph, x.size(3) + 2 * p.pw), " (input ", shape_str(x.sizes()), ")");
  return make_geometry(x.sizes(), w.sizes(), conv_out(x.size(2), w.size(2), p.sh, p.ph, p.dh),
                       conv_out(x.size(3), w.size(3), p.sw, p.pw, p.dw), p);
}

// conv_transpose2d(x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw]) is the data
// gradient of the convolution from its output [N, Cout, Hout, Wout] to x.
ConvGeometry conv_transpose2d_geometry(const OpDef& op, const Tensor& x, const Tensor& w, const Attrs& attrs) {
  const ConvParams p = conv_params(op, attrs);
  const Shape& op_pad = attrs.ints("output_padding");
  const int64_t c = x.size(1);
  EMBER_CHECK(c == w.size(0), ShapeError, op.name, ": input has ", c, " channels but weight expects ", w.size(0),
              " (weight ", shape_str(w.sizes()), ", groups ", p.groups, ")");
  EMBER_CHECK(c % p.groups == 0, ShapeError, op.name, ": groups ", p.groups, " must divide the input's ", c,
              " channels");
  EMBER_CHECK(op_pad[0] >= 0 && op_pad[1] >= 0 && (op_pad[0] < p.sh || op_pad[0] < p.dh) &&
                  (op_pad[1] < p.sw || op_pad[1] < p.dw),
              ValueError, op.name, ": output_padding ", pair_str(op_pad), " must be smaller than either stride ",
              pair_str(p.sh, p.sw), " or dilation ", pair_str(p.dh, p.dw));
  const int64_t hout = (x.size(2) - 1) * p.sh - 2 * p.ph + p.dh * (w.size(2) - 1) + op_pad[0] + 1;
  const int64_t wout = (x.size(3) - 1) * p.sw - 2 * p.pw + p.dw * (w.size(3) - 1) + op_pad[1] + 1;
  EMBER_CHECK(hout > 0 && wout > 0, ShapeError, op.name, ": output size ", pair_str(hout, wout),
              " is too small (input ", shape_str(x.sizes()), ", weight ", shape_str(w.sizes()), ", padding ",
              pair_str(p.ph, p.pw), ")");
  const Shape src{x.size(0), w.size(1) * p.groups, hout, wout};
  return make_geometry(src, {w.size(0), w.size(1), w.size(2), w.size(3)}, x.size(2), x.size(3), p);
}

std::vector<TensorMeta> infer_conv2d(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_conv_tensors(op, in, in[1].defined() && in[1].dim() == 4 ? in[1].size(0) : 0);
  const ConvGeometry g = conv2d_geometry(op, in[0], in[1], attrs);
  return {{{g.batch, g.out_channels, g.out_h, g.out_w}, in[0].dtype()}};
}
void conv2d_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  conv2d_forward(conv2d_geometry(conv2d_op, in[0], in[1], attrs), in[0], in[1], in[2], out[0]);
}

std::vector<TensorMeta> infer_conv_transpose2d(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  const Tensor& w = in[1];
  const int64_t groups = attrs.i("groups");
  check_conv_tensors(op, in, w.defined() && w.dim() == 4 ? w.size(1) * groups : 0);
  const ConvGeometry g = conv_transpose2d_geometry(op, in[0], w, attrs);
  return {{{g.batch, g.in_channels, g.in_h, g.in_w}, in[0].dtype()}};
}
void conv_transpose2d_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const ConvGeometry g = conv_transpose2d_geometry(conv_transpose2d_op, in[0], in[1], attrs);
  conv2d_backward_data(g, in[0], in[1], in[2], out[0]);
}

// Internal: inputs (src, grad_dst), attrs weight_size and, optionally, bias:
// when true, a second output is the bias gradient (grad_dst summed over all
// but its channels), computed in the same pass. grad_dst may be shorter than
// the convolution of src (see conv_transpose2d_backward).
bool with_bias_grad(const Attrs& attrs) { return attrs.has("bias") && attrs.b("bias"); }
std::vector<TensorMeta> infer_conv2d_backward_weight(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  check_4d(op, in[0], "input", "[N, C, H, W]");
  check_4d(op, in[1], "grad_output", "[N, O, OH, OW]");
  EMBER_CHECK(in[0].dtype() == in[1].dtype(), DTypeError, op.name, ": input (", in[0].dtype(), ") and grad_output (",
              in[1].dtype(), ") must have the same dtype");
  conv_params(op, attrs);
  if (with_bias_grad(attrs)) return {{attrs.ints("weight_size"), in[0].dtype()}, {{in[1].size(1)}, in[0].dtype()}};
  return {{attrs.ints("weight_size"), in[0].dtype()}};
}
void conv2d_backward_weight_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const ConvGeometry g = make_geometry(in[0].sizes(), attrs.ints("weight_size"), in[1].size(2), in[1].size(3),
                                       conv_params(conv2d_backward_weight_op, attrs));
  conv2d_backward_weight(g, in[0], in[1], out[0], out.size() > 1 ? &out[1] : nullptr);
}

Attrs conv_attrs(const Attrs& a) {
  return {{"stride", a.get("stride")},
          {"padding", a.get("padding")},
          {"dilation", a.get("dilation")},
          {"groups", a.get("groups")}};
}

// conv2d cut to (oh, ow): when the convolved tensor came out of a transposed
// convolution with output_padding >= stride, the formula gives extra rows
// that no output of that transposed convolution reads.
Tensor conv2d_sized(const Tensor& x, const Tensor& w, const Attrs& a, int64_t oh, int64_t ow) {
  Tensor y = call(conv2d_op, {x, w, Tensor()}, conv_attrs(a))[0];
  if (y.size(2) != oh) y = narrow(y, 2, 0, oh);
  if (y.size(3) != ow) y = narrow(y, 3, 0, ow);
  return y;
}

// The transposed convolution of g [N, O, OH, OW] back to spatial size (h, w).
Tensor conv_transpose2d_sized(const Tensor& g, const Tensor& weight, const Attrs& a, int64_t h, int64_t w) {
  const Shape &s = a.ints("stride"), &p = a.ints("padding"), &d = a.ints("dilation");
  Attrs t = conv_attrs(a);
  t.set("output_padding", Shape{h - ((g.size(2) - 1) * s[0] - 2 * p[0] + d[0] * (weight.size(2) - 1) + 1),
                                w - ((g.size(3) - 1) * s[1] - 2 * p[1] + d[1] * (weight.size(3) - 1) + 1)});
  return call(conv_transpose2d_op, {g, weight, Tensor()}, std::move(t))[0];
}

// The weight gradient, and with_bias the bias gradient from the same pass.
TensorList conv_weight_grad(const Tensor& src, const Tensor& grad_dst, const Attrs& a, const Shape& weight_size,
                            bool with_bias = false) {
  Attrs t = conv_attrs(a);
  t.set("weight_size", weight_size);
  if (with_bias) t.set("bias", true);
  return call(conv2d_backward_weight_op, {src, grad_dst}, std::move(t));
}

Tensor bias_grad(const Tensor& g) { return sum(g, {0, 2, 3}); }

TensorList conv2d_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor &x = c.input(0), &w = c.input(1);
  TensorList grads{c.needs_grad(0) ? conv_transpose2d_sized(g[0], w, c.attrs(), x.size(2), x.size(3)) : Tensor(),
                   Tensor(), Tensor()};
  if (c.needs_grad(1)) {
    const TensorList weight_bias = conv_weight_grad(x, g[0], c.attrs(), w.sizes(), c.needs_grad(2));
    grads[1] = weight_bias[0];
    if (c.needs_grad(2)) grads[2] = weight_bias[1];
  } else if (c.needs_grad(2)) {
    grads[2] = bias_grad(g[0]);
  }
  return grads;
}
// y = conv_transpose2d(x, w): x plays the convolution's output, y its input.
TensorList conv_transpose2d_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor &x = c.input(0), &w = c.input(1);
  return {c.needs_grad(0) ? conv2d_sized(g[0], w, c.attrs(), x.size(2), x.size(3)) : Tensor(),
          c.needs_grad(1) ? conv_weight_grad(g[0], x, c.attrs(), w.sizes())[0] : Tensor(),
          c.needs_grad(2) ? bias_grad(g[0]) : Tensor()};
}
// grad_weight(src, grad_dst) is bilinear: <G, grad_weight> = <grad_dst, conv2d(src, G)>;
// grad_bias is linear in grad_dst: <B, grad_bias> = <grad_dst, B broadcast over [N, :, OH, OW]>.
TensorList conv2d_backward_weight_backward(const BackwardContext& c, const TensorList& g) {
  const Tensor &src = c.input(0), &gy = c.input(1);
  Tensor grad_gy;
  if (c.needs_grad(1)) {
    grad_gy = conv2d_sized(src, g[0], c.attrs(), gy.size(2), gy.size(3));
    if (with_bias_grad(c.attrs())) grad_gy = add(grad_gy, reshape(g[1], {1, -1, 1, 1}));
  }
  return {c.needs_grad(0) ? conv_transpose2d_sized(gy, g[0], c.attrs(), src.size(2), src.size(3)) : Tensor(),
          grad_gy};
}

// ---- pooling windows ----

struct PoolParams {
  int64_t kh, kw, sh, sw, ph, pw, dh = 1, dw = 1;
  bool ceil_mode;
};
PoolParams pool_params(const Attrs& a) {
  const Shape &k = a.ints("kernel_size"), &s = a.ints("stride"), &p = a.ints("padding");
  PoolParams r{k[0], k[1], s[0], s[1], p[0], p[1], 1, 1, a.b("ceil_mode")};
  if (a.has("dilation")) {
    r.dh = a.ints("dilation")[0];
    r.dw = a.ints("dilation")[1];
  }
  return r;
}

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's pooling_output_shape: with ceil_mode the last window must start inside the input or its left padding.
int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t out = floor_div(in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// Validates a 2-d pooling call and returns its output shape.
Shape pool_output(const OpDef& op, const Tensor& x, const PoolParams& p) {
  check_4d(op, x, "input", "[N, C, H, W] (or 3-d unbatched)");
  EMBER_CHECK(x.size(1) > 0 && x.size(2) > 0 && x.size(3) > 0, ShapeError, op.name,
              ": expected non-empty channel and spatial dims, got input ", shape_str(x.sizes()));
  EMBER_CHECK(p.kh > 0 && p.kw > 0, ValueError, op.name, ": kernel_size must be positive, got ", pair_str(p.kh, p.kw));
  EMBER_CHECK(p.sh > 0 && p.sw > 0, ValueError, op.name, ": stride must be positive, got ", pair_str(p.sh, p.sw));
  EMBER_CHECK(p.dh > 0 && p.dw > 0, ValueError, op.name, ": dilation must be positive, got ", pair_str(p.dh, p.dw));
  const int64_t eh = (p.kh - 1) * p.dh + 1, ew = (p.kw - 1) * p.dw + 1;
  EMBER_CHECK(p.ph >= 0 && p.pw >= 0 && p.ph <= eh / 2 && p.pw <= ew / 2, ValueError, op.name, ": padding ",
              pair_str(p.ph, p.pw), " must be non-negative and at most half of the effective kernel size ",
              pair_str(eh, ew));
  const int64_t oh = pool_out(x.size(2), p.kh, p.sh, p.ph, p.dh, p.ceil_mode);
  const int64_t ow = pool_out(x.size(3), p.kw, p.sw, p.pw, p.dw, p.ceil_mode);
  EMBER_CHECK(oh >= 1 && ow >= 1, ShapeError, op.name, ": output size ", pair_str(oh, ow), " is too small for input ",
              shape_str(x.sizes()), " (kernel ", pair_str(p.kh, p.kw), ", stride ", pair_str(p.sh, p.sw), ", padding ",
              pair_str(p.ph, p.pw), ", dilation ", pair_str(p.dh, p.dw), ")");
  return {x.size(0), x.size(1), oh, ow};
}

// ---- max pooling ----

std::vector<TensorMeta> infer_max_pool2d(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  EMBER_CHECK(in[0].dtype() != DType::b8, DTypeError, op.name, ": bool input is not supported");
  const Shape out = pool_output(op, in[0], pool_params(attrs));
  return {{out, in[0].dtype()}, {out, DType::i64}};
}

std::vector<TensorMeta> infer_max_pool2d_values(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  return {infer_max_pool2d(op, in, attrs)[0]};
}

// The flat in-plane position of each 2x2 window's top-left input, for an
// [oh, ow] output over rows of width w (see src/ops/cpu/simd/pool.h).
std::vector<int32_t> window_corners(int64_t oh, int64_t ow, int64_t w) {
  std::vector<int32_t> corner(size_t(oh * ow));
  for (int64_t r = 0; r < oh; ++r)
    for (int64_t q = 0; q < ow; ++q) corner[size_t(r * ow + q)] = int32_t(2 * r * w + 2 * q);
  return corner;
}

// Like PyTorch: the first maximum wins, and NaN counts as larger than anything
// (the last NaN wins). With one output (max_pool2d) no indices are written.
void max_pool2d_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  const PoolParams p = pool_params(attrs);
  const Tensor x = in[0].contiguous();
  const int64_t h = x.size(2), w = x.size(3), oh = out[0].size(2), ow = out[0].size(3);
  const bool two_by_two = p.kh == 2 && p.kw == 2 && p.sh == 2 && p.sw == 2 && p.ph == 0 && p.pw == 0 && p.dh == 1 &&
                          p.dw == 1 && 2 * oh <= h && 2 * ow <= w && h * w <= std::numeric_limits<int32_t>::max();
  visit_dtype(x.dtype(), [&]<class T>() {
    using C = compute_t<T>;
    const T* xd = x.data_ptr<T>();
    T* yd = out[0].data_ptr<T>();
    int64_t* id = out.size() > 1 ? out[1].data_ptr<int64_t>() : nullptr;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      if (two_by_two) {
        const std::vector<int32_t> corner = window_corners(oh, ow, w);
        parallel_for(0, x.size(0) * x.size(1), plane_grain(h * w), [&](int64_t begin, int64_t end) {
          const int64_t first = begin * oh * ow;
          if constexpr (std::is_same_v<T, float>)
            EMBER_SIMD(max_pool_2x2_f32)(xd + begin * h * w, end - begin, h * w, w, corner.data(), oh * ow,
                                         yd + first, id ? id + first : nullptr);
          else
            EMBER_SIMD(max_pool_2x2_f64)(xd + begin * h * w, end - begin, h * w, w, corner.data(), oh * ow,
                                         yd + first, id ? id + first : nullptr);
        });
        return;
      }
    }
    parallel_for(0, x.size(0) * x.size(1), plane_grain(oh * ow * p.kh * p.kw), [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const T* xp = xd + plane * h * w;
        for (int64_t r = 0; r < oh; ++r) {
          int64_t h0 = r * p.sh - p.ph;
          const int64_t h1 = std::min(h0 + (p.kh - 1) * p.dh + 1, h);
          while (h0 < 0) h0 += p.dh;
          for (int64_t q = 0; q < ow; ++q) {
            int64_t w0 = q * p.sw - p.pw;
            const int64_t w1 = std::min(w0 + (p.kw - 1) * p.dw + 1, w);
            while (w0 < 0) w0 += p.dw;
            int64_t best = h0 * w + w0;
            C best_value = std::numeric_limits<C>::has_infinity ? -std::numeric_limits<C>::infinity()
                                                                : std::numeric_limits<C>::lowest();
            for (int64_t i = h0; i < h1; i += p.dh)
              for (int64_t j = w0; j < w1; j += p.dw) {
                const C v = C(xp[i * w + j]);
                bool take = v > best_value;
                if constexpr (is_floating_v<T>) take = take || std::isnan(v);
                if (take) {
                  best_value = v;
                  best = i * w + j;
                }
              }
            const int64_t o = plane * oh * ow + r * ow + q;
            yd[o] = T(best_value);
            if (id) id[o] = best;
          }
        }
      }
    });
  });
}

// grad_input [input_size] = scatter-add of grad [N, C, OH, OW] at the flat h*w indices.
std::vector<TensorMeta> infer_max_pool2d_backward(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  EMBER_CHECK(in[1].dtype() == DType::i64 && in[0].sizes() == in[1].sizes() && in[0].dim() == 4, ShapeError, op.name,
              ": grad ", in[0].meta_str(), " and indices ", in[1].meta_str(),
              " must be 4-d with one int64 index per value");
  return {{attrs.ints("input_size"), in[0].dtype()}};
}
void max_pool2d_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
  const Tensor g = in[0].contiguous(), idx = in[1].contiguous();
  const int64_t plane_in = out[0].size(2) * out[0].size(3), plane_out = g.size(2) * g.size(3);
  visit_dtype(g.dtype(), [&]<class T>() {
    const T* gd = g.data_ptr<T>();
    const int64_t* id = idx.data_ptr<int64_t>();
    T* od = out[0].data_ptr<T>();
    parallel_for(0, g.size(0) * g.size(1), plane_grain(plane_in + plane_out), [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        T* op = od + plane * plane_in;
        std::fill_n(op, plane_in, T(compute_t<T>(0)));
        for (int64_t k = plane * plane_out; k < (plane + 1) * plane_out; ++k) {
          EMBER_CHECK(id[k] >= 0 && id[k] < plane_in, IndexError, "max_pool2d_backward: index ", id[k],
                      " is out of range for a plane of ", plane_in, " elements");
          op[id[k]] = T(compute_t<T>(op[id[k]]) + compute_t<T>(gd[k]));
        }
      }
    });
  });
}

// out [N, C, OH, OW] = grad [N, C, H, W] read at the indices (the transpose of max_pool2d_backward).
std::vector<TensorMeta> infer_max_pool2d_double_backward(const OpDef& op, std::span<const Tensor> in, const Attrs&) {
  check_defined(in, op.name);
  EMBER_CHECK(in[0].dim() == 4 && in[1].dim() == 4 && in[1].dtype() == DType::i64 && in[0].size(0) == in[1].size(0) &&
                  in[0].size(1) == in[1].size(1),
              ShapeError, op.name, ": grad ", in[0].meta_str(), " and indices ", in[1].meta_str(),
              " must be 4-d with matching batch and channels");
  return {{in[1].sizes(), in[0].dtype()}};
}
void max_pool2d_double_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs&) {
  const Tensor g = in[0].contiguous(), idx = in[1].contiguous();
  const int64_t plane_in = g.size(2) * g.size(3), plane_out = idx.size(2) * idx.size(3);
  visit_dtype(g.dtype(), [&]<class T>() {
    const T* gd = g.data_ptr<T>();
    const int64_t* id = idx.data_ptr<int64_t>();
    T* od = out[0].data_ptr<T>();
    parallel_for(0, idx.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        EMBER_CHECK(id[k] >= 0 && id[k] < plane_in, IndexError, "max_pool2d_double_backward: index ", id[k],
                    " is out of range for a plane of ", plane_in, " elements");
        od[k] = gd[(k / plane_out) * plane_in + id[k]];
      }
    });
  });
}

// ---- separable resampling (see Note [Separable resampling]) ----

// Output position o reads input index[k] with weight[k] for k in [start[o], start[o + 1]).
struct Axis {
  std::vector<int64_t> start{0}, index;
  std::vector<double> weight;
  void add(int64_t i, double w) {
    index.push_back(i);
    weight.push_back(w);
  }
  void close_output() { start.push_back(int64_t(index.size())); }
};
struct Axes {
  Axis h, w;
};
// Builds the two axes from the input shape, output shape and attrs of a call.
using AxesFn = Axes (*)(const Shape& in, const Shape& out, const Attrs& attrs, DType dtype);

// out = A_h x A_w^T per plane, accumulating in double.
void resample(const Axes& a, const Tensor& input, Tensor& out) {
  const Tensor x = input.contiguous();
  const int64_t h = x.size(2), w = x.size(3), oh = out.size(2), ow = out.size(3);
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* xd = x.data_ptr<T>();
    T* yd = out.data_ptr<T>();
    parallel_for(0, x.size(0) * x.size(1), plane_grain(h * w + oh * ow), [&](int64_t begin, int64_t end) {
      std::vector<double> row(static_cast<size_t>(w));
      for (int64_t plane = begin; plane < end; ++plane) {
        const T* xp = xd + plane * h * w;
        T* yp = yd + plane * oh * ow;
        for (int64_t r = 0; r < oh; ++r) {
          std::fill(row.begin(), row.end(), 0.0);
          for (int64_t k = a.h.start[size_t(r)]; k < a.h.start[size_t(r) + 1]; ++k) {
            const T* xr = xp + a.h.index[size_t(k)] * w;
            const double wk = a.h.weight[size_t(k)];
            for (int64_t j = 0; j < w; ++j) row[size_t(j)] += wk * double(compute_t<T>(xr[j]));
          }
          for (int64_t q = 0; q < ow; ++q) {
            double acc = 0;
            for (int64_t k = a.w.start[size_t(q)]; k < a.w.start[size_t(q) + 1]; ++k)
              acc += a.w.weight[size_t(k)] * row[size_t(a.w.index[size_t(k)])];
            yp[r * ow + q] = T(compute_t<T>(acc));
          }
        }
      }
    });
  });
}

// grad_in = A_h^T grad A_w per plane (the adjoint of resample).
void resample_transposed(const Axes& a, const Tensor& grad, Tensor& out) {
  const Tensor g = grad.contiguous();
  const int64_t h = out.size(2), w = out.size(3), oh = g.size(2), ow = g.size(3);
  visit_dtype(g.dtype(), [&]<class T>() {
    const T* gd = g.data_ptr<T>();
    T* od = out.data_ptr<T>();
    parallel_for(0, g.size(0) * g.size(1), plane_grain(h * w + oh * ow), [&](int64_t begin, int64_t end) {
      std::vector<double> row(static_cast<size_t>(w)), acc(static_cast<size_t>(h * w));
      for (int64_t plane = begin; plane < end; ++plane) {
        const T* gp = gd + plane * oh * ow;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t r = 0; r < oh; ++r) {
          std::fill(row.begin(), row.end(), 0.0);
          for (int64_t q = 0; q < ow; ++q) {
            const double gv = double(compute_t<T>(gp[r * ow + q]));
            for (int64_t k = a.w.start[size_t(q)]; k < a.w.start[size_t(q) + 1]; ++k)
              row[size_t(a.w.index[size_t(k)])] += a.w.weight[size_t(k)] * gv;
          }
          for (int64_t k = a.h.start[size_t(r)]; k < a.h.start[size_t(r) + 1]; ++k) {
            double* ar = acc.data() + a.h.index[size_t(k)] * w;
            const double wk = a.h.weight[size_t(k)];
            for (int64_t j = 0; j < w; ++j) ar[j] += wk * row[size_t(j)];
          }
        }
        T* op = od + plane * h * w;
        for (int64_t i = 0; i < h * w; ++i) op[i] = T(compute_t<T>(acc[size_t(i)]));
      }
    });
  });
}

template <AxesFn Build>
void resample_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  resample(Build(in[0].sizes(), out[0].sizes(), attrs, in[0].dtype()), in[0], out[0]);
}
template <AxesFn Build>
void resample_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  resample_transposed(Build(out[0].sizes(), in[0].sizes(), attrs, in[0].dtype()), in[0], out[0]);
}

// The gradient of a linear op is its adjoint op, called with the same attrs
// plus the input size (which the adjoint needs and the op itself ignores).
template <const OpDef& Adjoint>
TensorList adjoint_backward(const BackwardContext& c, const TensorList& g) {
  Attrs a = c.attrs();
  a.set("input_size", c.input_meta(0).sizes);
  return {call(Adjoint, {g[0]}, std::move(a))[0]};
}

std::vector<TensorMeta> infer_resample_backward(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  check_4d(op, in[0], "grad", "[N, C, OH, OW]");
  return {{attrs.ints("input_size"), in[0].dtype()}};
}

// avg_pool2d: window [o*s - p, o*s - p + k) clipped to the input (and, for the
// divisor, to the padded input); divisor per PyTorch's count_include_pad.
Axis avg_pool_axis(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, bool count_include_pad) {
  Axis a;
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * s - p, stop = std::min(start + k, in + p);
    const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(stop, in);
    const double divisor = double(count_include_pad ? stop - start : hi - lo);
    for (int64_t i = lo; i < hi; ++i) a.add(i, 1.0 / divisor);
    a.close_output();
  }
  return a;
}
Axes avg_pool_axes(const Shape& in, const Shape& out, const Attrs& attrs, DType) {
  const PoolParams p = pool_params(attrs);
  const bool include = attrs.b("count_include_pad");
  return {avg_pool_axis(in[2], out[2], p.kh, p.sh, p.ph, include),
          avg_pool_axis(in[3], out[3], p.kw, p.sw, p.pw, include)};
}
// float32 goes through oneDNN where it can express the call (see cpu/conv.h).
detail::PoolGeometry avg_pool_geometry(const Shape& in, const Shape& out, const Attrs& attrs) {
  const PoolParams p = pool_params(attrs);
  return {in[0], in[1], in[2], in[3], out[2], out[3], p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, attrs.b("count_include_pad")};
}
void avg_pool2d_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  if (!detail::avg_pool2d_forward(avg_pool_geometry(in[0].sizes(), out[0].sizes(), attrs), in[0], out[0]))
    resample_kernel<avg_pool_axes>(in, out, attrs);
}
void avg_pool2d_backward_kernel(std::span<const Tensor> in, std::span<Tensor> out, const Attrs& attrs) {
  if (!detail::avg_pool2d_backward(avg_pool_geometry(out[0].sizes(), in[0].sizes(), attrs), in[0], out[0]))
    resample_backward_kernel<avg_pool_axes>(in, out, attrs);
}
std::vector<TensorMeta> infer_avg_pool2d(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  check_4d(op, in[0], "input", "[N, C, H, W] (or 3-d unbatched)");
  check_floating(op, in[0], "input");
  return {{pool_output(op, in[0], pool_params(attrs)), in[0].dtype()}};
}

// adaptive_avg_pool2d: output o averages [floor(o*in/out), ceil((o+1)*in/out)).
Axis adaptive_axis(int64_t in, int64_t out) {
  Axis a;
  for (int64_t o = 0; o < out; ++o) {
    const int64_t lo = (o * in) / out, hi = ((o + 1) * in + out - 1) / out;
    for (int64_t i = lo; i < hi; ++i) a.add(i, 1.0 / double(hi - lo));
    a.close_output();
  }
  return a;
}
Axes adaptive_axes(const Shape& in, const Shape& out, const Attrs&, DType) {
  return {adaptive_axis(in[2], out[2]), adaptive_axis(in[3], out[3])};
}
std::vector<TensorMeta> infer_adaptive_avg_pool2d(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor& x = in[0];
  check_4d(op, x, "input", "[N, C, H, W] (or 3-d unbatched)");
  check_floating(op, x, "input");
  EMBER_CHECK(x.size(1) > 0 && x.size(2) > 0 && x.size(3) > 0, ShapeError, op.name,
              ": expected non-empty channel and spatial dims, got input ", shape_str(x.sizes()));
  const Shape& size = attrs.ints("output_size");
  EMBER_CHECK(size[0] >= 0 && size[1] >= 0, ValueError, op.name, ": output_size must be non-negative, got ",
              pair_str(size));
  return {{{x.size(0), x.size(1), size[0], size[1]}, x.dtype()}};
}

// interpolate: attrs size [OH, OW], scales (empty, or the user's scale_factor
// pair, which PyTorch uses instead of in/out when given).
double scale_attr(const Attrs& attrs, size_t d) {
  const auto& scales = std::get<std::vector<double>>(attrs.get("scales"));
  return scales.empty() ? 0.0 : scales[d];
}

// PyTorch's nearest_idx: floor(o * in/out) in float, exact for the 1x and 2x cases.
Axis nearest_axis(int64_t in, int64_t out, double scale) {
  Axis a;
  const float ratio = scale > 0 ? float(1.0 / scale) : float(in) / float(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t i = out == in ? o : out == 2 * in ? o >> 1 : std::min(int64_t(std::floor(float(o) * ratio)), in - 1);
    a.add(i, 1.0);
    a.close_output();
  }
  return a;
}
Axes nearest_axes(const Shape& in, const Shape& out, const Attrs& attrs, DType) {
  return {nearest_axis(in[2], out[2], scale_attr(attrs, 0)), nearest_axis(in[3], out[3], scale_attr(attrs, 1))};
}

// PyTorch's compute_source_index_and_lambda, in the op's math type (float
// below float64) so the interpolation weights match it bit for bit.
template <class M>
Axis bilinear_axis(int64_t in, int64_t out, bool align_corners, double scale) {
  Axis a;
  const M ratio = align_corners ? (out > 1 ? M(in - 1) / M(out - 1) : M(0))
                  : scale > 0   ? M(1.0 / scale)
                                : M(in) / M(out);
  for (int64_t o = 0; o < out; ++o) {
    if (in == out) {
      a.add(o, 1.0);
      a.close_output();
      continue;
    }
    M real = align_corners ? ratio * M(o) : ratio * (M(o) + M(0.5)) - M(0.5);
    if (real < 0) real = 0;
    const int64_t i0 = std::min(int64_t(std::floor(real)), in - 1);
    const M lambda1 = std::min(std::max(real - M(i0), M(0)), M(1));
    a.add(i0, double(M(1) - lambda1));
    a.add(i0 + (i0 < in - 1 ? 1 : 0), double(lambda1));
    a.close_output();
  }
  return a;
}
Axes bilinear_axes(const Shape& in, const Shape& out, const Attrs& attrs, DType dtype) {
  const bool ac = attrs.b("align_corners");
  if (dtype == DType::f64)
    return {bilinear_axis<double>(in[2], out[2], ac, scale_attr(attrs, 0)),
            bilinear_axis<double>(in[3], out[3], ac, scale_attr(attrs, 1))};
  return {bilinear_axis<float>(in[2], out[2], ac, scale_attr(attrs, 0)),
          bilinear_axis<float>(in[3], out[3], ac, scale_attr(attrs, 1))};
}

std::vector<TensorMeta> infer_upsample(const OpDef& op, std::span<const Tensor> in, const Attrs& attrs) {
  check_defined(in, op.name);
  const Tensor& x = in[0];
  EMBER_CHECK(x.dim() == 4, ShapeError, op.name, ": expected a 4-d input [N, C, H, W], got ", shape_str(x.sizes()));
  EMBER_CHECK(x.is_floating_point() || (op.name == "upsample_nearest2d" && x.dtype() == DType::u8), DTypeError, op.name,
              ": input of dtype ", x.dtype(), " is not supported");
  const Shape& size = attrs.ints("size");
  EMBER_CHECK(x.size(2) > 0 && x.size(3) > 0 && size[0] > 0 && size[1] > 0, ShapeError, op.name,
              ": input and output sizes must be positive, got input ", shape_str(x.sizes()), " and output size ",
              pair_str(size));
  return {{{x.size(0), x.size(1), size[0], size[1]}, x.dtype()}};
}

// ---- max pooling gradients ----
TensorList max_pool2d_backward_formula(const BackwardContext& c, const TensorList& g) {
  Attrs a = c.attrs();
  a.set("input_size", c.input_meta(0).sizes);
  return {call(max_pool2d_backward_op, {g[0], c.output(1)}, std::move(a))[0]};
}

}  // namespace

// ---- the op table ----

const OpDef conv2d_op{.name = "conv2d",
                      .inputs = {"input", "weight", "bias"},
                      .infer = infer_conv2d,
                      .cpu = conv2d_kernel,
                      .backward = conv2d_backward,
                      .saves = Saves::inputs,
                      .onnx = "Conv",
                      .reference = "conv2d",
                      .autocast = AutocastPolicy::lower_precision};
const OpDef conv_transpose2d_op{.name = "conv_transpose2d",
                                .inputs = {"input", "weight", "bias"},
                                .infer = infer_conv_transpose2d,
                                .cpu = conv_transpose2d_kernel,
                                .backward = conv_transpose2d_backward,
                                .saves = Saves::inputs,
                                .onnx = "ConvTranspose",
                                .reference = "conv_transpose2d",
                                .autocast = AutocastPolicy::lower_precision};
const OpDef conv2d_backward_weight_op{.name = "conv2d_backward_weight",
                                      .inputs = {"input", "grad_output"},
                                      .infer = infer_conv2d_backward_weight,
                                      .cpu = conv2d_backward_weight_kernel,
                                      .backward = conv2d_backward_weight_backward,
                                      .saves = Saves::inputs,
                                      .not_exportable = "a gradient op: exported graphs are inference graphs",
                                      .reference = "conv2d",
                                      .autocast = AutocastPolicy::lower_precision};

const OpDef max_pool2d_with_indices_op{.name = "max_pool2d_with_indices",
                                       .inputs = {"input"},
                                       .infer = infer_max_pool2d,
                                       .cpu = max_pool2d_kernel,
                                       .backward = max_pool2d_backward_formula,
                                       .saves = Saves::outputs,
                                       .onnx = "MaxPool",
                                       .reference = "max_pool2d"};
// Values only: what inference runs (no index tensor to write); code that
// records gradients runs max_pool2d_with_indices, whose backward needs them.
const OpDef max_pool2d_op{.name = "max_pool2d",
                          .inputs = {"input"},
                          .infer = infer_max_pool2d_values,
                          .cpu = max_pool2d_kernel,
                          .nondifferentiable = "differentiable code runs max_pool2d_with_indices",
                          .onnx = "MaxPool",
                          .reference = "max_pool2d"};
const OpDef max_pool2d_backward_op{.name = "max_pool2d_backward",
                                   .inputs = {"grad_output", "indices"},
                                   .infer = infer_max_pool2d_backward,
                                   .cpu = max_pool2d_backward_kernel,
                                   .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
                                     return {call(max_pool2d_double_backward_op, {g[0], c.input(1)})[0], Tensor()};
                                   },
                                   .saves = Saves::inputs,
                                   .not_exportable = "a gradient op: exported graphs are inference graphs",
                                   .reference = "max_pool2d",
                                   .integer_inputs = {1}};
const OpDef max_pool2d_double_backward_op{
    .name = "max_pool2d_double_backward",
    .inputs = {"grad", "indices"},
    .infer = infer_max_pool2d_double_backward,
    .cpu = max_pool2d_double_backward_kernel,
    .backward = [](const BackwardContext& c, const TensorList& g) -> TensorList {
      return {call(max_pool2d_backward_op, {g[0], c.input(1)}, {{"input_size", c.input_meta(0).sizes}})[0], Tensor()};
    },
    .saves = Saves::inputs,
    .not_exportable = "a gradient op: exported graphs are inference graphs",
    .reference = "max_pool2d",
    .integer_inputs = {1}};

const OpDef avg_pool2d_op{.name = "avg_pool2d",
                          .inputs = {"input"},
                          .infer = infer_avg_pool2d,
                          .cpu = avg_pool2d_kernel,
                          .backward = adjoint_backward<avg_pool2d_backward_op>,
                          .onnx = "AveragePool",
                          .reference = "avg_pool2d"};
const OpDef avg_pool2d_backward_op{.name = "avg_pool2d_backward",
                                   .inputs = {"grad_output"},
                                   .infer = infer_resample_backward,
                                   .cpu = avg_pool2d_backward_kernel,
                                   .backward = adjoint_backward<avg_pool2d_op>,
                                   .not_exportable = "a gradient op: exported graphs are inference graphs",
                                   .reference = "avg_pool2d"};
const OpDef adaptive_avg_pool2d_op{
    .name = "adaptive_avg_pool2d",
    .inputs = {"input"},
    .infer = infer_adaptive_avg_pool2d,
    .cpu = resample_kernel<adaptive_axes>,
    .backward = adjoint_backward<adaptive_avg_pool2d_backward_op>,
    .not_exportable = "ONNX pools with fixed windows only (GlobalAveragePool covers output size 1)",
    .reference = "adaptive_avg_pool2d"};
const OpDef adaptive_avg_pool2d_backward_op{.name = "adaptive_avg_pool2d_backward",
                                            .inputs = {"grad_output"},
                                            .infer = infer_resample_backward,
                                            .cpu = resample_backward_kernel<adaptive_axes>,
                                            .backward = adjoint_backward<adaptive_avg_pool2d_op>,
                                            .not_exportable = "a gradient op: exported graphs are inference graphs",
                                            .reference = "adaptive_avg_pool2d"};
const OpDef upsample_nearest2d_op{.name = "upsample_nearest2d",
                                  .inputs = {"input"},
                                  .infer = infer_upsample,
                                  .cpu = resample_kernel<nearest_axes>,
                                  .backward = adjoint_backward<upsample_nearest2d_backward_op>,
                                  .onnx = "Resize",
                                  .reference = "upsample_nearest2d"};
const OpDef upsample_nearest2d_backward_op{.name = "upsample_nearest2d_backward",
                                           .inputs = {"grad_output"},
                                           .infer = infer_resample_backward,
                                           .cpu = resample_backward_kernel<nearest_axes>,
                                           .backward = adjoint_backward<upsample_nearest2d_op>,
                                           .not_exportable = "a gradient op: exported graphs are inference graphs",
                                           .reference = "upsample_nearest2d"};
const OpDef upsample_bilinear2d_op{.name = "upsample_bilinear2d",
                                   .inputs = {"input"},
                                   .infer = infer_upsample,
                                   .cpu = resample_kernel<bilinear_axes>,
                                   .backward = adjoint_backward<upsample_bilinear2d_backward_op>,
                                   .onnx = "Resize",
                                   .reference = "upsample_bilinear2d"};
const OpDef upsample_bilinear2d_backward_op{.name = "upsample_bilinear2d_backward",
                                            .inputs = {"grad_output"},
                                            .infer = infer_resample_backward,
                                            .cpu = resample_backward_kernel<bilinear_axes>,
                                            .backward = adjoint_backward<upsample_bilinear2d_op>,
                                            .not_exportable = "a gradient op: exported graphs are inference graphs",
                                            .reference = "upsample_bilinear2d"};

// ---- public functions ----
namespace {

// PyTorch accepts unbatched [C, H, W] inputs: run them as a batch of one.
template <class F>
Tensor batched(const Tensor& x, const F& f) {
  if (x.defined() && x.dim() == 3) return squeeze(f(unsqueeze(x, 0)), 0);
  return f(x);
}

Attrs pool_attrs(const Pool2dOptions& o) {
  return {{"kernel_size", pair(o.kernel_size)},
          {"stride", pair(o.stride.value_or(o.kernel_size))},
          {"padding", pair(o.padding)},
          {"ceil_mode", o.ceil_mode}};
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  const Attrs attrs{
      {"stride", pair(o.stride)}, {"padding", pair(o.padding)}, {"dilation", pair(o.dilation)}, {"groups", o.groups}};
  return batched(x, [&](const Tensor& in) { return call(conv2d_op, {in, weight, bias}, attrs)[0]; });
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dOptions& o) {
  EMBER_CHECK(x.defined() && weight.defined(), ValueError, "conv1d: input and weight must be defined");
  EMBER_CHECK(x.dim() == 2 || x.dim() == 3, ShapeError,
              "conv1d: expected a 3-d input [N, C, L] (or 2-d unbatched), got ", shape_str(x.sizes()));
  EMBER_CHECK(weight.dim() == 3, ShapeError, "conv1d: expected a 3-d weight [O, C / groups, K], got ",
              shape_str(weight.sizes()));
  // A 1-d convolution is a 2-d one over height 1.
  const Conv2dOptions o2{
      .stride = Int2(1, o.stride), .padding = Int2(0, o.padding), .dilation = Int2(1, o.dilation), .groups = o.groups};
  return squeeze(conv2d(unsqueeze(x, -2), unsqueeze(weight, 2), bias, o2), -2);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTranspose2dOptions& o) {
  const Attrs attrs{{"stride", pair(o.stride)},
                    {"padding", pair(o.padding)},
                    {"output_padding", pair(o.output_padding)},
                    {"dilation", pair(o.dilation)},
                    {"groups", o.groups}};
  return batched(x, [&](const Tensor& in) { return call(conv_transpose2d_op, {in, weight, bias}, attrs)[0]; });
}

ValuesIndices max_pool2d_with_indices(const Tensor& x, const Pool2dOptions& o) {
  Attrs attrs = pool_attrs(o);
  attrs.set("dilation", pair(o.dilation));
  const bool unbatched = x.defined() && x.dim() == 3;
  TensorList out = call(max_pool2d_with_indices_op, {unbatched ? unsqueeze(x, 0) : x}, std::move(attrs));
  if (unbatched) return {squeeze(out[0], 0), squeeze(out[1], 0)};
  return {out[0], out[1]};
}
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& o) {
  if (autograd::GradMode::is_enabled() && x.defined() && x.requires_grad())
    return max_pool2d_with_indices(x, o).values;
  Attrs attrs = pool_attrs(o);
  attrs.set("dilation", pair(o.dilation));
  return batched(x, [&](const Tensor& in) { return call(max_pool2d_op, {in}, attrs)[0]; });
}
Tensor max_pool2d(const Tensor& x, Int2 kernel_size) {
  Pool2dOptions o;
  o.kernel_size = kernel_size;
  return max_pool2d(x, o);
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& o) {
  Attrs attrs = pool_attrs(o);
  attrs.set("count_include_pad", o.count_include_pad);
  return batched(x, [&](const Tensor& in) { return call(avg_pool2d_op, {in}, attrs)[0]; });
}
Tensor avg_pool2d(const Tensor& x, Int2 kernel_size) {
  Pool2dOptions o;
  o.kernel_size = kernel_size;
  return avg_pool2d(x, o);
}

Tensor adaptive_avg_pool2d(const Tensor& x, Int2 output_size) {
  return batched(x, [&](const Tensor& in) {
    return call(adaptive_avg_pool2d_op, {in}, {{"output_size", pair(output_size)}})[0];
  });
}

Tensor interpolate(const Tensor& x, const InterpolateOptions& o) {
  EMBER_CHECK(o.mode == "nearest" || o.mode == "bilinear", ValueError,
              "interpolate: mode must be \"nearest\" or \"bilinear\", got \"", o.mode, "\"");
  EMBER_CHECK(o.size.has_value() != o.scale_factor.has_value(), ValueError,
              "interpolate: exactly one of size and scale_factor must be given, got ", o.size ? "both" : "neither");
  EMBER_CHECK(!o.align_corners || o.mode == "bilinear", ValueError,
              "interpolate: align_corners can only be set with mode \"bilinear\", got mode \"", o.mode, "\"");
  EMBER_CHECK(x.defined(), ValueError, "interpolate: input is an undefined Tensor");
  Shape size{0, 0};
  std::vector<double> scales;
  if (o.size) {
    size = pair(*o.size);
  } else {
    const auto [sh, sw] = *o.scale_factor;
    EMBER_CHECK(sh > 0 && sw > 0, ValueError, "interpolate: scale_factor must be positive, got (", sh, ", ", sw, ")");
    scales = {sh, sw};
    // PyTorch: floor(input size * scale) in double.
    if (x.dim() == 4) size = {int64_t(std::floor(double(x.size(2)) * sh)), int64_t(std::floor(double(x.size(3)) * sw))};
  }
  Attrs attrs{{"size", size}, {"scales", scales}};
  if (o.mode == "nearest") return call(upsample_nearest2d_op, {x}, std::move(attrs))[0];
  attrs.set("align_corners", o.align_corners);
  return call(upsample_bilinear2d_op, {x}, std::move(attrs))[0];
}

static const OpDef* const kNnConvOps[] = {&conv2d_op,
                                          &conv_transpose2d_op,
                                          &conv2d_backward_weight_op,
                                          &max_pool2d_with_indices_op,
                                          &max_pool2d_op,
                                          &max_pool2d_backward_op,
                                          &max_pool2d_double_backward_op,
                                          &avg_pool2d_op,
                                          &avg_pool2d_backward_op,
                                          &adaptive_avg_pool2d_op,
                                          &adaptive_avg_pool2d_backward_op,
                                          &upsample_nearest2d_op,
                                          &upsample_nearest2d_backward_op,
                                          &upsample_bilinear2d_op,
                                          &upsample_bilinear2d_backward_op};
std::span<const OpDef* const> nn_conv_ops() { return kNnConvOps; }

}  // namespace ember
