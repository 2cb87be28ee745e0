"""Goldens for matrix products (src/ops/linalg.cpp)."""
import torch
import torch.nn.functional as F

from common import Case, I, T


def cases():
    f64, bf16, f16 = torch.float64, torch.bfloat16, torch.float16
    i8, i32 = torch.int8, torch.int32
    nan = float("nan")
    es = torch.einsum
    return [
        # matmul: every rank combination, batch broadcasting, layouts, dtypes.
        Case("matmul/basic", [T((3, 4)), T((4, 5))], torch.matmul),
        Case("matmul/vec_vec", [T((4,)), T((4,))], torch.matmul),
        Case("matmul/mat_vec", [T((3, 4)), T((4,))], torch.matmul),
        Case("matmul/vec_mat", [T((4,)), T((4, 5))], torch.matmul),
        Case("matmul/batched", [T((2, 3, 4)), T((2, 4, 5))], torch.matmul),
        Case("matmul/broadcast_batch", [T((2, 1, 3, 4)), T((3, 4, 5))], torch.matmul),
        Case("matmul/batch_mat", [T((2, 3, 4)), T((4, 5))], torch.matmul),
        Case("matmul/mat_batch", [T((3, 4)), T((2, 4, 5))], torch.matmul),
        Case("matmul/vec_batch", [T((4,)), T((2, 4, 5))], torch.matmul),
        Case("matmul/batch_vec", [T((2, 3, 4)), T((4,))], torch.matmul),
        Case("matmul/transposed", [T((4, 3)), T((5, 4))], lambda a, b: a.t() @ b.t()),
        Case("matmul/sliced", [T((3, 8)), T((4, 10))], lambda a, b: a[:, ::2] @ b[:, 1::2]),
        Case("matmul/permuted_batch", [T((3, 2, 4)), T((2, 5, 4))],
             lambda a, b: a.permute(1, 0, 2) @ b.transpose(1, 2)),
        # Sizes that divide no block or vector width (gradcheck runs the float64 loop kernel).
        Case("matmul/odd_sizes", [T((9, 33)), T((33, 17))], torch.matmul),
        Case("matmul/empty", [T((0, 3)), T((3, 4))], torch.matmul),
        Case("matmul/empty_inner", [T((2, 0)), T((0, 3))], torch.matmul),
        Case("matmul/empty_batch", [T((0, 2, 3)), T((3, 4))], torch.matmul),
        Case("matmul/f64", [T((3, 4), f64), T((2, 4, 5), f64)], torch.matmul),
        Case("matmul/bf16", [T((3, 16), bf16), T((16, 5), bf16)], torch.matmul),
        Case("matmul/f16", [T((2, 3, 16), f16), T((16, 5), f16)], torch.matmul),
        Case("matmul/int64", [I((3, 4), -5, 5), I((4, 2), -5, 5)], torch.matmul),
        Case("matmul/int32_batched", [I((2, 3, 4), -5, 5, i32), I((2, 4, 2), -5, 5, i32)], torch.matmul),
        Case("matmul/int8", [I((3, 4), -3, 3, i8), I((4,), -3, 3, i8)], torch.matmul),
        # mm / bmm: the strict-rank forms.
        Case("mm/basic", [T((3, 4)), T((4, 5))], torch.mm),
        Case("mm/transposed", [T((4, 3)), T((5, 4))], lambda a, b: torch.mm(a.t(), b.t())),
        Case("mm/f64", [T((2, 3), f64), T((3, 2), f64)], torch.mm),
        Case("bmm/basic", [T((2, 3, 4)), T((2, 4, 5))], torch.bmm),
        Case("bmm/noncontig", [T((2, 3, 4)), T((2, 5, 4))], lambda a, b: torch.bmm(a, b.transpose(1, 2))),
        Case("bmm/empty_batch", [T((0, 2, 3)), T((0, 3, 4))], torch.bmm),
        # linear: weight [out, in], optional bias, any leading dims.
        Case("linear/basic", [T((3, 4)), T((5, 4)), T((5,))], F.linear),
        Case("linear/no_bias", [T((3, 4)), T((5, 4))], F.linear),
        Case("linear/batched", [T((2, 3, 4)), T((5, 4)), T((5,))], F.linear),
        Case("linear/vector_input", [T((4,)), T((5, 4)), T((5,))], F.linear),
        Case("linear/scalar_bias", [T((3, 4)), T((5, 4)), T(())], F.linear),
        Case("linear/noncontig_input", [T((3, 2, 4)), T((5, 4)), T((5,))],
             lambda x, w, b: F.linear(x.permute(1, 0, 2), w, b)),
        Case("linear/transposed_weight", [T((4, 3)), T((4, 5)), T((5,))], lambda x, w, b: F.linear(x.t(), w.t(), b)),
        Case("linear/empty", [T((0, 4)), T((5, 4)), T((5,))], F.linear),
        Case("linear/f64", [T((2, 3), f64), T((4, 3), f64), T((4,), f64)], F.linear),
        Case("linear/bf16", [T((3, 16), bf16), T((5, 16), bf16), T((5,), bf16)], F.linear),
        Case("linear/int64", [I((3, 4), -5, 5), I((2, 4), -5, 5), I((2,), -5, 5)], F.linear),
        # addmm: beta * input + alpha * (mat1 @ mat2).
        Case("addmm/basic", [T((3, 5)), T((3, 4)), T((4, 5))], torch.addmm),
        Case("addmm/broadcast", [T((5,)), T((3, 4)), T((4, 5))], torch.addmm),
        Case("addmm/alpha_beta", [T((3, 1)), T((3, 4)), T((4, 5))],
             lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=-2.0)),
        Case("addmm/beta_zero_ignores_nan", [torch.tensor([[nan, 1.0], [2.0, nan]]), T((2, 3)), T((3, 2))],
             lambda c, a, b: torch.addmm(c, a, b, beta=0)),
        Case("addmm/f64", [T((2, 2), f64), T((2, 3), f64), T((3, 2), f64)], torch.addmm),
        Case("addmm/bf16", [T((3, 5), bf16), T((3, 16), bf16), T((16, 5), bf16)], torch.addmm),
        Case("addmm/int", [I((2, 3), -5, 5), I((2, 4), -5, 5), I((4, 3), -5, 5)],
             lambda c, a, b: torch.addmm(c, a, b, beta=2, alpha=3)),
        # outer: a broadcasting product, so dtypes promote.
        Case("outer/basic", [T((3,)), T((4,))], torch.outer),
        Case("outer/f64", [T((3,), f64), T((2,), f64)], torch.outer),
        Case("outer/int_float", [I((3,), -5, 5), T((4,))], torch.outer),
        Case("outer/empty", [T((0,)), T((4,))], torch.outer),
        # einsum: contractions, diagonals, traces, ellipses, broadcasting.
        Case("einsum/matmul", [T((3, 4)), T((4, 5))], lambda a, b: es("ij,jk->ik", a, b)),
        Case("einsum/implicit", [T((3, 4)), T((4, 5))], lambda a, b: es("ij,jk", a, b)),
        Case("einsum/implicit_order", [T((2, 3))], lambda a: es("ba", a)),
        Case("einsum/uppercase", [T((2, 3)), T((3, 4))], lambda a, b: es("Bi,iA", a, b)),
        Case("einsum/spaces", [T((3, 4)), T((4, 5))], lambda a, b: es(" ij , jk -> ki ", a, b)),
        Case("einsum/attention", [T((2, 3, 4, 5)), T((2, 3, 6, 5))], lambda q, k: es("bhqd,bhkd->bhqk", q, k)),
        Case("einsum/diagonal", [T((4, 4))], lambda a: es("ii->i", a)),
        Case("einsum/trace", [T((4, 4))], lambda a: es("ii->", a)),
        Case("einsum/trace_implicit", [T((3, 3))], lambda a: es("ii", a)),
        Case("einsum/diag_then_matmul", [T((3, 3, 4)), T((4, 2))], lambda a, b: es("iij,jk->ik", a, b)),
        Case("einsum/transpose", [T((2, 3))], lambda a: es("ij->ji", a)),
        Case("einsum/sum", [T((2, 3))], lambda a: es("ij->", a)),
        Case("einsum/row_sum", [T((2, 3))], lambda a: es("ij->i", a)),
        Case("einsum/dot", [T((5,)), T((5,))], lambda a, b: es("i,i->", a, b)),
        Case("einsum/outer", [T((3,)), T((4,))], lambda a, b: es("i,j->ij", a, b)),
        Case("einsum/hadamard", [T((2, 3)), T((2, 3))], lambda a, b: es("ij,ij->ij", a, b)),
        Case("einsum/batch_diag", [T((2, 3)), T((2, 3))], lambda a, b: es("bi,bi->b", a, b)),
        Case("einsum/ellipsis", [T((2, 3, 4)), T((4, 5))], lambda a, b: es("...ij,...jk->...ik", a, b)),
        Case("einsum/ellipsis_implicit", [T((2, 3, 4)), T((2, 4, 5))], lambda a, b: es("...ij,...jk", a, b)),
        Case("einsum/ellipsis_sum", [T((2, 3, 4))], lambda a: es("...ij->ij", a)),
        Case("einsum/ellipsis_middle", [T((2, 5, 6, 3))], lambda a: es("i...j->ji...", a)),
        Case("einsum/three_operands", [T((2, 3)), T((3, 4)), T((4, 5))], lambda a, b, c: es("ij,jk,kl->il", a, b, c)),
        Case("einsum/bilinear", [T((2, 3)), T((4, 3, 5)), T((2, 5))], lambda a, w, b: es("bn,anm,bm->ba", a, w, b)),
        Case("einsum/broadcast", [T((2, 1)), T((3, 4))], lambda a, b: es("ij,jk->ik", a, b)),
        Case("einsum/broadcast_batch", [T((1, 3, 4)), T((2, 4, 5))], lambda a, b: es("bij,bjk->bik", a, b)),
        Case("einsum/noncontig", [T((4, 3)), T((5, 4))], lambda a, b: es("ij,jk->ik", a.t(), b.t())),
        Case("einsum/empty", [T((0, 3)), T((3, 4))], lambda a, b: es("ij,jk->ik", a, b)),
        Case("einsum/f64", [T((2, 3, 4), f64), T((2, 4), f64)], lambda a, b: es("bij,bj->bi", a, b)),
        Case("einsum/int", [I((2, 3), -5, 5), I((3, 4), -5, 5)], lambda a, b: es("ij,jk->ik", a, b)),
        Case("einsum/int_diagonal", [I((3, 3), -5, 5, i32)], lambda a: es("ii->i", a)),
    ]
