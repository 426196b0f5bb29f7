"""A propagated network: per-layer results, totals and the torchsummary memory estimate.

These are plain values: analyses (`archcalc.analysis`) are functions of a `Network`, formatters in
`archcalc.report` read them, and nothing here imports either of them or prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from math import prod
from typing import Any, Callable, NamedTuple

from .layers import Layer, Shape
from .layers.base import Window
from .numbers import json_number
from .problems import Problem

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}
# Element sizes of every dtype a tensor in the graph can have.
ELEMENT_BYTES = {**DTYPE_BYTES, "int64": 8, "int32": 4, "int16": 2, "uint8": 1, "bool": 1}
# A tensor's dtype in the graph: FLOAT is the model's floating-point dtype, chosen when it is measured
# (`--dtype`); integer and bool tensors (token ids, masks) name their own.
FLOAT = "float"
MEBIBYTE = 1024 * 1024

# How notebooks show a Network or a Summary (`_repr_html_`, `_repr_markdown_`): the formatters live above this
# module (archcalc.report), so the package registers them here when it is imported (archcalc/__init__.py).
DISPLAYS: dict[str, Callable[[Any], str]] = {}


def _display(kind: str, value: Any) -> str | None:
    """The registered `kind` ("html", "markdown") rendering of `value`; None (the plain repr) without one."""
    render = DISPLAYS.get(kind)
    return None if render is None else render(value)


def element_bytes(dtype: str, float_dtype: str) -> int:
    """Bytes per element of a graph tensor of `dtype` when the model's floating dtype is `float_dtype`."""
    return ELEMENT_BYTES[float_dtype if dtype == FLOAT else dtype]


class LayerResult(NamedTuple):
    """One layer after propagation: where its input came from and what it produced.

    Immutable, with named fields like a frozen dataclass; a named tuple because propagation makes one per
    layer, and a tuple is built in one step where a frozen dataclass sets its 18 fields one by one
    (0.3 µs against 2.1 µs)."""

    index: int
    name: str
    type: str
    sources: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    trainable_params: int
    macs: int
    buffers: int
    spec: Layer
    layout: str = "keep"
    windows: tuple[Window, ...] = ()
    input_dtypes: tuple[str, ...] = ()
    output_dtype: str = FLOAT
    output_shapes: tuple[Shape, ...] = ()     # every output (`NAME:INDEX`); [0] is output_shape
    shared_with: str | None = None            # `share:` the layer whose module (and parameters) this call uses
    inactive_params: int = 0                  # of `params`, those a token does not use: (experts − top_k)·expert
                                              # params of a mixture of experts; active per token = params − this

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def output_elements(self) -> int:
        return prod(self.output_shape)


# The small immutable values are named tuples: every run imports this module, and a frozen dataclass
# costs seven times a named tuple to define (valgrind: 3.7 M instructions against 0.5 M).
class NetworkInput(NamedTuple):
    """One input of the network: its name (`input` when there is one), per-sample shape and dtype."""

    name: str
    shape: Shape
    dtype: str = FLOAT


class Totals(NamedTuple):
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    flops: int
    buffers: int

    @classmethod
    def of(cls, layers: list[LayerResult]) -> Totals:
        params = trainable = macs = buffers = 0
        for layer in layers:   # one pass, not four
            params += layer.params
            trainable += layer.trainable_params
            macs += layer.macs
            buffers += layer.buffers
        return cls(params, trainable, params - trainable, macs, 2 * macs, buffers)


class MemoryEstimate(NamedTuple):
    """torchsummary's estimate: input, every layer output twice (forward + gradient), parameters.

    Bytes are exact integers; `*_mb` give torchsummary's MB (2**20 bytes).
    """

    batch_size: int
    dtype: str
    input_bytes: int
    forward_backward_bytes: int
    params_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.input_bytes + self.forward_backward_bytes + self.params_bytes

    def mb(self, what: str) -> float:
        return getattr(self, f"{what}_bytes") / MEBIBYTE


@dataclass(frozen=True)
class Network:
    """A validated, propagated architecture: the result of `archcalc.load()`."""

    name: str | None
    input_shape: Shape
    layers: list[LayerResult]
    path: str = "<spec>"
    input_dtype: str = FLOAT
    inputs: tuple[NetworkInput, ...] = ()
    warnings: tuple[Problem, ...] = ()
    expect: Any = field(default=None, repr=False)   # the spec's `expect:` budgets (archcalc.budgets.Expect)
    source: Any = field(default=None, repr=False)   # the parsed YAML, to locate problems found later

    @cached_property
    def totals(self) -> Totals:
        return Totals.of(self.layers)

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].output_shape

    def layer(self, name: str) -> LayerResult:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def summary(self, batch_size: int = 1, dtype: str = "float32") -> Summary:
        """The network at a batch size and dtype (with receptive fields: `archcalc.summarize`)."""
        return Summary(self, batch_size, dtype)

    def _repr_html_(self) -> str | None:
        return _display("html", self)

    def _repr_markdown_(self) -> str | None:
        return _display("markdown", self)


@dataclass(frozen=True)
class Summary:
    """A network seen at a batch size and dtype: what `archcalc summary` reports."""

    network: Network
    batch_size: int = 1
    dtype: str = "float32"
    receptive_fields: dict[str, Any] | None = None  # per layer name, when formatters show receptive fields

    @property
    def receptive_field(self) -> bool:
        return self.receptive_fields is not None

    def _repr_html_(self) -> str | None:
        return _display("html", self)

    def _repr_markdown_(self) -> str | None:
        return _display("markdown", self)

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch size must be a positive integer, got {self.batch_size!r}")
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype {self.dtype!r}; choose from {', '.join(DTYPE_BYTES)}")

    @property
    def name(self) -> str | None:
        return self.network.name

    @property
    def input_shape(self) -> Shape:
        return self.network.input_shape

    @property
    def layers(self) -> list[LayerResult]:
        return self.network.layers

    @property
    def totals(self) -> Totals:
        return self.network.totals

    @cached_property
    def memory(self) -> MemoryEstimate:
        size = DTYPE_BYTES[self.dtype]
        output_bytes = 0
        for layer in self.layers:
            elements = sum(map(prod, layer.output_shapes)) if layer.output_shapes else prod(layer.output_shape)
            output_bytes += elements * element_bytes(layer.output_dtype, self.dtype)
        inputs = self.network.inputs or (NetworkInput("input", self.input_shape, self.network.input_dtype),)
        input_bytes = sum(prod(item.shape) * element_bytes(item.dtype, self.dtype) for item in inputs)
        return MemoryEstimate(
            batch_size=self.batch_size,
            dtype=self.dtype,
            input_bytes=input_bytes * self.batch_size,
            forward_backward_bytes=2 * output_bytes * self.batch_size,
            params_bytes=self.totals.params * size,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of contract §4, with a few extra keys."""
        totals, memory = self.totals, self.memory
        fields = self.receptive_fields if self.receptive_field else {}
        document = {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "inputs": [{"name": item.name, "shape": list(item.shape),
                        "dtype": self.dtype if item.dtype == FLOAT else item.dtype} for item in self.network.inputs],
            "output_shape": list(self.network.output_shape),
            "layers": [
                {
                    "name": layer.name, "type": layer.type, "inputs": list(layer.sources),
                    "output_shape": list(layer.output_shape),
                    **({"output_shapes": [list(shape) for shape in layer.output_shapes]}
                       if len(layer.output_shapes) > 1 else {}),
                    **({"shared_with": layer.shared_with} if layer.shared_with else {}),
                    "params": layer.params,
                    **({"inactive_params": layer.inactive_params} if layer.inactive_params else {}),
                    "trainable_params": layer.trainable_params, "macs": layer.macs, "buffers": layer.buffers,
                    **({"receptive_field": _field_json(fields.get(layer.name))} if self.receptive_field else {}),
                }
                for layer in self.layers
            ],
            "totals": {
                "params": totals.params, "trainable_params": totals.trainable_params,
                "non_trainable_params": totals.non_trainable_params, "macs": totals.macs, "flops": totals.flops,
                "buffers": totals.buffers,
            },
            "warnings": [
                {"line": warning.line, "column": warning.column, "layer": warning.layer, "code": warning.code,
                 "message": warning.message}
                for warning in self.network.warnings
            ],
            "memory": {
                "batch_size": memory.batch_size, "dtype": memory.dtype, "input_bytes": memory.input_bytes,
                "forward_backward_bytes": memory.forward_backward_bytes, "params_bytes": memory.params_bytes,
                "total_bytes": memory.total_bytes,
            },
        }
        return document


def _field_json(field: Any) -> Any:
    if field is None:
        return None
    return {"axes": list(field.axes), "size": [axis.size for axis in field.fields],
            "stride": [axis.stride for axis in field.fields], "padding": [axis.padding for axis in field.fields],
            "center": [json_number(axis.center) for axis in field.fields]}


__all__ = ["DISPLAYS", "DTYPE_BYTES", "ELEMENT_BYTES", "FLOAT", "LayerResult", "NetworkInput", "element_bytes", "MemoryEstimate", "Network", "Summary", "Totals"]
