// Reference cases for src/ops/attention.cpp; goldens: scripts/goldens/attention.py.
#include <cmath>

#include "reference.h"

namespace ember::testing {
namespace {

TensorList one(const Tensor& t) { return {t}; }

TensorList sdpa(const TensorList& in, AttentionOptions options = {}) {
  if (in.size() > 3) options.attn_mask = in[3];
  return one(scaled_dot_product_attention(in[0], in[1], in[2], options));
}

// (grad_output, q, k, v[, mask]) -> the fused backward op's (dq, dk, dv),
// given the fused forward's output and logsumexp.
TensorList sdpa_backward(const TensorList& in, bool is_causal = false) {
  const Tensor mask = in.size() > 4 ? in[4] : Tensor();
  const Attrs attrs{{"scale", 1.0 / std::sqrt(double(in[1].size(-1)))}, {"is_causal", is_causal}};
  const TensorList fwd = call(*find_op("scaled_dot_product_attention"), {in[1], in[2], in[3], mask}, attrs);
  return call(*find_op("scaled_dot_product_attention_backward"), {in[0], in[1], in[2], in[3], fwd[0], fwd[1], mask},
              attrs);
}

const RegisterCases attention_registered(
    "attention",
    {
        // S = 300: the gradients are compared with PyTorch's, but finite
        // differences (two forwards per input element) would take a minute;
        // the shorter cases below gradcheck the same tile paths.
        {"scaled_dot_product_attention/long", [](const TensorList& in) { return sdpa(in); }, {.gradcheck = false}},
        {"scaled_dot_product_attention/long_causal", [](const TensorList& in) { return sdpa(in, {.is_causal = true}); },
         {.gradcheck = false}},
        {"scaled_dot_product_attention/rect", [](const TensorList& in) { return sdpa(in); }},
        {"scaled_dot_product_attention/causal_wide",
         [](const TensorList& in) { return sdpa(in, {.is_causal = true}); }},
        {"scaled_dot_product_attention/causal_tall",
         [](const TensorList& in) { return sdpa(in, {.is_causal = true}); }},
        {"scaled_dot_product_attention/bool_mask_heads", [](const TensorList& in) { return sdpa(in); }},
        {"scaled_dot_product_attention/key_padding", [](const TensorList& in) { return sdpa(in); }},
        {"scaled_dot_product_attention/float_mask_batch", [](const TensorList& in) { return sdpa(in); }},
        {"scaled_dot_product_attention/broadcast", [](const TensorList& in) { return sdpa(in); }},
        // Second order goes through the composite formula (Note [Attention double backward]).
        {"scaled_dot_product_attention/scale_long", [](const TensorList& in) { return sdpa(in, {.scale = 0.7}); },
         {.gradgradcheck = true}},
        {"scaled_dot_product_attention/f64_causal", [](const TensorList& in) { return sdpa(in, {.is_causal = true}); }},
        {"scaled_dot_product_attention_backward/long", [](const TensorList& in) { return sdpa_backward(in); }},
        {"scaled_dot_product_attention_backward/causal_tall",
         [](const TensorList& in) { return sdpa_backward(in, true); }},
        {"scaled_dot_product_attention_backward/bool_mask", [](const TensorList& in) { return sdpa_backward(in); }},
    });

}  // namespace
}  // namespace ember::testing
