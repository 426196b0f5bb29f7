"""`archcalc explain` output: plain Unicode text, Markdown with LaTeX math, or JSON."""

from __future__ import annotations

import json

from ..analysis.explain import Explanation, Quantity
from ..formula import LATEX, TEXT
from ..analysis.receptive import ReceptiveField
from ..network import _field_json as field_json
from ..problems import json_printable, printable
from .numbers import shape_text


def _header(explanation: Explanation) -> str:
    layer = explanation.layer
    inputs = ", ".join(shape_text(shape) for shape in layer.input_shapes)
    sources = printable(", ".join(layer.sources))
    return f"{printable(layer.name)} ({layer.type}): {inputs} from {sources} → {shape_text(layer.output_shape)}"


def text_line(quantity: Quantity) -> str:
    parts = [quantity.label]
    formula, substituted = quantity.formula(TEXT), quantity.substituted(TEXT)
    if formula:
        parts.append(formula)
    if substituted and substituted != formula:
        parts.append(substituted)
    line = " = ".join(parts + [f"{quantity.value:,}"])
    return f"{line}   ({quantity.note})" if quantity.note else line


def field_sentence(field: ReceptiveField) -> str:
    axes = "×".join(field.axes)
    return (f"receptive field ({axes}): {field.text('size')} input positions, effective stride (jump)"
            f" {field.text('stride')}, effective padding {field.text('padding')}; the first output is centred on"
            f" input position {field.text('center')}")


def text(explanations: list[Explanation]) -> str:
    blocks = []
    for explanation in explanations:
        lines = [_header(explanation)]
        lines += [f"  {text_line(quantity)}" for quantity in explanation.quantities]
        lines += [f"  note: {note}" for note in explanation.notes]
        if explanation.receptive_field is not None:
            lines.append(f"  {field_sentence(explanation.receptive_field)}")
        lines += [f"  warning: {warning.message.split(': ', 1)[-1]}" for warning in explanation.warnings]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def latex_label(label: str) -> str:
    base, _, sub = label.partition("_")
    return f"{base}_{{\\mathrm{{{sub}}}}}" if sub else f"\\mathrm{{{label}}}"


def markdown_line(quantity: Quantity) -> str:
    """`- $label = formula = substituted = value$ (note)`, LaTeX math for GitHub and Jupyter."""
    parts = [latex_label(quantity.label)]
    formula, substituted = quantity.formula(LATEX), quantity.substituted(LATEX)
    if formula:
        parts.append(formula)
    if substituted and substituted != formula:
        parts.append(substituted)
    parts.append(f"{quantity.value:,}".replace(",", "{,}"))
    note = f" ({quantity.note})" if quantity.note else ""
    return f"- ${' = '.join(parts)}${note}"


def markdown(explanations: list[Explanation]) -> str:
    blocks = []
    for explanation in explanations:
        layer = explanation.layer
        inputs = ", ".join(f"`{shape_text(shape)}`" for shape in layer.input_shapes)
        lines = [f"### `{printable(layer.name).replace('`', chr(39))}` ({layer.type})", "",
                 f"{inputs} → `{shape_text(layer.output_shape)}`", ""]
        lines += [markdown_line(quantity) for quantity in explanation.quantities]
        lines += [f"- {note}" for note in explanation.notes]
        if explanation.receptive_field is not None:
            lines.append(f"- {field_sentence(explanation.receptive_field)}")
        lines += [f"- **warning**: {warning.message.split(': ', 1)[-1]}" for warning in explanation.warnings]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def json_document(explanations: list[Explanation]) -> str:
    layers = []
    for explanation in explanations:
        layer = explanation.layer
        layers.append({
            "name": layer.name, "type": layer.type, "inputs": list(layer.sources),
            "input_shapes": [list(shape) for shape in layer.input_shapes], "output_shape": list(layer.output_shape),
            "quantities": [{"quantity": quantity.label, "formula": quantity.formula(TEXT),
                            "substituted": quantity.substituted(TEXT), "latex": quantity.formula(LATEX),
                            "value": quantity.value, "note": quantity.note or None}
                           for quantity in explanation.quantities],
            "notes": list(explanation.notes),
            "receptive_field": field_json(explanation.receptive_field),
            "warnings": [warning.message for warning in explanation.warnings],
        })
    return json_printable(json.dumps({"layers": layers}, indent=2, ensure_ascii=False)) + "\n"


EXPLAIN_FORMATS = {"text": text, "markdown": markdown, "json": json_document}

__all__ = ["EXPLAIN_FORMATS", "field_sentence", "latex_label", "markdown_line", "text_line"]
