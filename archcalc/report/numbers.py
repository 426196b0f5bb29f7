"""How numbers and shapes are written for people."""

from __future__ import annotations

from typing import Sequence

from ..numbers import fixed

_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def grouped(number: int) -> str:
    """12,345,678"""
    return f"{number:,}"


def readable(number: int) -> str:
    """4.09 G, 25.56 M, 980 — the short form beside exact totals."""
    for scale, unit in _UNITS:
        if abs(number) >= scale:
            return f"{fixed(number, scale)} {unit}"
    return str(number)


def shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(size) for size in shape) + "]"


def megabytes(size: int) -> str:
    """torchsummary's MB: 2**20 bytes, two decimals (exact at any size)."""
    return fixed(size, 2**20)


__all__ = ["grouped", "megabytes", "readable", "shape_text"]
