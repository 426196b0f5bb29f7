"""Normalization: batchnorm1d/2d/3d, instancenorm1d/2d/3d, groupnorm, layernorm and rmsnorm.

Batch norm over C channels: 2·C parameters (γ, β) when affine; running mean and variance
(C each) and an int64 batch counter are buffers, not parameters. Instance norm: the same, but
affine and track_running_stats default to false. Group norm: C must divide into num_groups; 2·C
parameters when affine. Layer norm over the trailing `normalized_shape`: one γ (and β with bias)
per normalized element; RMS norm: one γ per normalized element. No MACs (element-wise work).
"""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from ..formula import Bind, product
from ..problems import LayerError
from .autograd import BATCH, MODEL, NEW, NOTHING, Backward, Context, Kept, batched
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
        return Backward((_INPUT, Kept(_MEAN, NEW, channels, dtype), Kept("invstd", NEW, channels, dtype)), notes=notes)

    def parameter_tensors(self) -> int:
        return 2 if self.affine else 0

    def buffer_tensors(self, inputs: list[Shape]) -> list[tuple[int, str]]:
        if not self.track_running_stats:
            return []
        return [(inputs[0][0], MODEL), (inputs[0][0], MODEL), (1, "int64")]

    def moving_statistics(self, inputs: list[Shape]) -> int:
        """Keras's BatchNormalization holds moving_mean and moving_variance as non-trainable weights."""
        return 2 * inputs[0][0] if self.track_running_stats else 0


class _InstanceNorm(_BatchNorm):
    """torch.nn.InstanceNorm{1,2,3}d: per sample and channel; affine and tracking off by default."""

    affine: Flag = False
    track_running_stats: Flag = False

    def saved(self, context: Context) -> Backward:
        """Instance norm runs batch norm on the input viewed as [1, N·C, ...]: NativeBatchNormBackward0 keeps the
        input (a view: its storage), save_mean and save_invstd (N·C each), and the weight and running statistics
        it repeated N times (N·C each: new tensors, not the parameters or buffers)."""
        if not context.needs_grad:
            return NOTHING
        per_channel = (BATCH, context.inputs[0][0])
        kept = [_INPUT, Kept(_MEAN, NEW, per_channel), Kept("invstd", NEW, per_channel)]
        if self.affine:
            kept.append(Kept("weight, repeated N times", NEW, per_channel))
        if self.track_running_stats:
            kept += [Kept("running_mean, repeated", NEW, per_channel), Kept("running_var, repeated", NEW, per_channel)]
        return Backward(tuple(kept))

    def moving_statistics(self, inputs: list[Shape]) -> int:
        return 0


class GroupNorm(Layer):
    """torch.nn.GroupNorm: statistics over groups of channels per sample; γ, β per channel."""

    type: Literal["groupnorm"]
    num_groups: Count
    num_channels: Count | None = Field(default=None, description="Optional; must equal the incoming channels.")
    eps: Real = 1e-5
    affine: Flag = True

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        if not shape:
            raise LayerError("groupnorm expects a [C, ...] input per sample, got a scalar", code="rank")
        declared_matches("num_channels", self.num_channels, shape[0], "channel count")
        if shape[0] % self.num_groups:
            raise LayerError(f"num_groups {self.num_groups:,} must divide the number of channels {shape[0]:,}",
                             key="num_groups", code="mismatch")
        channels = bind("C", shape[0])
        return Outcome(shape=[channels, *shape[1:]], params=2 * channels if self.affine else 0,
                       axes=("C", *(axis_letters(len(shape) - 1) if len(shape) > 1 else ())))

    def notes(self, inputs: list[Shape]) -> list[str]:
        return [f"normalizes each of {self.num_groups} groups of {inputs[0][0] // self.num_groups} channels per sample;"
                + (" params: γ and β per channel" if self.affine else " affine: false, no parameters")]

    def saved(self, context: Context) -> Backward:
        """NativeGroupNormBackward0 keeps the input and mean and rstd, [N, G] each, whenever anything needs a
        gradient."""
        if not context.needs_grad:
            return NOTHING
        groups = (BATCH, self.num_groups)
        return Backward((_INPUT, Kept(_MEAN, NEW, groups, context.stats_dtype),
                         Kept("rstd", NEW, groups, context.stats_dtype)))

    def parameter_tensors(self) -> int:
        return 2 if self.affine else 0


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
        return Backward((_INPUT, Kept(_MEAN, NEW, rows, dtype), Kept("rstd", NEW, rows, dtype)))

    def parameter_tensors(self) -> int:
        return (2 if self.bias else 1) if self.elementwise_affine else 0


class RMSNorm(LayerNorm):
    """torch.nn.RMSNorm: x / sqrt(mean(x²) + eps) over the trailing `normalized_shape`, times γ."""

    type: Literal["rmsnorm"]
    eps: Real | None = None
    bias: ClassVar[bool] = False

    def notes(self, inputs: list[Shape]) -> list[str]:
        return ["divides by the root mean square over the trailing normalized_shape axes; params: one γ per"
                " normalized element" if self.elementwise_affine else "elementwise_affine: false, so no parameters"]

    def saved(self, context: Context) -> Backward:
        """F.rms_norm is composite on CPU: x·rsqrt(mean(x²) + eps) keeps the input (PowBackward0, MulBackward0)
        and rstd (RsqrtBackward0's result, shaped like the input with the normalized axes set to 1) when the
        input needs a gradient, and the normalized x·rstd (an input-shaped new tensor) for γ's gradient."""
        shape = context.inputs[0]
        axes = len(self.normalized_shape) if isinstance(self.normalized_shape, tuple) else 1
        # float16 / bfloat16: computed in float32 (a float32 copy of the input is what is kept)
        wide = "float32" if context.dtype in ("float16", "bfloat16") else MODEL
        kept = []
        if context.grads[0]:
            rows = batched((*shape[:len(shape) - axes], *(1,) * axes))
            kept += [Kept("input (float32 copy)", NEW, batched(shape), wide) if wide else _INPUT,
                     Kept("rstd", NEW, rows, wide)]
        if self.elementwise_affine and context.trainable:
            kept.append(Kept("x·rstd", NEW, batched(shape), wide))
        return Backward(tuple(kept))


_INPUT = Kept("input", 0)
# (one string: the statistic's name is also the layer type mean, which tests/test_registry.py looks for as a quoted word)
_MEAN = "mean rstd".split()[0]
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

def _statistics(category: str, affine: int, plain: int, whole_batch: bool = True) -> Any:
    """N·X (or X per sample: ptflops divides by the batch) times `affine` or `plain` operations per element."""
    return lambda v: {category: (v.N if whole_batch else 1) * v.X * (affine if v.affine else plain)}


# measured with the real tools on single layers (tests/test_conventions.py rows)
_GROUP_AND_INSTANCE = {
    "fvcore": Rule("N·X·(affine ? 5 : 4), eval and train", _statistics("norm", 5, 4)),
    "ptflops": Rule("X·(affine ? 2 : 1)", _statistics("norm", 2, 1, whole_batch=False)),
    "torchinfo": only_module("N·params (2C if affine)", lambda v: {"norm": v.N * v.params}),
    "calflops": Rule("N·X·(affine ? 5 : 4)", _statistics("norm", 5, 4)),
}
_InstanceNorm.convention_row = "instancenorm"
_InstanceNorm.counting = {**_GROUP_AND_INSTANCE,
                          "thop": only_module("N·X·(affine ? 4 : 2)", _statistics("norm", 4, 2))}
GroupNorm.pytorch = "torch.nn.GroupNorm"
GroupNorm.inferred_argument = ("num_channels", 0)
GroupNorm.convention_row = "groupnorm"
GroupNorm.module_only = True
GroupNorm.counting = _GROUP_AND_INSTANCE   # thop has no GroupNorm hook
RMSNorm.pytorch = "torch.nn.RMSNorm"
RMSNorm.convention_row = "rmsnorm"
RMSNorm.counting = {"torchinfo": only_module("N·params", lambda v: {"norm": v.N * v.params})}   # no other tool

TITLE = "Normalization"  # the family in docs/formulas.md and docs/memory.md
ORDER = 3  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"batchnorm": "batchnorm2d", "bn": "batchnorm2d", "layer_norm": "layernorm"}

LAYERS = {
    "batchnorm1d": Variant(_BatchNorm, "BatchNorm1d", ranks=(1, 2), layout="[C] or [C, L]"),
    "batchnorm2d": Variant(_BatchNorm, "BatchNorm2d", ranks=(3,), layout="[C, H, W]"),
    "batchnorm3d": Variant(_BatchNorm, "BatchNorm3d", ranks=(4,), layout="[C, D, H, W]"),
    "layernorm": LayerNorm,
    "instancenorm1d": Variant(_InstanceNorm, "InstanceNorm1d", ranks=(2,), layout="[C, L]"),
    "instancenorm2d": Variant(_InstanceNorm, "InstanceNorm2d", ranks=(3,), layout="[C, H, W]"),
    "instancenorm3d": Variant(_InstanceNorm, "InstanceNorm3d", ranks=(4,), layout="[C, D, H, W]"),
    "groupnorm": GroupNorm,
    "rmsnorm": RMSNorm,
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "batchnorm1d": [("", {}, [[64, 100]])],
    "batchnorm2d": [("", {}, [[64, 56, 56]]), ("affine false", {"affine": False}, [[64, 56, 56]])],
    "batchnorm3d": [("", {}, [[16, 4, 8, 8]])],
    "layernorm": [("", {"normalized_shape": 512}, [[49, 512]])],
    "instancenorm1d": [("", {}, [[64, 100]])],
    "instancenorm2d": [("", {}, [[64, 56, 56]]), ("affine", {"affine": True}, [[64, 56, 56]])],
    "instancenorm3d": [("", {}, [[16, 4, 8, 8]])],
    "groupnorm": [("", {"num_groups": 32}, [[256, 56, 56]])],
    "rmsnorm": [("", {"normalized_shape": 4096}, [[128, 4096]])],
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

MEMORY_FACTS.update({
    **{tag: "Instance norm views the input as [1, N·C, ...] and runs batch norm: NativeBatchNormBackward0 keeps the"
            " input (the same storage), save_mean and save_invstd (N·C each) and, with affine, the weight repeated N"
            " times (N·C; the bias repeated is not kept), with track_running_stats the running statistics repeated"
            " (2·N·C) — new tensors, not the parameters or buffers. Measured (float32): instancenorm2d on"
            " [2, 4, 5, 5] keeps 800 + 32 + 32 B, affine + 32 B, tracked + 64 B; instancenorm1d on [2, 4, 5]"
            " 160 + 32 + 32 B. Buffers (tracked only): running_mean, running_var and num_batches_tracked."
       for tag in ("instancenorm1d", "instancenorm2d", "instancenorm3d")},
    "groupnorm": "NativeGroupNormBackward0 keeps the input plus mean and rstd, [N, G] each, affine or not."
                 " Measured (float32): 2 groups on [2, 4, 5, 5] keeps 800 + 16 + 16 B.",
    "rmsnorm": "F.rms_norm is composite on CPU: the input (PowBackward0 / MulBackward0), rstd (one per normalized row,"
               " the normalized axes set to 1) and, with elementwise_affine, the normalized x·rstd (input-shaped) that"
               " MulBackward0 keeps for γ's gradient. Measured (float32): normalized_shape 6 on [2, 4, 6] keeps"
               " 192 + 32 + 192 B; [4, 6] without affine 192 + 8 B. In float16 / bfloat16 it computes in float32: the kept"
               " input is a float32 copy and rstd and x·rstd are float32 (measured: twice the half-precision bytes).",
})

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
    "instancenorm1d": [("", {}, [[4, 5]], None)],
    "instancenorm2d": [("", {}, [[4, 5, 5]], None), ("affine: true", {"affine": True}, [[4, 5, 5]], None),
                       ("track_running_stats: true", {"track_running_stats": True}, [[4, 5, 5]], None)],
    "instancenorm3d": [("", {}, [[4, 2, 5, 5]], None)],
    "groupnorm": [("", {"num_groups": 2}, [[4, 5, 5]], None),
                  ("affine: false", {"num_groups": 2, "affine": False}, [[4, 5, 5]], None)],
    "rmsnorm": [("", {"normalized_shape": 6}, [[4, 6]], None),
                ("elementwise_affine: false", {"normalized_shape": [4, 6], "elementwise_affine": False}, [[4, 6]],
                 None)],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
def _norm_from_onnx(context: Any) -> list:
    node = context.node
    rank = context.rank()
    if not all(context.is_constant(name) for name in node.input[1:] if name):
        raise context.unmapped("its scale, bias or statistics are computed at run time")
    params = sum(context.numel(name) for name in node.input[1:3] if name)   # scale, bias; statistics are buffers
    eps = context.number(context.attribute("epsilon", 1e-5))
    arguments: dict[str, Any] = {"eps": eps} if eps != 1e-5 else {}
    if node.op_type == "LayerNormalization":
        axis = context.attribute("axis", -1) % rank
        if axis == 0:
            raise context.unmapped("normalizing over the batch axis has no spec type")
        normalized = list(context.shape(node.input[0])[axis:])
        arguments = {"normalized_shape": normalized[0] if len(normalized) == 1 else normalized, **arguments}
        if context.input(2) is None:
            arguments["bias"] = False
        return [context.layer("layernorm", arguments, params=params)]
    spatial = max(rank - 2, 1)
    instance = node.op_type == "InstanceNormalization"
    if rank < 2 or spatial > 3 or (instance and rank < 3):
        raise context.unmapped(f"a {rank}-d input has no {node.op_type} spec type")
    if instance:
        return [context.layer(f"instancenorm{spatial}d", {**arguments, "affine": True}, params=params)]
    return [context.layer(f"batchnorm{spatial}d", arguments, params=params)]


ONNX_OPERATORS = {"BatchNormalization": _norm_from_onnx, "LayerNormalization": _norm_from_onnx,
                  "InstanceNormalization": _norm_from_onnx}


def _scalar_operand(context: Any, node: Any, tensor: str) -> float | None:
    others = [name for name in node.input if name != tensor]
    if len(others) != 1 or not context.is_constant(others[0]) or context.numel(others[0]) != 1:
        return None
    return float(context.value(others[0]).reshape(-1)[0])


def _rms_norm_from_onnx(context: Any) -> list | None:
    """nn.RMSNorm as Hugging Face writes it (LlamaRMSNorm: x · rsqrt(mean(x²) + eps), times γ), exported: Pow 2 →
    ReduceMean over the trailing axes (keepdims) → Add eps → Sqrt → 1 / (Div or Reciprocal) → x · → γ ·; each
    step the only reader of the one before; the nodes become one rmsnorm layer. None for any other Pow."""
    node = context.node
    x = node.input[0]
    if context.is_constant(x) or _scalar_operand(context, node, x) != 2.0:
        return None
    rank = len(context.shape(x))
    mean = context.sole_consumer(node.output[0])
    if mean is None or mean.op_type != "ReduceMean" or not context.attributes_of(mean).get("keepdims", 1):
        return None
    axes = context.attributes_of(mean).get("axes")
    if axes is None and len(mean.input) > 1 and mean.input[1]:
        axes = context.ints(mean.input[1])
    axes = sorted(axis % rank for axis in axes or [])
    if not axes or axes != list(range(rank - len(axes), rank)) or axes[0] == 0:
        return None
    steps, tensor = [mean], mean.output[0]
    add = context.sole_consumer(tensor)
    eps = _scalar_operand(context, add, tensor) if add is not None and add.op_type == "Add" else None
    root = context.sole_consumer(add.output[0]) if eps is not None else None
    if root is None or root.op_type != "Sqrt":
        return None
    inverse = context.sole_consumer(root.output[0])
    if inverse is None or not (inverse.op_type == "Reciprocal" or inverse.op_type == "Div" and
                               list(inverse.input).index(root.output[0]) == 1 and
                               _scalar_operand(context, inverse, root.output[0]) == 1.0):
        return None
    scaled = context.sole_consumer(inverse.output[0])
    if scaled is None or scaled.op_type != "Mul" or sorted(scaled.input) != sorted([x, inverse.output[0]]):
        return None
    steps += [add, root, inverse, scaled]
    normalized = list(context.shape(x)[axes[0]:])
    arguments: dict[str, Any] = {"normalized_shape": normalized[0] if len(normalized) == 1 else normalized,
                                 "eps": context.number(eps)}
    gamma = context.sole_consumer(scaled.output[0])
    weight = next((name for name in gamma.input if name != scaled.output[0]), None) \
        if gamma is not None and gamma.op_type == "Mul" else None
    params = 0
    if weight is not None and context.is_constant(weight) and list(context.constant_shape(weight)) == normalized:
        steps.append(gamma)
        params = context.numel(weight)
    else:
        arguments["elementwise_affine"] = False
    for step in steps:
        context.absorb(step)
    context.named_after = "rmsnorm"
    return [context.layer("rmsnorm", arguments, params=params)]


ONNX_PATTERNS = {"Pow": _rms_norm_from_onnx}


__all__ = ["LAYERS", "LayerNorm"]
