"""Resampling: upsample (torch.nn.Upsample, F.interpolate) and pixel shuffle / unshuffle.

Upsample keeps the channels and sets each spatial size, from `size` or from `scale_factor`:
    O = size                          (an int for every axis, or one per axis)
    O = ⌊I·s⌋                         (s an int or a float, or one per axis)
The product I·s is taken in double precision and truncated, as PyTorch does (UpSample.cpp
compute_output_size, functional.py interpolate): 100 · 0.29 = 28.999999999999996 gives 28, not 29.
PixelShuffle with factor r: [C, H, W] → [C/r², H·r, W·r]; PixelUnshuffle the reverse,
[C, H, W] → [C·r², H/r, W/r]; leading axes pass through. Resampling has no parameters and, by the
contract, no MACs (FlopCounterMode counts none).
"""

from math import prod
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from ..formula import Bind, exact_div, value
from ..problems import LayerError
from .autograd import KEEP_INPUT, NOTHING, Backward, Context
from .base import END, INT64_MAX, Count, Flag, Layer, Outcome, PerAxisCount, Shape, Variant, describe
from .counting import Rule, View
from .conv import axis_letters

# (one string: the mode linear is not the layer type of that name, which tests/test_registry.py
# looks for as a quoted word)
MODES = tuple("nearest linear bilinear bicubic trilinear area nearest-exact".split())
LINEAR = MODES[1]
# The modes F.interpolate accepts per number of spatial axes (4-D lanczos needs antialias, which
# nn.Upsample does not have).
MODES_BY_AXES = {1: ("nearest", "nearest-exact", LINEAR, "area"),
                 2: ("nearest", "nearest-exact", "bilinear", "bicubic", "area"),
                 3: ("nearest", "nearest-exact", "trilinear", "area")}
INTERPOLATING = (LINEAR, "bilinear", "bicubic", "trilinear")
_RANK_OF_MODE = {LINEAR: 1, "bilinear": 2, "trilinear": 3}


def _check_scale(raw: Any) -> float | tuple[float, ...]:
    """A positive number, or a non-empty list of them (one per spatial axis). Ints stay ints: they are
    what the user wrote, and 2 and 2.0 give the same sizes."""
    def one(item: Any) -> float:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ValueError(f"expected a positive number, got {describe(item)}")
        if not 0 < item < float("inf"):
            raise ValueError(f"must be a positive number, got {item!r}")
        return item
    if isinstance(raw, (list, tuple)):
        if not raw:
            raise ValueError("expected a number or a non-empty list of numbers, got an empty list")
        try:
            return tuple(one(item) for item in raw)
        except ValueError as error:
            raise ValueError(f"list item: {error}") from None
    return one(raw)


_positive = {"type": "number", "exclusiveMinimum": 0}
Scale = Annotated[Any, PlainValidator(_check_scale),
                  WithJsonSchema({"anyOf": [_positive, {"type": "array", "items": _positive, "minItems": 1}]})]


def _scaled(size: int, scale: float) -> int:
    """PyTorch's output size for a scale: the product in double, truncated (int() of a Python float)."""
    return int(size * scale)


class Upsample(Layer):
    """torch.nn.Upsample (`call: function` = F.interpolate): the spatial sizes from `size` or `scale_factor`."""

    type: Literal["upsample"]
    size: PerAxisCount | None = None
    scale_factor: Scale | None = None
    mode: Literal[MODES] = "nearest"  # type: ignore[valid-type]
    align_corners: Flag | None = None
    # Accepted, as PyTorch takes them; neither changes a size or a count (measured: docs/memory.md's facts).
    recompute_scale_factor: Flag | None = None
    antialias: Flag = Field(default=False, description="F.interpolate only (2d bilinear / bicubic).")

    def _axes(self, shape: Shape) -> int:
        return len(shape) - 1

    def _targets(self, shape: Shape) -> tuple[str, tuple[Any, ...]]:
        """("size" or "scale_factor", one value per spatial axis), checked in PyTorch's order."""
        if self.align_corners is not None and self.mode not in INTERPOLATING:
            raise LayerError(f"align_corners can only be set with the interpolating modes"
                             f" ({' | '.join(INTERPOLATING)}), not with mode {self.mode!r}", key="align_corners",
                             code="argument")
        if (self.size is None) == (self.scale_factor is None):
            raise LayerError("give exactly one of size or scale_factor" if self.size is None else
                             "only one of size or scale_factor may be given", key="size" if self.size else None,
                             code="argument")
        if self.antialias and (self.mode not in ("bilinear", "bicubic") or self._axes(shape) != 2):
            raise LayerError(f"antialias works with 2d bilinear or bicubic only, not mode {self.mode!r} on"
                             f" {self._axes(shape)} spatial axes", key="antialias", code="argument")
        axes = self._axes(shape)
        if not 1 <= axes <= 3:
            raise LayerError(f"upsample expects a [C, L], [C, H, W] or [C, D, H, W] input per sample (PyTorch:"
                             f" 3-D, 4-D or 5-D with the batch), got shape {list(shape)}", code="rank")
        key = "size" if self.size is not None else "scale_factor"
        raw = getattr(self, key)
        values = raw if isinstance(raw, tuple) else (raw,) * axes
        if len(values) != axes:
            raise LayerError(f"{key} has {len(values)} value{'' if len(values) == 1 else 's'} but the input {list(shape)} has {axes} spatial"
                             f" {'axis' if axes == 1 else 'axes'}", key=key, code="argument")
        if self.mode not in MODES_BY_AXES[axes]:
            needs = _RANK_OF_MODE.get(self.mode)
            why = (f"it needs {needs} spatial {'axis' if needs == 1 else 'axes'}" if needs else
                   "PyTorch has it for 2 spatial axes only")
            raise LayerError(f"mode {self.mode!r} does not work on {axes} spatial {'axis' if axes == 1 else 'axes'}"
                             f" ({why}); modes for this input: {', '.join(MODES_BY_AXES[axes])}", key="mode",
                             code="argument")
        return key, values

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        key, values = self._targets(shape)
        letters = axis_letters(self._axes(shape))
        out_sizes = []
        for letter, size, target in zip(letters, shape[1:], values):
            sub = letter.lower()
            if key == "size":
                out = bind(f"size_{sub}", target)
            elif isinstance(target, int) or float(target).is_integer():
                out = bind(f"{letter}_in", size) * bind(f"s_{sub}", int(target))
            else:  # ⌊I·s⌋ of a float s: not an integer formula, so the size itself is named (see notes)
                out = bind(f"{letter}_out", _scaled(size, target))
            if value(out) < 1:
                raise LayerError(f"output size along {letter} would be {value(out)}: ⌊{size}·{target!r}⌋ ="
                                 f" {value(out)} (PyTorch: \"Input and output sizes should be greater than 0\";"
                                 " mode 'area' would give an empty tensor)", key=key, code="too-small")
            if value(out) > INT64_MAX:
                raise LayerError(f"output size along {letter} is beyond the int64 range", key=key, code="argument")
            out_sizes.append(out)
        return Outcome(shape=[bind("C", shape[0]), *out_sizes], axes=("C", *letters), layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        shape = inputs[0]
        key, values = self._targets(shape)
        notes = []
        if key == "scale_factor":
            for letter, size, scale in zip(axis_letters(self._axes(shape)), shape[1:], values):
                if not (isinstance(scale, int) or float(scale).is_integer()):
                    notes.append(f"{letter}_out = ⌊{letter}_in·s⌋ = ⌊{size}·{scale!r}⌋ = {_scaled(size, scale)}:"
                                 " PyTorch multiplies in double precision and truncates")
        if self.mode == "area":
            notes.append("mode 'area' is adaptive average pooling to the output size")
        notes.append("resampling has no parameters and no MACs (contract §6; FlopCounterMode counts none)")
        return notes

    def saved(self, context: Context) -> Backward:
        """The interpolation backwards keep only sizes and scales; mode 'area' runs adaptive average pooling,
        which keeps its input, except to a single position per axis (PyTorch then takes a mean)."""
        if self.mode != "area" or not context.grads[0] or all(size == 1 for size in context.output[1:]):
            return NOTHING
        return KEEP_INPUT


class _PixelShuffle(Layer):
    """torch.nn.PixelShuffle / PixelUnshuffle: channels ↔ r×r blocks of the last two axes."""

    factor: ClassVar[str]
    up: ClassVar[bool]

    def _r(self) -> int:
        return getattr(self, self.factor)

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        if len(shape) < 3:
            raise LayerError(f"{self.type} expects a [..., C, H, W] input per sample (at least 3 axes), got shape"
                             f" {list(shape)}", code="rank")
        names = ("C", "H", "W")   # the last three axes; any leading ones pass through
        lead = [bind(f"A{i + 1}", size) for i, size in enumerate(shape[:-3])]
        c, h, w = shape[-3:]
        r = self._r()
        block = r * r
        if self.up:
            if c % block:
                raise LayerError(f"the channels ({c:,}) must be divisible by {self.factor}² ="
                                 f" {block:,}", key=self.factor, code="argument")
            rr = bind("r", r)
            out = [exact_div(bind(names[0], c), rr * rr), bind(f"{names[1]}_in", h) * rr,
                   bind(f"{names[2]}_in", w) * rr]
        else:
            for name, size in (("height", h), ("width", w)):
                if size % r:
                    raise LayerError(f"the {name} ({size:,}) must be divisible by {self.factor}"
                                     f" {r:,}", key=self.factor, code="argument")
            rr = bind("r", r)
            out = [bind(names[0], c) * rr * rr, exact_div(bind(f"{names[1]}_in", h), rr),
                   exact_div(bind(f"{names[2]}_in", w), rr)]
        return Outcome(shape=[*lead, *out], axes=(*(f"A{i + 1}" for i in range(len(lead))), *names), layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        r = self._r()
        moved = (f"each group of r² = {r * r} channels becomes an r×r block of positions" if self.up else
                 f"each r×r block of positions becomes r² = {r * r} channels")
        return [f"{moved} (r = {r}); a rearrangement: no parameters, no MACs"]

    def saved(self, context: Context) -> Backward:
        """A rearrangement into a new tensor: the backward is the inverse rearrangement, nothing kept."""
        return NOTHING


# ---------------------------------------------------------------------------------------------- counting conventions
# (archcalc.layers.counting; measured against the real tools, docs/conventions.md)

def _spatial(v: View) -> int:
    return len(v.layer.input_shapes[0]) - 1


def _ptflops_interpolate(v: View) -> int | float:
    """What ptflops' patched F.interpolate returns (pytorch_ops.py _interpolate_functional_flops_hook), for
    the whole batch. A scalar scale gives numel·s^d in Python floats — not N·Y: ⌊I·s⌋ is not I·s — so the
    value is computed exactly as ptflops does, as a float; the convention truncates the model total."""
    spec = v.spec
    if spec.size is not None:
        count = v.N * v.Y          # ∏size·N·C (an int size: size^d·N·C) = N·Y
    elif isinstance(spec.scale_factor, tuple):
        count = v.N * v.X * prod(int(s) for s in spec.scale_factor)   # np.prod(..., dtype=int64) truncates each
    else:
        count = v.N * v.X * float(spec.scale_factor) ** _spatial(v)   # nn.Upsample stores float(scale_factor)
    if spec.mode == "area":
        count += v.N * v.X         # the patched F.adaptive_avg_poolNd that interpolate calls
    return count


def _ptflops_upsample(v: View) -> dict[str, int | float]:
    """Module: the hook counts the first sample's output, Y (it takes output[0]'s C for the batch), and
    ptflops divides module counts by N: Y/N; with count_functional the patched F.interpolate inside adds
    its own count. A float total: ptflops truncates its model total once (int(...)), archcalc's counts
    carry the fraction the same way (archcalc.analysis.conventions.count)."""
    hook = v.Y / v.N if v.module else 0
    functional = _ptflops_interpolate(v) if v.functional and v.call != "operator" else 0
    total = hook + functional
    return {"upsample": total if isinstance(total, float) and not total.is_integer() else int(total)}


def _ptflops_upsample_text(options: dict[str, Any]) -> str:
    hook = "module: Y/N (its hook counts one sample's output, then ptflops divides by N)"
    if not options.get("functional"):
        return hook + "; function: 0"
    return (hook + " + F, function: F; F (the patched F.interpolate) = N·Y for a size, N·X·s^d in floats for a"
            " scalar scale, N·X·∏⌊s_i⌋ for a per-axis scale (a tuple; a Python list makes ptflops fail), + N·X for"
            " area; the model total is truncated once")


_FVCORE_2D = {"nearest": ("N·Y", lambda v: v.N * v.Y), "bilinear": ("4·N·Y", lambda v: 4 * v.N * v.Y),
              "area": ("N·X", lambda v: v.N * v.X)}
_THOP = {"nearest": 1, LINEAR: 5, "bilinear": 11, "bicubic": 259}
_THOP_README = {LINEAR: 5, "bilinear": 13, "bicubic": 259}   # thop 0.0.31's count_upsample (nearest: zero_ops)


def _fvcore_upsample(v: View) -> dict[str, int]:
    found = _FVCORE_2D.get(v.spec.mode) if _spatial(v) == 2 else None
    return {"upsample": found[1](v)} if found and v.call != "operator" else {}


def _calflops_upsample(v: View) -> dict[str, int]:
    """calflops' patched F.interpolate (pytorch_ops.py _upsample_flops_compute): a size counts ∏size (an
    int size: the bare int); a scale counts input.numel() — the products with the scale are computed and
    discarded — and a tuple scale is compared with len(input), the batch size: any other length reaches
    tuple ** N, a TypeError."""
    if v.call == "operator":
        return {}
    spec = v.spec
    if spec.size is not None:
        count = spec.size if isinstance(spec.size, int) else prod(spec.size)
    elif isinstance(spec.scale_factor, tuple) and len(spec.scale_factor) != v.N:
        raise ValueError(f"layer {v.layer.name!r}: calflops 0.3.2 raises TypeError on F.interpolate with a"
                         f" per-axis scale_factor of length {len(spec.scale_factor)} at batch size {v.N}"
                         " (it compares the length with the batch size)")
    else:
        count = v.N * v.X
    if spec.mode == "area":
        count += v.N * v.X
    return {"upsample": count}


Upsample.pytorch = "torch.nn.Upsample"
Upsample.convention_row = "upsample"
Upsample.counting = {
    "fvcore": Rule("2 spatial axes: nearest N·Y, bilinear 4·N·Y, area N·X (adaptive_avg_pool2d); other modes"
                   " and ranks 0 (unsupported ops)", _fvcore_upsample),
    "ptflops": Rule(_ptflops_upsample_text, _ptflops_upsample),
    "thop": Rule("module: nearest N·Y, linear 5·N·Y, bilinear 11·N·Y, bicubic 259·N·Y; nearest-exact, trilinear,"
                 " area 0 (\"not implemented yet\"); function: 0",
                 lambda v: {"upsample": _THOP[v.spec.mode] * v.N * v.Y} if v.module and v.spec.mode in _THOP
                 else {}),
    "thop-readme": Rule("module: linear 5·N·Y, bilinear 13·N·Y, bicubic 259·N·Y; nearest, nearest-exact, trilinear,"
                        " area 0 (nearest is zero_ops, the others \"not implemented yet\"); function: 0",
                        lambda v: {"upsample": _THOP_README[v.spec.mode] * v.N * v.Y}
                        if v.module and v.spec.mode in _THOP_README else {}),
    "calflops": Rule("module or function: scale N·X, size ∏size (an int size: the int itself), + N·X for area;"
                     " a per-axis scale of length ≠ N raises TypeError", _calflops_upsample),
}
_PixelShuffle.convention_row = "pixelshuffle"   # no tool counts a rearrangement


TITLE = "Resampling"  # the family in docs/formulas.md and docs/memory.md
ORDER = 8  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"interpolate": "upsample", "upsampling2d": "upsample", "depthtospace": "pixelshuffle",
            "spacetodepth": "pixelunshuffle"}

LAYERS = {
    "upsample": Upsample,
    "pixelshuffle": Variant(_PixelShuffle, "PixelShuffle", {"upscale_factor": (Count, ...)},
                            factor="upscale_factor", up=True),
    "pixelunshuffle": Variant(_PixelShuffle, "PixelUnshuffle", {"downscale_factor": (Count, ...)},
                              factor="downscale_factor", up=False),
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "upsample": [("", {"scale_factor": 2}, [[64, 28, 28]]),
                 ("size", {"size": [7, 9], "mode": "bilinear", "align_corners": True}, [[16, 4, 4]]),
                 ("float scale", {"scale_factor": 2.5, "mode": LINEAR}, [[8, 7]])],
    "pixelshuffle": [("", {"upscale_factor": 3}, [[27, 224, 224]])],
    "pixelunshuffle": [("", {"downscale_factor": 2}, [[3, 64, 64]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
MEMORY_FACTS = {
    "upsample": "The interpolation backwards (UpsampleNearest2DBackward0, UpsampleBilinear2DBackward0, ...) keep"
                " only sizes and scales: nothing, for every mode but 'area'. Mode 'area' is adaptive average"
                " pooling and keeps its input when it requires a gradient, except when every output size is 1."
                " The output is always a new tensor; the next layer that needs it pays for it. Measured:"
                " nearest ×2 on [2, 4, 6, 6] keeps 0 B, area to 3×3 1,152 B.",
    "pixelshuffle": "A rearrangement into a new tensor: the backward is pixel_unshuffle, nothing kept (0 B, also"
                    " for r = 1).",
    "pixelunshuffle": "A rearrangement into a new tensor: the backward is pixel_shuffle, nothing kept (0 B).",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "upsample": [
        ("", {"scale_factor": 2}, [[64, 28, 28]], None),
        ("mode area", {"size": 14, "mode": "area"}, [[64, 28, 28]], None),
        ("mode area, output 1", {"size": 1, "mode": "area"}, [[64, 28, 28]], None),
    ],
    "pixelshuffle": [
        ("", {"upscale_factor": 2}, [[64, 28, 28]], None),
    ],
    "pixelunshuffle": [
        ("", {"downscale_factor": 2}, [[64, 28, 28]], None),
    ],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
def _upsample_from_onnx(context: Any) -> list:
    """Resize (and the older Upsample) by scales or to sizes; the batch and channel axes must stay."""
    node = context.node
    rank = context.rank()
    spatial = rank - 2
    written = context.attribute("mode", "nearest")
    # ONNX's linear mode is PyTorch's linear, bilinear or trilinear by the number of spatial axes
    mode = {"nearest": "nearest", "cubic": "bicubic", LINEAR: {1: LINEAR, 2: "bilinear", 3: "trilinear"}.get(spatial)
            }.get(written)
    if mode is None or spatial not in (1, 2, 3) or (mode == "bicubic" and spatial != 2):
        raise context.unmapped(f"mode {written!r} on a {spatial}-d input has no spec type")
    resize = node.op_type == "Resize"
    scales_name = context.input(2) if resize else context.input(1)
    sizes_name = context.input(3) if resize else None
    if not resize and scales_name is None:
        scales = list(context.attribute("scales"))
    elif scales_name is not None and context.numel(scales_name):
        scales = [float(value) for value in context.value(scales_name).reshape(-1)]
    else:
        scales = None
    if scales is not None:
        if scales[:2] != [1.0, 1.0]:
            raise context.unmapped(f"scales {scales} resize the batch or channel axis")
        factors = [int(value) if value.is_integer() else context.number(value) for value in scales[2:]]
        arguments: dict[str, Any] = {"scale_factor": context.per_axis(factors)}
    elif sizes_name is not None:
        sizes = context.ints(sizes_name)
        if len(sizes) != rank or sizes[:2] != list(context.shape(node.input[0])[:2]):
            raise context.unmapped(f"sizes {sizes} resize the batch or channel axis")
        arguments = {"size": context.per_axis(sizes[2:])}
    else:
        raise context.unmapped("neither scales nor sizes is given")
    arguments["mode"] = mode
    if mode != "nearest":
        arguments["align_corners"] = context.attribute("coordinate_transformation_mode") == "align_corners"
    return [context.layer("upsample", arguments)]


def _pixelshuffle_from_onnx(context: Any) -> list:
    if context.attribute("mode", "DCR") != "CRD":
        raise context.unmapped("DepthToSpace in DCR mode is not PixelShuffle's order (CRD)")
    return [context.layer("pixelshuffle", {"upscale_factor": context.attribute("blocksize")})]


ONNX_OPERATORS = {"Resize": _upsample_from_onnx, "Upsample": _upsample_from_onnx,
                  "DepthToSpace": _pixelshuffle_from_onnx}


__all__ = ["LAYERS", "Upsample"]
