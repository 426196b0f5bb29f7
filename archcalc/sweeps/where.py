"""`--where`: a condition on a sweep's rows, read by a small parser of its own (never `eval`).

    params <= 20M and macs <= 5G
    (training_memory < 24GiB or fit_batch >= 64) and not width == 96
    stem == 'deep'

Grammar (`or` binds loosest; keywords in any case):

    condition  := conjunct ("or" conjunct)*
    conjunct   := negation ("and" negation)*
    negation   := "not" negation | "(" condition ")" | comparison
    comparison := operand ("<" | "<=" | ">" | ">=" | "==" | "=" | "!=") operand
    operand    := NAME | NUMBER [UNIT] | 'text' | "text" | true | false

Numbers are exact (decimals become fractions, never floats): `25.6M` is 25,600,000. Units: K M G T
(10³ … 10¹², `k` too), KB MB GB TB (10³ … 10¹² bytes), KiB MiB GiB TiB (2¹⁰ … 2⁴⁰ bytes). A bare `B`
is refused: it means a billion to some (`7B` parameters) and a byte to others.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping

MAX_LENGTH = 1_000   # characters of a condition
MAX_DEPTH = 50       # nesting of parentheses and `not`

UNITS = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
         "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt, "=": operator.eq,
}
KEYWORDS = {"and", "or", "not", "true", "false"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)(?P<unit>[A-Za-z]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<text>'[^']*'|"[^"]*")
  | (?P<op><=|>=|==|!=|<|>|=)
  | (?P<paren>[()])
""", re.VERBOSE)


class WhereError(ValueError):
    """A condition that cannot be read or evaluated; says where (1-based column) and why."""


@dataclass(frozen=True)
class _Token:
    kind: str     # number, name, keyword, text, op, paren, end
    value: Any
    column: int   # 1-based


def _number(digits: str, unit: str, column: int) -> Fraction:
    if unit == "B":
        raise WhereError(f"column {column}: '{digits}B' is ambiguous (a billion or bytes?): write {digits}G for"
                         f" 10^9, or {digits} for bytes")
    if unit not in UNITS:
        raise WhereError(f"column {column}: unknown unit {unit!r} in '{digits}{unit}'; use one of"
                         f" {', '.join(unit for unit in UNITS if unit)}")
    return Fraction(digits) * UNITS[unit]


def tokens(text: str) -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise WhereError(f"the condition has {len(text):,} characters, more than {MAX_LENGTH:,}")
    found, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise WhereError(f"column {position + 1}: unexpected {text[position]!r}")
        column = position + 1
        kind = match.lastgroup if match.lastgroup != "unit" else "number"
        if match.group("number") is not None:
            found.append(_Token("number", _number(match.group("number"), match.group("unit"), column), column))
        elif kind == "name":
            word = match.group("name")
            if word.lower() in KEYWORDS:
                found.append(_Token("keyword", word.lower(), column))
            else:
                found.append(_Token("name", word, column))
        elif kind == "text":
            found.append(_Token("text", match.group("text")[1:-1], column))
        elif kind in ("op", "paren"):
            found.append(_Token(kind, match.group(kind), column))
        position = match.end()
    found.append(_Token("end", None, len(text) + 1))
    return found


# The parsed condition: a tree of tuples, evaluated against a row's values by name.
#   ("or", [nodes]) · ("and", [nodes]) · ("not", node) · ("compare", op, left, right, column)
#   operands: ("name", NAME) · ("value", VALUE)


class _Parser:
    def __init__(self, text: str, names: Iterable[str]):
        self.tokens, self.index, self.depth = tokens(text), 0, 0
        self.names = set(names)

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_keyword(self, word: str) -> bool:
        return self.current.kind == "keyword" and self.current.value == word

    def condition(self) -> tuple:
        parts = [self.conjunct()]
        while self.is_keyword("or"):
            self.advance()
            parts.append(self.conjunct())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def conjunct(self) -> tuple:
        parts = [self.negation()]
        while self.is_keyword("and"):
            self.advance()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def negation(self) -> tuple:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise WhereError(f"column {self.current.column}: nested more than {MAX_DEPTH} levels deep")
        if self.is_keyword("not"):
            self.advance()
            node: tuple = ("not", self.negation())
        elif self.current.kind == "paren" and self.current.value == "(":
            self.advance()
            node = self.condition()
            if not (self.current.kind == "paren" and self.current.value == ")"):
                raise WhereError(f"column {self.current.column}: expected ')'{self._got()}")
            self.advance()
        else:
            node = self.comparison()
        self.depth -= 1
        return node

    def comparison(self) -> tuple:
        left = self.operand()
        if self.current.kind != "op":
            raise WhereError(f"column {self.current.column}: expected a comparison (<, <=, >, >=, ==, !=){self._got()}")
        op = self.advance()
        right = self.operand()
        if left[0] == "value" and right[0] == "value":
            raise WhereError(f"column {op.column}: compares two constants; name a column (params, macs, a variable)")
        return ("compare", op.value, left, right, op.column)

    def operand(self) -> tuple:
        token = self.advance()
        if token.kind == "name":
            if token.value not in self.names:
                from ..spec.suggest import suggestion

                close = suggestion(token.value, sorted(self.names))
                hint = f" (did you mean {close!r}?)" if close else ""
                raise WhereError(f"column {token.column}: unknown name {token.value!r}{hint}; the names are"
                                 f" {', '.join(sorted(self.names))}")
            return ("name", token.value)
        if token.kind in ("number", "text"):
            return ("value", token.value)
        if token.kind == "keyword" and token.value in ("true", "false"):
            return ("value", token.value == "true")
        self.index -= 1
        raise WhereError(f"column {token.column}: expected a name or a value{self._got()}")

    def _got(self) -> str:
        token = self.current
        return ", got the end" if token.kind == "end" else f", got {str(token.value)!r}"


@dataclass(frozen=True)
class Condition:
    """A parsed `--where`; `matches(values)` evaluates it against one row's values by name."""

    text: str
    tree: tuple

    def names(self) -> set[str]:
        found: set[str] = set()

        def visit(node: tuple) -> None:
            if node[0] in ("or", "and"):
                for part in node[1]:
                    visit(part)
            elif node[0] == "not":
                visit(node[1])
            else:
                found.update(side[1] for side in node[2:4] if side[0] == "name")

        visit(self.tree)
        return found

    def matches(self, values: Mapping[str, Any]) -> bool:
        return _evaluate(self.tree, values)


def _evaluate(node: tuple, values: Mapping[str, Any]) -> bool:
    kind = node[0]
    if kind == "or":
        return any(_evaluate(part, values) for part in node[1])
    if kind == "and":
        return all(_evaluate(part, values) for part in node[1])
    if kind == "not":
        return not _evaluate(node[1], values)
    _, op, left, right, column = node
    a, b = (values[side[1]] if side[0] == "name" else side[1] for side in (left, right))
    numeric = [isinstance(side, (int, float, Fraction)) and not isinstance(side, bool) for side in (a, b)]
    if numeric[0] != numeric[1] or (not numeric[0] and type(a) is not type(b)):
        if op in ("==", "=", "!="):
            return op == "!="   # a number is never equal to a text
        raise WhereError(f"column {column}: cannot order {_kind(a)} and {_kind(b)}")
    if not numeric[0] and op not in ("==", "=", "!="):
        raise WhereError(f"column {column}: {_kind(a)} and {_kind(b)} can only be compared with == and !=")
    return COMPARISONS[op](a, b)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float, Fraction)):
        return f"a number ({value})"
    return f"a text ({value!r})"


def parse_condition(text: str, names: Iterable[str]) -> Condition:
    """Read a condition whose names must be among `names`; WhereError (with the column) otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise WhereError("an empty condition; write e.g. 'params <= 20M and macs <= 5G'")
    parser = _Parser(text, names)
    tree = parser.condition()
    if parser.current.kind != "end":
        raise WhereError(f"column {parser.current.column}: expected 'and', 'or' or the end{parser._got()}")
    return Condition(text, tree)


__all__ = ["COMPARISONS", "Condition", "MAX_DEPTH", "MAX_LENGTH", "UNITS", "WhereError", "parse_condition", "tokens"]
