// The training loop: bit-identical resume (Note [Bit-identical resume] in
// trainer.h), evaluation, and what a resume refuses.
#include <gtest/gtest.h>

#include "ember/ember.h"
#include "ember/io/checkpoint.h"
#include "ember/ops/autocast.h"
#include "helpers.h"
#include "trainer.h"

using namespace ember;
using namespace ember::cli;

namespace {

// Noise images with a bright band at rows 2c, 2c+1 for class c: learnable in
// a few steps, small enough for the sanitizer build.
TrainData synthetic_data(int64_t n_train, int64_t n_test) {
  Generator gen(42);
  Tensor bands = zeros({10, 1, 28, 28});
  for (int64_t c = 0; c < 10; ++c) bands.index_put_({c, 0, Slice(2 * c, 2 * c + 2)}, 2.0);
  auto split = [&](int64_t n) {
    Tensor labels = randint(0, 10, {n}, DType::i64, &gen);
    Tensor images = randn({n, 1, 28, 28}, DType::f32, &gen) * 0.5 + index_select(bands, 0, labels);
    return std::make_shared<data::TensorDataset>(images.contiguous(), labels);
  };
  return {split(n_train), split(n_test)};
}

struct Outcome {
  TrainResult result;
  io::SafetensorsContents final_checkpoint;
};

Outcome run(const Recipe& recipe, const TrainData& data, const std::string& out, int64_t max_steps, bool resume,
            uint64_t init_seed) {
  // A resumed run must not depend on how its model was initialized.
  manual_seed(init_seed);
  nn::AnyModule model = build_model(recipe);
  Outcome r;
  r.result =
      train(recipe, model, data,
            {.out_dir = out, .resume = resume, .seed = 7, .deterministic = true, .workers = 2, .max_steps = max_steps});
  r.final_checkpoint = io::load_safetensors_file(r.result.checkpoint);
  return r;
}

void expect_bit_identical(const io::SafetensorsContents& a, const io::SafetensorsContents& b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, x] : a.tensors) {
    ASSERT_TRUE(b.tensors.count(name)) << name;
    const Tensor& y = b.tensors.at(name);
    ASSERT_EQ(x.meta_str(), y.meta_str()) << name;
    EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), size_t(x.numel()) * x.itemsize()), 0) << name;
  }
  // Everything but the checkpoint's own bookkeeping matches too: step counts,
  // scheduler counters, the RNG offset, the running epoch loss.
  for (const auto& [key, value] : a.metadata) {
    if (key.starts_with("info.")) continue;
    ASSERT_TRUE(b.metadata.count(key)) << key;
    EXPECT_EQ(value, b.metadata.at(key)) << key;
  }
}

struct ResumeCase {
  const char* recipe;
  const char* scheduler;
  int64_t stop_at;  // steps before the interruption
};

class Resume : public ::testing::TestWithParam<ResumeCase> {};

}  // namespace

// Training N steps, checkpointing and resuming to the end gives the same bits
// as the uninterrupted run: model, optimizer, scheduler, RNG and data order.
TEST_P(Resume, IsBitIdenticalToAnUninterruptedRun) {
  const ResumeCase c = GetParam();
  Recipe recipe = load_recipe(c.recipe);
  recipe.batch_size = 16;
  recipe.epochs = 2;  // 6 steps per epoch
  recipe.scheduler.name = c.scheduler;
  const TrainData data = synthetic_data(96, 32);
  tools_test::TempDir dir;

  const Outcome whole = run(recipe, data, dir / "whole", 0, false, 0);
  EXPECT_EQ(whole.result.step, 12);
  EXPECT_EQ(whole.result.epoch, 2);

  const Outcome first = run(recipe, data, dir / "split", c.stop_at, false, 0);
  EXPECT_EQ(first.result.step, c.stop_at);
  const Outcome second = run(recipe, data, dir / "split", 0, true, 12345);
  EXPECT_EQ(second.result.step, 12);
  EXPECT_EQ(second.result.checkpoint, dir / "split/epoch-2.safetensors");
  expect_bit_identical(whole.final_checkpoint, second.final_checkpoint);
  EXPECT_EQ(whole.result.test.accuracy, second.result.test.accuracy);
  EXPECT_EQ(whole.result.test.loss, second.result.test.loss);
}

INSTANTIATE_TEST_SUITE_P(Trainer, Resume,
                         ::testing::Values(
                             // Adam, dropout, a per-batch schedule; stopped mid-epoch.
                             ResumeCase{"fashion-cnn", "cosine", 4},
                             // SGD with momentum, a per-epoch schedule; stopped at an epoch's end.
                             ResumeCase{"fashion-mlp", "step", 6}, ResumeCase{"fashion-mlp", "onecycle", 9}));

TEST(Trainer, ResumeRefusesAnotherRecipe) {
  Recipe recipe = load_recipe("fashion-mlp");
  recipe.batch_size = 32;
  recipe.epochs = 1;
  const TrainData data = synthetic_data(64, 16);
  tools_test::TempDir dir;
  run(recipe, data, dir.path.string(), 1, false, 0);

  Recipe other = recipe;
  other.optimizer.lr = 0.5;
  try {
    run(other, data, dir.path.string(), 0, true, 0);
    ADD_FAILURE() << "resumed with another lr";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("was trained with optimizer = "), std::string::npos) << e.what();
  }
  // The cosine schedule spans all epochs, so they are part of the recipe.
  Recipe longer = recipe;
  longer.epochs = 3;
  EXPECT_THROW(run(longer, data, dir.path.string(), 0, true, 0), ValueError);
}

TEST(Trainer, ResumeWithoutACheckpoint) {
  const Recipe recipe = load_recipe("fashion-mlp");
  tools_test::TempDir dir;
  nn::AnyModule model = build_model(recipe);
  try {
    train(recipe, model, synthetic_data(8, 8), {.out_dir = dir.path.string(), .resume = true});
    ADD_FAILURE() << "no error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("no checkpoint in"), std::string::npos) << e.what();
  }
}

TEST(Trainer, LearnsAndWritesTensorBoardLogs) {
  Recipe recipe = load_recipe("fashion-mlp");
  recipe.batch_size = 16;
  recipe.epochs = 3;
  const TrainData data = synthetic_data(256, 64);
  tools_test::TempDir dir;
  std::ostringstream log;
  manual_seed(0);
  nn::AnyModule model = build_model(recipe);
  const TrainResult r = train(recipe, model, data, {.out_dir = dir.path.string(), .log_every = 4, .out = &log});
  EXPECT_GT(r.test.accuracy, 0.5) << log.str();
  EXPECT_NE(log.str().find("epoch 3/3  train loss"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("test accuracy"), std::string::npos);
  bool events = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    events |= entry.path().filename().string().starts_with("events.out.tfevents.");
  EXPECT_TRUE(events);
  EXPECT_TRUE(std::filesystem::exists(dir / "epoch-3.safetensors"));
  EXPECT_EQ(latest_checkpoint(dir.path.string()), dir / "epoch-3.safetensors");
}

// --autocast bf16: the CNN learns with its convolutions and linears in bf16,
// and the checkpoint holds the float32 master weights.
TEST(Trainer, AutocastTrainsFloat32Weights) {
  Recipe recipe = load_recipe("fashion-cnn");
  recipe.batch_size = 16;
  recipe.epochs = 2;
  const TrainData data = synthetic_data(256, 64);
  tools_test::TempDir dir;
  manual_seed(0);
  nn::AnyModule model = build_model(recipe);
  std::ostringstream log;
  const TrainResult r =
      train(recipe, model, data, {.out_dir = dir.path.string(), .autocast = DType::bf16, .out = &log});
  EXPECT_GT(r.test.accuracy, 0.5) << log.str();
  EXPECT_FALSE(is_autocast_enabled());
  const io::SafetensorsContents checkpoint = io::load_safetensors_file(r.checkpoint);
  for (const auto& [name, t] : checkpoint.tensors)
    if (name.starts_with("model.")) EXPECT_EQ(t.dtype(), DType::f32) << name;
}

TEST(Trainer, EvaluateCountsTheConfusionMatrix) {
  // A model that always answers class 2.
  nn::Linear linear(4, 3);
  linear.weight.detach().zero_();
  linear.bias.detach().copy_(tensor({0.f, 0.f, 1.f}));
  nn::AnyModule model(linear);
  const data::TensorDataset test(zeros({5, 4}), tensor({2, 2, 0, 1, 2}));
  const Evaluation e = evaluate(model, test, 2);
  EXPECT_EQ(e.examples, 5);
  EXPECT_DOUBLE_EQ(e.accuracy, 0.6);
  const std::vector<std::vector<int64_t>> expected = {{0, 0, 1}, {0, 0, 1}, {0, 0, 3}};
  EXPECT_EQ(e.confusion, expected);
  EXPECT_NEAR(e.loss, -std::log(std::exp(1.0) / (2 + std::exp(1.0))) * 0.6 - std::log(1 / (2 + std::exp(1.0))) * 0.4,
              1e-6);
}
