// DataLoader: batch order, epoch-keyed shuffling, identical batches for any
// worker count, the bounded prefetch window, errors from workers, clean
// shutdown mid-epoch, resume at (epoch, batch), and IterableDatasets.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ember/ember.h"

using namespace ember;
using namespace ember::data;

namespace {

std::vector<std::vector<int64_t>> targets_of(DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (auto& [input, target] : loader) out.push_back(target.to_vector<int64_t>());
  return out;
}

TensorDataset numbered(int64_t n) { return TensorDataset(arange(0, n).to(DType::f32).unsqueeze(1), arange(0, n)); }

TEST(DataLoader, SequentialBatchesAndDropLast) {
  DataLoader keep(numbered(10), {.batch_size = 4});
  EXPECT_EQ(keep.size(), 3);
  EXPECT_EQ(targets_of(keep), (std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  DataLoader drop(numbered(10), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(drop.size(), 2);
  EXPECT_EQ(targets_of(drop), (std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}}));
  int batches = 0;
  for (auto& batch : keep) {
    EXPECT_EQ(batch.input.shape()[1], 1);
    ++batches;
  }
  EXPECT_EQ(batches, 3);
}

TEST(DataLoader, ShuffleIsAPureFunctionOfSeedAndEpoch) {
  DataLoader loader(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 3});
  const auto epoch0 = targets_of(loader), epoch1 = targets_of(loader);  // each pass advances the epoch
  EXPECT_NE(epoch0, epoch1);
  EXPECT_EQ(loader.epoch(), 2);
  std::vector<int64_t> flat;
  for (const auto& b : epoch1) flat.insert(flat.end(), b.begin(), b.end());
  EXPECT_EQ(flat, RandomSampler(50, 3).indices(1));

  DataLoader again(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 3});
  again.set_epoch(1);
  EXPECT_EQ(targets_of(again), epoch1);
  again.set_epoch(0);
  EXPECT_EQ(targets_of(again), epoch0);
  DataLoader other(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 4});
  EXPECT_NE(targets_of(other), epoch0);
}

// Batch k of epoch e is the same bits whether 0, 1 or 3 workers load it,
// random transforms included.
TEST(DataLoader, BatchesAreIdenticalForAnyWorkerCount) {
  const TensorDataset images(rand({203, 1, 8, 8}), randint(0, 10, {203}));
  const Transform augment = Compose{{RandomCrop{.size = 8, .padding = 2}, RandomHorizontalFlip{}}};
  std::vector<std::vector<float>> reference;
  for (const int64_t workers : {0, 1, 3}) {
    DataLoader loader(images, {.batch_size = 16, .shuffle = true, .seed = 11, .num_workers = workers,
                               .prefetch_factor = 2, .transform = augment});
    loader.set_epoch(2);
    std::vector<std::vector<float>> batches;
    for (auto& batch : loader) {
      batches.push_back(batch.input.to_vector<float>());
      const auto t = batch.target.to_vector<int64_t>();
      batches.push_back(std::vector<float>(t.begin(), t.end()));
    }
    ASSERT_EQ(batches.size(), 2u * 13u);
    if (reference.empty()) {
      reference = batches;
    } else {
      EXPECT_EQ(batches, reference) << workers << " workers";
    }
  }
  // The transforms did change the images (the test could tell them apart).
  DataLoader plain(images, {.batch_size = 16, .shuffle = true, .seed = 11});
  plain.set_epoch(2);
  EXPECT_NE((*plain.begin()).input.to_vector<float>(), reference[0]);
}

// A dataset that records which indices were asked for, and can fail on one.
class Probe : public Dataset {
 public:
  explicit Probe(int64_t n, int64_t fail_at = -1) : n_(n), fail_at_(fail_at) {}
  int64_t size() const override { return n_; }
  Example get(int64_t index) const override {
    EMBER_CHECK(index != fail_at_, IndexError, "Probe: cannot read example ", index);
    int64_t seen = max_seen_.load();
    while (index > seen && !max_seen_.compare_exchange_weak(seen, index)) {
    }
    ++calls_;
    return {scalar_tensor(double(index)), scalar_tensor(index)};
  }
  int64_t max_seen() const { return max_seen_.load(); }
  int64_t calls() const { return calls_.load(); }

 private:
  int64_t n_, fail_at_;
  mutable std::atomic<int64_t> max_seen_{-1};
  mutable std::atomic<int64_t> calls_{0};
};

// Workers run ahead by num_workers * prefetch_factor batches, and no further.
TEST(DataLoader, PrefetchFillsTheWindowAndStops) {
  const auto probe = std::make_shared<Probe>(1000);
  DataLoader loader(std::shared_ptr<const Dataset>(probe), {.batch_size = 1, .num_workers = 2, .prefetch_factor = 3});
  auto it = loader.begin();  // consumes batch 0; batches 1..6 may be loaded ahead
  EXPECT_EQ((*it).target.item<int64_t>(), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (probe->max_seen() < 6 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // room to overrun, were it possible
  EXPECT_EQ(probe->max_seen(), 6);
  EXPECT_EQ(probe->calls(), 7);
  ++it;
  EXPECT_EQ((*it).target.item<int64_t>(), 1);
}

TEST(DataLoader, WorkerErrorsReachTheConsumerInOrder) {
  for (const int64_t workers : {0, 1, 3}) {
    DataLoader loader(std::make_shared<const Probe>(40, /*fail_at=*/13), {.batch_size = 4, .num_workers = workers});
    std::vector<int64_t> seen;
    try {
      for (auto& batch : loader) seen.push_back(batch.target[0].item<int64_t>());
      ADD_FAILURE() << "no error with " << workers << " workers";
    } catch (const IndexError& e) {
      EXPECT_STREQ(e.what(), "Probe: cannot read example 13");
    }
    EXPECT_EQ(seen, (std::vector<int64_t>{0, 4, 8})) << workers << " workers";
  }
}

TEST(DataLoader, StopsCleanlyMidEpoch) {
  const auto probe = std::make_shared<Probe>(100000);
  {
    DataLoader loader(std::shared_ptr<const Dataset>(probe), {.batch_size = 8, .num_workers = 3});
    int n = 0;
    for (auto& batch : loader) {
      (void)batch;
      if (++n == 2) break;
    }
    auto it = loader.begin();  // a new pass ends the old one first
    EXPECT_EQ((*it).target[0].item<int64_t>(), 0);
  }  // destroyed with workers waiting on a full window
  EXPECT_LT(probe->calls(), 100000);
}

// Resuming at (epoch, batch) replays exactly what an uninterrupted run saw.
TEST(DataLoader, ResumeAtEpochAndBatch) {
  const TensorDataset images(rand({50, 1, 6, 6}), arange(0, 50));
  const DataLoaderOptions options{.batch_size = 7, .shuffle = true, .seed = 5, .num_workers = 2,
                                  .transform = RandomCrop{.size = 6, .padding = 1}};
  DataLoader full(images, options);
  full.set_epoch(3);
  std::vector<std::vector<float>> uninterrupted;
  for (auto& batch : full) uninterrupted.push_back(batch.input.to_vector<float>());

  DataLoader resumed(images, options);
  resumed.set_epoch(3, /*start_batch=*/4);
  std::vector<std::vector<float>> tail;
  for (auto& batch : resumed) tail.push_back(batch.input.to_vector<float>());
  EXPECT_EQ(tail, std::vector<std::vector<float>>(uninterrupted.begin() + 4, uninterrupted.end()));
  EXPECT_EQ(resumed.epoch(), 4);
  resumed.set_epoch(3, resumed.size());
  EXPECT_TRUE(resumed.begin() == resumed.end());
  EXPECT_THROW(resumed.set_epoch(3, resumed.size() + 1), ValueError);
  EXPECT_THROW(resumed.set_epoch(-1), ValueError);
}

TEST(DataLoader, CustomSamplerAndCollate) {
  DataLoader loader(numbered(6), {.batch_size = 2,
                                  .sampler = std::make_shared<SequentialSampler>(3),
                                  .collate = [](std::span<const Example> examples) {
                                    Batch b = collate(examples);
                                    b.target = b.target * 10;
                                    return b;
                                  }});
  EXPECT_EQ(loader.size(), 2);
  EXPECT_EQ(targets_of(loader), (std::vector<std::vector<int64_t>>{{0, 10}, {20}}));
}

TEST(DataLoader, BadOptionsAreErrors) {
  EXPECT_THROW(DataLoader(numbered(4), {.batch_size = 0}), ValueError);
  EXPECT_THROW(DataLoader(numbered(4), {.num_workers = -1}), ValueError);
  EXPECT_THROW(DataLoader(numbered(4), {.prefetch_factor = 0}), ValueError);
  EXPECT_THROW(DataLoader(numbered(4), {.shuffle = true, .sampler = std::make_shared<SequentialSampler>(4)}),
               ValueError);
  EXPECT_THROW(DataLoader(std::shared_ptr<const Dataset>()), ValueError);
}

// Counts 0, 1, ..., n - 1; optionally fails at one position.
class Counter : public IterableDataset {
 public:
  explicit Counter(int64_t n, int64_t fail_at = -1) : n_(n), fail_at_(fail_at) {}
  void reset(int64_t epoch) override {
    next_ = 0;
    epoch_ = epoch;
  }
  std::optional<Example> next() override {
    if (next_ == n_) return std::nullopt;
    EMBER_CHECK(next_ != fail_at_, FormatError, "Counter: bad record ", next_);
    const int64_t v = next_++;
    return Example{full({2}, double(v + 100 * epoch_)), scalar_tensor(v)};
  }

 private:
  int64_t n_, fail_at_, next_ = 0, epoch_ = 0;
};

TEST(DataLoader, IterableDatasetBatchesInStreamOrder) {
  for (const int64_t workers : {0, 1, 3}) {
    DataLoader loader(Counter(10), {.batch_size = 4, .num_workers = workers});
    EXPECT_EQ(targets_of(loader), (std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
    DataLoader drop(Counter(8), {.batch_size = 4, .drop_last = true, .num_workers = workers});
    EXPECT_EQ(targets_of(drop).size(), 2u);
    DataLoader resumed(Counter(10), {.batch_size = 4, .num_workers = workers});
    resumed.set_epoch(2, 1);
    auto it = resumed.begin();
    EXPECT_EQ((*it).target.to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6, 7}));
    EXPECT_EQ((*it).input[0][0].item<float>(), 204.f);  // reset() saw epoch 2
  }
  EXPECT_THROW(DataLoader(Counter(3)).size(), ValueError);
  EXPECT_THROW(DataLoader(Counter(3), {.shuffle = true}), ValueError);
}

TEST(DataLoader, IterableDatasetErrorsPropagate) {
  for (const int64_t workers : {0, 2}) {
    DataLoader loader(Counter(20, /*fail_at=*/9), {.batch_size = 4, .num_workers = workers});
    int64_t batches = 0;
    try {
      for (auto& batch : loader) {
        (void)batch;
        ++batches;
      }
      ADD_FAILURE() << "no error";
    } catch (const FormatError& e) {
      EXPECT_STREQ(e.what(), "Counter: bad record 9");
    }
    EXPECT_EQ(batches, 2) << workers << " workers";
  }
}

}  // namespace
