#pragma once
// Datasets: where examples come from (torch.utils.data).
//
//   auto train = ember::data::load_mnist();  // a TensorDataset of images, labels
//   ember::data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1});
//   for (auto& [images, labels] : loader) { ... }   // [64, 1, 28, 28] f32, [64] i64
//
// A map-style Dataset answers get(i) for 0 <= i < size(); an IterableDataset
// streams next() until it returns nothing. Both yield Examples: an input and
// an optional target, which collate() stacks into a batch of the same shape.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::data {

// One example, or a batch of them (every field with a leading batch dim).
// `target` is undefined for unlabelled data.
struct Example {
  Tensor input;
  Tensor target;
};
using Batch = Example;

// Map-style dataset. get() is called from DataLoader worker threads at the
// same time, so it must not mutate shared state (const, as the signature says).
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Example get(int64_t index) const = 0;
  // Examples at `indices`, stacked (PyTorch's __getitems__). The default calls
  // get() per index and collate(); datasets backed by one big tensor override
  // it with a single gather.
  virtual Batch get_batch(std::span<const int64_t> indices) const;
};

// Streaming dataset. The DataLoader calls reset(epoch) before each pass and
// then next() until it returns nothing; calls come from one thread at a time.
class IterableDataset {
 public:
  virtual ~IterableDataset() = default;
  virtual void reset(int64_t epoch) { (void)epoch; }
  virtual std::optional<Example> next() = 0;
};

// Tensors sharing dim 0: example i is {input[i], target[i]}.
class TensorDataset : public Dataset {
 public:
  explicit TensorDataset(Tensor input, Tensor target = {});
  int64_t size() const override { return input_.size(0); }
  Example get(int64_t index) const override;
  Batch get_batch(std::span<const int64_t> indices) const override;
  const Tensor& input() const { return input_; }
  const Tensor& target() const { return target_; }

 private:
  Tensor input_, target_;
};

// Language-model chunks of a token stream: example i is the `block_size`
// tokens starting at i * block_size, and the target is the same window
// shifted by one token (next-token prediction). Chunks do not overlap.
class NextTokenDataset : public Dataset {
 public:
  NextTokenDataset(Tensor tokens, int64_t block_size);  // tokens: 1-d i64
  int64_t size() const override;
  Example get(int64_t index) const override;

 private:
  Tensor tokens_;
  int64_t block_size_;
};

// Stacks each field along a new dim 0 (PyTorch's default_collate). All inputs
// must share shape and dtype, and either all or none have a target.
Batch collate(std::span<const Example> examples);

}  // namespace ember::data
