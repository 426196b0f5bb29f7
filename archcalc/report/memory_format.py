"""`archcalc memory` output: text, Markdown and JSON (contract §5) of a `TrainingMemory`."""

from __future__ import annotations

import json
from typing import Callable

from ..analysis.memory import LayerMemory, SavedTensor, TrainingMemory
from ..problems import printable
from ..numbers import fixed
from .numbers import grouped

OPTIMIZER_NAMES = {"none": "no optimizer", "sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam",
                   "adamw": "AdamW"}
DEVICE_NAMES = {"cpu": "CPU", "cuda": "CUDA"}
SHOWN_SHARERS = 3


def size_text(nbytes: int) -> str:
    """Bytes in MiB, or GiB from 1 GiB on: 0.23 MiB, 24.00 GiB."""
    if nbytes >= 2**30:
        return f"{fixed(nbytes, 2**30)} GiB"
    return f"{fixed(nbytes, 2**20)} MiB"


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def _sharers(tensor: SavedTensor) -> str:
    shown = [f"{layer}'s {what}" for layer, what in tensor.shared_with[:SHOWN_SHARERS]]
    more = len(tensor.shared_with) - SHOWN_SHARERS
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def tensor_text(tensor: SavedTensor) -> str:
    """`input 2×3×28×28 float32`, `output 2×20×24×24 float32 (shared with conv2's input)`, `input (kept by relu-2)`."""
    if tensor.first_saved_by is not None:
        return f"{tensor.what} (kept by {tensor.first_saved_by})"
    text = f"{tensor.what} {shape_text(tensor.shape)} {tensor.dtype}"
    if tensor.shared_with:
        text += f" (shared with {_sharers(tensor)})"
    return text


def keeps_text(layer: LayerMemory) -> str:
    if layer.saved:
        return "; ".join(map(tensor_text, layer.saved))
    if not layer.requires_grad:
        return "nothing: no gradient needed yet"
    if layer.output_shared:
        return "nothing (its output is its input's storage)"
    return "nothing"


def heading(memory: TrainingMemory) -> str:
    return (f"{printable(memory.name or 'network')}: training memory, batch size {memory.batch_size}, {memory.dtype},"
            f" {OPTIMIZER_NAMES[memory.optimizer]}, {DEVICE_NAMES[memory.device]}")


def optimizer_note(memory: TrainingMemory) -> str:
    tensors = memory.trainable_tensors
    steps = f"{tensors:,} step counter{'s' * (tensors != 1)} (4 B each)"
    if memory.optimizer in ("adam", "adamw"):
        host = ", in host memory: not counted" if memory.device == "cuda" else ""
        return f"exp_avg and exp_avg_sq per trainable parameter, and {steps}{host}"
    if memory.optimizer == "momentum":
        return "a momentum buffer per trainable parameter"
    return "no state" if memory.optimizer == "sgd" else "no optimizer"


def total_rows(memory: TrainingMemory) -> list[tuple[str, int, str]]:
    """(label, bytes, remark) for each total, in the order shown."""
    totals = memory.totals
    kept = memory.input_kept
    return [
        ("Saved activations", totals.saved_activation_bytes, "what the layers above keep for backward"),
        ("Input batch", totals.input_bytes,
         "kept by a layer: counted in the saved activations" if kept else "not kept by any layer"),
        ("Parameters", totals.parameter_bytes, ""),
        ("Gradients", totals.gradient_bytes, "trainable parameters only"),
        (f"Optimizer state ({memory.optimizer})", totals.optimizer_state_bytes, optimizer_note(memory)),
        ("Buffers", totals.buffer_bytes, "batch-norm running statistics and their int64 counters"
         if totals.buffer_bytes else ""),
    ]


def fit_lines(memory: TrainingMemory) -> list[str]:
    fit = memory.fit
    if fit is None:
        return []
    budget = f"{grouped(fit.budget_bytes)} B ({size_text(fit.budget_bytes)})"
    if fit.batch_size == 0:
        need = fit.fixed_bytes + fit.per_sample_bytes
        return [f"Budget {budget}: even batch size 1 needs {grouped(need)} B ({size_text(need)}), more than the"
                f" budget; the figures above are for batch size 1."]
    return [f"Budget {budget}: the largest batch size that fits is {fit.batch_size:,}"
            f" = ⌊(budget − fixed) / per sample⌋ = ⌊({grouped(fit.budget_bytes)} − {grouped(fit.fixed_bytes)})"
            f" / {grouped(fit.per_sample_bytes)}⌋; one more needs"
            f" {grouped(fit.fixed_bytes + (fit.batch_size + 1) * fit.per_sample_bytes)} B."]


def grouped_notes(memory: TrainingMemory) -> list[str]:
    """One line per distinct layer note, naming the layers it applies to."""
    layers_of: dict[str, list[str]] = {}
    for layer in memory.layers:
        for note in layer.notes:
            layers_of.setdefault(note, []).append(printable(layer.name))
    lines = []
    for note, names in layers_of.items():
        shown = ", ".join(names[:SHOWN_SHARERS]) + (f" and {len(names) - SHOWN_SHARERS} more"
                                                   if len(names) > SHOWN_SHARERS else "")
        lines.append(f"{shown}: {note}")
    return lines


def caveat_lines(memory: TrainingMemory) -> list[str]:
    lines = ["This is the memory held between the forward and the backward pass: the floor of the training peak."]
    if memory.device == "cpu":
        lines.append("CPU rules are measured exactly (PyTorch 2.13, saved_tensors_hooks, each storage once).")
    else:
        lines.append("CUDA differs from CPU where PyTorch's CUDA kernels keep other tensors (taken from its sources:"
                     " fused dropout keeps a 1-byte bool mask; float16/bfloat16 normalization statistics are"
                     " float32); it is not measured here.")
    lines.append("Not modelled: " + "; ".join(memory.not_modelled) + ".")
    return lines


def render_text(memory: TrainingMemory) -> str:
    titles = ("Layer (type)", "Keeps for backward", "Bytes")
    rows = [(f"{printable(layer.name)} ({layer.type})", printable(keeps_text(layer)),
             grouped(layer.saved_activation_bytes))
            for layer in memory.layers]
    widths = [max(len(titles[i]), *(len(row[i]) for row in rows)) if rows else len(titles[i]) for i in range(3)]
    width = sum(widths) + 4

    def row(cells: tuple[str, str, str]) -> str:
        return f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"

    lines = [heading(memory), "=" * width, row(titles), "=" * width]
    lines += [row(cells) for cells in rows]
    lines.append("=" * width)
    numbers = total_rows(memory)
    label_width = max(len(label) for label, _, _ in numbers)
    byte_width = len(grouped(memory.totals.total_bytes)) + 2
    for label, nbytes, remark in numbers:
        lines.append(f"{label:<{label_width}}  {grouped(nbytes) + ' B':>{byte_width}}  {size_text(nbytes):>11}"
                     + (f"  {remark}" if remark else ""))
    lines.append("-" * width)
    total = memory.totals.total_bytes
    lines.append(f"{'Total':<{label_width}}  {grouped(total) + ' B':>{byte_width}}  {size_text(total):>11}"
                 f"  = {grouped(memory.fixed_bytes)} B fixed + {memory.batch_size:,} ×"
                 f" {grouped(memory.per_sample_bytes)} B per sample")
    lines += fit_lines(memory)
    lines.append("=" * width)
    lines += caveat_lines(memory)
    lines += [f"note: {line}" for line in grouped_notes(memory)]
    lines += [f"warning: {warning}" for warning in memory.warnings]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return printable(text).replace("\\", "\\\\").replace("|", "\\|")


def render_markdown(memory: TrainingMemory) -> str:
    lines = [f"### {_cell(memory.name or 'network')}: training memory", "",
             f"Batch size {memory.batch_size}, {memory.dtype}, {OPTIMIZER_NAMES[memory.optimizer]},"
             f" {DEVICE_NAMES[memory.device]}; input `{shape_text(memory.input_shape)}`.", "",
             "| Layer | Type | Keeps for backward | Bytes |", "|---|---|---|---:|"]
    lines += [f"| {_cell(layer.name)} | {layer.type} | {_cell(keeps_text(layer))} |"
              f" {grouped(layer.saved_activation_bytes)} |" for layer in memory.layers]
    lines += ["", "| Total | Bytes | Size | |", "|---|---:|---:|---|"]
    for label, nbytes, remark in total_rows(memory):
        lines.append(f"| {label} | {grouped(nbytes)} | {size_text(nbytes)} | {_cell(remark)} |")
    total = memory.totals.total_bytes
    lines.append(f"| **Total** | **{grouped(total)}** | **{size_text(total)}** | {grouped(memory.fixed_bytes)} fixed"
                 f" + {memory.batch_size:,} × {grouped(memory.per_sample_bytes)} per sample |")
    extra = fit_lines(memory) + caveat_lines(memory)
    lines += ["", *(f"- {_cell(line)}" for line in extra)]
    lines += [f"- Note: {_cell(line)}" for line in grouped_notes(memory)]
    lines += [f"- **Warning**: {_cell(warning)}" for warning in memory.warnings]
    return "\n".join(lines) + "\n"


def _tensor_json(tensor: SavedTensor, text: Callable[[str], str] = json.encoder.encode_basestring_ascii) -> str:
    extra = ""
    if tensor.first_saved_by is not None:
        extra += f', "first_saved_by": {text(tensor.first_saved_by)}'
    if tensor.source is not None:
        extra += f', "from": {text(tensor.source)}'
    if tensor.shared_with:
        extra += ', "shared_with": [' + ", ".join(f'{{"layer": {text(layer)}, "what": {text(what)}}}'
                                                   for layer, what in tensor.shared_with) + "]"
    return (f'{{"what": {text(tensor.what)}, "shape": [{", ".join(map(str, tensor.shape))}],'
            f' "dtype": {text(tensor.dtype)}, "bytes": {tensor.bytes}{extra}}}')


def _layer_json(layer: LayerMemory, text: Callable[[str], str] = json.encoder.encode_basestring_ascii) -> str:
    notes = f', "notes": {json.dumps(list(layer.notes))}' if layer.notes else ""
    return (f'{{"name": {text(layer.name)}, "type": {text(layer.type)}, "saved_activation_bytes":'
            f' {layer.saved_activation_bytes}, "saved": [{", ".join(map(_tensor_json, layer.saved))}],'
            f' "requires_grad": {"true" if layer.requires_grad else "false"}{notes}}}')


def render_json(memory: TrainingMemory) -> str:
    """One object, one layer per line. Layers are written here directly (the same text json.dumps gives
    for `LayerMemory.to_dict()`, a test checks it): 10,000-layer specs are common enough."""
    document = memory.to_dict(layers=False)
    layers = ",\n    ".join(map(_layer_json, memory.layers))
    fields = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in document.items()]
    fields.insert(6, f'  "layers": [\n    {layers}\n  ]')
    return "{\n" + ",\n".join(fields) + "\n}\n"


MEMORY_FORMATS: dict[str, Callable[[TrainingMemory], str]] = {
    "text": render_text, "markdown": render_markdown, "json": render_json,
}

__all__ = ["MEMORY_FORMATS", "keeps_text", "render_json", "render_markdown", "render_text", "size_text",
           "tensor_text"]
