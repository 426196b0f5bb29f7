"""CSV: one row per layer, plain integers, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io

from ..network import Summary
from ..problems import printable

HEADER = ("name", "type", "inputs", "output_shape", "params", "trainable_params", "macs", "flops", "buffers")


def csv_text(cell: str) -> str:
    """A text cell a spreadsheet shows as text: one line, and not a formula (a leading = + - @ gets a ')."""
    cell = printable(cell)
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell


def render(summary: Summary) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fields = summary.receptive_fields if summary.receptive_field else None
    writer.writerow(HEADER + (("rf_size", "rf_stride", "rf_center") if fields is not None else ()))
    for layer in summary.layers:
        row = [csv_text(layer.name), layer.type, csv_text(" ".join(layer.sources)),
               "x".join(map(str, layer.output_shape)), layer.params, layer.trainable_params, layer.macs, layer.flops,
               layer.buffers]
        if fields is not None:
            field = fields.get(layer.name)
            row += ["", "", ""] if field is None else [field.text("size"), field.text("stride"), field.text("center")]
        writer.writerow(row)
    return buffer.getvalue()


__all__ = ["HEADER", "csv_text", "render"]
