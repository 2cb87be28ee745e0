"""Goldens for unary elementwise ops (src/ops/unary.cpp).

Most ops get the same battery (`standard`): basic, non-contiguous, 0-d,
empty, float64, bfloat16, float16 and (where PyTorch accepts them) integer
inputs. tests/ops/cases_unary.cpp builds the same list of names.
"""
import torch
import torch.nn.functional as F

from common import Case, I, T

f64, bf16, f16 = torch.float64, torch.bfloat16, torch.float16
nan, inf = float("nan"), float("inf")


def standard(name, fn, low=-2.0, high=2.0, ints=(-3, 4)):
    """ints: the integer input range, or None where PyTorch rejects integer tensors."""
    cases = [
        Case(f"{name}/basic", [T((3, 4), low=low, high=high)], fn),
        Case(f"{name}/noncontig", [T((4, 3), low=low, high=high)], lambda x: fn(x.t())),
        Case(f"{name}/zero_dim", [T((), low=low, high=high)], fn),
        Case(f"{name}/empty", [T((0, 3), low=low, high=high)], fn),
        Case(f"{name}/f64", [T((7,), f64, low, high)], fn),
        # 64 elements: PyTorch's vectorized path, the one real tensors take (its
        # scalar tail rounds intermediates, e.g. rsqrt as 1/sqrt, differently).
        Case(f"{name}/bf16", [T((64,), bf16, low, high)], fn),
        Case(f"{name}/f16", [T((64,), f16, low, high)], fn),
    ]
    if ints is not None:
        cases.append(Case(f"{name}/int", [I((6,), ints[0], ints[1])], fn))
    return cases


# Values where rounding, sign and NaN conventions show.
SPECIAL = torch.tensor([nan, inf, -inf, -0.0, 0.0, 2.5, 3.5, -2.5, 0.5, -1.5, 1e-3])


def cases():
    positive = dict(low=0.5, high=3.0, ints=(1, 9))
    out = []
    out += standard("neg", torch.neg)
    out += standard("abs", torch.abs)
    out += standard("sign", torch.sign)
    out += standard("exp", torch.exp)
    out += standard("expm1", torch.expm1)
    out += standard("log", torch.log, **positive)
    out += standard("log1p", torch.log1p, low=-0.5, high=2.0, ints=(0, 9))
    out += standard("log2", torch.log2, **positive)
    out += standard("sqrt", torch.sqrt, **positive)
    out += standard("rsqrt", torch.rsqrt, **positive)
    out += standard("square", torch.square)
    out += standard("reciprocal", torch.reciprocal, **positive)
    out += standard("sin", torch.sin)
    out += standard("cos", torch.cos)
    out += standard("tanh", torch.tanh)
    out += standard("sigmoid", torch.sigmoid)
    out += standard("relu", torch.relu)
    out += standard("leaky_relu", F.leaky_relu, ints=None)
    out += standard("elu", F.elu, ints=None)
    out += standard("gelu", F.gelu, ints=None)
    out += standard("silu", F.silu, ints=None)
    out += standard("softplus", F.softplus, ints=None)
    out += standard("erf", torch.erf)
    out += standard("floor", torch.floor)
    out += standard("ceil", torch.ceil)
    out += standard("round", torch.round)

    out += [
        # Special values (no gradients: NaN/inf and points on kinks).
        *[Case(f"{n}/special", [SPECIAL], getattr(torch, n), grad=False)
          for n in ["abs", "sign", "relu", "floor", "ceil", "round", "sigmoid", "tanh", "exp", "sqrt", "log",
                    "reciprocal", "isnan", "isinf", "logical_not"]],
        Case("round/half_even", [torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, 4194304.5])], torch.round,
             grad=False),
        Case("sign/bool", [I((5,), dtype=torch.bool)], torch.sign),
        Case("square/bool", [I((5,), dtype=torch.bool)], torch.square),
        Case("exp/bool", [I((5,), dtype=torch.bool)], torch.exp),
        Case("abs/uint8", [I((5,), 0, 255, torch.uint8)], torch.abs),
        Case("relu/int8", [I((6,), -100, 100, torch.int8)], torch.relu),

        Case("leaky_relu/slope", [T((3, 4))], lambda x: F.leaky_relu(x, 0.2)),
        Case("elu/alpha", [T((3, 4))], lambda x: F.elu(x, 0.5)),
        Case("gelu/tanh", [T((3, 4), low=-4, high=4)], lambda x: F.gelu(x, approximate="tanh")),
        Case("gelu/tanh_f64", [T((7,), f64, -4, 4)], lambda x: F.gelu(x, approximate="tanh")),
        Case("gelu/tanh_bf16", [T((8,), bf16, -4, 4)], lambda x: F.gelu(x, approximate="tanh")),
        Case("gelu/wide", [T((16,), low=-8, high=8)], F.gelu),
        Case("softplus/beta_threshold", [T((3, 4))], lambda x: F.softplus(x, beta=2.0, threshold=1.0)),
        Case("softplus/large", [T((6,), low=15, high=40)], F.softplus),
        Case("sigmoid/wide", [T((16,), low=-30, high=30)], torch.sigmoid),

        Case("logical_not/float", [torch.tensor([0.0, -0.0, 1.5, -2.0, nan])], torch.logical_not),
        Case("logical_not/int", [I((6,), -2, 3)], torch.logical_not),
        Case("logical_not/bool", [I((5,), dtype=torch.bool)], torch.logical_not),
        Case("isnan/int", [I((4,), -2, 3)], torch.isnan),
        Case("isnan/bf16", [SPECIAL.to(bf16)], torch.isnan),
        Case("isinf/int", [I((4,), -2, 3)], torch.isinf),
        Case("isinf/f16", [torch.tensor([inf, -inf, 7e4, 1.0, nan]).to(f16)], torch.isinf),

        Case("to/f32_f64", [T((3, 4))], lambda x: x.to(f64)),
        Case("to/f64_f32", [T((3, 4), f64)], lambda x: x.to(torch.float32)),
        Case("to/f32_bf16", [T((5,))], lambda x: x.to(bf16)),
        Case("to/f32_int", [T((5,), low=-5, high=5)], lambda x: x.to(torch.int32)),
        Case("to/int_f32", [I((5,), -5, 5)], lambda x: x.to(torch.float32)),
        Case("to/noncontig", [T((4, 3))], lambda x: x.t().to(f64)),

        # clamp with numbers: the gradient passes strictly inside the bounds.
        Case("clamp/basic", [T((3, 4))], lambda x: torch.clamp(x, -0.5, 0.7)),
        Case("clamp/min_only", [T((3, 4))], lambda x: torch.clamp(x, min=0.2)),
        Case("clamp/max_only", [T((3, 4))], lambda x: torch.clamp(x, max=-0.3)),
        Case("clamp/noncontig", [T((4, 3))], lambda x: torch.clamp(x.t(), -1, 1)),
        Case("clamp/crossed", [T((5,))], lambda x: torch.clamp(x, 1.0, -1.0)),
        Case("clamp/on_bounds", [torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])], lambda x: torch.clamp(x, -0.5, 0.5)),
        Case("clamp/special", [SPECIAL], lambda x: torch.clamp(x, -1.0, 1.0), grad=False),
        Case("clamp/int", [I((6,), -9, 9)], lambda x: torch.clamp(x, -3, 4)),
        Case("clamp/int_float_bound", [I((6,), -9, 9)], lambda x: torch.clamp(x, min=0.5)),
        Case("clamp/bf16", [T((8,), bf16)], lambda x: torch.clamp(x, -0.3, 0.3)),
        Case("clamp/f64", [T((6,), f64)], lambda x: torch.clamp(x, -0.5, 0.5)),
        Case("clamp/zero_dim", [T(())], lambda x: torch.clamp(x, -0.1, 0.1)),
        Case("clamp/empty", [T((0, 2))], lambda x: torch.clamp(x, -0.1, 0.1)),

        # clamp with tensors: broadcasting, and an even split of the gradient on ties.
        Case("clamp_tensor/basic", [T((3, 4)), T((3, 4), low=-1.5, high=-0.2), T((3, 4), low=0.2, high=1.5)],
             torch.clamp),
        Case("clamp_tensor/broadcast", [T((3, 4)), T((4,), low=-1.5, high=-0.2), T((3, 1), low=0.2, high=1.5)],
             torch.clamp),
        Case("clamp_tensor/min_only", [T((3, 4)), T((4,))], lambda x, lo: torch.clamp(x, min=lo)),
        Case("clamp_tensor/max_only", [T((3, 4)), T((3, 1))], lambda x, hi: torch.clamp(x, max=hi)),
        Case("clamp_tensor/crossed", [T((6,)), T((6,), low=0.5, high=1.0), T((6,), low=-1.0, high=-0.5)],
             torch.clamp),
        Case("clamp_tensor/zero_dim_bounds", [T((3, 4)), T((), low=-1, high=-0.5), T((), low=0.5, high=1)],
             torch.clamp),
        Case("clamp_tensor/ties", [torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 2.0, 1.0]),
                                   torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0]),
                                   torch.tensor([3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 1.0])], torch.clamp),
        Case("clamp_tensor/min_ties", [torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 1.0])],
             lambda x, lo: torch.clamp(x, min=lo)),
        Case("clamp_tensor/max_ties", [torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 1.0])],
             lambda x, hi: torch.clamp(x, max=hi)),
        Case("clamp_tensor/nan", [torch.tensor([nan, 1.0, 2.0, 5.0]), torch.tensor([0.0, nan, 1.0, 0.0]),
                                  torch.tensor([1.0, 3.0, nan, 4.0])], torch.clamp, grad=False),
        Case("clamp_tensor/int", [I((6,), -9, 9), I((6,), -5, 0), I((6,), 0, 5)], torch.clamp),
        Case("clamp_tensor/promote", [I((6,), -9, 9), T((), f64, -2, -1)], lambda x, lo: torch.clamp(x, min=lo)),
        Case("clamp_tensor/bf16", [T((8,), bf16), T((8,), bf16, -1, -0.2), T((8,), bf16, 0.2, 1)], torch.clamp),
    ]
    return out
