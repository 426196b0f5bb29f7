"""`archcalc summary`: per-layer output shapes, parameters and MACs, the totals, the memory estimate."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..network import DTYPE_BYTES
from .common import (EXIT_INVALID, EXIT_OK, add_limit_arguments, add_set_option, limits_from, load_or_report,
                     positive_int, print_problems, usage_error)


def add_parser(commands: Any) -> None:
    from ..report import SUMMARY_FORMATS

    summary = commands.add_parser("summary", help="per-layer output shapes, parameters, MACs and totals",
                                  description="Print every layer's output shape, parameters and MACs, the totals,"
                                              " and torchsummary's memory estimate.")
    summary.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    summary.add_argument("--format", choices=sorted(SUMMARY_FORMATS), default="table")
    summary.add_argument("--batch-size", type=positive_int, default=1, metavar="N",
                         help="batch size of the memory estimate (default 1); counts stay per sample")
    summary.add_argument("--dtype", choices=list(DTYPE_BYTES), default="float32",
                         help="element type of the memory estimate (default float32)")
    summary.add_argument("--receptive-field", action="store_true",
                         help="add receptive-field columns: size, effective stride (jump), centre of the first output")
    summary.add_argument("--convention", metavar="NAME", default=None,
                         help="also report MACs, parameters and memory as this tool counts them, at --batch-size"
                              " and --dtype (pytorch, torchvision, fvcore, ptflops-pytorch, thop, torchinfo,"
                              " torchinfo-1.8, keras, ...; docs/conventions.md)")
    add_set_option(summary)
    add_limit_arguments(summary)
    summary.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..api import summarize
    from ..report import render_summary

    network = load_or_report(args.spec, args.variables, limits_from(args))
    if network is None:
        return EXIT_INVALID
    summary = summarize(network, batch_size=args.batch_size, dtype=args.dtype, receptive_field=args.receptive_field)
    output = render_summary(summary, args.format)
    if args.convention is not None:
        from ..analysis.conventions import count
        from ..report.compare_format import with_convention

        if args.format == "csv":
            return usage_error("summary", "--convention is not available with --format csv")
        try:
            output = with_convention(output, args.format,
                                     count(network, args.convention, args.batch_size, args.dtype))
        except ValueError as error:
            return usage_error("summary", str(error))
    sys.stdout.write(output)
    print_problems(network.warnings)
    return EXIT_OK
