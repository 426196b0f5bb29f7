"""An SVG scatter plot of a sweep: one point per valid row at (x, y), the Pareto front of the two axes drawn
as a line through its points, and points labelled by their variables.

No plotting library: the axes are integers, ticks are 1, 2 or 5 × 10^k apart, and positions are computed
with fractions and written with one decimal. The front minimizes both axes, unless `--pareto` names exactly
the two axes (then its directions: `-fit_batch` is maximized).
"""

from __future__ import annotations

from fractions import Fraction
from html import escape
from typing import Any

from ..numbers import fixed
from ..problems import printable
from ..sweeps.engine import Row, SweepResult, pareto_front

WIDTH, HEIGHT = 760, 480
LEFT, RIGHT, TOP, BOTTOM = 90, 30, 30, 60
MAX_LABELLED = 40        # with more points, only the front's are labelled; a label that would cover another is
                         # left out (every point keeps its tooltip)
MAX_TICKS = 6
LABEL_CHAR_WIDTH, LABEL_HEIGHT = 6, 13   # a generous estimate of an 11 px sans-serif label's box (Chromium: 12 px high)


def ticks(low: int, high: int) -> list[int]:
    """Round tick values covering [low, high]: a step of 1, 2 or 5 × 10^k giving at most MAX_TICKS + 1 ticks."""
    if high == low:
        low, high = low - 1, high + 1
    scale = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * scale
            first, last = (low // step) * step, -(-high // step) * step   # floor and ceiling to the step
            if (last - first) // step <= MAX_TICKS:
                return list(range(first, last + 1, step))
        scale *= 10   # ends: once scale > span, a step of 1 × scale spans [low, high] in at most two ticks


_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def tick_label(value: int) -> str:
    """A round tick in short form: 500 M, 1 G, 1.5 G (no trailing zeros: ticks are round numbers)."""
    for scale, unit in _UNITS:
        if abs(value) >= scale:
            return f"{fixed(value, scale, 3).rstrip('0').rstrip('.')} {unit}"
    return str(value)


def _axis_title(name: str) -> str:
    return f"{name} (bytes)" if name in ("memory", "training_memory") else name


def _position(value: int, first: int, last: int, start: int, length: int) -> Fraction:
    return start + Fraction(value - first, last - first) * length


def _pixel(value: Fraction) -> str:
    """One decimal, rounded exactly (half to even, as Fraction rounds)."""
    tenths = round(value * 10)
    return f"{'-' if tenths < 0 else ''}{abs(tenths) // 10}.{abs(tenths) % 10}"


def _front_objectives(result: SweepResult, x: str, y: str) -> list[tuple[str, bool]]:
    named = dict(result.pareto)
    if set(named) == {x, y}:
        return [(x, named[x]), (y, named[y])]
    return [(x, False), (y, False)]


def _number(row: Row, name: str) -> int:
    return row.values()[name]


def scatter(result: SweepResult, x: str = "macs", y: str = "params") -> str:
    """The SVG element (standalone: it carries its namespace)."""
    rows = [row for row in result.rows if row.valid]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH}'
             f' {HEIGHT}" font-family="sans-serif" font-size="11">',
             f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>']
    if not rows:
        parts.append(f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle">no valid points to plot</text>')
        return "\n".join(parts + ["</svg>"])
    xs, ys = [_number(row, x) for row in rows], [_number(row, y) for row in rows]
    x_ticks, y_ticks = ticks(min(xs), max(xs)), ticks(min(ys), max(ys))

    def px(value: int) -> Fraction:
        return _position(value, x_ticks[0], x_ticks[-1], LEFT, plot_w)

    def py(value: int) -> Fraction:
        return _position(value, y_ticks[0], y_ticks[-1], TOP + plot_h, -plot_h)

    for value in x_ticks:
        at = _pixel(px(value))
        parts.append(f'<line x1="{at}" y1="{TOP}" x2="{at}" y2="{TOP + plot_h}" stroke="#eee"/>'
                     f'<text x="{at}" y="{TOP + plot_h + 16}" text-anchor="middle">{escape(tick_label(value))}</text>')
    for value in y_ticks:
        at = _pixel(py(value))
        parts.append(f'<line x1="{LEFT}" y1="{at}" x2="{LEFT + plot_w}" y2="{at}" stroke="#eee"/>'
                     f'<text x="{LEFT - 6}" y="{at}" text-anchor="end" dominant-baseline="middle">'
                     f'{escape(tick_label(value))}</text>')
    parts.append(f'<text x="{LEFT + plot_w // 2}" y="{HEIGHT - 16}" text-anchor="middle">{escape(_axis_title(x))}</text>')
    parts.append(f'<text x="18" y="{TOP + plot_h // 2}" text-anchor="middle" transform="rotate(-90 18'
                 f' {TOP + plot_h // 2})">{escape(_axis_title(y))}</text>')
    front = pareto_front(rows, _front_objectives(result, x, y))
    on_front = {id(row) for row in front}
    line = sorted(front, key=lambda row: (_number(row, x), _number(row, y)))
    if len(line) > 1:
        points = " ".join(f"{_pixel(px(_number(row, x)))},{_pixel(py(_number(row, y)))}" for row in line)
        parts.append(f'<polyline points="{points}" fill="none" stroke="#c33" stroke-width="1.5"/>')
    circles, labels = [], []
    placed: list[tuple[int, int, int, int]] = []
    # the front's labels first, then the others while they fit: a label never covers another
    for row in sorted(rows, key=lambda row: id(row) not in on_front):
        at_x, at_y = px(_number(row, x)), py(_number(row, y))
        cx, cy = _pixel(at_x), _pixel(at_y)
        front_point = id(row) in on_front
        text = printable(row.label())
        tip = f"{escape(text)}: {escape(x)} {_number(row, x):,}, {escape(y)} {_number(row, y):,}"
        circles.append(f'<circle cx="{cx}" cy="{cy}" r="{4 if front_point else 3}"'
                       f' fill="{"#c33" if front_point else "#46a"}"><title>{tip}</title></circle>')
        if len(rows) > MAX_LABELLED and not front_point:
            continue
        width = LABEL_CHAR_WIDTH * len(text)
        left_side = at_x + 6 + width > WIDTH   # near the right edge the label goes to the left of its point
        box = (round(at_x) - 6 - width if left_side else round(at_x) + 6, round(at_y) - 5 - LABEL_HEIGHT,
               width, LABEL_HEIGHT)
        if any(_overlap(box, other) for other in placed):
            continue
        placed.append(box)
        anchor = ' text-anchor="end" dx="-6"' if left_side else ' dx="6"'
        labels.append(f'<text x="{cx}" y="{cy}"{anchor} dy="-5" fill="#333">{escape(text)}</text>')
    parts += circles + labels
    directions = ", ".join(("max " if reverse else "min ") + name for name, reverse in _front_objectives(result, x, y))
    parts.append(f'<text x="{LEFT + plot_w}" y="{TOP - 10}" text-anchor="end" fill="#c33">— Pareto front'
                 f' ({escape(directions)})</text>')
    return "\n".join(parts + ["</svg>"])


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def axis_names(result: Any) -> list[str]:
    """The names a scatter can put on an axis: the figures, and numeric variables."""
    from ..sweeps.engine import METRICS

    numeric = [name for name, values in result.grid.items()
               if all(isinstance(value, int) and not isinstance(value, bool) for value in values)]
    return [*numeric, *(name for name in METRICS if name != "fit_batch" or result.options.fit is not None)]


__all__ = ["axis_names", "scatter", "tick_label", "ticks"]
