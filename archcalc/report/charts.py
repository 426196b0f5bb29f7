"""Charts as inline SVG text, drawn from integers: no plotting library, nothing fetched when the page opens.

The figures stay exact: values are Python ints (or Fractions), tick steps are 1, 2 or 5 times a power of
ten in the axis unit (K, M, G for counts; KiB, MiB, GiB for bytes), and only the pixel coordinates
are rounded. The primitives are general so that any chart can be built from them:

* `Units` — how an axis writes its numbers (`SI`, `BINARY`, `PLAIN`);
* `Axis` — a value range mapped onto pixels, with its ticks and title;
* `svg_element`, `text_element`, `svg_document` — escaped SVG markup;
* `bar_chart` (horizontal bars, one per category) and `line_chart` (series of points, horizontal
  reference lines such as a budget, marked points such as the batch that fits).

Every element carries a class (`chart-bar`, `chart-axis`, ...) so a page can restyle it, and its own
colour attributes so that the SVG file alone looks right too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from html import escape
from typing import Iterable, NamedTuple, Sequence

Number = int | Fraction

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
INK, MUTED, GRID = "#222", "#666", "#e3e3e3"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
CHAR_WIDTH = 7          # pixels per character of 12 px text, for laying out labels
LINE_HEIGHT = 18


# ---------------------------------------------------------------------------------------------- numbers

@dataclass(frozen=True)
class Units:
    """How an axis writes numbers: a base (1000 or 1024), the unit prefixes from 1 upwards, a suffix."""

    base: int
    prefixes: tuple[str, ...]
    suffix: str = ""

    def scale_of(self, magnitude: Number) -> tuple[int, str]:
        """The largest (factor, prefix) not above `magnitude` (the first for small values)."""
        factor, chosen = 1, self.prefixes[0]
        for power, prefix in enumerate(self.prefixes):
            if abs(magnitude) >= self.base**power:
                factor, chosen = self.base**power, prefix
        return factor, chosen

    def text(self, value: Number, places: int = 2, magnitude: Number | None = None) -> str:
        """`value` in the unit that suits `magnitude` (default: the value itself), trailing zeros dropped:
        `4.09 G`, `1.5 GiB`, `980`."""
        factor, prefix = self.scale_of(value if magnitude is None else magnitude)
        number = decimal_text(Fraction(value) / factor, places)
        unit = prefix + self.suffix
        return f"{number} {unit}" if unit else number


SI = Units(1000, ("", "K", "M", "G", "T", "P", "E"))
BINARY = Units(1024, ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"))
PLAIN = Units(1000, ("",))


def decimal_text(value: Fraction, places: int) -> str:
    """`value` rounded (half to even) to `places` decimals, with trailing zeros removed: 1.50 → 1.5, 2.00 → 2."""
    whole = round(value * 10**places)
    sign = "-" if whole < 0 else ""
    digits = str(abs(whole)).rjust(places + 1, "0")
    integer, decimals = digits[: len(digits) - places], digits[len(digits) - places:].rstrip("0")
    return f"{sign}{integer}.{decimals}" if decimals else f"{sign}{integer}"


def percent_text(part: int, whole: int) -> str:
    """`part` of `whole` in percent with one decimal (`35.8 %`, `8.0 %`); a part too small to show is `<0.1 %`."""
    tenths = round(Fraction(1000 * part, whole))
    if part and not tenths:
        return "<0.1 %"
    return f"{tenths // 10}.{tenths % 10} %" if tenths >= 0 else f"-{decimal_text(Fraction(-tenths, 10), 1)} %"


def nice_step(span: Number, units: Units, most: int = 6) -> Fraction:
    """The tick step for a range of `span`: 1, 2 or 5 × 10^k in the range's unit, at most `most` steps."""
    if span <= 0:
        return Fraction(1)
    factor, _ = units.scale_of(span)
    span_in_unit = Fraction(span) / factor
    power = Fraction(1)
    while power * 10 <= span_in_unit:
        power *= 10
    while power > span_in_unit:
        power /= 10
    for candidate in (power / 10, power / 5, power / 2, power, 2 * power, 5 * power, 10 * power):
        if span_in_unit / candidate <= most:
            # the values are integers (batch sizes, counts, bytes): never a tick between two of them
            return max(candidate * factor, Fraction(1))
    return 10 * power * factor


def ticks(low: Number, high: Number, step: Fraction) -> list[Fraction]:
    """The multiples of `step` from the first at or below `low` to the first at or above `high`."""
    first = (Fraction(low) / step).__floor__()
    last = -((-Fraction(high) / step).__floor__())
    return [step * k for k in range(first, last + 1)]


# ---------------------------------------------------------------------------------------------- markup

def attributes(**values: object) -> str:
    """` name="value"` pairs, escaped; `class_` is written `class`, `stroke_width` `stroke-width`."""
    parts = []
    for name, value in values.items():
        if value is None:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(f' {name}="{escape(str(value), quote=True)}"')
    return "".join(parts)


def svg_element(tag: str, content: str = "", **values: object) -> str:
    return f"<{tag}{attributes(**values)}>{content}</{tag}>" if content else f"<{tag}{attributes(**values)}/>"


def text_element(x: int, y: int, text: str, anchor: str = "start", size: int = 12, fill: str = INK,
                 class_: str | None = None, weight: str | None = None, tooltip: str | None = None) -> str:
    content = escape(text) + (svg_element("title", escape(tooltip)) if tooltip else "")
    return svg_element("text", content, x=x, y=y, text_anchor=anchor, font_size=size, fill=fill, class_=class_,
                       font_weight=weight)


def svg_document(width: int, height: int, body: Iterable[str], title: str, class_: str = "chart") -> str:
    """A standalone `<svg>` (valid inline in HTML too) with an accessible title."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg"{attributes(class_=class_, width=width, height=height)}'
            f'{attributes(viewBox=f"0 0 {width} {height}", role="img", font_family=FONT)}>'
            + svg_element("title", escape(title)) + "".join(body) + "</svg>")


def shortened(label: str, characters: int) -> str:
    return label if len(label) <= characters else label[: max(characters - 1, 1)] + "…"


# ---------------------------------------------------------------------------------------------- axes

@dataclass
class Axis:
    """A value range on a run of pixels (`start` → `end`; y axes run upwards: start below end)."""

    low: Number
    high: Number
    start: int
    end: int
    units: Units = SI
    title: str = ""
    most_ticks: int = 6
    step: Fraction = field(init=False)
    tick_values: list[Fraction] = field(init=False)

    def __post_init__(self) -> None:
        self.step = nice_step(self.high - self.low, self.units, self.most_ticks)
        self.tick_values = ticks(self.low, self.high, self.step)
        self.low, self.high = min(self.low, self.tick_values[0]), max(self.high, self.tick_values[-1])

    def position(self, value: Number) -> int:
        """The pixel of `value`, rounded (the figure itself is never rounded)."""
        if self.high == self.low:
            return self.start
        return round(self.start + (Fraction(value) - self.low) * (self.end - self.start) / (self.high - self.low))

    def label(self, value: Number) -> str:
        """A tick's label, in the unit of the axis' largest tick so that the labels line up; 0 is `0`."""
        if value == 0:
            return "0"
        return self.units.text(value, 2, magnitude=max(abs(self.tick_values[-1]), abs(self.tick_values[0])))


def horizontal_axis(axis: Axis, y: int, grid_top: int | None = None) -> list[str]:
    """Ticks and labels below the line at `y`; grid lines up to `grid_top`."""
    out = [svg_element("line", x1=axis.start, y1=y, x2=axis.end, y2=y, stroke=MUTED, class_="chart-axis")]
    for value in axis.tick_values:
        x = axis.position(value)
        if grid_top is not None:
            out.append(svg_element("line", x1=x, y1=grid_top, x2=x, y2=y, stroke=GRID, class_="chart-grid"))
        out.append(svg_element("line", x1=x, y1=y, x2=x, y2=y + 4, stroke=MUTED))
        out.append(text_element(x, y + 16, axis.label(value), "middle", 11, MUTED, "chart-tick"))
    if axis.title:
        out.append(text_element((axis.start + axis.end) // 2, y + 34, axis.title, "middle", 12, INK, "chart-title"))
    return out


def vertical_axis(axis: Axis, x: int, grid_right: int | None = None) -> list[str]:
    """Ticks and labels left of the line at `x`; grid lines across to `grid_right`."""
    out = [svg_element("line", x1=x, y1=axis.start, x2=x, y2=axis.end, stroke=MUTED, class_="chart-axis")]
    for value in axis.tick_values:
        y = axis.position(value)
        if grid_right is not None:
            out.append(svg_element("line", x1=x, y1=y, x2=grid_right, y2=y, stroke=GRID, class_="chart-grid"))
        out.append(svg_element("line", x1=x - 4, y1=y, x2=x, y2=y, stroke=MUTED))
        out.append(text_element(x - 7, y + 4, axis.label(value), "end", 11, MUTED, "chart-tick"))
    if axis.title:
        middle = (axis.start + axis.end) // 2
        out.append(svg_element("text", escape(axis.title), x=14, y=middle, text_anchor="middle", font_size=12,
                               fill=INK, class_="chart-title", transform=f"rotate(-90 14 {middle})"))
    return out


# ---------------------------------------------------------------------------------------------- bar chart

class Bar(NamedTuple):
    """One bar: its label, its value (an int), an optional link target (`#row-conv1`) and tooltip."""

    label: str
    value: int
    href: str | None = None
    note: str = ""


def bar_chart(bars: Sequence[Bar], title: str, units: Units = SI, width: int = 640, most: int = 20,
              color: str = PALETTE[0], total: int | None = None) -> str:
    """Horizontal bars, largest first, each with its value and share of `total` (default: their sum). Bars
    beyond `most` are added into one last bar, so the bars always add up to the total."""
    ordered = sorted(bars, key=lambda bar: -bar.value)
    if len(ordered) > most:
        rest = ordered[most - 1:]
        ordered = ordered[: most - 1] + [Bar(f"{len(rest):,} others", sum(bar.value for bar in rest),
                                             note=", ".join(bar.label for bar in rest[:8])
                                             + (", …" if len(rest) > 8 else ""))]
    total = sum(bar.value for bar in ordered) if total is None else total
    label_chars = min(max((len(bar.label) for bar in ordered), default=4), 32)
    left = 12 + CHAR_WIDTH * label_chars
    value_width = 150
    right = width - value_width
    top, row = 28, 22
    height = top + row * len(ordered) + 44
    axis = Axis(0, max((bar.value for bar in ordered), default=0) or 1, left, right, units)
    body = [text_element(0, 16, title, "start", 13, INK, "chart-heading", "600")]
    body += horizontal_axis(axis, top + row * len(ordered) + 4, grid_top=top - 4)
    for index, bar in enumerate(ordered):
        y = top + row * index
        share = f" ({percent_text(bar.value, total)})" if total else ""
        value_text = units.text(bar.value) + share
        tooltip = f"{bar.label}: {bar.value:,}{share}" + (f" — {bar.note}" if bar.note else "")
        label = text_element(left - 6, y + 14, shortened(bar.label, label_chars), "end", 12, INK, "chart-label",
                             tooltip=tooltip)
        if bar.href:
            label = svg_element("a", label, href=bar.href)
        body.append(label)
        body.append(svg_element("rect", svg_element("title", escape(tooltip)), x=left, y=y + 3,
                                width=max(axis.position(bar.value) - left, 1 if bar.value else 0), height=row - 6,
                                fill=color, class_="chart-bar"))
        body.append(text_element(axis.position(bar.value) + 6, y + 14, value_text, "start", 11, MUTED, "chart-value"))
    return svg_document(width, height, body, title)


# ---------------------------------------------------------------------------------------------- line chart

@dataclass(frozen=True)
class Series:
    """A line through (x, y) points, in x order."""

    label: str
    points: Sequence[tuple[Number, Number]]
    color: str = PALETTE[0]


@dataclass(frozen=True)
class Level:
    """A horizontal reference line: a budget, a device's memory."""

    label: str
    value: Number
    color: str = PALETTE[3]


@dataclass(frozen=True)
class Mark:
    """A marked point with a label: the largest batch that fits."""

    label: str
    x: Number
    y: Number
    color: str = PALETTE[2]


def line_chart(series: Sequence[Series], title: str, x_title: str, y_title: str, x_units: Units = PLAIN,
               y_units: Units = BINARY, levels: Sequence[Level] = (), marks: Sequence[Mark] = (),
               width: int = 640, height: int = 320) -> str:
    """Lines on x/y axes from 0, with dashed reference levels and labelled marks; a legend when there are
    several series."""
    xs = [x for line in series for x, _ in line.points] + [mark.x for mark in marks]
    ys = [y for line in series for _, y in line.points] + [level.value for level in levels] + [m.y for m in marks]
    left, right, top, bottom = 80, width - 24, 30, height - 50
    x_axis = Axis(min(xs, default=0), max(xs, default=1), left, right, x_units, x_title)
    y_axis = Axis(0, max(ys, default=1) or 1, bottom, top, y_units, y_title)
    body = [text_element(0, 16, title, "start", 13, INK, "chart-heading", "600")]
    body += vertical_axis(y_axis, left, grid_right=right)
    body += horizontal_axis(x_axis, bottom)
    for level in levels:
        y = y_axis.position(level.value)
        body.append(svg_element("line", svg_element("title", escape(f"{level.label}: {level.value:,}")), x1=left,
                                y1=y, x2=right, y2=y, stroke=level.color, stroke_dasharray="6 4",
                                stroke_width=2, class_="chart-level"))
        body.append(text_element(right - 4, y - 6, level.label, "end", 11, level.color, "chart-level-label"))
    for line in series:
        coordinates = " ".join(f"{x_axis.position(x)},{y_axis.position(y)}" for x, y in line.points)
        body.append(svg_element("polyline", svg_element("title", escape(line.label)), points=coordinates,
                                fill="none", stroke=line.color, stroke_width=2, class_="chart-line"))
    for mark in marks:
        x, y = x_axis.position(mark.x), y_axis.position(mark.y)
        body.append(svg_element("line", x1=x, y1=y, x2=x, y2=bottom, stroke=mark.color, stroke_dasharray="3 3",
                                class_="chart-mark-line"))
        body.append(svg_element("circle", svg_element("title", escape(mark.label)), cx=x, cy=y, r=5,
                                fill=mark.color, class_="chart-mark"))
        anchor = "end" if x > (left + right) // 2 else "start"
        body.append(text_element(x - 8 if anchor == "end" else x + 8, y + 16, mark.label, anchor, 11, mark.color,
                                 "chart-mark-label"))
    if len(series) > 1:
        for index, line in enumerate(series):
            y = top + 4 + LINE_HEIGHT * index
            body.append(svg_element("line", x1=left + 12, y1=y, x2=left + 32, y2=y, stroke=line.color, stroke_width=2))
            body.append(text_element(left + 38, y + 4, line.label, "start", 11, INK, "chart-legend"))
    return svg_document(width, height, body, title)


__all__ = ["BINARY", "PALETTE", "PLAIN", "SI", "Axis", "Bar", "Level", "Mark", "Series", "Units", "attributes",
           "bar_chart", "decimal_text", "percent_text", "horizontal_axis", "line_chart", "nice_step", "shortened", "svg_document",
           "svg_element", "text_element", "ticks", "vertical_axis"]
