// A tour of tensors and autograd: every snippet of docs/tensors_and_autograd.md,
// runnable. Built as `ember_tour`; CTest runs it as a smoke test.
#include <iostream>

#include "ember/ember.h"

using ember::Tensor;
namespace ag = ember::autograd;

int main() {
  // --- tensors, views and broadcasting
  Tensor x = ember::arange(0, 6).reshape({2, 3}).to(ember::DType::f32);
  std::cout << "x =\n" << x << "\n";
  std::cout << "x.t() is a view: " << x.t().is_contiguous() << ", strides [" << x.t().stride(0) << ", "
            << x.t().stride(1) << "]\n";
  std::cout << "x + [10, 20, 30] =\n" << x + ember::tensor({10.f, 20.f, 30.f}) << "\n";
  std::cout << "x.index({Slice(), 1}) = " << x.index({ember::Slice(), 1}) << "\n";
  std::cout << "x[x > 2] = " << x.index({x > 2}) << "\n";
  std::cout << "int / int promotes: " << (ember::tensor({7, 8}) / 2) << "\n";

  // --- autograd
  Tensor w = ember::tensor({0.5, -1.0, 2.0}, ember::DType::f64).requires_grad_();
  Tensor loss = (w * w).sum() + ember::tanh(w).sum();
  loss.backward();
  std::cout << "loss = " << loss << "\n";
  std::cout << "d loss / d w = " << w.grad() << "\n";

  // Higher order: d2/dx2 tanh(x) through create_graph.
  Tensor z = ember::tensor({0.7}, ember::DType::f64).requires_grad_();
  Tensor dz = ag::grad({ember::tanh(z).sum()}, {z}, {}, /*create_graph=*/true)[0];
  Tensor d2z = ag::grad({dz.sum()}, {z})[0];
  std::cout << "tanh'(0.7) = " << dz.item<double>() << ", tanh''(0.7) = " << d2z.item<double>() << "\n";

  // Errors are values the user can read.
  try {
    ember::matmul(ember::ones({2, 3}), ember::ones({4, 5}));
  } catch (const ember::ShapeError& e) {
    std::cout << "ShapeError: " << e.what() << "\n";
  }
  // gradcheck any function in float64.
  auto f = [](const ember::TensorList& in) { return ember::TensorList{ember::sigmoid(in[0]) * in[0]}; };
  Tensor p = ember::randn({4}, ember::DType::f64).requires_grad_();
  const std::string report = ag::gradcheck(f, {p});
  std::cout << "gradcheck: " << (report.empty() ? "ok" : report) << "\n";
  return report.empty() ? 0 : 1;
}
