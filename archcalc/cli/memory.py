"""`archcalc memory`: the training-memory report (`archcalc.analysis.memory`).

`add_parser(commands)` adds the subcommand; `run` prints the report
and returns the exit code: 0 success, 1 an invalid spec (PATH:LINE:COL problems on stderr), 2 a usage
error (argparse's: a bad batch size, dtype, optimizer, device or budget; never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import (EXIT_INVALID, EXIT_OK, add_limit_arguments, add_set_option, budget, limits_from,
                     load_or_report, positive_int, print_problems, usage_error)
from ..network import DTYPE_BYTES
from ..layers.autograd import DEVICES, DTYPES, OPTIMIZERS

FORMATS = ("text", "json", "markdown")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `memory` subcommand to `archcalc`'s subparsers."""
    memory = subparsers.add_parser(
        "memory", help="training memory: what autograd keeps for backward, parameters, gradients, optimizer state",
        description="What training holds between the forward and the backward pass: per layer, the tensors"
                    " PyTorch's autograd keeps for backward (each storage counted once), then parameters,"
                    " gradients, optimizer state, buffers and the input batch. With --fit, the largest batch size"
                    " whose total fits a memory budget.")
    memory.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    memory.add_argument("--batch-size", type=positive_int, default=1, metavar="N", help="batch size (default 1)")
    memory.add_argument("--dtype", choices=list(DTYPE_BYTES), default="float32",
                        help="dtype of the whole model and its input (default float32): the floating-point dtypes"
                             f" of summary --dtype ({', '.join(DTYPES)}); int8 has no gradients to train with")
    memory.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam",
                        help="optimizer state to count: none, sgd (none), momentum (1 buffer), adam/adamw (2 moments"
                             " and a step counter per parameter); default adam")
    memory.add_argument("--device", choices=list(DEVICES), default="cuda",
                        help="cpu (measured exactly) or cuda (CUDA kernels' differences, from PyTorch's sources);"
                             " default cuda")
    memory.add_argument("--format", choices=list(FORMATS), default="text")
    memory.add_argument("--fit", type=budget, metavar="BUDGET",
                        help="report the largest batch size whose total fits BUDGET (24GiB, 8GB, 512MiB or bytes);"
                             " replaces --batch-size")
    add_set_option(memory)
    add_limit_arguments(memory)
    memory.set_defaults(run=run)
    return memory


def run(args: argparse.Namespace) -> int:
    from ..analysis.memory import plan_memory
    from ..report.memory_format import MEMORY_FORMATS

    if args.dtype not in DTYPES:
        return usage_error("memory", f"--dtype {args.dtype}: PyTorch trains floating-point tensors only ({args.dtype}"
                           f" has no gradients); choose from {', '.join(DTYPES)}, or use summary --dtype {args.dtype}"
                           " for the inference estimate")
    network = load_or_report(args.spec, args.variables, limits_from(args))
    if network is None:
        return EXIT_INVALID
    plan = plan_memory(network, args.dtype, args.device)
    memory = plan.fit(args.fit, args.optimizer) if args.fit is not None else plan.at(args.batch_size, args.optimizer)
    sys.stdout.write(MEMORY_FORMATS[args.format](memory))
    print_problems(network.warnings)
    return EXIT_OK
