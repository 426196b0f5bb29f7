"""Shape-preserving layers: identity, dropout, the activations and element-wise tensor functions.

Output shape = input shape (GLU halves its `dim`); no MACs (their element-wise work is not
multiply-accumulate). Only PReLU has parameters: one slope, or one per channel. The tensor functions
abs, neg, exp, log, sqrt, pow and clamp are torch functions (torch.exp(x), x.exp()).
"""

import math
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from ..formula import Bind, exact_div
from ..problems import LayerError
from .autograd import (
    ALIAS, BATCH, KEEP_INPUT, KEEP_OUTPUT, NEW, NOTHING, OUTPUT, Backward, Context, Kept, batched,
)
from .counting import (
    CALFLOPS_MODULE_OR_FUNCTION, Rule, View, calflops_patched, only_module, ptflops_numel, ptflops_twice,
)
from .base import Axis, Count, Flag, Layer, Outcome, Real, Shape, Variant, axis_names, require_rank
from .reshape import batch_axis


class _ShapePreserving(Layer):
    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        return Outcome(shape=list(shape), axes=axis_names(len(shape)))

    def saved(self, context: Context) -> Backward:
        """What the activation keeps when its input needs a gradient (`_KEEPS`): its output, its input, or —
        in place, when its backward needs the input it overwrites — a copy of the input."""
        out_of_place, in_place = _KEEPS[self.type]
        grad = context.grads[0]
        like_input = batched(context.inputs[0])
        if getattr(self, "inplace", False) and in_place is not None:
            if not grad:
                return ALIAS_IN_PLACE
            if in_place == "copy":
                return Backward((Kept("input (copy)", NEW, like_input),), 0, True)
            if in_place == "noise+output":
                return Backward((Kept("noise", NEW, like_input), Kept("output", OUTPUT)), 0, True)
            slope = _NEGATIVE_SLOPE.get(self.type)
            if slope and getattr(self, slope) < 0:
                return Backward(_IN_PLACE_KEEPS_OUTPUT.kept, 0, True,
                                (f"PyTorch refuses the backward of an in-place {self.type} with a negative {slope}",))
            return _IN_PLACE_KEEPS_OUTPUT
        if out_of_place is None:
            return ALIAS
        if not grad or out_of_place == "nothing":
            return NOTHING
        if out_of_place in _EXTRA:
            extra = Kept(_EXTRA[out_of_place], NEW, like_input)
            return Backward((extra,) if out_of_place == "new" else (extra, Kept("input", 0)))
        return KEEP_OUTPUT if out_of_place == "output" else KEEP_INPUT


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

    def saved(self, context: Context) -> Backward:
        """Dropout multiplies by a mask of kept/zeroed elements scaled by 1/(1 − p) and keeps the mask;
        channel dropout's mask has one value per (sample, channel). p = 0 returns the input itself."""
        if self.p == 0:
            return ALIAS
        shape = context.inputs[0]
        if self.p == 1:
            mask = Kept("zeros", NEW, ())  # input * zeros([]): a 0-dim tensor of the model's dtype
        elif self.type == "dropout":
            fused = context.device == "cuda" and not self.inplace
            mask = Kept("mask", NEW, batched(shape), "bool" if fused else "")
        else:
            mask = Kept("mask", NEW, _feature_mask(shape))
        kept = (mask,) if context.grads[0] else ()
        return Backward(kept, 0 if self.inplace else None, self.inplace)


class _Softmax(_ShapePreserving):
    dim: Axis | None = Field(default=None, description="Axis (batch axis = 0); PyTorch warns when omitted.")

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        if self.dim is not None:
            batch_axis(self, "dim", self.dim, len(inputs[0]))
        return super().evaluate(inputs, bind)


class _Softmax2d(_ShapePreserving):
    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        require_rank(self, inputs[0], (3,), "[C, H, W]")
        return super().evaluate(inputs, bind)


class _GLU(_ShapePreserving):
    """torch.nn.GLU: a ⊗ σ(b), a and b the two halves of `dim`."""

    dim: Axis = -1

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape, names = inputs[0], axis_names(len(inputs[0]))
        axis = batch_axis(self, "dim", self.dim, len(shape))
        if axis == 0:
            raise LayerError("dim 0 would halve the batch axis", key="dim", code="axis")
        size = shape[axis - 1]
        if size % 2:
            raise LayerError(f"dim {self.dim} has size {size:,}, which GLU cannot halve (PyTorch: \"Halving dimension"
                             " must be even\")", key="dim", code="argument")
        out = [bind(name, n) for name, n in zip(names, shape)]
        out[axis - 1] = exact_div(out[axis - 1], 2)
        return Outcome(shape=out, axes=names)

    def notes(self, inputs: list[Shape]) -> list[str]:
        return [f"splits dim {self.dim} into halves a, b and returns a ⊗ σ(b): that axis halves"]


class _TensorFunction(_ShapePreserving):
    """An element-wise torch function (torch.exp(x) or x.exp())."""

    default_call: ClassVar[str] = "function"

    def notes(self, inputs: list[Shape]) -> list[str]:
        return [f"torch.{self.type}, element by element: the input's shape, no parameters, no MACs"]


class _Clamp(_TensorFunction):
    min: Real | None = None
    max: Real | None = None

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        if self.min is None and self.max is None:
            raise LayerError("clamp needs min or max (PyTorch: \"At least one of 'min' or 'max' must not be None\")",
                             key="min", code="argument")
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

    def saved(self, context: Context) -> Backward:
        """PreluKernelBackward0 keeps the input (and the slopes, parameters) whenever anything needs a gradient."""
        return KEEP_INPUT if context.needs_grad else NOTHING

    def parameter_tensors(self) -> int:
        return 1


# ---------------------------------------------------------------------------------------------- counting conventions
# (archcalc.layers.counting; measured against the real tools, docs/conventions.md). Most tools count
# activations as element-wise work or not at all; none of it is MACs under the default convention.

def _thop_softmax(v: View) -> dict[str, int]:
    if v.spec.dim is None:
        return {}
    full = [v.N, *v.layer.input_shapes[0]]
    size = full[v.spec.dim]
    return {"activation": v.N * v.X // size * (3 * size - 1)}


def _patched_by_ptflops(function: str) -> Rule:
    """ptflops registers no hook for the module, but patches F.<function> when count_functional is on."""
    return Rule(lambda options: f"module or function: N·X (no hook; the patched F.{function})"
                if options.get("functional") else "0", ptflops_numel("activation", module=0))


_HOOKED = {"ptflops": Rule(ptflops_twice, ptflops_numel("activation")),
           "calflops": Rule(CALFLOPS_MODULE_OR_FUNCTION, calflops_patched("activation"))}
_RELU6 = {
    "ptflops": Rule(lambda options: "module: X (F.hardtanh is not patched)"
                    + (", function (F.relu6): N·X" if options.get("functional") else ""),
                    lambda v: {"activation": v.X if v.module else (v.functional * v.N * v.X
                                                                   if v.call == "function" else 0)}),
    "calflops": Rule("module: 0 (nn.ReLU6 calls F.hardtanh); function F.relu6: N·X",
                     lambda v: {"activation": v.N * v.X} if v.call == "function" else {}),
}
_LEAKY_RELU = {
    "ptflops": Rule("module: X; function: 0 (F.leaky_relu is not patched)",
                    lambda v: {"activation": v.X if v.module else 0}),
    "thop-readme": only_module("N·X", lambda v: {"activation": v.N * v.X}),
    "calflops": Rule("module or function: N·X", calflops_patched("activation")),
}
_SILU = {"ptflops": _patched_by_ptflops("silu"),
         "calflops": Rule("module or function: N·X", calflops_patched("activation"))}
_SOFTMAX = {
    "ptflops": _patched_by_ptflops("softmax"),
    "thop": only_module("N·(X/F)·(3F − 1), F = size of dim; dim unset: 0 (thop fails)", _thop_softmax),
    "calflops": Rule("module or F.softmax: N·X; x.softmax(): 0", calflops_patched("activation")),
}
_SOFTMAX2D = {   # nn.Softmax2d calls F.softmax(x, -3), which ptflops and calflops patch
    "ptflops": _patched_by_ptflops("softmax"),
    "calflops": Rule("module or function: N·X (F.softmax inside)", calflops_patched("activation")),
}
PReLU.pytorch = "torch.nn.PReLU"
PReLU.convention_row = "prelu"
PReLU.module_only = True
PReLU.counting = {
    "ptflops": Rule(ptflops_twice, ptflops_numel("activation")),
    "thop": only_module("N·X", lambda v: {"activation": v.N * v.X}),
    "torchinfo": only_module("N·params", lambda v: {"activation": v.N * v.params}),
    "calflops": Rule("N·X", lambda v: {"activation": v.N * v.X}),
}



_DROPOUT = "dropout, identity"
_OTHER = "other activations"
_MATH = "abs, neg, exp, log, sqrt, pow, clamp"
TITLE = "Element-wise layers"  # the family in docs/formulas.md and docs/memory.md
ORDER = 7  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"swish": "silu", "leaky_relu": "leakyrelu", "hard_swish": "hardswish"}

LAYERS = {
    "identity": Variant(_ShapePreserving, "Identity", convention_row=_DROPOUT),
    "dropout": Variant(_Dropout, "Dropout", convention_row=_DROPOUT),
    "dropout1d": Variant(_Dropout, "Dropout1d", ranks=(2,), convention_row=_DROPOUT),
    "dropout2d": Variant(_Dropout, "Dropout2d", ranks=(3,), convention_row=_DROPOUT),
    "dropout3d": Variant(_Dropout, "Dropout3d", ranks=(4,), convention_row=_DROPOUT),
    "relu": Variant(_InPlace, "ReLU", convention_row="relu", counting=_HOOKED),
    "relu6": Variant(_InPlace, "ReLU6", convention_row="relu6", counting=_RELU6),
    "leakyrelu": Variant(_InPlace, "LeakyReLU", {"negative_slope": (Real, 0.01)}, convention_row="leakyrelu",
                         counting=_LEAKY_RELU),
    "elu": Variant(_InPlace, "ELU", {"alpha": (Real, 1.0)}, convention_row="relu", counting=_HOOKED),
    "gelu": Variant(_ShapePreserving, "GELU", {"approximate": (Literal["none", "tanh"], "none")},
                    convention_row="relu", counting=_HOOKED),
    "silu": Variant(_InPlace, "SiLU", convention_row="silu", counting=_SILU),
    "mish": Variant(_InPlace, "Mish", convention_row=_OTHER),
    "sigmoid": Variant(_ShapePreserving, "Sigmoid", convention_row=_OTHER),
    "tanh": Variant(_ShapePreserving, "Tanh", convention_row=_OTHER),
    "hardswish": Variant(_InPlace, "Hardswish", convention_row=_OTHER),
    "hardsigmoid": Variant(_InPlace, "Hardsigmoid", convention_row=_OTHER),
    "softmax": Variant(_Softmax, "Softmax", convention_row="softmax", counting=_SOFTMAX),
    "logsoftmax": Variant(_Softmax, "LogSoftmax", convention_row=_OTHER),
    "prelu": PReLU,
    "softplus": Variant(_ShapePreserving, "Softplus", {"beta": (Real, 1.0), "threshold": (Real, 20.0)},
                        convention_row=_OTHER),
    "selu": Variant(_InPlace, "SELU", convention_row=_OTHER),
    "celu": Variant(_InPlace, "CELU", {"alpha": (Real, 1.0)}, convention_row=_OTHER),
    "hardtanh": Variant(_InPlace, "Hardtanh", {"min_val": (Real, -1.0), "max_val": (Real, 1.0)},
                        convention_row=_OTHER),
    "logsigmoid": Variant(_ShapePreserving, "LogSigmoid", convention_row=_OTHER),
    "softsign": Variant(_ShapePreserving, "Softsign", convention_row=_OTHER),
    "glu": Variant(_GLU, "GLU", convention_row=_OTHER),
    "tanhshrink": Variant(_ShapePreserving, "Tanhshrink", convention_row=_OTHER),
    "softshrink": Variant(_ShapePreserving, "Softshrink", {"lambd": (Real, 0.5)}, convention_row=_OTHER),
    "hardshrink": Variant(_ShapePreserving, "Hardshrink", {"lambd": (Real, 0.5)}, convention_row=_OTHER),
    "threshold": Variant(_InPlace, "Threshold", {"threshold": (Real, ...), "value": (Real, ...)},
                         convention_row=_OTHER),
    "rrelu": Variant(_InPlace, "RReLU", {"lower": (Real, 1 / 8), "upper": (Real, 1 / 3)}, convention_row=_OTHER),
    "softmin": Variant(_Softmax, "Softmin", convention_row=_OTHER),
    "softmax2d": Variant(_Softmax2d, "Softmax2d", convention_row="softmax2d", counting=_SOFTMAX2D),
    "abs": Variant(_TensorFunction, "abs", pytorch="torch.abs", convention_row=_MATH),
    "neg": Variant(_TensorFunction, "neg", pytorch="torch.neg", convention_row=_MATH),
    "exp": Variant(_TensorFunction, "exp", pytorch="torch.exp", convention_row=_MATH),
    "log": Variant(_TensorFunction, "log", pytorch="torch.log", convention_row=_MATH),
    "sqrt": Variant(_TensorFunction, "sqrt", pytorch="torch.sqrt", convention_row=_MATH),
    "pow": Variant(_TensorFunction, "pow", {"exponent": (Real, ...)}, pytorch="torch.pow", convention_row=_MATH,
                   pytorch_call=staticmethod(lambda args, inputs, batch: f"torch.pow({inputs[0]}, {args['exponent']!r})")),
    "clamp": Variant(_Clamp, "clamp", pytorch="torch.clamp", convention_row=_MATH,
                     pytorch_call=staticmethod(lambda args, inputs, batch:
                                               f"torch.clamp({inputs[0]}, min={args.get('min')!r}, max={args.get('max')!r})")),
}

# Training memory: what each type keeps when its input needs a gradient, (out of place, in place).
#   "output" — its result, the same storage the next layer would keep (counted once); "input" — its input;
#   "copy" — in place, autograd first copies the input it is about to overwrite, because the backward
#   formula needs it; None — not applicable (no inplace argument) or nothing kept.
_KEEPS: dict[str, tuple[str | None, str | None]] = {
    "identity": (None, None),
    "relu": ("output", "output"), "sigmoid": ("output", None), "tanh": ("output", None),
    "softmax": ("output", None), "logsoftmax": ("output", None),
    "leakyrelu": ("input", "output"), "elu": ("input", "output"),
    "gelu": ("input", None),
    "relu6": ("input", "copy"), "silu": ("input", "copy"), "mish": ("input", "copy"),
    "hardswish": ("input", "copy"), "hardsigmoid": ("input", "copy"),
    "softplus": ("input", None), "selu": ("input", "output"), "celu": ("input", "output"),
    "hardtanh": ("input", "copy"), "threshold": ("input", "copy"), "logsigmoid": ("input+buffer", None),
    "softsign": ("input+denominator", None), "glu": ("input", None), "tanhshrink": ("new", None),
    "softshrink": ("input", None), "hardshrink": ("input", None), "rrelu": ("input+noise", "noise+output"),
    "softmin": ("output", None), "softmax2d": ("output", None),
    "abs": ("input", None), "neg": ("nothing", None), "exp": ("output", None), "log": ("input", None),
    "sqrt": ("output", None), "pow": ("input", None), "clamp": ("input", None),
}
# the tensor kept beside the input ("new": instead of it), input-shaped
_EXTRA = {"input+buffer": "buffer", "input+denominator": "1 + |x|", "new": "tanh(x)", "input+noise": "noise"}
_NEGATIVE_SLOPE = {"leakyrelu": "negative_slope", "elu": "alpha"}
ALIAS_IN_PLACE = Backward(alias=0, in_place=True)
_IN_PLACE_KEEPS_OUTPUT = Backward((Kept("output", OUTPUT),), 0, True)


def _feature_mask(shape: Shape) -> tuple[int, ...]:
    """Channel dropout's mask: one value per (sample, channel), [N, C, 1, ...]."""
    return (BATCH, shape[0], *(1,) * (len(shape) - 1))


# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {tag: [("", {}, [[64, 28, 28]])] for tag in LAYERS}
EXAMPLES["dropout1d"] = [("", {}, [[64, 100]])]
EXAMPLES["dropout3d"] = [("", {}, [[16, 4, 8, 8]])]
EXAMPLES["prelu"] = [("one slope per channel", {"num_parameters": 64}, [[64, 28, 28]])]
EXAMPLES["softmax"] = [("", {"dim": 1}, [[10]])]
EXAMPLES["logsoftmax"] = [("", {"dim": 1}, [[10]])]
EXAMPLES["softmin"] = [("", {"dim": 1}, [[10]])]
EXAMPLES["glu"] = [("", {"dim": 1}, [[64, 28, 28]])]
EXAMPLES["threshold"] = [("", {"threshold": 0.1, "value": 0.0}, [[64, 28, 28]])]
EXAMPLES["pow"] = [("", {"exponent": 2}, [[64, 28, 28]])]
EXAMPLES["clamp"] = [("", {"min": 0, "max": 6}, [[64, 28, 28]])]

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
_OUTPUT = ("{node} keeps its output (`result`) when the input requires a gradient (parameter-free: nothing before the"
           " first trainable layer). The next layer that keeps its input keeps that same storage, so it is"
           " counted once, here: conv → {tag} → conv keeps 1,152 B in the {tag} and 0 B in the second conv.")
MEMORY_FACTS = {
    "identity": "Returns its input: the same storage, nothing kept.",
    "dropout": "Dropout with 0 < p < 1 multiplies by a mask (kept elements 1/(1 − p), dropped 0) and MulBackward0"
               " keeps the mask, input-shaped, when the input requires a gradient. On CPU the mask has the"
               " input's dtype (4 B per element in float32, 2 in float16/bfloat16) and the output is a new tensor"
               " (the next layer keeps it too). On CUDA the out-of-place dropout runs the fused native_dropout"
               " kernel, whose mask is bool, 1 B per element (from PyTorch's sources). In place it takes the"
               " unfused path on every device: the same input-dtype mask, and the output is the input's storage."
               " p = 0 returns the input (nothing kept); p = 1 multiplies by a 0-dim zero tensor (4 B in float32)."
               " Measured (CPU, float32): [2, 4, 6, 6] keeps 1,152 B, in place too.",
    **{tag: "Channel dropout (feature_dropout: never fused, the same on CPU and CUDA) keeps a mask of the input's"
            " dtype with one value per (sample, channel), [N, C, 1, ...], when the input requires a gradient; in"
            " place the output is the input's storage. p = 0 keeps nothing; p = 1 a 0-dim zero tensor. Measured"
            " (float32): dropout1d on [2, 4, 10] 32 B, dropout2d on [2, 4, 6, 6] 32 B, dropout3d on"
            " [2, 4, 4, 6, 6] 32 B, in place too." for tag in ("dropout1d", "dropout2d", "dropout3d")},
    "relu": _OUTPUT.format(node="ReluBackward0", tag="relu") + " In place (ReLU(inplace=True)) the output is the"
            " input's storage, kept once: still 1,152 B, and 0 B in the next conv. An in-place ReLU may not"
            " overwrite a tensor another layer keeps (after a ReLU, sigmoid, ...): PyTorch's backward fails.",
    "sigmoid": _OUTPUT.format(node="SigmoidBackward0", tag="sigmoid"),
    "tanh": _OUTPUT.format(node="TanhBackward0", tag="tanh"),
    "softmax": _OUTPUT.format(node="SoftmaxBackward0", tag="softmax") + " Any dim.",
    "logsoftmax": _OUTPUT.format(node="LogSoftmaxBackward0", tag="logsoftmax") + " Any dim.",
    "gelu": "GeluBackward0 keeps its input (both approximations) when it requires a gradient; its output is new,"
            " and the next layer keeps it again: conv → gelu → conv on [2, 4, 6, 6] keeps 1,152 B in each.",
    "leakyrelu": "LeakyReluBackward0 keeps its input; its output is new. In place, LeakyReluBackward1 keeps the"
                 " result, which is the input's storage, like an in-place ReLU (the next layer adds 0 B); PyTorch"
                 " refuses that backward for a negative negative_slope. Measured: 1,152 B either way on"
                 " [2, 4, 6, 6].",
    "elu": "EluBackward0 keeps its input; its output is new. In place, EluBackward1 keeps the result (the input's"
           " storage), like an in-place ReLU; PyTorch refuses that backward for a negative alpha.",
    **{tag: f"{node} keeps its input; its output is new. In place, autograd must keep the input it is about to"
            " overwrite, so it keeps a copy: the same bytes as out of place — `inplace: true` saves nothing in"
            " training. Measured: 1,152 B either way on [2, 4, 6, 6], and the next layer keeps the output"
            " again." for tag, node in (("relu6", "HardtanhBackward0"), ("silu", "SiluBackward0"),
                                        ("mish", "MishBackward0"), ("hardswish", "HardswishBackward0"),
                                        ("hardsigmoid", "HardsigmoidBackward0"))},
    **{tag: f"{node} keeps its input; its output is new. Measured: [2, 4, 6] keeps 192 B." for tag, node in (
        ("softplus", "SoftplusBackward0"), ("glu", "GluBackward0"), ("softshrink", "SoftshrinkBackward0"),
        ("hardshrink", "HardshrinkBackward0"), ("abs", "AbsBackward0"), ("log", "LogBackward0"),
        ("pow", "PowBackward0 (a number exponent)"), ("clamp", "ClampBackward1 (number bounds)"))},
    **{tag: f"{node} keeps its input; its output is new. In place, {node[:-1]}1 keeps the result, which is the"
            " input's storage (like an in-place ELU). Measured: 192 B either way on [2, 4, 6]."
       for tag, node in (("selu", "EluBackward0"), ("celu", "EluBackward0"))},
    **{tag: f"{node} keeps its input; its output is new. In place, autograd keeps a copy of the input it"
            " overwrites: the same bytes (192 B on [2, 4, 6] either way)."
       for tag, node in (("hardtanh", "HardtanhBackward0"), ("threshold", "ThresholdBackward0"))},
    "logsigmoid": "LogSigmoidBackward0 keeps its input and, on CPU, the input-shaped buffer log_sigmoid_forward"
                  " returns: [2, 4, 6] keeps 192 + 192 B (on CUDA the buffer is empty, from PyTorch's sources; not"
                  " modelled).",
    "softsign": "x / (1 + |x|) in three autograd nodes: AbsBackward0 keeps x, DivBackward0 keeps x and the new"
                " denominator 1 + |x|: [2, 4, 6] keeps 192 + 192 B.",
    "tanhshrink": "x − tanh(x): TanhBackward0 keeps tanh(x), a new input-shaped tensor, SubBackward0 nothing:"
                  " [2, 4, 6] keeps 192 B; the output is another new tensor.",
    "rrelu": "In training RReLU samples a slope per element: RreluWithNoiseBackward0 keeps the input and the"
             " input-shaped noise, 192 + 192 B on [2, 4, 6]; in place the same, the input being the output's storage.",
    "softmin": _OUTPUT.format(node="SoftmaxBackward0 (of −x; NegBackward0 keeps nothing)", tag="softmin"),
    "softmax2d": _OUTPUT.format(node="SoftmaxBackward0 (over the channels)", tag="softmax2d"),
    "neg": "NegBackward0 keeps nothing; the output is new.",
    "exp": "ExpBackward0 keeps its output (`result`), a new tensor: [2, 4, 6] keeps 192 B.",
    "sqrt": "SqrtBackward0 keeps its output (`result`), a new tensor: [2, 4, 6] keeps 192 B.",
    "prelu": "PreluKernelBackward0 keeps the input (and the slopes, a parameter) whenever anything needs a gradient:"
             " with trainable slopes even as the first layer. Measured: [2, 4, 6, 6] → 1,152 B.",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "identity": [
        ("", {}, [[64, 28, 28]], None),
    ],
    "dropout": [
        ("", {"p": 0.5}, [[64, 28, 28]], None),
        ("inplace: true", {"p": 0.5, "inplace": True}, [[64, 28, 28]], None),
        ("p: 0", {"p": 0.0}, [[64, 28, 28]], None),
        ("p: 1", {"p": 1.0}, [[64, 28, 28]], None),
    ],
    "dropout1d": [
        ("", {}, [[64, 100]], None),
    ],
    "dropout2d": [
        ("", {}, [[64, 28, 28]], None),
        ("inplace: true", {"inplace": True}, [[64, 28, 28]], None),
    ],
    "dropout3d": [
        ("", {}, [[16, 4, 8, 8]], None),
    ],
    "relu": [
        ("", {}, [[64, 28, 28]], None),
        ("inplace: true", {"inplace": True}, [[64, 28, 28]], None),
    ],
    "relu6": [
        ("", {}, [[64, 28, 28]], None),
        ("inplace: true", {"inplace": True}, [[64, 28, 28]], None),
    ],
    "leakyrelu": [
        ("", {}, [[64, 28, 28]], None),
        ("inplace: true", {"inplace": True}, [[64, 28, 28]], None),
    ],
    "elu": [
        ("", {}, [[64, 28, 28]], None),
        ("inplace: true", {"inplace": True}, [[64, 28, 28]], None),
    ],
    "gelu": [
        ("", {}, [[64, 28, 28]], None),
    ],
    "silu": [
        ("", {}, [[64, 28, 28]], None),
        ("inplace: true", {"inplace": True}, [[64, 28, 28]], None),
    ],
    "mish": [
        ("", {}, [[64, 28, 28]], None),
        ("inplace: true", {"inplace": True}, [[64, 28, 28]], None),
    ],
    "sigmoid": [
        ("", {}, [[64, 28, 28]], None),
    ],
    "tanh": [
        ("", {}, [[64, 28, 28]], None),
    ],
    "hardswish": [
        ("", {}, [[64, 28, 28]], None),
        ("inplace: true", {"inplace": True}, [[64, 28, 28]], None),
    ],
    "hardsigmoid": [
        ("", {}, [[64, 28, 28]], None),
        ("inplace: true", {"inplace": True}, [[64, 28, 28]], None),
    ],
    "softmax": [
        ("", {"dim": 1}, [[10]], None),
    ],
    "logsoftmax": [
        ("", {"dim": 1}, [[10]], None),
    ],
    "prelu": [
        ("", {"num_parameters": 64}, [[64, 28, 28]], None),
    ],
    **{tag: [("", {}, [[4, 6]], None)] for tag in ("softplus", "logsigmoid", "softsign", "tanhshrink", "softshrink",
                                                     "hardshrink", "abs", "neg", "exp", "log", "sqrt")},
    **{tag: [("", {}, [[4, 6]], None), ("inplace: true", {"inplace": True}, [[4, 6]], None)]
       for tag in ("selu", "celu", "hardtanh", "rrelu")},
    "threshold": [("", {"threshold": 0.1, "value": 20.0}, [[4, 6]], None),
                  ("inplace: true", {"threshold": 0.1, "value": 20.0, "inplace": True}, [[4, 6]], None)],
    "glu": [("", {}, [[4, 6]], None)],
    "softmin": [("", {"dim": 1}, [[4, 6]], None)],
    "softmax2d": [("", {}, [[4, 6, 5]], None)],
    "pow": [("", {"exponent": 2}, [[4, 6]], None)],
    "clamp": [("", {"min": -1, "max": 1}, [[4, 6]], None)],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
_ONNX_PLAIN = {"Relu": "relu", "Tanh": "tanh", "HardSwish": "hardswish", "Softsign": "softsign", "Selu": "selu",
               "Mish": "mish", "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Abs": "abs", "Neg": "neg",
               "Identity": "identity", "Softplus": "softplus"}
_ONNX_ALPHA = {"LeakyRelu": ("leakyrelu", "negative_slope", 0.01), "Elu": ("elu", "alpha", 1.0),
               "Celu": ("celu", "alpha", 1.0)}


def _plain_from_onnx(context: Any) -> list:
    op = context.node.op_type
    if op in _ONNX_ALPHA:
        tag, argument, default = _ONNX_ALPHA[op]
        alpha = context.number(context.attribute("alpha", default))
        return [context.layer(tag, {argument: alpha} if alpha != context.number(default) else {})]
    return [context.layer(_ONNX_PLAIN[op], {})]


def _gate_from_onnx(context: Any) -> list:
    """Sigmoid and HardSigmoid; x · sigmoid(x) is SiLU and x · hardsigmoid(x) HardSwish as PyTorch's exporter
    writes them (the gate's only consumer a Mul by the gate's own input), fused into one layer."""
    node = context.node
    tag = "sigmoid" if node.op_type == "Sigmoid" else "hardsigmoid"
    mul = context.sole_consumer(node.output[0])
    gating = mul is not None and mul.op_type == "Mul" and sorted(mul.input) == sorted([node.input[0], node.output[0]])
    if gating and tag == "hardsigmoid":
        alpha, beta = context.attribute("alpha", 0.2), context.attribute("beta", 0.5)
        gating = abs(alpha - 1 / 6) < 1e-6 and abs(beta - 0.5) < 1e-6   # torch's hardsigmoid: x/6 + 1/2
    if gating:
        context.absorb(mul)
        context.named_after = "silu" if tag == "sigmoid" else "hardswish"
        return [context.layer(context.named_after, {})]
    return [context.layer(tag, {})]


def _gelu_from_onnx(context: Any) -> list:
    approximate = context.attribute("approximate", "none")
    return [context.layer("gelu", {"approximate": approximate} if approximate != "none" else {})]


def _constant_near(context: Any, tensor: str | None, value: float) -> bool:
    return (tensor is not None and context.is_constant(tensor) and context.numel(tensor) == 1
            and abs(float(context.value(tensor).reshape(-1)[0]) - value) < 1e-6)


def _erf_gelu_from_onnx(context: Any) -> list | None:
    """GELU as exporters before opset 20 write it: x / √2 → Erf → + 1 → x · → · 0.5, each step the only reader
    of the one before; the five nodes become one gelu layer. None for any other Div."""
    node = context.node
    x = node.input[0]
    if not _constant_near(context, node.input[1] if len(node.input) > 1 else None, 2 ** 0.5):
        return None
    if not _absorb_chain(context, node.output[0], (("Erf", None), ("Add", 1.0), ("Mul", x), ("Mul", 0.5))):
        return None
    context.named_after = "gelu"
    return [context.layer("gelu", {})]


def _absorb_chain(context: Any, tensor: str, chain: tuple[tuple[str, str | float | None], ...]) -> bool:
    """Whether `tensor` is read by exactly the nodes of `chain`, one after another, each the only reader of the one
    before: (op type, its other operand: None for none, a tensor name, or a constant's value); if so, the nodes are
    absorbed into the layer being built."""
    steps = []
    for op, operand in chain:
        step = context.sole_consumer(tensor)
        if step is None or step.op_type != op:
            return False
        others = [name for name in step.input if name != tensor]
        if operand is None and others or isinstance(operand, str) and others != [operand] or \
                isinstance(operand, float) and not (len(others) == 1 and _constant_near(context, others[0], operand)):
            return False
        steps.append(step)
        tensor = step.output[0]
    for step in steps:
        context.absorb(step)
    return True


def _tanh_gelu_from_onnx(context: Any) -> list | None:
    """GELU(approximate='tanh') as exporters before opset 20 write it: 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 ·
    x³))), as x · x → · x → · 0.044715 → x + → · √(2/π) → Tanh → 1 + → x · → · 0.5, each step the only reader of
    the one before; the nine nodes become one gelu layer. None for any other Mul."""
    node = context.node
    x = node.input[0]
    if len(node.input) != 2 or node.input[1] != x or context.is_constant(x):
        return None
    chain = (("Mul", x), ("Mul", 0.044715), ("Add", x), ("Mul", (2 / math.pi) ** 0.5), ("Tanh", None), ("Add", 1.0),
             ("Mul", x), ("Mul", 0.5))
    if not _absorb_chain(context, node.output[0], chain):
        return None
    context.named_after = "gelu"
    return [context.layer("gelu", {"approximate": "tanh"})]


def _softmax_from_onnx(context: Any) -> list:
    rank = context.rank()
    if context.opset < 13:
        axis = context.attribute("axis", 1) % rank
        if axis != rank - 1:
            raise context.unmapped(f"{context.node.op_type} before opset 13 flattens the input to 2-d at axis {axis}")
    else:
        axis = context.attribute("axis", -1) % rank
    if axis == 0:
        raise context.unmapped("a softmax over the batch axis has no spec type")
    tag = "softmax" if context.node.op_type == "Softmax" else "logsoftmax"
    return [context.layer(tag, {"dim": axis - rank if axis == rank - 1 else axis})]


def _clip_from_onnx(context: Any) -> list:
    if context.opset < 11:
        low, high = context.attribute("min"), context.attribute("max")
    else:
        low = context.value(context.input(1)) if context.input(1) else None
        high = context.value(context.input(2)) if context.input(2) else None
    low = context.number(low) if low is not None else None
    high = context.number(high) if high is not None else None
    if (low, high) == (0, 6):
        return [context.layer("relu6", {})]
    if low is not None and high is not None:
        return [context.layer("hardtanh", {"min_val": low, "max_val": high})]
    return [context.layer("clamp", {key: value for key, value in (("min", low), ("max", high)) if value is not None})]


def _prelu_from_onnx(context: Any) -> list:
    slope = context.node.input[1]
    if not context.is_constant(slope):
        raise context.unmapped("its slope is computed at run time")
    count = context.numel(slope)
    return [context.layer("prelu", {"num_parameters": count} if count != 1 else {}, params=count)]


def _pow_from_onnx(context: Any) -> list:
    exponent = context.input(1)
    if not context.is_constant(exponent) or context.numel(exponent) != 1:
        raise context.unmapped("only a scalar constant exponent has a spec type")
    return [context.layer("pow", {"exponent": context.number(context.value(exponent))})]


def _dropout_from_onnx(context: Any) -> list:
    ratio = context.value(context.input(1)) if context.input(1) else context.attribute("ratio")
    return [context.layer("dropout", {"p": context.number(ratio)} if ratio is not None else {})]


def _cast_from_onnx(context: Any) -> list:
    """A cast to the element type the tensor already has (the exporter writes some): identity."""
    if context.element_type(context.node.input[0]) != context.attribute("to"):
        raise context.unmapped("a cast to another element type has no spec type")
    return [context.layer("identity", {})]


ONNX_OPERATORS = {**{op: _plain_from_onnx for op in (*_ONNX_PLAIN, *_ONNX_ALPHA)},
                  "Sigmoid": _gate_from_onnx, "HardSigmoid": _gate_from_onnx, "Gelu": _gelu_from_onnx,
                  "Softmax": _softmax_from_onnx, "LogSoftmax": _softmax_from_onnx, "Clip": _clip_from_onnx,
                  "PRelu": _prelu_from_onnx, "Pow": _pow_from_onnx, "Dropout": _dropout_from_onnx,
                  "Cast": _cast_from_onnx}
# Patterns of several nodes, tried before any family's mapper of the op they start with.
ONNX_PATTERNS = {"Div": _erf_gelu_from_onnx, "Mul": _tanh_gelu_from_onnx}


__all__ = ["LAYERS", "PReLU"]
