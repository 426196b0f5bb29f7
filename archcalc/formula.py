"""Formulas that compute and explain themselves.

Each layer writes its shape, parameter and MAC rules once, as ordinary Python arithmetic on
the numbers it receives. The propagator calls a rule with plain ints (fast, exact integers);
`explain` calls the very same rule with `Symbol`s, which build an expression tree that renders
the general formula, the formula with this layer's numbers substituted, and the value. One
definition serves both, so the explanation cannot drift from the computation.
"""

from __future__ import annotations

from typing import Callable, Iterable, NamedTuple, Union

Number = Union[int, "Expr"]

# Operator precedence for parenthesization when rendering.
_SUM, _PRODUCT, _ATOM = 1, 2, 3


class Style(NamedTuple):
    """How an expression tree is written out (plain Unicode text or LaTeX)."""

    times: str
    minus: str
    floor: tuple[str, str]
    ceil: tuple[str, str]
    fraction: Callable[[str, str], str]
    function: Callable[[str, list[str]], str]
    symbol: Callable[[str], str]


def _text_symbol(name: str) -> str:
    return name


def _latex_symbol(name: str) -> str:
    base, _, sub = name.partition("_")
    return f"{base}_{{\\mathrm{{{sub}}}}}" if sub else base


TEXT = Style(
    times="·", minus="−", floor=("⌊", "⌋"), ceil=("⌈", "⌉"),
    fraction=lambda top, bottom: f"{top} / {bottom}",
    function=lambda name, args: f"{name}({', '.join(args)})",
    symbol=_text_symbol,
)
LATEX = Style(
    times=" \\cdot ", minus="-", floor=("\\left\\lfloor ", " \\right\\rfloor"), ceil=("\\left\\lceil ", " \\right\\rceil"),
    fraction=lambda top, bottom: f"\\frac{{{top}}}{{{bottom}}}",
    function=lambda name, args: f"\\{name}\\left({', '.join(args)}\\right)",
    symbol=_latex_symbol,
)


class Expr:
    """A node of a formula; `value` is always the exact integer result."""

    value: int
    precedence: int = _ATOM

    def render(self, style: Style = TEXT, substitute: bool = False) -> str:
        raise NotImplementedError

    def __add__(self, other: Number) -> Expr:
        return Binary("+", self, wrap(other))

    def __radd__(self, other: Number) -> Expr:
        return Binary("+", wrap(other), self)

    def __sub__(self, other: Number) -> Expr:
        return Binary("-", self, wrap(other))

    def __rsub__(self, other: Number) -> Expr:
        return Binary("-", wrap(other), self)

    def __mul__(self, other: Number) -> Expr:
        return Binary("*", self, wrap(other))

    def __rmul__(self, other: Number) -> Expr:
        return Binary("*", wrap(other), self)

    def __floordiv__(self, other: Number) -> Expr:
        return Division("floor", self, wrap(other))

    def __rfloordiv__(self, other: Number) -> Expr:
        return Division("floor", wrap(other), self)

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.render()} = {self.value})"


# The nodes are plain classes: the explanation builds them, and every run imports this module, where a
# dataclass costs several times a plain class to define (valgrind: 2.1 M instructions against 0.2 M).
class Symbol(Expr):
    """A named quantity with its value: `K_h` = 5."""

    def __init__(self, name: str, value: int):
        self.name, self.value = name, value

    def render(self, style: Style = TEXT, substitute: bool = False) -> str:
        return str(self.value) if substitute else style.symbol(self.name)


class Constant(Expr):
    def __init__(self, value: int):
        self.value = value

    def render(self, style: Style = TEXT, substitute: bool = False) -> str:
        return str(self.value)


class Binary(Expr):
    def __init__(self, operator: str, left: Expr, right: Expr):
        self.operator, self.left, self.right = operator, left, right
        a, b = left.value, right.value
        self.value = a + b if self.operator == "+" else a - b if self.operator == "-" else a * b
        self.precedence = _PRODUCT if self.operator == "*" else _SUM

    def render(self, style: Style = TEXT, substitute: bool = False) -> str:
        # A long chain (a + b + c + ..., e.g. a concat of 500 inputs) nests on the left: walk down it in a loop,
        # not by recursion. A left operand that binds at least as tightly needs no parentheses.
        chain: list[Binary] = [self]
        while isinstance(chain[-1].left, Binary) and chain[-1].left.precedence >= chain[-1].precedence:
            chain.append(chain[-1].left)
        text = _operand(chain[-1].left, chain[-1].precedence, style, substitute)
        for node in reversed(chain):
            # a − (b + c) and a·(b·c) need no extra care; a − (b − c) does: right operands of − bind tighter.
            right = _operand(node.right, node.precedence + (node.operator == "-"), style, substitute)
            if node.operator == "*":
                text = f"{text}{style.times}{right}"
            else:
                text = f"{text} {'+' if node.operator == '+' else style.minus} {right}"
        return text


class Division(Expr):
    """⌊a / b⌋, ⌈a / b⌉ or an exact quotient a/b (divisibility checked beforehand)."""

    def __init__(self, rounding: str, top: Expr, bottom: Expr):
        self.rounding, self.top, self.bottom = rounding, top, bottom   # rounding: "floor", "ceil" or "exact"
        a, b = top.value, bottom.value
        self.value = -(-a // b) if self.rounding == "ceil" else a // b
        self.precedence = _PRODUCT if self.rounding == "exact" else _ATOM

    def render(self, style: Style = TEXT, substitute: bool = False) -> str:
        if self.rounding == "exact":
            top = _operand(self.top, _PRODUCT, style, substitute)
            return f"{top}/{_operand(self.bottom, _ATOM, style, substitute)}"
        top = self.top.render(style, substitute)
        bottom = _operand(self.bottom, _ATOM, style, substitute)
        if style is TEXT:
            top = f"({top})" if self.top.precedence < _ATOM else top
        opening, closing = style.floor if self.rounding == "floor" else style.ceil
        return f"{opening}{style.fraction(top, bottom)}{closing}"


class Call(Expr):
    def __init__(self, function: str, arguments: tuple[Expr, ...]):
        self.function, self.arguments = function, arguments
        values = [argument.value for argument in arguments]
        self.value = max(values) if self.function == "max" else min(values)

    def render(self, style: Style = TEXT, substitute: bool = False) -> str:
        return style.function(self.function, [a.render(style, substitute) for a in self.arguments])


def _operand(node: Expr, minimum: int, style: Style, substitute: bool) -> str:
    text = node.render(style, substitute)
    if node.precedence < minimum:
        return f"\\left({text}\\right)" if style is LATEX else f"({text})"
    return text


def wrap(number: Number) -> Expr:
    return number if isinstance(number, Expr) else Constant(number)


def value(number: Number) -> int:
    return number.value if isinstance(number, Expr) else number


# Helpers that work on plain ints and on expressions alike.

def ceil_div(top: Number, bottom: Number) -> Number:
    if isinstance(top, int) and isinstance(bottom, int):
        return -(-top // bottom)
    return Division("ceil", wrap(top), wrap(bottom))


def exact_div(top: Number, bottom: Number) -> Number:
    """top / bottom where the caller has checked that bottom divides top."""
    if isinstance(top, int) and isinstance(bottom, int):
        return top // bottom
    return Division("exact", wrap(top), wrap(bottom))


def maximum(*numbers: Number) -> Number:
    if all(isinstance(n, int) for n in numbers):
        return max(numbers)
    return Call("max", tuple(wrap(n) for n in numbers))


def minimum(*numbers: Number) -> Number:
    if all(isinstance(n, int) for n in numbers):
        return min(numbers)
    return Call("min", tuple(wrap(n) for n in numbers))


def product(numbers: Iterable[Number]) -> Number:
    numbers = list(numbers)
    if not numbers:
        return 1
    result = numbers[0]
    for number in numbers[1:]:
        result = result * number
    return result


def plain(name: str, number: int) -> int:
    """The fast binding: a named quantity is just its value."""
    return number


def symbolic(name: str, number: int) -> Symbol:
    """The explaining binding: a named quantity keeps its name."""
    return Symbol(name, number)


Bind = Callable[[str, int], Number]

__all__ = [
    "Bind", "Expr", "LATEX", "Number", "Style", "Symbol", "TEXT", "ceil_div", "exact_div", "maximum",
    "minimum", "plain", "product", "symbolic", "value", "wrap",
]
