"""Normalization: batchnorm1d/2d/3d and layernorm.

Batch norm over C channels: 2·C parameters (γ, β) when affine; running mean and variance
(C each) and an int64 batch counter are buffers, not parameters. Layer norm over the trailing
`normalized_shape`: one γ (and β with bias) per normalized element. No MACs (element-wise work).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from ..formula import Bind, product
from ..problems import LayerError
from .autograd import MODEL, NEW, NOTHING, Backward, Context, Kept, batched
from .base import (
    Count, Flag, Layer, Outcome, Real, Shape, Variant, _per_axis_checker, _per_axis_schema, axis_names,
    declared_matches, require_rank,
)
from .conv import axis_letters
from .counting import Rule, View, only_module


def _check_momentum(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValueError(f"expected a number or null (cumulative average), got {raw!r}")
    return float(raw)


Momentum = Annotated[float | None, PlainValidator(_check_momentum),
                     WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "null"}]})]


class _BatchNorm(Layer):
    ranks: ClassVar[tuple[int, ...]]
    layout: ClassVar[str]

    num_features: Count | None = Field(default=None, description="Optional; must equal the incoming channels.")
    eps: Real = 1e-5
    momentum: Momentum = 0.1
    affine: Flag = True
    track_running_stats: Flag = True

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        require_rank(self, shape, self.ranks, self.layout)
        declared_matches("num_features", self.num_features, shape[0], "channel count")
        channels = bind("C", shape[0])
        params = 2 * channels if self.affine else 0
        # running_mean and running_var, plus num_batches_tracked (one int64)
        buffers = 2 * channels + 1 if self.track_running_stats else 0
        return Outcome(shape=[channels, *shape[1:]], params=params, buffers=buffers,
                       axes=("C", *(axis_letters(len(shape) - 1) if len(shape) > 1 else ())))


    def notes(self, inputs: list[Shape]) -> list[str]:
        notes = ["params: γ (scale) and β (shift), one each per channel" if self.affine else
                 "affine: false, so no γ and β parameters"]
        if self.track_running_stats:
            notes.append("buffers: running_mean and running_var (C each) and num_batches_tracked (1);"
                         " PyTorch keeps them in the state dict, but they are not parameters")
        return notes

    def saved(self, context: Context) -> Backward:
        """NativeBatchNormBackward0 keeps the input and the batch statistics save_mean and save_invstd, one
        per channel, whenever the input or γ/β need a gradient; the output is new and not kept."""
        if not context.needs_grad:
            return NOTHING
        shape = context.inputs[0]
        channels, dtype = (shape[0],), context.stats_dtype
        notes = ()
        if context.device == "cuda" and self.affine and len(shape) > 1 and context.dtype == "float32":
            notes = (_CUDNN_RESERVE,)
        if max(shape[1:], default=1) == 1:
            notes += (_ONE_VALUE,)
        return Backward((_INPUT, Kept("mean", NEW, channels, dtype), Kept("invstd", NEW, channels, dtype)), notes=notes)

    def parameter_tensors(self) -> int:
        return 2 if self.affine else 0

    def buffer_tensors(self, inputs: list[Shape]) -> list[tuple[int, str]]:
        if not self.track_running_stats:
            return []
        return [(inputs[0][0], MODEL), (inputs[0][0], MODEL), (1, "int64")]

    def moving_statistics(self, inputs: list[Shape]) -> int:
        """Keras's BatchNormalization holds moving_mean and moving_variance as non-trainable weights."""
        return 2 * inputs[0][0] if self.track_running_stats else 0


class LayerNorm(Layer):
    """torch.nn.LayerNorm: normalizes over the trailing `normalized_shape` axes."""

    type: Literal["layernorm"]
    normalized_shape: Annotated[Any, PlainValidator(_per_axis_checker(1)), WithJsonSchema(_per_axis_schema(1))]
    eps: Real = 1e-5
    elementwise_affine: Flag = True
    bias: Flag = True

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        normalized = self.normalized_shape if isinstance(self.normalized_shape, tuple) else (self.normalized_shape,)
        if len(normalized) > len(shape) or tuple(shape[len(shape) - len(normalized):]) != normalized:
            raise LayerError(f"normalized_shape {list(normalized)} does not match the trailing axes of the"
                             f" incoming shape {list(shape)}", key="normalized_shape", code="mismatch")
        names = axis_names(len(shape))[len(shape) - len(normalized):]
        elements = product(bind(name, n) for name, n in zip(names, normalized))
        if not self.elementwise_affine:
            params = 0
        else:
            params = 2 * elements if self.bias else elements
        return Outcome(shape=list(shape), params=params, axes=axis_names(len(shape)))

    def notes(self, inputs: list[Shape]) -> list[str]:
        return ["normalizes over the trailing normalized_shape axes of each sample; params: one γ"
                + (" and one β" if self.bias else "") + " per normalized element" if self.elementwise_affine else
                "elementwise_affine: false, so no parameters"]

    def saved(self, context: Context) -> Backward:
        """NativeLayerNormBackward0 keeps the input and, for every normalized row, its mean and 1/std (shaped
        like the input with the normalized axes set to 1), whenever the input or γ/β need a gradient."""
        if not context.needs_grad:
            return NOTHING
        shape = context.inputs[0]
        axes = len(self.normalized_shape) if isinstance(self.normalized_shape, tuple) else 1
        rows = batched((*shape[:len(shape) - axes], *(1,) * axes))
        dtype = context.stats_dtype
        return Backward((_INPUT, Kept("mean", NEW, rows, dtype), Kept("rstd", NEW, rows, dtype)))

    def parameter_tensors(self) -> int:
        return (2 if self.bias else 1) if self.elementwise_affine else 0


_INPUT = Kept("input", 0)
_CUDNN_RESERVE = "on CUDA this batch norm runs in cuDNN, whose reserve buffer is not modelled"
_ONE_VALUE = "at batch size 1 PyTorch refuses to train it: batch norm needs more than one value per channel"

# ---------------------------------------------------------------------------------------------- counting conventions
# (archcalc.layers.counting; measured against the real tools, docs/conventions.md)

def _fvcore_batchnorm(v: View) -> dict[str, int]:
    statistics = v.training or not v.spec.track_running_stats
    return {"batchnorm": v.N * v.X * ((5 if v.affine else 4) if statistics else (2 if v.affine else 1))}


def _calflops_batchnorm(v: View) -> dict[str, int]:
    statistics = not v.spec.track_running_stats
    return {"batchnorm": v.N * v.X * ((5 if v.affine else 4) if statistics else (2 if v.affine else 1))}


_BatchNorm.inferred_argument = ("num_features", 0)
_BatchNorm.convention_row = "batchnorm"
_BatchNorm.module_only = True
_BatchNorm.counting = {
    "fvcore": Rule(lambda options: "N·X·(affine ? 5 : 4) (train mode)" if options.get("training") else
                   "N·X·(affine ? 2 : 1); track_running_stats false: N·X·(affine ? 5 : 4)", _fvcore_batchnorm),
    "ptflops": Rule("X·(affine ? 2 : 1)", lambda v: {"batchnorm": v.X * (2 if v.affine else 1)}),
    "thop": only_module("N·X·(affine ? 4 : 2) (Lyken17/pytorch-OpCounter#196, #226: doubled twice)",
                        lambda v: {"batchnorm": v.N * v.X * (4 if v.affine else 2)}),
    "thop-readme": only_module("4·N·X", lambda v: {"batchnorm": 4 * v.N * v.X}),
    "torchinfo": only_module("N·params (2C if affine)", lambda v: {"batchnorm": v.N * v.params}),
    "calflops": Rule("N·X·(affine ? 2 : 1); track_running_stats false: N·X·(affine ? 5 : 4)", _calflops_batchnorm),
}
LayerNorm.pytorch = "torch.nn.LayerNorm"
LayerNorm.convention_row = "layernorm"
LayerNorm.module_only = True
LayerNorm.counting = {
    "fvcore": Rule("N·X·(elementwise_affine ? 5 : 4)", lambda v: {"layernorm": v.N * v.X * (5 if v.affine else 4)}),
    "ptflops": Rule("X (elementwise_affine ignored: the hook reads `affine`)", lambda v: {"layernorm": v.X}),
    "thop": only_module("N·X·(elementwise_affine ? 4 : 2)",
                        lambda v: {"layernorm": v.N * v.X * (4 if v.affine else 2)}),
    "torchinfo": only_module("N·params", lambda v: {"layernorm": v.N * v.params}),
    "calflops": Rule("N·X·(elementwise_affine ? 5 : 4)",
                     lambda v: {"layernorm": v.N * v.X * (5 if v.affine else 4)}),
}


TITLE = "Normalization"  # the family in docs/formulas.md and docs/memory.md
ORDER = 3  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"batchnorm": "batchnorm2d", "bn": "batchnorm2d", "layer_norm": "layernorm"}

LAYERS = {
    "batchnorm1d": Variant(_BatchNorm, "BatchNorm1d", ranks=(1, 2), layout="[C] or [C, L]"),
    "batchnorm2d": Variant(_BatchNorm, "BatchNorm2d", ranks=(3,), layout="[C, H, W]"),
    "batchnorm3d": Variant(_BatchNorm, "BatchNorm3d", ranks=(4,), layout="[C, D, H, W]"),
    "layernorm": LayerNorm,
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "batchnorm1d": [("", {}, [[64, 100]])],
    "batchnorm2d": [("", {}, [[64, 56, 56]]), ("affine false", {"affine": False}, [[64, 56, 56]])],
    "batchnorm3d": [("", {}, [[16, 4, 8, 8]])],
    "layernorm": [("", {"normalized_shape": 512}, [[49, 512]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
MEMORY_FACTS = {
    **{tag: "NativeBatchNormBackward0 keeps the input plus save_mean and save_invstd, one value per channel each"
            " (running_mean, running_var and γ are kept too, but are buffers and parameters), whenever the input"
            " or γ/β need a gradient; a frozen or affine: false batch norm before any trainable layer keeps"
            " nothing. The statistics do not grow with the batch: they are the constant part of the saved bytes."
            " On CPU they have the model's dtype; on CUDA float32 for float16/bfloat16 models (the accumulation"
            " type, from PyTorch's sources). Measured (float32): batchnorm2d on [2, 4, 6, 6] keeps"
            " 1,152 + 2·4·4 = 1,184 B; batchnorm1d on [2, 12] 96 + 96 B; on [2, 4, 10] 320 + 32 B."
            " Buffers: running_mean and running_var in the model's dtype and an int64 num_batches_tracked,"
            " none with track_running_stats: false." for tag in ("batchnorm1d", "batchnorm2d", "batchnorm3d")},
    "layernorm": "NativeLayerNormBackward0 keeps the input plus mean and rstd, one value per normalized row each,"
                 " shaped like the input with the normalized axes set to 1, whenever the input or γ/β need a"
                 " gradient. On CPU they have the model's dtype; on CUDA float32 for float16/bfloat16 models."
                 " Measured (float32): normalized_shape 10 on [2, 4, 10] keeps 320 + 32 + 32 B; [6, 6] on"
                 " [2, 4, 6, 6] keeps 1,152 + 32 + 32 B.",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "batchnorm1d": [
        ("", {}, [[512]], None),
    ],
    "batchnorm2d": [
        ("", {}, [[64, 28, 28]], None),
        ("affine: false", {"affine": False}, [[64, 28, 28]], None),
        ("trainable: false", {"trainable": False}, [[64, 28, 28]], None),
    ],
    "batchnorm3d": [
        ("", {}, [[16, 4, 8, 8]], None),
    ],
    "layernorm": [
        ("", {"normalized_shape": 512}, [[49, 512]], None),
        ("elementwise_affine: false", {"normalized_shape": 512, "elementwise_affine": False}, [[49, 512]], None),
    ],
}

__all__ = ["LAYERS", "LayerNorm"]
