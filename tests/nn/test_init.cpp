// nn::init: checked by statistics with tolerances derived from the sample
// size (a few standard errors), by bounds, and by orthogonality.
#include <gtest/gtest.h>

#include <cmath>

#include "ember/ember.h"

namespace init = ember::nn::init;
using ember::Tensor;

namespace {

struct Moments {
  double mean, std;
};
Moments moments(const Tensor& t) {
  const auto v = t.to_vector<double>();
  double s = 0, s2 = 0;
  for (double x : v) s += x;
  const double mean = s / double(v.size());
  for (double x : v) s2 += (x - mean) * (x - mean);
  return {mean, std::sqrt(s2 / double(v.size() - 1))};
}

// For n samples of std `std`: the sample mean's standard error is std/sqrt(n)
// and the sample std's is about std/sqrt(2n); 5 of them fail with p < 1e-6.
void expect_moments(const Tensor& t, double mean, double std) {
  const double n = double(t.numel());
  const Moments m = moments(t);
  EXPECT_NEAR(m.mean, mean, 5 * std / std::sqrt(n));
  EXPECT_NEAR(m.std, std, 5 * std / std::sqrt(2 * n));
}

TEST(Init, GainsAndFans) {
  EXPECT_DOUBLE_EQ(init::calculate_gain("relu"), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain("tanh"), 5.0 / 3);
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu"), std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu", std::sqrt(5.0)), std::sqrt(1.0 / 3));
  EXPECT_DOUBLE_EQ(init::calculate_gain("conv2d"), 1.0);
  EXPECT_THROW(init::calculate_gain("swish"), ember::ValueError);
  auto [fan_in, fan_out] = init::calculate_fan_in_and_fan_out(ember::empty({32, 16, 3, 3}));
  EXPECT_EQ(fan_in, 16 * 9);
  EXPECT_EQ(fan_out, 32 * 9);
  EXPECT_THROW(init::calculate_fan_in_and_fan_out(ember::empty({5})), ember::ValueError);
}

TEST(Init, UniformNormalConstant) {
  ember::Generator gen(1);
  Tensor t = ember::empty({200, 100});
  init::uniform_(t, -2, 3, &gen);
  EXPECT_GE(t.min().item<double>(), -2);
  EXPECT_LT(t.max().item<double>(), 3);
  expect_moments(t, 0.5, 5 / std::sqrt(12.0));
  init::normal_(t, 1.5, 0.2, &gen);
  expect_moments(t, 1.5, 0.2);
  init::constant_(t, 0.25);
  EXPECT_EQ(t.min().item<double>(), 0.25);
  EXPECT_EQ(t.max().item<double>(), 0.25);
  init::ones_(t);
  EXPECT_EQ(t.sum().item<double>(), 20000);
  init::zeros_(t);
  EXPECT_EQ(t.abs().sum().item<double>(), 0);
}

TEST(Init, SameGeneratorSeedGivesSameValues) {
  ember::Generator a(9), b(9);
  Tensor x = ember::empty({50, 40}), y = ember::empty({50, 40});
  init::kaiming_normal_(x, {.generator = &a});
  init::kaiming_normal_(y, {.generator = &b});
  EXPECT_EQ(x.to_vector<float>(), y.to_vector<float>());
}

TEST(Init, XavierAndKaiming) {
  ember::Generator gen(2);
  Tensor w = ember::empty({300, 200});
  init::xavier_uniform_(w, 2.0, &gen);
  const double xb = 2.0 * std::sqrt(6.0 / 500);
  EXPECT_LE(w.abs().max().item<double>(), xb);
  expect_moments(w, 0, xb / std::sqrt(3.0));
  init::xavier_normal_(w, 1.0, &gen);
  expect_moments(w, 0, std::sqrt(2.0 / 500));
  init::kaiming_uniform_(w, {.nonlinearity = "relu", .generator = &gen});
  const double kb = std::sqrt(2.0) * std::sqrt(3.0 / 200);
  EXPECT_LE(w.abs().max().item<double>(), kb);
  expect_moments(w, 0, kb / std::sqrt(3.0));
  init::kaiming_normal_(w, {.mode = init::FanMode::fan_out, .nonlinearity = "relu", .generator = &gen});
  expect_moments(w, 0, std::sqrt(2.0 / 300));
  Tensor conv = ember::empty({64, 32, 3, 3});
  init::kaiming_normal_(conv, {.a = 0.1, .generator = &gen});
  expect_moments(conv, 0, std::sqrt(2.0 / (1 + 0.01)) / std::sqrt(32.0 * 9));
}

TEST(Init, TruncNormalStaysInBoundsWithTheTruncatedMoments) {
  ember::Generator gen(3);
  Tensor t = ember::empty({100000});
  init::trunc_normal_(t, {.mean = 0.5, .std = 1.0, .a = -0.5, .b = 1.5, .generator = &gen});
  EXPECT_GE(t.min().item<double>(), -0.5);
  EXPECT_LE(t.max().item<double>(), 1.5);
  // N(0.5, 1) truncated to mean +- 1: mean 0.5, variance 1 - 2 phi(1) / (2 Phi(1) - 1).
  const double phi1 = std::exp(-0.5) / std::sqrt(2 * M_PI), mass = std::erf(1 / std::sqrt(2.0));
  expect_moments(t, 0.5, std::sqrt(1 - 2 * phi1 / mass));
  EXPECT_THROW(init::trunc_normal_(t, {.a = 1, .b = -1}), ember::ValueError);
}

void expect_orthonormal_rows_or_cols(const Tensor& t, double gain) {
  const Tensor m = t.reshape({t.size(0), -1}).to(ember::DType::f64);
  const bool wide = m.size(0) < m.size(1);
  const Tensor gram = wide ? ember::matmul(m, m.t()) : ember::matmul(m.t(), m);
  const Tensor id = ember::eye(gram.size(0), {}, ember::DType::f64) * (gain * gain);
  // float32 storage: entries of Q carry ~6e-8 relative error each.
  EXPECT_LT((gram - id).abs().max().item<double>(), 1e-5 * gain * gain);
}

TEST(Init, OrthogonalGivesOrthonormalRowsOrColumns) {
  ember::Generator gen(4);
  Tensor tall = ember::empty({40, 10}), wide = ember::empty({10, 40}), conv = ember::empty({8, 4, 3, 3});
  init::orthogonal_(tall, 1.0, &gen);
  expect_orthonormal_rows_or_cols(tall, 1.0);
  init::orthogonal_(wide, 2.0, &gen);
  expect_orthonormal_rows_or_cols(wide, 2.0);
  init::orthogonal_(conv, 1.0, &gen);
  expect_orthonormal_rows_or_cols(conv, 1.0);
  Tensor square = ember::empty({16, 16});
  init::orthogonal_(square, 1.0, &gen);
  expect_orthonormal_rows_or_cols(square, 1.0);
  Tensor vec = ember::empty({5});
  EXPECT_THROW(init::orthogonal_(vec), ember::ValueError);
}

TEST(Init, DoesNotRecordAutogradHistory) {
  Tensor w = ember::empty({4, 4}).requires_grad_();
  init::xavier_uniform_(w);
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(w.requires_grad());
  Tensor undefined;
  EXPECT_THROW(init::zeros_(undefined), ember::ValueError);
}

}  // namespace
