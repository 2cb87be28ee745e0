// `ember train --compile` (Note [Compiled training steps] in trainer.h):
// training through compiled steps ends with the eager run's checkpoint, bit
// for bit, and the same test metrics.
#include <gtest/gtest.h>

#include <cstring>

#include "ember/ember.h"
#include "ember/io/checkpoint.h"
#include "helpers.h"
#include "trainer.h"

using namespace ember;
using namespace ember::cli;

namespace {

// Noise images with a bright row band per class (learnable in a few steps).
TrainData band_data(int64_t n_train, int64_t n_test) {
  Generator gen(5);
  auto split = [&](int64_t n) {
    Tensor labels = randint(0, 10, {n}, DType::i64, &gen);
    Tensor images = randn({n, 1, 28, 28}, DType::f32, &gen) * 0.5;
    const std::vector<int64_t> classes = labels.to_vector<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = classes[size_t(i)];
      images.index_put_({i, 0, Slice(2 * c, 2 * c + 2)}, 2.0);
    }
    return std::make_shared<data::TensorDataset>(images.contiguous(), labels);
  };
  return {split(n_train), split(n_test)};
}

struct Outcome {
  TrainResult result;
  io::SafetensorsContents checkpoint;
};

Outcome run(const Recipe& recipe, const TrainData& data, const std::string& out, bool compile) {
  manual_seed(3);
  nn::AnyModule model = build_model(recipe);
  Outcome r;
  r.result = train(recipe, model, data, {.out_dir = out, .seed = 11, .deterministic = true, .compile = compile});
  r.checkpoint = io::load_safetensors_file(r.result.checkpoint);
  return r;
}

class CompiledTrainer : public ::testing::TestWithParam<const char*> {};

}  // namespace

// 100 examples in batches of 16: six full batches and one of 4 per epoch, so
// two shapes are compiled; over three epochs each runs as a graph.
TEST_P(CompiledTrainer, GivesTheEagerCheckpoint) {
  Recipe recipe = load_recipe(GetParam());
  recipe.batch_size = 16;
  recipe.epochs = 3;
  const TrainData data = band_data(100, 40);
  tools_test::TempDir dir;
  const Outcome eager = run(recipe, data, dir / "eager", false);
  const Outcome compiled = run(recipe, data, dir / "compiled", true);
  EXPECT_EQ(compiled.result.step, 21);
  EXPECT_EQ(eager.result.test.accuracy, compiled.result.test.accuracy);
  EXPECT_EQ(eager.result.test.loss, compiled.result.test.loss);
  ASSERT_EQ(eager.checkpoint.tensors.size(), compiled.checkpoint.tensors.size());
  for (const auto& [name, x] : eager.checkpoint.tensors) {
    ASSERT_TRUE(compiled.checkpoint.tensors.count(name)) << name;
    const Tensor& y = compiled.checkpoint.tensors.at(name);
    ASSERT_EQ(x.meta_str(), y.meta_str()) << name;
    EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), size_t(x.numel()) * x.itemsize()), 0) << name;
  }
  // Step counts, learning rate, the running epoch loss, the RNG state.
  for (const auto& [key, value] : eager.checkpoint.metadata) {
    if (key.starts_with("info.")) continue;
    ASSERT_TRUE(compiled.checkpoint.metadata.count(key)) << key;
    EXPECT_EQ(value, compiled.checkpoint.metadata.at(key)) << key;
  }
}

// fashion-mlp: SGD with momentum and a cosine schedule; fashion-cnn: Adam,
// dropout, label smoothing and a cosine schedule.
INSTANTIATE_TEST_SUITE_P(Trainer, CompiledTrainer, ::testing::Values("fashion-mlp", "fashion-cnn"),
                         [](const auto& info) { return std::string(info.param) == "fashion-mlp" ? "mlp" : "cnn"; });
