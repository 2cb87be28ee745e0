// Optimizer behaviour beyond the goldens: state_dict round trips, parameter
// identity, skipped parameters, zero_grad, option access and errors.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>

#include "ember/ember.h"
#include "support/expect_error.h"

namespace ember::optim {
namespace {

using ember::testing::expect_error;

std::vector<Tensor> make_params(uint64_t seed) {
  Generator gen(seed);
  return {randn({4, 3}, DType::f32, &gen).requires_grad_(), randn({5}, DType::f32, &gen).requires_grad_(),
          randn({2, 2}, DType::f64, &gen).requires_grad_()};
}

// A deterministic gradient for step s: the same in every run.
void set_grads(const std::vector<Tensor>& params, int s) {
  Generator gen(1000 + s);
  for (const Tensor& p : params) Tensor(p).set_grad(randn(p.sizes(), p.dtype(), &gen));
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) return false;
  const Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.raw_data(), y.raw_data(), x.numel() * x.itemsize()) == 0;
}

using Factory = std::function<std::unique_ptr<Optimizer>(const std::vector<Tensor>&)>;

std::vector<std::pair<std::string, Factory>> all_optimizers() {
  return {
      {"SGD", [](const auto& p) { return std::make_unique<SGD>(p, SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true}); }},
      {"Adam", [](const auto& p) { return std::make_unique<Adam>(p, AdamOptions{.lr = 0.01, .amsgrad = true}); }},
      {"AdamW", [](const auto& p) { return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.01}); }},
      {"RMSprop",
       [](const auto& p) { return std::make_unique<RMSprop>(p, RMSpropOptions{.momentum = 0.9, .centered = true}); }},
      {"Adagrad", [](const auto& p) { return std::make_unique<Adagrad>(p, AdagradOptions{.lr = 0.5, .lr_decay = 0.01}); }},
  };
}

TEST(Optimizer, StateDictRoundTripResumesBitIdentically) {
  for (const auto& [name, make] : all_optimizers()) {
    SCOPED_TRACE(name);
    // Ten uninterrupted steps.
    auto straight = make_params(7);
    auto opt = make(straight);
    for (int s = 0; s < 10; ++s) {
      set_grads(straight, s);
      opt->step();
    }
    // Five steps, a checkpoint through safetensors bytes, a fresh optimizer, five more.
    auto resumed = make_params(7);
    auto first = make(resumed);
    for (int s = 0; s < 5; ++s) {
      set_grads(resumed, s);
      first->step();
    }
    const StateDict saved = first->state_dict();
    const std::string bytes = io::to_safetensors_bytes(saved.tensors, saved.values);
    const auto loaded = io::parse_safetensors({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    first.reset();
    std::vector<Tensor> copies;
    for (const Tensor& p : resumed) copies.push_back(p.detach().clone().requires_grad_());
    auto second = make(copies);
    second->load_state_dict({.tensors = loaded.tensors, .values = loaded.metadata});
    for (int s = 5; s < 10; ++s) {
      set_grads(copies, s);
      second->step();
    }
    for (size_t j = 0; j < straight.size(); ++j) EXPECT_TRUE(bit_equal(straight[j], copies[j])) << "parameter " << j;
    // And the state itself matches key for key.
    const StateDict a = opt->state_dict(), b = second->state_dict();
    EXPECT_EQ(a.values, b.values);
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    for (const auto& [key, t] : a.tensors) EXPECT_TRUE(bit_equal(t, b.tensors.at(key))) << key;
  }
}

TEST(Optimizer, StateDictKeysFollowTorch) {
  auto params = make_params(1);
  Adam opt(std::vector<ParamGroup<AdamOptions>>{{.params = {params[0], params[1]}, .options = {.lr = 0.01}},
                                                {.params = {params[2]}, .options = {.lr = 0.5, .amsgrad = true}}});
  params[0].set_grad(ones({4, 3}));
  params[2].set_grad(ones({2, 2}, DType::f64));
  opt.step();  // parameter 1 has no gradient: no state
  const StateDict state = opt.state_dict();
  EXPECT_EQ(state.values.at("optimizer"), "Adam");
  EXPECT_EQ(state.values.at("param_groups.0.params"), "0,1");
  EXPECT_EQ(state.values.at("param_groups.1.params"), "2");
  EXPECT_EQ(state.values.at("param_groups.1.lr"), "0.5");
  EXPECT_EQ(state.values.at("param_groups.0.betas.1"), "0.999");
  EXPECT_EQ(state.values.at("param_groups.1.amsgrad"), "true");
  EXPECT_EQ(state.values.at("state.0.step"), "1");
  EXPECT_EQ(state.values.at("state.2.step"), "1");
  EXPECT_FALSE(state.values.count("state.1.step"));
  EXPECT_TRUE(state.tensors.count("state.0.exp_avg_sq"));
  EXPECT_FALSE(state.tensors.count("state.0.max_exp_avg_sq"));  // amsgrad is off in group 0
  EXPECT_EQ(state.tensors.at("state.2.max_exp_avg_sq").dtype(), DType::f64);
  EXPECT_EQ(state.tensors.size(), 5u);
}

TEST(Optimizer, LoadStateDictRestoresGroupHyperparameters) {
  auto params = make_params(2);
  SGD a(params, {.lr = 0.1, .momentum = 0.9});
  a.param_groups()[0].options.lr = 0.025;
  a.set_initial_lr(0, 0.1);
  SGD b(params, {.lr = 1.0});
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b.lr(0), 0.025);
  EXPECT_EQ(b.option(0, "momentum"), 0.9);
  EXPECT_EQ(b.initial_lr(0), 0.1);
}

TEST(Optimizer, LoadStateDictValidatesAndChangesNothingOnError) {
  auto params = make_params(3);
  Adam source(params, {.lr = 0.01});
  set_grads(params, 0);
  source.step();
  const StateDict good = source.state_dict();

  auto expect_error = [&](const StateDict& bad, const std::string& fragment) {
    Adam target(params, {.lr = 0.5});
    try {
      target.load_state_dict(bad);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
    EXPECT_EQ(target.lr(0), 0.5);            // untouched
    EXPECT_EQ(target.state(params[0]), nullptr);
  };

  // A different parameter count.
  {
    Adam fewer({params[0], params[1]}, {.lr = 0.5});
    EXPECT_THROW(fewer.load_state_dict(good), ValueError);
    try {
      fewer.load_state_dict(good);
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("param_groups.0.params lists 3 parameters"), std::string::npos) << e.what();
    }
  }
  StateDict bad = good;
  bad.tensors["state.1.exp_avg"] = zeros({7});
  expect_error(bad, "state.1.exp_avg is float32[7], the parameter is float32[5]");
  EXPECT_THROW(Adam(params).load_state_dict(bad), ShapeError);

  bad = good;
  bad.values["optimizer"] = "SGD";
  expect_error(bad, "the state is of a SGD optimizer");

  bad = good;
  bad.values["param_groups.0.lr"] = "fast";
  expect_error(bad, "param_groups.0.lr is \"fast\", not a number");

  bad = good;
  bad.values["param_groups.0.betas.0"] = "1.5";
  expect_error(bad, "invalid beta parameter at index 0: 1.5");

  bad = good;
  bad.values.erase("state.2.step");
  expect_error(bad, "missing key 'state.2.step'");

  bad = good;
  bad.tensors["state.9.exp_avg"] = zeros({1});
  expect_error(bad, "unexpected key 'state.9.exp_avg'");

  bad = good;
  bad.values["param_groups.1.params"] = "3";
  expect_error(bad, "the state has 2 parameter groups, the optimizer has 1");
}

TEST(Optimizer, StepUpdatesParametersInPlace) {
  for (const auto& [name, make] : all_optimizers()) {
    SCOPED_TRACE(name);
    auto params = make_params(4);
    std::vector<const void*> data;
    std::vector<uint32_t> versions;
    std::vector<Tensor> before;
    for (const Tensor& p : params) {
      data.push_back(p.raw_data());
      versions.push_back(p.version());
      before.push_back(p.detach().clone());
    }
    auto opt = make(params);
    set_grads(params, 0);
    opt->step();
    for (size_t j = 0; j < params.size(); ++j) {
      EXPECT_EQ(params[j].raw_data(), data[j]);  // the module's handle still sees the update
      EXPECT_GT(params[j].version(), versions[j]);
      EXPECT_FALSE(bit_equal(params[j], before[j]));
      EXPECT_TRUE(params[j].is_leaf());
      EXPECT_FALSE(params[j].grad_fn());
    }
  }
}

// See Note [Multi-tensor updates]: one pass over all parameters, cut into
// chunks that straddle parameters, gives each parameter exactly what
// optimizing it alone on one thread gives.
TEST(Optimizer, MultiTensorStepMatchesOneParameterAtATime) {
  const int threads = get_num_threads();
  for (const auto& [name, make] : all_optimizers()) {
    SCOPED_TRACE(name);
    // Sizes around the update grain (2^15), so chunks begin inside parameters.
    Generator gen(7);
    const std::vector<Tensor> together = {randn({40000}, DType::f32, &gen).requires_grad_(),
                                          randn({33}, DType::f32, &gen).requires_grad_(),
                                          randn({70, 1000}, DType::f32, &gen).requires_grad_(),
                                          randn({3, 5}, DType::f64, &gen).requires_grad_()};
    std::vector<std::vector<Tensor>> alone;
    for (const Tensor& p : together) alone.push_back({p.detach().clone().requires_grad_()});
    set_num_threads(2);
    auto opt = make(together);
    std::vector<std::unique_ptr<Optimizer>> single;
    for (const auto& p : alone) single.push_back(make(p));
    for (int s = 0; s < 3; ++s) {
      set_grads(together, s);
      set_num_threads(2);
      opt->step();
      set_num_threads(1);
      for (size_t j = 0; j < alone.size(); ++j) {
        Tensor(alone[j][0]).set_grad(together[j].grad());
        single[j]->step();
      }
    }
    for (size_t j = 0; j < together.size(); ++j) EXPECT_TRUE(bit_equal(together[j], alone[j][0])) << j;
  }
  set_num_threads(threads);
}

TEST(Optimizer, ParametersWithoutGradAreSkipped) {
  for (const auto& [name, make] : all_optimizers()) {
    SCOPED_TRACE(name);
    auto params = make_params(5);
    const Tensor before = params[1].detach().clone();
    auto opt = make(params);
    set_grads(params, 0);
    params[1].set_grad({});
    opt->step();
    EXPECT_TRUE(bit_equal(params[1], before));
    // No state is created, except for Adagrad, whose state torch creates up
    // front (and whose step count stays 0).
    const StateDict state = opt->state_dict();
    if (name == "Adagrad") {
      EXPECT_EQ(state.values.at("state.1.step"), "0");
      EXPECT_EQ(state.values.at("state.0.step"), "1");
    } else {
      for (const auto& [key, t] : state.tensors) EXPECT_NE(key.rfind("state.1.", 0), 0u) << key;
      EXPECT_FALSE(state.values.count("state.1.step"));
    }
  }
}

TEST(Optimizer, StridedParameterIsUpdatedThroughItsStorage) {
  Tensor base = zeros({3, 4}).requires_grad_();
  Tensor param = base.detach().t().requires_grad_();  // a non-contiguous leaf
  SGD opt({param}, {.lr = 1.0});
  param.set_grad(ones({4, 3}));
  opt.step();
  EXPECT_EQ(base.detach().sum().item<float>(), -12.f);
}

TEST(Optimizer, ZeroGrad) {
  auto params = make_params(6);
  SGD opt(params, {.lr = 0.1});
  set_grads(params, 0);
  opt.zero_grad(/*set_to_none=*/false);
  for (const Tensor& p : params) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().abs().sum().item<double>(), 0.0);
  }
  opt.zero_grad();
  for (const Tensor& p : params) EXPECT_FALSE(p.grad().defined());
}

TEST(Optimizer, OptionsByName) {
  auto params = make_params(7);
  Adam opt(params, {.lr = 0.01, .betas = {0.8, 0.9}});
  EXPECT_TRUE(opt.has_option("betas.0"));
  EXPECT_FALSE(opt.has_option("momentum"));
  EXPECT_EQ(opt.option(0, "betas.1"), 0.9);
  opt.set_lr(0, 0.5);
  EXPECT_EQ(opt.param_groups()[0].options.lr, 0.5);
  opt.set_option(0, "amsgrad", 1);
  EXPECT_TRUE(opt.param_groups()[0].options.amsgrad);
  EXPECT_THROW(opt.option(0, "momentum"), ValueError);
  EXPECT_THROW(opt.option(3, "lr"), IndexError);
  EXPECT_THROW(opt.set_lr(0, -1), ValueError);
  EXPECT_EQ(opt.lr(0), 0.5);
}

TEST(Optimizer, BadOptionsAreValueErrors) {
  auto p = make_params(8);
  expect_error<ValueError>([&] { SGD(p, {.lr = -0.1}); }, "SGD: invalid learning rate -0.1");
  expect_error<ValueError>([&] { SGD(p, {.momentum = -1}); }, "SGD: invalid momentum -1");
  expect_error<ValueError>([&] { SGD(p, {.lr = 0.1, .nesterov = true}); }, "Nesterov momentum requires a momentum");
  expect_error<ValueError>([&] { SGD(p, {.weight_decay = -1}); }, "SGD: invalid weight_decay -1");
  expect_error<ValueError>([&] { Adam(p, {.lr = -1}); }, "Adam: invalid learning rate -1");
  expect_error<ValueError>([&] { Adam(p, {.betas = {1.0, 0.999}}); }, "Adam: invalid beta parameter at index 0: 1");
  expect_error<ValueError>([&] { AdamW(p, {.betas = {0.9, -0.1}}); }, "AdamW: invalid beta parameter at index 1: -0.1");
  expect_error<ValueError>([&] { AdamW(p, {.eps = -1e-8}); }, "AdamW: invalid eps -1e-08");
  expect_error<ValueError>([&] { RMSprop(p, {.alpha = -0.5}); }, "RMSprop: invalid alpha -0.5");
  expect_error<ValueError>([&] { Adagrad(p, {.lr_decay = -1}); }, "Adagrad: invalid lr_decay -1");
  expect_error<ValueError>([&] { SGD(std::vector<Tensor>{}); }, "SGD: got an empty parameter list");
  expect_error<ValueError>([&] { SGD({p[0], p[0]}); }, "appears more than once");
  expect_error<ValueError>([&] { SGD({p[0] * 2}); }, "can't optimize a non-leaf tensor");
  EXPECT_THROW(SGD({ones({2}, DType::i64)}), DTypeError);
}

// A real training loop: the optimizer drives a least-squares fit to its optimum.
TEST(Optimizer, FitsALinearModel) {
  Generator gen(11);
  const Tensor x = randn({64, 3}, DType::f32, &gen);
  const Tensor true_w = tensor({1.5f, -2.f, 0.5f}).reshape({3, 1});
  const Tensor y = matmul(x, true_w);
  for (const auto& [name, make] : all_optimizers()) {
    SCOPED_TRACE(name);
    Tensor w = zeros({3, 1}).requires_grad_();
    auto opt = make({w});
    for (int i = 0; i < 500; ++i) {
      opt->zero_grad();
      mse_loss(matmul(x, w), y).backward();
      opt->step();
    }
    EXPECT_LT(mse_loss(matmul(x, w), y).item<double>(), 1e-3);
  }
}

}  // namespace
}  // namespace ember::optim
