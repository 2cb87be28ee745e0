#pragma once
// Reference cases: the C++ half of the golden tests. Each case names a
// golden record written by scripts/gen_goldens.py from PyTorch
// ("<reference>/<variant>", e.g. "add/broadcast") and computes the same thing
// with Ember. tests/ops/test_reference.cpp checks forward values and input
// gradients against the goldens, then gradchecks every differentiable case in
// float64. Register cases in tests/ops/cases_<family>.cpp:
//
//   static const RegisterCases binary_cases("binary", {
//       {"add/broadcast", [](const TensorList& in) -> TensorList { return {add(in[0], in[1])}; }},
//       {"div/floor", [](const TensorList& in) -> TensorList { return {div(in[0], in[1], "floor")}; },
//        {.gradcheck = false}},
//   });
//
// "binary" is the golden file: tests/golden/binary.safetensors.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ember/ember.h"

namespace ember::testing {

struct CaseOptions {
  bool gradcheck = true;       // run the float64 finite-difference check
  bool gradgradcheck = false;  // also second order
  std::optional<double> rtol = {};  // override the per-dtype tolerance (say why in a comment)
  std::optional<double> atol = {};
};

struct RefCase {
  std::string name;  // "<reference>/<variant>"
  std::function<TensorList(const TensorList&)> fn;
  CaseOptions options = {};
  std::string golden_file = {};  // filled by RegisterCases
};

std::vector<RefCase>& all_ref_cases();

struct RegisterCases {
  RegisterCases(const std::string& golden_file, std::vector<RefCase> cases);
};

// Per-dtype tolerances (those of torch.testing.assert_close).
struct Tolerance {
  double rtol, atol;
};
Tolerance default_tolerance(DType dt);

// Max |a - b| - (atol + rtol |b|) style comparison; returns "" if close, else
// a description of the first mismatch.
std::string compare(const Tensor& actual, const Tensor& expected, Tolerance tol);

// Path of a committed golden file (tests/golden/<name>.safetensors).
std::string golden_path(const std::string& name);

}  // namespace ember::testing
