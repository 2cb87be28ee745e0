// Reference cases for src/ops/linalg.cpp; goldens: scripts/goldens/linalg.py.
#include "reference.h"

namespace ember::testing {
namespace {

TensorList one(const Tensor& t) { return {t}; }
// Cases whose Ember call mirrors one PyTorch function applied to the inputs.
auto mat(const TensorList& in) { return one(matmul(in[0], in[1])); }
auto lin(const TensorList& in) { return one(linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor{})); }
auto es(std::string_view eq) {
  return [eq](const TensorList& in) { return one(einsum(eq, in)); };
}

const RegisterCases linalg_cases("linalg", {
    {"matmul/basic", mat, {.gradgradcheck = true}},
    {"matmul/vec_vec", mat},
    {"matmul/mat_vec", mat},
    {"matmul/vec_mat", mat},
    {"matmul/batched", mat, {.gradgradcheck = true}},
    {"matmul/broadcast_batch", mat},
    {"matmul/batch_mat", mat},
    {"matmul/mat_batch", mat},
    {"matmul/vec_batch", mat},
    {"matmul/batch_vec", mat},
    {"matmul/transposed", [](const TensorList& in) { return one(matmul(in[0].t(), in[1].t())); }},
    {"matmul/sliced", [](const TensorList& in) {
       return one(matmul(in[0].slice(1, {}, {}, 2), in[1].slice(1, 1, {}, 2)));
     }},
    {"matmul/permuted_batch", [](const TensorList& in) {
       return one(matmul(in[0].permute({1, 0, 2}), in[1].transpose(1, 2)));
     }},
    {"matmul/odd_sizes", mat},
    {"matmul/empty", mat},
    {"matmul/empty_inner", mat},
    {"matmul/empty_batch", mat},
    {"matmul/f64", mat},
    {"matmul/bf16", mat},
    {"matmul/f16", mat},
    {"matmul/int64", mat},
    {"matmul/int32_batched", mat},
    {"matmul/int8", mat},

    {"mm/basic", [](const TensorList& in) { return one(mm(in[0], in[1])); }},
    {"mm/transposed", [](const TensorList& in) { return one(mm(in[0].t(), in[1].t())); }},
    {"mm/f64", [](const TensorList& in) { return one(mm(in[0], in[1])); }},
    {"bmm/basic", [](const TensorList& in) { return one(bmm(in[0], in[1])); }},
    {"bmm/noncontig", [](const TensorList& in) { return one(bmm(in[0], in[1].transpose(1, 2))); }},
    {"bmm/empty_batch", [](const TensorList& in) { return one(bmm(in[0], in[1])); }},

    {"linear/basic", lin, {.gradgradcheck = true}},
    {"linear/no_bias", lin},
    {"linear/batched", lin, {.gradgradcheck = true}},
    {"linear/vector_input", lin},
    {"linear/scalar_bias", lin},
    {"linear/noncontig_input", [](const TensorList& in) { return one(linear(in[0].permute({1, 0, 2}), in[1], in[2])); }},
    {"linear/transposed_weight", [](const TensorList& in) { return one(linear(in[0].t(), in[1].t(), in[2])); }},
    {"linear/empty", lin},
    {"linear/f64", lin},
    {"linear/bf16", lin},
    {"linear/int64", lin},

    {"addmm/basic", [](const TensorList& in) { return one(addmm(in[0], in[1], in[2])); }, {.gradgradcheck = true}},
    {"addmm/broadcast", [](const TensorList& in) { return one(addmm(in[0], in[1], in[2])); }},
    {"addmm/alpha_beta", [](const TensorList& in) { return one(addmm(in[0], in[1], in[2], 0.5, -2.0)); }},
    {"addmm/beta_zero_ignores_nan", [](const TensorList& in) { return one(addmm(in[0], in[1], in[2], 0)); }},
    {"addmm/f64", [](const TensorList& in) { return one(addmm(in[0], in[1], in[2])); }},
    {"addmm/bf16", [](const TensorList& in) { return one(addmm(in[0], in[1], in[2])); }},
    {"addmm/int", [](const TensorList& in) { return one(addmm(in[0], in[1], in[2], 2, 3)); }},

    {"outer/basic", [](const TensorList& in) { return one(outer(in[0], in[1])); }},
    {"outer/f64", [](const TensorList& in) { return one(outer(in[0], in[1])); }},
    {"outer/int_float", [](const TensorList& in) { return one(outer(in[0], in[1])); }},
    {"outer/empty", [](const TensorList& in) { return one(outer(in[0], in[1])); }},

    {"einsum/matmul", es("ij,jk->ik"), {.gradgradcheck = true}},
    {"einsum/implicit", es("ij,jk")},
    {"einsum/implicit_order", es("ba")},
    {"einsum/uppercase", es("Bi,iA")},
    {"einsum/spaces", es(" ij , jk -> ki ")},
    {"einsum/attention", es("bhqd,bhkd->bhqk")},
    {"einsum/diagonal", es("ii->i")},
    {"einsum/trace", es("ii->"), {.gradgradcheck = true}},
    {"einsum/trace_implicit", es("ii")},
    {"einsum/diag_then_matmul", es("iij,jk->ik")},
    {"einsum/transpose", es("ij->ji")},
    {"einsum/sum", es("ij->")},
    {"einsum/row_sum", es("ij->i")},
    {"einsum/dot", es("i,i->")},
    {"einsum/outer", es("i,j->ij")},
    {"einsum/hadamard", es("ij,ij->ij")},
    {"einsum/batch_diag", es("bi,bi->b")},
    {"einsum/ellipsis", es("...ij,...jk->...ik")},
    {"einsum/ellipsis_implicit", es("...ij,...jk")},
    {"einsum/ellipsis_sum", es("...ij->ij")},
    {"einsum/ellipsis_middle", es("i...j->ji...")},
    {"einsum/three_operands", es("ij,jk,kl->il")},
    {"einsum/bilinear", es("bn,anm,bm->ba"), {.gradgradcheck = true}},
    {"einsum/broadcast", es("ij,jk->ik")},
    {"einsum/broadcast_batch", es("bij,bjk->bik")},
    {"einsum/noncontig", [](const TensorList& in) { return one(einsum("ij,jk->ik", {in[0].t(), in[1].t()})); }},
    {"einsum/empty", es("ij,jk->ik")},
    {"einsum/f64", es("bij,bj->bi")},
    {"einsum/int", es("ij,jk->ik")},
    {"einsum/int_diagonal", es("ii->i")},
});

}  // namespace
}  // namespace ember::testing
