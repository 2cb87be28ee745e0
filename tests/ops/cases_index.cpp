// Reference cases for src/ops/index.cpp; goldens: scripts/goldens/index.py.
#include "reference.h"

namespace ember::testing {
namespace {

TensorList one(const Tensor& t) { return {t}; }
TensorList two(const ValuesIndices& r) { return {r.values, r.indices}; }
using Idx = std::vector<std::optional<Tensor>>;

constexpr CaseOptions kNoGradcheck{.gradcheck = false};

const RegisterCases index_cases("index", {
    // ---- index_select ----
    {"index_select/basic", [](const TensorList& in) { return one(index_select(in[0], 0, in[1])); }},
    {"index_select/dim1", [](const TensorList& in) { return one(index_select(in[0], 1, in[1])); },
     {.gradgradcheck = true}},
    {"index_select/negative_dim", [](const TensorList& in) { return one(index_select(in[0], -1, in[1])); }},
    {"index_select/noncontig", [](const TensorList& in) { return one(index_select(in[0].t(), 1, in[1])); }},
    {"index_select/zero_dim_index", [](const TensorList& in) { return one(index_select(in[0], 1, in[1])); }},
    {"index_select/empty", [](const TensorList& in) { return one(index_select(in[0], 0, in[1])); }},
    {"index_select/f64", [](const TensorList& in) { return one(index_select(in[0], 0, in[1])); }},
    {"index_select/bf16", [](const TensorList& in) { return one(index_select(in[0], 0, in[1])); }},
    {"index_select/int", [](const TensorList& in) { return one(index_select(in[0], 1, in[1])); }},
    {"index_select/int32_index", [](const TensorList& in) { return one(index_select(in[0], 0, in[1])); }},
    // ---- gather ----
    {"gather/basic", [](const TensorList& in) { return one(gather(in[0], 1, in[1])); }, {.gradgradcheck = true}},
    {"gather/dim0", [](const TensorList& in) { return one(gather(in[0], 0, in[1])); }},
    {"gather/smaller_index", [](const TensorList& in) { return one(gather(in[0], 1, in[1])); }},
    {"gather/longer_index", [](const TensorList& in) { return one(gather(in[0], 1, in[1])); }},
    {"gather/noncontig", [](const TensorList& in) { return one(gather(in[0].t(), 1, in[1])); }},
    {"gather/three_d", [](const TensorList& in) { return one(gather(in[0], 1, in[1])); }},
    {"gather/zero_dim", [](const TensorList& in) { return one(gather(in[0], 0, in[1])); }},
    {"gather/empty", [](const TensorList& in) { return one(gather(in[0], 1, in[1])); }},
    {"gather/f16", [](const TensorList& in) { return one(gather(in[0], 1, in[1])); }},
    {"gather/int", [](const TensorList& in) { return one(gather(in[0], 1, in[1])); }},
    {"gather/int32_index", [](const TensorList& in) { return one(gather(in[0], 1, in[1])); }},
    // ---- scatter ----
    {"scatter/basic", [](const TensorList& in) { return one(scatter(in[0], 1, in[1], in[2])); }},
    {"scatter/dim0", [](const TensorList& in) { return one(scatter(in[0], 0, in[1], in[2])); }},
    {"scatter/noncontig", [](const TensorList& in) { return one(scatter(in[0].t(), 1, in[1], in[2].t())); }},
    {"scatter/src_larger", [](const TensorList& in) { return one(scatter(in[0], 1, in[1], in[2])); }},
    {"scatter/zero_dim", [](const TensorList& in) { return one(scatter(in[0], 0, in[1], in[2])); }},
    {"scatter/empty", [](const TensorList& in) { return one(scatter(in[0], 1, in[1], in[2])); }},
    {"scatter/int", [](const TensorList& in) { return one(scatter(in[0], 1, in[1], in[2])); }},
    {"scatter/bf16", [](const TensorList& in) { return one(scatter(in[0], 1, in[1], in[2])); }},
    {"scatter_value/basic", [](const TensorList& in) { return one(scatter(in[0], 1, in[1], 1.5)); }},
    {"scatter_value/int", [](const TensorList& in) { return one(scatter(in[0], 1, in[1], 7)); }},
    // ---- scatter_add ----
    {"scatter_add/basic", [](const TensorList& in) { return one(scatter_add(in[0], 1, in[1], in[2])); },
     {.gradgradcheck = true}},
    {"scatter_add/dim0", [](const TensorList& in) { return one(scatter_add(in[0], 0, in[1], in[2])); }},
    {"scatter_add/smaller_index", [](const TensorList& in) { return one(scatter_add(in[0], 1, in[1], in[2])); }},
    {"scatter_add/f64", [](const TensorList& in) { return one(scatter_add(in[0], 0, in[1], in[2])); }},
    {"scatter_add/int", [](const TensorList& in) { return one(scatter_add(in[0], 1, in[1], in[2])); }},
    // ---- index_add ----
    {"index_add/basic", [](const TensorList& in) { return one(index_add(in[0], 0, in[1], in[2])); }},
    {"index_add/alpha", [](const TensorList& in) { return one(index_add(in[0], 1, in[1], in[2], 2.5)); }},
    {"index_add/noncontig", [](const TensorList& in) { return one(index_add(in[0].t(), 0, in[1], in[2].t())); }},
    {"index_add/empty", [](const TensorList& in) { return one(index_add(in[0], 0, in[1], in[2])); }},
    {"index_add/int", [](const TensorList& in) { return one(index_add(in[0], 0, in[1], in[2], 2)); }},
    {"index_add/f64", [](const TensorList& in) { return one(index_add(in[0], 0, in[1], in[2])); }},
    // ---- index ----
    {"index/basic", [](const TensorList& in) { return one(index(in[0], {in[1]})); }, {.gradgradcheck = true}},
    {"index/negative", [](const TensorList& in) { return one(index(in[0], {in[1]})); }},
    {"index/two_adjacent", [](const TensorList& in) { return one(index(in[0], Idx{{}, in[1], in[2]})); }},
    {"index/non_adjacent", [](const TensorList& in) { return one(index(in[0], Idx{in[1], {}, in[2]})); }},
    {"index/mask", [](const TensorList& in) { return one(index(in[0], {in[1]})); }},
    {"index/mask_leading", [](const TensorList& in) { return one(index(in[0], {in[1]})); }},
    {"index/mask_dim1", [](const TensorList& in) { return one(index(in[0], Idx{{}, in[1]})); }},
    {"index/noncontig", [](const TensorList& in) { return one(index(in[0].t(), {in[1]})); }},
    {"index/empty", [](const TensorList& in) { return one(index(in[0], {in[1]})); }},
    {"index/f64", [](const TensorList& in) { return one(index(in[0], Idx{{}, in[1]})); }},
    {"index/bf16", [](const TensorList& in) { return one(index(in[0], {in[1]})); }},
    {"index/int", [](const TensorList& in) { return one(index(in[0], {in[1], in[2]})); }},
    {"index/int32_index", [](const TensorList& in) { return one(index(in[0], {in[1]})); }},
    {"index/zero_dim_index", [](const TensorList& in) { return one(index(in[0], Idx{{}, in[1]})); }},
    {"index/method_mixed", [](const TensorList& in) { return one(in[0].index({Slice(1, None), in[1], None})); }},
    {"index/method_ellipsis", [](const TensorList& in) { return one(in[0].index({Ellipsis, in[1]})); }},
    {"index/method_int_then_tensor", [](const TensorList& in) { return one(in[0].index({0, Slice(), in[1]})); }},
    {"index/method_bool_scalar", [](const TensorList& in) { return one(in[0].index({in[1]})); }},
    // ---- index_put ----
    {"index_put/basic", [](const TensorList& in) { return one(index_put(in[0], {in[1]}, in[2])); }},
    {"index_put/accumulate", [](const TensorList& in) { return one(index_put(in[0], {in[1]}, in[2], true)); },
     {.gradgradcheck = true}},
    {"index_put/broadcast_values", [](const TensorList& in) { return one(index_put(in[0], {in[1]}, in[2])); }},
    {"index_put/two_dims", [](const TensorList& in) { return one(index_put(in[0], {in[1], in[2]}, in[3])); }},
    {"index_put/negative", [](const TensorList& in) { return one(index_put(in[0], {in[1]}, in[2])); }},
    {"index_put/mask", [](const TensorList& in) { return one(index_put(in[0], {in[1]}, in[2])); }},
    {"index_put/int_accumulate", [](const TensorList& in) { return one(index_put(in[0], {in[1]}, in[2], true)); }},
    {"index_put/noncontig", [](const TensorList& in) { return one(index_put(in[0].t(), {in[1]}, in[2])); }},
    {"index_put/method", [](const TensorList& in) {
       Tensor y = in[0].clone();
       y.index_put_({in[1]}, in[2]);
       return one(y);
     }},
    {"index_put/method_view", [](const TensorList& in) {
       Tensor y = in[0].clone();
       y.index_put_({Slice(1, None), in[1]}, in[2]);
       return one(y);
     }},
    // ---- embedding ----
    {"embedding/basic", [](const TensorList& in) { return one(embedding(in[0], in[1])); }},
    // The padding row feeds the output but by definition gets no gradient, so
    // finite differences disagree there on purpose; PyTorch's gradient is checked.
    {"embedding/padding", [](const TensorList& in) { return one(embedding(in[0], in[1], 2)); }, kNoGradcheck},
    {"embedding/negative_padding", [](const TensorList& in) { return one(embedding(in[0], in[1], -1)); },
     kNoGradcheck},
    {"embedding/noncontig", [](const TensorList& in) { return one(embedding(in[0].t(), in[1])); }},
    {"embedding/int32_indices", [](const TensorList& in) { return one(embedding(in[0], in[1])); }},
    {"embedding/zero_dim", [](const TensorList& in) { return one(embedding(in[0], in[1])); }},
    {"embedding/f64", [](const TensorList& in) { return one(embedding(in[0], in[1])); }},
    // ---- take_along_dim ----
    {"take_along_dim/basic", [](const TensorList& in) { return one(take_along_dim(in[0], in[1], 1)); }},
    {"take_along_dim/broadcast", [](const TensorList& in) { return one(take_along_dim(in[0], in[1], 1)); }},
    {"take_along_dim/broadcast_self", [](const TensorList& in) { return one(take_along_dim(in[0], in[1], 1)); }},
    {"take_along_dim/flat", [](const TensorList& in) { return one(take_along_dim(in[0], in[1])); }},
    // ---- nonzero ----
    {"nonzero/basic", [](const TensorList& in) { return one(nonzero(in[0])); }},
    {"nonzero/float", [](const TensorList& in) { return one(nonzero(in[0])); }},
    {"nonzero/bool", [](const TensorList& in) { return one(nonzero(in[0])); }},
    {"nonzero/noncontig", [](const TensorList& in) { return one(nonzero(in[0].t())); }},
    {"nonzero/zero_dim", [](const TensorList& in) { return one(nonzero(in[0])); }},
    {"nonzero/empty", [](const TensorList& in) { return one(nonzero(in[0])); }},
    // ---- masked_select ----
    {"masked_select/basic", [](const TensorList& in) { return one(masked_select(in[0], in[1])); }},
    {"masked_select/broadcast_mask", [](const TensorList& in) { return one(masked_select(in[0], in[1])); }},
    {"masked_select/broadcast_self", [](const TensorList& in) { return one(masked_select(in[0], in[1])); }},
    {"masked_select/int", [](const TensorList& in) { return one(masked_select(in[0], in[1])); }},
    {"masked_select/zero_dim", [](const TensorList& in) { return one(masked_select(in[0], in[1])); }},
    // ---- sort, argsort ----
    {"sort/basic", [](const TensorList& in) { return two(sort(in[0])); }, {.gradgradcheck = true}},
    {"sort/descending", [](const TensorList& in) { return two(sort(in[0], 0, true)); }},
    {"sort/three_d", [](const TensorList& in) { return two(sort(in[0], 1)); }},
    {"sort/noncontig", [](const TensorList& in) { return two(sort(in[0].t(), 0)); }},
    {"sort/nan", [](const TensorList& in) { return two(sort(in[0])); }},
    {"sort/nan_descending", [](const TensorList& in) { return two(sort(in[0], -1, true)); }},
    {"sort/stable_ties", [](const TensorList& in) { return two(sort(in[0])); }},
    {"sort/stable_ties_descending", [](const TensorList& in) { return two(sort(in[0], -1, true)); }},
    {"sort/bool", [](const TensorList& in) { return two(sort(in[0])); }},
    {"sort/int32", [](const TensorList& in) { return two(sort(in[0], 1)); }},
    {"sort/bf16", [](const TensorList& in) { return two(sort(in[0])); }},
    {"sort/f64", [](const TensorList& in) { return two(sort(in[0], -1, true)); }},
    {"sort/zero_dim", [](const TensorList& in) { return two(sort(in[0])); }},
    {"sort/empty", [](const TensorList& in) { return two(sort(in[0], 0)); }},
    {"argsort/basic", [](const TensorList& in) { return one(argsort(in[0], 1)); }},
    {"argsort/descending_ties", [](const TensorList& in) { return one(argsort(in[0], -1, true)); }},
    // ---- topk ----
    {"topk/basic", [](const TensorList& in) { return two(topk(in[0], 3)); }},
    {"topk/smallest", [](const TensorList& in) { return two(topk(in[0], 2, -1, false)); }},
    {"topk/dim0", [](const TensorList& in) { return two(topk(in[0], 2, 0)); }},
    {"topk/unsorted", [](const TensorList& in) { return one(sort(topk(in[0], 4, -1, true, false).values, 1).values); }},
    {"topk/nan", [](const TensorList& in) { return two(topk(in[0], 2)); }},
    {"topk/nan_smallest", [](const TensorList& in) { return two(topk(in[0], 4, -1, false)); }},
    {"topk/k0", [](const TensorList& in) { return two(topk(in[0], 0)); }},
    {"topk/all", [](const TensorList& in) { return two(topk(in[0], 4)); }},
    {"topk/int", [](const TensorList& in) { return two(topk(in[0], 2, 1)); }},
    {"topk/zero_dim", [](const TensorList& in) { return two(topk(in[0], 1)); }},
    {"topk/f16", [](const TensorList& in) { return two(topk(in[0], 2)); }},
});

}  // namespace
}  // namespace ember::testing
