"""CSV: one row per layer, plain integers, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io

from ..results import Summary

HEADER = ("name", "type", "inputs", "output_shape", "params", "trainable_params", "macs", "flops", "buffers")


def render(summary: Summary) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for layer in summary.layers:
        writer.writerow((layer.name, layer.type, " ".join(layer.sources), "x".join(map(str, layer.output_shape)),
                         layer.params, layer.trainable_params, layer.macs, layer.flops, layer.buffers))
    return buffer.getvalue()


__all__ = ["HEADER", "render"]
