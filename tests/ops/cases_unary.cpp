// Reference cases for src/ops/unary.cpp; goldens: scripts/goldens/unary.py.
// Most ops run the same battery (`standard`), mirroring the script's helper.
#include "reference.h"

namespace ember::testing {
namespace {

using UnaryFn = std::function<Tensor(const Tensor&)>;
TensorList one(const Tensor& t) { return {t}; }

struct Battery {
  bool ints = true;            // PyTorch accepts integer inputs
  bool gradgradcheck = false;  // second-order check on the float cases
};

std::vector<RefCase> standard(const std::string& name, UnaryFn f, Battery b = {}) {
  auto apply = [f](const TensorList& in) { return one(f(in[0])); };
  const CaseOptions opts{.gradgradcheck = b.gradgradcheck};
  std::vector<RefCase> cases{
      {name + "/basic", apply, opts},
      {name + "/noncontig", [f](const TensorList& in) { return one(f(in[0].t())); }, opts},
      {name + "/zero_dim", apply, opts},
      {name + "/empty", apply},
      {name + "/f64", apply, opts},
      {name + "/bf16", apply},
      {name + "/f16", apply},
  };
  if (b.ints) cases.push_back({name + "/int", apply});
  return cases;
}

Tensor clamp_scalars(const Tensor& x, std::optional<Scalar> lo, std::optional<Scalar> hi) {
  return clamp(x, lo, hi);
}

std::vector<RefCase> unary_cases() {
  const Battery no_ints{.ints = false};
  const Battery smooth{.gradgradcheck = true};
  std::vector<RefCase> all;
  auto add = [&](std::vector<RefCase> more) {
    for (auto& c : more) all.push_back(std::move(c));
  };
  add(standard("neg", [](const Tensor& x) { return neg(x); }));
  add(standard("abs", [](const Tensor& x) { return abs(x); }));
  add(standard("sign", [](const Tensor& x) { return sign(x); }));
  add(standard("exp", [](const Tensor& x) { return exp(x); }, smooth));
  add(standard("expm1", [](const Tensor& x) { return expm1(x); }));
  add(standard("log", [](const Tensor& x) { return log(x); }, smooth));
  add(standard("log1p", [](const Tensor& x) { return log1p(x); }));
  add(standard("log2", [](const Tensor& x) { return log2(x); }));
  add(standard("sqrt", [](const Tensor& x) { return sqrt(x); }, smooth));
  add(standard("rsqrt", [](const Tensor& x) { return rsqrt(x); }));
  add(standard("square", [](const Tensor& x) { return square(x); }));
  add(standard("reciprocal", [](const Tensor& x) { return reciprocal(x); }));
  add(standard("sin", [](const Tensor& x) { return sin(x); }, smooth));
  add(standard("cos", [](const Tensor& x) { return cos(x); }));
  add(standard("tanh", [](const Tensor& x) { return tanh(x); }, smooth));
  add(standard("sigmoid", [](const Tensor& x) { return sigmoid(x); }, smooth));
  add(standard("relu", [](const Tensor& x) { return relu(x); }));
  add(standard("leaky_relu", [](const Tensor& x) { return leaky_relu(x); }, no_ints));
  add(standard("elu", [](const Tensor& x) { return elu(x); }, {.ints = false, .gradgradcheck = true}));
  add(standard("gelu", [](const Tensor& x) { return gelu(x); }, {.ints = false, .gradgradcheck = true}));
  add(standard("silu", [](const Tensor& x) { return silu(x); }, {.ints = false, .gradgradcheck = true}));
  add(standard("softplus", [](const Tensor& x) { return softplus(x); }, {.ints = false, .gradgradcheck = true}));
  add(standard("erf", [](const Tensor& x) { return erf(x); }, smooth));
  add(standard("floor", [](const Tensor& x) { return floor(x); }));
  add(standard("ceil", [](const Tensor& x) { return ceil(x); }));
  add(standard("round", [](const Tensor& x) { return round(x); }));

  const std::pair<const char*, UnaryFn> special[] = {
      {"abs", [](const Tensor& x) { return abs(x); }},       {"sign", [](const Tensor& x) { return sign(x); }},
      {"relu", [](const Tensor& x) { return relu(x); }},     {"floor", [](const Tensor& x) { return floor(x); }},
      {"ceil", [](const Tensor& x) { return ceil(x); }},     {"round", [](const Tensor& x) { return round(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }}, {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"exp", [](const Tensor& x) { return exp(x); }},       {"sqrt", [](const Tensor& x) { return sqrt(x); }},
      {"log", [](const Tensor& x) { return log(x); }},       {"reciprocal", [](const Tensor& x) { return reciprocal(x); }},
      {"isnan", [](const Tensor& x) { return isnan(x); }},   {"isinf", [](const Tensor& x) { return isinf(x); }},
      {"logical_not", [](const Tensor& x) { return logical_not(x); }},
  };
  for (const auto& [name, f] : special)
    all.push_back({std::string(name) + "/special", [f](const TensorList& in) { return one(f(in[0])); }});

  using In = const TensorList&;
  add({
      {"round/half_even", [](In in) { return one(round(in[0])); }},
      {"sign/bool", [](In in) { return one(sign(in[0])); }},
      {"square/bool", [](In in) { return one(square(in[0])); }},
      {"exp/bool", [](In in) { return one(exp(in[0])); }},
      {"abs/uint8", [](In in) { return one(abs(in[0])); }},
      {"relu/int8", [](In in) { return one(relu(in[0])); }},

      {"leaky_relu/slope", [](In in) { return one(leaky_relu(in[0], 0.2)); }},
      {"elu/alpha", [](In in) { return one(elu(in[0], 0.5)); }},
      {"gelu/tanh", [](In in) { return one(gelu(in[0], "tanh")); }, {.gradgradcheck = true}},
      {"gelu/tanh_f64", [](In in) { return one(gelu(in[0], "tanh")); }},
      {"gelu/tanh_bf16", [](In in) { return one(gelu(in[0], "tanh")); }},
      {"gelu/wide", [](In in) { return one(gelu(in[0])); }},
      {"softplus/beta_threshold", [](In in) { return one(softplus(in[0], 2.0, 1.0)); }},
      {"softplus/large", [](In in) { return one(softplus(in[0])); }},
      {"sigmoid/wide", [](In in) { return one(sigmoid(in[0])); }},

      {"logical_not/float", [](In in) { return one(logical_not(in[0])); }},
      {"logical_not/int", [](In in) { return one(logical_not(in[0])); }},
      {"logical_not/bool", [](In in) { return one(logical_not(in[0])); }},
      {"isnan/int", [](In in) { return one(isnan(in[0])); }},
      {"isnan/bf16", [](In in) { return one(isnan(in[0])); }},
      {"isinf/int", [](In in) { return one(isinf(in[0])); }},
      {"isinf/f16", [](In in) { return one(isinf(in[0])); }},

      {"to/f32_f64", [](In in) { return one(to_dtype(in[0], DType::f64)); }},
      {"to/f64_f32", [](In in) { return one(to_dtype(in[0], DType::f32)); }},
      {"to/f32_bf16", [](In in) { return one(to_dtype(in[0], DType::bf16)); }},
      {"to/f32_int", [](In in) { return one(to_dtype(in[0], DType::i32)); }},
      {"to/int_f32", [](In in) { return one(to_dtype(in[0], DType::f32)); }},
      {"to/noncontig", [](In in) { return one(to_dtype(in[0].t(), DType::f64)); }},

      {"clamp/basic", [](In in) { return one(clamp_scalars(in[0], -0.5, 0.7)); }},
      {"clamp/min_only", [](In in) { return one(clamp_scalars(in[0], 0.2, {})); }},
      {"clamp/max_only", [](In in) { return one(clamp_scalars(in[0], {}, -0.3)); }},
      {"clamp/noncontig", [](In in) { return one(clamp_scalars(in[0].t(), -1, 1)); }},
      {"clamp/crossed", [](In in) { return one(clamp_scalars(in[0], 1.0, -1.0)); }},
      // Values sit on the bounds, where clamp has no derivative (PyTorch gives 0 there).
      {"clamp/on_bounds", [](In in) { return one(clamp_scalars(in[0], -0.5, 0.5)); }, {.gradcheck = false}},
      {"clamp/special", [](In in) { return one(clamp_scalars(in[0], -1.0, 1.0)); }},
      {"clamp/int", [](In in) { return one(clamp_scalars(in[0], -3, 4)); }},
      {"clamp/int_float_bound", [](In in) { return one(clamp_scalars(in[0], 0.5, {})); }},
      {"clamp/bf16", [](In in) { return one(clamp_scalars(in[0], -0.3, 0.3)); }},
      {"clamp/f64", [](In in) { return one(clamp_scalars(in[0], -0.5, 0.5)); }},
      {"clamp/zero_dim", [](In in) { return one(clamp_scalars(in[0], -0.1, 0.1)); }},
      {"clamp/empty", [](In in) { return one(clamp_scalars(in[0], -0.1, 0.1)); }},

      {"clamp_tensor/basic", [](In in) { return one(clamp(in[0], in[1], in[2])); }, {.gradgradcheck = true}},
      {"clamp_tensor/broadcast", [](In in) { return one(clamp(in[0], in[1], in[2])); }},
      {"clamp_tensor/min_only", [](In in) { return one(clamp(in[0], in[1], Tensor{})); }},
      {"clamp_tensor/max_only", [](In in) { return one(clamp(in[0], Tensor{}, in[1])); }},
      {"clamp_tensor/crossed", [](In in) { return one(clamp(in[0], in[1], in[2])); }},
      {"clamp_tensor/zero_dim_bounds", [](In in) { return one(clamp(in[0], in[1], in[2])); }},
      // Ties between x and a bound: not differentiable there; PyTorch splits the gradient.
      {"clamp_tensor/ties", [](In in) { return one(clamp(in[0], in[1], in[2])); }, {.gradcheck = false}},
      {"clamp_tensor/min_ties", [](In in) { return one(clamp(in[0], in[1], Tensor{})); }, {.gradcheck = false}},
      {"clamp_tensor/max_ties", [](In in) { return one(clamp(in[0], Tensor{}, in[1])); }, {.gradcheck = false}},
      {"clamp_tensor/nan", [](In in) { return one(clamp(in[0], in[1], in[2])); }},
      {"clamp_tensor/int", [](In in) { return one(clamp(in[0], in[1], in[2])); }},
      {"clamp_tensor/promote", [](In in) { return one(clamp(in[0], in[1], Tensor{})); }},
      {"clamp_tensor/bf16", [](In in) { return one(clamp(in[0], in[1], in[2])); }},
  });
  return all;
}

const RegisterCases unary_cases_registered("unary", unary_cases());

}  // namespace
}  // namespace ember::testing
