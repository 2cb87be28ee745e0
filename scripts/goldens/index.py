"""Goldens for indexing, gathering/scattering and sorting (src/ops/index.cpp)."""
import torch
import torch.nn.functional as F

from common import Case, I, T


def t(values, dtype=torch.int64):
    return torch.tensor(values, dtype=dtype)


def cases():
    f64, bf16, f16, i32, b8 = torch.float64, torch.bfloat16, torch.float16, torch.int32, torch.bool
    nan = float("nan")
    empty_idx = torch.empty(0, dtype=torch.int64)
    return [
        # ---- index_select ----
        Case("index_select/basic", [T((4, 5)), t([2, 0, 2, 3])], lambda x, i: torch.index_select(x, 0, i)),
        Case("index_select/dim1", [T((3, 5)), t([4, 1])], lambda x, i: torch.index_select(x, 1, i)),
        Case("index_select/negative_dim", [T((2, 3, 4)), t([3, 3, 0])], lambda x, i: torch.index_select(x, -1, i)),
        Case("index_select/noncontig", [T((5, 4)), t([1, 4])], lambda x, i: torch.index_select(x.t(), 1, i)),
        Case("index_select/zero_dim_index", [T((3, 4)), t(2)], lambda x, i: torch.index_select(x, 1, i)),
        Case("index_select/empty", [T((3, 4)), empty_idx], lambda x, i: torch.index_select(x, 0, i)),
        Case("index_select/f64", [T((4, 2), f64), t([3, 1])], lambda x, i: torch.index_select(x, 0, i)),
        Case("index_select/bf16", [T((4, 3), bf16), t([0, 3, 3])], lambda x, i: torch.index_select(x, 0, i)),
        Case("index_select/int", [I((4, 3), -9, 9), t([2, 1])], lambda x, i: torch.index_select(x, 1, i)),
        Case("index_select/int32_index", [T((4, 3)), t([3, 0], i32)], lambda x, i: torch.index_select(x, 0, i)),
        # ---- gather ----
        Case("gather/basic", [T((3, 4)), t([[0, 3], [1, 1], [2, 0]])], lambda x, i: torch.gather(x, 1, i)),
        Case("gather/dim0", [T((3, 4)), t([[2, 0, 1, 1], [0, 0, 2, 1]])], lambda x, i: torch.gather(x, 0, i)),
        Case("gather/smaller_index", [T((4, 5)), t([[4, 0, 2], [1, 1, 3]])], lambda x, i: torch.gather(x, 1, i)),
        Case("gather/longer_index", [T((2, 3)), t([[0, 2, 2, 1, 0]])], lambda x, i: torch.gather(x, 1, i)),
        Case("gather/noncontig", [T((4, 3)), t([[3, 0], [1, 2], [0, 0]])], lambda x, i: torch.gather(x.t(), 1, i)),
        Case("gather/three_d", [T((2, 3, 4)), I((2, 2, 4), 0, 3)], lambda x, i: torch.gather(x, 1, i)),
        Case("gather/zero_dim", [T(()), t(0)], lambda x, i: torch.gather(x, 0, i)),
        Case("gather/empty", [T((3, 4)), torch.empty(3, 0, dtype=torch.int64)], lambda x, i: torch.gather(x, 1, i)),
        Case("gather/f16", [T((2, 4), f16), t([[3, 1], [0, 0]])], lambda x, i: torch.gather(x, 1, i)),
        Case("gather/int", [I((2, 4), -9, 9), t([[3, 1], [0, 0]])], lambda x, i: torch.gather(x, 1, i)),
        Case("gather/int32_index", [T((2, 4)), t([[3, 1], [0, 2]], i32)], lambda x, i: torch.gather(x, 1, i)),
        # ---- scatter (unique positions per line: duplicates leave the result unspecified) ----
        Case("scatter/basic", [T((3, 5)), t([[0, 3], [4, 1], [2, 0]]), T((3, 2))],
             lambda x, i, s: torch.scatter(x, 1, i, s)),
        Case("scatter/dim0", [T((3, 4)), t([[2, 0, 1, 1], [0, 1, 2, 0]]), T((2, 4))],
             lambda x, i, s: torch.scatter(x, 0, i, s)),
        Case("scatter/noncontig", [T((5, 3)), t([[1, 4], [0, 2], [3, 0]]), T((2, 3))],
             lambda x, i, s: torch.scatter(x.t(), 1, i, s.t())),
        # src larger than index: PyTorch has no gradient for it (see test_index.cpp for ours).
        Case("scatter/src_larger", [T((3, 4)), t([[0], [3]]), T((3, 5))], lambda x, i, s: torch.scatter(x, 1, i, s),
             grad=False),
        Case("scatter/zero_dim", [T(()), t(0), T(())], lambda x, i, s: torch.scatter(x, 0, i, s)),
        Case("scatter/empty", [T((3, 4)), torch.empty(3, 0, dtype=torch.int64), T((3, 0))],
             lambda x, i, s: torch.scatter(x, 1, i, s)),
        Case("scatter/int", [I((2, 4), -9, 9), t([[3, 1], [0, 2]]), I((2, 2), -9, 9)],
             lambda x, i, s: torch.scatter(x, 1, i, s)),
        Case("scatter/bf16", [T((2, 4), bf16), t([[3, 1], [0, 2]]), T((2, 2), bf16)],
             lambda x, i, s: torch.scatter(x, 1, i, s)),
        Case("scatter_value/basic", [T((3, 4)), t([[0, 3], [1, 2], [2, 0]])], lambda x, i: torch.scatter(x, 1, i, 1.5)),
        Case("scatter_value/int", [I((3, 4), -9, 9), t([[1], [2], [0]])], lambda x, i: torch.scatter(x, 1, i, 7)),
        # ---- scatter_add (duplicates accumulate) ----
        Case("scatter_add/basic", [T((3, 4)), t([[0, 3, 0], [1, 1, 1], [2, 0, 3]]), T((3, 3))],
             lambda x, i, s: torch.scatter_add(x, 1, i, s)),
        Case("scatter_add/dim0", [T((2, 3)), t([[1, 0, 1], [1, 1, 0], [0, 1, 1]]), T((3, 3))],
             lambda x, i, s: torch.scatter_add(x, 0, i, s)),
        Case("scatter_add/smaller_index", [T((3, 4)), t([[0], [3]]), T((2, 3))],
             lambda x, i, s: torch.scatter_add(x, 1, i, s), grad=False),
        Case("scatter_add/f64", [T((5,), f64), t([4, 4, 0, 1]), T((4,), f64)],
             lambda x, i, s: torch.scatter_add(x, 0, i, s)),
        Case("scatter_add/int", [I((2, 3), -9, 9), t([[2, 2, 0], [1, 1, 1]]), I((2, 3), -9, 9)],
             lambda x, i, s: torch.scatter_add(x, 1, i, s)),
        # ---- index_add ----
        Case("index_add/basic", [T((5, 3)), t([0, 2, 2, 4]), T((4, 3))], lambda x, i, s: torch.index_add(x, 0, i, s)),
        Case("index_add/alpha", [T((2, 4)), t([3, 0, 3]), T((2, 3))],
             lambda x, i, s: torch.index_add(x, 1, i, s, alpha=2.5)),
        Case("index_add/noncontig", [T((3, 5)), t([1, 4, 1]), T((3, 3))],
             lambda x, i, s: torch.index_add(x.t(), 0, i, s.t())),
        Case("index_add/empty", [T((5, 3)), empty_idx, T((0, 3))], lambda x, i, s: torch.index_add(x, 0, i, s)),
        Case("index_add/int", [I((4,), -9, 9), t([1, 1, 3]), I((3,), -9, 9)],
             lambda x, i, s: torch.index_add(x, 0, i, s, alpha=2)),
        Case("index_add/f64", [T((3, 2), f64), t([2, 0]), T((2, 2), f64)], lambda x, i, s: torch.index_add(x, 0, i, s)),
        # ---- index (advanced indexing) ----
        Case("index/basic", [T((5, 4)), t([3, 0, 3])], lambda x, i: x[i]),
        Case("index/negative", [T((5, 4)), t([-1, 0, -5])], lambda x, i: x[i]),
        Case("index/two_adjacent", [T((4, 5, 3)), t([[1], [4]]), t([2, 0, 1])], lambda x, i, j: x[:, i, j]),
        Case("index/non_adjacent", [T((4, 5, 3)), t([[1], [3]]), t([2, 0, 1])], lambda x, i, j: x[i, :, j]),
        Case("index/mask", [T((3, 4)), I((3, 4), dtype=b8)], lambda x, m: x[m]),
        Case("index/mask_leading", [T((3, 4, 2)), I((3, 4), dtype=b8)], lambda x, m: x[m]),
        Case("index/mask_dim1", [T((3, 4)), t([True, False, True, True], b8)], lambda x, m: x[:, m]),
        Case("index/noncontig", [T((4, 3)), t([2, 0])], lambda x, i: x.t()[i]),
        Case("index/empty", [T((3, 4)), empty_idx], lambda x, i: x[i]),
        Case("index/f64", [T((3, 4), f64), t([1, 1])], lambda x, i: x[:, i]),
        Case("index/bf16", [T((3, 4), bf16), t([2, 0])], lambda x, i: x[i]),
        Case("index/int", [I((3, 4), -9, 9), t([2, 0]), t([3, 3])], lambda x, i, j: x[i, j]),
        Case("index/int32_index", [T((3, 4)), t([2, 0], i32)], lambda x, i: x[i]),
        Case("index/zero_dim_index", [T((3, 4)), t(1)], lambda x, i: x[:, i]),
        # Tensor::index: basic indices as views, tensors as advanced indices.
        Case("index/method_mixed", [T((4, 5, 3)), t([0, 2])], lambda x, i: x[1:, i, None]),
        Case("index/method_ellipsis", [T((2, 3, 4)), t([3, 1])], lambda x, i: x[..., i]),
        Case("index/method_int_then_tensor", [T((3, 4, 5)), t([4, 0])], lambda x, i: x[0, :, i]),
        Case("index/method_bool_scalar", [T((2, 3)), t(True, b8)], lambda x, m: x[m]),
        # ---- index_put ----
        Case("index_put/basic", [T((5, 3)), t([0, 2, 4]), T((3, 3))], lambda x, i, v: torch.index_put(x, (i,), v)),
        Case("index_put/accumulate", [T((5, 3)), t([0, 2, 0, 4]), T((4, 3))],
             lambda x, i, v: torch.index_put(x, (i,), v, accumulate=True)),
        Case("index_put/broadcast_values", [T((4, 3)), t([3, 1]), T((3,))],
             lambda x, i, v: torch.index_put(x, (i,), v)),
        Case("index_put/two_dims", [T((3, 4)), t([0, 2, 2]), t([1, 1, 3]), T((3,))],
             lambda x, i, j, v: torch.index_put(x, (i, j), v)),
        Case("index_put/negative", [T((4,)), t([-1, 0]), T((2,))], lambda x, i, v: torch.index_put(x, (i,), v)),
        Case("index_put/mask", [T((3, 4)), I((3, 4), dtype=b8), T(())], lambda x, m, v: torch.index_put(x, (m,), v)),
        Case("index_put/int_accumulate", [I((5,), -9, 9), t([1, 1, 4]), I((3,), -9, 9)],
             lambda x, i, v: torch.index_put(x, (i,), v, accumulate=True)),
        Case("index_put/noncontig", [T((3, 4)), t([1, 3]), T((2, 3))], lambda x, i, v: torch.index_put(x.t(), (i,), v)),
        Case("index_put/method", [T((4, 5)), t([0, 3]), T((2, 5))], index_put_method),
        # In-place on a view of a tensor that requires grad is not supported by Ember's autograd.
        Case("index_put/method_view", [T((4, 5)), t([0, 3]), T((3, 2))], index_put_method_view, grad=False),
        # ---- embedding ----
        Case("embedding/basic", [T((6, 3)), t([[0, 5, 2, 2], [1, 0, 4, 3]])], lambda w, i: F.embedding(i, w)),
        Case("embedding/padding", [T((6, 3)), t([[0, 2, 2], [5, 2, 1]])],
             lambda w, i: F.embedding(i, w, padding_idx=2)),
        Case("embedding/negative_padding", [T((4, 2)), t([3, 0, 3, 1])],
             lambda w, i: F.embedding(i, w, padding_idx=-1)),
        Case("embedding/noncontig", [T((3, 5)), t([4, 1, 4])], lambda w, i: F.embedding(i, w.t())),
        Case("embedding/int32_indices", [T((5, 2)), t([4, 0], i32)], lambda w, i: F.embedding(i, w)),
        Case("embedding/zero_dim", [T((5, 2)), t(3)], lambda w, i: F.embedding(i, w)),
        Case("embedding/f64", [T((4, 3), f64), t([[3], [3]])], lambda w, i: F.embedding(i, w)),
        # ---- take_along_dim ----
        Case("take_along_dim/basic", [T((3, 4)), t([[0, 3], [1, 1], [2, 0]])],
             lambda x, i: torch.take_along_dim(x, i, 1)),
        Case("take_along_dim/broadcast", [T((3, 4)), t([[3, 0]])], lambda x, i: torch.take_along_dim(x, i, 1)),
        Case("take_along_dim/broadcast_self", [T((1, 4)), t([[3, 0], [1, 2], [0, 0]])],
             lambda x, i: torch.take_along_dim(x, i, 1)),
        Case("take_along_dim/flat", [T((3, 4)), t([11, 0, 5, 5])], lambda x, i: torch.take_along_dim(x, i)),
        # ---- nonzero ----
        Case("nonzero/basic", [I((3, 4), 0, 3)], lambda x: torch.nonzero(x)),
        Case("nonzero/float", [t([[0.0, -0.0, 1.5], [nan, 0.0, -2.0]], torch.float32)], lambda x: torch.nonzero(x)),
        Case("nonzero/bool", [I((2, 3, 2), dtype=b8)], lambda x: torch.nonzero(x)),
        Case("nonzero/noncontig", [I((4, 3), 0, 2)], lambda x: torch.nonzero(x.t())),
        Case("nonzero/zero_dim", [t(5)], lambda x: torch.nonzero(x)),
        Case("nonzero/empty", [torch.empty(0, 3)], lambda x: torch.nonzero(x)),
        # ---- masked_select ----
        Case("masked_select/basic", [T((3, 4)), I((3, 4), dtype=b8)], lambda x, m: torch.masked_select(x, m)),
        Case("masked_select/broadcast_mask", [T((3, 4)), t([True, False, False, True], b8)],
             lambda x, m: torch.masked_select(x, m)),
        Case("masked_select/broadcast_self", [T((4,)), I((3, 4), dtype=b8)], lambda x, m: torch.masked_select(x, m)),
        Case("masked_select/int", [I((5,), -9, 9), t([True, False, True, True, False], b8)],
             lambda x, m: torch.masked_select(x, m)),
        Case("masked_select/zero_dim", [T(()), t(True, b8)], lambda x, m: torch.masked_select(x, m)),
        # ---- sort, argsort ----
        Case("sort/basic", [T((3, 5))], lambda x: torch.sort(x)),
        Case("sort/descending", [T((4, 3))], lambda x: torch.sort(x, dim=0, descending=True)),
        Case("sort/three_d", [T((2, 4, 3))], lambda x: torch.sort(x, dim=1)),
        Case("sort/noncontig", [T((5, 3))], lambda x: torch.sort(x.t(), dim=0)),
        # NaN is the largest value; ties keep their order (stable). Not differentiable at ties/NaN.
        Case("sort/nan", [t([[3.0, nan, 1.0, nan, 2.0], [nan, 0.0, 0.0, -1.0, 5.0]], torch.float32)],
             lambda x: torch.sort(x), grad=False),
        Case("sort/nan_descending", [t([3.0, nan, 1.0, nan, 1.0], torch.float32)],
             lambda x: torch.sort(x, descending=True, stable=True), grad=False),
        Case("sort/stable_ties", [t([2, 1, 2, 1, 0, 2, 1])], lambda x: torch.sort(x, stable=True)),
        Case("sort/stable_ties_descending", [t([2, 1, 2, 1, 0, 2, 1])],
             lambda x: torch.sort(x, descending=True, stable=True)),
        Case("sort/bool", [t([True, False, True, False], b8)], lambda x: torch.sort(x, stable=True)),
        Case("sort/int32", [I((3, 4), -50, 50, i32)], lambda x: torch.sort(x, dim=1, stable=True)),
        Case("sort/bf16", [t([0.5, -1.25, 3.0, 2.0, -0.75], bf16)], lambda x: torch.sort(x)),
        Case("sort/f64", [T((2, 6), f64)], lambda x: torch.sort(x, descending=True)),
        Case("sort/zero_dim", [T(())], lambda x: torch.sort(x)),
        Case("sort/empty", [torch.empty(0, 3)], lambda x: torch.sort(x, dim=0)),
        Case("argsort/basic", [T((3, 5))], lambda x: torch.argsort(x, dim=1)),
        Case("argsort/descending_ties", [t([2, 1, 2, 1, 0, 2, 1])],
             lambda x: torch.argsort(x, descending=True, stable=True)),
        # ---- topk ----
        Case("topk/basic", [T((3, 6))], lambda x: torch.topk(x, 3)),
        Case("topk/smallest", [T((3, 6))], lambda x: torch.topk(x, 2, largest=False)),
        Case("topk/dim0", [T((5, 3))], lambda x: torch.topk(x, 2, dim=0)),
        Case("topk/unsorted", [T((2, 7))], lambda x: torch.topk(x, 4, sorted=False).values.sort(dim=1).values),
        Case("topk/nan", [t([3.0, nan, 1.0, 7.0, 2.0], torch.float32)], lambda x: torch.topk(x, 2), grad=False),
        Case("topk/nan_smallest", [t([3.0, nan, 1.0, nan, 2.0], torch.float32)],
             lambda x: torch.topk(x, 4, largest=False), grad=False),
        Case("topk/k0", [T((2, 3))], lambda x: torch.topk(x, 0)),
        Case("topk/all", [T((4,))], lambda x: torch.topk(x, 4)),
        Case("topk/int", [I((2, 5), -50, 50)], lambda x: torch.topk(x, 2, dim=1)),
        Case("topk/zero_dim", [T(())], lambda x: torch.topk(x, 1)),
        Case("topk/f16", [t([0.5, -1.25, 3.0, 2.0, -0.75], f16)], lambda x: torch.topk(x, 2)),
    ]


def index_put_method(x, i, v):
    y = x.clone()
    y[i] = v
    return y


def index_put_method_view(x, i, v):
    y = x.clone()
    y[1:, i] = v
    return y
