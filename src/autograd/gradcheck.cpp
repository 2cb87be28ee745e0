// Finite-difference gradient checks in float64 (PyTorch's gradcheck method:
// full Jacobians, analytical by one backward per output element, numerical by
// central differences).
#include <cmath>
#include <sstream>

#include "ember/autograd/autograd.h"
#include "ember/ops/creation.h"
#include "ember/ops/shape.h"

namespace ember::autograd {
namespace {

// As in PyTorch, the inputs that require grad are the ones checked.
bool is_differentiable_input(const Tensor& t) { return t.defined() && t.requires_grad(); }

void check_f64(const TensorList& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i)
    EMBER_CHECK(!is_differentiable_input(inputs[i]) || inputs[i].dtype() == DType::f64, DTypeError,
                "gradcheck: input ", i, " is ", inputs[i].dtype(), "; finite differences need float64 inputs");
}

// Flattened float64 copy of every output.
std::vector<std::vector<double>> eval_outputs(const DifferentiableFn& fn, const TensorList& inputs) {
  NoGradGuard no_grad;
  std::vector<std::vector<double>> out;
  for (const auto& t : fn(inputs))
    out.push_back(t.defined() && is_floating(t.dtype()) ? t.to_vector<double>() : std::vector<double>{});
  return out;
}

}  // namespace

std::string gradcheck(const DifferentiableFn& fn, const TensorList& inputs_in, const GradcheckOptions& opt) {
  check_f64(inputs_in);
  TensorList inputs;
  for (const auto& t : inputs_in) {
    if (!is_differentiable_input(t)) {
      inputs.push_back(t);
      continue;
    }
    inputs.push_back(t.detach().clone().requires_grad_());
  }
  // Analytical Jacobian, row by row: d out[o][k] / d inputs.
  TensorList outputs;
  {
    EnableGradGuard enable;
    outputs = fn(inputs);
  }
  bool any_input = false;
  for (const auto& t : inputs) any_input = any_input || is_differentiable_input(t);
  EMBER_CHECK(any_input, ValueError, "gradcheck: no input requires grad");
  std::vector<size_t> diff_inputs;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (is_differentiable_input(inputs[i])) diff_inputs.push_back(i);
  // As PyTorch: when some output is differentiable, outputs that are not
  // (running statistics, indices) are side results and not checked. When none
  // is, every output is checked against a zero analytical Jacobian, which
  // catches an op that forgot to record its gradient.
  bool any_differentiable_output = false;
  for (const auto& out : outputs)
    any_differentiable_output = any_differentiable_output || (out.defined() && out.requires_grad());
  std::ostringstream report;
  for (size_t o = 0; o < outputs.size(); ++o) {
    const Tensor& out = outputs[o];
    if (!out.defined() || out.dtype() != DType::f64) continue;
    if (any_differentiable_output && !out.requires_grad()) continue;
    const int64_t n_out = out.numel();
    // analytic[i][k][j] = d out[k] / d input_i[j]
    std::vector<std::vector<std::vector<double>>> analytic(inputs.size());
    for (size_t i : diff_inputs) analytic[i].assign(size_t(n_out), std::vector<double>(size_t(inputs[i].numel()), 0));
    if (out.requires_grad()) {
      TensorList diff;
      for (size_t i : diff_inputs) diff.push_back(inputs[i]);
      for (int64_t k = 0; k < n_out; ++k) {
        Tensor onehot = zeros(out.sizes(), DType::f64);
        onehot.data_ptr<double>()[k] = 1.0;
        TensorList g = grad({out}, diff, {onehot}, false, true, true);
        for (size_t d = 0; d < diff_inputs.size(); ++d)
          if (g[d].defined()) analytic[diff_inputs[d]][size_t(k)] = g[d].contiguous().to_vector<double>();
      }
    }
    // Numerical Jacobian, column by column.
    for (size_t i : diff_inputs) {
      const int64_t n_in = inputs[i].numel();
      for (int64_t j = 0; j < n_in; ++j) {
        TensorList plus = inputs, minus = inputs;
        plus[i] = inputs[i].detach().contiguous().clone().requires_grad_();
        minus[i] = inputs[i].detach().contiguous().clone().requires_grad_();
        plus[i].data_ptr<double>()[j] += opt.eps;
        minus[i].data_ptr<double>()[j] -= opt.eps;
        const auto fp = eval_outputs(fn, plus)[o];
        const auto fm = eval_outputs(fn, minus)[o];
        for (int64_t k = 0; k < n_out; ++k) {
          const double numeric = (fp[size_t(k)] - fm[size_t(k)]) / (2 * opt.eps);
          const double analytical = analytic[i][size_t(k)][size_t(j)];
          if (std::abs(numeric - analytical) > opt.atol + opt.rtol * std::abs(numeric) ||
              std::isnan(numeric) != std::isnan(analytical)) {
            report << "Jacobian mismatch for output " << o << " with respect to input " << i << " ("
                   << inputs[i].meta_str() << ") at input element " << j << ", output element " << k
                   << ": numerical " << numeric << ", analytical " << analytical << "\n";
            return report.str();
          }
        }
      }
    }
  }
  return {};
}

std::string gradgradcheck(const DifferentiableFn& fn, const TensorList& inputs, const GradcheckOptions& opt) {
  check_f64(inputs);
  // Random grad_outputs join the inputs, as in PyTorch's gradgradcheck.
  TensorList outs;
  {
    NoGradGuard no_grad;
    TensorList probe;
    for (const auto& t : inputs)
      probe.push_back(is_differentiable_input(t) ? t.detach().clone().requires_grad_() : t);
    EnableGradGuard enable;
    outs = fn(probe);
  }
  Generator gen(1234);
  TensorList all = inputs;
  std::vector<size_t> out_idx;
  for (size_t o = 0; o < outs.size(); ++o)
    if (outs[o].defined() && outs[o].dtype() == DType::f64 && outs[o].requires_grad()) {
      out_idx.push_back(o);
      all.push_back(randn(outs[o].sizes(), DType::f64, &gen));
    }
  const size_t n_in = inputs.size();
  DifferentiableFn first_order = [&](const TensorList& args) {
    TensorList in(args.begin(), args.begin() + long(n_in));
    TensorList diff;
    for (const auto& t : in)
      if (is_differentiable_input(t) && t.requires_grad()) diff.push_back(t);
    EnableGradGuard enable;
    TensorList out = fn(in);
    TensorList roots, grads;
    for (size_t k = 0; k < out_idx.size(); ++k) {
      roots.push_back(out[out_idx[k]]);
      grads.push_back(args[n_in + k]);
    }
    if (roots.empty() || diff.empty()) return TensorList{};
    TensorList g = grad(roots, diff, grads, true, true, true);
    TensorList result;
    for (const auto& t : g)
      if (t.defined()) result.push_back(t);
    return result;
  };
  return gradcheck(first_order, all, opt);
}

}  // namespace ember::autograd
