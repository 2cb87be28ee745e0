// nn::Module: naming, modes, dtype, gradients, state dicts, printing, copies
// and containers.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "ember/ember.h"
#include "nn/models.h"
#include "support/expect_error.h"

namespace nn = ember::nn;
using ember::Tensor;
using ember::nn_test::Net;
using ember::nn_test::Residual;

namespace {

// A module with a parameter of its own beside children.
struct Scaled : nn::Module {
  nn::Linear fc{3, 2};
  Tensor scale = ember::ones({2}).requires_grad_();
  EMBER_MODULE(fc, scale)
  Tensor forward(const Tensor& x) { return fc(x) * scale; }
};

struct Tied : nn::Module {
  nn::Embedding emb{5, 3};
  nn::Linear out{3, 5, {.bias = false}};
  Tied() { out.weight = emb.weight; }  // weight tying, as language models do
  EMBER_MODULE(emb, out)
};

struct Tower : nn::Module {
  nn::ModuleList blocks{nn::Linear(4, 4), nn::Linear(4, 4)};
  nn::ModuleDict heads;
  Tower() {
    heads.insert("cls", nn::Linear(4, 3));
    heads.insert("reg", nn::Linear(4, 1));
  }
  EMBER_MODULE(blocks, heads)
  Tensor forward(const Tensor& x) {
    Tensor h = x;
    for (auto& block : blocks) h = ember::relu(block(h));
    return heads["cls"](h);
  }
};

std::vector<std::string> names(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.sizes() == b.sizes() && a.to_vector<double>() == b.to_vector<double>();
}

using ember::testing::error_of;

TEST(Module, NamedParametersUseDottedPyTorchNames) {
  Net net;
  EXPECT_EQ(names(net.named_parameters()),
            (std::vector<std::string>{"c1.weight", "c1.bias", "c2.weight", "c2.bias", "f1.weight", "f1.bias",
                                      "f2.weight", "f2.bias"}));
  EXPECT_EQ(net.parameters().size(), 8u);
  EXPECT_TRUE(net.named_parameters(/*recurse=*/false).empty());
  EXPECT_EQ(names(net.f1.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(net.num_parameters(), 32 * 9 + 32 + 64 * 32 * 9 + 64 + 3136 * 128 + 128 + 128 * 10 + 10);
  // Parameters are the members themselves (handles share storage).
  EXPECT_TRUE(net.parameters()[4].is_same(net.f1.weight));
  for (const Tensor& p : net.parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(Module, OwnParametersComeBeforeChildren) {
  Scaled s;
  EXPECT_EQ(names(s.named_parameters()), (std::vector<std::string>{"scale", "fc.weight", "fc.bias"}));
  EXPECT_EQ(s.state_dict().keys(), (std::vector<std::string>{"scale", "fc.weight", "fc.bias"}));
}

TEST(Module, BuffersModulesAndStateDictOrder) {
  Residual block(4);
  EXPECT_EQ(names(block.named_buffers()),
            (std::vector<std::string>{"bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
                                      "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked"}));
  std::vector<std::string> modules;
  for (auto& [name, m] : block.named_modules()) modules.push_back(name + ":" + m->type_name());
  EXPECT_EQ(modules, (std::vector<std::string>{":Residual", "conv1:Conv2d", "bn1:BatchNorm2d", "conv2:Conv2d",
                                               "bn2:BatchNorm2d"}));
  EXPECT_EQ(block.state_dict().keys(),
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                                      "bn1.num_batches_tracked", "conv2.weight", "bn2.weight", "bn2.bias",
                                      "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked"}));
  EXPECT_EQ(block.named_children().size(), 4u);
}

TEST(Module, ResidualBlockRunsAndTrains) {
  Residual block(4);
  ember::manual_seed(7);
  Tensor x = ember::randn({2, 4, 5, 5});
  Tensor y = block(x);
  EXPECT_EQ(y.sizes(), x.sizes());
  y.sum().backward();
  for (const auto& [name, p] : block.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  EXPECT_EQ(block.bn1.num_batches_tracked.item<int64_t>(), 1);
}

// The example at the top of layers.h.
TEST(Module, HeaderExampleResidualNetworkRuns) {
  nn::Sequential net{nn::Conv2d(1, 16, 3, {.padding = 1}), nn::ReLU(), Residual(16),
                     nn::AdaptiveAvgPool2d(1), nn::Flatten(), nn::Linear(16, 10)};
  auto logits = net(ember::randn({8, 1, 28, 28}));
  EXPECT_EQ(logits.sizes(), (ember::Shape{8, 10}));
  EXPECT_EQ(net.state_dict().at("2.bn1.num_batches_tracked").item<int64_t>(), 1);
  net.eval();
  net(ember::randn({8, 1, 28, 28}));
  EXPECT_EQ(net.state_dict().at("2.bn1.num_batches_tracked").item<int64_t>(), 1);
}

TEST(Module, TrainAndEvalPropagate) {
  nn::Sequential seq{nn::Linear(2, 2), nn::Sequential(nn::Dropout(0.5), nn::BatchNorm1d(2))};
  EXPECT_TRUE(seq.is_training());
  seq.eval();
  for (auto& [name, m] : seq.named_modules()) EXPECT_FALSE(m->is_training()) << name;
  seq.train();
  for (auto& [name, m] : seq.named_modules()) EXPECT_TRUE(m->is_training()) << name;
  seq[1].module().eval();
  EXPECT_TRUE(seq.is_training());
  EXPECT_FALSE(seq[1].get<nn::Sequential>()[0].module().is_training());
}

TEST(Module, ToDTypeCastsFloatingTensorsOnly) {
  Residual block(2);
  block.to(ember::DType::f64);
  for (const auto& [name, p] : block.named_parameters()) {
    EXPECT_EQ(p.dtype(), ember::DType::f64) << name;
    EXPECT_TRUE(p.requires_grad()) << name;
  }
  EXPECT_EQ(block.bn1.running_mean.dtype(), ember::DType::f64);
  EXPECT_EQ(block.bn1.num_batches_tracked.dtype(), ember::DType::i64);
  Tensor y = block(ember::randn({2, 2, 3, 3}, ember::DType::f64));
  EXPECT_EQ(y.dtype(), ember::DType::f64);
}

TEST(Module, ZeroGradSetsToNoneOrZeroes) {
  nn::Linear fc(3, 2);
  fc(ember::ones({1, 3})).sum().backward();
  ASSERT_TRUE(fc.weight.grad().defined());
  fc.zero_grad(/*set_to_none=*/false);
  EXPECT_EQ(fc.weight.grad().abs().sum().item<float>(), 0.f);
  fc.zero_grad();
  EXPECT_FALSE(fc.weight.grad().defined());
  EXPECT_FALSE(fc.bias.grad().defined());
}

TEST(Module, FreezingStopsGradients) {
  Scaled s;
  s.fc.requires_grad_(false);
  EXPECT_EQ(s.num_parameters(/*only_trainable=*/true), 2);
  EXPECT_EQ(s.num_parameters(), 3 * 2 + 2 + 2);
  s(ember::ones({1, 3})).sum().backward();
  EXPECT_FALSE(s.fc.weight.grad().defined());
  EXPECT_TRUE(s.scale.grad().defined());
}

TEST(Module, PrintsLikePyTorch) {
  Net net;
  std::ostringstream out;
  out << net;
  EXPECT_EQ(out.str(),
            "Net(\n"
            "  (c1): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
            "  (c2): Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
            "  (f1): Linear(in_features=3136, out_features=128, bias=True)\n"
            "  (f2): Linear(in_features=128, out_features=10, bias=True)\n"
            ")");
  EXPECT_EQ(nn::ReLU().repr(), "ReLU()");
  EXPECT_EQ(nn::Dropout(0.25).repr(), "Dropout(p=0.25, inplace=False)");
  EXPECT_EQ(nn::BatchNorm2d(3, {.momentum = std::nullopt}).repr(),
            "BatchNorm2d(3, eps=1e-05, momentum=None, affine=True, bias=True, track_running_stats=True)");
  EXPECT_EQ(nn::MaxPool2d(2).repr(), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
}

TEST(Module, StateDictRoundTripsAndAliasesStorage) {
  Net a, b;
  ASSERT_FALSE(same_values(a.f1.weight, b.f1.weight));
  b.load_state_dict(a.state_dict());
  for (const auto& [name, p] : a.named_parameters()) EXPECT_TRUE(same_values(p, b.state_dict().at(name))) << name;
  // Loading copies in place: the parameter tensors keep their identity.
  Tensor w = b.f1.weight;
  b.load_state_dict(Net().state_dict());
  EXPECT_TRUE(w.is_same(b.f1.weight));
  EXPECT_TRUE(b.f1.weight.requires_grad());
  // state_dict values are detached views of the module's storage.
  auto sd = a.state_dict();
  EXPECT_FALSE(sd.at("f2.bias").requires_grad());
  {
    ember::autograd::NoGradGuard no_grad;
    a.f2.bias.fill_(3.0);
  }
  EXPECT_EQ(sd.at("f2.bias")[0].item<float>(), 3.f);
}

TEST(Module, LoadStateDictReportsEveryProblemByName) {
  Net net;
  auto sd = Net().state_dict();
  nn::StateDict bad;
  for (const auto& [name, t] : sd)
    if (name != "f2.bias" && name != "f2.weight") bad.insert(name, t);
  bad.insert("c1.weight", ember::zeros({16, 1, 3, 3}));
  bad.insert("fc.weight", ember::zeros({2}));
  const Tensor before = net.c2.weight.clone();
  const std::string msg = error_of([&] { net.load_state_dict(bad); });
  EXPECT_NE(msg.find("Error(s) in loading state_dict for Net"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Missing key(s) in state_dict: \"f2.weight\", \"f2.bias\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("Unexpected key(s) in state_dict: \"fc.weight\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("size mismatch for c1.weight: copying a param with shape [16, 1, 3, 3] from checkpoint, the "
                     "shape in current model is [32, 1, 3, 3]"),
            std::string::npos)
      << msg;
  EXPECT_THROW(net.load_state_dict(bad), ember::ValueError);
  // Nothing was copied by the failed load.
  EXPECT_TRUE(same_values(before, net.c2.weight));
}

TEST(Module, NonStrictLoadReturnsMissingAndUnexpected) {
  Net net;
  nn::StateDict partial{{"c1.weight", ember::ones({32, 1, 3, 3})}, {"extra", ember::zeros({1})}};
  auto result = net.load_state_dict(partial, /*strict=*/false);
  EXPECT_EQ(result.unexpected_keys, (std::vector<std::string>{"extra"}));
  EXPECT_EQ(result.missing_keys.size(), 7u);
  EXPECT_EQ(result.missing_keys.front(), "c1.bias");
  EXPECT_EQ(net.c1.weight.sum().item<float>(), 32 * 9.f);
  // Shape mismatches are errors even when not strict.
  nn::StateDict wrong{{"c1.weight", ember::ones({3})}};
  EXPECT_THROW(net.load_state_dict(wrong, false), ember::ValueError);
}

TEST(Module, LoadsFromASafetensorsMap) {
  Net a, b;
  std::map<std::string, Tensor> sorted = a.state_dict().to_map();
  b.load_state_dict(sorted);
  EXPECT_TRUE(same_values(a.c2.weight, b.c2.weight));
}

TEST(Module, CopiesAliasTensorsButVisitTheirOwnMembers) {
  Net a;
  Net b = a;  // Note [Copying modules]: handles are copied
  EXPECT_TRUE(b.f1.weight.is_same(a.f1.weight));
  // The copy's visit reports the copy's members, not the original's.
  b.f1.weight = ember::zeros({128, 3136}).requires_grad_();
  EXPECT_TRUE(b.named_parameters()[4].second.is_same(b.f1.weight));
  EXPECT_TRUE(a.named_parameters()[4].second.is_same(a.f1.weight));
  EXPECT_FALSE(same_values(a.f1.weight, b.f1.weight));
  // A moved-into module visits its own members too.
  Net c = std::move(b);
  EXPECT_TRUE(c.named_parameters()[4].second.is_same(c.f1.weight));
}

TEST(Module, CloneIsDeepAndKeepsTiedWeightsTied) {
  Tied a;
  EXPECT_EQ(a.parameters().size(), 1u);  // a tied weight is reported once
  Tied b = nn::clone(a);
  EXPECT_FALSE(b.emb.weight.is_same(a.emb.weight));
  EXPECT_TRUE(same_values(b.emb.weight, a.emb.weight));
  EXPECT_TRUE(b.out.weight.is_same(b.emb.weight));
  EXPECT_TRUE(b.emb.weight.requires_grad());
  {
    ember::autograd::NoGradGuard no_grad;
    b.emb.weight.fill_(0.0);
  }
  EXPECT_NE(a.emb.weight.abs().sum().item<float>(), 0.f);
}

TEST(Module, ApplyVisitsEveryModuleChildrenFirst) {
  Net net;
  std::vector<std::string> seen;
  net.apply([&](nn::Module& m) {
    seen.push_back(m.type_name());
    if (auto* fc = dynamic_cast<nn::Linear*>(&m)) nn::init::zeros_(fc->bias);
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"Conv2d", "Conv2d", "Linear", "Linear", "Net"}));
  EXPECT_EQ(net.f1.bias.abs().sum().item<float>(), 0.f);
}

TEST(Containers, SequentialNamesAndRuns) {
  nn::Sequential mlp{nn::Flatten(), nn::Linear(12, 8), nn::ReLU(), nn::Linear(8, 3)};
  EXPECT_EQ(names(mlp.named_parameters()), (std::vector<std::string>{"1.weight", "1.bias", "3.weight", "3.bias"}));
  EXPECT_EQ(mlp(ember::randn({5, 3, 4})).sizes(), (ember::Shape{5, 3}));
  auto& fc = mlp[-1].get<nn::Linear>();
  EXPECT_EQ(fc.out_features, 3);
  EXPECT_THROW(mlp[1].get<nn::Conv2d>(), ember::ValueError);
  EXPECT_THROW(mlp[4], ember::IndexError);
  nn::Sequential named(std::vector<std::pair<std::string, nn::AnyModule>>{{"fc", nn::Linear(2, 2)},
                                                                          {"act", nn::Tanh()}});
  EXPECT_EQ(names(named.named_parameters()), (std::vector<std::string>{"fc.weight", "fc.bias"}));
  EXPECT_THROW(named.push_back("fc", nn::ReLU()), ember::ValueError);
  // A module without forward(Tensor) cannot run inside a Sequential.
  nn::Sequential holds_list{nn::ModuleList(nn::ReLU())};
  EXPECT_THROW(holds_list(ember::ones({1})), ember::NotImplementedError);
}

TEST(Containers, CopyingASequentialCopiesItsModules) {
  nn::Sequential a{nn::Linear(2, 2), nn::BatchNorm1d(2)};
  nn::Sequential b = a;
  EXPECT_NE(&b[0].module(), &a[0].module());
  b.eval();
  EXPECT_TRUE(a[1].module().is_training());
  nn::Sequential c = nn::clone(a);
  EXPECT_FALSE(c[0].get<nn::Linear>().weight.is_same(a[0].get<nn::Linear>().weight));
}

TEST(Containers, ModuleListAndModuleDict) {
  Tower t;
  EXPECT_EQ(names(t.named_parameters()),
            (std::vector<std::string>{"blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                                      "heads.cls.weight", "heads.cls.bias", "heads.reg.weight", "heads.reg.bias"}));
  EXPECT_EQ(t(ember::ones({2, 4})).sizes(), (ember::Shape{2, 3}));
  EXPECT_EQ(t.heads.keys(), (std::vector<std::string>{"cls", "reg"}));
  EXPECT_TRUE(t.heads.contains("reg"));
  const std::string msg = error_of([&] { t.heads["missing"]; });
  EXPECT_NE(msg.find("no module named \"missing\""), std::string::npos) << msg;
  EXPECT_EQ(t.repr(),
            "Tower(\n"
            "  (blocks): ModuleList(\n"
            "    (0): Linear(in_features=4, out_features=4, bias=True)\n"
            "    (1): Linear(in_features=4, out_features=4, bias=True)\n"
            "  )\n"
            "  (heads): ModuleDict(\n"
            "    (cls): Linear(in_features=4, out_features=3, bias=True)\n"
            "    (reg): Linear(in_features=4, out_features=1, bias=True)\n"
            "  )\n"
            ")");
}

TEST(StateDict, KeepsInsertionOrderAndNamesMissingKeys) {
  nn::StateDict sd{{"b", ember::ones({1})}, {"a", ember::zeros({1})}};
  sd.insert("b", ember::zeros({2}));
  EXPECT_EQ(sd.keys(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(sd.at("b").numel(), 2);
  const std::string msg = error_of([&] { sd.at("c"); });
  EXPECT_NE(msg.find("no key \"c\""), std::string::npos) << msg;
}

}  // namespace
