// Graph mode's fused ops (src/ops/fused.cpp) against the unfused ops they
// replace, on random inputs. fused_linear and fused_elementwise run the
// unfused ops' own kernels, so they must match bit for bit; fused_conv2d's
// float32 activation is oneDNN's post-op, which rounds differently from
// Ember's activation kernels (float64 runs the same kernels: exact).
#include <gtest/gtest.h>

#include <cstring>

#include "ember/ember.h"
#include "ops/fused.h"
#include "support/expect_error.h"

namespace ember {
namespace {

using testing::expect_error;

Tensor fused_linear(const Tensor& x, const Tensor& w, const Tensor& b, const std::string& activation) {
  TensorList in{x, w};
  if (b.defined()) in.push_back(b);
  return call(fused_linear_op, in, {{"activation", activation}})[0];
}

Attrs conv_attrs(int64_t stride, int64_t padding, int64_t groups) {
  return {{"stride", Shape{stride, stride}}, {"padding", Shape{padding, padding}}, {"dilation", Shape{1, 1}},
          {"groups", groups}};
}

// The unfused activation, as eager code writes it.
Tensor activate(const Tensor& y, const std::string& activation) {
  if (activation == "relu") return relu(y);
  if (activation == "gelu") return gelu(y, "none");
  if (activation == "gelu_tanh") return gelu(y, "tanh");
  if (activation == "silu") return silu(y);
  if (activation == "sigmoid") return sigmoid(y);
  if (activation == "tanh") return tanh(y);
  return y;
}

void expect_identical(const Tensor& expected, const Tensor& got) {
  ASSERT_EQ(expected.dtype(), got.dtype());
  ASSERT_EQ(shape_str(expected.sizes()), shape_str(got.sizes()));
  const Tensor a = expected.contiguous(), b = got.contiguous();
  EXPECT_EQ(std::memcmp(a.raw_data(), b.raw_data(), size_t(a.numel()) * a.itemsize()), 0)
      << "max |difference| " << amax(abs(sub(a.to(DType::f64), b.to(DType::f64)))).item<double>();
}

void expect_close(const Tensor& expected, const Tensor& got, double tol) {
  ASSERT_EQ(shape_str(expected.sizes()), shape_str(got.sizes()));
  const Tensor e = expected.to(DType::f64), g = got.to(DType::f64);
  const double err = amax(sub(abs(sub(e, g)), mul(abs(e), tol))).item<double>();
  EXPECT_LE(err, tol) << "|got - expected| exceeds " << tol << " (1 + |expected|)";
}

const std::vector<std::string> kActivations(detail::kActivationNames.begin(), detail::kActivationNames.end());

TEST(FusedLinear, MatchesActivationOfLinear) {
  manual_seed(1);
  struct Case {
    Shape x, w;
    bool bias;
  };
  // The fashion MLP's layers at batch 1 and 64, sizes that fill no vector or
  // GEMM block, a 3-d input and a scalar bias.
  const Case cases[] = {{{1, 784}, {256, 784}, true}, {{64, 784}, {256, 784}, true}, {{64, 256}, {10, 256}, false},
                        {{5, 33}, {17, 33}, true},    {{2, 3, 7}, {5, 7}, true},       {{3, 4}, {6, 4}, false}};
  for (DType dt : {DType::f32, DType::f64, DType::bf16})
    for (const Case& c : cases)
      for (const std::string& a : kActivations) {
        SCOPED_TRACE(shape_str(c.x) + " " + a + " " + std::string(dtype_name(dt)));
        const Tensor x = randn(c.x, dt), w = randn(c.w, dt), b = c.bias ? randn({c.w[0]}, dt) : Tensor();
        expect_identical(activate(linear(x, w, b), a), fused_linear(x, w, b, a));
      }
}

TEST(FusedLinear, AbsentBiasAsUndefinedInput) {
  const Tensor x = randn({4, 3}), w = randn({2, 3});
  const Tensor got = call(fused_linear_op, {x, w, Tensor()}, {{"activation", std::string("relu")}})[0];
  expect_identical(relu(linear(x, w)), got);
}

TEST(FusedConv2d, MatchesActivationOfConv2d) {
  manual_seed(2);
  struct Case {
    Shape x, w;
    int64_t stride, padding, groups;
    bool bias;
  };
  // The fashion CNN's two convolutions (batch 1 and 64), odd sizes with
  // stride, groups and no bias.
  const Case cases[] = {{{1, 1, 28, 28}, {32, 1, 3, 3}, 1, 1, 1, true},
                        {{64, 32, 14, 14}, {64, 32, 3, 3}, 1, 1, 1, true},
                        {{3, 4, 9, 7}, {6, 2, 3, 3}, 2, 1, 2, false},
                        {{2, 3, 5, 5}, {5, 3, 1, 1}, 1, 0, 1, true}};
  for (DType dt : {DType::f32, DType::f64})
    for (const Case& c : cases)
      for (const std::string& a : kActivations) {
        if (dt == DType::f64 && c.x[0] == 64) continue;  // the direct float64 loops are slow at this size
        SCOPED_TRACE(shape_str(c.x) + " " + a + " " + std::string(dtype_name(dt)));
        const Tensor x = randn(c.x, dt), w = randn(c.w, dt), b = c.bias ? randn({c.w[0]}, dt) : Tensor();
        Attrs attrs = conv_attrs(c.stride, c.padding, c.groups);
        const Tensor expected = activate(conv2d(x, w, b, {.stride = c.stride, .padding = c.padding, .groups = c.groups}), a);
        attrs.set("activation", a);
        const Tensor got = call(fused_conv2d_op, {x, w, b}, attrs)[0];
        // float32: oneDNN's eltwise post-op against Ember's activation kernels,
        // on values up to |y| ~ 30 (sums of 288 products of unit normals).
        if (dt == DType::f64 || a == "none") expect_identical(expected, got);
        else expect_close(expected, got, 1e-5);
      }
}

TEST(FusedConv2d, Bfloat16RoundsOnce) {
  manual_seed(6);
  const Tensor x = randn({2, 4, 9, 9}, DType::bf16), w = randn({8, 4, 3, 3}, DType::bf16), b = randn({8}, DType::bf16);
  Attrs attrs = conv_attrs(1, 1, 1);
  attrs.set("activation", std::string("silu"));
  // Unfused, the convolution's result is rounded to bf16 before silu; fused,
  // silu sees the float32 sum: one bf16 rounding (2^-8 relative) apart.
  expect_close(silu(conv2d(x, w, b, {.padding = 1})), call(fused_conv2d_op, {x, w, b}, attrs)[0], 1.0 / 128);
}

TEST(FusedActivation, Errors) {
  const Tensor x = randn({2, 3}), w = randn({4, 3});
  expect_error<ValueError>([&] { fused_linear(x, w, Tensor(), "swish"); },
                           {"fused_linear", "unknown activation \"swish\""});
  expect_error<ValueError>([&] { call(fused_linear_op, {x, w}, {}); }, {"fused_linear", "missing attribute 'activation'"});
  expect_error<ValueError>([&] { call(fused_linear_op, {x, w}, {{"activation", int64_t(1)}}); },
                           {"fused_linear", "'activation' must be a string"});
  const Tensor xi = ones({2, 3}, DType::i64), wi = ones({4, 3}, DType::i64);
  expect_error<DTypeError>([&] { fused_linear(xi, wi, Tensor(), "relu"); },
                           {"fused_linear", "activation relu needs a floating point result"});
  expect_error<ShapeError>([&] { fused_linear(x, randn({4, 5}), Tensor(), "relu"); }, {"linear", "in_features"});
  Attrs attrs = conv_attrs(1, 0, 1);
  attrs.set("activation", std::string("tanh"));
  expect_error<ShapeError>([&] { call(fused_conv2d_op, {randn({1, 2, 5, 5}), randn({3, 4, 3, 3}), Tensor()}, attrs); },
                           {"conv2d", "channels"});
  expect_error<ValueError>([&] { call(fused_conv2d_op, {randn({1, 2, 5, 5}), randn({3, 2, 3, 3})}, attrs); },
                           {"fused_conv2d", "got 2 inputs"});
}

// ---- fused_conv2d_max_pool2d ----

Attrs conv_pool_attrs(const std::string& activation, int64_t kernel, int64_t stride, int64_t padding, bool ceil) {
  Attrs attrs = conv_attrs(1, 1, 1);
  attrs.set("activation", activation);
  attrs.set("pool_kernel_size", Shape{kernel, kernel});
  attrs.set("pool_stride", Shape{stride, stride});
  attrs.set("pool_padding", Shape{padding, padding});
  attrs.set("pool_dilation", Shape{1, 1});
  attrs.set("pool_ceil_mode", ceil);
  return attrs;
}

// Chunk by chunk (Note [Convolution and pooling by batch chunks]) the result
// is fused_conv2d's and then max_pool2d's over the whole batch, bit for bit:
// one image and batches cut into several chunks with a partial last one (a
// 16x40x40 float32 output is 100 KiB per image, 10 images per chunk).
TEST(FusedConv2dMaxPool2d, MatchesFusedConv2dThenMaxPool2d) {
  manual_seed(8);
  const Tensor w = randn({16, 3, 3, 3}), b = randn({16});
  for (const int64_t batch : {1, 10, 37})
    for (const std::string activation : {"relu", "none"})
      for (const bool ceil : {false, true}) {
        SCOPED_TRACE("batch " + std::to_string(batch) + " " + activation + (ceil ? " ceil" : ""));
        const Tensor x = randn({batch, 3, 40, 40});
        const Attrs attrs = conv_pool_attrs(activation, 3, 2, 1, ceil);
        Attrs conv = conv_attrs(1, 1, 1);
        conv.set("activation", activation);
        const Tensor expected = max_pool2d(call(fused_conv2d_op, {x, w, b}, conv)[0],
                                           {.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = ceil});
        expect_identical(expected, call(fused_conv2d_max_pool2d_op, {x, w, b}, attrs)[0]);
      }
  // A non-contiguous input, no bias.
  const Tensor xt = randn({6, 40, 40, 3}).permute({0, 3, 1, 2});
  const Attrs attrs = conv_pool_attrs("relu", 2, 2, 0, false);
  Attrs conv = conv_attrs(1, 1, 1);
  conv.set("activation", std::string("relu"));
  expect_identical(max_pool2d(call(fused_conv2d_op, {xt, w, Tensor()}, conv)[0], Int2(2)),
                            call(fused_conv2d_max_pool2d_op, {xt, w, Tensor()}, attrs)[0]);
}

TEST(FusedConv2dMaxPool2d, Errors) {
  const Tensor x = randn({1, 3, 8, 8}), w = randn({4, 3, 3, 3});
  Attrs attrs = conv_pool_attrs("relu", 2, 2, 0, false);
  Attrs missing = conv_attrs(1, 1, 1);
  for (const auto& [name, value] : attrs.items())
    if (name != "pool_stride") missing.set(name, value);
  expect_error<ValueError>([&] { call(fused_conv2d_max_pool2d_op, {x, w, Tensor()}, missing); },
                           {"fused_conv2d_max_pool2d", "missing attribute 'pool_stride'"});
  Attrs too_big = conv_pool_attrs("relu", 9, 1, 0, false);  // a 9x9 window over the 8x8 output
  expect_error<ShapeError>([&] { call(fused_conv2d_max_pool2d_op, {x, w, Tensor()}, too_big); }, {"max_pool2d"});
  expect_error<ShapeError>([&] { call(fused_conv2d_max_pool2d_op, {randn({1, 2, 8, 8}), w, Tensor()}, attrs); },
                           {"conv2d", "channels"});
}

// ---- fused_elementwise ----

Tensor fused(const std::string& program, const TensorList& in, Attrs attrs = {}) {
  attrs.set("program", program);
  return call(fused_elementwise_op, in, attrs)[0];
}

// A number as eager code passes it (x * 0.5): a 0-d wrapped tensor.
Tensor wrapped(double v) {
  Tensor t = scalar_tensor(v, DType::f64);
  t.impl().is_wrapped_number = true;
  return t;
}

TEST(FusedElementwise, ChainMatchesUnfusedOps) {
  manual_seed(3);
  // One block, several blocks with a partial last one (the block is 65536
  // elements), a dimension split across blocks, 0-d and 1-element shapes.
  const Shape shapes[] = {{7}, {3, 50000}, {300001}, {2, 3, 70001}, {5, 1, 1, 30000}, {}, {1}};
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& s : shapes) {
      SCOPED_TRACE(shape_str(s) + " " + std::string(dtype_name(dt)));
      const Tensor x = randn(s, dt), y = randn(s, dt), z = randn(s, dt);
      expect_identical(relu(add(mul(x, y), z)), fused("t0 = mul(x0, x1); t1 = add(t0, x2); t2 = relu(t1)",
                                                      {x, y, z}, {{"t1.alpha", Scalar(1)}}));
      // A DAG: x is read by two steps, a number and add's alpha.
      expect_identical(sub(mul(tanh(x), wrapped(0.5)), x, 2),
                       fused("t0 = tanh(x0);t1=mul(t0, x1) ; t2 = sub(t1, x0)", {x, wrapped(0.5)},
                             {{"t2.alpha", Scalar(2)}}));
    }
}

TEST(FusedElementwise, ReducedPrecisionWithNumbers) {
  manual_seed(7);
  // bf16 * a number is computed in float32 (the number is not rounded to
  // bf16 first): the 0-d number must reach the step's kernel as a 0-d tensor.
  const Tensor x = randn({3, 5000}, DType::bf16), y = randn({5000}, DType::bf16);
  expect_identical(add(mul(x, wrapped(0.1)), y), fused("t0 = mul(x0, x1); t1 = add(t0, x2)", {x, wrapped(0.1), y},
                                                       {{"t1.alpha", Scalar(1)}}));
}

TEST(FusedElementwise, BroadcastOperands) {
  manual_seed(4);
  for (DType dt : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(dt));
    // A bias per channel, a row, a column and a single element against [N, C, H, W].
    const Tensor x = randn({5, 17, 41, 23}, dt), c = randn({17, 1, 1}, dt), row = randn({23}, dt),
                 col = randn({5, 1, 41, 1}, dt), one = randn({1}, dt);
    expect_identical(gelu(add(mul(add(x, c), row), col), "tanh"),
                     fused("t0 = add(x0, x1); t1 = mul(t0, x2); t2 = add(t1, x3); t3 = gelu(t2)", {x, c, row, col},
                           {{"t0.alpha", Scalar(1)}, {"t2.alpha", Scalar(1)}, {"t3.approximate", std::string("tanh")}}));
    // Steps on the small operands alone, broadcast later: (c * one) + x.
    expect_identical(add(mul(c, one), x), fused("t0 = mul(x0, x1); t1 = add(t0, x2)", {c, one, x},
                                                {{"t1.alpha", Scalar(1)}}));
    // A non-contiguous input.
    const Tensor xt = x.transpose(1, 3);
    expect_identical(sigmoid(mul(xt, xt)), fused("t0 = mul(x0, x0); t1 = sigmoid(t0)", {xt}));
  }
}

TEST(FusedElementwise, ComparisonsWhereAndCasts) {
  manual_seed(5);
  const Tensor x = randn({4, 9000}), y = randn({9000});
  const Tensor expected = where(gt(x, y), to_dtype(exp(x), DType::f64), to_dtype(y, DType::f64));
  const Tensor got = fused("t0 = gt(x0, x1); t1 = exp(x0); t2 = to(t1); t3 = to(x1); t4 = where(t0, t2, t3)", {x, y},
                           {{"t2.dtype", DType::f64}, {"t3.dtype", DType::f64}});
  expect_identical(expected, got);
  // Integers promote like the unfused ops: int64 * float number -> float32, then a comparison.
  const Tensor n = arange(0, 20000, 1, DType::i64);
  expect_identical(logical_and(lt(mul(n, wrapped(0.5)), wrapped(5000.0)), isnan(y.slice(0, 0, 1))),
                   fused("t0 = mul(x0, x1); t1 = lt(t0, x2); t2 = isnan(x3); t3 = logical_and(t1, t2)",
                         {n, wrapped(0.5), wrapped(5000.0), y.slice(0, 0, 1)}));
}

TEST(FusedElementwise, BadProgramsAreValueErrors) {
  const Tensor x = randn({2, 3}), y = randn({2, 3});
  const TensorList two{x, y};
  auto bad = [&](const std::string& program, std::initializer_list<std::string_view> fragments,
                 const TensorList& in, Attrs attrs = {}) {
    SCOPED_TRACE(program);
    expect_error<ValueError>([&] { fused(program, in, attrs); }, fragments);
  };
  bad("", {"fused_elementwise: program \"\"", "expected an input x<k> or a step t<k>"}, two);
  bad("t0 = mul(x0, x1);", {"expected an input x<k> or a step t<k>"}, two);
  bad("t1 = relu(x0)", {"step 0 must be named t0"}, {x});
  bad("t0 = frobnicate(x0)", {"unknown op 'frobnicate'"}, {x});
  bad("t0 = matmul(x0, x1)", {"'matmul' is not an elementwise op"}, two);
  bad("t0 = relu(x0, x1)", {"relu takes 1 argument(s), got 2"}, two);
  bad("t0 = relu(t0)", {"uses t0, which is not an earlier step"}, {x});
  bad("t0 = relu(x0) t1 = relu(t0)", {"expected ';' or the end of the program"}, {x});
  bad("t0 = relu(x0", {"expected ')'"}, {x});
  bad("t0 = relu(x99999999999999999999)", {"expected a number after 'x'"}, {x});
  bad("t0 = relu(x1)", {"input x0 is not used"}, two);
  bad("t0 = relu(x0); t1 = relu(x1); t2 = add(t1, x0)", {"step t0 is not used"}, two, {{"t2.alpha", Scalar(1)}});
  bad("t0 = relu(x0)", {"the program uses 1 inputs, got 2"}, two);
  bad("t0 = add(x0, x1)", {"step t0 (add)", "missing attribute 'alpha'"}, two);
  bad("t0 = add(x0, x1)", {"step t0 (add)", "an attribute has the wrong type"}, two, {{"t0.alpha", 1.5}});
  bad("t0 = relu(x0)", {"attribute 't1.alpha' is neither 'program' nor 't<k>.<name>'"}, {x},
      {{"t1.alpha", Scalar(1)}});
  bad("t0 = relu(x0)", {"attribute 'alpha' is neither"}, {x}, {{"alpha", Scalar(1)}});
  expect_error<ValueError>([&] { call(fused_elementwise_op, {x}, {}); }, "missing attribute 'program'");
  expect_error<ValueError>([&] { call(fused_elementwise_op, {x}, {{"program", int64_t(3)}}); },
                           "'program' must be a string");
  // The steps' own shape rules apply.
  expect_error<ShapeError>([&] { fused("t0 = mul(x0, x1)", {x, randn({4})}); }, "mul");
  expect_error<DTypeError>([&] { fused("t0 = where(x0, x0, x1)", two); }, "where");
}

}  // namespace
}  // namespace ember
