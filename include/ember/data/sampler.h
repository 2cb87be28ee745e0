#pragma once
// Samplers: the order in which a DataLoader visits a map-style dataset.
//
//   auto sampler = std::make_shared<ember::data::RandomSampler>(60000, /*seed=*/7);
//   auto order = sampler->indices(/*epoch=*/3);           // a pure function of (seed, 3)
//   ember::data::BatchSampler batches(sampler, 64, /*drop_last=*/true);
//
// Unlike PyTorch's iterators, a sampler here is a pure function of the epoch
// (the idea of DistributedSampler.set_epoch made the only way), so resuming
// training at epoch e replays exactly the order an uninterrupted run saw.
#include <cstdint>
#include <memory>
#include <vector>

namespace ember::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // The dataset indices of one epoch, in visiting order.
  virtual std::vector<int64_t> indices(int64_t epoch) const = 0;
  // len(sampler): how many indices each epoch yields.
  virtual int64_t size() const = 0;
};

// 0, 1, ..., size - 1 every epoch.
class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(int64_t size);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override { return size_; }

 private:
  int64_t size_;
};

struct RandomSamplerOptions {
  bool replacement = false;
  int64_t num_samples = -1;  // -1: the dataset size; more than it needs replacement
};

// A permutation (or, with replacement, uniform draws) from Philox keyed by
// (seed, epoch): randperm with a Generator seeded per epoch.
class RandomSampler : public Sampler {
 public:
  RandomSampler(int64_t size, uint64_t seed, RandomSamplerOptions options = {});
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override;

 private:
  int64_t size_;
  uint64_t seed_;
  RandomSamplerOptions options_;
};

// Groups a sampler's indices into batches of `batch_size`; the last one is
// smaller unless drop_last drops it.
class BatchSampler {
 public:
  BatchSampler(std::shared_ptr<const Sampler> sampler, int64_t batch_size, bool drop_last = false);
  std::vector<std::vector<int64_t>> batches(int64_t epoch) const;
  int64_t size() const;  // batches per epoch

 private:
  std::shared_ptr<const Sampler> sampler_;
  int64_t batch_size_;
  bool drop_last_;
};

}  // namespace ember::data
