"""`archcalc explain` and `archcalc formulas`: every number as a formula, for a spec and for every layer type."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..spec.suggest import suggestion

from .common import (EXIT_INVALID, EXIT_OK, add_limit_arguments, add_set_option, limits_from, load_or_report,
                     usage_error)


def add_parser(commands: Any) -> None:
    explain = commands.add_parser("explain", help="every number as formula, substituted formula and value",
                                  description="Explain every layer's output shape, parameters and MACs: the general"
                                              " formula, the same formula with the layer's numbers, and the result.")
    explain.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    explain.add_argument("--layer", action="append", metavar="NAME", default=[],
                         help="explain only this layer (repeatable)")
    explain.add_argument("--format", choices=["text", "markdown", "json"], default="text",
                         help="text (Unicode), markdown (with LaTeX math) or json")
    add_set_option(explain)
    add_limit_arguments(explain)
    explain.set_defaults(run=run_explain)

    formulas = commands.add_parser("formulas", help="the formula reference of every layer type",
                                   description="Print the formulas of every layer type, with a worked example each"
                                               " (docs/formulas.md is this command's markdown output).")
    formulas.add_argument("--format", choices=["text", "markdown"], default="text")
    formulas.set_defaults(run=run_formulas)


def run_explain(args: argparse.Namespace) -> int:
    from ..analysis.explain import explain
    from ..report.explain_format import EXPLAIN_FORMATS

    network = load_or_report(args.spec, args.variables, limits_from(args))
    if network is None:
        return EXIT_INVALID
    known = [layer.name for layer in network.layers]
    for name in args.layer:
        if name not in known:
            close = suggestion(name, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            return usage_error("explain", f"{args.spec} has no layer named {name!r}{hint}")
    sys.stdout.write(EXPLAIN_FORMATS[args.format](explain(network, args.layer)))
    return EXIT_OK


def run_formulas(args: argparse.Namespace) -> int:
    from ..report.formula_reference import render_reference

    sys.stdout.write(render_reference(args.format))
    return EXIT_OK
