"""The grid of a sweep: each variable's values, and the points (one value of each) in a fixed order.

    width=32,48,64,96          a comma list; each item is read as `--set` reads a value (a YAML scalar)
    depth=2..8                 an inclusive integer range: 2, 3, …, 8
    resolution=160..320:32     with a step: 160, 192, …, 320 (the end is kept only when the step reaches it)
    kernel=3,5..9:2            lists and ranges mix: 3, 5, 7, 9
    activation=relu            one value: `--set x=5` still works

Values repeated in one list are kept once, in first-seen order. The number of points is the product of
the lists' lengths, computed before any point is made: a range of a trillion values is refused by
arithmetic, with the limit named (`--max-points`), never by running out of memory.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any, Iterable, Iterator, Mapping

MAX_POINTS = 10_000
MAX_VALUE_DIGITS = 100   # an integer in a range: more digits than this is a mistake, not a design
_RANGE = re.compile(r"^\s*([+-]?\d+)\s*\.\.\s*([+-]?\d+)\s*(?::\s*([+-]?\d+)\s*)?$")


class GridError(ValueError):
    """A grid that cannot be swept: a malformed list or range, an empty one, or too many points."""


def scalar(raw: str) -> Any:
    """A value as `--set NAME=VALUE` reads it: a YAML scalar (int, float, bool), else the text itself."""
    import yaml

    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return raw if value is None or isinstance(value, (list, dict)) else value


def _integer(text: str, item: str) -> int:
    if len(text.lstrip("+-")) > MAX_VALUE_DIGITS:
        raise GridError(f"{item!r}: a range bound of more than {MAX_VALUE_DIGITS} digits")
    return int(text)


def range_length(start: int, stop: int, step: int) -> int:
    """How many values start, start + step, … ≤ stop there are (stop ≥ start, step ≥ 1)."""
    return (stop - start) // step + 1


def parse_values(text: str, max_points: int = MAX_POINTS) -> list[Any]:
    """`32,48,64` / `2..8` / `160..320:32` / `5` → the values, at most `max_points` of them."""
    if not isinstance(text, str):
        raise GridError(f"expected text such as 32,64 or 2..8, got {type(text).__name__}")
    values: list[Any] = []
    seen: set[Any] = set()
    for item in text.split(","):
        if not item.strip():
            raise GridError(f"{text!r}: an empty item (two commas, or a comma at an end)")
        match = _RANGE.match(item)
        if match:
            start, stop = _integer(match.group(1), item), _integer(match.group(2), item)
            step = _integer(match.group(3), item) if match.group(3) is not None else 1
            if step < 1:
                raise GridError(f"{item.strip()!r}: the step must be a positive integer, got {step}")
            if stop < start:
                raise GridError(f"{item.strip()!r}: an empty range (the end is below the start; write"
                                f" {stop}..{start})")
            if len(values) + range_length(start, stop, step) > max_points:
                raise GridError(f"{item.strip()!r} makes {range_length(start, stop, step):,} values, more than the"
                                f" {max_points:,}-point limit (--max-points)")
            items: Iterable[Any] = range(start, stop + 1, step)
        elif ".." in item:
            raise GridError(f"{item.strip()!r}: a range is START..END or START..END:STEP, with integers")
        else:
            value = scalar(item.strip())
            if isinstance(value, float) and not math.isfinite(value):   # JSON and CSV could not write it back
                raise GridError(f"{item.strip()!r}: {value} is not a number a spec can use")
            items = (value,)
        for value in items:
            key = (type(value), value)   # 1, 1.0 and true are different values of a variable
            if key not in seen:
                seen.add(key)
                values.append(value)
                if len(values) > max_points:
                    raise GridError(f"{len(values):,} values, more than the {max_points:,}-point limit (--max-points)")
    return values


def grid_size(grid: Mapping[str, list[Any]]) -> int:
    size = 1
    for values in grid.values():
        size *= len(values)
    return size


def check_size(grid: Mapping[str, list[Any]], max_points: int = MAX_POINTS) -> int:
    """The number of points, or GridError when it is above the limit (a product of lengths: nothing is made)."""
    size = grid_size(grid)
    if size > max_points:
        counts = " × ".join(f"{len(values):,} {name}" for name, values in grid.items())
        raise GridError(f"the grid has {size:,} points ({counts}), more than the {max_points:,}-point limit"
                        " (--max-points)")
    return size


def as_grid(grid: Mapping[str, Any], max_points: int = MAX_POINTS) -> dict[str, list[Any]]:
    """A grid from Python: each variable's values as a list, another iterable, one value, or grid text
    (`"160..320:32"`). Strings are read as the command line reads them; anything else is taken as it is."""
    if not isinstance(grid, Mapping):
        raise GridError(f"expected a mapping of variable names to values, got {type(grid).__name__}")
    result: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise GridError(f"variable name {name!r} must be a plain name (letters, digits, _)")
        if isinstance(values, str):
            result[name] = parse_values(values, max_points)
        elif isinstance(values, (list, tuple, range)):
            if len(values) > max_points:
                raise GridError(f"{name}: {len(values):,} values, more than the {max_points:,}-point limit")
            result[name] = list(values)
        elif isinstance(values, (bool, int, float)):
            result[name] = [values]
        else:
            raise GridError(f"{name}: expected a list of values, a value or grid text such as '2..8', got"
                            f" {type(values).__name__}")
        if not result[name]:
            raise GridError(f"{name}: no values")
    check_size(result, max_points)
    return result


def points(grid: Mapping[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """Every combination, the last variable changing fastest (as nested loops written in the grid's order)."""
    names = list(grid)
    for values in itertools.product(*(grid[name] for name in names)):
        yield dict(zip(names, values))


__all__ = ["GridError", "MAX_POINTS", "as_grid", "check_size", "grid_size", "parse_values", "points", "range_length",
           "scalar"]
