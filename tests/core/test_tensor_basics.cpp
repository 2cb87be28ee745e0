#include <gtest/gtest.h>

#include "ember/ember.h"

using namespace ember;

TEST(Tensor, ArithmeticAndViews) {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f}).reshape({2, 2});
  Tensor y = x * 2 + 1;
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{3, 5, 7, 9}));
  Tensor t = x.t();
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.contiguous().to_vector<float>(), (std::vector<float>{1, 3, 2, 4}));
  EXPECT_EQ(x.sum().item<float>(), 10.f);
}

TEST(Autograd, SimpleBackward) {
  Tensor w = tensor({1.f, 2.f, 3.f}).requires_grad_();
  Tensor loss = (w * w).sum();
  loss.backward();
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{2, 4, 6}));
}
