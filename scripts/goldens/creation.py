"""Goldens for tensor factories (src/ops/creation.cpp). No gradients: factories
have no differentiable inputs."""
import torch

from common import Case, I, T


def cases():
    return [
        Case("arange/end", [], lambda: torch.arange(5), grad=False),
        Case("arange/float_step", [], lambda: torch.arange(1, 2.5, 0.5), grad=False),
        Case("arange/negative_step", [], lambda: torch.arange(10, 0, -3), grad=False),
        Case("arange/fractional_end", [], lambda: torch.arange(0, 1, 0.1), grad=False),
        Case("arange/f64", [], lambda: torch.arange(0, 3, 1, dtype=torch.float64), grad=False),
        Case("arange/empty", [], lambda: torch.arange(3, 3), grad=False),
        Case("linspace/basic", [], lambda: torch.linspace(0, 1, 5), grad=False),
        Case("linspace/descending", [], lambda: torch.linspace(3, -2, 7), grad=False),
        Case("linspace/one_step", [], lambda: torch.linspace(2, 5, 1), grad=False),
        Case("linspace/f64", [], lambda: torch.linspace(-1, 1, 11, dtype=torch.float64), grad=False),
        Case("eye/square", [], lambda: torch.eye(3), grad=False),
        Case("eye/rect", [], lambda: torch.eye(2, 4), grad=False),
        Case("eye/int", [], lambda: torch.eye(3, dtype=torch.int64), grad=False),
        Case("full/int_value", [], lambda: torch.full((2, 3), 7), grad=False),
        Case("full/float_value", [], lambda: torch.full((2,), 1.5), grad=False),
        Case("full/bool_value", [], lambda: torch.full((2,), True), grad=False),
        Case("zeros/basic", [], lambda: torch.zeros(2, 3), grad=False),
        Case("ones/i32", [], lambda: torch.ones(4, dtype=torch.int32), grad=False),
        Case("ones_like/basic", [T((2, 3), torch.float64)], lambda a: torch.ones_like(a), grad=False),
        Case("full_like/basic", [I((3,), 0, 5)], lambda a: torch.full_like(a, 4), grad=False),
        Case("one_hot/basic", [torch.tensor([0, 2, 1, 4])], lambda a: torch.nn.functional.one_hot(a), grad=False),
        Case("one_hot/num_classes", [torch.tensor([[0, 2], [1, 3]])],
             lambda a: torch.nn.functional.one_hot(a, 6), grad=False),
        Case("tensor/from_values", [], lambda: torch.tensor([[1.5, -2.0], [3.0, 4.25]]), grad=False),
    ]
