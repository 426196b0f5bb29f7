"""`archcalc import onnx MODEL.onnx [-o SPEC] [--flat]`: the spec of an ONNX model (archcalc.bridges.onnx_import).

Its arguments and run are one entry of `archcalc.cli.import_.SOURCES`; `-o` and `--flat` come from there.
"""

from __future__ import annotations

import argparse
import sys

from ..problems import SpecError
from .common import EXIT_INVALID, EXIT_OK, print_problems, usage_error, write_output


def add_onnx_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Write the spec of an ONNX model (needs: pip install 'archcalc[onnx]'): one layer per node,"
                          " named after the node (PyTorch's module paths for a model from torch.onnx.export),"
                          " parameters from the initializers, the input shape from the graph input without its batch"
                          " axis. A node with no spec type is an error naming it; the spec is checked against ONNX's"
                          " shape inference before it is written.")
    parser.add_argument("model", metavar="MODEL.onnx", help="an ONNX model file")
    parser.add_argument("--name", default=None, help="the spec's name (default: the model file's stem)")


def run_onnx(args: argparse.Namespace) -> int:
    from ..bridges import MissingDependency
    from ..bridges.onnx_import import import_onnx

    try:
        imported, text = import_onnx(args.model, args.name, args.flat)
    except MissingDependency as error:
        return usage_error("import onnx", str(error))
    except SpecError as error:
        print_problems(error.problems)
        return EXIT_INVALID
    code = write_output("import onnx", args.output, text)
    if code == EXIT_OK and args.output not in (None, "-"):
        print(f"{args.output}: {len(imported.layers)} layers from {args.model}", file=sys.stderr)
    return code

__all__ = ["add_onnx_arguments", "run_onnx"]
