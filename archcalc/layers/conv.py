"""Convolutions: conv1d/2d/3d (torch.nn.ConvNd) and convtranspose1d/2d/3d.

Output size per spatial axis (PyTorch's rule, floor division):
    O = ⌊(I + 2·P − D·(K − 1) − 1) / S⌋ + 1
`padding: same` pads D·(K − 1) in total, the odd one on the right (PyTorch), so O = I with S = 1.
Parameters: (K₁·…·Kₙ·C_in/groups + 1)·C_out (without the +1 when bias is false).
MACs: K₁·…·Kₙ·C_in/groups · C_out · O₁·…·Oₙ, i.e. weight elements used per output element
times output elements; bias additions are not MACs.
"""

import math
from functools import lru_cache
from math import prod
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import Field, PlainValidator, WithJsonSchema


from ..formula import Bind, Number, exact_div, product, value
from ..problems import LayerError
from .autograd import KEEP_INPUT, NOTHING, Backward, Context
from .counting import Rule, View, batch_macs, macs_and_bias, only_module, per_axis_values
from .base import (
    SLIDE, Count, Flag, Layer, Outcome, PerAxisCount, PerAxisSize, Shape, Variant, Window, _per_axis_checker, _per_axis_schema, declared_matches,
    describe, kernel_field, per_axis, require_rank,
)


def _check_padding(raw: Any) -> Any:
    if isinstance(raw, str):
        if raw.lower() in ("same", "valid"):
            return raw.lower()
        raise ValueError(f"expected an integer, a list of integers, 'same' or 'valid', got {describe(raw)}")
    return _per_axis_checker(0)(raw)


ConvPadding = Annotated[
    Any, PlainValidator(_check_padding),
    WithJsonSchema({"anyOf": [_per_axis_schema(0), {"enum": ["same", "valid"]}]}),
]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def sliding_output(size: Number, kernel: Number, stride: Number, padding: Number, dilation: Number) -> Number:
    """O = ⌊(I + 2·P − D·(K − 1) − 1) / S⌋ + 1 (PyTorch's conv output size)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def sliding_output_lr(size: Number, kernel: Number, stride: Number, left: Number, right: Number,
                      dilation: Number) -> Number:
    """The same with different left and right padding (`padding: same` with an even span)."""
    return (size + left + right - dilation * (kernel - 1) - 1) // stride + 1


_AXIS_LETTERS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def axis_letters(axes: int) -> tuple[str, ...]:
    return _AXIS_LETTERS[axes]


class _AxisSymbols(NamedTuple):
    """The names a convolution's formulas give one spatial axis's quantities (written once, not per call)."""

    size: str
    kernel: str
    stride: str
    padding: str
    dilation: str
    out: str


_SYMBOLS = {letter: _AxisSymbols(f"{letter}_in", f"K_{letter.lower()}", f"S_{letter.lower()}", f"P_{letter.lower()}",
                                 f"D_{letter.lower()}", f"{letter}_out") for letter in "LDHW"}


_UNITS = {"L": ("position", "positions"), "D": ("slice", "slices"), "H": ("row", "rows"),
          "W": ("column", "columns")}


_COVERAGE_LIMIT = 100_000  # residue classes to count; beyond them (astronomic inputs) coverage is not checked


def _covered(intervals: int, period: int, length: int, high: int) -> int:
    """How many of 0..high lie in the `intervals` intervals [j·period, j·period + length − 1], j = 0, 1, ..."""
    if high < 0:
        return 0
    if length >= period:  # the intervals touch: one run
        return min(high, (intervals - 1) * period + length - 1) + 1
    full, rest = divmod(high + 1, period)
    return min(full, intervals) * length + (min(rest, length) if full < intervals else 0)


def _last_covered(intervals: int, period: int, length: int, high: int) -> int:
    """The largest of 0..high in those intervals (−1 if none)."""
    if high < 0:
        return -1
    if length >= period:
        return min(high, (intervals - 1) * period + length - 1)
    j = min(high // period, intervals - 1)
    return min(high, j * period + length - 1)


def _coverage(size: int, kernel: int, stride: int, left: int, dilation: int, out: int) -> tuple[int, int] | None:
    """(how many input positions some window sees, the last one seen; −1 if none), by arithmetic.

    Window w's taps are at w·S + t·D − left (w < out, t < K): the set {a·A + b·B} with (A, n_a, B, n_b) =
    (S, out, D, K) or, symmetrically, (D, K, S, out). With g = gcd(A, B), the b with the same b·B mod A form
    classes b₀ + j·A/g; class b₀ holds b₀·B + A·m for m in n_b-ish intervals [j·B/g, j·B/g + n_a − 1], and
    classes are disjoint. So one pass over min(A/g, n_b) classes, each counted in O(1); None (not checked)
    when both ways need more than _COVERAGE_LIMIT classes, which only astronomically large inputs do."""
    low, high = left, left + size - 1  # tap values that land inside the input
    options = []
    for a_step, a_count, b_step, b_count in ((stride, out, dilation, kernel), (dilation, kernel, stride, out)):
        g = math.gcd(a_step, b_step)
        options.append((min(a_step // g, b_count), a_step, a_count, b_step, b_count, g))
    classes, a_step, a_count, b_step, b_count, g = min(options)
    if classes > _COVERAGE_LIMIT:
        return None
    period = b_step // g
    count, last = 0, -1
    for b0 in range(classes):
        offset = b0 * b_step
        intervals = -(-(b_count - b0) // (a_step // g))
        m_low, m_high = -(-(low - offset) // a_step), (high - offset) // a_step
        if m_high < max(m_low, 0):
            continue
        count += _covered(intervals, period, a_count, m_high) - _covered(intervals, period, a_count, m_low - 1)
        top = _last_covered(intervals, period, a_count, m_high)
        if top >= m_low:
            last = max(last, offset + a_step * top - left)
    return count, last


@lru_cache(maxsize=1024)  # a pure function of its integers, asked again for every layer of the same geometry
def window_warnings(letter: str, size: int, kernel: int, stride: int, left: int, right: int, dilation: int,
                    out: int, what: str = "kernel", tiling: bool = True) -> tuple[tuple[str, str | None, str, str, int], ...]:
    """Legal but suspicious geometry along one axis: input positions that no window ever sees
    (the floor in the output size drops the last ones; a kernel narrower than its stride, or
    dilation, skips some in between) and windows that see only padding. Padding that no window
    sees is harmless and not reported. Messages say `{axis}` and `{units}` where the axis goes, so
    that equal findings on several axes can be told once (`merge_axes`)."""
    found = []
    coverage = _coverage(size, kernel, stride, left, dilation, out)
    if coverage is not None:
        count, last = coverage
        tail = size - 1 - last
        between = size - count - tail
        dropped = (size + left + right - dilation * (kernel - 1) - 1) % stride
        if between > 0:
            why = (f"the kernel spans {dilation * (kernel - 1) + 1}, less than the stride {stride}"
                   if dilation * (kernel - 1) + 1 < stride else f"dilation {dilation} leaves gaps between kernel taps")
            unseen = between + (tail if tiling else 0)
            also = f"; the floor also drops the last {tail}" if tiling and tail > 0 else ""
            found.append((f"{unseen} of the {size} input {{units}} along {{axis}} are never seen: {why}"
                          f" ({between} fall between windows{also})", "stride", "skipped-input", letter, unseen))
        elif tiling and tail > 0:
            padding = f"2·{left}" if left == right else f"{left} + {right}"
            verb = "are" if tail > 1 else "is"
            found.append((f"stride {stride} does not tile the input along {{axis}}: (I + 2·P − D·(K − 1) − 1) mod S"
                          f" = ({size} + {padding} − {dilation}·({kernel} − 1) − 1) mod {stride} = {dropped}, so the"
                          f" last {tail} {{units}} of the input {verb} never seen", "stride", "stride-tiling", letter,
                          tail))
    if left > dilation * (kernel - 1):
        found.append((f"the first {what} window along {{axis}} sees only padding (padding {left} is more than"
                      f" dilation·(kernel − 1) = {dilation * (kernel - 1)})", "padding", "padding-only-window",
                      letter, 0))
    last_start = (out - 1) * stride - left
    if last_start >= size:
        found.append((f"the last {what} window along {{axis}} starts at {last_start}, past the input's last index"
                      f" {size - 1}: it sees only padding", "padding", "padding-only-window", letter, 0))
    return tuple(found)


def merge_axes(found: list[tuple[str, str | None, str, str, int]]) -> list[tuple[str, str | None, str]]:
    """One warning per distinct finding, naming every axis it holds for ("along H and W")."""
    axes: dict[tuple[str, str | None, str, int], list[str]] = {}
    for message, key, code, letter, count in found:
        axes.setdefault((message, key, code, count), []).append(letter)
    merged = []
    for (message, key, code, count), letters in axes.items():
        units = " and ".join(_UNITS[letter][count > 1] for letter in letters)
        merged.append((message.format(axis=" and ".join(letters), units=units), key, code))
    return merged


def check_window_fits(layer: Layer, letter: str, size: int, padded: int, span: int, what: str = "kernel") -> None:
    if padded < span:
        raise LayerError(
            f"{what} spans {span} along {letter} (dilation included) but the padded input is only {padded}"
            f" (input {size})", key="kernel_size", code="too-small")


def check_channels(layer: Layer, shape: Shape) -> int:
    """A convolution's input rank, declared in_channels and groups, as PyTorch checks them; the channels."""
    if len(shape) != layer.axes + 1:  # the message is built only when it is needed
        require_rank(layer, shape, (layer.axes + 1,), f"[C, {', '.join(axis_letters(layer.axes))}]")
    channels = shape[0]
    declared_matches("in_channels", layer.in_channels, channels, "channel count")
    for key, count in (("in_channels", channels), ("out_channels", layer.out_channels)):
        if count % layer.groups:
            raise LayerError(f"{key} ({count:,}) is not divisible by groups ({layer.groups:,})", key="groups",
                             code="groups")
    return channels


class _ConvNd(Layer):
    """torch.nn.ConvNd over [C, *spatial] with `axes` spatial axes."""

    axes: ClassVar[int]

    in_channels: Count | None = Field(default=None, description="Optional; must equal the incoming channel count.")
    out_channels: Count
    kernel_size: PerAxisCount = kernel_field()
    stride: PerAxisCount = 1
    padding: ConvPadding = 0
    dilation: PerAxisCount = 1
    groups: Count = 1
    bias: Flag = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        channels = check_channels(self, shape)
        kernel = per_axis(self, "kernel_size", self.kernel_size, self.axes)
        stride = per_axis(self, "stride", self.stride, self.axes)
        dilation = per_axis(self, "dilation", self.dilation, self.axes)
        if self.padding == "same" and any(s != 1 for s in stride):
            raise LayerError("padding 'same' needs stride 1 (PyTorch: not supported for strided convolutions)",
                             key="padding", code="argument")
        padding = (0,) * self.axes if self.padding in ("same", "valid") else per_axis(
            self, "padding", self.padding, self.axes)

        c_in, c_out, groups = bind("C_in", channels), bind("C_out", self.out_channels), bind("groups", self.groups)
        out_sizes, kernels, windows, warnings = [], [], [], []
        for letter, size, k, s, p, d in zip(axis_letters(self.axes), shape[1:], kernel, stride, padding, dilation):
            names = _SYMBOLS[letter]
            span = d * (k - 1) + 1
            left, right = (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) if self.padding == "same" else (p, p)
            windows.append(Window(k, s, left, d))
            if self.padding_mode == "reflect" and max(left, right) >= size:
                raise LayerError(f"padding_mode reflect needs padding smaller than the input along {letter}, got"
                                 f" padding {max(left, right)} for size {size}", key="padding", code="argument")
            if self.padding_mode == "circular" and max(left, right) > size:
                raise LayerError(f"padding_mode circular cannot wrap around more than once along {letter}: padding"
                                 f" {max(left, right)} for size {size}", key="padding", code="argument")
            if self.padding == "same":
                check_window_fits(self, letter, size, size + d * (k - 1), span)
                out = sliding_output_lr(bind(names.size, size), bind(names.kernel, k), bind(names.stride, s),
                                        bind("P_before", left), bind("P_after", d * (k - 1) - left),
                                        bind(names.dilation, d))
            else:
                check_window_fits(self, letter, size, size + 2 * p, span)
                out = sliding_output(bind(names.size, size), bind(names.kernel, k), bind(names.stride, s),
                                     bind(names.padding, p), bind(names.dilation, d))
            warnings += window_warnings(letter, size, k, s, left, right, d, value(out))
            out_sizes.append(out)
            kernels.append(bind(names.kernel, k))
        weights_per_output = product(kernels) * exact_div(c_in, groups)
        params = (weights_per_output + 1) * c_out if self.bias else weights_per_output * c_out
        output_elements = product(bind(_SYMBOLS[letter].out, value(o)) for letter, o in zip(axis_letters(self.axes), out_sizes))
        return Outcome(
            shape=[c_out, *out_sizes],
            params=params,
            macs=weights_per_output * c_out * output_elements,
            axes=("C", *axis_letters(self.axes)),
            layout=SLIDE, windows=windows, warnings=merge_axes(warnings),
        )

    def notes(self, inputs: list[Shape]) -> list[str]:
        notes = _conv_notes(self, inputs[0][0])
        if self.padding == "same":
            kernel = per_axis(self, "kernel_size", self.kernel_size, self.axes)
            dilation = per_axis(self, "dilation", self.dilation, self.axes)
            for letter, k, d in zip(axis_letters(self.axes), kernel, dilation):
                total = d * (k - 1)
                notes.append(f"padding 'same' along {letter}: D·(K − 1) = {d}·({k} − 1) = {total} padded in all,"
                             f" {total // 2} before and {total - total // 2} after (PyTorch puts an odd one after)")
        elif self.padding == "valid":
            notes.append("padding 'valid' means no padding")
        return notes

    def saved(self, context: Context) -> Backward:
        """ConvolutionBackward0 keeps the input (and the weight, a parameter) whenever anything needs a
        gradient: the input, the weight or the bias."""
        return KEEP_INPUT if context.needs_grad else NOTHING

    def parameter_tensors(self) -> int:
        return 2 if self.bias else 1


def transposed_output(size: Number, kernel: Number, stride: Number, padding: Number, dilation: Number,
                      output_padding: Number) -> Number:
    """O = (I − 1)·S − 2·P + D·(K − 1) + output_padding + 1 (PyTorch's ConvTranspose output size)."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


class _ConvTransposeNd(Layer):
    """torch.nn.ConvTransposeNd: every input element is scattered through the whole kernel.

    Parameters: (C_in·C_out/groups·K₁·…·Kₙ) + C_out (weight [C_in, C_out/groups, K…]).
    MACs: input elements × C_out/groups × kernel elements (contract §2), i.e. counted on the input side.
    """

    axes: ClassVar[int]

    in_channels: Count | None = Field(default=None, description="Optional; must equal the incoming channel count.")
    out_channels: Count
    kernel_size: PerAxisCount = kernel_field()
    stride: PerAxisCount = 1
    padding: PerAxisSize = 0
    output_padding: PerAxisSize = 0
    dilation: PerAxisCount = 1
    groups: Count = 1
    bias: Flag = True
    padding_mode: Literal["zeros"] = "zeros"

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        letters = axis_letters(self.axes)
        channels = check_channels(self, shape)
        kernel = per_axis(self, "kernel_size", self.kernel_size, self.axes)
        stride = per_axis(self, "stride", self.stride, self.axes)
        padding = per_axis(self, "padding", self.padding, self.axes)
        extra = per_axis(self, "output_padding", self.output_padding, self.axes)
        dilation = per_axis(self, "dilation", self.dilation, self.axes)
        c_in, c_out, groups = bind("C_in", channels), bind("C_out", self.out_channels), bind("groups", self.groups)
        out_sizes, kernels, in_sizes, windows = [], [], [], []
        for letter, size, k, s, p, e, d in zip(letters, shape[1:], kernel, stride, padding, extra, dilation):
            if e >= s and e >= d:
                raise LayerError(f"output_padding {e} along {letter} must be smaller than either stride ({s}) or"
                                 f" dilation ({d})", key="output_padding", code="argument")
            sub = letter.lower()
            size_in = bind(f"{letter}_in", size)
            out = transposed_output(size_in, bind(f"K_{sub}", k), bind(f"S_{sub}", s), bind(f"P_{sub}", p),
                                    bind(f"D_{sub}", d), bind(f"OP_{sub}", e))
            if value(out) < 1:
                raise LayerError(f"output size along {letter} would be {value(out)}: padding {p} removes more than"
                                 " the transposed convolution produces", key="padding", code="too-small")
            out_sizes.append(out)
            kernels.append(bind(f"K_{sub}", k))
            in_sizes.append(size_in)
            windows.append(Window(k, s, p, d, transposed=True))
        weights_per_input = exact_div(c_out, groups) * product(kernels)
        params = c_in * weights_per_input + c_out if self.bias else c_in * weights_per_input
        return Outcome(
            shape=[c_out, *out_sizes],
            params=params,
            macs=c_in * product(in_sizes) * weights_per_input,
            axes=("C", *letters),
            layout=SLIDE, windows=windows,
        )

    def notes(self, inputs: list[Shape]) -> list[str]:
        return [*_conv_notes(self, inputs[0][0]),
                "every input element is scattered through the whole kernel, so MACs are counted on the input side:"
                " C_in·(input positions)·C_out/groups·(kernel elements)"]

    def saved(self, context: Context) -> Backward:
        """ConvolutionBackward0 keeps the input (and the weight, a parameter) whenever anything needs a
        gradient: the input, the weight or the bias."""
        return KEEP_INPUT if context.needs_grad else NOTHING

    def parameter_tensors(self) -> int:
        return 2 if self.bias else 1


def _conv_notes(layer: Layer, channels: int) -> list[str]:
    notes = []
    if layer.groups > 1:
        kind = "depthwise: one filter per input channel" if layer.groups == channels else \
            f"{layer.groups} groups: each output channel sees C_in/groups = {channels // layer.groups} input channels"
        notes.append(f"groups = {layer.groups} ({kind})")
    if not layer.bias:
        notes.append("bias: false, so no + C_out bias parameters")
    return notes


# ---------------------------------------------------------------------------------------------- counting conventions
# (archcalc.layers.counting; measured against the real tools, docs/conventions.md)

def _weights_per_output(v: View) -> int:
    """Weights used per output element, K·C_in/g: also for transposed conv (counted on the output side)."""
    return prod(per_axis_values(v.spec.kernel_size, v.layer.output_shape)) * v.layer.input_shapes[0][0] \
        // v.spec.groups


def _calflops_positions(v: View) -> int:
    """calflops' output positions: the conv formula ⌊(I + 2P − D(K − 1) − 1)/S⌋ + 1 per axis, with padding
    'same' as D(K − 1)//2 on both sides (one short of PyTorch's for an odd total), and applied to the INPUT of
    a transposed conv as well (for its bias term)."""
    spatial = v.layer.input_shapes[0][1:]
    kernel = per_axis_values(v.spec.kernel_size, v.layer.output_shape)
    stride = per_axis_values(v.spec.stride, v.layer.output_shape)
    dilation = per_axis_values(v.spec.dilation, v.layer.output_shape)
    if v.spec.padding == "same":
        padding = [d * (k - 1) // 2 for d, k in zip(dilation, kernel)]
    elif v.spec.padding == "valid":
        padding = [0] * len(kernel)
    else:
        padding = per_axis_values(v.spec.padding, v.layer.output_shape)
    positions = 1
    for size, k, s, p, d in zip(spatial, kernel, stride, padding, dilation):
        positions *= (size + 2 * p - d * (k - 1) - 1) // s + 1
    return positions


def _calflops_conv(v: View) -> dict[str, int]:
    out_channels = v.layer.output_shape[0]
    positions = _calflops_positions(v)
    return {"conv": 2 * v.N * _weights_per_output(v) * out_channels * positions,
            "bias": v.N * v.bias * out_channels * positions}


def _calflops_convtranspose(v: View) -> dict[str, int]:
    in_channels, out_channels, groups = v.layer.input_shapes[0][0], v.layer.output_shape[0], v.spec.groups
    kernel = prod(per_axis_values(v.spec.kernel_size, v.layer.output_shape))
    macs = kernel * in_channels * (out_channels // groups // groups) * prod(v.layer.input_shapes[0][1:])
    return {"convtranspose": 2 * v.N * macs,
            "bias": v.N * v.bias * (out_channels // groups) * _calflops_positions(v)}


def _fvcore_conv(v: View) -> dict[str, int]:
    return {} if isinstance(v.spec.padding, str) else {"conv": v.N * v.M}


_ConvNd.inferred_argument = _ConvTransposeNd.inferred_argument = ("in_channels", 0)
_ConvNd.convention_row = "conv"
_ConvNd.module_only = True
_ConvNd.counting = {
    "pytorch": Rule("N·M (K·C_in/g·C_out·P_out)", batch_macs("conv")),
    "fvcore": Rule("N·M; padding 'same'/'valid': 0 (aten::_convolution_mode unsupported)", _fvcore_conv),
    "ptflops": Rule("M + bias·Y", macs_and_bias("conv", whole_batch=False)),
    "ptflops-aten": Rule("N·(M + bias·Y)", macs_and_bias("conv")),
    "thop": only_module("N·M", batch_macs("conv")),
    "thop-readme": only_module("N·(M + bias·Y)", macs_and_bias("conv")),
    "torchinfo": only_module("N·P_out·params = N·(M + bias·Y)", macs_and_bias("conv")),
    "calflops": Rule("2·N·M + N·bias·Y; padding 'same' with an odd D·(K − 1): P_out of D·(K − 1)//2 on both sides",
                     _calflops_conv),
}
_ConvTransposeNd.convention_row = "convtranspose"
_ConvTransposeNd.module_only = True
_ConvTransposeNd.counting = {
    "pytorch": Rule("N·M (K·C_in·C_out/g·P_in)", batch_macs("convtranspose")),
    "fvcore": Rule("N·M", batch_macs("convtranspose")),
    "ptflops": Rule("M + bias·Y", macs_and_bias("convtranspose", whole_batch=False)),
    "ptflops-aten": Rule("N·(M + bias·Y)", macs_and_bias("convtranspose")),
    "thop": only_module(
        "N·K·C_in/g·Y: output side, ≈ stride^d too many (Lyken17/pytorch-OpCounter#93, ultralytics/thop#92)",
        lambda v: {"convtranspose": v.N * _weights_per_output(v) * v.Y}),
    "thop-readme": only_module("N·(K·C_in/g + bias)·Y (output side)",
                               lambda v: {"convtranspose": v.N * _weights_per_output(v) * v.Y,
                                          "bias": v.N * v.bias * v.Y}),
    "torchinfo": only_module("N·P_out·params = N·(K·C_in/g·Y + bias·Y) (output side)",
                             lambda v: {"convtranspose": v.N * _weights_per_output(v) * v.Y,
                                        "bias": v.N * v.bias * v.Y}),
    "calflops": Rule("2·N·K·C_in·⌊C_out/g²⌋·P_in (g divides twice) + N·bias·C_out/g·P', P' = conv"
                     " formula on the input", _calflops_convtranspose),
}


TITLE = "Convolutions"  # the family in docs/formulas.md and docs/memory.md
ORDER = 1  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"conv": "conv2d", "convolution": "conv2d", "conv2d_transpose": "convtranspose2d"}

LAYERS = {
    "conv1d": Variant(_ConvNd, "Conv1d", axes=1),
    "conv2d": Variant(_ConvNd, "Conv2d", axes=2),
    "conv3d": Variant(_ConvNd, "Conv3d", axes=3),
    "convtranspose1d": Variant(_ConvTransposeNd, "ConvTranspose1d", axes=1),
    "convtranspose2d": Variant(_ConvTransposeNd, "ConvTranspose2d", axes=2),
    "convtranspose3d": Variant(_ConvTransposeNd, "ConvTranspose3d", axes=3),
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "conv1d": [("", {"out_channels": 8, "kernel_size": 5, "stride": 2, "padding": 2}, [[4, 50]])],
    "conv2d": [("", {"out_channels": 6, "kernel_size": 5}, [[1, 28, 28]]),
               ("stride, padding and dilation", {"out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 2,
                                                 "dilation": 2}, [[16, 32, 32]]),
               ("grouped (depthwise), no bias", {"out_channels": 32, "kernel_size": 3, "padding": 1, "groups": 32,
                                                 "bias": False}, [[32, 56, 56]]),
               ("padding 'same' with an even kernel", {"out_channels": 8, "kernel_size": 4, "padding": "same"},
                [[3, 10, 10]])],
    "conv3d": [("", {"out_channels": 8, "kernel_size": 3, "stride": [1, 2, 2], "padding": 1}, [[3, 8, 32, 32]])],
    "convtranspose1d": [("", {"out_channels": 6, "kernel_size": 5, "stride": 3}, [[4, 10]])],
    "convtranspose2d": [("", {"out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1,
                              "output_padding": 1}, [[64, 16, 16]])],
    "convtranspose3d": [("", {"out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
                         [[4, 3, 4, 5]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
MEMORY_FACTS = {
    **{tag: "ConvolutionBackward0 keeps the input (the weight too, a parameter) whenever the input, the weight or"
            " the bias needs a gradient: also as the first trainable layer, and with only the bias trainable."
            " The output is a new tensor the convolution does not keep; the next layer that needs it pays for"
            " it. Measured (float32): conv1d on [2, 4, 10] keeps 320 B, conv2d on [2, 4, 6, 6] 1,152 B, conv3d on"
            " [2, 4, 4, 6, 6] 4,608 B, the same without bias; a frozen convolution before any trainable layer"
            " keeps nothing, after one it keeps its input." for tag in ("conv1d", "conv2d", "conv3d")},
    **{tag: "ConvolutionBackward0 (transposed) keeps the input, like a convolution, whenever anything needs a"
            " gradient. Measured: convtranspose2d (stride 2) on [2, 4, 6, 6] keeps 1,152 B; the next layer keeps"
            " the [2, 8, 13, 13] output, 10,816 B." for tag in ("convtranspose1d", "convtranspose2d",
                                                                 "convtranspose3d")},
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "conv1d": [
        ("", {"out_channels": 32, "kernel_size": 3}, [[16, 100]], None),
    ],
    "conv2d": [
        ("", {"out_channels": 64, "kernel_size": 3, "padding": 1}, [[64, 28, 28]], None),
        ("trainable: false", {"out_channels": 64, "kernel_size": 3, "padding": 1, "trainable": False}, [[64, 28, 28]], None),
    ],
    "conv3d": [
        ("", {"out_channels": 16, "kernel_size": 3, "padding": 1}, [[16, 4, 8, 8]], None),
    ],
    "convtranspose1d": [
        ("", {"out_channels": 8, "kernel_size": 2, "stride": 2}, [[16, 100]], None),
    ],
    "convtranspose2d": [
        ("", {"out_channels": 32, "kernel_size": 2, "stride": 2}, [[64, 28, 28]], None),
    ],
    "convtranspose3d": [
        ("", {"out_channels": 8, "kernel_size": 2, "stride": 2}, [[16, 4, 8, 8]], None),
    ],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
def _conv_from_onnx(context: Any) -> list | None:
    node = context.node
    weight = node.input[1]
    if not context.is_constant(weight):
        raise context.unmapped("its weight is computed at run time, not an initializer")
    shape = context.constant_shape(weight)
    spatial = len(shape) - 2
    if spatial not in (1, 2, 3):
        raise context.unmapped(f"a {spatial}-d convolution has no spec type")
    groups = context.attribute("group", 1)
    kernel = list(context.attribute("kernel_shape", shape[2:]))
    strides = list(context.attribute("strides", [1] * spatial))
    dilations = list(context.attribute("dilations", [1] * spatial))
    bias = context.input(2) is not None
    params = context.numel(weight) + (context.numel(node.input[2]) if bias else 0)
    transposed = node.op_type == "ConvTranspose"
    arguments: dict[str, Any] = {"out_channels": shape[1] * groups if transposed else shape[0],
                                 "kernel_size": context.per_axis(kernel)}
    if transposed:
        if context.attribute("output_shape") is not None or context.attribute("auto_pad", "NOTSET") != "NOTSET":
            raise context.unmapped("ConvTranspose with output_shape or auto_pad: give pads and output_padding")
        pads = list(context.attribute("pads", [0] * (2 * spatial)))
    else:
        pads = context.spatial_pads(kernel, strides, dilations)
    begin, end = pads[:spatial], pads[spatial:]
    layers, inputs = [], None
    if begin != end:   # PyTorch pads both sides alike: the rest goes to a zero-padding layer before it
        if transposed:
            raise context.unmapped(f"asymmetric pads {pads} on a transposed convolution")
        layers.append(context.helper("zero padding")(context, context.torch_padding(begin, end), ".pad"))
        inputs, begin = [layers[-1].name], [0] * spatial
    for key, given, default in (("stride", strides, 1), ("padding", begin, 0),
                                ("output_padding", list(context.attribute("output_padding", [0] * spatial)), 0),
                                ("dilation", dilations, 1)):
        if given != [default] * spatial and (transposed or key != "output_padding"):
            arguments[key] = context.per_axis(given)
    if groups != 1:
        arguments["groups"] = groups
    if not bias:
        arguments["bias"] = False
    tag = f"{'convtranspose' if transposed else 'conv'}{spatial}d"
    return [*layers, context.layer(tag, arguments, inputs, params=params)]


ONNX_OPERATORS = {"Conv": _conv_from_onnx, "ConvTranspose": _conv_from_onnx}


__all__ = ["LAYERS", "axis_letters", "check_window_fits", "sliding_output", "sliding_output_lr", "transposed_output",
           "merge_axes", "window_warnings"]
