"""Shape-preserving layers: identity, dropout and the activations.

Output shape = input shape; no MACs (their element-wise work is not multiply-accumulate).
Only PReLU has parameters: one slope, or one per channel.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from ..formula import Bind
from ..problems import LayerError
from .base import Axis, Count, Flag, Layer, Outcome, Real, Shape, Variant, axis_names, require_rank
from .reshape import batch_axis


class _ShapePreserving(Layer):
    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        return Outcome(shape=list(shape), axes=axis_names(len(shape)))


class _InPlace(_ShapePreserving):
    inplace: Flag = False


class _Dropout(_InPlace):
    ranks: ClassVar[tuple[int, ...] | None] = None  # per-sample ranks PyTorch accepts (channel-wise dropout)
    p: Real = 0.5

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        if self.ranks is not None:
            require_rank(self, inputs[0], self.ranks, {2: "[C, L]", 3: "[C, H, W]", 4: "[C, D, H, W]"}[self.ranks[0]])
        return super().evaluate(inputs, bind)

    @field_validator("p")
    @classmethod
    def _probability(cls, p: float) -> float:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
        return p


    def notes(self, inputs: list[Shape]) -> list[str]:
        return [f"zeroes elements with probability p = {self.p} while training and scales the rest by 1/(1 − p);"
                " no parameters, and the identity at inference"]


class _Softmax(_ShapePreserving):
    dim: Axis | None = Field(default=None, description="Axis (batch axis = 0); PyTorch warns when omitted.")

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        if self.dim is not None:
            batch_axis(self, "dim", self.dim, len(inputs[0]))
        return super().evaluate(inputs, bind)


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
                       axes=axis_names(len(shape)))


LAYERS = {
    "identity": Variant(_ShapePreserving, "Identity"),
    "dropout": Variant(_Dropout, "Dropout"),
    "dropout1d": Variant(_Dropout, "Dropout1d", ranks=(2,)),
    "dropout2d": Variant(_Dropout, "Dropout2d", ranks=(3,)),
    "dropout3d": Variant(_Dropout, "Dropout3d", ranks=(4,)),
    "relu": Variant(_InPlace, "ReLU"),
    "relu6": Variant(_InPlace, "ReLU6"),
    "leakyrelu": Variant(_InPlace, "LeakyReLU", {"negative_slope": (Real, 0.01)}),
    "elu": Variant(_InPlace, "ELU", {"alpha": (Real, 1.0)}),
    "gelu": Variant(_ShapePreserving, "GELU", {"approximate": (Literal["none", "tanh"], "none")}),
    "silu": Variant(_InPlace, "SiLU"),
    "mish": Variant(_InPlace, "Mish"),
    "sigmoid": Variant(_ShapePreserving, "Sigmoid"),
    "tanh": Variant(_ShapePreserving, "Tanh"),
    "hardswish": Variant(_InPlace, "Hardswish"),
    "hardsigmoid": Variant(_InPlace, "Hardsigmoid"),
    "softmax": Variant(_Softmax, "Softmax"),
    "logsoftmax": Variant(_Softmax, "LogSoftmax"),
    "prelu": PReLU,
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {tag: [("", {}, [[64, 28, 28]])] for tag in LAYERS}
EXAMPLES["dropout1d"] = [("", {}, [[64, 100]])]
EXAMPLES["dropout3d"] = [("", {}, [[16, 4, 8, 8]])]
EXAMPLES["prelu"] = [("one slope per channel", {"num_parameters": 64}, [[64, 28, 28]])]
EXAMPLES["softmax"] = [("", {"dim": 1}, [[10]])]
EXAMPLES["logsoftmax"] = [("", {"dim": 1}, [[10]])]

__all__ = ["LAYERS", "PReLU"]
