// Transforms: values against direct computation, randomness drawn only from
// the generator passed in, and errors for inputs they cannot handle.
#include <gtest/gtest.h>

#include <set>

#include "ember/ember.h"

using namespace ember;
using namespace ember::data;

namespace {

TEST(Transforms, NormalizePerChannel) {
  Generator gen(0);
  const Tensor x = rand({2, 3, 4});
  const Tensor y = Normalize{.mean = {0.5, 0.25}, .std = {2.0, 0.5}}(x, gen);
  const auto xs = x.to_vector<float>(), ys = y.to_vector<float>();
  for (size_t i = 0; i < xs.size(); ++i) {
    const bool second = i >= 12;
    EXPECT_FLOAT_EQ(ys[i], (xs[i] - (second ? 0.25f : 0.5f)) / (second ? 0.5f : 2.0f)) << i;
  }
  const Tensor one = Normalize{.mean = {0.5}, .std = {0.25}}(x, gen);
  EXPECT_FLOAT_EQ(one.to_vector<float>()[13], (xs[13] - 0.5f) / 0.25f);
  EXPECT_THROW(Normalize({.mean = {0.5, 0.5, 0.5}, .std = {1}})(x, gen), ShapeError);
  EXPECT_THROW(Normalize({.mean = {0.5}, .std = {0}})(x, gen), ValueError);
  EXPECT_THROW(Normalize({.mean = {0.5}, .std = {1}})(zeros({1, 2}, DType::u8), gen), DTypeError);
}

TEST(Transforms, RandomCropIsAWindowOfThePaddedInput) {
  const Tensor x = arange(1, 17).to(DType::f32).reshape({1, 4, 4});
  const Tensor padded = pad(x, {1, 1, 1, 1});
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Generator gen(seed);
    const Tensor y = RandomCrop{.size = 4, .padding = 1}(x, gen);
    ASSERT_EQ(y.shape(), (Shape{1, 4, 4}));
    int matches = 0;
    for (int64_t top = 0; top < 3; ++top) {
      for (int64_t left = 0; left < 3; ++left) {
        if (padded.narrow(1, top, 4).narrow(2, left, 4).contiguous().to_vector<float>() == y.to_vector<float>()) {
          offsets.insert({top, left});
          ++matches;
        }
      }
    }
    EXPECT_EQ(matches, 1) << "seed " << seed;
  }
  EXPECT_EQ(offsets.size(), 9u);  // every position is reachable

  Generator gen(1);
  const RandomCrop rectangle{.size = {2, 3}};
  EXPECT_EQ(rectangle(x, gen).shape(), (Shape{1, 2, 3}));
  const Tensor filled = RandomCrop{.size = 6, .padding = 1, .fill = -1}(x, gen);
  EXPECT_EQ(filled.to_vector<float>(), pad(x, {1, 1, 1, 1}, "constant", -1).to_vector<float>());
  const RandomCrop too_big{.size = 7, .padding = 1}, negative{.size = 2, .padding = -1};
  EXPECT_THROW(too_big(x, gen), ValueError);
  EXPECT_THROW(negative(x, gen), ValueError);
  EXPECT_THROW(RandomCrop{.size = 2}(zeros({4}), gen), ShapeError);
}

TEST(Transforms, RandomHorizontalFlip) {
  const Tensor x = arange(0, 6).reshape({2, 3});
  const auto flipped = flip(x, {1}).to_vector<int64_t>();
  int flips = 0;
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    Generator gen(seed);
    const auto y = RandomHorizontalFlip{}(x, gen).to_vector<int64_t>();
    if (y == flipped) {
      ++flips;
    } else {
      EXPECT_EQ(y, x.to_vector<int64_t>());
    }
    Generator again(seed);
    EXPECT_EQ(RandomHorizontalFlip{}(x, again).to_vector<int64_t>(), y);
  }
  EXPECT_GT(flips, 430);
  EXPECT_LT(flips, 570);
  Generator gen(3);
  EXPECT_EQ(RandomHorizontalFlip{.p = 1}(x, gen).to_vector<int64_t>(), flipped);
  EXPECT_EQ(RandomHorizontalFlip{.p = 0}(x, gen).to_vector<int64_t>(), x.to_vector<int64_t>());
  EXPECT_THROW(RandomHorizontalFlip{.p = 1.5}(x, gen), ValueError);
}

TEST(Transforms, ComposeAppliesInOrder) {
  Generator gen(0);
  const Transform add_one = [](const Tensor& t, Generator&) { return t + 1; };
  const Transform twice = [](const Tensor& t, Generator&) { return t * 2; };
  const Compose add_then_double{{add_one, twice}}, double_then_add{{twice, add_one}}, broken{{add_one, nullptr}};
  EXPECT_EQ(add_then_double(tensor({1.f}), gen).item<float>(), 4.f);
  EXPECT_EQ(double_then_add(tensor({1.f}), gen).item<float>(), 3.f);
  EXPECT_THROW(broken(tensor({1.f}), gen), ValueError);
}

TEST(Transforms, ExampleSeedsDifferPerEpochAndIndex) {
  std::set<uint64_t> seeds;
  for (int64_t epoch = 0; epoch < 10; ++epoch) {
    for (int64_t index = 0; index < 100; ++index) seeds.insert(example_seed(42, epoch, index));
  }
  EXPECT_EQ(seeds.size(), 1000u);
  EXPECT_EQ(example_seed(42, 3, 7), example_seed(42, 3, 7));
  EXPECT_NE(example_seed(42, 3, 7), example_seed(43, 3, 7));
}

}  // namespace
