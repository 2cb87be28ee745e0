// ember::compile: warm-up, trace, cache by signature, and results equal to eager.
#include <gtest/gtest.h>

#include "ember/ember.h"

namespace ember {
namespace {

namespace nn = ember::nn;

// The built-in recipes' models (tools/ember/recipe.cpp), at their real sizes.
nn::Sequential fashion_mlp() {
  return nn::Sequential{nn::Flatten(),        nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 512),
                        nn::ReLU(), nn::Linear(512, 10)};
}

nn::Sequential fashion_cnn() {
  return nn::Sequential{nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(32, 64, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Linear(128, 10)};
}

// Fusion changes where bias and activation are applied (in the GEMM's
// epilogue instead of a second pass), not the arithmetic; the float sums of
// a GEMM may be split differently by oneDNN's fused primitive, so results
// are compared to within a few float ulps of the logits' scale.
void expect_close(const Tensor& expected, const Tensor& got) {
  ASSERT_EQ(expected.sizes(), got.sizes());
  const double scale = expected.abs().max().item<double>() + 1e-30;
  const double err = (expected - got).abs().max().item<double>();
  EXPECT_LE(err, 1e-5 * scale) << "max abs error " << err << " at scale " << scale;
}

template <class Net>
void check_compiled_inference(Net net, Shape input_sizes) {
  net.eval();
  autograd::NoGradGuard no_grad;
  auto predict = compile([&](const TensorList& in) { return TensorList{net(in[0])}; });
  for (int64_t batch : {1, 64}) {
    input_sizes[0] = batch;
    for (int call = 0; call < 3; ++call) {  // warm-up, trace, graph
      Tensor x = randn(input_sizes);
      expect_close(net(x), predict({x})[0]);
    }
  }
  EXPECT_EQ(predict.num_compiled(), 2u);  // one graph per signature
}

TEST(Compile, MlpInferenceEqualsEager) {
  manual_seed(10);
  check_compiled_inference(fashion_mlp(), {1, 1, 28, 28});
}

TEST(Compile, CnnInferenceEqualsEager) {
  manual_seed(11);
  check_compiled_inference(fashion_cnn(), {1, 1, 28, 28});
}

TEST(Compile, WarmupThenTraceThenGraph) {
  int eager_calls = 0;
  auto f = compile([&](const TensorList& in) {
    ++eager_calls;
    return TensorList{in[0] * 2 + 1};
  });
  Tensor x = randn({3});
  f({x});
  EXPECT_EQ(f.graph_for({x}), nullptr);  // warm-up ran eagerly
  f({x});
  ASSERT_NE(f.graph_for({x}), nullptr);  // traced (running eagerly once more)
  EXPECT_EQ(eager_calls, 2);
  Tensor y = f({x})[0];
  EXPECT_EQ(eager_calls, 2);  // the graph ran
  EXPECT_EQ(y.to_vector<float>(), (x * 2 + 1).to_vector<float>());
}

TEST(Compile, CacheIsBoundedAndFallsBackToEager) {
  int eager_calls = 0;
  auto f = compile(
      [&](const TensorList& in) {
        ++eager_calls;
        return TensorList{in[0] + 1};
      },
      {.cache_limit = 2, .warmup_calls = 0});
  for (int64_t n : {1, 2, 3}) f({zeros({n})});
  EXPECT_EQ(f.num_compiled(), 2u);
  EXPECT_EQ(eager_calls, 3);
  f({zeros({3})});  // beyond the limit: eager every time
  EXPECT_EQ(eager_calls, 4);
  f({zeros({1})});  // compiled
  EXPECT_EQ(eager_calls, 4);
}

TEST(Compile, GraphOutputsAreIndependentOfLaterCalls) {
  auto f = compile([](const TensorList& in) { return TensorList{in[0] * 3}; }, {.warmup_calls = 0});
  TensorList first = f({ones({4})});
  first = f({ones({4})});
  TensorList second = f({full({4}, 2.0)});
  EXPECT_EQ(first[0].to_vector<float>(), (std::vector<float>{3, 3, 3, 3}));
  EXPECT_EQ(second[0].to_vector<float>(), (std::vector<float>{6, 6, 6, 6}));
}

}  // namespace
}  // namespace ember
