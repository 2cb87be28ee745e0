#include "ember/data/dataset.h"

#include "ember/ops/creation.h"
#include "ember/ops/index.h"
#include "ember/ops/shape.h"

namespace ember::data {

Batch Dataset::get_batch(std::span<const int64_t> indices) const {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (const int64_t i : indices) examples.push_back(get(i));
  return collate(examples);
}

TensorDataset::TensorDataset(Tensor input, Tensor target) : input_(std::move(input)), target_(std::move(target)) {
  EMBER_CHECK(input_.defined(), ValueError, "TensorDataset: input is undefined");
  EMBER_CHECK(input_.dim() >= 1, ShapeError, "TensorDataset: input must have a dim 0 to index, got ",
              input_.meta_str());
  if (target_.defined()) {
    EMBER_CHECK(target_.dim() >= 1 && target_.size(0) == input_.size(0), ShapeError,
                "TensorDataset: input and target must share dim 0, got ", input_.meta_str(), " and ",
                target_.meta_str());
  }
}

static void check_index(const char* who, int64_t index, int64_t size) {
  EMBER_CHECK(index >= 0 && index < size, IndexError, who, ": index ", index, " is out of range for size ", size);
}

Example TensorDataset::get(int64_t index) const {
  check_index("TensorDataset", index, size());
  return {input_[index], target_.defined() ? target_[index] : Tensor{}};
}

Batch TensorDataset::get_batch(std::span<const int64_t> indices) const {
  for (const int64_t i : indices) check_index("TensorDataset", i, size());
  const Tensor rows = tensor(std::vector<int64_t>(indices.begin(), indices.end()), {int64_t(indices.size())});
  return {index_select(input_, 0, rows), target_.defined() ? index_select(target_, 0, rows) : Tensor{}};
}

NextTokenDataset::NextTokenDataset(Tensor tokens, int64_t block_size)
    : tokens_(std::move(tokens)), block_size_(block_size) {
  EMBER_CHECK(tokens_.defined() && tokens_.dim() == 1, ShapeError, "NextTokenDataset: tokens must be 1-d, got ",
              tokens_.defined() ? tokens_.meta_str() : "undefined");
  EMBER_CHECK(!is_floating(tokens_.dtype()) && tokens_.dtype() != DType::b8, DTypeError,
              "NextTokenDataset: tokens must be integer ids, got ", tokens_.dtype());
  EMBER_CHECK(block_size >= 1, ValueError, "NextTokenDataset: block_size must be positive, got ", block_size);
}

// Each block needs one token beyond it for the last target.
int64_t NextTokenDataset::size() const { return std::max<int64_t>(0, (tokens_.size(0) - 1) / block_size_); }

Example NextTokenDataset::get(int64_t index) const {
  check_index("NextTokenDataset", index, size());
  const int64_t start = index * block_size_;
  return {tokens_.narrow(0, start, block_size_), tokens_.narrow(0, start + 1, block_size_)};
}

Batch collate(std::span<const Example> examples) {
  EMBER_CHECK(!examples.empty(), ValueError, "collate: no examples");
  const Example& first = examples.front();
  EMBER_CHECK(first.input.defined(), ValueError, "collate: example 0 has no input");
  TensorList inputs, targets;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& e = examples[i];
    EMBER_CHECK(e.input.defined() && e.input.dtype() == first.input.dtype() && e.input.shape() == first.input.shape(),
                ShapeError, "collate: example ", i, " has input ", e.input.defined() ? e.input.meta_str() : "undefined",
                ", example 0 has ", first.input.meta_str());
    EMBER_CHECK(e.target.defined() == first.target.defined(), ValueError, "collate: example ", i,
                e.target.defined() ? " has" : " lacks", " a target, example 0 ",
                first.target.defined() ? "has one" : "does not");
    if (e.target.defined()) {
      EMBER_CHECK(e.target.dtype() == first.target.dtype() && e.target.shape() == first.target.shape(), ShapeError,
                  "collate: example ", i, " has target ", e.target.meta_str(), ", example 0 has ",
                  first.target.meta_str());
      targets.push_back(e.target);
    }
    inputs.push_back(e.input);
  }
  return {stack(inputs), targets.empty() ? Tensor{} : stack(targets)};
}

}  // namespace ember::data
