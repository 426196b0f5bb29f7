"""Receptive fields: for each layer, which input pixels can influence one output position.

The standard arithmetic (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks", Distill 2019), per spatial axis, through a sliding window with kernel k,
stride s, left padding p and dilation d (effective kernel k' = d·(k − 1) + 1):

    r = r_in + (k' − 1)·S_in        receptive field size
    S = S_in·s                      effective stride (jump between neighbouring outputs)
    P = P_in + p·S_in               effective padding

and the first output's field is centred on input coordinate (r − 1)/2 − P. Layers that keep
positions (activations, normalization) keep the field; where paths merge (add, mul, concat
on channels) the largest field over the inputs is taken. Flatten, linear, uneven adaptive
pooling and transposed convolutions end the arithmetic (no field is reported after them).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..layers.base import END, KEEP, MERGE, SLIDE
from ..layers.conv import axis_letters
from ..network import FLOAT, LayerResult, Network
from ..numbers import general


@dataclass(frozen=True)
class AxisField:
    size: int
    stride: int
    padding: int

    @property
    def center(self) -> Fraction:
        """Input coordinate of the centre of the first output's field (may be negative or a half)."""
        return Fraction(self.size - 1, 2) - self.padding


@dataclass(frozen=True)
class ReceptiveField:
    axes: tuple[str, ...]
    fields: tuple[AxisField, ...]

    def text(self, what: str) -> str:
        """`size`, `stride`, `padding` or `center` as `11` or `11×7` when the axes differ."""
        values = [getattr(axis, what) for axis in self.fields]
        shown = [str(value) if not isinstance(value, Fraction) or value.denominator == 1 else general(value)
                 for value in values]
        return shown[0] if len(set(shown)) == 1 else "×".join(shown)


def _slide(field: ReceptiveField, layer: LayerResult) -> ReceptiveField | None:
    if len(layer.windows) != len(field.fields) or any(window.transposed for window in layer.windows):
        return None
    fields = []
    for axis, window in zip(field.fields, layer.windows):
        span = window.dilation * (window.kernel - 1) + 1
        fields.append(AxisField(axis.size + (span - 1) * axis.stride, axis.stride * window.stride,
                                axis.padding + window.padding * axis.stride))
    return ReceptiveField(field.axes, tuple(fields))


def _merge(fields: list[ReceptiveField | None]) -> ReceptiveField | None:
    known = [field for field in fields if field is not None]
    if not known or any(field.axes != known[0].axes for field in known):
        return None
    largest = []
    for axis in range(len(known[0].axes)):
        largest.append(max((field.fields[axis] for field in known), key=lambda f: (f.size, f.padding)))
    return ReceptiveField(known[0].axes, tuple(largest))


def receptive_fields(network: Network) -> dict[str, ReceptiveField | None]:
    """The receptive field of every layer's output, by layer name (None where it is not defined)."""
    def start(shape: tuple[int, ...], dtype: str) -> ReceptiveField | None:
        spatial = len(shape) - 1
        if dtype != FLOAT or not 1 <= spatial <= 3:   # token ids, vectors: no spatial layout to follow
            return None
        return ReceptiveField(axis_letters(spatial), (AxisField(1, 1, 0),) * spatial)

    fields: dict[str, ReceptiveField | None] = {"input": start(network.input_shape, network.input_dtype)}
    fields.update({item.name: start(item.shape, item.dtype) for item in network.inputs})
    for layer in network.layers:
        # output 0 carries the layout; the other outputs of a layer (h_n, split pieces) have none
        inputs = [fields.get(source) for source in layer.sources]
        if not inputs:
            fields[layer.name] = None
        elif layer.layout == MERGE:
            fields[layer.name] = _merge(inputs)
        elif inputs[0] is None or layer.layout == END:
            fields[layer.name] = None
        elif layer.layout == SLIDE:
            fields[layer.name] = _slide(inputs[0], layer)
        elif layer.layout == KEEP and len(layer.output_shape) - 1 == len(inputs[0].axes):
            fields[layer.name] = inputs[0]
        else:
            fields[layer.name] = None
    return {layer.name: fields[layer.name] for layer in network.layers}


__all__ = ["AxisField", "ReceptiveField", "receptive_fields"]
