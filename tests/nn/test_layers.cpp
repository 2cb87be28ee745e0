// Layers: input checks that name the layer, default initialization, batch
// norm modes, dropout determinism, embedding padding, activations and losses
// as modules.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ember/ember.h"
#include "support/expect_error.h"

namespace nn = ember::nn;
using ember::Tensor;

namespace {

using ember::testing::error_of;

bool same_values(const Tensor& a, const Tensor& b) {
  return a.sizes() == b.sizes() && a.to_vector<double>() == b.to_vector<double>();
}

double max_abs_diff(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(Layers, LinearNamesItselfAndTheShapesOnMismatch) {
  nn::Linear fc(3136, 128);
  const std::string msg = error_of([&] { fc(ember::ones({8, 100})); });
  EXPECT_NE(msg.find("Linear(in_features=3136, out_features=128, bias=True): expected input with 3136 features in "
                     "the last dim, got shape [8, 100]"),
            std::string::npos)
      << msg;
  EXPECT_THROW(fc(ember::ones({8, 100})), ember::ShapeError);
  EXPECT_THROW(nn::Linear(-1, 2), ember::ValueError);
}

TEST(Layers, Conv2dRejectsWrongRankAndChannels) {
  nn::Conv2d conv(1, 32, 3, {.padding = 1});
  const std::string msg = error_of([&] { conv(ember::ones({28, 28})); });
  EXPECT_NE(msg.find("Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)): expected a 4-d input [N, C, "
                     "H, W] (or 3-d unbatched), got shape [28, 28]"),
            std::string::npos)
      << msg;
  EXPECT_THROW(conv(ember::ones({28, 28})), ember::ShapeError);
  const std::string channels = error_of([&] { conv(ember::ones({2, 3, 28, 28})); });
  EXPECT_NE(channels.find("expected input with 1 channels, got shape [2, 3, 28, 28]"), std::string::npos) << channels;
  // Unbatched input works, as in PyTorch.
  EXPECT_EQ(conv(ember::ones({1, 5, 5})).sizes(), (ember::Shape{32, 5, 5}));
  EXPECT_THROW(nn::Conv2d(3, 4, 3, {.groups = 2}), ember::ValueError);
  EXPECT_THROW(nn::Conv2d(3, 4, 0), ember::ValueError);
}

TEST(Layers, ConvOutputShapes) {
  EXPECT_EQ(nn::Conv1d(2, 4, 3, {.stride = 2})(ember::ones({1, 2, 9})).sizes(), (ember::Shape{1, 4, 4}));
  nn::ConvTranspose2d up(4, 2, 2, {.stride = 2});
  EXPECT_EQ(up.weight.sizes(), (ember::Shape{4, 2, 2, 2}));
  EXPECT_EQ(up(ember::ones({1, 4, 3, 3})).sizes(), (ember::Shape{1, 2, 6, 6}));
  EXPECT_EQ(nn::MaxPool2d(2)(ember::ones({1, 1, 4, 6})).sizes(), (ember::Shape{1, 1, 2, 3}));
  EXPECT_EQ(nn::AvgPool2d(3, {.stride = 1, .padding = 1})(ember::ones({1, 1, 4, 4})).sizes(),
            (ember::Shape{1, 1, 4, 4}));
  EXPECT_EQ(nn::AdaptiveAvgPool2d({2, 3})(ember::ones({2, 5, 7, 9})).sizes(), (ember::Shape{2, 5, 2, 3}));
  EXPECT_EQ(nn::Flatten()(ember::ones({2, 3, 4})).sizes(), (ember::Shape{2, 12}));
}

// PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
// of Linear/Conv (kaiming_uniform_ with a = sqrt(5)).
TEST(Layers, DefaultInitBoundsFollowFanIn) {
  ember::manual_seed(3);
  nn::Conv2d conv(16, 32, 3);
  const double bound = 1.0 / std::sqrt(16.0 * 9);
  EXPECT_LE(conv.weight.abs().max().item<double>(), bound);
  EXPECT_LE(conv.bias.abs().max().item<double>(), bound);
  // 4608 draws of U(-b, b): the largest is within 1% of b with overwhelming probability.
  EXPECT_GT(conv.weight.abs().max().item<double>(), 0.99 * bound);
  nn::Linear fc(100, 50);
  EXPECT_LE(fc.weight.abs().max().item<double>(), 0.1);
  EXPECT_GT(fc.weight.abs().max().item<double>(), 0.099);
  // var of U(-b, b) is b^2 / 3; 5000 samples give a relative std error of ~2%.
  const double var = fc.weight.pow(2).mean().item<double>();
  EXPECT_NEAR(var, 0.01 / 3, 0.01 / 3 * 0.08);
  nn::Embedding emb(1000, 16);
  EXPECT_NEAR(emb.weight.mean().item<double>(), 0.0, 4 * 1 / std::sqrt(16000.0));
  EXPECT_NEAR(emb.weight.pow(2).mean().item<double>(), 1.0, 0.05);
  nn::LayerNorm ln({4, 5});
  EXPECT_TRUE(same_values(ln.weight, ember::ones({4, 5})));
  EXPECT_TRUE(same_values(ln.bias, ember::zeros({4, 5})));
}

TEST(Layers, BatchNormUsesBatchStatsInTrainAndRunningStatsInEval) {
  ember::manual_seed(5);
  nn::BatchNorm1d bn(3);
  Tensor x = ember::randn({64, 3}) * 2 + 1;
  Tensor y = bn(x);
  // Train: normalized with the batch's biased variance.
  EXPECT_LT(y.mean({0}).abs().max().item<double>(), 1e-5);
  EXPECT_NEAR(y.pow(2).mean().item<double>(), 1.0, 1e-3);
  // Running stats moved by momentum 0.1 toward the batch's mean and unbiased variance.
  const Tensor expected_mean = x.mean({0}) * 0.1;
  const Tensor expected_var = ember::ones({3}) * 0.9 + ember::var(x, {0}) * 0.1;
  EXPECT_LT(max_abs_diff(bn.running_mean, expected_mean), 1e-6);
  EXPECT_LT(max_abs_diff(bn.running_var, expected_var), 1e-5);
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 1);
  // Eval: (x - running_mean) / sqrt(running_var + eps) * weight + bias; stats untouched.
  bn.eval();
  Tensor z = bn(x);
  const Tensor manual = (x - bn.running_mean) / ember::sqrt(bn.running_var + 1e-5);
  EXPECT_LT(max_abs_diff(z, manual), 1e-5);
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 1);
}

TEST(Layers, BatchNormWithoutMomentumAveragesCumulatively) {
  nn::BatchNorm1d bn(2, {.momentum = std::nullopt});
  Tensor a = ember::tensor({1.f, 2.f, 3.f, 6.f}).reshape({2, 2});
  Tensor b = ember::tensor({5.f, 0.f, 7.f, 2.f}).reshape({2, 2});
  bn(a);
  bn(b);
  // The running mean is the plain average of the two batch means.
  const Tensor expected = (a.mean({0}) + b.mean({0})) / 2;
  EXPECT_LT(max_abs_diff(bn.running_mean, expected), 1e-6);
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 2);
}

TEST(Layers, BatchNormOptionsAndChecks) {
  nn::BatchNorm2d plain(4, {.affine = false, .track_running_stats = false});
  EXPECT_TRUE(plain.named_parameters().empty());
  EXPECT_TRUE(plain.state_dict().empty());
  plain.eval();  // no running stats: still normalizes with the batch's own
  Tensor y = plain(ember::randn({2, 4, 3, 3}) + 5);
  EXPECT_LT(y.mean().abs().item<double>(), 1e-5);
  nn::BatchNorm2d bn(4);
  const std::string rank = error_of([&] { bn(ember::ones({2, 4})); });
  EXPECT_NE(rank.find("BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True): "
                      "expected a 4-d input, got shape [2, 4]"),
            std::string::npos)
      << rank;
  EXPECT_THROW(bn(ember::ones({2, 3, 2, 2})), ember::ShapeError);
  EXPECT_THROW(nn::BatchNorm1d(2)(ember::ones({2, 2, 2, 2})), ember::ShapeError);
}

TEST(Layers, DropoutIsDeterministicForASeedAndIdentityInEval) {
  ember::Generator g1(42), g2(42);
  nn::Dropout d1(0.3, &g1), d2(0.3, &g2);
  Tensor x = ember::ones({1000});
  Tensor a = d1(x), b = d2(x);
  EXPECT_TRUE(same_values(a, b));
  // Kept elements are scaled by 1 / (1 - p); about 30% are dropped.
  const double dropped = (a == 0.0).to(ember::DType::f32).mean().item<double>();
  EXPECT_NEAR(dropped, 0.3, 4 * std::sqrt(0.3 * 0.7 / 1000));
  EXPECT_NEAR(a.max().item<double>(), 1 / 0.7, 1e-6);
  EXPECT_FALSE(same_values(d1(x), a));  // the next call draws a fresh mask
  d1.eval();
  EXPECT_TRUE(d1(x).is_same(x));
  EXPECT_THROW(nn::Dropout(1.5), ember::ValueError);
}

TEST(Layers, EmbeddingPaddingRowIsZeroAndGetsNoGradient) {
  nn::Embedding emb(6, 4, {.padding_idx = -1});
  EXPECT_EQ(emb.padding_idx, 5);
  EXPECT_EQ(emb.weight[5].abs().sum().item<float>(), 0.f);
  Tensor idx = ember::tensor({5, 1, 5, 2});
  emb(idx).sum().backward();
  EXPECT_EQ(emb.weight.grad()[5].abs().sum().item<float>(), 0.f);
  EXPECT_EQ(emb.weight.grad()[1].sum().item<float>(), 4.f);
  EXPECT_THROW(emb(ember::ones({2})), ember::DTypeError);
  EXPECT_THROW(nn::Embedding(4, 2, {.padding_idx = 4}), ember::ValueError);
  EXPECT_EQ(emb.repr(), "Embedding(6, 4, padding_idx=5)");
}

TEST(Layers, NormLayersCheckTheirShapes) {
  nn::LayerNorm ln({5});
  const std::string msg = error_of([&] { ln(ember::ones({2, 4})); });
  EXPECT_NE(msg.find("LayerNorm((5,), eps=1e-05, elementwise_affine=True, bias=True): expected input whose "
                     "trailing dims are [5], got shape [2, 4]"),
            std::string::npos)
      << msg;
  EXPECT_THROW(nn::GroupNorm(3, 4), ember::ValueError);
  nn::GroupNorm gn(2, 4);
  EXPECT_THROW(gn(ember::ones({2, 6, 3})), ember::ShapeError);
  EXPECT_EQ(gn(ember::randn({2, 4, 3})).sizes(), (ember::Shape{2, 4, 3}));
}

TEST(Layers, BilinearChecksItsInputs) {
  nn::Bilinear bil(3, 2, 4);
  EXPECT_EQ(bil(ember::ones({5, 3}), ember::ones({5, 2})).sizes(), (ember::Shape{5, 4}));
  EXPECT_THROW(bil(ember::ones({5, 2}), ember::ones({5, 2})), ember::ShapeError);
  EXPECT_THROW(ember::bilinear(ember::ones({5, 3}), ember::ones({4, 2}), bil.weight), ember::ShapeError);
}

TEST(Layers, ActivationModulesMatchTheirFunctions) {
  ember::manual_seed(11);
  Tensor x = ember::randn({4, 5}) * 3;
  EXPECT_TRUE(same_values(nn::ReLU()(x), ember::relu(x)));
  EXPECT_TRUE(same_values(nn::LeakyReLU(0.2)(x), ember::leaky_relu(x, 0.2)));
  EXPECT_TRUE(same_values(nn::ELU(0.5)(x), ember::elu(x, 0.5)));
  EXPECT_TRUE(same_values(nn::GELU("tanh")(x), ember::gelu(x, "tanh")));
  EXPECT_TRUE(same_values(nn::SiLU()(x), ember::silu(x)));
  EXPECT_TRUE(same_values(nn::Sigmoid()(x), ember::sigmoid(x)));
  EXPECT_TRUE(same_values(nn::Tanh()(x), ember::tanh(x)));
  EXPECT_TRUE(same_values(nn::Softplus(2, 10)(x), ember::softplus(x, 2, 10)));
  EXPECT_TRUE(same_values(nn::Softmax(1)(x), ember::softmax(x, 1)));
  EXPECT_TRUE(same_values(nn::LogSoftmax(0)(x), ember::log_softmax(x, 0)));
  EXPECT_TRUE(nn::Identity()(x).is_same(x));
  EXPECT_THROW(nn::GELU("fast"), ember::ValueError);
  EXPECT_EQ(nn::GELU().repr(), "GELU(approximate='none')");
  EXPECT_EQ(nn::Softplus().repr(), "Softplus(beta=1.0, threshold=20.0)");
  EXPECT_EQ(nn::LeakyReLU().repr(), "LeakyReLU(negative_slope=0.01)");
}

TEST(Losses, ModulesMatchTheirFunctions) {
  ember::manual_seed(13);
  Tensor logits = ember::randn({6, 4}), labels = ember::tensor({0, 3, 1, 2, 2, 0});
  Tensor weight = ember::tensor({1.f, 2.f, 0.5f, 1.f});
  nn::CrossEntropyLoss ce({.weight = weight, .ignore_index = 2, .label_smoothing = 0.1});
  EXPECT_TRUE(same_values(ce(logits, labels), ember::cross_entropy(logits, labels, ce.options)));
  // Class weights are a buffer, as in PyTorch.
  EXPECT_EQ(ce.state_dict().keys(), (std::vector<std::string>{"weight"}));
  EXPECT_TRUE(nn::CrossEntropyLoss().state_dict().empty());
  Tensor log_probs = ember::log_softmax(logits, 1);
  EXPECT_TRUE(same_values(nn::NLLLoss({.reduction = ember::Reduction::sum})(log_probs, labels),
                          ember::nll_loss(log_probs, labels, {.reduction = ember::Reduction::sum})));
  Tensor a = ember::randn({3, 4}), b = ember::randn({3, 4});
  EXPECT_TRUE(same_values(nn::MSELoss()(a, b), ember::mse_loss(a, b)));
  EXPECT_TRUE(same_values(nn::L1Loss(ember::Reduction::none)(a, b), ember::l1_loss(a, b, ember::Reduction::none)));
  EXPECT_TRUE(same_values(nn::SmoothL1Loss({.beta = 0.5})(a, b), ember::smooth_l1_loss(a, b, ember::Reduction::mean, 0.5)));
  Tensor targets = ember::rand({3, 4});
  nn::BCEWithLogitsLoss bce({.pos_weight = ember::full({4}, 2.0)});
  EXPECT_TRUE(same_values(bce(a, targets), ember::binary_cross_entropy_with_logits(a, targets, bce.options)));
  EXPECT_EQ(bce.state_dict().keys(), (std::vector<std::string>{"pos_weight"}));
  Tensor p = ember::softmax(b, 1);
  EXPECT_TRUE(same_values(nn::KLDivLoss({.reduction = ember::Reduction::sum})(ember::log_softmax(a, 1), p),
                          ember::kl_div(ember::log_softmax(a, 1), p, ember::Reduction::sum)));
  // Huber with delta = beta is beta times smooth L1.
  EXPECT_LT(max_abs_diff(nn::HuberLoss({.delta = 0.5})(a, b), ember::smooth_l1_loss(a, b, ember::Reduction::mean, 0.5) * 0.5),
            1e-6);
  EXPECT_THROW(nn::HuberLoss()(a, ember::ones({4})), ember::ShapeError);
  EXPECT_THROW(nn::HuberLoss({.delta = 0})(a, b), ember::ValueError);
}

}  // namespace
