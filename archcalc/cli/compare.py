"""`archcalc compare` and `archcalc conventions`: the counting conventions, side by side and as a reference."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import (EXIT_INVALID, EXIT_OK, add_limit_arguments, add_set_option, limits_from, load_or_report,
                     positive_int, usage_error)


def add_parser(commands: Any) -> None:
    compare = commands.add_parser("compare", help="totals under every counting convention, differences itemized",
                                  description="Count the network as popular tools do (docs/conventions.md) and"
                                              " itemize each difference from the default by layer type.")
    compare.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    compare.add_argument("--conventions", metavar="A,B,...", default=None,
                         help="comma-separated conventions (default: all)")
    compare.add_argument("--batch-size", type=positive_int, default=1, metavar="N")
    compare.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    add_set_option(compare)
    add_limit_arguments(compare)
    compare.set_defaults(run=run_compare)

    conventions = commands.add_parser("conventions", help="the counting conventions' rule tables (docs/conventions.md)",
                                      description="Print docs/conventions.md: every convention's per-layer rules,"
                                                  " and the reconciliation of an example spec.")
    conventions.add_argument("--example", metavar="SPEC", default="specs/resnet50.yaml",
                             help="spec of the worked example (default specs/resnet50.yaml)")
    conventions.set_defaults(run=run_conventions)


def run_compare(args: argparse.Namespace) -> int:
    from ..analysis.conventions import CONVENTIONS
    from ..report.compare_format import render_compare

    names = list(CONVENTIONS) if args.conventions is None else [n.strip() for n in args.conventions.split(",") if n.strip()]
    network = load_or_report(args.spec, args.variables, limits_from(args))
    if network is None:
        return EXIT_INVALID
    try:
        sys.stdout.write(render_compare(network, names, args.batch_size, args.format))
    except ValueError as error:
        return usage_error("compare", str(error))
    return EXIT_OK


def run_conventions(args: argparse.Namespace) -> int:
    from ..report.compare_format import render_docs

    network = load_or_report(args.example)
    if network is None:
        return EXIT_INVALID
    sys.stdout.write(render_docs(network, args.example))
    return EXIT_OK
