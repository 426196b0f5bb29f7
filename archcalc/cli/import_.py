"""`archcalc import {torch,...} ...`: a spec from a model written in another framework.

Each source is one sub-command: `SOURCES` maps its name to (add its arguments, run it). The importers
live in archcalc.bridges; this module only wires arguments, output and exit codes.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from .common import EXIT_INVALID, argument_type, usage_error, write_output
from .import_onnx import add_onnx_arguments, run_onnx


def _sizes(text: str) -> list[int]:
    return [int(size) for size in text.replace(" ", "").strip("[]()").split(",") if size]


# `3,224,224` → [3, 224, 224]: the per-sample shape, batch axis excluded
shape = argument_type(_sizes, "expected positive sizes separated by commas",
                      accept=lambda sizes: bool(sizes) and all(size >= 1 for size in sizes),
                      invalid="expected sizes separated by commas, e.g. 3,224,224")


def callable_reference(text: str) -> str:
    module, colon, attribute = text.rpartition(":")
    if not colon or not module or not attribute:
        raise argparse.ArgumentTypeError(f"expected MODULE:CALLABLE (e.g. torchvision.models:resnet50 or"
                                         f" my_model.py:Net), got {text!r}")
    return text


def keyword_arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"--kwargs must be a JSON object: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--kwargs must be a JSON object, e.g. '{\"num_classes\": 10}'")
    return value


def add_torch_arguments(parser: argparse.ArgumentParser) -> None:
    from ..bridges.torch_import import DTYPES

    parser.add_argument("callable", metavar="MODULE:CALLABLE", type=callable_reference,
                        help="a class or a function returning an nn.Module: torchvision.models:resnet50,"
                             " my_model.py:Net")
    parser.add_argument("--input-shape", dest="input_shapes", action="append", type=shape, required=True,
                        metavar="SIZES", help="per-sample input shape, batch excluded, e.g. 3,224,224 (one per"
                                              " forward argument: repeat it for several)")
    parser.add_argument("--dtype", dest="dtypes", action="append", choices=DTYPES, default=None,
                        help="input dtype (default float32; int64 for token ids); one per --input-shape, or one for all")
    parser.add_argument("--kwargs", type=keyword_arguments, default={}, metavar="JSON",
                        help="keyword arguments for the callable, as a JSON object")


def run_torch(args: argparse.Namespace) -> int:
    from ..bridges import ImportFailure, MissingDependency
    from ..bridges.export_import import import_torch_model

    if args.dtypes and len(args.dtypes) not in (1, len(args.input_shapes)):
        return usage_error("import torch", "give one --dtype, or one per --input-shape")
    try:
        text = import_torch_model(args.callable, args.input_shapes, args.dtypes, args.kwargs, flat=args.flat)
    except MissingDependency as error:
        return usage_error("import torch", str(error))
    except ImportFailure as error:
        print(f"archcalc import torch: error: {error}", file=sys.stderr)
        return EXIT_INVALID
    return write_output("import torch", args.output, text)


# source name → (what it reads, add its arguments, run it)
SOURCES: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "torch": ("a PyTorch nn.Module, traced with torch.fx (torch.export where fx cannot)", add_torch_arguments,
              run_torch),
    "onnx": ("an ONNX model file (needs the onnx package)", add_onnx_arguments, run_onnx),
}


def add_parser(commands: Any) -> None:
    command = commands.add_parser("import", help="a spec from a PyTorch model or an ONNX file",
                                  description="Write the spec of a model built in another framework: layer names are"
                                              " its module names, repeated blocks fold into `repeat`.")
    sources = command.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for name, (reads, add_arguments, run) in SOURCES.items():
        parser = sources.add_parser(name, help=reads)
        add_arguments(parser)
        parser.add_argument("-o", "--output", metavar="FILE", help="write the spec here (default: stdout)")
        parser.add_argument("--flat", action="store_true", help="one layer per line: no blocks, no repeat")
        parser.set_defaults(run=run)


__all__ = ["SOURCES", "add_parser"]
