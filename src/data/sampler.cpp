#include "ember/data/sampler.h"

#include "ember/core/error.h"
#include "ember/core/generator.h"
#include "ember/ops/creation.h"
#include "seed.h"

namespace ember::data {

SequentialSampler::SequentialSampler(int64_t size) : size_(size) {
  EMBER_CHECK(size >= 0, ValueError, "SequentialSampler: size must be >= 0, got ", size);
}

std::vector<int64_t> SequentialSampler::indices(int64_t) const {
  std::vector<int64_t> out(size_t(size_), 0);
  for (int64_t i = 0; i < size_; ++i) out[size_t(i)] = i;
  return out;
}

RandomSampler::RandomSampler(int64_t size, uint64_t seed, RandomSamplerOptions options)
    : size_(size), seed_(seed), options_(options) {
  EMBER_CHECK(size >= 0, ValueError, "RandomSampler: size must be >= 0, got ", size);
  EMBER_CHECK(options.num_samples >= 0 || options.num_samples == -1, ValueError,
              "RandomSampler: num_samples must be >= 0 (or -1 for the dataset size), got ", options.num_samples);
  EMBER_CHECK(size > 0 || this->size() == 0, ValueError, "RandomSampler: cannot draw ", this->size(),
              " samples from an empty dataset");
}

int64_t RandomSampler::size() const { return options_.num_samples == -1 ? size_ : options_.num_samples; }

std::vector<int64_t> RandomSampler::indices(int64_t epoch) const {
  EMBER_CHECK(epoch >= 0, ValueError, "RandomSampler: epoch must be >= 0, got ", epoch);
  Generator gen(detail::mix_seed(detail::mix_seed(seed_, detail::kSamplerStream), uint64_t(epoch)));
  const int64_t n = size();
  if (options_.replacement) return randint(0, size_, {n}, DType::i64, &gen).to_vector<int64_t>();
  // More samples than the dataset: whole permutations, then part of one (as PyTorch).
  std::vector<int64_t> out;
  out.reserve(size_t(n));
  while (int64_t(out.size()) < n) {
    const auto perm = randperm(size_, DType::i64, &gen).to_vector<int64_t>();
    const int64_t take = std::min<int64_t>(size_, n - int64_t(out.size()));
    out.insert(out.end(), perm.begin(), perm.begin() + take);
  }
  return out;
}

BatchSampler::BatchSampler(std::shared_ptr<const Sampler> sampler, int64_t batch_size, bool drop_last)
    : sampler_(std::move(sampler)), batch_size_(batch_size), drop_last_(drop_last) {
  EMBER_CHECK(sampler_ != nullptr, ValueError, "BatchSampler: sampler is null");
  EMBER_CHECK(batch_size >= 1, ValueError, "BatchSampler: batch_size must be positive, got ", batch_size);
}

std::vector<std::vector<int64_t>> BatchSampler::batches(int64_t epoch) const {
  const auto indices = sampler_->indices(epoch);
  std::vector<std::vector<int64_t>> out;
  for (size_t begin = 0; begin < indices.size(); begin += size_t(batch_size_)) {
    const size_t end = std::min(indices.size(), begin + size_t(batch_size_));
    if (drop_last_ && end - begin < size_t(batch_size_)) break;
    out.emplace_back(indices.begin() + ptrdiff_t(begin), indices.begin() + ptrdiff_t(end));
  }
  return out;
}

int64_t BatchSampler::size() const {
  const int64_t n = sampler_->size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

}  // namespace ember::data
