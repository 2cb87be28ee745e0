// Bad calls to convolution, pooling and interpolation raise the right
// ember::Error subclass with a message naming the op and the offending values.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ember/ember.h"
#include "support/expect_error.h"
#include "reference.h"

namespace ember {
namespace {

using ember::testing::expect_error;

Pool2dOptions pool(Int2 kernel, Int2 stride, Int2 padding = 0) {
  Pool2dOptions o;
  o.kernel_size = kernel;
  o.stride = stride;
  o.padding = padding;
  return o;
}

TEST(NnConvErrors, Conv2dChannelMismatch) {
  expect_error<ShapeError>(
      [] {
        conv2d(zeros({1, 3, 5, 5}), zeros({8, 4, 3, 3}));
      },
      "conv2d: input has 3 channels but weight expects 4 (weight [8, 4, 3, 3], groups 1)");
}

TEST(NnConvErrors, Conv2dGroupsMustDivideChannels) {
  expect_error<ShapeError>(
      [] {
        conv2d(zeros({1, 4, 5, 5}), zeros({3, 2, 3, 3}), {}, {.groups = 2});
      },
      "conv2d: groups 2 must divide the weight's 3 output channels");
  expect_error<ShapeError>(
      [] {
        conv_transpose2d(zeros({1, 3, 5, 5}), zeros({3, 2, 3, 3}), {}, {.groups = 2});
      },
      "conv_transpose2d: groups 2 must divide the input's 3 channels");
}

TEST(NnConvErrors, Conv2dKernelLargerThanPaddedInput) {
  expect_error<ShapeError>(
      [] {
        conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 5, 5}));
      },
      "conv2d: kernel size [5, 5] (dilated) is larger than the padded input size [4, 4]");
  expect_error<ShapeError>(
      [] {
        conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 3}), {}, {.dilation = 2});
      },
      "kernel size [5, 5] (dilated)");
}

TEST(NnConvErrors, Conv2dBadAttributes) {
  expect_error<ValueError>(
      [] {
        conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 3}), {}, {.stride = 0});
      },
      "conv2d: stride must be positive, got [0, 0]");
  expect_error<ValueError>(
      [] {
        conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 3}), {}, {.padding = {-1, 0}});
      },
      "conv2d: padding must be non-negative, got [-1, 0]");
  expect_error<ValueError>(
      [] {
        conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 3}), {}, {.groups = 0});
      },
      "conv2d: groups must be positive, got 0");
  expect_error<ValueError>(
      [] {
        conv_transpose2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 3}), {}, {.stride = 2, .output_padding = 2});
      },
      "conv_transpose2d: output_padding [2, 2] must be smaller than either stride [2, 2] or dilation [1, 1]");
}

TEST(NnConvErrors, Conv2dBadRankAndDtype) {
  expect_error<ShapeError>(
      [] {
        conv2d(zeros({5, 5}), zeros({1, 1, 3, 3}));
      },
      "conv2d: expected a 4-d input [N, C, H, W] (or 3-d unbatched), got [5, 5]");
  expect_error<ShapeError>(
      [] {
        conv2d(zeros({1, 1, 5, 5}), zeros({1, 3, 3}));
      },
      "conv2d: expected a 4-d weight [O, C / groups, kH, kW], got [1, 3, 3]");
  expect_error<DTypeError>(
      [] {
        conv2d(zeros({1, 1, 5, 5}, DType::i64), zeros({1, 1, 3, 3}, DType::i64));
      },
      "conv2d: input must be a floating tensor, got int64");
  expect_error<DTypeError>(
      [] {
        conv2d(zeros({1, 1, 5, 5}), zeros({1, 1, 3, 3}, DType::f64));
      },
      "conv2d: input (float32) and weight (float64) must have the same dtype");
  expect_error<ShapeError>(
      [] {
        conv2d(zeros({1, 1, 5, 5}), zeros({2, 1, 3, 3}), zeros({3}));
      },
      "conv2d: bias [3] must have shape [2]");
  expect_error<ShapeError>(
      [] {
        conv1d(zeros({1, 1, 5, 5}), zeros({1, 1, 3}));
      },
      "conv1d: expected a 3-d input [N, C, L] (or 2-d unbatched), got [1, 1, 5, 5]");
}

TEST(NnConvErrors, ConvTranspose2dChannelMismatch) {
  expect_error<ShapeError>(
      [] {
        conv_transpose2d(zeros({1, 3, 5, 5}), zeros({4, 2, 3, 3}));
      },
      "conv_transpose2d: input has 3 channels but weight expects 4 (weight [4, 2, 3, 3], groups 1)");
}

TEST(NnConvErrors, PoolOutputTooSmall) {
  expect_error<ShapeError>(
      [] {
        max_pool2d(zeros({1, 1, 5, 5}), 7);
      },
      "max_pool2d: output size [0, 0] is too small for input [1, 1, 5, 5]");
  expect_error<ShapeError>([] { avg_pool2d(zeros({1, 1, 2, 5}), 3); }, "avg_pool2d: output size [0, 1] is too small");
}

TEST(NnConvErrors, PoolBadAttributes) {
  expect_error<ValueError>(
      [] {
        max_pool2d(zeros({1, 1, 5, 5}), pool(2, 0));
      },
      "max_pool2d: stride must be positive, got [0, 0]");
  expect_error<ValueError>([] { max_pool2d(zeros({1, 1, 5, 5}), 0); }, "kernel_size must be positive, got [0, 0]");
  expect_error<ValueError>(
      [] {
        avg_pool2d(zeros({1, 1, 5, 5}), pool(2, 2, 2));
      },
      "avg_pool2d: padding [2, 2] must be non-negative and at most half of the effective kernel "
      "size [2, 2]");
  expect_error<ValueError>(
      [] {
        adaptive_avg_pool2d(zeros({1, 1, 5, 5}), {-1, 2});
      },
      "adaptive_avg_pool2d: output_size must be non-negative, got [-1, 2]");
}

TEST(NnConvErrors, PoolBadRankAndDtype) {
  expect_error<ShapeError>(
      [] {
        max_pool2d(zeros({5, 5}), 2);
      },
      "max_pool2d: expected a 4-d input [N, C, H, W] (or 3-d unbatched), got [5, 5]");
  expect_error<ShapeError>(
      [] {
        avg_pool2d(zeros({1, 1, 0, 5}), 2);
      },
      "avg_pool2d: expected non-empty channel and spatial dims, got input [1, 1, 0, 5]");
  expect_error<ShapeError>(
      [] {
        adaptive_avg_pool2d(zeros({2, 0, 4}), 2);
      },
      "adaptive_avg_pool2d: expected non-empty channel and spatial dims");
  expect_error<DTypeError>(
      [] {
        avg_pool2d(zeros({1, 1, 4, 4}, DType::i32), 2);
      },
      "avg_pool2d: input must be a floating tensor, got int32");
  expect_error<DTypeError>(
      [] {
        max_pool2d(zeros({1, 1, 4, 4}, DType::b8), 2);
      },
      "max_pool2d: bool input is not supported");
}

TEST(NnConvErrors, InterpolateSizeAndScaleFactor) {
  const Tensor x = zeros({1, 1, 4, 4});
  expect_error<ValueError>([&] { interpolate(x, {}); },
                           "interpolate: exactly one of size and scale_factor must be given, got neither");
  expect_error<ValueError>(
      [&] {
        interpolate(x, {.size = Int2(2), .scale_factor = std::pair{2.0, 2.0}});
      },
      "interpolate: exactly one of size and scale_factor must be given, got both");
  expect_error<ValueError>(
      [&] {
        interpolate(x, {.scale_factor = std::pair{0.0, 2.0}});
      },
      "interpolate: scale_factor must be positive");
  expect_error<ShapeError>(
      [&] {
        interpolate(x, {.scale_factor = std::pair{0.1, 0.1}});
      },
      "upsample_nearest2d: input and output sizes must be positive, got input [1, 1, 4, 4] and "
      "output size [0, 0]");
}

TEST(NnConvErrors, InterpolateModeAndRank) {
  expect_error<ShapeError>(
      [] {
        interpolate(zeros({1, 4, 4}), {.size = Int2(8), .mode = "bilinear"});
      },
      "upsample_bilinear2d: expected a 4-d input [N, C, H, W], got [1, 4, 4]");
  expect_error<ValueError>(
      [] {
        interpolate(zeros({1, 1, 4, 4}), {.size = Int2(8), .mode = "bicubic"});
      },
      "interpolate: mode must be \"nearest\" or \"bilinear\", got \"bicubic\"");
  expect_error<ValueError>(
      [] {
        interpolate(zeros({1, 1, 4, 4}), {.size = Int2(8), .align_corners = true});
      },
      "interpolate: align_corners can only be set with mode \"bilinear\"");
  expect_error<DTypeError>(
      [] {
        interpolate(zeros({1, 1, 4, 4}, DType::i64), {.size = Int2(8)});
      },
      "upsample_nearest2d: input of dtype int64 is not supported");
}

// A bad call leaves its arguments untouched and autograd state clean: nothing is recorded.
TEST(NnConvErrors, FailedCallRecordsNothing) {
  Tensor w = zeros({8, 4, 3, 3}).requires_grad_();
  EXPECT_THROW(conv2d(zeros({1, 3, 5, 5}), w), ShapeError);
  EXPECT_FALSE(w.grad().defined());
}

// oneDNN (float32) and the direct loops (float64) agree on a configuration with
// blocked channels, strides and groups; and the primitive cache returns the
// same result on a repeated call.
TEST(NnConv, OneDnnMatchesDirectLoops) {
  const Tensor x = randn({2, 32, 9, 9}), w = randn({48, 16, 3, 3}), b = randn({48});
  const Conv2dOptions o{.stride = 2, .padding = 1, .groups = 2};
  const Tensor y32 = conv2d(x, w, b, o);
  const Tensor y64 = conv2d(x.to(DType::f64), w.to(DType::f64), b.to(DType::f64), o);
  EXPECT_EQ(testing::compare(y32.to(DType::f64), y64, {1e-4, 1e-4}), "");
  EXPECT_EQ(testing::compare(conv2d(x, w, b, o), y32, {0, 0}), "");
  const Tensor t32 = conv_transpose2d(y32, w, {}, {.stride = 2, .padding = 1, .output_padding = 1, .groups = 2});
  const Tensor t64 =
      conv_transpose2d(y64, w.to(DType::f64), {}, {.stride = 2, .padding = 1, .output_padding = 1, .groups = 2});
  EXPECT_EQ(t32.sizes(), (Shape{2, 32, 10, 10}));
  EXPECT_EQ(testing::compare(t32.to(DType::f64), t64, {1e-4, 1e-3}), "");
}

// 2x2 stride-2 unpadded max pooling has its own kernel; ceil_mode on odd sizes
// sends the same windows (plus a ragged last row and column) through the
// general loop. Ties (first maximum wins) and NaN (last NaN wins) must agree.
TEST(NnConv, MaxPool2x2FastPathMatchesGeneralLoop) {
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor r = rand({3, 5, 11, 13});
    const Tensor x = where(r < 0.1, std::nan(""), floor(randn({3, 5, 11, 13}) * 2)).to(dt);
    Pool2dOptions ceil = pool(2, 2);
    ceil.ceil_mode = true;
    const auto fast = max_pool2d_with_indices(x, pool(2, 2));
    const auto general = max_pool2d_with_indices(x, ceil);
    ASSERT_EQ(fast.values.sizes(), (Shape{3, 5, 5, 6}));
    auto crop = [](const Tensor& t) { return narrow(narrow(t, 2, 0, 5), 3, 0, 6); };
    EXPECT_EQ(testing::compare(fast.values, crop(general.values), {0, 0}), "");
    EXPECT_EQ(testing::compare(fast.indices.to(DType::f64), crop(general.indices).to(DType::f64), {0, 0}), "");
  }
}

// max_pool2d_backward's scatter-add written out, in output order and in T:
// grad_input[plane, index] += grad.
template <class T>
Tensor scatter_reference(const Tensor& grad, const Tensor& indices, const Shape& input_size) {
  const Tensor g = grad.contiguous(), id = indices.contiguous();
  Tensor out = zeros(input_size, grad.dtype());
  const int64_t planes = g.size(0) * g.size(1), plane_out = g.size(2) * g.size(3);
  const int64_t plane_in = input_size[2] * input_size[3];
  for (int64_t k = 0; k < planes * plane_out; ++k)
    out.data_ptr<T>()[(k / plane_out) * plane_in + id.data_ptr<int64_t>()[k]] += g.data_ptr<T>()[k];
  return out;
}

// The backward scatter-adds into zeros, for the 2x2 fast path's indices
// (ties and NaN) and for a 3x3 stride-2 pooling of the same shapes whose
// windows overlap; a -0.0 gradient comes out as adding it into zeros gives
// it (+0.0).
TEST(NnConv, MaxPoolBackwardOnTiledInputsMatchesScatter) {
  for (DType dt : {DType::f32, DType::f64})
    for (const Pool2dOptions& o : {pool(2, 2), pool(3, 2, 1)}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + (o.kernel_size.h == 2 ? " 2x2" : " 3x3"));
      const Tensor r = rand({3, 5, 12, 14});
      const Tensor x = where(r < 0.1, std::nan(""), floor(randn({3, 5, 12, 14}) * 2)).to(dt).requires_grad_();
      const auto [y, indices] = max_pool2d_with_indices(x, o);
      ASSERT_EQ(y.sizes(), (Shape{3, 5, 6, 7}));
      const Tensor g = where(rand(y.sizes()) < 0.2, -0.0, randn(y.sizes())).to(dt);
      y.backward(g);
      const Tensor want = dt == DType::f32 ? scatter_reference<float>(g, indices, x.sizes())
                                           : scatter_reference<double>(g, indices, x.sizes());
      EXPECT_EQ(testing::compare(x.grad(), want, {0, 0}), "");
      // Signs of zero too.
      const Tensor got64 = x.grad().to(DType::f64).contiguous(), want64 = want.to(DType::f64).contiguous();
      int64_t sign_mismatches = 0;
      for (int64_t i = 0; i < got64.numel(); ++i)
        sign_mismatches += std::signbit(got64.data_ptr<double>()[i]) != std::signbit(want64.data_ptr<double>()[i]);
      EXPECT_EQ(sign_mismatches, 0);
    }
}

// The weight-gradient pass also yields the bias gradient (oneDNN sums it over
// grad_output in the same pass; float64 in the direct loop), equal to the sum
// over batch and space; and that two-output op is differentiable again.
TEST(NnConv, BiasGradientComesFromTheWeightPass) {
  const Tensor g = randn({2, 6, 5, 5});
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = randn({2, 4, 5, 5}).to(dt), w = randn({6, 4, 3, 3}).to(dt).requires_grad_(),
           b = randn({6}).to(dt).requires_grad_();
    conv2d(x, w, b, {.padding = 1}).backward(g.to(dt));
    EXPECT_EQ(testing::compare(b.grad().to(DType::f64), sum(g.to(DType::f64), {0, 2, 3}), {1e-5, 1e-5}), "");
  }
  const Tensor x = randn({2, 3, 5, 4}, DType::f64), w = randn({4, 3, 3, 2}, DType::f64).requires_grad_(),
               b = randn({4}, DType::f64).requires_grad_();
  auto fn = [&x](const TensorList& in) { return TensorList{conv2d(x, in[0], in[1], {.stride = {2, 1}, .padding = 1})}; };
  EXPECT_EQ(autograd::gradcheck(fn, {w, b}), "");
  EXPECT_EQ(autograd::gradgradcheck(fn, {w, b}), "");
}

// float32 avg_pool2d (forward and backward) runs on oneDNN where it can; the
// float64 loops are the reference, ceil_mode included (it falls back).
TEST(NnConv, AvgPoolOneDnnMatchesLoops) {
  const Tensor x = randn({2, 3, 8, 8});
  for (bool include : {true, false})
    for (bool ceil : {false, true}) {
      Pool2dOptions o = pool({3, 2}, 2, 1);
      o.count_include_pad = include;
      o.ceil_mode = ceil;
      Tensor x32 = x.detach().requires_grad_(), x64 = x.to(DType::f64).requires_grad_();
      const Tensor y32 = avg_pool2d(x32, o), y64 = avg_pool2d(x64, o);
      EXPECT_EQ(testing::compare(y32.to(DType::f64), y64, {1e-5, 1e-5}), "") << include << ceil;
      const Tensor g = randn(y32.sizes());
      y32.backward(g);
      y64.backward(g.to(DType::f64));
      EXPECT_EQ(testing::compare(x32.grad().to(DType::f64), x64.grad(), {1e-5, 1e-5}), "") << include << ceil;
    }
}

}  // namespace
}  // namespace ember
