// Reference cases for src/ops/fused.cpp; goldens: scripts/goldens/fused.py
// (the unfused PyTorch compositions). The fused ops have no gradients.
#include "ops/fused.h"
#include "reference.h"

namespace ember::testing {
namespace {

TensorList one(const Tensor& t) { return {t}; }
const CaseOptions kNoGrad{.gradcheck = false};

auto linear_with(const char* activation) {
  return [activation](const TensorList& in) {
    return one(call(fused_linear_op, in, {{"activation", std::string(activation)}})[0]);
  };
}
auto conv_with(const char* activation, int64_t stride, int64_t padding) {
  return [=](const TensorList& in) {
    const Attrs attrs{{"stride", Shape{stride, stride}}, {"padding", Shape{padding, padding}},
                      {"dilation", Shape{1, 1}}, {"groups", int64_t(1)}, {"activation", std::string(activation)}};
    return one(call(fused_conv2d_op, in, attrs)[0]);
  };
}
auto conv_pool(const char* activation, Shape kernel, Shape stride, Shape padding, bool ceil_mode) {
  return [=](const TensorList& in) {
    const Attrs attrs{{"stride", Shape{1, 1}},           {"padding", Shape{1, 1}},
                      {"dilation", Shape{1, 1}},         {"groups", int64_t(1)},
                      {"activation", std::string(activation)}, {"pool_kernel_size", kernel},
                      {"pool_stride", stride},           {"pool_padding", padding},
                      {"pool_dilation", Shape{1, 1}},    {"pool_ceil_mode", ceil_mode}};
    TensorList args = in;
    args.resize(3);  // an absent bias
    return one(call(fused_conv2d_max_pool2d_op, args, attrs)[0]);
  };
}
auto program(const char* text, Attrs attrs = {}) {
  attrs.set("program", std::string(text));
  return [attrs](const TensorList& in) { return one(call(fused_elementwise_op, in, attrs)[0]); };
}

const RegisterCases fused_cases("fused", {
    {"fused_linear/relu", linear_with("relu"), kNoGrad},
    {"fused_linear/gelu_no_bias_f64", linear_with("gelu"), kNoGrad},
    {"fused_conv2d/silu", conv_with("silu", 1, 1), kNoGrad},
    {"fused_conv2d/tanh_stride_f64", conv_with("tanh", 2, 0), kNoGrad},
    {"fused_conv2d_max_pool2d/relu_2x2", conv_pool("relu", {2, 2}, {2, 2}, {0, 0}, false), kNoGrad},
    {"fused_conv2d_max_pool2d/no_bias_3x3_ceil_f64", conv_pool("none", {3, 3}, {2, 2}, {1, 1}, true), kNoGrad},
    {"fused_elementwise/mul_add_relu",
     program("t0 = mul(x0, x1); t1 = add(t0, x2); t2 = relu(t1)", {{"t1.alpha", Scalar(1)}}), kNoGrad},
    {"fused_elementwise/where_sigmoid_f64", program("t0 = gt(x0, x1); t1 = sigmoid(x0); t2 = where(t0, t1, x1)"),
     kNoGrad},
});

}  // namespace
}  // namespace ember::testing
