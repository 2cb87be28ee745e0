// Samplers: orders that are pure functions of (seed, epoch), permutations
// that cover the dataset, and batch grouping.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "ember/ember.h"

using namespace ember;
using namespace ember::data;

namespace {

bool is_permutation_of_range(std::vector<int64_t> v, int64_t n) {
  std::sort(v.begin(), v.end());
  std::vector<int64_t> range(size_t(n), 0);
  std::iota(range.begin(), range.end(), 0);
  return v == range;
}

TEST(Sampler, SequentialIsTheIdentity) {
  const SequentialSampler s(4);
  EXPECT_EQ(s.indices(0), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(s.indices(5), s.indices(0));
  EXPECT_EQ(SequentialSampler(0).indices(0), std::vector<int64_t>{});
  EXPECT_THROW(SequentialSampler(-1), ValueError);
}

TEST(Sampler, RandomIsAPermutationKeyedBySeedAndEpoch) {
  const RandomSampler s(100, 7);
  const auto e0 = s.indices(0), e1 = s.indices(1);
  EXPECT_TRUE(is_permutation_of_range(e0, 100));
  EXPECT_TRUE(is_permutation_of_range(e1, 100));
  EXPECT_NE(e0, e1);
  EXPECT_EQ(RandomSampler(100, 7).indices(1), e1);  // a fresh sampler replays the epoch
  EXPECT_NE(RandomSampler(100, 8).indices(0), e0);
  EXPECT_THROW(s.indices(-1), ValueError);
}

TEST(Sampler, RandomWithReplacementAndNumSamples) {
  const RandomSampler with(5, 1, {.replacement = true, .num_samples = 1000});
  const auto draws = with.indices(0);
  EXPECT_EQ(with.size(), 1000);
  ASSERT_EQ(draws.size(), 1000u);
  for (int64_t v = 0; v < 5; ++v) EXPECT_GT(std::count(draws.begin(), draws.end(), v), 150) << v;
  EXPECT_TRUE(std::all_of(draws.begin(), draws.end(), [](int64_t v) { return v >= 0 && v < 5; }));

  // Without replacement, more samples than the dataset are whole permutations
  // followed by part of one, as PyTorch's RandomSampler gives.
  const auto long_epoch = RandomSampler(4, 3, {.num_samples = 10}).indices(0);
  ASSERT_EQ(long_epoch.size(), 10u);
  EXPECT_TRUE(is_permutation_of_range({long_epoch.begin(), long_epoch.begin() + 4}, 4));
  EXPECT_TRUE(is_permutation_of_range({long_epoch.begin() + 4, long_epoch.begin() + 8}, 4));

  EXPECT_THROW(RandomSampler(5, 1, {.num_samples = -2}), ValueError);
  EXPECT_THROW(RandomSampler(0, 1, {.replacement = true, .num_samples = 3}), ValueError);
  EXPECT_EQ(RandomSampler(0, 1).indices(0), std::vector<int64_t>{});
}

TEST(Sampler, BatchSamplerGroupsInOrder) {
  const auto seq = std::make_shared<SequentialSampler>(7);
  const BatchSampler keep(seq, 3), drop(seq, 3, /*drop_last=*/true);
  EXPECT_EQ(keep.batches(0), (std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6}}));
  EXPECT_EQ(keep.size(), 3);
  EXPECT_EQ(drop.batches(0), (std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}}));
  EXPECT_EQ(drop.size(), 2);
  const auto random = std::make_shared<RandomSampler>(7, 2);
  std::vector<int64_t> flat;
  for (const auto& b : BatchSampler(random, 2).batches(4)) flat.insert(flat.end(), b.begin(), b.end());
  EXPECT_EQ(flat, random->indices(4));
  EXPECT_THROW(BatchSampler(seq, 0), ValueError);
  EXPECT_THROW(BatchSampler(nullptr, 2), ValueError);
}

}  // namespace
