"""Decimal text of ratios printed with a fixed number of decimals (MB, GiB, 4.09 G), that never overflows.

`fixed(numerator, denominator, places)` is `f"{numerator / denominator:.{places}f}"` — the very same
float operation, so the text is byte-identical — wherever that float exists; beyond float's range
(about 1.8e308, reached with an enormous batch size or a chain of huge strides) it is the exactly
rounded decimal (round half to even, as float formatting rounds), computed with integers only.
"""

from __future__ import annotations

from fractions import Fraction


def _exact(value: Fraction, places: int) -> str:
    whole = round(value * 10**places)  # Fraction rounds half to even
    sign = "-" if whole < 0 else ""
    digits = str(abs(whole)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def fixed(numerator: int | Fraction, denominator: int | float = 1, places: int = 2) -> str:
    """numerator / denominator with `places` decimals."""
    try:
        return f"{numerator / denominator:.{places}f}"
    except OverflowError:
        return _exact(Fraction(numerator) / Fraction(denominator), places)


def general(value: Fraction | int) -> str:
    """`f"{float(value):g}"`; beyond float's range the exact value (here integers or halves: receptive-field
    centres) as an integer, `N.5` or a fraction."""
    value = Fraction(value)
    try:
        return f"{float(value):g}"
    except OverflowError:
        if value.denominator == 1:
            return str(value.numerator)
        if value.denominator == 2:
            return _exact(value, 1)
        return f"{value.numerator}/{value.denominator}"


def json_number(value: Fraction | int) -> int | float | str:
    """A number for JSON: the float; beyond float's range the exact integer, or the exact decimal as text."""
    value = Fraction(value)
    try:
        return float(value)
    except OverflowError:
        return value.numerator if value.denominator == 1 else general(value)


__all__ = ["fixed", "general", "json_number"]
