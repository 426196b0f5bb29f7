"""Shape-preserving layers: identity, dropout and the activations.

Output shape = input shape; no MACs (their element-wise work is not multiply-accumulate).
Only PReLU has parameters: one slope, or one per channel.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..formula import Bind
from ..problems import LayerError
from .base import Axis, Count, Flag, Layer, Outcome, Real, Shape
from .reshape import batch_axis


class _ShapePreserving(Layer):
    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        return Outcome(shape=list(shape), axes=tuple(f"A{i + 1}" for i in range(len(shape))))


class _InPlace(_ShapePreserving):
    inplace: Flag = False


class Identity(_ShapePreserving):
    type: Literal["identity"]


class _Dropout(_InPlace):
    p: Real = 0.5

    @field_validator("p")
    @classmethod
    def _probability(cls, p: float) -> float:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
        return p


class Dropout(_Dropout):
    type: Literal["dropout"]


class Dropout1d(_Dropout):
    type: Literal["dropout1d"]


class Dropout2d(_Dropout):
    type: Literal["dropout2d"]


class Dropout3d(_Dropout):
    type: Literal["dropout3d"]


class ReLU(_InPlace):
    type: Literal["relu"]


class ReLU6(_InPlace):
    type: Literal["relu6"]


class LeakyReLU(_InPlace):
    type: Literal["leakyrelu"]
    negative_slope: Real = 0.01


class ELU(_InPlace):
    type: Literal["elu"]
    alpha: Real = 1.0


class GELU(_ShapePreserving):
    type: Literal["gelu"]
    approximate: Literal["none", "tanh"] = "none"


class SiLU(_InPlace):
    type: Literal["silu"]


class Mish(_InPlace):
    type: Literal["mish"]


class Sigmoid(_ShapePreserving):
    type: Literal["sigmoid"]


class Tanh(_ShapePreserving):
    type: Literal["tanh"]


class Hardswish(_InPlace):
    type: Literal["hardswish"]


class Hardsigmoid(_InPlace):
    type: Literal["hardsigmoid"]


class _Softmax(_ShapePreserving):
    dim: Axis | None = Field(default=None, description="Axis (batch axis = 0); PyTorch warns when omitted.")

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        if self.dim is not None:
            batch_axis(self, "dim", self.dim, len(inputs[0]))
        return super().evaluate(inputs, bind)


class Softmax(_Softmax):
    type: Literal["softmax"]


class LogSoftmax(_Softmax):
    type: Literal["logsoftmax"]


class PReLU(Layer):
    """torch.nn.PReLU: num_parameters slopes, 1 or the channel count (axis 1 with the batch)."""

    type: Literal["prelu"]
    num_parameters: Count = 1
    init: Real = 0.25

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        if self.num_parameters != 1 and (not shape or shape[0] != self.num_parameters):
            channels = shape[0] if shape else 1
            raise LayerError(f"num_parameters is {self.num_parameters:,} but must be 1 or the channel count"
                             f" ({channels:,})", key="num_parameters", code="mismatch")
        return Outcome(shape=list(shape), params=bind("slopes", self.num_parameters),
                       axes=tuple(f"A{i + 1}" for i in range(len(shape))))


LAYERS = (Identity, Dropout, Dropout1d, Dropout2d, Dropout3d, ReLU, ReLU6, LeakyReLU, ELU, GELU, SiLU, Mish, Sigmoid,
          Tanh, Hardswish, Hardsigmoid, Softmax, LogSoftmax, PReLU)

__all__ = ["LAYERS", *(layer.__name__ for layer in LAYERS)]
