"""A Markdown table for READMEs, design docs and notebooks."""

from __future__ import annotations

from ..network import Summary
from ..problems import printable
from .numbers import grouped, megabytes, readable, shape_text
from .table import columns


def _escape(cell: str) -> str:
    """A table cell that stays one cell: no line breaks, no unescaped `|` (a backslash before one is doubled)."""
    return printable(cell).replace("\\", "\\\\").replace("|", "\\|")


def render(summary: Summary) -> str:
    table = columns(summary)
    lines = [f"### {_escape(summary.name or 'network')}", "",
             f"Input shape: `{shape_text(summary.input_shape)}`", "",
             "| " + " | ".join(title for title, _, _ in table) + " |",
             "|" + "|".join("---:" if align == ">" else "---" for _, align, _ in table) + "|"]
    for i in range(len(summary.layers)):
        lines.append("| " + " | ".join(_escape(cells[i]) for _, _, cells in table) + " |")
    totals, memory = summary.totals, summary.memory
    lines += [
        "",
        "| Total | Value |", "|---|---:|",
        f"| Params | {grouped(totals.params)} ({readable(totals.params)}) |",
        f"| Trainable params | {grouped(totals.trainable_params)} |",
        f"| Non-trainable params | {grouped(totals.non_trainable_params)} |",
        f"| MACs | {grouped(totals.macs)} ({readable(totals.macs)}) |",
        f"| FLOPs | {grouped(totals.flops)} ({readable(totals.flops)}) |",
        f"| Input size (MB) | {megabytes(memory.input_bytes)} |",
        f"| Forward/backward pass size (MB) | {megabytes(memory.forward_backward_bytes)} |",
        f"| Params size (MB) | {megabytes(memory.params_bytes)} |",
        f"| Estimated total size (MB), batch {memory.batch_size}, {memory.dtype} | {megabytes(memory.total_bytes)} |",
    ]
    return "\n".join(lines) + "\n"


__all__ = ["render"]
