#pragma once
// Models shared by the nn tests: the README's Fashion-MNIST CNN (with
// PyTorch's parameter names) and the residual block of layers.h's example.
#include "ember/ember.h"

namespace ember::nn_test {

struct Net : ember::nn::Module {
  ember::nn::Conv2d c1{1, 32, 3, {.padding = 1}}, c2{32, 64, 3, {.padding = 1}};
  ember::nn::Linear f1{64 * 7 * 7, 128}, f2{128, 10};
  EMBER_MODULE(c1, c2, f1, f2)
  ember::Tensor forward(ember::Tensor x) {
    x = ember::max_pool2d(ember::relu(c1(x)), 2);
    x = ember::max_pool2d(ember::relu(c2(x)), 2);
    return f2(ember::relu(f1(x.flatten(1))));
  }
};

// The residual block of layers.h's example.
struct Residual : ember::nn::Module {
  ember::nn::Conv2d conv1, conv2;
  ember::nn::BatchNorm2d bn1, bn2;
  explicit Residual(int64_t c)
      : conv1(c, c, 3, {.padding = 1, .bias = false}), conv2(c, c, 3, {.padding = 1, .bias = false}), bn1(c), bn2(c) {}
  EMBER_MODULE(conv1, bn1, conv2, bn2)
  ember::Tensor forward(const ember::Tensor& x) {
    ember::Tensor y = ember::relu(bn1(conv1(x)));
    return ember::relu(x + bn2(conv2(y)));
  }
};

}  // namespace ember::nn_test
