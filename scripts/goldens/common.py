"""Shared pieces of the golden generators (see scripts/gen_goldens.py).

A Case is one golden record: named inputs, a PyTorch function, and whether
input gradients are recorded. Random inputs are seeded by the case name, so
regenerating a family reproduces the same files.
"""
import zlib
from dataclasses import dataclass, field
from typing import Callable, List

import torch


@dataclass
class T:
    """A random floating tensor, uniform in [low, high)."""
    shape: tuple
    dtype: torch.dtype = torch.float32
    low: float = -2.0
    high: float = 2.0


@dataclass
class I:
    """A random integer (or bool) tensor, uniform in [low, high)."""
    shape: tuple
    low: int = 0
    high: int = 10
    dtype: torch.dtype = torch.int64


@dataclass
class Case:
    name: str                 # "<reference>/<variant>"
    inputs: List[object]      # T, I or torch.Tensor
    fn: Callable              # fn(*inputs) -> Tensor or tuple of Tensors
    grad: bool = True         # record gradients of floating inputs
    extra: dict = field(default_factory=dict)


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode())


def materialize(spec, gen: torch.Generator) -> torch.Tensor:
    if isinstance(spec, torch.Tensor):
        return spec.clone()
    if isinstance(spec, T):
        x = torch.rand(spec.shape, generator=gen, dtype=torch.float64)
        return (spec.low + (spec.high - spec.low) * x).to(spec.dtype)
    if isinstance(spec, I):
        if spec.dtype == torch.bool:
            return torch.randint(0, 2, spec.shape, generator=gen).bool()
        return torch.randint(spec.low, spec.high, spec.shape, generator=gen).to(spec.dtype)
    raise TypeError(f"unknown input spec {spec!r}")
