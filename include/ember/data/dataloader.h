#pragma once
// DataLoader: batches from a dataset, loaded ahead by worker threads.
//
//   ember::data::DataLoader loader(ember::data::load_mnist(), {
//       .batch_size = 64, .shuffle = true, .seed = 42, .num_workers = 2,
//       .transform = ember::data::RandomHorizontalFlip{}});
//   for (int64_t epoch = start_epoch; epoch < epochs; ++epoch) {
//     loader.set_epoch(epoch);                         // optional: passes advance it anyway
//     for (auto& [images, labels] : loader) train_step(images, labels);
//   }
//
// See Note [DataLoader order] and Note [DataLoader threads] in dataloader.cpp.
// In short: batch k of epoch e is a pure function of (seed, e, k), the same
// for any num_workers, so a run resumed with set_epoch(e, k) sees exactly the
// batches an uninterrupted run would have seen. Workers run single-threaded
// (their OpenMP pool is set to one thread): they read, transform and collate
// examples, while the model's batched ops use the main thread's pool.
#include <concepts>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <span>

#include "ember/data/dataset.h"
#include "ember/data/sampler.h"
#include "ember/data/transforms.h"

namespace ember::data {

using CollateFn = std::function<Batch(std::span<const Example> examples)>;

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;  // RandomSampler(size, seed); exclusive with `sampler`
  uint64_t seed = 0;     // drives shuffling and the transforms' generators
  bool drop_last = false;
  int64_t num_workers = 0;      // 0: load in the consuming thread, on demand
  int64_t prefetch_factor = 2;  // batches in flight per worker (bounded queue)
  std::shared_ptr<const Sampler> sampler = nullptr;  // map-style datasets only
  // Both are called from worker threads at once, so they must be thread-safe.
  Transform transform = nullptr;  // applied to each example's input
  CollateFn collate = nullptr;    // default: collate() (stack each field)
};

namespace detail {
class Pass;
}

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  DataLoader(std::shared_ptr<IterableDataset> dataset, DataLoaderOptions options = {});
  template <std::derived_from<Dataset> D>
  DataLoader(D dataset, DataLoaderOptions options = {})
      : DataLoader(std::shared_ptr<const Dataset>(std::make_shared<const D>(std::move(dataset))),
                   std::move(options)) {}
  template <std::derived_from<IterableDataset> D>
  DataLoader(D dataset, DataLoaderOptions options = {})
      : DataLoader(std::shared_ptr<IterableDataset>(std::make_shared<D>(std::move(dataset))),
                   std::move(options)) {}
  ~DataLoader();  // stops a running pass and joins its workers
  DataLoader(DataLoader&&) noexcept;
  DataLoader& operator=(DataLoader&&) noexcept;

  // The next pass (begin()) iterates epoch `epoch`, starting at batch
  // `start_batch`; the batches before it are never loaded. Each pass then
  // advances the epoch by one, so a plain loop reshuffles every pass, as
  // iterating a PyTorch DataLoader does.
  void set_epoch(int64_t epoch, int64_t start_batch = 0);
  int64_t epoch() const { return epoch_; }  // the epoch the next pass uses
  // len(loader): batches per epoch. ValueError for an IterableDataset.
  int64_t size() const;
  const DataLoaderOptions& options() const { return options_; }

  class Iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    Batch& operator*() const;
    Batch* operator->() const { return &**this; }
    Iterator& operator++();  // rethrows a worker's error when its batch is due
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const;

   private:
    friend class DataLoader;
    explicit Iterator(detail::Pass* pass) : pass_(pass) {}
    detail::Pass* pass_;
  };
  // Starts a pass (ending any pass still running on this loader).
  Iterator begin();
  std::default_sentinel_t end() const { return {}; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<IterableDataset> iterable_;
  DataLoaderOptions options_;
  int64_t epoch_ = 0;
  int64_t start_batch_ = 0;
  std::unique_ptr<detail::Pass> pass_;
};

}  // namespace ember::data
