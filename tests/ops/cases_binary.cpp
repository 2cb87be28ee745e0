// Reference cases for src/ops/binary.cpp; goldens: scripts/goldens/binary.py.
#include "reference.h"

namespace ember::testing {
namespace {

using Fn = std::function<TensorList(const TensorList&)>;
TensorList one(const Tensor& t) { return {t}; }

const RegisterCases binary_cases("binary", {
    {"add/basic", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/broadcast", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/alpha", [](const TensorList& in) { return one(add(in[0], in[1], 2.5)); }},
    {"add/noncontig", [](const TensorList& in) { return one(in[0].t() + in[1]); }},
    {"add/scalar", [](const TensorList& in) { return one(in[0] + 1.5); }},
    {"add/zero_dim", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/empty", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/f64", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/bf16", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/f16", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/int", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/int_float_scalar", [](const TensorList& in) { return one(in[0] + 2.5); }},
    {"add/int_tensor_float_zero_dim", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/bool", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"add/f16_f32_promotion", [](const TensorList& in) { return one(in[0] + in[1]); }},
    {"sub/basic", [](const TensorList& in) { return one(in[0] - in[1]); }},
    {"sub/alpha", [](const TensorList& in) { return one(sub(in[0], in[1], 0.5)); }},
    {"sub/scalar_left", [](const TensorList& in) { return one(2 - in[0]); }},
    {"sub/int", [](const TensorList& in) { return one(in[0] - in[1]); }},
    {"mul/basic", [](const TensorList& in) { return one(in[0] * in[1]); }, {.gradgradcheck = true}},
    {"mul/broadcast", [](const TensorList& in) { return one(in[0] * in[1]); }},
    {"mul/scalar", [](const TensorList& in) { return one(in[0] * -3); }},
    {"mul/noncontig", [](const TensorList& in) {
       return one(in[0].slice(1, {}, {}, 2) * in[1].t().slice(1, {}, {}, 2));
     }},
    {"mul/bf16", [](const TensorList& in) { return one(in[0] * in[1]); }},
    {"mul/int_bool", [](const TensorList& in) { return one(in[0] * in[1]); }},
    {"div/basic", [](const TensorList& in) { return one(in[0] / in[1]); }, {.gradgradcheck = true}},
    {"div/broadcast", [](const TensorList& in) { return one(in[0] / in[1]); }},
    {"div/int_true", [](const TensorList& in) { return one(in[0] / in[1]); }},
    {"div/floor_int", [](const TensorList& in) { return one(div(in[0], in[1], "floor")); }},
    {"div/trunc_int", [](const TensorList& in) { return one(div(in[0], in[1], "trunc")); }},
    // Piecewise constant: finite differences are meaningless.
    {"div/floor_float", [](const TensorList& in) { return one(div(in[0], in[1], "floor")); }, {.gradcheck = false}},
    {"div/scalar", [](const TensorList& in) { return one(in[0] / 4); }},
    {"div/f64", [](const TensorList& in) { return one(in[0] / in[1]); }},
});

}  // namespace
}  // namespace ember::testing
