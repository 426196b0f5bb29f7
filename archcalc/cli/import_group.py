"""`archcalc import FORMAT ...`: a spec from a model in another format (one subcommand per format)."""

from __future__ import annotations

from typing import Any

from . import import_onnx

FORMATS = (import_onnx,)


def add_parser(commands: Any) -> None:
    group = commands.add_parser("import", help="write the spec of an existing model (onnx)",
                                description="Write the spec of an existing model.")
    formats = group.add_subparsers(dest="format", required=True, metavar="FORMAT")
    for module in FORMATS:
        module.add_parser(formats)


__all__ = ["add_parser"]
