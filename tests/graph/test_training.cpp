// A whole training step compiled: ember::compile of forward, backward and
// optimizer.step() gives one graph, and training with it leaves the same
// weights, optimizer state and losses as eager training, bit for bit (the
// graph runs the same kernels, the optimizers' updates included; see
// Note [Traced optimizer steps] in src/optim/update.h).
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "ember/ember.h"
#include "graph/graph_testing.h"
#include "support/expect_error.h"

namespace ember::graph {
namespace {

using testing::expect_identical;
namespace nn = ember::nn;
namespace optim = ember::optim;

constexpr int kSteps = 20;
constexpr int64_t kBatch = 16;

// The built-in recipes' models (tools/ember/recipe.cpp).
nn::Sequential fashion_mlp() {
  return nn::Sequential{nn::Flatten(), nn::Linear(784, 512), nn::ReLU(),
                        nn::Linear(512, 512), nn::ReLU(), nn::Linear(512, 10)};
}

nn::Sequential fashion_cnn() {
  return nn::Sequential{nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(32, 64, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(3136, 128), nn::ReLU(), nn::Dropout(0.25),
                        nn::Linear(128, 10)};
}

// Fashion-MNIST-shaped batches, the same in every run.
std::vector<TensorList> batches() {
  Generator gen(123);
  std::vector<TensorList> out;
  for (int s = 0; s < kSteps; ++s)
    out.push_back({randn({kBatch, 1, 28, 28}, DType::f32, &gen), randint(0, 10, {kBatch}, DType::i64, &gen)});
  return out;
}

using OptimizerFactory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

struct TrainingCase {
  std::string name;
  std::function<nn::Sequential()> model;
  OptimizerFactory optimizer;
  double label_smoothing = 0;
  double clip_grad_norm = 0;  // > 0: optim::clip_grad_norm_ before the step
};

enum class Schedule { none, cosine, one_cycle };

// One model, optimizer and optional per-step LR schedule, trained eagerly or compiled.
struct Session {
  nn::Sequential net;
  std::unique_ptr<optim::Optimizer> opt;
  std::unique_ptr<optim::LRScheduler> scheduler;
  double label_smoothing, clip_grad_norm;

  Session(const TrainingCase& setup, Schedule schedule)
      : label_smoothing(setup.label_smoothing), clip_grad_norm(setup.clip_grad_norm) {
    manual_seed(7);  // the same initial weights in every run
    net = setup.model();
    opt = setup.optimizer(net.parameters());
    if (schedule == Schedule::cosine) scheduler = std::make_unique<optim::CosineAnnealingLR>(*opt, kSteps, 1e-5);
    // Cycles momentum (SGD) or betas.0 (Adam) too.
    if (schedule == Schedule::one_cycle)
      scheduler = std::make_unique<optim::OneCycleLR>(
          *opt, optim::OneCycleLROptions{.max_lr = {0.01}, .total_steps = kSteps, .cycle_momentum = true});
  }

  TensorList step(const TensorList& in) {
    opt->zero_grad();
    Tensor loss = cross_entropy(net(in[0]), in[1], {.label_smoothing = label_smoothing});
    loss.backward();
    if (clip_grad_norm > 0) optim::clip_grad_norm_(net.parameters(), clip_grad_norm);
    opt->step();
    return {loss};
  }
};

struct Trained {
  std::vector<Tensor> losses;
  std::unique_ptr<Session> session;
  std::string graph_text;  // compiled runs: the graph
  size_t update_nodes = 0, backward_nodes = 0, copy_updates = 0, grad_updates = 0;
  size_t updates_in_place = 0;     // copy_into updates the plan computes in the parameter's tensor
  bool parameters_moved = false;  // a parameter's data pointer changed during training
};

CompileOptions compile_options(int warmup_calls, bool optimize = true) {
  CompileOptions options;
  options.warmup_calls = warmup_calls;
  options.optimize = optimize;
  return options;
}

Trained train(const TrainingCase& setup, bool compiled, Schedule schedule = Schedule::none,
              CompileOptions options = {}) {
  Trained t;
  t.session = std::make_unique<Session>(setup, schedule);
  Session& r = *t.session;
  manual_seed(99);  // dropout masks: the same stream in every run
  std::function<TensorList(const TensorList&)> step = [&](const TensorList& in) { return r.step(in); };
  std::unique_ptr<CompiledFunction> compiled_step;
  if (compiled) {
    options.named_state = jit::named_state(r.net);
    compiled_step = std::make_unique<CompiledFunction>(step, options);
    step = [&](const TensorList& in) { return (*compiled_step)(in); };
  }
  const std::vector<TensorList> data = batches();
  std::vector<const void*> storage;
  for (const Tensor& p : r.net.parameters()) storage.push_back(p.raw_data());
  for (const TensorList& batch : data) {
    t.losses.push_back(step(batch)[0]);
    if (r.scheduler) r.scheduler->step();  // host code: outside the compiled function
  }
  if (compiled) {
    EXPECT_EQ(compiled_step->num_compiled(), 1u);
    const Graph* g = compiled_step->graph_for(data[0]);
    EXPECT_NE(g, nullptr);
    if (g == nullptr) return t;
    t.graph_text = print(*g);
    for (const Node& n : g->nodes) {
      const std::string_view name = n.op->name;
      t.update_nodes += name.ends_with("_update");
      t.backward_nodes += name.find("backward") != std::string_view::npos;
    }
    for (const StateUpdate& u : g->updates)
      (u.kind == StateUpdate::Kind::copy_into ? t.copy_updates : t.grad_updates) += 1;
    const MemoryPlan plan = plan_memory(*g, {});
    for (const StateUpdate& u : g->updates) t.updates_in_place += plan.into_state[size_t(u.value)] == u.target;
  }
  const auto params = r.net.parameters();
  for (size_t i = 0; i < params.size(); ++i) t.parameters_moved |= params[i].raw_data() != storage[i];
  return t;
}

size_t num_state_buffers(const optim::Optimizer& opt) { return opt.state_dict().tensors.size(); }

void expect_same_training(const Trained& eager, const Trained& compiled) {
  ASSERT_EQ(eager.losses.size(), compiled.losses.size());
  for (size_t s = 0; s < eager.losses.size(); ++s) {
    SCOPED_TRACE("loss of step " + std::to_string(s));
    expect_identical(eager.losses[s], compiled.losses[s]);
  }
  const auto a = eager.session->net.named_parameters(), b = compiled.session->net.named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(a[i].first);
    expect_identical(a[i].second, b[i].second);
    expect_identical(a[i].second.grad(), b[i].second.grad());
  }
  const optim::StateDict x = eager.session->opt->state_dict(), y = compiled.session->opt->state_dict();
  EXPECT_EQ(x.values, y.values);  // step counts, lr and every option
  ASSERT_EQ(x.tensors.size(), y.tensors.size());
  for (const auto& [key, value] : x.tensors) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(y.tensors.contains(key));
    expect_identical(value, y.tensors.at(key));
  }
}

// One graph: forward, backward, one update node per parameter writing the
// parameter and its state back, and every gradient assigned.
void expect_training_graph(const Trained& compiled) {
  const size_t params = compiled.session->net.parameters().size();
  EXPECT_EQ(compiled.update_nodes, params) << compiled.graph_text;
  EXPECT_GT(compiled.backward_nodes, 0u) << compiled.graph_text;
  EXPECT_EQ(compiled.copy_updates, params + num_state_buffers(*compiled.session->opt)) << compiled.graph_text;
  EXPECT_EQ(compiled.grad_updates, params) << compiled.graph_text;
  // Weights and optimizer state are updated in place, as eager step() does.
  EXPECT_EQ(compiled.updates_in_place, compiled.copy_updates) << compiled.graph_text;
  EXPECT_FALSE(compiled.parameters_moved);
}

std::vector<TrainingCase> setups() {
  auto sgd = [](std::vector<Tensor> p) {
    return std::make_unique<optim::SGD>(p, optim::SGDOptions{.lr = 0.05, .momentum = 0.9});
  };
  auto adam = [](std::vector<Tensor> p) { return std::make_unique<optim::Adam>(p, optim::AdamOptions{.lr = 1e-3}); };
  auto adamw = [](std::vector<Tensor> p) {
    return std::make_unique<optim::AdamW>(p, optim::AdamWOptions{.lr = 1e-3, .amsgrad = true});
  };
  auto rmsprop = [](std::vector<Tensor> p) {
    return std::make_unique<optim::RMSprop>(
        p, optim::RMSpropOptions{.lr = 1e-3, .weight_decay = 1e-4, .momentum = 0.9, .centered = true});
  };
  auto adagrad = [](std::vector<Tensor> p) {
    return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions{.lr = 1e-2, .lr_decay = 1e-3});
  };
  auto nesterov = [](std::vector<Tensor> p) {
    return std::make_unique<optim::SGD>(
        p, optim::SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true});
  };
  return {
      {"mlp_sgd_momentum", fashion_mlp, sgd},
      {"mlp_sgd_nesterov_weight_decay", fashion_mlp, nesterov},
      {"mlp_adam", fashion_mlp, adam},
      {"mlp_adamw_amsgrad", fashion_mlp, adamw},
      {"mlp_rmsprop_centered_momentum", fashion_mlp, rmsprop},
      {"mlp_adagrad", fashion_mlp, adagrad},
      {"mlp_sgd_clip_grad_norm", fashion_mlp, sgd, 0, 0.5},
      {"cnn_sgd_momentum", fashion_cnn, sgd, 0.1},
      {"cnn_adam", fashion_cnn, adam, 0.1},
      {"cnn_adamw_amsgrad", fashion_cnn, adamw, 0.1},
  };
}

void PrintTo(const TrainingCase& c, std::ostream* os) { *os << c.name; }

class CompiledTraining : public ::testing::TestWithParam<TrainingCase> {};

TEST_P(CompiledTraining, MatchesEagerBitForBit) {
  const Trained eager = train(GetParam(), /*compiled=*/false);
  const Trained compiled = train(GetParam(), /*compiled=*/true);
  expect_same_training(eager, compiled);
  expect_training_graph(compiled);
}

INSTANTIATE_TEST_SUITE_P(Training, CompiledTraining, ::testing::ValuesIn(setups()),
                         [](const auto& info) { return info.param.name; });

// LR schedulers change the options between runs; the graph reads them at
// each run: lr (cosine), and lr with momentum or betas.0 (one-cycle).
TEST(CompiledTraining, FollowsLrSchedulers) {
  for (const Schedule schedule : {Schedule::cosine, Schedule::one_cycle}) {
    for (const TrainingCase& setup : {setups()[0], setups()[2], setups()[5]}) {
      if (schedule == Schedule::one_cycle && setup.name == "mlp_adagrad") continue;  // nothing to cycle
      SCOPED_TRACE(setup.name + (schedule == Schedule::cosine ? " cosine" : " one-cycle"));
      const Trained eager = train(setup, false, schedule);
      const Trained compiled = train(setup, true, schedule);
      expect_same_training(eager, compiled);
      EXPECT_NE(compiled.graph_text.find("lr=<host>"), std::string::npos) << compiled.graph_text;
      EXPECT_LT(compiled.session->opt->lr(0), 1e-3) << "the schedule did not run";
    }
  }
}

// load_state_dict writes into the buffers a compiled step holds: training
// on after a reload is the eager training.
TEST(CompiledTraining, LoadStateDictUnderACompiledStep) {
  const TrainingCase setup = setups()[3];
  const std::vector<TensorList> data = batches();
  Session eager(setup, Schedule::none), compiled(setup, Schedule::none);
  CompiledFunction step([&](const TensorList& in) { return compiled.step(in); }, compile_options(1));
  optim::StateDict saved;
  for (int s = 0; s < kSteps; ++s) {
    if (s == 8) saved = eager.opt->state_dict();
    if (s == 12) {  // back to the state of step 8 (and on with steps 12...)
      eager.opt->load_state_dict(saved);
      compiled.opt->load_state_dict(saved);
    }
    expect_identical(eager.step(data[size_t(s)])[0], step(data[size_t(s)])[0]);
  }
  const auto a = eager.net.parameters(), b = compiled.net.parameters();
  for (size_t i = 0; i < a.size(); ++i) expect_identical(a[i], b[i]);
  const optim::StateDict x = eager.opt->state_dict(), y = compiled.opt->state_dict();
  EXPECT_EQ(x.values, y.values);
  for (const auto& [key, value] : x.tensors) expect_identical(value, y.tensors.at(key));
}

// Options that decide which state buffers exist cannot change under a graph.
TEST(CompiledTraining, ChangingTheStateLayoutNeedsANewTrace) {
  Session r(setups()[0], Schedule::none);
  CompiledFunction step([&](const TensorList& in) { return r.step(in); }, compile_options(1));
  const std::vector<TensorList> data = batches();
  for (int s = 0; s < 3; ++s) step(data[size_t(s)]);
  r.opt->set_option(0, "momentum", 0);
  testing::expect_error<ValueError>([&] { step(data[3]); }, {"state buffers", "compile the training step again"});
}

// Without a warm-up call the trace itself is the first step: SGD's momentum
// buffer and Adam's moments are created while tracing and still shared.
TEST(CompiledTraining, TracingTheFirstStep) {
  for (const TrainingCase& setup : {setups()[0], setups()[3], setups()[5]}) {
    SCOPED_TRACE(setup.name);
    const Trained eager = train(setup, false);
    const Trained compiled = train(setup, true, Schedule::none, compile_options(/*warmup_calls=*/0));
    expect_same_training(eager, compiled);
  }
}

// The unoptimized graph too (no fusion or rewrites between eager and graph).
TEST(CompiledTraining, UnoptimizedGraph) {
  const TrainingCase setup = setups()[2];
  expect_same_training(train(setup, false), train(setup, true, Schedule::none, compile_options(1, /*optimize=*/false)));
}

// The traced call is an eager step too: it updates everything exactly once.
TEST(CompiledTraining, TheTracedCallStepsOnce) {
  const TrainingCase setup = setups()[2];
  Session eager(setup, Schedule::none), traced(setup, Schedule::none);
  const TensorList batch = batches()[0];
  eager.step(batch);
  CompiledFunction step([&](const TensorList& in) { return traced.step(in); }, compile_options(0));
  step(batch);
  EXPECT_EQ(step.num_compiled(), 1u);
  EXPECT_EQ(traced.opt->state_dict().values.at("state.0.step"), "1");
  const auto a = eager.net.parameters(), b = traced.net.parameters();
  for (size_t i = 0; i < a.size(); ++i) expect_identical(a[i], b[i]);
}

// clip_grad_norm_'s error_if_nonfinite needs the norm on the host.
TEST(CompiledTraining, NonfiniteCheckOfClippingIsATraceError) {
  Session r(setups()[0], Schedule::none);
  auto fn = [&](const TensorList& in) {
    cross_entropy(r.net(in[0]), in[1]).backward();
    optim::clip_grad_norm_(r.net.parameters(), 1.0, 2.0, /*error_if_nonfinite=*/true);
    return TensorList{};
  };
  testing::expect_error<TraceError>([&] { trace(fn, batches()[0]); }, {"clip_grad_norm_", "error_if_nonfinite"});
}

// Functions that update state are traced once, without dynamic dimensions.
TEST(CompiledTraining, DynamicBatchOfATrainingStepIsAnError) {
  Session r(setups()[0], Schedule::none);
  auto fn = [&](const TensorList& in) { return r.step(in); };
  r.step(batches()[0]);
  TraceOptions dynamic_batch;
  dynamic_batch.dynamic = {{0, 0, "batch"}, {1, 0, "batch"}};
  testing::expect_error<TraceError>([&] { trace(fn, batches()[1], dynamic_batch); },
                                    {"updates state", "dynamic dimensions"});
}

}  // namespace
}  // namespace ember::graph
