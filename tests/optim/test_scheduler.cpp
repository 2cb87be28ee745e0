// LR scheduler behaviour beyond the goldens: resuming from state_dict, the
// initial_lr hand-off between schedulers, and errors. Clipping edge cases.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>

#include "ember/ember.h"
#include "support/expect_error.h"

namespace ember::optim {
namespace {

using ember::testing::expect_error;

SGD make_sgd() {
  return SGD(std::vector<ParamGroup<SGDOptions>>{
      {.params = {zeros({2}).requires_grad_()}, .options = {.lr = 0.1, .momentum = 0.9}},
      {.params = {zeros({2}).requires_grad_()}, .options = {.lr = 0.02, .momentum = 0.9}}});
}

using SchedulerFactory = std::function<std::shared_ptr<LRScheduler>(Optimizer&)>;

std::vector<std::pair<std::string, SchedulerFactory>> all_schedulers() {
  return {
      {"StepLR", [](Optimizer& o) { return std::make_shared<StepLR>(o, 3, 0.5); }},
      {"MultiStepLR", [](Optimizer& o) { return std::make_shared<MultiStepLR>(o, std::vector<int64_t>{2, 6}); }},
      {"ExponentialLR", [](Optimizer& o) { return std::make_shared<ExponentialLR>(o, 0.9); }},
      {"CosineAnnealingLR", [](Optimizer& o) { return std::make_shared<CosineAnnealingLR>(o, 7, 1e-3); }},
      {"LinearLR", [](Optimizer& o) { return std::make_shared<LinearLR>(o, LinearLROptions{.start_factor = 0.2}); }},
      {"SequentialLR",
       [](Optimizer& o) {
         auto warmup = std::make_shared<LinearLR>(o, LinearLROptions{.start_factor = 0.1, .total_iters = 4});
         auto cosine = std::make_shared<CosineAnnealingLR>(o, 12);
         return std::make_shared<SequentialLR>(o, std::vector<std::shared_ptr<LRScheduler>>{warmup, cosine},
                                               std::vector<int64_t>{4});
       }},
      {"OneCycleLR",
       [](Optimizer& o) { return std::make_shared<OneCycleLR>(o, OneCycleLROptions{.max_lr = {0.5}, .total_steps = 20}); }},
  };
}

// Resuming = a fresh optimizer and scheduler built as at the start, then the
// optimizer's and the scheduler's state loaded (the checkpoint order of torch).
TEST(Scheduler, StateDictResumesTheSchedule) {
  for (const auto& [name, make] : all_schedulers()) {
    SCOPED_TRACE(name);
    SGD straight = make_sgd();
    auto a = make(straight);
    std::vector<std::vector<double>> expected;
    for (int s = 0; s < 16; ++s) {
      a->step();
      expected.push_back({straight.lr(0), straight.lr(1), straight.option(0, "momentum")});
    }

    SGD first = make_sgd();
    auto b = make(first);
    for (int s = 0; s < 7; ++s) b->step();
    const StateDict opt_state = first.state_dict();
    const StateDict sched_state = b->state_dict();

    SGD second = make_sgd();
    auto c = make(second);
    second.load_state_dict(opt_state);
    c->load_state_dict(sched_state);
    EXPECT_EQ(c->last_epoch(), 7);
    EXPECT_EQ(c->get_last_lr(), b->get_last_lr());
    for (int s = 7; s < 16; ++s) {
      c->step();
      EXPECT_EQ(second.lr(0), expected[s][0]) << "step " << s;
      EXPECT_EQ(second.lr(1), expected[s][1]) << "step " << s;
      EXPECT_EQ(second.option(0, "momentum"), expected[s][2]) << "step " << s;
    }
  }
}

TEST(Scheduler, ReduceLROnPlateauResumes) {
  const std::vector<double> metrics = {1, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8};
  const ReduceLROnPlateauOptions options{.factor = 0.5, .patience = 1, .cooldown = 1};
  SGD straight = make_sgd();
  ReduceLROnPlateau a(straight, options);
  for (double m : metrics) a.step(m);

  SGD first = make_sgd();
  ReduceLROnPlateau b(first, options);
  for (size_t s = 0; s < 4; ++s) b.step(metrics[s]);
  SGD second = make_sgd();
  ReduceLROnPlateau c(second, options);
  second.load_state_dict(first.state_dict());
  c.load_state_dict(b.state_dict());
  EXPECT_EQ(c.best(), 0.9);
  for (size_t s = 4; s < metrics.size(); ++s) c.step(metrics[s]);
  EXPECT_EQ(c.get_last_lr(), a.get_last_lr());
  EXPECT_EQ(c.last_epoch(), a.last_epoch());
  EXPECT_LT(a.get_last_lr()[0], 0.1);  // the schedule did reduce
}

TEST(Scheduler, SecondSchedulerStartsFromInitialLr) {
  SGD opt = make_sgd();
  StepLR first(opt, 1, 0.5);
  first.step();
  EXPECT_EQ(opt.lr(0), 0.05);
  // As torch: base_lrs come from group["initial_lr"], set by the first scheduler.
  ExponentialLR second(opt, 0.9);
  EXPECT_EQ(second.base_lrs(), (std::vector<double>{0.1, 0.02}));
  EXPECT_EQ(opt.initial_lr(1), 0.02);
}

TEST(Scheduler, LoadStateDictValidates) {
  SGD opt = make_sgd();
  StepLR step(opt, 3);
  StateDict state = step.state_dict();
  EXPECT_EQ(state.values.at("scheduler"), "StepLR");
  EXPECT_EQ(state.values.at("base_lrs.1"), "0.02");

  ExponentialLR other(opt, 0.5);
  EXPECT_THROW(other.load_state_dict(state), ValueError);
  StateDict bad = state;
  bad.values.erase("last_epoch");
  EXPECT_THROW(step.load_state_dict(bad), ValueError);
  bad = state;
  bad.values["base_lrs.2"] = "0.1";  // three groups saved, two here
  try {
    step.load_state_dict(bad);
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("more than 2 entries base_lrs.*"), std::string::npos) << e.what();
  }
  bad = state;
  bad.values["last_epoch"] = "x";
  EXPECT_THROW(step.load_state_dict(bad), ValueError);
}

TEST(Scheduler, BadArgumentsAreValueErrors) {
  SGD opt = make_sgd();
  expect_error<ValueError>([&] { StepLR(opt, 0); }, "StepLR: step_size must be positive, got 0");
  expect_error<ValueError>([&] { CosineAnnealingLR(opt, -1); }, "CosineAnnealingLR: T_max must be positive");
  expect_error<ValueError>([&] { LinearLR(opt, {.start_factor = 0}); }, "LinearLR: start_factor must be in (0, 1], got 0");
  expect_error<ValueError>([&] { LinearLR(opt, {.end_factor = 2}); }, "LinearLR: end_factor must be in [0, 1], got 2");
  expect_error<ValueError>([&] { OneCycleLR(opt, {.max_lr = {0.1}}); }, "define either total_steps or (epochs and steps_per_epoch)");
  expect_error<ValueError>([&] { OneCycleLR(opt, {.max_lr = {0.1, 0.2, 0.3}, .total_steps = 5}); },
                     "max_lr has 3 values, expected 1 or one per parameter group (2)");
  expect_error<ValueError>([&] { OneCycleLR(opt, {.max_lr = {0.1}, .total_steps = 5, .anneal_strategy = "exp"}); },
                     "anneal_strategy must be \"cos\" or \"linear\"");
  {
    Adagrad adagrad({zeros({1}).requires_grad_()});
    expect_error<ValueError>([&] { OneCycleLR(adagrad, {.max_lr = {0.1}, .total_steps = 5}); },
                       "Adagrad has neither momentum nor betas");
  }
  {
    OneCycleLR one(opt, {.max_lr = {0.1}, .total_steps = 2});
    one.step();
    one.step();
    expect_error<ValueError>([&] { one.step(); }, "OneCycleLR: tried to step 3 times; total_steps is 2");
  }
  expect_error<ValueError>([&] { ReduceLROnPlateau(opt, {.mode = "up"}); }, "mode must be \"min\" or \"max\", got \"up\"");
  expect_error<ValueError>([&] { ReduceLROnPlateau(opt, {.factor = 1.0}); }, "factor must be < 1, got 1");
  expect_error<ValueError>([&] { ReduceLROnPlateau(opt, {.threshold_mode = "pct"}); }, "threshold_mode must be");
  {
    SGD other = make_sgd();
    auto mine = std::make_shared<StepLR>(opt, 2);
    auto theirs = std::make_shared<StepLR>(other, 2);
    expect_error<ValueError>([&] { SequentialLR(opt, {mine, theirs}, {3}); },
                       "scheduler 1 (StepLR) belongs to a different optimizer");
    expect_error<ValueError>([&] { SequentialLR(opt, {mine}, {3}); }, "got 1 schedulers and 1 milestones");
  }
}

// ---- clipping ----

TEST(Clip, NonFiniteNormIsAnErrorOnlyWhenAsked) {
  Tensor p = zeros({3}).requires_grad_();
  p.set_grad(tensor({1.f, std::numeric_limits<float>::infinity(), 0.f}));
  try {
    clip_grad_norm_({p}, 1.0, 2.0, /*error_if_nonfinite=*/true);
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("total norm of order 2 for gradients from `parameters` is inf"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(p.grad().to_vector<float>()[0], 1.f);  // untouched
  EXPECT_TRUE(std::isinf(clip_grad_norm_({p}, 1.0)));
}

TEST(Clip, IgnoresParametersWithoutGradAndChecksArguments) {
  Tensor a = zeros({2}).requires_grad_(), b = zeros({2}).requires_grad_();
  a.set_grad(tensor({3.f, 4.f}));
  EXPECT_NEAR(clip_grad_norm_({a, b}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(norm(a.grad()).item<double>(), 1.0, 1e-5);
  EXPECT_FALSE(b.grad().defined());
  EXPECT_EQ(clip_grad_norm_({b}, 1.0), 0.0);
  EXPECT_THROW(clip_grad_norm_({a}, 1.0, 0.0), ValueError);
  EXPECT_THROW(clip_grad_value_({a}, -1.0), ValueError);
}

}  // namespace
}  // namespace ember::optim
