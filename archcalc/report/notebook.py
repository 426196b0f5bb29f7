"""Notebooks: how Jupyter shows a `Network` or a `Summary`, and `archcalc.show(spec)`.

`Network._repr_html_` and `Summary._repr_html_` (registered by archcalc/__init__.py, since network.py may
not import this level) give a small picture of the graph (folded: `archcalc graph --format svg --collapse`)
beside the layer table with its totals, as static HTML that renders in any notebook front end (no script);
`_repr_markdown_` gives `archcalc summary --format markdown`.
`show(spec)` returns a `Report`: in Jupyter, the whole `archcalc report` page inline, inside an iframe
whose `srcdoc` holds the page, so that its styles and script cannot touch the notebook.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any, Callable

from ..network import Network, Summary
from ..problems import printable
from . import markdown
from .html_report import GraphView, ReportOptions, interactive_graph, render_report
from .numbers import grouped, readable, shape_text
from .table import columns

# A long network shows its first and last rows in a notebook; the report (`show`) has them all.
HEAD_ROWS, TAIL_ROWS = 400, 50

NOTEBOOK_STYLE = (".archcalc-nb table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
                  ".archcalc-nb th,.archcalc-nb td{padding:2px 8px;white-space:nowrap;text-align:left}"
                  ".archcalc-nb td.num,.archcalc-nb th.num{text-align:right}"
                  ".archcalc-nb tfoot td{font-weight:600;border-top:1px solid #999}"
                  ".archcalc-nb .note{color:#666;font-size:90%}"
                  ".archcalc-nb .sides{display:flex;gap:16px;align-items:flex-start}"
                  ".archcalc-nb .graph{flex:none;max-height:640px;overflow:auto;border:1px solid #ddd}")

# Levels of more boxes than this are folded into segments in the notebook's picture (as in the HTML view).
SEGMENT = 100


def small_graph(network: Network) -> str:
    """The folded graph as static SVG: block instances as single boxes, repeats as frames, long runs as segments."""
    from ..analysis.graph import network_graph
    from .graph_svg import render_svg

    graph = network_graph(network, measure_memory=False).segmented(SEGMENT)
    return render_svg(graph, graph.view(graph.default_open(collapse=True)))


def _as_summary(value: Network | Summary) -> Summary:
    return value if isinstance(value, Summary) else value.summary()


def html(value: Network | Summary, graph: Callable[[Network], str] | None = small_graph) -> str:
    """The table (the columns of `archcalc summary`) and its totals, beside `graph`'s picture (None: none)."""
    summary = _as_summary(value)
    table = columns(summary)
    count = len(summary.layers)
    shown = list(range(count)) if count <= HEAD_ROWS + TAIL_ROWS else \
        [*range(HEAD_ROWS), -1, *range(count - TAIL_ROWS, count)]
    head = "".join(f'<th class="{"num" if align == ">" else ""}">{escape(title)}</th>' for title, align, _ in table)
    rows = []
    for index in shown:
        if index < 0:
            rows.append(f'<tr><td colspan="{len(table)}" class="note">… {count - HEAD_ROWS - TAIL_ROWS:,} more layers'
                        " (archcalc.show(...) has them all) …</td></tr>")
            continue
        rows.append("<tr>" + "".join(f'<td class="{"num" if align == ">" else ""}">{escape(printable(cells[index]))}</td>'
                                     for _, align, cells in table) + "</tr>")
    totals, memory = summary.totals, summary.memory
    title = escape(printable(summary.name or "network"))
    foot = (f'<tr><td colspan="{len(table)}">Total params {grouped(totals.params)} ({readable(totals.params)}),'
            f' trainable {grouped(totals.trainable_params)}, non-trainable {grouped(totals.non_trainable_params)};'
            f' MACs {grouped(totals.macs)} ({readable(totals.macs)}); FLOPs {grouped(totals.flops)}</td></tr>')
    picture = f'<div class="graph">{graph(summary.network)}</div>' if graph is not None else ""
    return (f'<div class="archcalc-nb"><style>{NOTEBOOK_STYLE}</style>'
            f"<p><strong>{title}</strong>: input {escape(shape_text(summary.input_shape))}, {count:,} layers</p>"
            f'<div class="sides">{picture}'
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody><tfoot>{foot}</tfoot></table></div>"
            f'<div class="note">Memory estimate (torchsummary method, batch {memory.batch_size}, {memory.dtype}):'
            f" {grouped(memory.total_bytes)} B</div></div>")


def markdown_text(value: Network | Summary) -> str:
    return markdown.render(_as_summary(value))


class Report:
    """An `archcalc report` page: `.html` is the page; Jupyter shows it inline; `save(path)` writes it."""

    def __init__(self, page: str, height: int = 900):
        self.html = page
        self.height = height

    def _repr_html_(self) -> str:
        # srcdoc keeps the page's CSS and script inside the frame; sandbox lets the script sort and filter
        # but gives it no access to the notebook (no same-origin).
        return (f'<iframe srcdoc="{escape(self.html, quote=True)}" sandbox="allow-scripts"'
                f' style="width:100%;height:{self.height}px;border:1px solid #ddd" title="archcalc report"></iframe>')

    def save(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        target.write_text(self.html, encoding="utf-8")
        return target

    def __repr__(self) -> str:
        return f"<archcalc report, {len(self.html.encode()):,} bytes of HTML>"


def show(spec: Any, batch_size: int = 1, dtype: str = "float32", optimizer: str = "adam", device: str = "cuda",
         budget: int | str | None = None, variables: dict[str, Any] | None = None,
         graph: GraphView | None = interactive_graph) -> Report:
    """The report of `spec` (a file path, YAML text, a dict, a Network or a Summary) for a notebook."""
    from ..analysis.memory import parse_budget
    from ..api import analyze, load, loads

    if isinstance(spec, Summary):
        network = spec.network
    elif isinstance(spec, Network):
        network = spec
    elif isinstance(spec, dict):
        network = analyze(spec).network
    elif isinstance(spec, os.PathLike) or (isinstance(spec, str) and "\n" not in spec
                                           and spec.endswith((".yaml", ".yml"))):
        network = load(spec, variables=variables)
    elif isinstance(spec, str):
        network = loads(spec, variables=variables)
    else:
        raise TypeError(f"show() takes a spec path, YAML text, a dict, a Network or a Summary, not"
                        f" {type(spec).__name__}")
    if isinstance(budget, str):
        budget = parse_budget(budget)
    options = ReportOptions(batch_size=batch_size, dtype=dtype, optimizer=optimizer, device=device, budget=budget)
    return Report(render_report(network, options, graph))


__all__ = ["Report", "html", "markdown_text", "show", "small_graph"]
