"""Padding: zero, constant, reflection, replication and circular padding of the last 1, 2 or 3 axes.

`padding` is an int (every side) or PyTorch's tuple (left, right, top, bottom, front, back): the last axis
first. Per padded axis O = I + before + after. Zero and constant padding take any rank and negative padding
(it crops); the others need [C, ...] or one axis less, non-negative padding, and PyTorch's limits:
reflection padding < I on each side, circular padding ≤ I. No parameters, no MACs.
"""

from typing import Annotated, Any, ClassVar

from pydantic import PlainValidator, WithJsonSchema

from ..formula import Bind, value
from ..problems import LayerError
from .autograd import KEEP_INPUT, NOTHING, Backward, Context
from .base import END, INT64_MAX, SLIDE, Layer, Outcome, Real, Shape, Variant, Window, axis_names, describe
from .conv import axis_letters


def _check_padding(raw: Any) -> int | tuple[int, ...]:
    def one(item: Any) -> int:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"expected an integer, got {describe(item)}")
        if abs(item) > INT64_MAX:
            raise ValueError(f"{item:,} is beyond the int64 range")
        return item
    if isinstance(raw, (list, tuple)):
        try:
            return tuple(one(item) for item in raw)
        except ValueError as error:
            raise ValueError(f"list item: {error}") from None
    return one(raw)


Padding = Annotated[Any, PlainValidator(_check_padding),
                    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]})]


class _Pad(Layer):
    axes: ClassVar[int]
    mode: ClassVar[str]             # constant, reflect, replicate, circular
    padding: Padding

    def _sides(self) -> list[tuple[int, int]]:
        """(before, after) per padded axis, the first padded axis first."""
        raw = self.padding
        if isinstance(raw, int):
            pairs = [(raw, raw)] * self.axes
        else:
            if len(raw) != 2 * self.axes:
                raise LayerError(f"padding has {len(raw)} values but a {self.type} takes {2 * self.axes} (left, right"
                                 f"{', top, bottom' if self.axes > 1 else ''}{', front, back' if self.axes > 2 else ''})",
                                 key="padding", code="argument")
            pairs = [(raw[2 * i], raw[2 * i + 1]) for i in range(self.axes)][::-1]
        if self.mode != "constant" and any(side < 0 for pair in pairs for side in pair):
            raise LayerError(f"{self.mode} padding cannot be negative, got {list(raw) if isinstance(raw, tuple) else raw}",
                             key="padding", code="argument")
        return pairs

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        ranks = (self.axes, self.axes + 1)
        if len(shape) < self.axes or (self.mode != "constant" and len(shape) not in ranks):
            wanted = f"at least {self.axes}" if self.mode == "constant" else f"{ranks[0]} or {ranks[1]}"
            raise LayerError(f"{self.type} pads the last {self.axes} {'axis' if self.axes == 1 else 'axes'}: it needs"
                             f" {wanted} axes per sample, got shape {list(shape)}", code="rank")
        lead = len(shape) - self.axes
        names = axis_names(len(shape))
        letters = axis_letters(self.axes) if lead else names
        out = [bind(name, size) for name, size in zip(names[:lead], shape[:lead])]
        windows = []
        for letter, size, (before, after) in zip(letters, shape[lead:], self._sides()):
            sub = letter.lower()
            if self.mode == "reflect" and max(before, after) >= size:
                raise LayerError(f"reflection padding {max(before, after)} along {letter} must be less than the input"
                                 f" size {size:,} (PyTorch: \"Padding size should be less than the corresponding input"
                                 " dimension\")", key="padding", code="argument")
            if self.mode == "circular" and max(before, after) > size:
                raise LayerError(f"circular padding {max(before, after)} along {letter} is more than the input size"
                                 f" {size:,} (PyTorch: \"Padding value causes wrapping around more than once\")",
                                 key="padding", code="argument")
            padded = bind(f"{letter}_in", size) + bind(f"P_{sub}_before", before) + bind(f"P_{sub}_after", after)
            if value(padded) < 1:
                raise LayerError(f"output size along {letter} would be {value(padded)}: the negative padding crops"
                                 f" more than the input size {size:,}", key="padding", code="too-small")
            out.append(padded)
            windows.append(Window(1, 1, before))
        return Outcome(shape=out, axes=(*names[:lead], *letters), layout=SLIDE if lead == 1 else END,
                       windows=windows if lead == 1 else ())

    def notes(self, inputs: list[Shape]) -> list[str]:
        what = {"constant": f"the value {getattr(self, 'value', 0.0):g}", "reflect": "the input mirrored at its edge"
                " (the edge not repeated)", "replicate": "copies of the edge value", "circular": "the input wrapped"
                " around (the other end)"}[self.mode]
        return [f"adds the padding on each side of the last {self.axes} {'axis' if self.axes == 1 else 'axes'},"
                f" filled with {what}: no parameters, no MACs"]

    def saved(self, context: Context) -> Backward:
        """ConstantPadNdBackward0 keeps sizes; circular padding is slices and a cat (nothing kept);
        ReflectionPad*Backward0 and ReplicationPad*Backward0 keep the input."""
        if self.mode in ("reflect", "replicate") and context.grads[0]:
            return KEEP_INPUT
        return NOTHING


TITLE = "Padding"  # the family in docs/formulas.md and docs/memory.md
ORDER = 11  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"pad": "zeropad2d", "zeropadding2d": "zeropad2d", "reflectpad2d": "reflectionpad2d"}

_VALUE = {"value": (Real, ...)}
LAYERS = {
    "zeropad1d": Variant(_Pad, "ZeroPad1d", axes=1, mode="constant"),
    "zeropad2d": Variant(_Pad, "ZeroPad2d", axes=2, mode="constant"),
    "zeropad3d": Variant(_Pad, "ZeroPad3d", axes=3, mode="constant"),
    "constantpad1d": Variant(_Pad, "ConstantPad1d", _VALUE, axes=1, mode="constant"),
    "constantpad2d": Variant(_Pad, "ConstantPad2d", _VALUE, axes=2, mode="constant"),
    "constantpad3d": Variant(_Pad, "ConstantPad3d", _VALUE, axes=3, mode="constant"),
    "reflectionpad1d": Variant(_Pad, "ReflectionPad1d", axes=1, mode="reflect"),
    "reflectionpad2d": Variant(_Pad, "ReflectionPad2d", axes=2, mode="reflect"),
    "reflectionpad3d": Variant(_Pad, "ReflectionPad3d", axes=3, mode="reflect"),
    "replicationpad1d": Variant(_Pad, "ReplicationPad1d", axes=1, mode="replicate"),
    "replicationpad2d": Variant(_Pad, "ReplicationPad2d", axes=2, mode="replicate"),
    "replicationpad3d": Variant(_Pad, "ReplicationPad3d", axes=3, mode="replicate"),
    "circularpad1d": Variant(_Pad, "CircularPad1d", axes=1, mode="circular"),
    "circularpad2d": Variant(_Pad, "CircularPad2d", axes=2, mode="circular"),
    "circularpad3d": Variant(_Pad, "CircularPad3d", axes=3, mode="circular"),
}
_Pad.convention_row = "padding"

_SHAPES = {1: [16, 50], 2: [16, 28, 28], 3: [4, 8, 16, 16]}
# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {tag: [("", {"padding": 2, **({"value": 1.0} if "constant" in tag else {})}, [_SHAPES[int(tag[-2])]])]
            for tag in LAYERS}
EXAMPLES["zeropad2d"].append(("per side", {"padding": [1, 2, 0, 3]}, [[16, 28, 28]]))
EXAMPLES["constantpad1d"].append(("negative: crops", {"padding": [-1, 2], "value": 0.5}, [[16, 50]]))

# Training memory (docs/memory.md): the measured facts behind the `saved` rule above.
_CONSTANT = ("ConstantPadNdBackward0 keeps only the padding (0 B); the output is new. Measured: 0 B on [2, 3, 5] and"
             " [2, 3, 5, 5].")
_KEEPS_INPUT = ("{node} keeps the input when it requires a gradient; the output is new. Measured: 2d on [2, 3, 5, 5]"
                " keeps 600 B, 1d on [2, 3, 5] 120 B, 3d on [2, 2, 3, 4, 4] 768 B.")
MEMORY_FACTS = {
    **{tag: _CONSTANT for tag in LAYERS if "zero" in tag or "constant" in tag},
    **{tag: _KEEPS_INPUT.format(node=f"ReflectionPad{tag[-2:].upper()}Backward0") for tag in LAYERS if "reflection" in tag},
    **{tag: _KEEPS_INPUT.format(node=f"ReplicationPad{tag[-2:].upper()}Backward0") for tag in LAYERS
       if "replication" in tag},
    **{tag: "Circular padding is built from slices and a cat (CatBackward0, SliceBackward0 keep sizes): nothing kept"
            " (0 B on [2, 3, 5] and [2, 3, 5, 5]); the output is new." for tag in LAYERS if "circular" in tag},
}

_MEMORY_SHAPES = {1: [3, 5], 2: [3, 5, 5], 3: [2, 3, 4, 4]}
# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {tag: [("", {"padding": 1, **({"value": 1.0} if "constant" in tag else {})},
                       [_MEMORY_SHAPES[int(tag[-2])]], None)] for tag in LAYERS}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
_ONNX_PAD_MODES = {"constant": "constantpad", "reflect": "reflectionpad", "edge": "replicationpad",
                   "wrap": "circularpad"}


def _pad_from_onnx(context: Any) -> list:
    node = context.node
    rank = context.rank()
    spatial = rank - 2
    mode = context.attribute("mode", "constant")
    if context.opset < 11:
        pads, value = list(context.attribute("pads")), context.attribute("value", 0.0)
    else:
        pads = context.ints(node.input[1])
        value = context.value(context.input(2)) if context.input(2) else 0.0
    if context.input(3):   # opset 18 `axes`: the pads cover those axes only
        axes = [axis % rank for axis in context.ints(context.input(3))]
        full = [0] * (2 * rank)
        for position, axis in enumerate(axes):
            full[axis], full[rank + axis] = pads[position], pads[len(axes) + position]
        pads = full
    begin, end = pads[:rank], pads[rank:]
    if spatial not in (1, 2, 3) or mode not in _ONNX_PAD_MODES or any(begin[:2]) or any(end[:2]):
        raise context.unmapped(f"pads {pads} ({mode}) on a {rank}-d tensor: only the spatial axes of a 3-d, 4-d or"
                               " 5-d tensor have padding spec types")
    padding = context.torch_padding(begin[2:], end[2:])
    fill = context.number(value)
    if mode == "constant" and fill == 0:
        return [context.layer(f"zeropad{spatial}d", {"padding": padding})]
    if mode == "constant":
        return [context.layer(f"constantpad{spatial}d", {"padding": padding, "value": fill})]
    return [context.layer(f"{_ONNX_PAD_MODES[mode]}{spatial}d", {"padding": padding})]


def _zero_padding(context: Any, padding: list[int], suffix: str) -> Any:
    """Zero padding of the spatial axes before a layer (a convolution's asymmetric pads), PyTorch's order."""
    return context.layer(f"zeropad{len(padding) // 2}d", {"padding": padding}, suffix=suffix, shape_of="")


ONNX_OPERATORS = {"Pad": _pad_from_onnx}
ONNX_HELPERS = {"zero padding": _zero_padding}


__all__ = ["LAYERS"]
