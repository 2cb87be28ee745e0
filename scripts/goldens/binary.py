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
        Case("div/int_min_by_minus_one", [torch.tensor([-2**63, 7, -7]), torch.tensor([-1, -1, 2])],
             lambda a, b: torch.div(a, b, rounding_mode="floor")),
    ] + pow_cases() + remainder_cases() + min_max_cases() + atan2_cases() + comparison_cases() \
        + logical_cases() + where_cases() + masked_fill_cases() + lerp_cases()


def pow_cases():
    f64, bf16, f16, i8 = torch.float64, torch.bfloat16, torch.float16, torch.int8
    pos = dict(low=0.5, high=2.0)
    return [
        Case("pow/basic", [T((3, 4), **pos), T((3, 4), low=-1.5, high=1.5)], lambda a, b: a ** b),
        Case("pow/broadcast", [T((2, 1, 3), **pos), T((4, 1), low=-1.5, high=1.5)], lambda a, b: a ** b),
        Case("pow/noncontig", [T((4, 3), **pos), T((3, 4), low=-1.5, high=1.5)], lambda a, b: a.t() ** b),
        Case("pow/zero_dim_base", [T((), **pos), T((2, 2))], lambda a, b: a ** b),
        Case("pow/zero_dim_exp", [T((5,), **pos), T(())], lambda a, b: a ** b),
        Case("pow/empty", [T((0, 3), **pos), T((3,))], lambda a, b: a ** b),
        Case("pow/f64", [T((4,), f64, **pos), T((4,), f64)], lambda a, b: a ** b),
        Case("pow/bf16", [T((6,), bf16, **pos), T((6,), bf16)], lambda a, b: a ** b),
        Case("pow/f16", [T((6,), f16, **pos), T((6,), f16)], lambda a, b: a ** b),
        Case("pow/scalar_exp", [T((5,), **pos)], lambda a: a ** 2.5),
        Case("pow/square", [T((5,))], lambda a: a ** 2),
        Case("pow/cube", [T((5,))], lambda a: a ** 3),
        Case("pow/sqrt", [T((5,), **pos)], lambda a: a ** 0.5),
        Case("pow/rsqrt", [T((5,), **pos)], lambda a: a ** -0.5),
        Case("pow/reciprocal", [T((5,), **pos)], lambda a: a ** -1),
        Case("pow/inv_square", [T((5,), **pos)], lambda a: a ** -2),
        Case("pow/zero_exp", [T((5,))], lambda a: a ** 0),
        Case("pow/scalar_base", [T((5,))], lambda b: torch.pow(2.5, b)),
        Case("pow/bf16_scalar", [T((6,), bf16, **pos)], lambda a: a ** 1.7),
        # Exponent gradient at base 0 is defined as 0 (integer base: only the exponent is differentiable).
        Case("pow/zero_base", [torch.tensor([0, 1, 2, 3]), T((4,), **pos)], lambda a, b: a ** b),
        Case("pow/int", [I((6,), -3, 4), I((6,), 0, 5)], lambda a, b: a ** b),
        Case("pow/int_negative_exp", [torch.tensor([2, 1, -1, -1, 0, 3]), torch.tensor([-1, -2, -3, -2, 2, 0])],
             lambda a, b: a ** b),
        Case("pow/int_scalar", [I((6,), -4, 4, torch.int32)], lambda a: a ** 3),
        Case("pow/int_float_scalar", [I((4,), 1, 5)], lambda a: a ** 2.5),
        Case("pow/int_scalar_base", [I((4,), 0, 5, torch.int32)], lambda b: torch.pow(3, b)),
        Case("pow/int8_wraps", [torch.tensor([2, 3, -5], dtype=i8)], lambda a: a ** 7),
    ]


def remainder_cases():
    f64, bf16 = torch.float64, torch.bfloat16
    divisors = torch.tensor([[1.5, -2.0, 0.75, -1.25], [3.0, -0.5, 2.5, -3.0], [0.9, 1.1, -1.7, 2.2]])
    return [
        Case("remainder/basic", [T((3, 4), low=-5, high=5), divisors], lambda a, b: torch.remainder(a, b)),
        Case("remainder/broadcast", [T((3, 1), low=-5, high=5), torch.tensor([1.5, -2.0, 0.75])],
             lambda a, b: torch.remainder(a, b)),
        Case("remainder/scalar", [T((5,), low=-5, high=5)], lambda a: a % 1.5),
        Case("remainder/negative_scalar", [T((5,), low=-5, high=5)], lambda a: a % -1.5),
        Case("remainder/scalar_left", [torch.tensor([1.5, -2.0, 0.75, -1.25, 3.0])],
             lambda b: torch.remainder(5.5, b), grad=False),  # PyTorch has no derivative for it
        Case("remainder/f64", [T((4,), f64, -5, 5), torch.tensor([1.5, -2.0, 0.75, -1.25], dtype=f64)],
             lambda a, b: torch.remainder(a, b)),
        Case("remainder/bf16", [T((4,), bf16, -5, 5), torch.tensor([1.5, -2.0, 0.75, -1.25], dtype=bf16)],
             lambda a, b: torch.remainder(a, b)),
        Case("remainder/int", [I((6,), -9, 9), torch.tensor([2, -2, 3, -3, 4, -5])],
             lambda a, b: torch.remainder(a, b)),
        Case("remainder/int_scalar", [I((6,), -9, 9, torch.int32)], lambda a: a % 4),
        Case("remainder/int_min_by_minus_one", [torch.tensor([-2**63, 7, -7]), torch.tensor([-1, -1, 2])],
             lambda a, b: torch.remainder(a, b)),
        Case("remainder/exact_multiple", [torch.tensor([3.0, -3.0, 0.0, -0.0]), torch.tensor([1.5, 1.5, -2.0, 2.0])],
             lambda a, b: torch.remainder(a, b), grad=False),
    ]


def min_max_cases():
    nan = float("nan")
    bf16 = torch.bfloat16
    cases = []
    for name, fn in (("maximum", torch.maximum), ("minimum", torch.minimum)):
        cases += [
            Case(f"{name}/basic", [T((3, 4)), T((3, 4))], fn),
            Case(f"{name}/broadcast", [T((2, 1, 3)), T((4, 1))], fn),
            Case(f"{name}/noncontig", [T((4, 3)), T((3, 4))], lambda a, b, fn=fn: fn(a.t(), b)),
            Case(f"{name}/zero_dim", [T(()), T((5,))], fn),
            Case(f"{name}/empty", [T((0, 2)), T((2,))], fn),
            Case(f"{name}/f64", [T((4,), torch.float64), T((4,), torch.float64)], fn),
            Case(f"{name}/bf16", [T((6,), bf16), T((6,), bf16)], fn),
            # Ties split the gradient in half.
            Case(f"{name}/ties", [torch.tensor([1.0, 2.0, -3.0, 0.5]), torch.tensor([1.0, 1.0, -3.0, 0.75])], fn),
            Case(f"{name}/nan", [torch.tensor([nan, 1.0, 2.0, nan]), torch.tensor([1.0, nan, 0.5, nan])], fn),
            Case(f"{name}/int", [I((6,), -5, 5, torch.int32), I((6,), -5, 5, torch.int32)], fn),
            Case(f"{name}/int_float", [I((4,), -5, 5), T((4,), low=-5, high=5)], fn),
            Case(f"{name}/bool", [I((6,), dtype=torch.bool), I((6,), dtype=torch.bool)], fn),
        ]
    return cases


def atan2_cases():
    return [
        Case("atan2/basic", [T((3, 4)), T((3, 4))], torch.atan2),
        Case("atan2/broadcast", [T((2, 1)), T((3,))], torch.atan2),
        Case("atan2/noncontig", [T((4, 3)), T((3, 4))], lambda a, b: torch.atan2(a.t(), b)),
        Case("atan2/zero_dim", [T(()), T((3,))], torch.atan2),
        Case("atan2/empty", [T((0,)), T((1,))], torch.atan2),
        Case("atan2/f64", [T((4,), torch.float64), T((4,), torch.float64)], torch.atan2),
        Case("atan2/bf16", [T((6,), torch.bfloat16), T((6,), torch.bfloat16)], torch.atan2),
        Case("atan2/f16", [T((6,), torch.float16), T((6,), torch.float16)], torch.atan2),
        Case("atan2/int", [I((5,), -5, 5), I((5,), -5, 5)], torch.atan2),
        Case("atan2/quadrants", [torch.tensor([1.0, 1.0, -1.0, -1.0, 0.0, -0.0, 0.0]),
                                 torch.tensor([1.0, -1.0, 1.0, -1.0, -1.0, -1.0, 0.0])], torch.atan2, grad=False),
    ]


def comparison_cases():
    nan = float("nan")
    # Integer-valued floats so that equal elements occur.
    a, b = I((3, 4), 0, 3, torch.float32), I((3, 4), 0, 3, torch.float32)
    nans = [torch.tensor([nan, 1.0, nan, 2.0]), torch.tensor([nan, nan, 1.0, 2.0])]
    cases = []
    for name, fn in (("eq", torch.eq), ("ne", torch.ne), ("lt", torch.lt), ("le", torch.le), ("gt", torch.gt),
                     ("ge", torch.ge)):
        cases += [
            Case(f"{name}/basic", [a, b], fn),
            Case(f"{name}/broadcast", [I((3, 1), 0, 3, torch.float32), I((4,), 0, 3, torch.float32)], fn),
            Case(f"{name}/nan", nans, fn),
            Case(f"{name}/scalar", [I((6,), 0, 4, torch.int32)], lambda x, fn=fn: fn(x, 2)),
            Case(f"{name}/int_float", [I((6,), 0, 3), torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])], fn),
        ]
    cases += [
        Case("eq/noncontig", [I((4, 3), 0, 3, torch.float32), I((3, 4), 0, 3, torch.float32)],
             lambda x, y: x.t() == y),
        Case("eq/zero_dim", [I((), 0, 2, torch.float32), I((5,), 0, 2, torch.float32)], torch.eq),
        Case("eq/empty", [T((0, 3)), T((3,))], torch.eq),
        Case("eq/bf16", [I((6,), 0, 3, torch.bfloat16), I((6,), 0, 3, torch.bfloat16)], torch.eq),
        Case("eq/bool", [I((6,), dtype=torch.bool), I((6,), dtype=torch.bool)], torch.eq),
        Case("lt/float_scalar", [I((6,), 0, 4)], lambda x: x < 1.5),
        Case("lt/uint8_negative_scalar", [I((4,), 0, 10, torch.uint8)], lambda x: x < -1),
        Case("gt/f16_f32", [I((6,), 0, 3, torch.float16), I((6,), 0, 3, torch.float32)], torch.gt),
        Case("ge/bool", [I((6,), dtype=torch.bool), I((6,), dtype=torch.bool)], torch.ge),
    ]
    return cases


def logical_cases():
    nan = float("nan")
    cases = []
    for name, fn in (("logical_and", torch.logical_and), ("logical_or", torch.logical_or),
                     ("logical_xor", torch.logical_xor)):
        cases += [
            Case(f"{name}/basic", [I((3, 4), dtype=torch.bool), I((3, 4), dtype=torch.bool)], fn),
            Case(f"{name}/broadcast", [I((3, 1), dtype=torch.bool), I((4,), dtype=torch.bool)], fn),
            Case(f"{name}/float_int", [torch.tensor([0.0, 0.5, nan, -0.0, 2.0, 0.0]), I((6,), 0, 2)], fn),
            Case(f"{name}/scalar", [I((5,), -1, 2, torch.int32)], lambda x, fn=fn: fn(x, torch.tensor(True))),
        ]
    return cases


def where_cases():
    bf16 = torch.bfloat16
    cond = I((3, 4), dtype=torch.bool)
    return [
        Case("where/basic", [cond, T((3, 4)), T((3, 4))], torch.where),
        Case("where/broadcast", [I((3, 1), dtype=torch.bool), T((4,)), T((2, 1, 1))], torch.where),
        Case("where/noncontig", [cond, T((4, 3)), T((3, 4))], lambda c, a, b: torch.where(c, a.t(), b)),
        Case("where/scalar_other", [cond, T((3, 4))], lambda c, a: torch.where(c, a, 0.5)),
        Case("where/scalar_self", [cond, T((3, 4))], lambda c, b: torch.where(c, -1.0, b)),
        Case("where/zero_dim", [I((), dtype=torch.bool), T((3,)), T(())], torch.where),
        Case("where/empty", [I((0, 2), dtype=torch.bool), T((2,)), T((0, 1))], torch.where),
        Case("where/promote", [cond, I((3, 4), -5, 5, torch.int32), T((3, 4), torch.float64)], torch.where),
        Case("where/int_float_scalar", [cond, I((3, 4), -5, 5, torch.int32)], lambda c, a: torch.where(c, a, 2.5)),
        Case("where/int", [cond, I((3, 4), -5, 5), I((3, 4), -5, 5)], torch.where),
        Case("where/bf16", [cond, T((3, 4), bf16), T((3, 4), bf16)], torch.where),
        Case("where/bool", [cond, I((3, 4), dtype=torch.bool), I((3, 4), dtype=torch.bool)], torch.where),
    ]


def masked_fill_cases():
    mask = I((3, 4), dtype=torch.bool)
    return [
        Case("masked_fill/basic", [T((3, 4)), mask], lambda x, m: x.masked_fill(m, -2.5)),
        Case("masked_fill/broadcast_mask", [T((3, 4)), I((4,), dtype=torch.bool)], lambda x, m: x.masked_fill(m, 1.0)),
        Case("masked_fill/broadcast_self", [T((4,)), mask], lambda x, m: x.masked_fill(m, 1.0)),
        Case("masked_fill/tensor_value", [T((3, 4)), mask, T(())], lambda x, m, v: x.masked_fill(m, v)),
        Case("masked_fill/f64_value_f32_self", [T((3, 4)), mask, T((), torch.float64)],
             lambda x, m, v: x.masked_fill(m, v)),
        Case("masked_fill/noncontig", [T((4, 3)), mask], lambda x, m: x.t().masked_fill(m, 0.0)),
        Case("masked_fill/empty", [T((0, 4)), I((4,), dtype=torch.bool)], lambda x, m: x.masked_fill(m, 3.0)),
        Case("masked_fill/int_float_value", [I((3, 4), -5, 5), mask], lambda x, m: x.masked_fill(m, 1.5)),
        Case("masked_fill/bf16", [T((3, 4), torch.bfloat16), mask], lambda x, m: x.masked_fill(m, 0.3)),
        Case("masked_fill/bool", [I((3, 4), dtype=torch.bool), mask], lambda x, m: x.masked_fill(m, True)),
    ]


def lerp_cases():
    bf16, f16, f64 = torch.bfloat16, torch.float16, torch.float64
    return [
        Case("lerp/scalar", [T((3, 4)), T((3, 4))], lambda a, b: torch.lerp(a, b, 0.3)),
        Case("lerp/scalar_high", [T((3, 4)), T((3, 4))], lambda a, b: torch.lerp(a, b, 0.8)),
        Case("lerp/tensor", [T((3, 4)), T((3, 4)), T((3, 4), low=-0.5, high=1.5)], torch.lerp),
        Case("lerp/broadcast", [T((2, 3)), T((3,)), T((4, 1, 1), low=0, high=1)], torch.lerp),
        Case("lerp/noncontig", [T((4, 3)), T((3, 4)), T((3, 4), low=0, high=1)],
             lambda a, b, w: torch.lerp(a.t(), b, w)),
        Case("lerp/zero_dim_weight", [T((3, 4)), T((3, 4)), T((), low=0, high=1)], torch.lerp),
        Case("lerp/f64_zero_dim_weight", [T((3,)), T((3,)), T((), f64, low=0, high=1)], torch.lerp),
        Case("lerp/empty", [T((0, 3)), T((3,))], lambda a, b: torch.lerp(a, b, 0.5)),
        Case("lerp/f64", [T((4,), f64), T((4,), f64), T((4,), f64, low=0, high=1)], torch.lerp),
        Case("lerp/bf16", [T((6,), bf16), T((6,), bf16)], lambda a, b: torch.lerp(a, b, 0.3)),
        Case("lerp/f16", [T((6,), f16), T((6,), f16), T((6,), f16, low=0, high=1)], torch.lerp),
    ]
