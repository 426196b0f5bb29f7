"""`archcalc graph`: the network drawn from the spec, as DOT, Mermaid, SVG or an interactive HTML page."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .common import EXIT_INVALID, add_limit_arguments, add_set_option, limits_from, load_or_report, write_output

FORMATS = ("dot", "mermaid", "svg", "html")
# An output file's suffix chooses the format when --format is not given.
SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg", ".html": "html",
            ".htm": "html"}


def add_parser(commands: Any) -> None:
    from ..analysis.graph import COLLAPSE_ABOVE, COLORINGS

    graph = commands.add_parser(
        "graph", help="draw the network: DOT, Mermaid, SVG or an interactive HTML page",
        description="Draw the network from the spec: a box per layer (name, type, output shape, params, MACs),"
                    " edges labelled with tensor shapes, block instances and repeats folded (×N).")
    graph.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    graph.add_argument("--format", choices=FORMATS, default=None,
                       help="dot, mermaid (paste into GitHub Markdown), svg or html (default: from -o's suffix,"
                            " else dot)")
    graph.add_argument("--collapse", action=argparse.BooleanOptionalAction, default=None,
                       help=f"fold every block instance into one box (default: for specs over {COLLAPSE_ABOVE}"
                            " layers); repeats are frames marked ×N. The HTML view folds and unfolds on click")
    graph.add_argument("--color", choices=COLORINGS, default=None,
                       help="shade boxes by their share of the network's MACs, parameters or training memory"
                            " (what autograd keeps, batch 1, float32)")
    graph.add_argument("-o", "--output", metavar="FILE", default=None, help="write to FILE (default: stdout)")
    add_set_option(graph)
    add_limit_arguments(graph)
    graph.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..api import network_graph

    chosen = args.format or SUFFIXES.get(os.path.splitext(args.output or "")[1].lower(), "dot")
    network = load_or_report(args.spec, args.variables, limits_from(args))
    if network is None:
        return EXIT_INVALID
    # memory is measured only where it is shown: the HTML view's tooltips and shading, or --color memory
    graph = network_graph(network, measure_memory=chosen == "html" or args.color == "memory")
    text = render(graph, chosen, args.collapse, args.color)
    if chosen == "mermaid":
        from ..report.graph_text import mermaid_limits

        problem = mermaid_limits(text)
        if problem:
            print(f"archcalc graph: warning: {problem}", file=sys.stderr)
    return write_output("graph", args.output, text)


def render(graph: Any, chosen: str, collapse: bool | None, color: str | None) -> str:
    from ..report import graph_text

    if chosen == "html":
        from ..report.graph_html import render_page

        return render_page(graph, collapse=collapse, color=color)
    view = graph.view(graph.default_open(collapse))
    if chosen == "svg":
        from ..report.graph_svg import render_svg

        return render_svg(graph, view, color)
    return graph_text.render_dot(graph, view, color) if chosen == "dot" else \
        graph_text.render_mermaid(graph, view, color)


__all__ = ["FORMATS", "add_parser", "run"]
