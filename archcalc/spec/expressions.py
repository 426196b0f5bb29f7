"""`${...}` expressions in specs: arithmetic on variables, nothing else.

An expression is parsed with Python's `ast` and evaluated by walking the tree, allowing only
numbers, strings, booleans, variable names, arithmetic (+ − * / // % **), comparisons,
`and`/`or`/`not`, `a if cond else b` and a few functions. No attribute access, indexing,
calls of anything else, or evaluation of code: a spec cannot run anything.
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
from typing import Any, Callable, Mapping

MAX_EXPRESSION_LENGTH = 1_000
MAX_MAGNITUDE = 2**256  # far beyond any real size; bounds the work a hostile spec can ask for
WHOLE = re.compile(r"^\$\{(.*)\}$", re.DOTALL)
PART = re.compile(r"\$\{(.*?)\}")


class ExpressionError(Exception):
    pass


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's `_make_divisible` (MobileNet, EfficientNet channel rounding)."""
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{function.__name__: function for function in (min, max, abs, int, round)}, "floor": math.floor, "ceil": math.ceil,
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


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """The value of one expression (the text inside `${...}`)."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"invalid expression '{text.strip()}': {error.msg}") from None
    return _check_size(_value(tree.body, scope))


def _check_size(result: Any) -> Any:
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        if isinstance(result, float) and not math.isfinite(result):
            raise ExpressionError(f"expression gives {result}, not a finite number")
        if abs(result) > MAX_MAGNITUDE:
            raise ExpressionError("expression gives a number too large to be a size or a count")
    return result


def _value(node: ast.AST, scope: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (int, float, str, bool))):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        if node.id in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[node.id]
        raise ExpressionError(f"unknown variable '{node.id}'" + _known(node.id, scope))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, scope), _value(node.right, scope)
        return _binary(node.op, left, right)
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, scope)
        if isinstance(node.op, ast.Not):
            return not operand
        if isinstance(node.op, (ast.USub, ast.UAdd)) and _is_number(operand):
            return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BoolOp):
        values = [_value(item, scope) for item in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left = _value(node.left, scope)
        for op, comparator in zip(node.ops, node.comparators):
            right = _value(comparator, scope)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise ExpressionError(f"cannot compare {left!r} with {right!r}") from None
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _value(node.body, scope) if _value(node.test, scope) else _value(node.orelse, scope)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS \
            and not node.keywords:
        arguments = [_value(argument, scope) for argument in node.args]
        try:
            return FUNCTIONS[node.func.id](*arguments)
        except (TypeError, ValueError, OverflowError) as error:
            raise ExpressionError(f"{node.func.id}(): {error}") from None
    if isinstance(node, ast.Call):
        raise ExpressionError(f"only these functions can be called: {', '.join(sorted(FUNCTIONS))}")
    raise ExpressionError(f"'{ast.unparse(node)}' is not allowed: expressions take numbers, variables,"
                          " arithmetic, comparisons, 'and'/'or'/'not' and 'a if c else b'")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _binary(op: ast.operator, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Add) and isinstance(left, str) and isinstance(right, str):
        return left + right
    if not (_is_number(left) and _is_number(right)):
        raise ExpressionError(f"cannot compute {left!r} {_SYMBOL[type(op)]} {right!r}: both sides must be numbers")
    if isinstance(op, ast.Pow) and (abs(right) > 256 or abs(left) > MAX_MAGNITUDE):
        raise ExpressionError("exponent too large")
    try:
        return _check_size(_BINARY[type(op)](left, right))
    except ZeroDivisionError:
        raise ExpressionError("division by zero") from None
    except OverflowError:
        raise ExpressionError("number too large") from None


def _known(name: str, scope: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(scope), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def substitute(raw: Any, scope: Mapping[str, Any]) -> Any:
    """A YAML value with its expressions evaluated: a whole `${...}` string becomes the value
    (number, boolean, string); `${...}` inside a longer string is replaced by its text."""
    if isinstance(raw, str) and "${" in raw:
        whole = WHOLE.match(raw)
        if whole and "${" not in whole.group(1):
            result = evaluate(whole.group(1), scope)
            # 0.5 * 64 is meant as the size 32, not 32.0
            return int(result) if isinstance(result, float) and result.is_integer() else result
        return PART.sub(lambda part: _text(evaluate(part.group(1), scope)), raw)
    if isinstance(raw, list):
        return [substitute(item, scope) for item in raw]
    return raw


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def has_expression(raw: Any) -> bool:
    if isinstance(raw, str):
        return "${" in raw
    if isinstance(raw, list):
        return any(has_expression(item) for item in raw)
    if isinstance(raw, dict):
        return any(has_expression(item) for item in raw.values())
    return False


__all__ = ["ExpressionError", "FUNCTIONS", "evaluate", "has_expression", "make_divisible", "substitute"]
