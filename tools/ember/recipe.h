#pragma once
// Recipes: everything that defines a training run (model layers, optimizer,
// scheduler, batch size, epochs, ...) as one JSON document. The built-in
// recipes (fashion-mlp, fashion-cnn) are written in the same JSON a user's
// recipe file uses, so `ember train fashion-cnn --print-recipe > my.json` is
// a starting point for a custom run:
//
//   {
//     "model": [
//       {"type": "Flatten"},
//       {"type": "Linear", "in_features": 784, "out_features": 256},
//       {"type": "ReLU"},
//       {"type": "Linear", "in_features": 256, "out_features": 10}
//     ],
//     "optimizer": {"name": "adamw", "lr": 0.001, "weight_decay": 0.01},
//     "scheduler": {"name": "cosine"},
//     "epochs": 5, "batch_size": 128
//   }
//
// Layer types and their keys are torch.nn's (Conv2d with in_channels,
// out_channels, kernel_size, stride, padding, bias; ...). Unknown keys, wrong
// types and out-of-range values are FormatErrors naming the file and the key.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ember/nn/containers.h"
#include "ember/nn/layers.h"

namespace ember::cli {

using Json = nlohmann::ordered_json;

struct OptimizerSpec {
  std::string name = "sgd";  // sgd, adam, adamw, rmsprop, adagrad
  double lr = 0.01;
  double momentum = 0;    // sgd, rmsprop
  bool nesterov = false;  // sgd
  double weight_decay = 0;
  double beta1 = 0.9, beta2 = 0.999;  // adam, adamw
};

struct SchedulerSpec {
  // none; per epoch: step, exponential; per batch: cosine, warmup-cosine, onecycle.
  std::string name = "none";
  int64_t step_size = 1;  // step: epochs between decays
  double gamma = 0.1;     // step, exponential: decay factor
  double warmup = 0.05;   // warmup-cosine: fraction of the steps spent warming up
  double eta_min = 0;     // cosine, warmup-cosine: final lr
};

struct Recipe {
  std::string name;  // "fashion-cnn", or the recipe file's path
  Json model;        // the layer list, validated by build_model
  OptimizerSpec optimizer;
  SchedulerSpec scheduler;
  int64_t epochs = 5;
  int64_t batch_size = 64;
  // Inputs are normalized once, (x - mean) / std, before training.
  double normalize_mean = 0, normalize_std = 1;
  double label_smoothing = 0;
  double clip_grad_norm = 0;         // 0: no clipping
  std::vector<std::string> classes;  // class names for `ember eval`
};

// The built-in recipes' names.
std::vector<std::string> builtin_recipes();
// A built-in recipe by name, or a JSON recipe file when `name_or_path` names
// one (ends in .json or exists). ValueError for an unknown name.
Recipe load_recipe(const std::string& name_or_path);
// `source` names the document in errors.
Recipe recipe_from_json(const Json& json, const std::string& name, const std::string& source);
Json recipe_to_json(const Recipe& recipe);  // everything, defaults included
// recipe_to_json as a readable recipe file: one line per layer and per entry.
std::string recipe_to_text(const Recipe& recipe);

// The torch-style default lr of an optimizer, used when --optimizer switches
// optimizers without an --lr.
double default_lr(const std::string& optimizer);
void check_optimizer_name(const std::string& name, const std::string& source);
void check_scheduler_name(const std::string& name, const std::string& source);

// The model: the recipe's layers in an nn::Sequential. Initialization draws
// from the default generator, so seed it first.
nn::Sequential build_model(const Recipe& recipe);

}  // namespace ember::cli
