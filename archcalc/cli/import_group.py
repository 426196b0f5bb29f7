"""`archcalc import FORMAT ...`: a spec from a model in another format (one subcommand per format)."""

from __future__ import annotations

from typing import Any

from .import_onnx import add_parser as add_onnx_parser

# One subcommand per format, in the order `archcalc import --help` lists them.
FORMATS = (add_onnx_parser,)


def add_parser(commands: Any) -> None:
    group = commands.add_parser("import", help="write the spec of an existing model (onnx)",
                                description="Write the spec of an existing model.")
    formats = group.add_subparsers(dest="format", required=True, metavar="FORMAT")
    for add_format_parser in FORMATS:
        add_format_parser(formats)


__all__ = ["add_parser"]
