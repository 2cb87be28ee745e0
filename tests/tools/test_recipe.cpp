#include <gtest/gtest.h>

#include <fstream>

#include "ember/ember.h"
#include "ember/nn/containers.h"
#include "helpers.h"
#include "recipe.h"

using namespace ember;
using namespace ember::cli;

namespace {

std::string error_of(const Json& json) {
  try {
    recipe_from_json(json, "my.json", "my.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Recipe, BuiltinsMatchTheIssue) {
  const Recipe mlp = load_recipe("fashion-mlp");
  EXPECT_EQ(mlp.optimizer.name, "sgd");
  EXPECT_EQ(mlp.optimizer.momentum, 0.9);
  EXPECT_EQ(mlp.batch_size, 128);
  EXPECT_EQ(build_model(mlp).num_parameters(), 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10);

  const Recipe cnn = load_recipe("fashion-cnn");
  EXPECT_EQ(cnn.optimizer.name, "adam");
  EXPECT_EQ(cnn.optimizer.lr, 1e-3);
  EXPECT_EQ(cnn.batch_size, 64);
  EXPECT_EQ(cnn.classes.size(), 10u);
  nn::Sequential net = build_model(cnn);
  EXPECT_EQ(net.num_parameters(), 32 * 9 + 32 + 64 * 32 * 9 + 64 + 3136 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(net(randn({2, 1, 28, 28})).shape(), (Shape{2, 10}));
}

TEST(Recipe, JsonRoundTrip) {
  for (const std::string& name : builtin_recipes()) {
    const Recipe r = load_recipe(name);
    const Json json = recipe_to_json(r);
    EXPECT_EQ(recipe_to_json(recipe_from_json(json, name, name)), json) << name;
  }
}

TEST(Recipe, LoadsAFile) {
  tools_test::TempDir dir;
  std::ofstream(dir / "small.json") << R"({
    "model": [{"type": "Flatten"}, {"type": "Linear", "in_features": 784, "out_features": 10, "bias": false}],
    "optimizer": {"name": "adamw"},
    "scheduler": {"name": "warmup-cosine", "warmup": 0.1},
    "epochs": 2, "batch_size": 32
  })";
  const Recipe r = load_recipe(dir / "small.json");
  EXPECT_EQ(r.optimizer.name, "adamw");
  EXPECT_EQ(r.optimizer.lr, 1e-3);            // adamw's default
  EXPECT_EQ(r.optimizer.weight_decay, 1e-2);  // likewise
  EXPECT_EQ(r.scheduler.warmup, 0.1);
  EXPECT_EQ(r.epochs, 2);
  EXPECT_EQ(build_model(r).num_parameters(), 7840);
}

TEST(Recipe, ErrorsNameTheKey) {
  const Json layer = {{"type", "Linear"}, {"in_features", 4}, {"out_features", 2}};
  EXPECT_NE(error_of(Json::object()).find("my.json: missing key 'model'"), std::string::npos);
  EXPECT_NE(error_of({{"model", Json::array()}}).find("non-empty list"), std::string::npos);
  EXPECT_NE(error_of({{"model", {{{"type", "Linaer"}}}}}).find("my.json.model[0]: unknown layer type 'Linaer'"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {{{"type", "Linear"}, {"in_features", 4}}}}}).find("missing key 'out_features'"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {{{"type", "Conv2d"}, {"in_channels", 1}, {"out_channels", 2}, {"kernel", 3}}}}})
                .find("missing key 'kernel_size'"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {layer}}, {"epochs", "5"}}).find("my.json.epochs: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {layer}}, {"epochs", 0}}).find("must be at least 1"), std::string::npos);
  EXPECT_NE(error_of({{"model", {layer}}, {"optimizer", {{"name", "lion"}}}}).find("unknown optimizer 'lion'"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {layer}}, {"optimizer", {{"lr", -1}}}}).find("optimizer.lr: must be positive"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {layer}}, {"scheduler", {{"name", "cosin"}}}}).find("unknown scheduler 'cosin'"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {layer}}, {"batchsize", 3}}).find("unknown key 'batchsize'"), std::string::npos);
  EXPECT_NE(error_of({{"model", {{{"type", "Dropout"}, {"p", 1.5}}}}}).find("model[0].p: must be in [0, 1)"),
            std::string::npos);
}

TEST(Recipe, UnknownNamesAndBadFiles) {
  EXPECT_THROW(load_recipe("fashion-transformer"), ValueError);
  tools_test::TempDir dir;
  std::ofstream(dir / "broken.json") << "{\"model\": [";
  EXPECT_THROW(load_recipe(dir / "broken.json"), FormatError);
  EXPECT_THROW(load_recipe(dir / "missing.json"), ValueError);
}
