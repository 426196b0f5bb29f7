"""`archcalc sweep`: a spec over a grid of its variables, one row per point (archcalc.sweeps).

Exit codes: 0 when at least one point is valid (invalid points are rows, with their problems), 1 when the
spec cannot be read or every point is invalid, 2 for a usage error (a malformed grid, --where, --sort, an
unknown variable, too many points).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import (EXIT_INVALID, EXIT_OK, add_limit_arguments, budget, limits_from, positive_int,
                     print_problems, usage_error)
from ..layers.autograd import DEVICES, DTYPES, OPTIMIZERS

# archcalc.report.sweep_format.SWEEP_FORMATS's names (a test says so), written out: `archcalc --help` and every
# other command parse their arguments without importing the sweep's formatters
FORMATS = ("table", "csv", "json", "markdown", "html", "svg")


def grid_assignment(text: str) -> tuple[str, str]:
    """`--set NAME=VALUES`: the values stay text until the grid reads them (with the point limit)."""
    name, equals, values = text.partition("=")
    if not equals or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUES (32,64 or 2..8 or 160..320:32), got {text!r}")
    return name.strip(), values


def add_parser(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep", help="a design-space sweep: the spec over a grid of its variables, one row per point",
        description="Evaluate the spec at every point of a grid of its variables (the spec is read once):"
                    " parameters, MACs, FLOPs, output shape, torchsummary memory and training memory per point,"
                    " or the problems that make a point invalid; filter, keep the Pareto front, sort, plot.")
    sweep.add_argument("spec", metavar="SPEC", help="a YAML spec file with variables")
    sweep.add_argument("--set", dest="grid", action="append", type=grid_assignment, default=[],
                       metavar="NAME=VALUES",
                       help="a variable's values (repeatable): 32,48,64 (a list), 2..8 (inclusive range),"
                            " 160..320:32 (with a step), or one value")
    sweep.add_argument("--where", metavar="CONDITION",
                       help="keep the points meeting it: comparisons joined by and/or/not, e.g."
                            " 'params <= 20M and macs <= 5G' (K M G T, KB MB GB, KiB MiB GiB)")
    sweep.add_argument("--pareto", metavar="KEY,KEY", help="keep the Pareto front, minimizing each KEY"
                                                           " (-KEY maximizes), e.g. params,macs")
    sweep.add_argument("--sort", metavar="KEY[,-KEY]",
                       help="sort by these keys (-KEY: descending; write --sort=-KEY when the first one is)")
    sweep.add_argument("--valid-only", action="store_true", help="leave out invalid points")
    sweep.add_argument("--format", choices=FORMATS, default="table")
    sweep.add_argument("--x", default="macs", metavar="KEY", help="x axis of the html/svg scatter (default macs)")
    sweep.add_argument("--y", default="params", metavar="KEY", help="y axis of the html/svg scatter (default params)")
    sweep.add_argument("--batch-size", type=positive_int, default=1, metavar="N",
                       help="batch size of both memory figures (default 1); counts stay per sample")
    sweep.add_argument("--dtype", choices=list(DTYPES), default="float32", help="dtype of the memory figures")
    sweep.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam",
                       help="optimizer state in the training memory (default adam)")
    sweep.add_argument("--device", choices=list(DEVICES), default="cuda",
                       help="device of the training memory (default cuda), as archcalc memory")
    sweep.add_argument("--fit", type=budget, metavar="BUDGET",
                       help="add each point's largest training batch within BUDGET (24GiB, 8GB, bytes): fit_batch")
    sweep.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                       help="spread the points over N processes (rows keep the grid's order)")
    sweep.add_argument("--max-points", type=positive_int, default=None, metavar="N",
                       help="most points a grid may have (default 10000)")
    add_limit_arguments(sweep)
    sweep.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..problems import SpecError
    from ..report.scatter import axis_names
    from ..report.sweep_format import CHART_FORMATS, SWEEP_FORMATS
    from ..spec.blocks import UnknownVariable
    from ..sweeps.engine import Options, sweep_result
    from ..sweeps.grid import MAX_POINTS, GridError
    from ..sweeps.where import WhereError

    if not args.grid:
        return usage_error("sweep", "--set: give at least one variable's values, e.g. --set width=32,64")
    names = [name for name, _ in args.grid]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return usage_error("sweep", f"--set: {repeated[0]} is given twice; list its values in one --set"
                                    f" ({repeated[0]}=A,B,...)")
    options = Options(args.batch_size, args.dtype, args.optimizer, args.device, args.fit)
    try:
        result = sweep_result(args.spec, dict(args.grid), options, args.where, args.pareto, args.sort, args.jobs,
                              args.max_points or MAX_POINTS, limits_from(args), args.valid_only)
    except GridError as error:
        return usage_error("sweep", f"--set: {error}")
    except WhereError as error:
        return usage_error("sweep", str(error) if str(error).startswith("--") else f"--where: {error}")
    except UnknownVariable as error:
        return usage_error("sweep", f"--set: {args.spec}: {error}")
    except SpecError as error:
        print_problems(error.problems)
        return EXIT_INVALID
    if args.format in CHART_FORMATS:
        axes = axis_names(result)
        for flag, name in (("--x", args.x), ("--y", args.y)):
            if name not in axes:
                return usage_error("sweep", f"{flag}: {name!r} is not a numeric column; choose from {', '.join(axes)}")
        output = SWEEP_FORMATS[args.format](result, args.x, args.y)
    else:
        output = SWEEP_FORMATS[args.format](result)
    sys.stdout.write(output)
    return EXIT_OK if result.valid_points else EXIT_INVALID
