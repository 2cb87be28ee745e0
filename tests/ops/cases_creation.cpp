// Reference cases for tensor factories (src/ops/creation.cpp); goldens:
// scripts/goldens/creation.py. No gradients: factories have no inputs to
// differentiate.
#include "reference.h"

namespace ember::testing {
namespace {

TensorList one(const Tensor& t) { return {t}; }
constexpr CaseOptions kNoGrad{.gradcheck = false};

const RegisterCases creation_cases("creation", {
    {"arange/end", [](const TensorList&) { return one(arange(5)); }, kNoGrad},
    {"arange/float_step", [](const TensorList&) { return one(arange(1, 2.5, 0.5)); }, kNoGrad},
    {"arange/negative_step", [](const TensorList&) { return one(arange(10, 0, -3)); }, kNoGrad},
    {"arange/fractional_end", [](const TensorList&) { return one(arange(0, 1, 0.1)); }, kNoGrad},
    {"arange/f64", [](const TensorList&) { return one(arange(0, 3, 1, DType::f64)); }, kNoGrad},
    {"arange/empty", [](const TensorList&) { return one(arange(3, 3)); }, kNoGrad},
    {"linspace/basic", [](const TensorList&) { return one(linspace(0, 1, 5)); }, kNoGrad},
    {"linspace/descending", [](const TensorList&) { return one(linspace(3, -2, 7)); }, kNoGrad},
    {"linspace/one_step", [](const TensorList&) { return one(linspace(2, 5, 1)); }, kNoGrad},
    {"linspace/f64", [](const TensorList&) { return one(linspace(-1, 1, 11, DType::f64)); }, kNoGrad},
    {"eye/square", [](const TensorList&) { return one(eye(3)); }, kNoGrad},
    {"eye/rect", [](const TensorList&) { return one(eye(2, 4)); }, kNoGrad},
    {"eye/int", [](const TensorList&) { return one(eye(3, {}, DType::i64)); }, kNoGrad},
    {"full/int_value", [](const TensorList&) { return one(full({2, 3}, 7)); }, kNoGrad},
    {"full/float_value", [](const TensorList&) { return one(full({2}, 1.5)); }, kNoGrad},
    {"full/bool_value", [](const TensorList&) { return one(full({2}, true)); }, kNoGrad},
    {"zeros/basic", [](const TensorList&) { return one(zeros({2, 3})); }, kNoGrad},
    {"ones/i32", [](const TensorList&) { return one(ones({4}, DType::i32)); }, kNoGrad},
    {"ones_like/basic", [](const TensorList& in) { return one(ones_like(in[0])); }, kNoGrad},
    {"full_like/basic", [](const TensorList& in) { return one(full_like(in[0], 4)); }, kNoGrad},
    {"one_hot/basic", [](const TensorList& in) { return one(one_hot(in[0])); }, kNoGrad},
    {"one_hot/num_classes", [](const TensorList& in) { return one(one_hot(in[0], 6)); }, kNoGrad},
    {"tensor/from_values", [](const TensorList&) {
       return one(tensor(std::vector<float>{1.5f, -2.f, 3.f, 4.25f}, {2, 2}));
     }, kNoGrad},
});

}  // namespace
}  // namespace ember::testing
