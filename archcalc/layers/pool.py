"""Pooling: max and average pooling (1d, 2d, 3d) and their adaptive forms.

Output size per axis (PyTorch's pooling_output_shape):
    O = ⌊(I + 2·P − D·(K − 1) − 1) / S⌋ + 1                      (ceil_mode false)
    O = min(⌈(I + 2·P − D·(K − 1) − 1) / S⌉ + 1, ⌈(I + P) / S⌉)   (ceil_mode true)
The second term of the min is PyTorch's rule that the last window must start inside the
input or its left padding. S defaults to K; average pooling has D = 1. PyTorch also requires
P ≤ K/2. Adaptive pooling gives the requested output size (None keeps the input size).
Pooling has no parameters and no MACs.
"""

from math import prod
from typing import Annotated, Any, ClassVar

from pydantic import Field, PlainValidator, WithJsonSchema

from ..formula import Bind, Number, ceil_div, minimum, value
from ..problems import LayerError
from .autograd import KEEP_INPUT, NEW, NOTHING, Backward, Context, Kept, batched
from .base import (
    END, SLIDE, Count, Flag, INT64_MAX, Layer, Outcome, PerAxisCount, PerAxisSize, Shape, Variant, Window, describe, kernel_field, per_axis,
    require_rank,
)
from .counting import Rule, View, calflops_patched, only_module, ptflops_numel, ptflops_twice
from .conv import axis_letters, check_window_fits, merge_axes, sliding_output, window_warnings


def pooled_ceil(size: Number, kernel: Number, stride: Number, padding: Number, dilation: Number) -> Number:
    """ceil_mode: round up, unless that puts the last window's start past the left padding."""
    return minimum(ceil_div(size + 2 * padding - dilation * (kernel - 1) - 1, stride) + 1,
                   ceil_div(size + padding, stride))


class _PoolNd(Layer):
    axes: ClassVar[int]
    dilated: ClassVar[bool]
    unpadded_check: ClassVar[bool] = False

    kernel_size: PerAxisCount = kernel_field()
    stride: PerAxisCount | None = Field(default=None, description="Defaults to kernel_size, as in PyTorch.")
    padding: PerAxisSize = 0
    ceil_mode: Flag = False

    def _dilation(self) -> Any:
        return 1

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        letters = axis_letters(self.axes)
        require_rank(self, shape, (self.axes + 1,), f"[C, {', '.join(letters)}]")
        kernel = per_axis(self, "kernel_size", self.kernel_size, self.axes)
        stride = kernel if self.stride is None else per_axis(self, "stride", self.stride, self.axes)
        padding = per_axis(self, "padding", self.padding, self.axes)
        dilation = per_axis(self, "dilation", self._dilation(), self.axes)
        out_sizes, windows, warnings = [], [], []
        for letter, size, k, s, p, d in zip(letters, shape[1:], kernel, stride, padding, dilation):
            if 2 * p > k:
                raise LayerError(f"padding {p} is more than half the kernel size {k} along {letter}"
                                 " (PyTorch requires padding ≤ kernel_size / 2)", key="padding", code="argument")
            span = d * (k - 1) + 1
            if not self.ceil_mode:
                check_window_fits(self, letter, size, size + 2 * p, span, what="pooling window")
            if self.unpadded_check and size < k:
                raise LayerError(f"input size {size} along {letter} is smaller than kernel size {k} (PyTorch's"
                                 f" {self.type} checks the unpadded input)", key="kernel_size", code="too-small")
            sub = letter.lower()
            terms = (bind(f"{letter}_in", size), bind(f"K_{sub}", k), bind(f"S_{sub}", s), bind(f"P_{sub}", p),
                     bind(f"D_{sub}", d) if self.dilated else 1)
            out = pooled_ceil(*terms) if self.ceil_mode else sliding_output(*terms)
            if value(out) < 1:
                raise LayerError(f"output size along {letter} would be {value(out)}: the pooling window (span {span})"
                                 f" does not fit the padded input ({size + 2 * p})", key="kernel_size", code="too-small")
            out_sizes.append(out)
            windows.append(Window(k, s, p, d))
            warnings += window_warnings(letter, size, k, s, p, p, d, value(out), what="pooling",
                                        tiling=not self.ceil_mode)
        return Outcome(shape=[bind("C", shape[0]), *out_sizes], axes=("C", *letters), layout=SLIDE,
                       windows=windows, warnings=merge_axes(warnings))


    def notes(self, inputs: list[Shape]) -> list[str]:
        notes = []
        if self.stride is None:
            notes.append("stride not given: it defaults to kernel_size, as in PyTorch")
        if self.ceil_mode:
            notes.append("ceil_mode: the output size rounds up, so the last window may run past the padded input;"
                         " PyTorch drops it if it would start past the input and its left padding, hence the min()")
        return notes


class _MaxPoolNd(_PoolNd):
    dilated: ClassVar[bool] = True
    dilation: PerAxisCount = 1
    return_indices: Flag = False

    def _dilation(self) -> Any:
        return self.dilation

    def saved(self, context: Context) -> Backward:
        """MaxPool{2,3}DWithIndicesBackward0 keeps the input and the int64 argmax indices (output-shaped)."""
        return _keep_input_and_indices(context)


class _AvgPoolNd(_PoolNd):
    dilated: ClassVar[bool] = False
    count_include_pad: Flag = True

    def saved(self, context: Context) -> Backward:
        """AvgPool{2,3}DBackward0 keeps the input (1d pooling runs the 2d kernel on a view of it)."""
        if not context.grads[0]:
            return NOTHING
        if self.axes == 3 and context.device == "cpu" and context.dtype in ("float16", "bfloat16"):
            return Backward(KEEP_INPUT.kept, notes=(f"PyTorch has no {context.dtype} avg_pool3d on CPU",))
        return KEEP_INPUT


def _check_output_size(raw: Any) -> Any:
    def one(item: Any) -> int | None:
        if item is None:
            return None
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"expected an integer or null (keep the input size), got {describe(item)}")
        if not 1 <= item <= INT64_MAX:
            raise ValueError(f"must be between 1 and {INT64_MAX:,}, got {item:,}")
        return item
    if isinstance(raw, (list, tuple)):
        if not raw:
            raise ValueError("expected an integer or a non-empty list, got an empty list")
        return tuple(one(item) for item in raw)
    if raw is None:
        raise ValueError("expected an integer or a list of integers/nulls, got null")
    return one(raw)


_size_or_null = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}
OutputSize = Annotated[
    Any, PlainValidator(_check_output_size),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "array", "items": _size_or_null}]}),
]


class _AdaptivePoolNd(Layer):
    """Adaptive pooling: PyTorch picks window i as [⌊i·I/O⌋, ⌈(i+1)·I/O⌉) along each axis."""

    axes: ClassVar[int]
    output_size: OutputSize

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        letters = axis_letters(self.axes)
        require_rank(self, shape, (self.axes + 1,), f"[C, {', '.join(letters)}]")
        wanted = (self.output_size,) * self.axes if not isinstance(self.output_size, tuple) else self.output_size
        if self.axes == 1 and None in wanted:
            raise LayerError("output_size of a 1d adaptive pooling must be an integer (PyTorch takes no null there)",
                             key="output_size", code="argument")
        if len(wanted) != self.axes:
            raise LayerError(f"output_size has {len(wanted)} values but {self.type} has {self.axes} spatial axes",
                             key="output_size", code="argument")
        out_sizes = [bind(f"{letter}_in", size) if target is None else bind(f"{letter}_target", target)
                     for letter, size, target in zip(letters, shape[1:], wanted)]
        # Even windows (I divisible by O) are a plain pooling with kernel = stride = I/O; uneven ones
        # have no single stride, so receptive-field arithmetic stops there.
        sizes = [(size, size if target is None else target) for size, target in zip(shape[1:], wanted)]
        even = all(size % target == 0 for size, target in sizes)
        windows = [Window(size // target, size // target, 0) for size, target in sizes] if even else []
        return Outcome(shape=[bind("C", shape[0]), *out_sizes], axes=("C", *letters),
                       layout=SLIDE if even else END, windows=windows)


    def notes(self, inputs: list[Shape]) -> list[str]:
        notes = []
        wanted = (self.output_size,) * self.axes if not isinstance(self.output_size, tuple) else self.output_size
        for letter, size, target in zip(axis_letters(self.axes), inputs[0][1:], wanted):
            target = size if target is None else target
            # only the windows shown are computed: an output of 10**18 positions is summarised, not listed
            windows = [(i * size // target, -(-(i + 1) * size // target)) for i in range(min(target, 5))]
            shown = ", ".join(f"[{start}, {end})" for start, end in windows[:4])
            more = f", … ({target} windows)" if target > 4 else ""
            notes.append(f"along {letter}, output i pools input [⌊i·I/O⌋, ⌈(i + 1)·I/O⌉) with I = {size}, O = {target}:"
                         f" {shown}{more}")
        return notes

    def saved(self, context: Context) -> Backward:
        """Adaptive average pooling keeps its input, except to a single position per channel: PyTorch then
        takes a mean over the spatial axes, whose backward keeps only sizes."""
        if not context.grads[0] or all(size == 1 for size in context.output[1:]):
            return NOTHING
        return KEEP_INPUT


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    return_indices: Flag = False

    def saved(self, context: Context) -> Backward:
        """AdaptiveMaxPool2DBackward0 keeps the input and the int64 indices, also for a 1×1 output."""
        return _keep_input_and_indices(context)


def _keep_input_and_indices(context: Context) -> Backward:
    if not context.grads[0]:
        return NOTHING
    return Backward((Kept("input", 0), Kept("indices", NEW, batched(context.output), "int64")))


_divisor = {"divisor_override": (Count | None, None)}

# ---------------------------------------------------------------------------------------------- counting conventions
# (archcalc.layers.counting; measured against the real tools, docs/conventions.md)

def _thop_adaptive(v: View) -> dict[str, int]:
    kernel = 1.0
    for size_in, size_out in zip(v.layer.input_shapes[0][1:], v.layer.output_shape[1:]):
        kernel *= size_in / size_out     # float64, as thop (uneven pools give fractional kernels)
    return {"pooling": int((kernel + 1) * (v.N * v.Y))}


def _thop_readme_adaptive(v: View) -> dict[str, int]:
    kernel = prod(i // o for i, o in zip(v.layer.input_shapes[0][1:], v.layer.output_shape[1:]))
    return {"pooling": (kernel + 1) * v.N * v.Y}


def _thop_readme_avgpool(v: View) -> dict[str, int]:
    raw = v.spec.kernel_size
    kernel = raw if isinstance(raw, int) else prod(raw)
    return {"pooling": (kernel + 1) * v.N * v.Y}


_MaxPoolNd.convention_row = _AdaptiveMaxPoolNd.convention_row = "maxpool"
_MaxPoolNd.counting = _AdaptiveMaxPoolNd.counting = {
    "ptflops": Rule(ptflops_twice, ptflops_numel("pooling")),
    "calflops": Rule("module or function: N·X", calflops_patched("pooling")),
}
_AvgPoolNd.convention_row = "avgpool"
_AvgPoolNd.counting = {
    "ptflops": Rule(ptflops_twice, ptflops_numel("pooling")),
    "thop": only_module("N·Y", lambda v: {"pooling": v.N * v.Y}),
    "thop-readme": only_module("(k + 1)·N·Y, k = ∏ kernel_size as written: an int k counts k, not k^d (a bug)",
                               _thop_readme_avgpool),
    "calflops": Rule("module or function: N·X", calflops_patched("pooling")),
}
_AdaptivePoolNd.convention_row = "adaptiveavgpool"
_AdaptivePoolNd.counting = {
    "fvcore": Rule("2d: N·X (1 per input element); 1d, 3d: 0 (unsupported)",
                   lambda v: {"pooling": v.N * v.X} if v.spec.axes == 2 else {}),
    "ptflops": Rule(ptflops_twice, ptflops_numel("pooling")),
    "thop": only_module("int((∏ in/out + 1)·N·Y), kernel in float64", _thop_adaptive),
    "thop-readme": only_module("(∏ ⌊in/out⌋ + 1)·N·Y", _thop_readme_adaptive),
    "calflops": Rule("module or function: N·X; operator (x.mean()): 0", calflops_patched("pooling")),
}


TITLE = "Pooling"  # the family in docs/formulas.md and docs/memory.md
ORDER = 4  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"maxpool": "maxpool2d", "avgpool": "avgpool2d", "globalaveragepooling2d": "adaptiveavgpool2d", "globalavgpool": "adaptiveavgpool2d"}

LAYERS = {
    "maxpool1d": Variant(_MaxPoolNd, "MaxPool1d", axes=1),
    "maxpool2d": Variant(_MaxPoolNd, "MaxPool2d", axes=2),
    "maxpool3d": Variant(_MaxPoolNd, "MaxPool3d", axes=3),
    "avgpool1d": Variant(_AvgPoolNd, "AvgPool1d", axes=1),
    "avgpool2d": Variant(_AvgPoolNd, "AvgPool2d", _divisor, axes=2),
    "avgpool3d": Variant(_AvgPoolNd, "AvgPool3d", _divisor, axes=3, unpadded_check=True),
    "adaptiveavgpool1d": Variant(_AdaptivePoolNd, "AdaptiveAvgPool1d", axes=1),
    "adaptiveavgpool2d": Variant(_AdaptivePoolNd, "AdaptiveAvgPool2d", axes=2),
    "adaptiveavgpool3d": Variant(_AdaptivePoolNd, "AdaptiveAvgPool3d", axes=3),
    "adaptivemaxpool2d": Variant(_AdaptiveMaxPoolNd, "AdaptiveMaxPool2d", axes=2),
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "maxpool1d": [("", {"kernel_size": 3, "stride": 2}, [[16, 50]])],
    "maxpool2d": [("", {"kernel_size": 3, "stride": 2, "padding": 1}, [[64, 112, 112]]),
                  ("ceil_mode", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, [[8, 5, 5]])],
    "maxpool3d": [("", {"kernel_size": 2}, [[8, 4, 16, 16]])],
    "avgpool1d": [("", {"kernel_size": 4}, [[16, 50]])],
    "avgpool2d": [("", {"kernel_size": 2, "stride": 2}, [[64, 7, 7]]),
                  ("ceil_mode", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [[96, 54, 54]])],
    "avgpool3d": [("", {"kernel_size": 2}, [[8, 4, 16, 16]])],
    "adaptiveavgpool1d": [("", {"output_size": 4}, [[16, 10]])],
    "adaptiveavgpool2d": [("global", {"output_size": 1}, [[512, 7, 7]]),
                          ("uneven windows", {"output_size": [3, 2]}, [[8, 7, 5]])],
    "adaptiveavgpool3d": [("", {"output_size": 1}, [[8, 4, 7, 7]])],
    "adaptivemaxpool2d": [("", {"output_size": 2}, [[8, 5, 5]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
_MAX = ("Max{dims}WithIndicesBackward0 keeps the input and the argmax indices, int64 (8 B each) and shaped like the"
        " output, when the input requires a gradient (pooling has no parameters: before the first trainable layer"
        " it keeps nothing). It does not keep its output. After a ReLU the input is the ReLU's kept output, so"
        " the pool adds only its indices.")
MEMORY_FACTS = {
    "maxpool1d": _MAX.format(dims="Pool2D") + " 1d pooling runs the 2d kernel on a [N, C, 1, L] view of the"
                 " same storage. Measured: kernel 2 on [2, 4, 10] keeps 320 + 320 B.",
    "maxpool2d": _MAX.format(dims="Pool2D") + " Measured: kernel 2 on [2, 4, 6, 6] keeps 1,152 + 576 B.",
    "maxpool3d": _MAX.format(dims="Pool3D") + " Measured: kernel 2 on [2, 4, 4, 6, 6] keeps 4,608 + 1,152 B.",
    "avgpool1d": "AvgPool2DBackward0 keeps the input (a [N, C, 1, L] view) when it requires a gradient."
                 " Measured: [2, 4, 10] → 320 B.",
    "avgpool2d": "AvgPool2DBackward0 keeps the input when it requires a gradient. Measured: [2, 4, 6, 6] → 1,152 B.",
    "avgpool3d": "AvgPool3DBackward0 keeps the input when it requires a gradient. Measured: [2, 4, 4, 6, 6] →"
                 " 4,608 B. PyTorch 2.13 has no float16/bfloat16 avg_pool3d on CPU.",
    **{tag: "Adaptive average pooling keeps its input when it requires a gradient — except when every output"
            " size is 1 (global average pooling): PyTorch then computes a mean over the spatial axes, whose"
            " MeanBackward keeps only sizes, so the layer keeps nothing and the next layer keeps the small"
            " [N, C, 1, ...] output. Measured: output 1 keeps 0 B in 1d, 2d and 3d; output 3 on [2, 4, 10]"
            " 320 B; output (1, None) on [2, 4, 6, 6] 1,152 B." for tag in ("adaptiveavgpool1d", "adaptiveavgpool2d",
                                                                             "adaptiveavgpool3d")},
    "adaptivemaxpool2d": "AdaptiveMaxPool2DBackward0 keeps the input and int64 indices shaped like the output,"
                         " also for a 1×1 output. Measured: output 3 on [2, 4, 6, 6] keeps 1,152 + 576 B; output"
                         " 1 keeps 1,152 + 64 B.",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "maxpool1d": [
        ("", {"kernel_size": 2}, [[16, 100]], None),
    ],
    "maxpool2d": [
        ("", {"kernel_size": 2}, [[64, 28, 28]], None),
    ],
    "maxpool3d": [
        ("", {"kernel_size": 2}, [[16, 4, 8, 8]], None),
    ],
    "avgpool1d": [
        ("", {"kernel_size": 2}, [[16, 100]], None),
    ],
    "avgpool2d": [
        ("", {"kernel_size": 2}, [[64, 28, 28]], None),
    ],
    "avgpool3d": [
        ("", {"kernel_size": 2}, [[16, 4, 8, 8]], None),
    ],
    "adaptiveavgpool1d": [
        ("", {"output_size": 4}, [[16, 100]], None),
        ("output 1", {"output_size": 1}, [[16, 100]], None),
    ],
    "adaptiveavgpool2d": [
        ("", {"output_size": 7}, [[64, 28, 28]], None),
        ("output 1 (global)", {"output_size": 1}, [[64, 28, 28]], None),
    ],
    "adaptiveavgpool3d": [
        ("", {"output_size": 2}, [[16, 4, 8, 8]], None),
        ("output 1", {"output_size": 1}, [[16, 4, 8, 8]], None),
    ],
    "adaptivemaxpool2d": [
        ("", {"output_size": 7}, [[64, 28, 28]], None),
        ("output 1", {"output_size": 1}, [[64, 28, 28]], None),
    ],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
def _pool_from_onnx(context: Any) -> list:
    node = context.node
    spatial = context.rank() - 2
    if spatial not in (1, 2, 3):
        raise context.unmapped(f"a {spatial}-d pool has no spec type")
    if len([name for name in node.output if name]) > 1:
        raise context.unmapped("its indices output is used")
    kernel = list(context.attribute("kernel_shape"))
    strides = list(context.attribute("strides", [1] * spatial))   # ONNX's default stride is 1, not the kernel
    dilations = list(context.attribute("dilations", [1] * spatial))
    pads = context.spatial_pads(kernel, strides, dilations)
    if pads[:spatial] != pads[spatial:]:
        raise context.unmapped(f"asymmetric pads {pads} have no pooling spec type")
    arguments: dict[str, Any] = {"kernel_size": context.per_axis(kernel), "stride": context.per_axis(strides)}
    if pads[:spatial] != [0] * spatial:
        arguments["padding"] = context.per_axis(pads[:spatial])
    if context.attribute("ceil_mode", 0):
        arguments["ceil_mode"] = True
    if node.op_type == "MaxPool":
        if dilations != [1] * spatial:
            arguments["dilation"] = context.per_axis(dilations)
        return [context.layer(f"maxpool{spatial}d", arguments)]
    if dilations != [1] * spatial:
        raise context.unmapped("a dilated average pool has no spec type")
    if "padding" in arguments:
        arguments["count_include_pad"] = bool(context.attribute("count_include_pad", 0))
    return [context.layer(f"avgpool{spatial}d", arguments)]


def _global_pool_from_onnx(context: Any) -> list:
    spatial = context.rank() - 2
    if context.node.op_type == "GlobalMaxPool":
        if spatial != 2:
            raise context.unmapped(f"a {spatial}-d global max pool has no spec type (adaptivemaxpool2d is 2-d)")
        return [context.layer("adaptivemaxpool2d", {"output_size": 1})]
    if spatial not in (1, 2, 3):
        raise context.unmapped(f"a {spatial}-d global average pool has no spec type")
    return [context.layer(f"adaptiveavgpool{spatial}d", {"output_size": 1})]


ONNX_OPERATORS = {"MaxPool": _pool_from_onnx, "AveragePool": _pool_from_onnx,
                  "GlobalAveragePool": _global_pool_from_onnx, "GlobalMaxPool": _global_pool_from_onnx}


__all__ = ["LAYERS", "pooled_ceil"]
