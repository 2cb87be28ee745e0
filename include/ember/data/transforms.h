#pragma once
// Per-example transforms (torchvision.transforms), applied by DataLoader
// workers to each example's input before collation.
//
//   auto augment = ember::data::Compose{{
//       ember::data::RandomCrop{.size = 28, .padding = 4},
//       ember::data::RandomHorizontalFlip{},
//       ember::data::Normalize{.mean = {0.2860}, .std = {0.3530}},
//   }};
//   ember::data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .transform = augment});
//
// Randomness comes from the Generator argument, never from global state: the
// DataLoader seeds it from (seed, epoch, example index), so the augmented
// batches do not depend on the worker count or on thread timing.
#include <functional>
#include <vector>

#include "ember/core/generator.h"
#include "ember/core/tensor.h"
#include "ember/ops/nn.h"  // Int2

namespace ember::data {

using Transform = std::function<Tensor(const Tensor& input, Generator& gen)>;

// (x - mean[c]) / std[c] over channel dim 0 of a [C, H, W] (or [C, ...])
// floating tensor; one value each broadcasts to every channel.
struct Normalize {
  std::vector<double> mean;
  std::vector<double> std;
  Tensor operator()(const Tensor& input, Generator& gen) const;
};

// Pads the last two dims by `padding` with `fill` (rows above and below,
// columns left and right), then cuts a `size` window at a uniformly random
// position.
struct RandomCrop {
  Int2 size;
  Int2 padding = 0;
  double fill = 0;
  Tensor operator()(const Tensor& input, Generator& gen) const;
};

// Mirrors the last dim with probability p.
struct RandomHorizontalFlip {
  double p = 0.5;
  Tensor operator()(const Tensor& input, Generator& gen) const;
};

// Applies transforms in order, all drawing from the same generator.
struct Compose {
  std::vector<Transform> transforms;
  Tensor operator()(const Tensor& input, Generator& gen) const;
};

// The seed of the generator a DataLoader hands to the transform of example
// `index` in `epoch` (a splitmix64 mix, so neighbouring indices are unrelated).
uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index);

}  // namespace ember::data
