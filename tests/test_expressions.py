"""`${...}` arithmetic is exact (archcalc/spec/expressions.py): a division leaves a fraction, never the float
nearest it, so an expression that comes back to an integer gives that integer, however large."""

import pytest

from archcalc.spec.expressions import ExpressionError, evaluate, result

W = 10**18 + 1   # beyond the integers a float holds exactly (2**53)


@pytest.mark.parametrize("text, variables, expected", [
    ("1 / 3 * 3", {}, 1),
    ("int(3 * (1 / 3))", {}, 1),
    ("(10**20 + 1) / 1", {}, 10**20 + 1),
    ("w / 3 * 3", {"w": W}, W),
    ("w / w", {"w": W}, 1),
    ("int(planes * (width_per_group / 64)) * groups", {"planes": 64, "width_per_group": 4, "groups": 32}, 128),
    ("7 / 2", {}, 3.5),              # a fraction that stays one becomes the nearest float at the very end
    ("w * 1.0", {"w": W}, W),        # 1.0 is read as the exact 1
    ("0.75 * 4", {}, 3),
    ("w // 3", {"w": W}, W // 3),
    ("2 ** -1 * 4", {}, 2),
])
def test_arithmetic_is_exact(text, variables, expected):
    value = result(evaluate(text, variables))
    assert value == expected and type(value) is type(expected)


def test_division_by_zero_is_an_expression_error():
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate("1 / 0", {})
