// The golden sweep: every reference case (tests/ops/cases_*.cpp) is checked
// forward and backward against PyTorch's values in tests/golden/, then
// gradchecked in float64. See tests/ops/reference.h.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "ember/io/safetensors.h"
#include "reference.h"

namespace ember::testing {
namespace {

const io::TensorMap& golden_file(const std::string& name) {
  static std::map<std::string, io::TensorMap> cache;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, io::load_safetensors(golden_path(name))).first;
  return it->second;
}

// "<case>/<prefix><i>" for i = 0, 1, ... while present.
TensorList numbered(const io::TensorMap& file, const std::string& case_name, const std::string& prefix) {
  TensorList out;
  for (int i = 0;; ++i) {
    auto it = file.find(case_name + "/" + prefix + std::to_string(i));
    if (it == file.end()) return out;
    out.push_back(it->second);
  }
}
const Tensor* find(const io::TensorMap& file, const std::string& key) {
  auto it = file.find(key);
  return it == file.end() ? nullptr : &it->second;
}

Tolerance tolerance_for(const RefCase& c, DType dt) {
  Tolerance tol = default_tolerance(dt);
  if (c.options.rtol) tol.rtol = *c.options.rtol;
  if (c.options.atol) tol.atol = *c.options.atol;
  return tol;
}

}  // namespace
// gtest prints parameters with PrintTo; the case name is what a reader needs.
void PrintTo(const RefCase& c, std::ostream* os) { *os << c.name; }
namespace {

class Reference : public ::testing::TestWithParam<RefCase> {};

TEST_P(Reference, MatchesPyTorch) {
  const RefCase& c = GetParam();
  const io::TensorMap& file = golden_file(c.golden_file);
  const TensorList golden_in = numbered(file, c.name, "in");
  const TensorList expected = numbered(file, c.name, "out");
  ASSERT_FALSE(expected.empty()) << "no golden record \"" << c.name << "\" in " << golden_path(c.golden_file)
                                  << "; add it to scripts/goldens/" << c.golden_file
                                  << ".py and run scripts/gen_goldens.sh " << c.golden_file;
  TensorList inputs;
  TensorList wrt;
  std::vector<size_t> wrt_index;
  for (size_t i = 0; i < golden_in.size(); ++i) {
    Tensor t = golden_in[i].clone();
    if (find(file, c.name + "/grad" + std::to_string(i))) {
      t.requires_grad_();
      wrt.push_back(t);
      wrt_index.push_back(i);
    }
    inputs.push_back(t);
  }
  const TensorList outputs = c.fn(inputs);
  ASSERT_EQ(outputs.size(), expected.size()) << "number of outputs";
  TensorList differentiable_outputs, gouts;
  for (size_t j = 0; j < outputs.size(); ++j) {
    const std::string mismatch = compare(outputs[j], expected[j], tolerance_for(c, expected[j].dtype()));
    EXPECT_EQ(mismatch, "") << "output " << j;
    if (const Tensor* g = find(file, c.name + "/gout" + std::to_string(j))) {
      ASSERT_TRUE(outputs[j].requires_grad()) << "output " << j << " has a PyTorch gradient but no grad_fn";
      differentiable_outputs.push_back(outputs[j]);
      gouts.push_back(*g);
    }
  }
  if (!wrt.empty() && !differentiable_outputs.empty()) {
    const TensorList grads = autograd::grad(differentiable_outputs, wrt, gouts, false, {}, /*allow_unused=*/true);
    for (size_t k = 0; k < wrt.size(); ++k) {
      const Tensor& want = *find(file, c.name + "/grad" + std::to_string(wrt_index[k]));
      const Tensor got = grads[k].defined() ? grads[k] : zeros_like(want);
      EXPECT_EQ(compare(got, want, tolerance_for(c, want.dtype())), "") << "gradient of input " << wrt_index[k];
    }
  }

  // float64 gradcheck of the same function at the same point.
  bool all_full_precision = true;
  for (size_t i : wrt_index) {
    const DType dt = golden_in[i].dtype();
    all_full_precision = all_full_precision && (dt == DType::f32 || dt == DType::f64);
  }
  if (!c.options.gradcheck || wrt.empty() || differentiable_outputs.empty() || !all_full_precision) return;
  TensorList inputs64;
  for (size_t i = 0; i < golden_in.size(); ++i) {
    Tensor t = is_floating(golden_in[i].dtype()) ? golden_in[i].to(DType::f64) : golden_in[i].clone();
    if (find(file, c.name + "/grad" + std::to_string(i))) t.requires_grad_();
    inputs64.push_back(t);
  }
  EXPECT_EQ(autograd::gradcheck(c.fn, inputs64), "") << "gradcheck";
  if (c.options.gradgradcheck) {
    EXPECT_EQ(autograd::gradgradcheck(c.fn, inputs64), "") << "gradgradcheck";
  }
}

std::string case_test_name(const ::testing::TestParamInfo<RefCase>& info) {
  std::string s = info.param.name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Golden, Reference, ::testing::ValuesIn(all_ref_cases()), case_test_name);

// Every op in the table names its reference, and that reference has cases.
TEST(ReferenceCoverage, EveryOpHasCases) {
  for (const OpDef* op : all_ops()) {
    EXPECT_FALSE(op->reference.empty()) << op->name << " has no .reference";
    const std::string prefix = std::string(op->reference) + "/";
    bool found = false, gradchecked = false;
    for (const RefCase& c : all_ref_cases())
      if (c.name.rfind(prefix, 0) == 0) {
        found = true;
        gradchecked = gradchecked || c.options.gradcheck;
      }
    EXPECT_TRUE(found) << op->name << ": no reference case named \"" << prefix << "...\" in tests/ops/cases_*.cpp";
    if (op->backward) {
      EXPECT_TRUE(gradchecked) << op->name << " is differentiable but none of its cases is gradchecked";
    }
  }
}

}  // namespace
}  // namespace ember::testing
