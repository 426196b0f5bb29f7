"""`${...}` expressions in specs: exact arithmetic on variables, nothing else.

An expression is parsed with Python's `ast`, its tree compiled once into nested closures (the checks of
each node chosen when it is compiled, not at every evaluation) and evaluated by calling them, allowing only
numbers, strings, booleans, variable names, arithmetic (+ − * / // % **), comparisons,
`and`/`or`/`not`, `a if cond else b` and a few functions. No attribute access, indexing,
calls of anything else, or evaluation of code: a spec cannot run anything.

Numbers are exact: integers, and fractions where a division or a decimal leaves one (`0.75` is
3/4, not the nearest binary float), so `${w * 1.0}` is `w` for any integer `w`. A whole result
that is an integer is a Python int; a fraction becomes the nearest float only at the very end
(for arguments such as `p` or `eps`). The work one expression can ask for is bounded before it is
done: its length, its nesting, the magnitude of every number (operands of `**` and `round`
included) and the length of every string it makes (`Limits`).
"""

from __future__ import annotations

import ast
import math
import operator
import re
import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Iterator, Mapping, NamedTuple

from .limits import DEFAULT_LIMITS, Limits, flag
from .suggest import suggestion

MAX_EXPRESSION_LENGTH = DEFAULT_LIMITS.max_expression_length
MAX_MAGNITUDE = 2**DEFAULT_LIMITS.max_number_bits
WHOLE = re.compile(r"^\$\{(.*)\}$", re.DOTALL)
PART = re.compile(r"\$\{(.*?)\}")


class ExpressionError(Exception):
    pass


# The names expressions look up while `recording_reads()` is active: every variable (and block parameter,
# and `i`) an expression reads goes through its compiled name lookup, so this set is all an expansion depended on.
_reads: ContextVar[set[str] | None] = ContextVar("archcalc_expression_reads", default=None)


@contextmanager
def recording_reads() -> Iterator[set[str]]:
    """Within this block, the set yielded collects every name an expression looks up (known or not); a
    nested block collects its own names, which the outer set does not get."""
    names: set[str] = set()
    token = _reads.set(names)
    try:
        yield names
    finally:
        _reads.reset(token)


def make_divisible(value: Any, divisor: Any = 8, min_value: Any = None) -> int:
    """torchvision's `_make_divisible` (MobileNet, EfficientNet channel rounding), in exact arithmetic."""
    for argument in (value, divisor) + (() if min_value is None else (min_value,)):
        if not _is_number(argument):
            raise TypeError(f"expected numbers, got {argument!r}")
    if not isinstance(divisor, int) or divisor < 1:
        raise ValueError(f"the divisor must be a positive integer, got {_text(divisor)}")
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + Fraction(divisor, 2)) // divisor * divisor)
    return rounded + divisor if rounded < Fraction(9, 10) * value else rounded


def _round(value: Any, ndigits: Any = None) -> Any:
    if ndigits is not None and (not isinstance(ndigits, int) or isinstance(ndigits, bool) or abs(ndigits) > 256):
        raise ValueError(f"ndigits must be an integer between -256 and 256, got {_short(ndigits)}")
    return round(value) if ndigits is None else round(value, ndigits)


def _int(value: Any) -> int:
    if isinstance(value, str) and len(value.strip()) > 100:
        raise ValueError("a string of more than 100 characters is not read as a number")
    return int(value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{function.__name__: function for function in (min, max, abs)}, "int": _int, "round": _round,
    "floor": math.floor, "ceil": math.ceil,
    "str": lambda value: _text(value), "make_divisible": make_divisible,
}

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}


class _Evaluator:
    """One expression's evaluation, with the limits it must stay within."""

    __slots__ = ("scope", "limits", "reads", "magnitude")

    def __init__(self, scope: Mapping[str, Any], limits: Limits):
        self.scope, self.limits = scope, limits
        self.reads = _reads.get()
        self.magnitude = 1 << limits.max_number_bits

    def number(self, value: Any) -> Any:
        """A value as the evaluator computes with it: floats become the exact fraction they were written as."""
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ExpressionError(f"{value} is not a finite number")
            return _normal(Fraction(repr(value)))
        return self.checked(value)

    def checked(self, result: Any) -> Any:
        if isinstance(result, float):  # only floor/ceil/round of exact values could give one; none do
            return self.number(result)
        if type(result) is int:  # the common case, checked without building a Fraction
            if abs(result) >= self.magnitude:
                raise self.too_large()
            return result
        if isinstance(result, (int, Fraction)) and not isinstance(result, bool):
            fraction = Fraction(result)
            if abs(fraction.numerator) >= self.magnitude or fraction.denominator >= self.magnitude:
                raise self.too_large()
            return _normal(result)
        if isinstance(result, str) and len(result) > self.limits.max_string_length:
            raise ExpressionError(f"expression makes a string longer than the {self.limits.max_string_length:,}"
                                  f"-character limit ({flag('max_string_length')})")
        return result

    def too_large(self) -> ExpressionError:
        return ExpressionError(f"expression gives a number too large to be a size or a count (beyond"
                               f" 2**{self.limits.max_number_bits}, {flag('max_number_bits')})")

    def compare(self, node: ast.Compare) -> bool:
        left = self.value(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.value(comparator)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise ExpressionError(f"cannot compare {_short(left)} with {_short(right)}") from None
            left = right
        return True

    def binary(self, op: ast.operator, left: Any, right: Any) -> Any:
        if isinstance(op, ast.Add) and isinstance(left, str) and isinstance(right, str):
            return self.checked(left + right) if len(left) + len(right) <= self.limits.max_string_length \
                else self.checked(left + right[:self.limits.max_string_length + 1])
        if not (_is_number(left) and _is_number(right)):
            raise ExpressionError(f"cannot compute {_short(left)} {_SYMBOL[type(op)]} {_short(right)}: both sides"
                                  " must be numbers")
        if isinstance(op, ast.Pow):
            if not isinstance(right, int):
                raise ExpressionError(f"cannot compute {_text(left)} ** {_text(right)}: the exponent must be an"
                                      " integer (a fractional power is not exact)")
            if abs(right) > self.limits.max_number_bits:
                raise ExpressionError(f"exponent too large (beyond ±{self.limits.max_number_bits},"
                                      f" {flag('max_number_bits')})")
            left = Fraction(left) if right < 0 else left
        if isinstance(op, ast.Div):
            left = Fraction(left)   # exact: 1 / 3 is one third, not the float nearest it
        try:
            return self.checked(_BINARY[type(op)](left, right))
        except ZeroDivisionError:
            raise ExpressionError("division by zero") from None
        except OverflowError:
            raise ExpressionError("number too large") from None


Compiled = Callable[[_Evaluator], Any]
_NAMED_CONSTANTS = {"true": True, "false": False, "null": None}


def _compile(node: ast.AST) -> Compiled:
    """The node as a function of an evaluator (its scope, limits and read set). Which rule applies to a node
    is decided here, once; what a rule checks of its values is checked when it runs. A node no rule allows
    compiles to a function that raises, so an expression fails only when the node is evaluated (never for
    the branch `a if c else b` does not take)."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (int, float, str, bool))):
        constant = node.value
        return lambda evaluator: evaluator.number(constant)
    if isinstance(node, ast.Name):
        return _compile_name(node.id)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op, left, right = node.op, _compile(node.left), _compile(node.right)
        return lambda evaluator: evaluator.binary(op, left(evaluator), right(evaluator))
    if isinstance(node, ast.UnaryOp):
        return _compile_unary(node)
    if isinstance(node, ast.BoolOp):
        values, combine = [_compile(item) for item in node.values], all if isinstance(node.op, ast.And) else any
        return lambda evaluator: combine([value(evaluator) for value in values])
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        return _compile_compare(node)
    if isinstance(node, ast.IfExp):
        test, body, orelse = _compile(node.test), _compile(node.body), _compile(node.orelse)
        return lambda evaluator: body(evaluator) if test(evaluator) else orelse(evaluator)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS \
            and not node.keywords:
        return _compile_call(node.func.id, [_compile(argument) for argument in node.args])
    if isinstance(node, ast.Call):
        return _raising(f"only these functions can be called: {', '.join(sorted(FUNCTIONS))}")
    return _raising(_not_allowed(node))


def _compile_name(name: str) -> Compiled:
    def read(evaluator: _Evaluator) -> Any:
        if evaluator.reads is not None:
            evaluator.reads.add(name)
        if name in evaluator.scope:
            return evaluator.number(evaluator.scope[name])
        if name in _NAMED_CONSTANTS:
            return _NAMED_CONSTANTS[name]
        raise ExpressionError(f"unknown variable '{name}'" + _known(name, evaluator.scope))
    return read


def _compile_unary(node: ast.UnaryOp) -> Compiled:
    operand, op, refusal = _compile(node.operand), node.op, _not_allowed(node)

    def unary(evaluator: _Evaluator) -> Any:
        value = operand(evaluator)
        if isinstance(op, ast.Not):
            return not value
        if isinstance(op, (ast.USub, ast.UAdd)) and _is_number(value):
            return -value if isinstance(op, ast.USub) else +value
        raise ExpressionError(refusal)
    return unary


def _compile_compare(node: ast.Compare) -> Compiled:
    first = _compile(node.left)
    steps = [(_COMPARE[type(op)], _compile(comparator)) for op, comparator in zip(node.ops, node.comparators)]

    def compare(evaluator: _Evaluator) -> bool:
        left = first(evaluator)
        for test, comparator in steps:
            right = comparator(evaluator)
            try:
                if not test(left, right):
                    return False
            except TypeError:
                raise ExpressionError(f"cannot compare {_short(left)} with {_short(right)}") from None
            left = right
        return True
    return compare


def _compile_call(name: str, arguments: list[Compiled]) -> Compiled:
    def call(evaluator: _Evaluator) -> Any:
        values = [argument(evaluator) for argument in arguments]
        try:
            return evaluator.checked(FUNCTIONS[name](*values))
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as error:
            raise ExpressionError(f"{name}(): {error}") from None
    return call


def _raising(message: str) -> Compiled:
    def refuse(evaluator: _Evaluator) -> Any:
        raise ExpressionError(message)
    return refuse


def _not_allowed(node: ast.AST) -> str:
    return (f"'{_shown(node)}' is not allowed: expressions take numbers, variables, arithmetic, comparisons,"
            " 'and'/'or'/'not' and 'a if c else b'")


class _Expression(NamedTuple):
    """A compiled expression, the variables it may read, and whether its results are worth keeping."""

    run: Compiled
    names: tuple[str, ...]
    kept: bool   # more than a lone name or constant: looking its result up is cheaper than computing it


# (text, limits, the values and classes of the names it may read) → (its value, the names it read). A block's
# derived parameters (`${int(planes * (width_per_group / 64)) * groups}`) are computed again for every
# instance with the same values; a result is a function of those values alone. Failures are never kept.
_results: dict[tuple, tuple[Any, frozenset[str]]] = {}
MAX_RESULTS = 4096
MAX_KEPT_STRING = 200   # longer strings are not kept, so the results stay small (at most ~4 MB of texts)
_ABSENT = object()


def evaluate(text: str, scope: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS) -> Any:
    """The value of one expression (the text inside `${...}`): an int, a Fraction, a bool, a string or None."""
    if len(text) > limits.max_expression_length:
        raise ExpressionError(f"expression is longer than the {limits.max_expression_length:,}-character limit"
                              f" ({flag('max_expression_length')})")
    expression = _compiled(text, limits.max_depth)
    key = _result_key(text, expression, scope, limits) if expression.kept else None
    if key is not None and key in _results:
        value, read = _results[key]
        if _reads.get() is not None:
            _reads.get().update(read)
        return value
    evaluator = _Evaluator(scope, limits)
    outer, evaluator.reads = evaluator.reads, (set() if key is not None else evaluator.reads)
    try:
        value = expression.run(evaluator)
    except RecursionError:
        raise ExpressionError(f"expression nests more than {limits.max_depth} levels ({flag('max_depth')})") from None
    finally:
        if key is not None and outer is not None:
            outer.update(evaluator.reads)
    if key is not None and not (isinstance(value, str) and len(value) > MAX_KEPT_STRING):
        if len(_results) >= MAX_RESULTS:
            _results.clear()
        _results[key] = value, frozenset(evaluator.reads)
    return value


def _result_key(text: str, expression: _Expression, scope: Mapping[str, Any], limits: Limits) -> tuple | None:
    values = tuple([scope[name] if name in scope else _ABSENT for name in expression.names])
    if any([isinstance(value, str) and len(value) > MAX_KEPT_STRING for value in values]):
        return None
    key = (text, limits.max_number_bits, limits.max_string_length, values, tuple(map(type, values)))
    try:
        hash(key)
    except TypeError:   # a list or mapping variable
        return None
    return key


@lru_cache(maxsize=256)
def _compiled(text: str, max_depth: int) -> _Expression:
    """An expression's checked syntax tree, compiled. It depends on the text alone, never on the variables, so
    a spec that repeats an expression (every block instance, every point of a sweep) compiles it once; only
    successes are kept, and at most 256 of them (each at most `max_expression_length` characters)."""
    tree = _parsed(text, max_depth)
    try:
        run = _compile(tree)
    except RecursionError:
        raise ExpressionError(f"expression nests more than {max_depth} levels ({flag('max_depth')})") from None
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    names = sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in called})
    return _Expression(run, tuple(names), not isinstance(tree, (ast.Name, ast.Constant)))


def _parsed(text: str, max_depth: int) -> ast.expr:
    """An expression's checked syntax tree."""
    _check_normalised(text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"invalid expression '{text.strip()}': {error.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression nests more than {max_depth} levels ({flag('max_depth')})") from None
    if _depth(tree.body) > max_depth:
        raise ExpressionError(f"expression nests more than {max_depth} levels ({flag('max_depth')})")
    return tree.body


def _depth(root: ast.AST) -> int:
    """How deeply operators nest, counted without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                     if not isinstance(child, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)))
    return deepest


def _check_normalised(text: str) -> None:
    """Python's parser NFKC-normalises identifiers (`ｘ` reads `x`): refuse text it would change."""
    if not text.isascii() and unicodedata.normalize("NFKC", text) != text:
        changed = next(character for character in text if unicodedata.normalize("NFKC", character) != character)
        raise ExpressionError(f"expression contains {changed!r} (U+{ord(changed):04X}), which Python's parser reads"
                              f" as {unicodedata.normalize('NFKC', changed)!r}: write it plainly")


def _normal(number: Any) -> Any:
    return number.numerator if isinstance(number, Fraction) and number.denominator == 1 else number


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Fraction)) and not isinstance(value, bool)


def _short(value: Any) -> str:
    text = repr(_text(value)) if isinstance(value, str) else _text(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shown(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _known(name: str, scope: Mapping[str, Any]) -> str:
    close = suggestion(name, scope)
    return f" (did you mean '{close}'?)" if close else ""


def result(value: Any) -> Any:
    """An expression's value as the spec holds it: exact integers stay ints, other fractions become floats."""
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    return value


def substitute(raw: Any, scope: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS) -> Any:
    """A YAML value with its expressions evaluated: a whole `${...}` string becomes the value
    (number, boolean, string); `${...}` inside a longer string is replaced by its text."""
    if isinstance(raw, str) and "${" in raw:
        whole = _whole_expression(raw)
        if whole is not None:
            return result(evaluate(whole, scope, limits))
        pieces, size = [], 0
        for position, piece in enumerate(PART.split(raw)):
            text = _text(evaluate(piece, scope, limits)) if position % 2 else piece
            size += len(text)
            if size > limits.max_string_length:
                raise ExpressionError(f"the string made is longer than the {limits.max_string_length:,}-character"
                                      f" limit ({flag('max_string_length')})")
            pieces.append(text)
        return "".join(pieces)
    if isinstance(raw, list):
        return [substitute(item, scope, limits) for item in raw]
    return raw


def _whole_expression(raw: str) -> str | None:
    """The expression of a value that is one `${...}` and nothing else, else None."""
    return _short_whole_expression(raw) if len(raw) <= 200 else _match_whole_expression(raw)


def _match_whole_expression(raw: str) -> str | None:
    whole = WHOLE.match(raw)
    return whole.group(1) if whole and "${" not in whole.group(1) else None


# asked again for every block instance and sweep point; short values only, so what is kept stays small
_short_whole_expression = lru_cache(maxsize=1024)(_match_whole_expression)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else repr(float(value))
    return str(value)


def has_expression(raw: Any) -> bool:
    if isinstance(raw, str):
        return "${" in raw
    if isinstance(raw, list):
        return any(has_expression(item) for item in raw)
    if isinstance(raw, dict):
        return any(has_expression(item) for item in raw.values())
    return False


__all__ = ["ExpressionError", "FUNCTIONS", "evaluate", "has_expression", "make_divisible", "recording_reads", "result",
           "substitute"]
