"""The terminal table, in the spirit of torchsummary and torchinfo."""

from __future__ import annotations

from ..network import LayerResult, Summary
from ..problems import printable
from .numbers import grouped, megabytes, readable, shape_text


def _follows_previous(layer: LayerResult, previous: str) -> bool:
    return layer.sources == (previous,)


def _params_cell(layer: LayerResult) -> str:
    """The layer's parameters, saying where a weight it uses is counted instead (tie, share)."""
    if layer.shared_with:
        return f"{grouped(layer.params)} (shares {printable(layer.shared_with)})"
    tie = vars(layer.spec).get("tie")  # the field, for the types that have one (a getattr miss costs 5 µs in pydantic)
    return f"{grouped(layer.params)} (tied to {printable(tie)})" if tie else grouped(layer.params)


def columns(summary: Summary) -> list[tuple[str, str, list[str]]]:
    """(title, alignment, cells) for each column; graph and frozen columns only when they say something."""
    layers = summary.layers
    previous = ["input", *(layer.name for layer in layers[:-1])]
    wired = any(not _follows_previous(layer, before) for layer, before in zip(layers, previous))
    frozen = any(not layer.spec.trainable for layer in layers)
    table = [("Layer (type)", "<", [f"{printable(layer.name)} ({layer.type})" for layer in layers])]
    if wired:
        table.append(("Input from", "<", [
            "" if _follows_previous(layer, before) else printable(", ".join(layer.sources))
            for layer, before in zip(layers, previous)]))
    table.append(("Output shape", "<", [shape_text(layer.output_shape) for layer in layers]))
    table.append(("Params", ">", [_params_cell(layer) for layer in layers]))
    if frozen:
        table.append(("Trainable", ">", ["" if not layer.params else "yes" if layer.spec.trainable else "frozen"
                                         for layer in layers]))
    table.append(("MACs", ">", [grouped(layer.macs) for layer in layers]))
    if summary.receptive_field:
        fields = [summary.receptive_fields.get(layer.name) for layer in layers]
        for title, what in (("RF size", "size"), ("RF jump", "stride"), ("RF center", "center")):
            table.append((title, ">", ["" if field is None else field.text(what) for field in fields]))
    return table


def render(summary: Summary) -> str:
    table = columns(summary)
    widths = [max(len(title), *(len(cell) for cell in cells)) for title, _, cells in table]
    total_width = sum(widths) + 2 * (len(widths) - 1)

    def row(cells: list[str]) -> str:
        return "  ".join(f"{cell:{align}{width}}" for cell, (_, align, _), width in zip(cells, table, widths)).rstrip()

    totals, memory = summary.totals, summary.memory
    heading = f"{printable(summary.name or 'network')}: input {shape_text(summary.input_shape)}"
    lines = [heading, "=" * total_width, row([title for title, _, _ in table]), "=" * total_width]
    lines += [row([cells[i] for _, _, cells in table]) for i in range(len(summary.layers))]
    lines += [
        "=" * total_width,
        f"Total params: {grouped(totals.params)} ({readable(totals.params)})",
        f"Trainable params: {grouped(totals.trainable_params)}",
        f"Non-trainable params: {grouped(totals.non_trainable_params)}",
    ]
    if totals.buffers:
        lines.append(f"Buffers (batch-norm running statistics, not parameters): {grouped(totals.buffers)}")
    lines += [
        f"Total MACs: {grouped(totals.macs)} ({readable(totals.macs)})",
        f"Total FLOPs: {grouped(totals.flops)} ({readable(totals.flops)})",
        "-" * total_width,
        f"Memory estimate (torchsummary method, batch size {memory.batch_size}, {memory.dtype}):",
        f"Input size (MB): {megabytes(memory.input_bytes)}",
        f"Forward/backward pass size (MB): {megabytes(memory.forward_backward_bytes)}",
        f"Params size (MB): {megabytes(memory.params_bytes)}",
        f"Estimated total size (MB): {megabytes(memory.total_bytes)}",
        "=" * total_width,
    ]
    return "\n".join(lines) + "\n"


__all__ = ["columns", "render"]
