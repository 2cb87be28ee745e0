#include "reference.h"

#include <cmath>
#include <sstream>

namespace ember::testing {

std::vector<RefCase>& all_ref_cases() {
  static std::vector<RefCase> cases;
  return cases;
}

RegisterCases::RegisterCases(const std::string& golden_file, std::vector<RefCase> cases) {
  for (auto& c : cases) {
    c.golden_file = golden_file;
    all_ref_cases().push_back(std::move(c));
  }
}

// torch.testing.assert_close's defaults, so a pass here means a pass there.
Tolerance default_tolerance(DType dt) {
  switch (dt) {
    case DType::f32: return {1.3e-6, 1e-5};
    case DType::f64: return {1e-7, 1e-7};
    case DType::bf16: return {1.6e-2, 1e-5};
    case DType::f16: return {1e-3, 1e-5};
    default: return {0, 0};
  }
}

std::string compare(const Tensor& actual, const Tensor& expected, Tolerance tol) {
  std::ostringstream msg;
  if (!actual.defined()) return "result is an undefined Tensor";
  if (actual.sizes() != expected.sizes()) {
    msg << "shape " << shape_str(actual.sizes()) << " != expected " << shape_str(expected.sizes());
    return msg.str();
  }
  if (actual.dtype() != expected.dtype()) {
    msg << "dtype " << actual.dtype() << " != expected " << expected.dtype();
    return msg.str();
  }
  autograd::NoGradGuard no_grad;
  const auto a = actual.to_vector<double>();
  const auto e = expected.to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i) {
    const bool both_nan = std::isnan(a[i]) && std::isnan(e[i]);
    const bool same_inf = std::isinf(a[i]) && a[i] == e[i];
    if (both_nan || same_inf) continue;
    if (!(std::abs(a[i] - e[i]) <= tol.atol + tol.rtol * std::abs(e[i]))) {
      msg << "element " << i << ": " << a[i] << " vs expected " << e[i] << " (|diff| " << std::abs(a[i] - e[i])
          << ", rtol " << tol.rtol << ", atol " << tol.atol << ")";
      return msg.str();
    }
  }
  return {};
}

std::string golden_path(const std::string& name) {
  const char* root = std::getenv("EMBER_SOURCE_DIR");
  return std::string(root ? root : EMBER_SOURCE_DIR_DEFAULT) + "/tests/golden/" + name + ".safetensors";
}

}  // namespace ember::testing
