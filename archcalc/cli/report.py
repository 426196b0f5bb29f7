"""`archcalc report`: the self-contained HTML page of a network (`archcalc.report.html_report`).

Exit codes: 0 written, 1 an invalid spec (PATH:LINE:COL problems on stderr), 2 a usage error (a bad option,
an output file that cannot be written).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..layers.autograd import DEVICES, DTYPES, OPTIMIZERS
from .common import (EXIT_INVALID, EXIT_OK, add_limit_arguments, add_set_option, budget, limits_from,
                     load_or_report, positive_int, print_problems, write_output)


def add_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="one self-contained HTML page: table, charts, training memory, conventions, warnings",
        description="Write one HTML file about the network that needs nothing else (no network access, works"
                    " from file://): the layer table (sortable, filterable, with the totals), where the MACs and"
                    " parameters are by layer type and by block, training memory by category and against the"
                    " batch size, the counting conventions side by side and every warning linked to its layer.")
    report.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    report.add_argument("-o", "--output", metavar="FILE", default="-",
                        help="the HTML file to write (default: standard output)")
    report.add_argument("--batch-size", type=positive_int, default=1, metavar="N",
                        help="batch size of the memory figures and conventions (default 1); counts stay per sample")
    report.add_argument("--dtype", choices=list(DTYPES), default="float32", help="model dtype (default float32)")
    report.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam",
                        help="optimizer state in training memory (default adam)")
    report.add_argument("--device", choices=list(DEVICES), default="cuda", help="training memory rules (default cuda)")
    report.add_argument("--budget", "--fit", dest="budget", type=budget, metavar="BUDGET",
                        help="a memory budget (24GiB, 8GB, bytes): drawn on the memory line, with the largest batch"
                             " that fits marked; the memory figures are then at that batch")
    add_set_option(report)
    add_limit_arguments(report)
    report.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..report.html_report import ReportOptions, render_report

    network = load_or_report(args.spec, args.variables, limits_from(args))
    if network is None:
        return EXIT_INVALID
    page = render_report(network, ReportOptions(batch_size=args.batch_size, dtype=args.dtype,
                                                optimizer=args.optimizer, device=args.device, budget=args.budget))
    code = write_output("report", args.output, page)
    if code == EXIT_OK:
        print_problems(network.warnings)
    return code
