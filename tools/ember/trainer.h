#pragma once
// The training loop behind `ember train`, usable on its own (the tests drive
// it directly) with any model that has forward(Tensor) -> Tensor:
//
//   Recipe recipe = load_recipe("fashion-cnn");
//   ember::manual_seed(0);
//   TrainData data{.train = std::make_shared<data::TensorDataset>(data::load_mnist()),
//                  .test = std::make_shared<data::TensorDataset>(data::load_mnist(dir, false))};
//   TrainResult r = train(recipe, build_model(recipe), data, {.out_dir = "runs/cnn", .seed = 0});
//
// Each epoch: shuffled batches (a pure function of seed and epoch), forward,
// cross-entropy, backward, optional gradient clipping, optimizer step,
// scheduler step; then the test set, a summary line, a checkpoint and
// TensorBoard logs in out_dir.
//
// Note [Bit-identical resume]
// A checkpoint holds the model, the optimizer and scheduler states, the
// default generator (dropout masks) and the step count; the data order needs
// no state because batch k of epoch e is a pure function of (seed, e, k).
// Resuming therefore replays exactly what the uninterrupted run would have
// done, provided the arithmetic is the same: --deterministic records the
// thread count (oneDNN's reductions split work by thread) and refuses to
// resume with another one.
//
// Note [Compiled training steps]
// With `compile`, the step (zero_grad, forward, loss, backward, clipping,
// optimizer step) runs through ember::compile: one eager warm-up per batch
// shape, one traced call, then one graph per step with the backward pass and
// the optimizer's updates in it (see Note [Traced optimizer steps] in
// src/optim/update.h). The scheduler, the loss read-out and everything else
// stay host code around it. The arithmetic is the eager step's, so a compiled
// run trains the same weights.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ember/data/dataset.h"
#include "ember/nn/containers.h"
#include "recipe.h"

namespace ember::cli {

struct TrainData {
  std::shared_ptr<const data::Dataset> train, test;
};

struct TrainOptions {
  std::string out_dir = "";     // checkpoints, `latest`, TensorBoard events; empty: write nothing
  bool resume = false;          // continue from out_dir's latest checkpoint
  uint64_t seed = 0;            // model init, data order, dropout
  bool deterministic = false;   // see Note [Bit-identical resume]
  int64_t workers = 1;          // DataLoader threads (0: load in the training thread)
  int64_t max_steps = 0;        // stop after this many optimizer steps in all (with a checkpoint); 0: no limit
  int64_t log_every = 50;       // steps between TensorBoard train/loss points
  std::optional<DType> autocast = {};  // forward passes (and the test set) under AutocastGuard(dtype)
  bool compile = false;         // each training step as one graph (see Note [Compiled training steps])
  std::ostream* out = nullptr;  // progress and summaries (null: silent)
  bool tty = false;             // redraw the progress bar in place
  Json info = {};               // extra facts stored in checkpoints (the command line, ...)
};

// The test set's metrics.
struct Evaluation {
  double loss = 0, accuracy = 0;
  int64_t examples = 0;
  // confusion[true][predicted] counts, num_classes x num_classes.
  std::vector<std::vector<int64_t>> confusion;
};

struct TrainResult {
  int64_t epoch = 0, step = 0;  // completed
  Evaluation test = {};         // after the last completed epoch (empty if none ran)
  std::string checkpoint = "";  // the last checkpoint written ("" without out_dir)
};

// Loss and accuracy of `model` over `dataset` in eval mode, without autograd.
Evaluation evaluate(nn::AnyModule& model, const data::Dataset& dataset, int64_t batch_size, double label_smoothing = 0);

TrainResult train(const Recipe& recipe, nn::AnyModule& model, const TrainData& data, const TrainOptions& options);

// out_dir's latest checkpoint (named by its `latest` file); ValueError when none.
std::string latest_checkpoint(const std::string& out_dir);

// Dataset loading for the CLI: Fashion-MNIST-style IDX files in `dir`,
// normalized as the recipe says; `limit` > 0 keeps only the first examples.
TrainData load_data(const std::string& dir, const Recipe& recipe, int64_t limit = 0);
std::shared_ptr<const data::Dataset> load_split(const std::string& dir, bool train, const Recipe& recipe,
                                                int64_t limit = 0);

}  // namespace ember::cli
