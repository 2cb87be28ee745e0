"""Goldens for binary elementwise ops (src/ops/binary.cpp)."""
import torch

from common import Case, I, T


def cases():
    f64, bf16, f16, i32 = torch.float64, torch.bfloat16, torch.float16, torch.int32
    return [
        Case("add/basic", [T((3, 4)), T((3, 4))], lambda a, b: a + b),
        Case("add/broadcast", [T((3, 1)), T((4,))], lambda a, b: a + b),
        Case("add/alpha", [T((2, 3)), T((2, 3))], lambda a, b: torch.add(a, b, alpha=2.5)),
        Case("add/noncontig", [T((4, 3)), T((3, 4))], lambda a, b: a.t() + b),
        Case("add/scalar", [T((5,))], lambda a: a + 1.5),
        Case("add/zero_dim", [T(()), T((2, 2))], lambda a, b: a + b),
        Case("add/empty", [T((0, 3)), T((3,))], lambda a, b: a + b),
        Case("add/f64", [T((3,), f64), T((3,), f64)], lambda a, b: a + b),
        Case("add/bf16", [T((6,), bf16), T((6,), bf16)], lambda a, b: a + b),
        Case("add/f16", [T((6,), f16), T((6,), f16)], lambda a, b: a + b),
        Case("add/int", [I((4,), -5, 5, i32), I((4,), -5, 5, i32)], lambda a, b: a + b),
        Case("add/int_float_scalar", [I((4,), -5, 5, i32)], lambda a: a + 2.5),
        Case("add/int_tensor_float_zero_dim", [I((4,), -5, 5, i32), T((), f64)], lambda a, b: a + b, grad=False),
        Case("add/bool", [I((5,), dtype=torch.bool), I((5,), dtype=torch.bool)], lambda a, b: a + b),
        Case("add/f16_f32_promotion", [T((3,), f16), T((3,))], lambda a, b: a + b),
        Case("sub/basic", [T((3, 4)), T((4,))], lambda a, b: a - b),
        Case("sub/alpha", [T((2, 3)), T((2, 3))], lambda a, b: torch.sub(a, b, alpha=0.5)),
        Case("sub/scalar_left", [T((5,))], lambda a: 2 - a),
        Case("sub/int", [I((4,), -5, 5), I((4,), -5, 5)], lambda a, b: a - b),
        Case("mul/basic", [T((2, 3)), T((2, 3))], lambda a, b: a * b),
        Case("mul/broadcast", [T((2, 1, 3)), T((4, 1))], lambda a, b: a * b),
        Case("mul/scalar", [T((4,))], lambda a: a * -3),
        Case("mul/noncontig", [T((3, 4)), T((4, 3))], lambda a, b: a[:, ::2] * b.t()[:, ::2]),
        Case("mul/bf16", [T((6,), bf16), T((6,), bf16)], lambda a, b: a * b),
        Case("mul/int_bool", [I((4,), -5, 5), I((4,), dtype=torch.bool)], lambda a, b: a * b),
        Case("div/basic", [T((3, 4)), T((3, 4), low=0.5, high=2)], lambda a, b: a / b),
        Case("div/broadcast", [T((2, 3)), T((3,), low=0.5, high=2)], lambda a, b: a / b),
        Case("div/int_true", [I((5,), -9, 9), I((5,), 1, 4)], lambda a, b: a / b),
        Case("div/floor_int", [I((6,), -9, 9), torch.tensor([2, -2, 3, -3, 4, 5])],
             lambda a, b: torch.div(a, b, rounding_mode="floor")),
        Case("div/trunc_int", [I((6,), -9, 9), torch.tensor([2, -2, 3, -3, 4, 5])],
             lambda a, b: torch.div(a, b, rounding_mode="trunc")),
        Case("div/floor_float", [T((6,), low=-5, high=5), torch.tensor([2.0, -2.0, 0.75, -1.5, 3.0, -0.5])],
             lambda a, b: torch.div(a, b, rounding_mode="floor"), grad=False),
        Case("div/scalar", [T((4,))], lambda a: a / 4),
        Case("div/f64", [T((3,), f64), T((3,), f64, low=0.5, high=2)], lambda a, b: a / b),
    ]
