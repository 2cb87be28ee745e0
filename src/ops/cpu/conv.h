#pragma once
// 2-d convolution kernels: oneDNN for float32 and bfloat16 (bf16 products,
// float32 accumulation; f16, and bf16 on CPUs without AVX-512, computed in float32),
// direct loops for float64 and for shapes oneDNN does not take. Every pass is
// described by the geometry of one forward convolution
//   dst[n, o, oh, ow] = sum_{c, i, j} src[n, g*C/G + c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] * w[o, c, i, j]
// (g = o / (O/G)): conv_transpose2d is that convolution's backward-data pass.
#include "ember/core/tensor.h"

namespace ember::detail {

struct ConvGeometry {
  int64_t batch, in_channels, in_h, in_w;    // src [N, C, H, W]
  int64_t out_channels, kernel_h, kernel_w;  // weight [O, C / groups, kh, kw]
  int64_t out_h, out_w;                      // dst [N, O, OH, OW]
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
};

// dst = conv(src, weight) + bias (bias may be undefined). All tensors share one floating dtype.
void conv2d_forward(const ConvGeometry& g, const Tensor& src, const Tensor& weight, const Tensor& bias, Tensor& dst);

// An activation applied to a convolution's output inside its oneDNN primitive
// (an eltwise post-op), while the output is still in cache: graph mode's
// fused_conv2d (src/ops/fused.cpp).
// In the order of kActivationNames (src/ops/fused.h), which names them.
enum class Activation : uint8_t { none, relu, gelu, gelu_tanh, silu, sigmoid, tanh };
// dst = activation(conv(src, weight) + bias) in one oneDNN primitive. Returns
// false, computing nothing, where oneDNN does not take the call (float64,
// geometries it declines): the caller then runs conv2d_forward and the
// activation's own kernel.
bool conv2d_forward_fused(const ConvGeometry& g, const Tensor& src, const Tensor& weight, const Tensor& bias,
                          Tensor& dst, Activation activation);
// grad_src = conv(., weight)^T applied to grad_dst, plus bias (may be undefined) per
// channel: conv_transpose2d's forward.
void conv2d_backward_data(const ConvGeometry& g, const Tensor& grad_dst, const Tensor& weight, const Tensor& bias,
                          Tensor& grad_src);
// grad_weight = d <grad_dst, conv(src, w)> / dw; and, when grad_bias is given,
// the bias gradient grad_bias[o] = sum of grad_dst[:, o] from the same pass.
void conv2d_backward_weight(const ConvGeometry& g, const Tensor& src, const Tensor& grad_dst, Tensor& grad_weight,
                            Tensor* grad_bias = nullptr);

// avg_pool2d on float32 [N, C, H, W] -> [N, C, OH, OW] through oneDNN: window
// [o*s - p, o*s - p + k) clipped to the input, divided by k (count_include_pad)
// or by the clipped size. Returns false, computing nothing, for other dtypes and
// for calls oneDNN cannot express (ceil_mode's extra windows, empty tensors).
struct PoolGeometry {
  int64_t batch, channels, in_h, in_w, out_h, out_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  bool count_include_pad;
};
bool avg_pool2d_forward(const PoolGeometry& g, const Tensor& src, Tensor& dst);
// grad_src = the adjoint of avg_pool2d_forward applied to grad_dst.
bool avg_pool2d_backward(const PoolGeometry& g, const Tensor& grad_dst, Tensor& grad_src);

// Contiguous data of t in dtype dt: t itself when it already is (or is undefined), else a copy.
Tensor dense(const Tensor& t, DType dt);

}  // namespace ember::detail
