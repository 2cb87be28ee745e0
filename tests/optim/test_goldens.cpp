// Optimizers, LR schedulers and clipping against PyTorch: replays the
// gradients and steps recorded by scripts/gen_optim_goldens.py and compares
// every step. The configurations mirror that script's tables by name.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <iomanip>
#include <memory>
#include <set>

#include "ember/ember.h"

namespace ember::optim {
namespace {

const io::TensorMap& goldens() {
  static const io::TensorMap map = [] {
    const char* root = std::getenv("EMBER_SOURCE_DIR");
    return io::load_safetensors(std::string(root ? root : EMBER_SOURCE_DIR_DEFAULT) + "/tests/golden/optim.safetensors");
  }();
  return map;
}

const Tensor& golden(const std::string& key) {
  auto it = goldens().find(key);
  if (it == goldens().end()) throw std::runtime_error("optim.safetensors has no " + key);
  return it->second;
}

// torch.testing.assert_close for float32: |a - e| <= atol + rtol * |e|.
::testing::AssertionResult close_f32(const Tensor& actual, const Tensor& expected) {
  if (actual.sizes() != expected.sizes())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.sizes()) << " vs "
                                         << shape_str(expected.sizes());
  auto a = actual.to_vector<float>();
  auto e = expected.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(std::abs(double(a[i]) - double(e[i])) <= 1e-5 + 1.3e-6 * std::abs(double(e[i]))))
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs " << e[i];
  }
  return ::testing::AssertionSuccess();
}

constexpr int kSteps = 10;
constexpr int kParams = 3;
const std::set<int> kSkipSteps = {2, 3, 6};

using Factory = std::function<std::unique_ptr<Optimizer>(const std::vector<Tensor>&)>;

// Parameters 0, 1 in group 0 (the defaults), parameter 2 in group 1.
template <class Opt, class Options>
Factory grouped(Options defaults, Options group1) {
  return [=](const std::vector<Tensor>& p) {
    return std::make_unique<Opt>(std::vector<ParamGroup<Options>>{
        {.params = {p[0], p[1]}, .options = defaults}, {.params = {p[2]}, .options = group1}});
  };
}
template <class Opt, class Options>
Factory single(Options options) {
  return [=](const std::vector<Tensor>& p) { return std::make_unique<Opt>(p, options); };
}

struct OptimizerCase {
  std::string name;
  Factory make;
  bool skip = false;  // parameter 1 has no gradient at kSkipSteps
};

std::vector<OptimizerCase> optimizer_cases() {
  return {
      {"sgd/default", single<SGD>(SGDOptions{.lr = 0.1})},
      {"sgd/momentum", single<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9})},
      {"sgd/dampening_wd", single<SGD>(SGDOptions{.lr = 0.05, .momentum = 0.9, .dampening = 0.5, .weight_decay = 0.01})},
      {"sgd/nesterov", single<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true})},
      {"sgd/maximize", single<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.5, .maximize = true})},
      {"sgd/groups", grouped<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9},
                                  SGDOptions{.lr = 0.01, .momentum = 0.9, .weight_decay = 0.1})},
      {"sgd/skip", single<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9}), true},
      {"adam/default", single<Adam>(AdamOptions{.lr = 0.01})},
      {"adam/weight_decay", single<Adam>(AdamOptions{.lr = 0.01, .betas = {0.8, 0.99}, .eps = 1e-6, .weight_decay = 0.1})},
      {"adam/amsgrad", single<Adam>(AdamOptions{.lr = 0.01, .betas = {0.9, 0.5}, .amsgrad = true})},
      {"adam/maximize", single<Adam>(AdamOptions{.lr = 0.01, .maximize = true})},
      {"adam/groups", grouped<Adam>(AdamOptions{.lr = 0.01}, AdamOptions{.lr = 0.001, .weight_decay = 0.05})},
      {"adam/skip", single<Adam>(AdamOptions{.lr = 0.01}), true},
      {"adamw/default", single<AdamW>(AdamWOptions{.lr = 0.01})},
      {"adamw/amsgrad", single<AdamW>(AdamWOptions{.lr = 0.01, .betas = {0.9, 0.6}, .weight_decay = 0.1, .amsgrad = true})},
      {"adamw/groups", grouped<AdamW>(AdamWOptions{.lr = 0.01, .weight_decay = 0.05},
                                      AdamWOptions{.lr = 0.002, .weight_decay = 0.0})},
      {"rmsprop/default", single<RMSprop>(RMSpropOptions{.lr = 0.01})},
      {"rmsprop/momentum", single<RMSprop>(RMSpropOptions{.lr = 0.01, .momentum = 0.5})},
      {"rmsprop/centered", single<RMSprop>(RMSpropOptions{.lr = 0.01, .centered = true})},
      {"rmsprop/centered_momentum_wd",
       single<RMSprop>(RMSpropOptions{.lr = 0.01, .alpha = 0.9, .weight_decay = 0.01, .momentum = 0.9, .centered = true})},
      {"rmsprop/groups", grouped<RMSprop>(RMSpropOptions{.lr = 0.01}, RMSpropOptions{.lr = 0.001, .momentum = 0.9})},
      {"adagrad/default", single<Adagrad>(AdagradOptions{.lr = 0.1})},
      {"adagrad/options", single<Adagrad>(AdagradOptions{
                              .lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.01, .initial_accumulator_value = 0.1, .eps = 1e-8})},
      {"adagrad/groups", grouped<Adagrad>(AdagradOptions{.lr = 0.1}, AdagradOptions{.lr = 0.01, .lr_decay = 0.1})},
      {"adagrad/skip", single<Adagrad>(AdagradOptions{.lr = 0.1}), true},
  };
}

TEST(OptimGoldens, OptimizersMatchTorchEveryStep) {
  for (const OptimizerCase& c : optimizer_cases()) {
    SCOPED_TRACE(c.name);
    std::vector<Tensor> params;
    for (int j = 0; j < kParams; ++j) {
      params.push_back(golden("opt/params." + std::to_string(j)).clone().requires_grad_());
    }
    auto opt = c.make(params);
    for (int s = 0; s < kSteps; ++s) {
      for (int j = 0; j < kParams; ++j) {
        const bool skip = c.skip && j == 1 && kSkipSteps.count(s);
        params[j].set_grad(skip ? Tensor() : golden("opt/grads." + std::to_string(s) + "." + std::to_string(j)).clone());
      }
      opt->step();
      for (int j = 0; j < kParams; ++j) {
        ASSERT_TRUE(close_f32(params[j], golden("opt/" + c.name + "/after." + std::to_string(s) + "." + std::to_string(j))))
            << "step " << s << ", parameter " << j;
      }
    }
  }
}

// ---- schedulers ----

std::unique_ptr<SGD> two_group_sgd() {
  return std::make_unique<SGD>(std::vector<ParamGroup<SGDOptions>>{
      {.params = {zeros({1}).requires_grad_()}, .options = {.lr = 0.1, .momentum = 0.9}},
      {.params = {zeros({1}).requires_grad_()}, .options = {.lr = 0.05, .momentum = 0.9}}});
}
std::unique_ptr<Adam> two_group_adam() {
  return std::make_unique<Adam>(std::vector<ParamGroup<AdamOptions>>{
      {.params = {zeros({1}).requires_grad_()}, .options = {.lr = 0.1}},
      {.params = {zeros({1}).requires_grad_()}, .options = {.lr = 0.05}}});
}

struct SchedulerCase {
  std::string name;
  std::function<std::unique_ptr<Optimizer>()> make_optimizer;
  // Returns a step function (so ReduceLROnPlateau fits with the others).
  std::function<std::function<void(double metric)>(Optimizer&)> make_scheduler;
  std::string momentum = {};  // the option OneCycleLR cycles
};

template <class Sched, class... Args>
std::function<std::function<void(double)>(Optimizer&)> sched(Args... args) {
  return [=](Optimizer& opt) {
    auto s = std::make_shared<Sched>(opt, args...);
    return std::function<void(double)>([s](double) { s->step(); });
  };
}

std::vector<SchedulerCase> scheduler_cases() {
  auto sgd = [] { return std::unique_ptr<Optimizer>(two_group_sgd()); };
  auto adam = [] { return std::unique_ptr<Optimizer>(two_group_adam()); };
  return {
      {"step", sgd, sched<StepLR>(int64_t(7), 0.5)},
      {"multistep", sgd, sched<MultiStepLR>(std::vector<int64_t>{12, 5, 12, 20}, 0.3)},
      {"exponential", sgd, sched<ExponentialLR>(0.9)},
      {"cosine", sgd, sched<CosineAnnealingLR>(int64_t(10), 0.001)},
      {"cosine_long", sgd, sched<CosineAnnealingLR>(int64_t(30))},
      {"linear_warmup", sgd, sched<LinearLR>(LinearLROptions{.start_factor = 0.1, .total_iters = 8})},
      {"linear_decay", sgd, sched<LinearLR>(LinearLROptions{.start_factor = 1.0, .end_factor = 0.2, .total_iters = 10})},
      {"warmup_cosine", sgd,
       [](Optimizer& opt) {
         auto warmup = std::make_shared<LinearLR>(opt, LinearLROptions{.start_factor = 0.1, .total_iters = 5});
         auto cosine = std::make_shared<CosineAnnealingLR>(opt, 25);
         auto s = std::make_shared<SequentialLR>(opt, std::vector<std::shared_ptr<LRScheduler>>{warmup, cosine},
                                                 std::vector<int64_t>{5});
         return std::function<void(double)>([s](double) { s->step(); });
       }},
      {"warmup_step_exp", sgd,
       [](Optimizer& opt) {
         auto a = std::make_shared<LinearLR>(opt, LinearLROptions{.start_factor = 0.25, .total_iters = 4});
         auto b = std::make_shared<StepLR>(opt, 3, 0.5);
         auto c = std::make_shared<ExponentialLR>(opt, 0.8);
         auto s = std::make_shared<SequentialLR>(opt, std::vector<std::shared_ptr<LRScheduler>>{a, b, c},
                                                 std::vector<int64_t>{6, 15});
         return std::function<void(double)>([s](double) { s->step(); });
       }},
      {"onecycle", sgd, sched<OneCycleLR>(OneCycleLROptions{.max_lr = {1.0}, .total_steps = 30}), "momentum"},
      {"onecycle_three_phase_linear", adam,
       sched<OneCycleLR>(OneCycleLROptions{.max_lr = {1.0, 0.5},
                                           .epochs = 3,
                                           .steps_per_epoch = 11,
                                           .pct_start = 0.25,
                                           .anneal_strategy = "linear",
                                           .div_factor = 10,
                                           .final_div_factor = 100,
                                           .three_phase = true}),
       "betas.0"},
      {"plateau", sgd,
       [](Optimizer& opt) {
         auto s = std::make_shared<ReduceLROnPlateau>(
             opt, ReduceLROnPlateauOptions{.factor = 0.5, .patience = 2, .threshold = 0.01, .cooldown = 1, .min_lr = {0.01}});
         return std::function<void(double)>([s](double m) { s->step(m); });
       }},
      {"plateau_max_abs", sgd,
       [](Optimizer& opt) {
         auto s = std::make_shared<ReduceLROnPlateau>(opt, ReduceLROnPlateauOptions{.mode = "max",
                                                                                    .factor = 0.2,
                                                                                    .patience = 1,
                                                                                    .threshold = 0.05,
                                                                                    .threshold_mode = "abs",
                                                                                    .min_lr = {0.001, 0.02}});
         return std::function<void(double)>([s](double m) { s->step(m); });
       }},
  };
}

// The schedules are double arithmetic in the same order as torch's (and
// scheduler.cpp is built without FMA contraction), so they agree exactly.
::testing::AssertionResult same_double(double actual, double expected) {
  if (actual == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << std::setprecision(17) << actual << " vs " << expected;
}

TEST(OptimGoldens, SchedulersMatchTorchEveryStep) {
  for (const SchedulerCase& c : scheduler_cases()) {
    SCOPED_TRACE(c.name);
    auto opt = c.make_optimizer();
    auto step = c.make_scheduler(*opt);
    const Tensor lr = golden("sched/" + c.name + "/lr");
    const bool plateau = goldens().count("sched/" + c.name + "/metrics") > 0;
    const std::vector<double> metrics =
        plateau ? golden("sched/" + c.name + "/metrics").to_vector<double>() : std::vector<double>(lr.size(0));
    const std::vector<double> expected = lr.to_vector<double>();
    const std::vector<double> momentum =
        c.momentum.empty() ? std::vector<double>{} : golden("sched/" + c.name + "/momentum").to_vector<double>();
    for (int64_t s = 0; s < lr.size(0); ++s) {
      if (s > 0) step(metrics[s - 1]);
      for (size_t g = 0; g < 2; ++g) {
        ASSERT_TRUE(same_double(opt->lr(g), expected[s * 2 + g])) << "step " << s << ", group " << g;
        if (!c.momentum.empty()) {
          ASSERT_TRUE(same_double(opt->option(g, c.momentum), momentum[s * 2 + g])) << "momentum, step " << s;
        }
      }
    }
  }
}

// ---- clipping ----

TEST(OptimGoldens, ClippingMatchesTorch) {
  struct ClipCase {
    std::string name;
    double max_norm_or_value;
    std::optional<double> norm_type;  // unset: clip_grad_value_
  };
  const std::vector<ClipCase> cases = {
      {"norm2", 1.0, 2.0}, {"norm2_no_clip", 100.0, 2.0}, {"norm1", 2.0, 1.0},
      {"norm_inf", 0.5, kInf}, {"norm3", 0.7, 3.0}, {"value", 0.3, std::nullopt},
  };
  for (const ClipCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Tensor> params;
    for (int j = 0; j < kParams; ++j) {
      const Tensor& g = golden("clip/grads." + std::to_string(j));
      params.push_back(zeros(g.sizes()).requires_grad_());
      params.back().set_grad(g.clone());
    }
    if (c.norm_type) {
      const double total = clip_grad_norm_(params, c.max_norm_or_value, *c.norm_type);
      const double expected = golden("clip/" + c.name + "/total_norm").item<double>();
      // torch accumulates the norm in float32, Ember in float64 then rounds.
      EXPECT_NEAR(total, expected, 1e-5 + 1.3e-6 * expected);
    } else {
      clip_grad_value_(params, c.max_norm_or_value);
    }
    for (int j = 0; j < kParams; ++j)
      EXPECT_TRUE(close_f32(params[j].grad(), golden("clip/" + c.name + "/grads." + std::to_string(j)))) << j;
  }
}

}  // namespace
}  // namespace ember::optim
