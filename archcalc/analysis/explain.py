"""Explanations: every number of a layer as formula → formula with its numbers → value.

The explanation runs the layer's own rules (`Layer.evaluate`) a second time with symbolic
bindings (`archcalc.formula.symbolic`): the expressions printed are the ones that computed the
summary, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..formula import TEXT, Expr, Number, Style, Symbol, symbolic, value
from ..problems import Problem
from .receptive import ReceptiveField, receptive_fields
from ..network import LayerResult, Network


@dataclass(frozen=True)
class Quantity:
    """One explained number: `label = formula = substituted = value`."""

    label: str
    expression: Number
    note: str = ""

    @property
    def value(self) -> int:
        return value(self.expression)

    def formula(self, style: Style = TEXT) -> str | None:
        """The general formula, or None for a number that is simply given or passed through."""
        if not isinstance(self.expression, Expr):
            return None
        if isinstance(self.expression, Symbol) and self.expression.name == self.label:
            return None
        return self.expression.render(style)

    def substituted(self, style: Style = TEXT) -> str | None:
        if not isinstance(self.expression, Expr) or isinstance(self.expression, Symbol):
            return None
        return self.expression.render(style, substitute=True)


@dataclass(frozen=True)
class Explanation:
    layer: LayerResult
    quantities: tuple[Quantity, ...]
    notes: tuple[str, ...]
    receptive_field: ReceptiveField | None
    warnings: tuple[Problem, ...]


def _axis_label(axis: str) -> str:
    return f"{axis}_out"


def explain_layer(layer: LayerResult) -> tuple[tuple[Quantity, ...], tuple[str, ...]]:
    outcome = layer.spec.evaluate(list(layer.input_shapes), symbolic)
    axes = list(outcome.axes) or [f"A{i + 1}" for i in range(len(outcome.shape))]
    quantities = []
    for axis, size in zip(axes, outcome.shape):
        note = "" if isinstance(size, Expr) else "unchanged from the input"
        quantities.append(Quantity(_axis_label(axis), size, note))
    if layer.shared_with:    # another call of a module: its parameters count once, at the module's first call
        quantities.append(Quantity("params", 0, f"the module of {layer.shared_with!r}, called again (share):"
                                                " its parameters count there"))
    else:
        params_note = "" if layer.spec.trainable or not layer.params else "frozen (trainable: false): all non-trainable"
        quantities.append(Quantity("params", outcome.params, params_note))
    quantities.append(Quantity("MACs", outcome.macs))
    if layer.buffers:
        quantities.append(Quantity("buffers", outcome.buffers, "running statistics: kept in the state, not parameters"))
    return tuple(quantities), tuple(layer.spec.notes(list(layer.input_shapes)))


def explain(network: Network, names: Sequence[str] | None = None) -> list[Explanation]:
    """Explanations of the named layers (all layers when `names` is empty), in network order."""
    wanted = set(names or ())
    fields = receptive_fields(network)
    warnings: dict[str | None, list[Problem]] = {}
    for warning in network.warnings:
        warnings.setdefault(warning.layer, []).append(warning)
    explanations = []
    for layer in network.layers:
        if wanted and layer.name not in wanted:
            continue
        quantities, notes = explain_layer(layer)
        explanations.append(Explanation(layer, quantities, notes, fields.get(layer.name),
                                        tuple(warnings.get(layer.name, ()))))
    return explanations


def check_consistency(explanation: Explanation) -> list[str]:
    """Differences between an explanation's values and the layer's computed numbers (none expected)."""
    layer, found = explanation.layer, []
    sizes = [quantity.value for quantity in explanation.quantities[:len(layer.output_shape)]]
    if tuple(sizes) != layer.output_shape:
        found.append(f"{layer.name}: explained shape {sizes} != {list(layer.output_shape)}")
    by_label = {quantity.label: quantity.value for quantity in explanation.quantities}
    for label, computed in (("params", layer.params), ("MACs", layer.macs), ("buffers", layer.buffers)):
        if by_label.get(label, 0) != computed:
            found.append(f"{layer.name}: explained {label} {by_label.get(label)} != {computed}")
    return found


__all__ = ["Explanation", "Quantity", "check_consistency", "explain", "explain_layer"]


