"""`archcalc sweep` output: one row per point, as a table, CSV, JSON, Markdown, or an HTML page / SVG scatter."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable

from ..numbers import fixed
from ..problems import json_printable, printable
from ..sweeps.engine import METRICS, Row, SweepResult
from .csv_format import csv_text
from .numbers import readable, shape_text

# (column, title) of the figures, after one column per variable
FIGURES = (("params", "params"), ("macs", "MACs"), ("flops", "FLOPs"), ("output_shape", "output"),
           ("memory", "memory"), ("training_memory", "training memory"), ("fit_batch", "fit batch"))
_BINARY = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def binary(size: int) -> str:
    """384.62 MiB: bytes in binary units, two decimals (exact integers in CSV and JSON)."""
    for scale, unit in _BINARY:
        if size >= scale:
            return f"{fixed(size, scale)} {unit}"
    return f"{size} B"


def _figures(result: SweepResult) -> list[tuple[str, str]]:
    return [(name, title) for name, title in FIGURES if name != "fit_batch" or result.options.fit is not None]


def _cell(row: Row, name: str) -> str:
    value = getattr(row, name)
    if name == "output_shape":
        return shape_text(value)
    if name in ("memory", "training_memory"):
        return binary(value)
    if name == "fit_batch":
        return f"{value:,}"
    return readable(value)


MAX_VALUE_WIDTH = 40   # a variable's value in the table, Markdown and HTML (CSV and JSON keep it whole)


def _short(text: str) -> str:
    return text if len(text) <= MAX_VALUE_WIDTH else text[:MAX_VALUE_WIDTH - 1] + "…"


def _problem_text(row: Row) -> str:
    first = row.problems[0]
    more = f" (+{len(row.problems) - 1} more)" if len(row.problems) > 1 else ""
    return f"invalid: {first.line}:{first.column}: {first.message}{more}"


def cells(result: SweepResult) -> tuple[list[str], list[list[str]], list[str]]:
    """(titles, rows of cells, alignments) shared by the table, Markdown and HTML."""
    figures = _figures(result)
    titles = [*result.grid, *(title for _, title in figures)]
    aligns = [">" if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) else "<"
              for values in result.grid.values()] + [">"] * len(figures)
    body = []
    for row in result.rows:
        values = [_short(printable(str(row.variables[name]))) for name in result.grid]
        if row.valid:
            body.append(values + [_cell(row, name) for name, _ in figures])
        else:
            body.append(values + [_problem_text(row)])
    return titles, body, aligns


def heading(result: SweepResult) -> str:
    options = result.options
    shape = " × ".join(f"{len(values)} {printable(name)}" for name, values in result.grid.items())
    chosen = []
    if result.where:
        chosen.append(f"where {printable(result.where)}")
    if result.pareto:
        chosen.append("Pareto front of " + ", ".join(("max " if reverse else "min ") + name
                                                     for name, reverse in result.pareto))
    if result.sort:
        chosen.append("sorted by " + ",".join(("-" if reverse else "") + name for name, reverse in result.sort))
    shown = f"; {len(result.rows):,} shown ({'; '.join(chosen)})" if chosen else ""
    invalid = f"; {result.invalid:,} invalid" if result.invalid else ""
    fit = f"; fit budget {binary(options.fit)}" if options.fit is not None else ""
    return (f"{printable(result.spec)}: {result.points:,} points ({shape}){shown}{invalid}\n"
            f"batch size {options.batch_size}, {options.dtype}; training memory: {options.optimizer} on"
            f" {options.device}{fit}")


def render_table(result: SweepResult) -> str:
    titles, body, aligns = cells(result)
    widths = [len(title) for title in titles]

    def aligned(line: list[str]) -> list[str]:
        """The cells set in columns: all of a valid point's, the variables of an invalid one."""
        return line if len(line) == len(titles) else line[:-1]

    for line in body:
        for index, cell in enumerate(aligned(line)):
            widths[index] = max(widths[index], len(cell))

    def row(line: list[str]) -> str:
        shown = [f"{cell:{align}{width}}" for cell, align, width in zip(aligned(line), aligns, widths)]
        if len(line) < len(titles):   # an invalid point: its problem spans the figure columns
            shown.append(line[-1])
        return "  ".join(shown).rstrip()

    width = sum(widths) + 2 * (len(widths) - 1)
    lines = [heading(result), "=" * width, row(titles), "-" * width, *(row(line) for line in body), "=" * width]
    return "\n".join(lines) + "\n"


def _md(cell: str) -> str:
    return printable(cell).replace("\\", "\\\\").replace("|", "\\|")


def render_markdown(result: SweepResult) -> str:
    titles, body, aligns = cells(result)
    lines = [*(f"{_md(line)}  " for line in heading(result).split("\n")), "",
             "| " + " | ".join(_md(title) for title in titles) + " |",
             "|" + "|".join("---:" if align == ">" else "---" for align in aligns) + "|"]
    for line in body:
        padded = line if len(line) == len(titles) else line[:-1] + [line[-1]] + [""] * (len(titles) - len(line))
        lines.append("| " + " | ".join(_md(cell) for cell in padded) + " |")
    return "\n".join(lines) + "\n"


CSV_FIGURES = ("valid", "params", "trainable_params", "macs", "flops", "layers", "output_shape", "memory",
               "training_memory", "fit_batch", "problem")


def render_csv(result: SweepResult) -> str:
    """One line per point, plain integers; an invalid point has empty figures and its first problem."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    figures = [name for name in CSV_FIGURES if name != "fit_batch" or result.options.fit is not None]
    writer.writerow([*map(csv_text, result.grid), *figures])
    for row in result.rows:
        line: list[Any] = [csv_text(str(row.variables[name])) if isinstance(row.variables[name], str)
                           else row.variables[name] for name in result.grid]
        for name in figures:
            if name == "valid":
                line.append("true" if row.valid else "false")
            elif name == "problem":
                line.append(csv_text(str(row.problems[0])) if row.problems else "")
            elif not row.valid:
                line.append("")
            elif name == "output_shape":
                line.append("x".join(map(str, row.output_shape or ())))
            else:
                line.append(getattr(row, name))
        writer.writerow(line)
    return buffer.getvalue()


def to_dict(result: SweepResult) -> dict[str, Any]:
    options = result.options
    return {
        "spec": result.spec,
        "grid": {name: list(values) for name, values in result.grid.items()},
        "points": result.points,
        "shown": len(result.rows),
        "invalid": result.invalid,
        "batch_size": options.batch_size, "dtype": options.dtype, "optimizer": options.optimizer,
        "device": options.device, "fit_budget_bytes": options.fit,
        "where": result.where,
        "pareto": [("-" if reverse else "") + name for name, reverse in result.pareto],
        "sort": [("-" if reverse else "") + name for name, reverse in result.sort],
        "metrics": dict(METRICS),
        "rows": [row.to_dict() for row in result.rows],
    }


def render_json(result: SweepResult) -> str:
    document = to_dict(result)
    rows = ",\n    ".join(json.dumps(row, ensure_ascii=False) for row in document.pop("rows"))
    fields = [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in document.items()]
    fields.append(f'  "rows": [\n    {rows}\n  ]' if rows else '  "rows": []')
    return json_printable("{\n" + ",\n".join(fields) + "\n}\n")


def render_svg(result: SweepResult, x: str = "macs", y: str = "params") -> str:
    from .scatter import scatter

    return scatter(result, x, y)


def render_html(result: SweepResult, x: str = "macs", y: str = "params") -> str:
    from html import escape

    from .scatter import scatter

    titles, body, aligns = cells(result)
    head = "".join(f"<th>{escape(title)}</th>" for title in titles)
    lines = []
    for line in body:
        tds = [f'<td class="{"num" if align == ">" else "text"}">{escape(cell)}</td>'
               for cell, align in zip(line, aligns)]
        if len(line) < len(titles):
            tds[-1] = f'<td class="problem" colspan="{len(titles) - len(line) + 1}">{escape(line[-1])}</td>'
        lines.append("<tr>" + "".join(tds) + "</tr>")
    caption = "<br>".join(escape(part) for part in heading(result).split("\n"))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>archcalc sweep: {escape(printable(result.spec))}</title>\n<style>\n"
            "body { font-family: system-ui, sans-serif; margin: 2em; }\n"
            "table { border-collapse: collapse; margin-top: 1.5em; }\n"
            "th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; }\n"
            "td.num { text-align: right; font-variant-numeric: tabular-nums; } td.problem { color: #b00; }\n"
            "</style>\n</head>\n<body>\n"
            f"<p>{caption}</p>\n{scatter(result, x, y)}\n"
            f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(lines) + "\n</tbody>\n</table>\n"
            "</body>\n</html>\n")


SWEEP_FORMATS: dict[str, Callable[..., str]] = {
    "table": render_table, "csv": render_csv, "json": render_json, "markdown": render_markdown,
    "html": render_html, "svg": render_svg,
}
CHART_FORMATS = ("html", "svg")

__all__ = ["CHART_FORMATS", "SWEEP_FORMATS", "binary", "cells", "heading", "render_csv", "render_html", "render_json",
           "render_markdown", "render_svg", "render_table", "to_dict"]
