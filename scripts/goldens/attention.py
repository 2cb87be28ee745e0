"""Goldens for the fused scaled_dot_product_attention (src/ops/attention.cpp).

Sequences are longer than the kernel's tiles (64 query rows, 128 keys) and
not multiples of them, so that the online softmax crosses tile boundaries,
and the last tile is partial. Masks broadcast over batch and heads as in
PyTorch; a row whose keys are all masked gives 0 (PyTorch's fused CPU kernel).
Float masks stay finite: finite differences at -inf would be NaN.

"scaled_dot_product_attention_backward/*" record the gradients of q, k and v
for a given output gradient (inputs: grad_output, q, k, v[, mask]), the
outputs of the fused backward op.
"""
import torch
import torch.nn.functional as F

from common import Case, T

f64 = torch.float64


def sdpa(**kw):
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw)


def sdpa_mask(**kw):
    return lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)


def bool_mask(shape, seed, masked_rows=()):
    """About 3 in 4 keys visible; the listed rows (dim -2) see none."""
    gen = torch.Generator().manual_seed(seed)
    m = torch.rand(shape, generator=gen) < 0.75
    for r in masked_rows:
        m[..., r, :] = False
    return m


def grads_of(**kw):
    """(g, q, k, v[, mask]) -> (dq, dk, dv) of F.scaled_dot_product_attention."""
    def fn(g, q, k, v, m=None):
        qkv = [t.detach().clone().requires_grad_() for t in (q, k, v)]
        out = F.scaled_dot_product_attention(*qkv, attn_mask=m, **kw)
        return torch.autograd.grad(out, qkv, g)
    return fn


def cases():
    p = "scaled_dot_product_attention"
    b = p + "_backward"
    return [
        Case(f"{p}/long", [T((1, 2, 300, 4)), T((1, 2, 300, 4)), T((1, 2, 300, 3))], sdpa()),
        Case(f"{p}/long_causal", [T((1, 1, 300, 4)), T((1, 1, 300, 4)), T((1, 1, 300, 3))], sdpa(is_causal=True)),
        Case(f"{p}/rect", [T((2, 70, 4)), T((2, 130, 4)), T((2, 130, 5))], sdpa()),
        # Causal with L < S and L > S: top-left aligned, so query i sees keys 0..i.
        Case(f"{p}/causal_wide", [T((1, 70, 4)), T((1, 200, 4)), T((1, 200, 3))], sdpa(is_causal=True)),
        Case(f"{p}/causal_tall", [T((1, 200, 4)), T((1, 70, 4)), T((1, 70, 3))], sdpa(is_causal=True)),
        # A [L, S] bool mask shared by batch and heads, with two rows fully masked.
        Case(f"{p}/bool_mask_heads", [T((2, 2, 70, 4)), T((2, 2, 130, 4)), T((2, 2, 130, 3)),
                                bool_mask((70, 130), 1, masked_rows=(0, 65))], sdpa_mask()),
        # A key-padding mask [B, 1, 1, S].
        Case(f"{p}/key_padding", [T((2, 2, 70, 4)), T((2, 2, 130, 4)), T((2, 2, 130, 3)),
                                  bool_mask((2, 1, 1, 130), 2)], sdpa_mask()),
        # A float bias [1, L, S] broadcast over batch; its gradient is recorded too.
        Case(f"{p}/float_mask_batch", [T((2, 70, 4)), T((2, 130, 4)), T((2, 130, 3)), T((1, 70, 130))], sdpa_mask()),
        # Batch dims that broadcast: k and v shared by the batch.
        Case(f"{p}/broadcast", [T((2, 2, 70, 4)), T((1, 2, 130, 4)), T((1, 2, 130, 3))], sdpa()),
        Case(f"{p}/scale_long", [T((1, 70, 4)), T((1, 130, 4)), T((1, 130, 4))], sdpa(scale=0.7)),
        Case(f"{p}/f64_causal", [T((1, 2, 150, 4), f64), T((1, 2, 150, 4), f64), T((1, 2, 150, 3), f64)],
             sdpa(is_causal=True)),
        Case(f"{b}/long", [T((1, 2, 300, 3)), T((1, 2, 300, 4)), T((1, 2, 300, 4)), T((1, 2, 300, 3))],
             grads_of(), grad=False),
        Case(f"{b}/causal_tall", [T((1, 200, 3)), T((1, 200, 4)), T((1, 70, 4)), T((1, 70, 3))],
             grads_of(is_causal=True), grad=False),
        Case(f"{b}/bool_mask", [T((2, 70, 3)), T((2, 70, 4)), T((2, 130, 4)), T((2, 130, 3)),
                                bool_mask((70, 130), 3, masked_rows=(5,))], grads_of(), grad=False),
    ]
