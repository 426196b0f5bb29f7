"""`archcalc import onnx MODEL.onnx [-o SPEC]`: the spec of an ONNX model (archcalc.bridges.onnx_import)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..problems import SpecError
from .common import EXIT_INVALID, EXIT_OK, print_problems


def add_parser(imports: Any) -> None:
    command = imports.add_parser(
        "onnx", help="write the spec of an ONNX model (needs: pip install 'archcalc[onnx]')",
        description="Write the spec of an ONNX model: one layer per node (layer names from the node names, PyTorch's"
                    " module paths for a model exported by torch.onnx.export), parameters from the initializers,"
                    " the input shape from the graph input without its batch axis. A node with no spec type is an"
                    " error naming it; the spec is checked against ONNX's shape inference before it is written.")
    command.add_argument("model", metavar="MODEL.onnx", help="an ONNX model file")
    command.add_argument("-o", "--output", metavar="SPEC", default=None,
                         help="write the spec to this file (default: standard output)")
    command.add_argument("--name", default=None, help="the spec's name (default: the model file's stem)")
    command.add_argument("--flat", action="store_true",
                         help="one line per layer: no blocks or repeat for repeated structures")
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..bridges.onnx_import import import_onnx

    try:
        imported, text = import_onnx(args.model, args.name, args.flat)
    except SpecError as error:
        print_problems(error.problems)
        return EXIT_INVALID
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        print(f"archcalc import onnx: error: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return EXIT_INVALID
    print(f"{args.output}: {len(imported.layers)} layers from {args.model}", file=sys.stderr)
    return EXIT_OK


__all__ = ["add_parser", "run"]
