#include "ember/data/dataloader.h"

#include <condition_variable>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "ember/autograd/autograd.h"
#include "ember/core/parallel.h"

namespace ember::data {

// Note [DataLoader order]
// A pass plans its batches up front: BatchSampler(sampler, batch_size,
// drop_last).batches(epoch), with the sampler a pure function of (seed,
// epoch). Batch k is then loaded by a pure function of k (the transforms draw
// from a Generator seeded by example_seed(seed, epoch, index)). Workers claim
// batch numbers in increasing order and the consumer takes them in that order
// from a reorder buffer, so the batches are bit-identical for any num_workers
// and any thread timing. An IterableDataset is read in claim order under the
// pass lock, so its batch k is always examples [k * batch_size, ...).
//
// Note [DataLoader threads]
// Workers may run at most num_workers * prefetch_factor batches ahead of the
// consumer (the bounded queue): a worker that would overrun it sleeps until
// the consumer takes a batch. Each worker sets its own OpenMP pool to one
// thread (omp_set_num_threads is per thread), so workers that call ops
// (stack, pad, normalize) add num_workers threads, not num_workers pools, to
// the machine; the model's batched ops keep the main thread's pool. A
// worker's exception is stored with its batch and rethrown, as the original
// ember::Error, when the consumer reaches that batch. Ending a pass (the
// loader's destructor, or begin() again) sets a stop flag, wakes the workers
// and joins them; a worker finishes the batch in hand first.

namespace detail {

class Pass {
 public:
  Pass(const Dataset* dataset, IterableDataset* iterable, const DataLoaderOptions& options, int64_t epoch,
       int64_t start_batch)
      : dataset_(dataset), iterable_(iterable), options_(options), epoch_(epoch), next_claim_(start_batch),
        next_consume_(start_batch), window_(options.num_workers * options.prefetch_factor) {
    if (dataset_) {
      const auto sampler = options.sampler ? options.sampler
                                           : options.shuffle
                                                 ? std::shared_ptr<const Sampler>(
                                                       std::make_shared<RandomSampler>(dataset_->size(), options.seed))
                                                 : std::make_shared<SequentialSampler>(dataset_->size());
      batches_ = BatchSampler(sampler, options.batch_size, options.drop_last).batches(epoch);
      num_batches_ = int64_t(batches_.size());
    } else {
      iterable_->reset(epoch);
      for (int64_t i = 0; i < start_batch * options.batch_size && iterable_->next(); ++i) ++stream_index_;
    }
    try {
      for (int64_t i = 0; i < options.num_workers; ++i) workers_.emplace_back([this] { work(); });
    } catch (...) {  // the system refused a thread: join those already running
      stop_workers();
      throw;
    }
  }

  ~Pass() { stop_workers(); }

  Batch& current() { return current_; }
  bool finished() const { return finished_; }

  // Makes the next batch current, or finishes the pass.
  void advance() {
    if (finished_) return;
    Result result = workers_.empty() ? load_inline() : take();
    if (result.end) {
      finished_ = true;
      current_ = {};
      return;
    }
    if (result.error) {
      finished_ = true;
      current_ = {};
      std::rethrow_exception(result.error);
    }
    current_ = std::move(result.batch);
  }

 private:
  struct Result {
    Batch batch;
    std::exception_ptr error;
    bool end = false;  // no batch: the epoch is over
  };
  // An IterableDataset's examples for one batch, with their stream positions.
  struct Pulled {
    std::vector<Example> examples;
    int64_t first_index = 0;
  };

  void stop_workers() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    claimable_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  bool exhausted(int64_t k) const { return k >= num_batches_ || k >= stream_end_; }

  // Runs under mutex_ for an IterableDataset (see Note [DataLoader order]).
  Pulled pull(int64_t k) {
    Pulled pulled{.examples = {}, .first_index = stream_index_};
    try {
      while (int64_t(pulled.examples.size()) < options_.batch_size) {
        auto example = iterable_->next();
        if (!example) break;
        pulled.examples.push_back(std::move(*example));
      }
    } catch (...) {
      stream_end_ = k + 1;  // the stream is in an unknown state: nothing after this batch
      throw;
    }
    stream_index_ += int64_t(pulled.examples.size());
    const bool partial = int64_t(pulled.examples.size()) < options_.batch_size;
    if (pulled.examples.empty() || (partial && options_.drop_last)) {
      stream_end_ = k;
    } else if (partial) {
      stream_end_ = k + 1;
    }
    return pulled;
  }

  Batch transform_and_collate(std::vector<Example>& examples, const std::vector<int64_t>& seeds_index) const {
    if (options_.transform) {
      for (size_t i = 0; i < examples.size(); ++i) {
        Generator gen(example_seed(options_.seed, epoch_, seeds_index[i]));
        examples[i].input = options_.transform(examples[i].input, gen);
      }
    }
    return options_.collate ? options_.collate(examples) : collate(examples);
  }

  Batch load_map_style(int64_t k) const {
    const auto& indices = batches_[size_t(k)];
    if (!options_.transform && !options_.collate) return dataset_->get_batch(indices);
    std::vector<Example> examples;
    examples.reserve(indices.size());
    for (const int64_t i : indices) examples.push_back(dataset_->get(i));
    return transform_and_collate(examples, indices);
  }

  Batch load_pulled(Pulled& pulled) const {
    std::vector<int64_t> positions(pulled.examples.size());
    for (size_t i = 0; i < positions.size(); ++i) positions[i] = pulled.first_index + int64_t(i);
    return transform_and_collate(pulled.examples, positions);
  }

  Result load_inline() {
    const int64_t k = next_consume_++;
    Result result;
    try {
      if (dataset_) {
        if (exhausted(k)) return {.batch = {}, .error = {}, .end = true};
        result.batch = load_map_style(k);
      } else {
        if (exhausted(k)) return {.batch = {}, .error = {}, .end = true};
        Pulled pulled = pull(k);
        if (pulled.examples.empty() || exhausted(k)) return {.batch = {}, .error = {}, .end = true};
        result.batch = load_pulled(pulled);
      }
    } catch (...) {
      result.error = std::current_exception();
    }
    return result;
  }

  Result take() {
    std::unique_lock lock(mutex_);
    const int64_t k = next_consume_;
    ready_.wait(lock, [&] { return results_.contains(k) || exhausted(k); });
    auto it = results_.find(k);
    if (it == results_.end()) return {.batch = {}, .error = {}, .end = true};
    Result result = std::move(it->second);
    results_.erase(it);
    ++next_consume_;
    lock.unlock();
    claimable_.notify_all();  // the window moved
    return result;
  }

  void work() {
    set_num_threads(1);
    autograd::NoGradGuard no_grad;
    std::unique_lock lock(mutex_);
    while (true) {
      claimable_.wait(lock, [&] { return stop_ || exhausted(next_claim_) || next_claim_ < next_consume_ + window_; });
      if (stop_ || exhausted(next_claim_)) return;
      const int64_t k = next_claim_++;
      Result result;
      try {
        if (dataset_) {
          lock.unlock();
          result.batch = load_map_style(k);
        } else {
          Pulled pulled = pull(k);
          lock.unlock();
          if (pulled.examples.empty() || exhausted(k)) {
            result.end = true;
          } else {
            result.batch = load_pulled(pulled);
          }
        }
      } catch (...) {
        result.error = std::current_exception();
      }
      if (!lock.owns_lock()) lock.lock();
      if (!result.end) results_.emplace(k, std::move(result));
      ready_.notify_all();
    }
  }

  const Dataset* dataset_;
  IterableDataset* iterable_;
  const DataLoaderOptions options_;  // a copy: the loader may move while the pass runs
  const int64_t epoch_;
  std::vector<std::vector<int64_t>> batches_;
  int64_t num_batches_ = std::numeric_limits<int64_t>::max();
  int64_t stream_index_ = 0;                                  // examples pulled so far
  int64_t stream_end_ = std::numeric_limits<int64_t>::max();  // first batch the stream cannot fill

  std::mutex mutex_;
  std::condition_variable claimable_;  // workers: the window moved, or stop
  std::condition_variable ready_;      // consumer: a result arrived, or the stream ended
  bool stop_ = false;
  int64_t next_claim_;
  int64_t next_consume_;
  const int64_t window_;
  std::map<int64_t, Result> results_;  // the reorder buffer, at most window_ entries
  std::vector<std::thread> workers_;

  Batch current_;
  bool finished_ = false;
};

}  // namespace detail

static void check_options(const DataLoaderOptions& o) {
  EMBER_CHECK(o.batch_size >= 1, ValueError, "DataLoader: batch_size must be positive, got ", o.batch_size);
  EMBER_CHECK(o.num_workers >= 0, ValueError, "DataLoader: num_workers must be >= 0, got ", o.num_workers);
  EMBER_CHECK(o.prefetch_factor >= 1, ValueError, "DataLoader: prefetch_factor must be positive, got ",
              o.prefetch_factor);
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  EMBER_CHECK(dataset_ != nullptr, ValueError, "DataLoader: dataset is null");
  check_options(options_);
  EMBER_CHECK(!(options_.sampler && options_.shuffle), ValueError,
              "DataLoader: sampler option is mutually exclusive with shuffle");
}

DataLoader::DataLoader(std::shared_ptr<IterableDataset> dataset, DataLoaderOptions options)
    : iterable_(std::move(dataset)), options_(std::move(options)) {
  EMBER_CHECK(iterable_ != nullptr, ValueError, "DataLoader: dataset is null");
  check_options(options_);
  EMBER_CHECK(!options_.sampler && !options_.shuffle, ValueError,
              "DataLoader: an IterableDataset sets its own order; sampler and shuffle must be unset");
}

DataLoader::~DataLoader() = default;
DataLoader::DataLoader(DataLoader&&) noexcept = default;
DataLoader& DataLoader::operator=(DataLoader&&) noexcept = default;

void DataLoader::set_epoch(int64_t epoch, int64_t start_batch) {
  EMBER_CHECK(epoch >= 0, ValueError, "DataLoader.set_epoch: epoch must be >= 0, got ", epoch);
  EMBER_CHECK(start_batch >= 0, ValueError, "DataLoader.set_epoch: start_batch must be >= 0, got ", start_batch);
  if (dataset_) {
    EMBER_CHECK(start_batch <= size(), ValueError, "DataLoader.set_epoch: start_batch ", start_batch,
                " is beyond the epoch's ", size(), " batches");
  }
  epoch_ = epoch;
  start_batch_ = start_batch;
}

int64_t DataLoader::size() const {
  EMBER_CHECK(dataset_ != nullptr, ValueError, "DataLoader: an IterableDataset has no length");
  const int64_t samples = options_.sampler ? options_.sampler->size() : dataset_->size();
  return options_.drop_last ? samples / options_.batch_size
                            : (samples + options_.batch_size - 1) / options_.batch_size;
}

DataLoader::Iterator DataLoader::begin() {
  pass_.reset();  // joins the previous pass's workers before the next starts
  pass_ = std::make_unique<detail::Pass>(dataset_.get(), iterable_.get(), options_, epoch_, start_batch_);
  ++epoch_;
  start_batch_ = 0;
  pass_->advance();
  return Iterator(pass_.get());
}

Batch& DataLoader::Iterator::operator*() const {
  EMBER_CHECK(!pass_->finished(), IndexError, "DataLoader: dereferencing an iterator past the last batch");
  return pass_->current();
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  pass_->advance();
  return *this;
}

bool DataLoader::Iterator::operator==(std::default_sentinel_t) const { return pass_->finished(); }

}  // namespace ember::data
