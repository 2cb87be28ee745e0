// torch.promote_types for every pair of dtypes (goldens: scripts/goldens/promotion.py).
#include "reference.h"

namespace ember::testing {
namespace {

std::vector<RefCase> promotion_cases() {
  const char* names[] = {"f32", "f64", "bf16", "f16", "i8", "u8", "i16", "i32", "i64", "b8"};
  std::vector<RefCase> cases;
  for (const char* a : names)
    for (const char* b : names)
      cases.push_back({std::string("promote_types/") + a + "_" + b,
                       [](const TensorList& in) -> TensorList {
                         return {zeros({}, promote_types(in[0].dtype(), in[1].dtype()))};
                       },
                       {.gradcheck = false}});
  return cases;
}

const RegisterCases cases("promotion", promotion_cases());

}  // namespace
}  // namespace ember::testing
