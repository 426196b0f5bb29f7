"""`archcalc export SPEC --to pytorch [-o model.py]`: the spec as code for a framework."""

from __future__ import annotations

import argparse
from typing import Any

from .common import (EXIT_INVALID, add_limit_arguments, add_set_option, limits_from, load_or_report, print_problems,
                     write_output)

TARGETS = ("pytorch",)


def add_parser(commands: Any) -> None:
    export = commands.add_parser("export", help="write the spec as a PyTorch module (model.py)",
                                 description="Write a spec as a runnable PyTorch file: a class per repeated block,"
                                             " module names equal to the spec's layer names (state_dict keys), and"
                                             " a __main__ that prints the parameter count and output shape.")
    export.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    export.add_argument("--to", choices=TARGETS, default="pytorch", help="the framework (default pytorch)")
    export.add_argument("-o", "--output", metavar="FILE", help="write the code here (default: stdout)")
    add_set_option(export)
    add_limit_arguments(export)
    export.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..bridges.pytorch_export import export_pytorch

    from ..problems import SpecError

    network = load_or_report(args.spec, args.variables, limits_from(args))
    if network is None:
        return EXIT_INVALID
    try:
        code = export_pytorch(network, args.spec)
    except SpecError as error:
        print_problems(error.problems)
        return EXIT_INVALID
    return write_output("export", args.output, code)


__all__ = ["add_parser"]
