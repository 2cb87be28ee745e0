// Models built in PyTorch by scripts/gen_nn_goldens.py, rebuilt here with
// nn modules: the golden state_dict loads strictly (so the names and their
// order match PyTorch's), the printout matches PyTorch's repr, and outputs,
// losses, parameter gradients and batch-norm running statistics agree.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>

#include "ember/ember.h"
#include "nn/models.h"

namespace nn = ember::nn;
using ember::Tensor;
using ember::nn_test::Net;
using ember::nn_test::Residual;

namespace {

const ember::io::SafetensorsContents& golden() {
  static const auto contents = [] {
    const char* root = std::getenv("EMBER_SOURCE_DIR");
    return ember::io::load_safetensors_file(std::string(root ? root : EMBER_SOURCE_DIR_DEFAULT) +
                                            "/tests/golden/nn_modules.safetensors");
  }();
  return contents;
}

const Tensor& g(const std::string& key) {
  auto it = golden().tensors.find(key);
  if (it == golden().tensors.end()) throw std::runtime_error("golden has no tensor " + key);
  return it->second;
}

// torch.testing.assert_close's float32 tolerances.
void expect_close(const Tensor& actual, const Tensor& expected, const std::string& what, double rtol = 1.3e-6,
                  double atol = 1e-5) {
  ASSERT_TRUE(actual.defined()) << what << " is undefined";
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const auto a = actual.to_vector<double>(), e = expected.to_vector<double>();
  int bad = 0;
  for (size_t i = 0; i < a.size() && bad < 5; ++i)
    if (!(std::abs(a[i] - e[i]) <= atol + rtol * std::abs(e[i]))) {
      ADD_FAILURE() << what << "[" << i << "]: " << a[i] << " vs PyTorch " << e[i];
      ++bad;
    }
}

// Loads "<name>/state/*" and checks the names, their order and the printout.
void load_golden(nn::Module& model, const std::string& name) {
  const std::string prefix = name + "/state/";
  nn::StateDict state;
  for (const auto& [key, value] : golden().tensors)
    if (key.starts_with(prefix)) state.insert(key.substr(prefix.size()), value);
  model.load_state_dict(state);  // strict: every name must match
  std::string keys;
  for (const auto& key : model.state_dict().keys()) keys += (keys.empty() ? "" : ",") + key;
  EXPECT_EQ(keys, golden().metadata.at(name + "/keys"));
  EXPECT_EQ(model.repr(), golden().metadata.at(name + "/repr"));
}

// Forward in train mode, backward of the loss, and every comparison the golden holds.
void check_model(nn::Module& model, const std::string& name, const std::function<Tensor()>& forward,
                 const std::function<Tensor(const Tensor&)>& loss_fn, double rtol = 1.3e-6, double atol = 1e-5) {
  load_golden(model, name);
  model.train();
  Tensor y = forward();
  expect_close(y, g(name + "/output"), name + " output", rtol, atol);
  Tensor loss = loss_fn(y);
  expect_close(loss, g(name + "/loss"), name + " loss", rtol, atol);
  loss.backward();
  for (const auto& [param, value] : model.named_parameters())
    expect_close(value.grad(), g(name + "/grad/" + param), name + " grad of " + param, rtol, atol);
  for (const auto& [buffer, value] : model.named_buffers())
    expect_close(value, g(name + "/after/" + buffer), name + " " + buffer + " after the train-mode forward");
}

struct ResNet : nn::Module {
  nn::Conv2d stem{3, 8, 3, {.padding = 1}};
  Residual block{8};
  nn::Sequential head{nn::AdaptiveAvgPool2d(1), nn::Flatten(), nn::Linear(8, 4)};
  EMBER_MODULE(stem, block, head)
  Tensor forward(const Tensor& x) { return head(block(stem(x))); }
};

struct TextNet : nn::Module {
  nn::Embedding emb{11, 8, {.padding_idx = 0}};
  nn::LayerNorm norm{{8}};
  nn::GELU act;
  nn::Linear proj{8, 3};
  EMBER_MODULE(emb, norm, act, proj)
  Tensor forward(const Tensor& idx) { return proj(act(norm(emb(idx)))); }
};

TEST(NnGolden, MlpWithBatchNorm1d) {
  nn::Sequential mlp{nn::Flatten(),     nn::Linear(20, 32), nn::BatchNorm1d(32), nn::ReLU(),
                     nn::Linear(32, 16), nn::Tanh(),         nn::Linear(16, 5)};
  check_model(mlp, "mlp", [&] { return mlp(g("mlp/input0")); },
              [&](const Tensor& y) { return ember::cross_entropy(y, g("mlp/target")); });
  mlp.eval();  // now normalizes with the running statistics just updated
  ember::autograd::NoGradGuard no_grad;
  expect_close(mlp(g("mlp/input0")), g("mlp/output_eval"), "mlp eval output");
}

TEST(NnGolden, FashionCnn) {
  Net net;
  check_model(net, "cnn", [&] { return net(g("cnn/input0")); },
              [&](const Tensor& y) { return ember::cross_entropy(y, g("cnn/target")); });
}

TEST(NnGolden, ResidualBlockWithBatchNorm2dTrainThenEval) {
  ResNet net;
  check_model(net, "res", [&] { return net(g("res/input0")); }, [&](const Tensor& y) {
    return ember::cross_entropy(y, g("res/target"), {.label_smoothing = 0.1});
  });
  net.eval();
  ember::autograd::NoGradGuard no_grad;
  expect_close(net(g("res/input0")), g("res/output_eval"), "res eval output");
}

TEST(NnGolden, EmbeddingLayerNormGelu) {
  TextNet net;
  check_model(net, "text", [&] { return net(g("text/input0")); },
              [&](const Tensor& y) { return ember::mse_loss(y, g("text/target")); });
  // The padding row gets no gradient.
  EXPECT_EQ(net.emb.weight.grad()[0].abs().sum().item<float>(), 0.f);
}

TEST(NnGolden, TransposedGroupedConvGroupNormPooling) {
  nn::Sequential net{nn::ConvTranspose2d(3, 4, 3, {.stride = 2, .padding = 1, .output_padding = 1}),
                     nn::GroupNorm(2, 4),
                     nn::SiLU(),
                     nn::AvgPool2d(2),
                     nn::Conv2d(4, 6, 3, {.padding = 1, .groups = 2}),
                     nn::LeakyReLU(0.1),
                     nn::AdaptiveAvgPool2d(1),
                     nn::Flatten(),
                     nn::Linear(6, 2),
                     nn::Softplus(2.0)};
  check_model(net, "conv", [&] { return net(g("conv/input0")); },
              [&](const Tensor& y) { return ember::huber_loss(y, g("conv/target"), ember::Reduction::mean, 0.5); });
}

TEST(NnGolden, Conv1dEluLogSoftmax) {
  nn::Sequential net{nn::Conv1d(2, 4, 3, {.stride = 2, .padding = 1}), nn::ELU(), nn::Flatten(), nn::Linear(16, 3),
                     nn::LogSoftmax(1)};
  check_model(net, "seq1d", [&] { return net(g("seq1d/input0")); },
              [&](const Tensor& y) { return ember::nll_loss(y, g("seq1d/target")); });
}

TEST(NnGolden, Bilinear) {
  nn::Bilinear bil(5, 4, 3);
  Tensor x1 = g("bilinear/input0").clone().requires_grad_(), x2 = g("bilinear/input1").clone().requires_grad_();
  check_model(bil, "bilinear", [&] { return bil(x1, x2); }, [](const Tensor& y) { return (y * y).sum(); });
  expect_close(x1.grad(), g("bilinear/input0_grad"), "bilinear d/dx1");
  expect_close(x2.grad(), g("bilinear/input1_grad"), "bilinear d/dx2");
}

TEST(NnGolden, HuberLossEachReduction) {
  const std::pair<const char*, ember::Reduction> reductions[] = {
      {"none", ember::Reduction::none}, {"mean", ember::Reduction::mean}, {"sum", ember::Reduction::sum}};
  for (auto [name, reduction] : reductions) {
    Tensor input = g("huber/input").clone().requires_grad_();
    nn::HuberLoss loss_fn({.reduction = reduction, .delta = 0.7});
    Tensor loss = loss_fn(input, g("huber/target"));
    expect_close(loss, g(std::string("huber/") + name + "/loss"), std::string("huber ") + name);
    loss.sum().backward();
    expect_close(input.grad(), g(std::string("huber/") + name + "/grad"), std::string("huber grad ") + name);
  }
}

}  // namespace
