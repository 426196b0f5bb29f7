"""An SVG scatter plot of a sweep: one point per valid row at (x, y), the Pareto front of the two axes drawn
as a line through its points, and points labelled by their variables.

Drawn with the report's chart primitives (archcalc.report.charts): the same `Axis`, round ticks in SI units
(bytes in binary units: KiB, MiB, GiB) and escaped markup. The front minimizes both axes, unless `--pareto`
names exactly the two axes (then its directions: `-fit_batch` is maximized).
"""

from __future__ import annotations

from html import escape
from typing import Any

from ..problems import printable
from ..sweeps.engine import Row, SweepResult, pareto_front
from .charts import BINARY, PLAIN, SI, Axis, horizontal_axis, svg_document, svg_element, text_element, vertical_axis

WIDTH, HEIGHT = 760, 480
LEFT, RIGHT, TOP, BOTTOM = 90, 30, 30, 60
MAX_LABELLED = 40        # with more points, only the front's are labelled; a label that would cover another is
                         # left out (every point keeps its tooltip)
LABEL_CHAR_WIDTH, LABEL_HEIGHT = 6, 13   # a generous estimate of an 11 px sans-serif label's box (Chromium: 12 px high)
FRONT, POINT, LABEL = "#c33", "#46a", "#333"
BYTE_AXES, COUNT_AXES = ("memory", "training_memory"), ("params", "macs", "flops")


def axis_for(name: str, values: list[int], start: int, end: int) -> Axis:
    """The axis of `name` over `values` from pixel `start` to `end`: bytes in binary units, counts in SI, the
    rest (a batch size, a variable) plain; a single value gets an axis from 0 so that its ticks stay round."""
    low, high = min(values), max(values)
    if low == high:
        low, high = min(low, 0), max(high, 0) or 1
    units = BINARY if name in BYTE_AXES else SI if name in COUNT_AXES else PLAIN
    return Axis(low, high, start, end, units, f"{name} (bytes)" if name in BYTE_AXES else name)


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
    title = f"archcalc sweep: {y} against {x}"
    if not rows:
        return svg_document(WIDTH, HEIGHT, [text_element(WIDTH // 2, HEIGHT // 2, "no valid points to plot",
                                                         "middle")], title)
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    x_axis = axis_for(x, [_number(row, x) for row in rows], LEFT, right)
    y_axis = axis_for(y, [_number(row, y) for row in rows], bottom, TOP)
    body = vertical_axis(y_axis, LEFT, grid_right=right) + horizontal_axis(x_axis, bottom)   # as line_chart's
    objectives = _front_objectives(result, x, y)
    front = pareto_front(rows, objectives)
    on_front = {id(row) for row in front}
    line = sorted(front, key=lambda row: (_number(row, x), _number(row, y)))
    if len(line) > 1:
        points = " ".join(f"{x_axis.position(_number(row, x))},{y_axis.position(_number(row, y))}" for row in line)
        body.append(svg_element("polyline", points=points, fill="none", stroke=FRONT, stroke_width="1.5",
                                class_="chart-line"))
    circles, labels = [], []
    placed: list[tuple[int, int, int, int]] = []
    # the front's labels first, then the others while they fit: a label never covers another
    for row in sorted(rows, key=lambda row: id(row) not in on_front):
        cx, cy = x_axis.position(_number(row, x)), y_axis.position(_number(row, y))
        front_point = id(row) in on_front
        text = printable(row.label())
        tip = f"{text}: {x} {_number(row, x):,}, {y} {_number(row, y):,}"
        circles.append(svg_element("circle", svg_element("title", escape(tip)), cx=cx, cy=cy,
                                   r=4 if front_point else 3, fill=FRONT if front_point else POINT,
                                   class_="chart-point"))
        if len(rows) > MAX_LABELLED and not front_point:
            continue
        width = LABEL_CHAR_WIDTH * len(text)
        left_side = cx + 6 + width > WIDTH   # near the right edge the label goes to the left of its point
        box = (cx - 6 - width if left_side else cx + 6, cy - 5 - LABEL_HEIGHT, width, LABEL_HEIGHT)
        if any(_overlap(box, other) for other in placed):
            continue
        placed.append(box)
        labels.append(text_element(cx - 6 if left_side else cx + 6, cy - 5, text, "end" if left_side else "start",
                                   11, LABEL, "chart-label"))
    directions = ", ".join(("max " if reverse else "min ") + name for name, reverse in objectives)
    body += circles + labels
    body.append(text_element(right, TOP - 10, f"— Pareto front ({directions})", "end", 11, FRONT, "chart-legend"))
    return svg_document(WIDTH, HEIGHT, body, title)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def axis_names(result: Any) -> list[str]:
    """The names a scatter can put on an axis: the figures, and numeric variables."""
    from ..sweeps.engine import METRICS

    numeric = [name for name, values in result.grid.items()
               if all(isinstance(value, int) and not isinstance(value, bool) for value in values)]
    return [*numeric, *(name for name in METRICS if name != "fit_batch" or result.options.fit is not None)]


__all__ = ["axis_for", "axis_names", "scatter"]
