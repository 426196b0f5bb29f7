"""Formula expressions render the general formula, the substituted one, and keep the exact value."""

import pytest

from archcalc.formula import LATEX, TEXT, ceil_div, exact_div, maximum, minimum, product, symbolic
from archcalc.layers.conv import sliding_output
from archcalc.layers.pool import pooled_ceil


def test_conv_output_size_reads_like_the_textbook():
    size = sliding_output(symbolic("H_in", 28), symbolic("K_h", 5), symbolic("S_h", 1), symbolic("P_h", 0),
                          symbolic("D_h", 1))
    assert size.render(TEXT) == "⌊(H_in + 2·P_h − D_h·(K_h − 1) − 1) / S_h⌋ + 1"
    assert size.render(TEXT, substitute=True) == "⌊(28 + 2·0 − 1·(5 − 1) − 1) / 1⌋ + 1"
    assert size.value == 24
    assert size.render(LATEX) == ("\\left\\lfloor \\frac{H_{\\mathrm{in}} + 2 \\cdot P_{\\mathrm{h}} - D_{\\mathrm{h}}"
                                  " \\cdot \\left(K_{\\mathrm{h}} - 1\\right) - 1}{S_{\\mathrm{h}}} \\right\\rfloor + 1")


def test_the_same_rule_on_plain_ints_gives_plain_ints():
    assert sliding_output(28, 5, 1, 0, 1) == 24
    assert pooled_ceil(5, 2, 2, 1, 1) == 3  # naive ceil gives 4; PyTorch drops the window starting in padding


def test_ceil_mode_formula():
    size = pooled_ceil(symbolic("H_in", 5), symbolic("K_h", 2), symbolic("S_h", 2), symbolic("P_h", 1),
                       symbolic("D_h", 1))
    assert size.render() == "min(⌈(H_in + 2·P_h − D_h·(K_h − 1) − 1) / S_h⌉ + 1, ⌈(H_in + P_h) / S_h⌉)"
    assert size.render(substitute=True) == "min(⌈(5 + 2·1 − 1·(2 − 1) − 1) / 2⌉ + 1, ⌈(5 + 1) / 2⌉)"
    assert size.value == 3


@pytest.mark.parametrize("build, text, value", [
    (lambda a, b, c: a - (b - c), "a − (b − c)", 7 - (3 - 2)),
    (lambda a, b, c: a - b - c, "a − b − c", 7 - 3 - 2),
    (lambda a, b, c: (a + b) * c, "(a + b)·c", (7 + 3) * 2),
    (lambda a, b, c: a * (b * c), "a·b·c", 42),
    (lambda a, b, c: exact_div(a * b, c) + 1, "a·b/c + 1", 7 * 3 // 2 + 1),
    (lambda a, b, c: ceil_div(a, b + c), "⌈a / (b + c)⌉", 2),
    (lambda a, b, c: maximum(a, b) * minimum(b, c), "max(a, b)·min(b, c)", 14),
    (lambda a, b, c: product([a, b, c]), "a·b·c", 42),
], ids=["minus-group", "minus-chain", "sum-times", "product", "exact-division", "ceil", "max-min", "product-list"])
def test_parentheses_only_where_needed(build, text, value):
    expression = build(symbolic("a", 7), symbolic("b", 3), symbolic("c", 2))
    assert (expression.render(), expression.value) == (text, value)
