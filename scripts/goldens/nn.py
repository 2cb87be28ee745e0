"""Goldens for nn functional ops (src/ops/nn.cpp): softmax, normalization,
dropout (deterministic cases only), losses and attention.

Class weights and running statistics are constants built inside the case
functions (the C++ cases build the same values): PyTorch does not
differentiate them, so they must not be golden inputs that require grad.
"""
import torch
import torch.nn.functional as F

from common import Case, I, T

f64, bf16, f16 = torch.float64, torch.bfloat16, torch.float16

CLASS_WEIGHT = [0.5, 2.0, 1.0, 1.5, 0.25]  # tests/ops/cases_nn.cpp: kClassWeight
RUNNING_MEAN = [0.1, -0.2, 0.3]             # kRunningMean
RUNNING_VAR = [0.5, 1.5, 2.0]               # kRunningVar


def class_weight(c, dtype=torch.float32):
    return torch.tensor(CLASS_WEIGHT[:c], dtype=dtype)


def batch_norm_case(x, affine=True, training=True, running=True, momentum=0.1, eps=1e-5, stats=False):
    """y, and with stats=True the updated running statistics too."""
    w, b = (x[1], x[2]) if affine else (None, None)
    dt = x[0].dtype
    rm = torch.tensor(RUNNING_MEAN, dtype=dt) if running else None
    rv = torch.tensor(RUNNING_VAR, dtype=dt) if running else None
    y = F.batch_norm(x[0], rm, rv, w, b, training=training, momentum=momentum, eps=eps)
    return (y, rm, rv) if stats else y


def softmax_cases(name, fn):
    return [
        Case(f"{name}/basic", [T((3, 5))], lambda x: fn(x, -1)),
        Case(f"{name}/dim0", [T((4, 3))], lambda x: fn(x, 0)),
        Case(f"{name}/middle", [T((2, 3, 4))], lambda x: fn(x, 1)),
        Case(f"{name}/noncontig", [T((5, 3))], lambda x: fn(x.t(), -1)),
        Case(f"{name}/zero_dim", [T(())], lambda x: fn(x, 0)),
        Case(f"{name}/empty", [T((0, 4))], lambda x: fn(x, 1)),
        Case(f"{name}/f64", [T((3, 4), f64)], lambda x: fn(x, 1)),
        Case(f"{name}/bf16", [T((3, 8), bf16)], lambda x: fn(x, -1)),
        Case(f"{name}/f16", [T((3, 8), f16)], lambda x: fn(x, -1)),
        Case(f"{name}/large", [T((2, 6), low=50, high=100)], lambda x: fn(x, -1)),
    ]


def softmax_backward_data(g, y, dim):
    """aten's _softmax_backward_data: the softmax gradient given the output y."""
    return torch.ops.aten._softmax_backward_data(g, y, dim, y.dtype)


def log_softmax_backward_data(g, y, dim):
    return torch.ops.aten._log_softmax_backward_data(g, y, dim, y.dtype)


def layer_norm_backward(g, x, w, normalized_shape, eps=1e-5):
    """aten's native_layer_norm_backward, with the statistics of x (Ember's
    op recomputes them); (dx, dw, db), or dx alone without a weight."""
    b = None if w is None else torch.zeros_like(w)
    with torch.no_grad():
        _, mean, rstd = torch.ops.aten.native_layer_norm(x, normalized_shape, w, b, eps)
    affine = w is not None
    out = torch.ops.aten.native_layer_norm_backward(g, x, normalized_shape, mean, rstd, w, b, [True, affine, affine])
    return out if affine else out[0]


def cross_entropy_backward(g, x, t, **kwargs):
    """The gradient of F.cross_entropy by its input x, differentiable again."""
    return torch.autograd.grad(F.cross_entropy(x, t, **kwargs), x, g, create_graph=True)[0]


def cases():
    nll, ce = F.nll_loss, F.cross_entropy
    ignore_target = torch.tensor([1, -100, 3, 0, -100])
    return softmax_cases("softmax", torch.softmax) + softmax_cases("log_softmax", torch.log_softmax) + [
        # rows longer than a vector with a tail, and far from zero: the f32 row kernels
        Case("softmax/long_rows", [T((3, 67), low=-30, high=30)], lambda x: torch.softmax(x, -1)),
        Case("log_softmax/long_rows", [T((3, 67), low=-30, high=30)], lambda x: torch.log_softmax(x, -1)),
        Case("softmax/large_middle", [T((2, 19, 3), low=900, high=1000)], lambda x: torch.softmax(x, 1)),
        # the backward ops
        Case("softmax_backward_data/basic", [T((3, 5)), T((3, 5), low=0, high=1)],
             lambda g, y: softmax_backward_data(g, y, -1)),
        Case("softmax_backward_data/dim0", [T((4, 3)), T((4, 3), low=0, high=1)],
             lambda g, y: softmax_backward_data(g, y, 0)),
        Case("softmax_backward_data/long_rows", [T((2, 37)), T((2, 37), low=0, high=0.1)],
             lambda g, y: softmax_backward_data(g, y, -1)),
        Case("log_softmax_backward_data/basic", [T((3, 5)), T((3, 5), low=-3, high=-0.1)],
             lambda g, y: log_softmax_backward_data(g, y, -1)),
        Case("log_softmax_backward_data/middle", [T((2, 3, 4)), T((2, 3, 4), low=-3, high=-0.1)],
             lambda g, y: log_softmax_backward_data(g, y, 1)),
        Case("log_softmax_backward_data/long_rows", [T((2, 37)), T((2, 37), low=-6, high=-2)],
             lambda g, y: log_softmax_backward_data(g, y, -1)),
        Case("layer_norm_backward/basic", [T((4, 6)), T((4, 6)), T((6,))],
             lambda g, x, w: layer_norm_backward(g, x, w, (6,))),
        Case("layer_norm_backward/multi_dim", [T((2, 3, 4)), T((2, 3, 4)), T((3, 4))],
             lambda g, x, w: layer_norm_backward(g, x, w, (3, 4))),
        Case("layer_norm_backward/no_weight", [T((3, 5)), T((3, 5))],
             lambda g, x: layer_norm_backward(g, x, None, (5,))),
        Case("layer_norm_backward/long_rows", [T((3, 67)), T((3, 67), low=5, high=9), T((67,))],
             lambda g, x, w: layer_norm_backward(g, x, w, (67,))),
        # Rows away from zero, yet near enough for PyTorch's float32 result to be
        # within float32 tolerance of the exact one (test_nn.cpp checks further out).
        Case("layer_norm/long_rows", [T((3, 67), low=5, high=9), T((67,)), T((67,))],
             lambda x, w, b: F.layer_norm(x, (67,), w, b)),
        Case("cross_entropy_loss_backward/mean", [T(()), T((4, 5)), I((4,), 0, 5)],
             lambda g, x, t: cross_entropy_backward(g, x, t)),
        Case("cross_entropy_loss_backward/none", [T((4,)), T((4, 5)), I((4,), 0, 5)],
             lambda g, x, t: cross_entropy_backward(g, x, t, reduction="none")),
        Case("cross_entropy_loss_backward/smoothing_weight_ignore", [T(()), T((5, 5)), torch.tensor([1, 4, 3, 1, 0])],
             lambda g, x, t: cross_entropy_backward(g, x, t, weight=class_weight(5), ignore_index=1,
                                                    label_smoothing=0.2)),
        Case("cross_entropy_loss_backward/spatial_sum", [T(()), T((2, 4, 3)), I((2, 3), 0, 4)],
             lambda g, x, t: cross_entropy_backward(g, x, t, reduction="sum", label_smoothing=0.1)),
        Case("cross_entropy_loss_backward/long_rows", [T((3,)), T((3, 37)), I((3,), 0, 37)],
             lambda g, x, t: cross_entropy_backward(g, x, t, reduction="none", label_smoothing=0.1)),
        Case("cross_entropy/long_rows", [T((3, 37), low=-40, high=40), I((3,), 0, 37)],
             lambda x, t: ce(x, t, label_smoothing=0.3)),
        # layer_norm
        Case("layer_norm/basic", [T((4, 6)), T((6,)), T((6,))], lambda x, w, b: F.layer_norm(x, (6,), w, b)),
        Case("layer_norm/no_affine", [T((3, 5))], lambda x: F.layer_norm(x, (5,))),
        Case("layer_norm/weight_only", [T((3, 5)), T((5,))], lambda x, w: F.layer_norm(x, (5,), w)),
        Case("layer_norm/multi_dim", [T((2, 3, 4)), T((3, 4)), T((3, 4))],
             lambda x, w, b: F.layer_norm(x, (3, 4), w, b)),
        Case("layer_norm/noncontig", [T((6, 4)), T((6,)), T((6,))], lambda x, w, b: F.layer_norm(x.t(), (6,), w, b)),
        Case("layer_norm/one_dim", [T((5,))], lambda x: F.layer_norm(x, (5,))),
        Case("layer_norm/empty", [T((0, 5)), T((5,)), T((5,))], lambda x, w, b: F.layer_norm(x, (5,), w, b)),
        Case("layer_norm/eps", [T((3, 4), low=-0.1, high=0.1)], lambda x: F.layer_norm(x, (4,), eps=1e-2)),
        Case("layer_norm/f64", [T((3, 7), f64), T((7,), f64), T((7,), f64)],
             lambda x, w, b: F.layer_norm(x, (7,), w, b)),
        Case("layer_norm/bf16", [T((4, 16), bf16), T((16,), bf16), T((16,), bf16)],
             lambda x, w, b: F.layer_norm(x, (16,), w, b)),
        # Two rows: PyTorch sums the weight/bias gradients over rows pairwise in
        # float16, so with more rows its result is a few ulps from the exact sum.
        Case("layer_norm/f16", [T((2, 16), f16), T((16,), f16), T((16,), f16)],
             lambda x, w, b: F.layer_norm(x, (16,), w, b)),
        # batch_norm
        Case("batch_norm/train_2d", [T((4, 3)), T((3,)), T((3,))], lambda *x: batch_norm_case(x)),
        Case("batch_norm/train_3d", [T((4, 3, 5)), T((3,)), T((3,))], lambda *x: batch_norm_case(x)),
        Case("batch_norm/train_4d", [T((2, 3, 4, 5)), T((3,)), T((3,))], lambda *x: batch_norm_case(x)),
        Case("batch_norm/eval", [T((2, 3, 4, 4)), T((3,)), T((3,))], lambda *x: batch_norm_case(x, training=False)),
        Case("batch_norm/eval_no_affine", [T((5, 3))], lambda *x: batch_norm_case(x, False, training=False)),
        Case("batch_norm/no_affine", [T((5, 3, 2))], lambda *x: batch_norm_case(x, False)),
        Case("batch_norm/no_running", [T((4, 3, 2)), T((3,)), T((3,))], lambda *x: batch_norm_case(x, running=False)),
        Case("batch_norm/running_stats", [T((4, 3, 5)), T((3,)), T((3,))], lambda *x: batch_norm_case(x, stats=True)),
        Case("batch_norm/momentum", [T((6, 3)), T((3,)), T((3,))],
             lambda *x: batch_norm_case(x, momentum=0.3, stats=True)),
        Case("batch_norm/noncontig", [T((3, 4)), T((3,)), T((3,))],
             lambda x, w, b: batch_norm_case((x.t(), w, b))),
        Case("batch_norm/f64", [T((4, 3, 3), f64), T((3,), f64), T((3,), f64)], lambda *x: batch_norm_case(x)),
        Case("batch_norm/bf16", [T((4, 3, 8), bf16), T((3,), bf16), T((3,), bf16)], lambda *x: batch_norm_case(x)),
        # group_norm (composite over layer_norm)
        Case("group_norm/basic", [T((2, 6, 4)), T((6,)), T((6,))], lambda x, w, b: F.group_norm(x, 3, w, b)),
        Case("group_norm/four_d", [T((2, 4, 3, 3)), T((4,)), T((4,))], lambda x, w, b: F.group_norm(x, 2, w, b)),
        Case("group_norm/no_affine", [T((3, 4))], lambda x: F.group_norm(x, 2)),
        Case("group_norm/f64", [T((2, 6, 5), f64), T((6,), f64), T((6,), f64)],
             lambda x, w, b: F.group_norm(x, 6, w, b)),
        # dropout: only the deterministic forms compare with PyTorch
        Case("dropout/eval", [T((3, 4))], lambda x: F.dropout(x, 0.5, training=False)),
        Case("dropout/p0", [T((3, 4))], lambda x: F.dropout(x, 0.0, training=True)),
        Case("dropout/p1", [T((3, 4))], lambda x: F.dropout(x, 1.0, training=True)),
        # nll_loss
        Case("nll_loss/basic", [T((5, 4)), I((5,), 0, 4)], lambda x, t: nll(x, t)),
        Case("nll_loss/sum", [T((5, 4)), I((5,), 0, 4)], lambda x, t: nll(x, t, reduction="sum")),
        Case("nll_loss/none", [T((5, 4)), I((5,), 0, 4)], lambda x, t: nll(x, t, reduction="none")),
        Case("nll_loss/weight", [T((6, 5)), I((6,), 0, 5)], lambda x, t: nll(x, t, class_weight(5))),
        Case("nll_loss/weight_none", [T((6, 5)), I((6,), 0, 5)],
             lambda x, t: nll(x, t, class_weight(5), reduction="none")),
        Case("nll_loss/ignore_index", [T((5, 4)), ignore_target], lambda x, t: nll(x, t)),
        Case("nll_loss/ignore_weight", [T((5, 4)), torch.tensor([1, 2, 3, 2, 0])],
             lambda x, t: nll(x, t, class_weight(4), ignore_index=2)),
        Case("nll_loss/spatial", [T((2, 3, 4)), I((2, 4), 0, 3)], lambda x, t: nll(x, t)),
        Case("nll_loss/spatial_none", [T((2, 3, 2, 2)), I((2, 2, 2), 0, 3)], lambda x, t: nll(x, t, reduction="none")),
        Case("nll_loss/one_dim", [T((5,)), torch.tensor(3)], lambda x, t: nll(x, t)),
        Case("nll_loss/noncontig", [T((4, 5)), I((5,), 0, 4)], lambda x, t: nll(x.t(), t)),
        Case("nll_loss/empty", [T((0, 4)), I((0,), 0, 4)], lambda x, t: nll(x, t, reduction="sum")),
        Case("nll_loss/f64", [T((5, 4), f64), I((5,), 0, 4)], lambda x, t: nll(x, t)),
        Case("nll_loss/bf16", [T((5, 4), bf16), I((5,), 0, 4)], lambda x, t: nll(x, t, reduction="sum")),
        Case("nll_loss_backward/mean_weight", [T(()), torch.tensor([1, 2, 3, 2, 0])],
             lambda g, t: nll_backward(g, t, class_weight(4), 1, 2)),
        Case("nll_loss_backward/none", [T((5,)), torch.tensor([1, -100, 3, 2, 0])],
             lambda g, t: nll_backward(g, t, None, 0, -100)),
        # cross_entropy (composite)
        Case("cross_entropy/basic", [T((4, 5)), I((4,), 0, 5)], lambda x, t: ce(x, t)),
        Case("cross_entropy/sum", [T((4, 5)), I((4,), 0, 5)], lambda x, t: ce(x, t, reduction="sum")),
        Case("cross_entropy/none", [T((4, 5)), I((4,), 0, 5)], lambda x, t: ce(x, t, reduction="none")),
        Case("cross_entropy/weight", [T((6, 5)), I((6,), 0, 5)], lambda x, t: ce(x, t, class_weight(5))),
        Case("cross_entropy/ignore_index", [T((5, 4)), ignore_target], lambda x, t: ce(x, t)),
        Case("cross_entropy/spatial", [T((2, 4, 3, 3)), I((2, 3, 3), 0, 4)], lambda x, t: ce(x, t)),
        Case("cross_entropy/one_dim", [T((5,)), torch.tensor(1)], lambda x, t: ce(x, t)),
        Case("cross_entropy/noncontig", [T((5, 4)), I((4,), 0, 5)], lambda x, t: ce(x.t(), t)),
        Case("cross_entropy/f64", [T((4, 5), f64), I((4,), 0, 5)], lambda x, t: ce(x, t)),
        Case("cross_entropy/smoothing", [T((4, 5)), I((4,), 0, 5)], lambda x, t: ce(x, t, label_smoothing=0.1)),
        Case("cross_entropy/smoothing_none", [T((4, 5)), I((4,), 0, 5)],
             lambda x, t: ce(x, t, label_smoothing=0.2, reduction="none")),
        Case("cross_entropy/smoothing_weight_ignore", [T((5, 5)), torch.tensor([1, 4, 3, 1, 0])],
             lambda x, t: ce(x, t, class_weight(5), ignore_index=1, label_smoothing=0.2)),
        Case("cross_entropy/smoothing_sum_ignore", [T((5, 4)), ignore_target],
             lambda x, t: ce(x, t, reduction="sum", label_smoothing=0.3)),
        Case("cross_entropy/probs", [T((4, 5)), T((4, 5), low=0, high=1)], lambda x, p: ce(x, p)),
        Case("cross_entropy/probs_none", [T((3, 4, 2)), T((3, 4, 2), low=0, high=1)],
             lambda x, p: ce(x, p, reduction="none")),
        Case("cross_entropy/probs_weight_smoothing", [T((4, 5)), T((4, 5), low=0, high=1)],
             lambda x, p: ce(x, p, class_weight(5), label_smoothing=0.1, reduction="sum")),
        # regression losses
        Case("mse_loss/basic", [T((3, 4)), T((3, 4))], lambda x, y: F.mse_loss(x, y)),
        Case("mse_loss/sum", [T((3, 4)), T((3, 4))], lambda x, y: F.mse_loss(x, y, reduction="sum")),
        Case("mse_loss/none", [T((3, 4)), T((3, 4))], lambda x, y: F.mse_loss(x, y, reduction="none")),
        Case("mse_loss/f64", [T((5,), f64), T((5,), f64)], lambda x, y: F.mse_loss(x, y)),
        Case("mse_loss/zero_dim", [T(()), T(())], lambda x, y: F.mse_loss(x, y)),
        Case("l1_loss/basic", [T((3, 4)), T((3, 4))], lambda x, y: F.l1_loss(x, y)),
        Case("l1_loss/sum", [T((3, 4)), T((3, 4))], lambda x, y: F.l1_loss(x, y, reduction="sum")),
        Case("l1_loss/none", [T((3, 4)), T((3, 4))], lambda x, y: F.l1_loss(x, y, reduction="none")),
        Case("smooth_l1_loss/basic", [T((4, 5), low=-3, high=3), T((4, 5))], lambda x, y: F.smooth_l1_loss(x, y)),
        Case("smooth_l1_loss/beta", [T((4, 5)), T((4, 5))], lambda x, y: F.smooth_l1_loss(x, y, beta=0.5)),
        Case("smooth_l1_loss/beta_zero", [T((3, 4)), T((3, 4))], lambda x, y: F.smooth_l1_loss(x, y, beta=0.0)),
        Case("smooth_l1_loss/none", [T((3, 4), low=-3, high=3), T((3, 4))],
             lambda x, y: F.smooth_l1_loss(x, y, reduction="none", beta=2.0)),
        Case("smooth_l1_loss/f64", [T((6,), f64, low=-3, high=3), T((6,), f64)], lambda x, y: F.smooth_l1_loss(x, y)),
        # binary_cross_entropy_with_logits
        Case("binary_cross_entropy_with_logits/basic", [T((3, 4)), T((3, 4), low=0, high=1)],
             lambda x, t: F.binary_cross_entropy_with_logits(x, t)),
        Case("binary_cross_entropy_with_logits/large", [T((2, 5), low=-40, high=40), T((2, 5), low=0, high=1)],
             lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none")),
        Case("binary_cross_entropy_with_logits/weight", [T((3, 4)), T((3, 4), low=0, high=1)],
             lambda x, t: F.binary_cross_entropy_with_logits(x, t, weight=class_weight(4), reduction="sum")),
        Case("binary_cross_entropy_with_logits/pos_weight", [T((3, 4)), T((3, 4), low=0, high=1)],
             lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=class_weight(4))),
        Case("binary_cross_entropy_with_logits/f64", [T((5,), f64), T((5,), f64, low=0, high=1)],
             lambda x, t: F.binary_cross_entropy_with_logits(x, t)),
        # kl_div
        Case("kl_div/basic", [T((3, 4), low=-3, high=-0.1), T((3, 4), low=0.1, high=1)],
             lambda x, t: F.kl_div(x, t, reduction="mean")),
        Case("kl_div/sum", [T((3, 4), low=-3, high=-0.1), T((3, 4), low=0.1, high=1)],
             lambda x, t: F.kl_div(x, t, reduction="sum")),
        Case("kl_div/log_target", [T((3, 4), low=-3, high=-0.1), T((3, 4), low=-3, high=-0.1)],
             lambda x, t: F.kl_div(x, t, reduction="none", log_target=True)),
        # xlogy's gradient is undefined at a zero target; only the values are compared.
        Case("kl_div/zero_target", [T((4,)), torch.tensor([0.0, 0.5, 0.0, 0.5])],
             lambda x, t: F.kl_div(x, t, reduction="none"), grad=False),
        Case("kl_div/f64", [T((5,), f64, low=-3, high=-0.1), T((5,), f64, low=0.1, high=1)],
             lambda x, t: F.kl_div(x, t, reduction="sum")),
        # scaled_dot_product_attention (composite)
        Case("scaled_dot_product_attention/basic", [T((2, 3, 4)), T((2, 5, 4)), T((2, 5, 6))],
             lambda q, k, v: F.scaled_dot_product_attention(q, k, v)),
        Case("scaled_dot_product_attention/heads", [T((2, 2, 3, 4)), T((2, 2, 3, 4)), T((2, 2, 3, 4))],
             lambda q, k, v: F.scaled_dot_product_attention(q, k, v)),
        Case("scaled_dot_product_attention/bool_mask",
             [T((2, 3, 4)), T((2, 5, 4)), T((2, 5, 4)),
              torch.tensor([[True, False, True, True, False], [False, True, False, False, False],
                            [True, True, True, True, True]])],
             lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
        Case("scaled_dot_product_attention/float_mask", [T((2, 3, 4)), T((2, 5, 4)), T((2, 5, 4)), T((3, 5))],
             lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
        Case("scaled_dot_product_attention/causal", [T((2, 4, 4)), T((2, 4, 4)), T((2, 4, 3))],
             lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
        Case("scaled_dot_product_attention/causal_rect", [T((1, 3, 4)), T((1, 5, 4)), T((1, 5, 4))],
             lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
        Case("scaled_dot_product_attention/scale", [T((2, 3, 4)), T((2, 3, 4)), T((2, 3, 4))],
             lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3)),
        Case("scaled_dot_product_attention/f64", [T((2, 3, 4), f64), T((2, 5, 4), f64), T((2, 5, 2), f64)],
             lambda q, k, v: F.scaled_dot_product_attention(q, k, v)),
    ]


def nll_backward(g, target, weight, reduction, ignore_index):
    """aten's nll_loss_backward for log-probabilities of shape [len(target), 4]."""
    x = torch.zeros(target.shape[0], 4, dtype=g.dtype)
    total_weight = torch.ops.aten.nll_loss_forward(x, target, weight, reduction, ignore_index)[1]
    return torch.ops.aten.nll_loss_backward(g, x, target, weight, reduction, ignore_index, total_weight)
