"""Counting conventions: how popular tools count MACs, parameters and memory.

A convention is one tool's metadata — version, the call that gives its numbers, what it prints, how it
counts parameters and memory — and the name (`rules`) under which every layer type registers its own
rule for that tool, beside the type in its family module (archcalc.layers.counting). Types without a
rule count 0. The rules were measured against the real tools on single layers and on whole networks
(LeNet, VGG, ResNet, MobileNetV2, DenseNet at batch 1 and 2); tests/test_conventions_tools.py re-runs
the tools. docs/conventions.md is generated from the rules' texts.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from math import floor, prod
from typing import Any, NamedTuple

from ..layers import Layer, family_order, layer_class
from ..layers.counting import Rule, View
from ..network import DTYPE_BYTES, FLOAT, Network, element_bytes
from ..numbers import fixed


def _float32(number: float) -> float:
    try:
        return struct.unpack("f", struct.pack("f", number))[0]
    except (OverflowError, struct.error):  # beyond float32, as the tool's float32 sum would be
        return math.inf if number > 0 else -math.inf


def rows() -> dict[str, tuple[str, ...]]:
    """The rows of the rule tables: layer types that every convention counts alike, in reference order."""
    found: dict[str, list[str]] = {}
    for tag in family_order():
        found.setdefault(layer_class(tag).convention_row or tag, []).append(tag)
    return {row: tuple(tags) for row, tags in found.items()}


def _view(layer: Any, batch_size: int, options: dict[str, Any]) -> View:
    view = View(layer, batch_size, options)
    if type(view.spec).module_only and view.call != "module":
        raise ValueError(f"layer {layer.name!r}: call {view.call!r} of a {view.type} (a layer with parameters)"
                         " is not modelled by the counting conventions; only module calls are")
    return view


# ---------------------------------------------------------------------------------------------- params

def _pytorch_params(v: View) -> tuple[int, int]:
    return v.layer.params, v.layer.trainable_params


def _trainable_only(v: View) -> tuple[int, int]:
    return v.layer.trainable_params, v.layer.trainable_params


def _module_params(v: View) -> tuple[int, int]:
    return (v.layer.params, v.layer.trainable_params) if v.module else (0, 0)


def _keras_params(v: View) -> tuple[int, int]:
    return v.layer.params + v.spec.moving_statistics(list(v.layer.input_shapes)), v.layer.trainable_params


# ---------------------------------------------------------------------------------------------- memory

# torchinfo's "Input size" is Σ sys.getsizeof(t.untyped_storage()) over the input tensors: the storage's bytes
# plus the Python object's own size, basicsize(torch.UntypedStorage) + the GC pre-header. That overhead depends on
# both versions: C = sizeof(THPStorage) = 24 in torch 2.13 (40 in releases whose THPStorage held a
# MaybeOwned<Storage> and an is_hermetic flag), plus 40 on Python 3.11 (8-byte __weakref__ slot, 16 GC + 16 managed
# dict pre-header) or 32 on Python 3.8-3.10 and 3.12-3.14. So: 64 with torch 2.13 + Python 3.11 (the crosscheck
# pins, measured), 56 with torch 2.13 or 2.11 + Python 3.10 or 3.12-3.14 (torchinfo's own golden files, made on
# Python 3.14 + torch 2.11), 72 or 80 with the older THPStorage. count(..., input_overhead=N) sets another.
TORCHINFO_INPUT_OVERHEAD = 64 if sys.version_info[:2] == (3, 11) else 56   # torch 2.13 on the running Python
# torchinfo's current code requires Python >= 3.12 (its pyproject), where torch 2.13's overhead is 56 — the
# figure of its own golden files.
TORCHINFO_MAIN_INPUT_OVERHEAD = 56


def _memory_bytes(views: list[View], network: Network, n: int, dtype: str, overhead: int) -> dict[str, Any]:
    """torchinfo, each figure with its tensors' element size (`dtype` for the model's floating tensors): input
    N·X·e + overhead; forward/backward 2·N·Y·e for every call of a module that has parameters; params e·params."""
    figures = {"input_bytes": n * prod(network.input_shape) * element_bytes(network.input_dtype, dtype) + overhead,
               "forward_backward_bytes": sum(2 * n * v.Y * element_bytes(v.layer.output_dtype, dtype)
                                             for v in views if v.module and v.params),
               "params_bytes": element_bytes(FLOAT, dtype) * sum(v.params for v in views if v.module)}
    figures["total_bytes"] = sum(figures.values())
    return figures


def _torchinfo_memory(views: list[View], network: Network, n: int, dtype: str, options: dict[str, Any]
                      ) -> dict[str, Any]:
    """torchinfo (its code since PR #363): each line in its own unit (B, kB, MB, GB, TB of 10^3)."""
    figures = _memory_bytes(views, network, n, dtype, options["input_overhead"])
    figures["printed"] = {key: _torchinfo_auto(value, "B") for key, value in figures.items()}
    figures["unit"] = "auto (kB = 1e3 B)"
    return figures


def _torchinfo_18_memory(views: list[View], network: Network, n: int, dtype: str, options: dict[str, Any]
                         ) -> dict[str, Any]:
    """torchinfo 1.8.0: every line as bytes / 1e6 with %.2f, "(MB)"."""
    figures = _memory_bytes(views, network, n, dtype, options["input_overhead"])
    figures["printed"] = {key: fixed(value, 10**6) for key, value in figures.items()}
    figures["unit"] = "MB (1e6 B)"
    return figures


def container_outputs(network: Network) -> list[int]:
    """Output elements per sample of each instance of a block marked `module: true` (an nn.Module that is
    not an nn.Sequential, e.g. ResNet's Bottleneck): the expansion lists each instance with its output layer."""
    made = getattr(getattr(network.source, "get", lambda key: None)("layers"), "modules", None) or []
    sizes = {layer.name: layer.output_elements for layer in network.layers}
    return [sizes.get(output, prod(network.input_shape)) for _, output in made]


def _torchsummary_memory(views: list[View], network: Network, n: int, dtype: str, options: dict[str, Any]
                         ) -> dict[str, Any]:
    """torchsummary 1.5.1, batch_size = N (its default -1 gives N = 1), 4 bytes per element whatever the dtype
    (its code multiplies by 4): one row per module call,
    container modules included (blocks with `module: true`); input N·X·4, forward/backward 2·N·ΣY·4 over
    the rows, params 4·Σ row params (containers hold none of their own). Printed in MiB with %0.2f."""
    rows = [v.Y for v in views if v.module] + container_outputs(network)
    figures = {"input_bytes": n * prod(network.input_shape) * element_bytes(network.input_dtype, "float32"),
               "forward_backward_bytes": 2 * n * 4 * sum(rows),
               "params_bytes": 4 * sum(v.params for v in views if v.module)}
    figures["total_bytes"] = sum(figures.values())
    figures["printed"] = {key: fixed(value, 2**20) for key, value in figures.items() if key != "printed"}
    return figures


# ---------------------------------------------------------------------------------------------- printing

def _rounded(number: int, scale: int, places: int) -> str:
    """str(round(number / scale, places)) as the tool prints it; the exact decimals beyond float's range."""
    try:
        return str(round(number / float(scale), places))
    except OverflowError:
        return fixed(number, scale, places)


def _grouped_fixed(number: int, scale: int) -> str:
    """f"{number / scale:,.2f}"; exact beyond float's range."""
    try:
        return f"{number / scale:,.2f}"
    except OverflowError:
        whole, _, decimals = fixed(number, scale, 2).partition(".")
        return f"{int(whole):,}.{decimals}"


def _general_rounded(number: int, scale: float) -> str:
    """f"{round(number / scale, 2):g}"; the exact integer part beyond float's range."""
    try:
        return f"{round(number / scale, 2):g}"
    except OverflowError:
        return fixed(number, int(scale), 2)


def _ptflops_string(macs: int) -> str:
    for power, unit in ((9, "GMac"), (6, "MMac"), (3, "KMac")):
        if macs // 10**power > 0:
            return f"{_rounded(macs, 10**power, 2)} {unit}"
    return f"{macs} Mac"


def _thop_string(macs: int) -> str:
    for power, unit in ((12, "T"), (9, "G"), (6, "M"), (3, "K")):
        if macs > 10**power:
            return f"{fixed(macs, 10**power, 3)}{unit}"
    return f"{fixed(macs, 1, 3)}B"


def _torchinfo_scaled(number: int, scale: int) -> str:
    """torchinfo's format_output_num of number / scale: a whole quotient as an int with commas, otherwise
    {:,.2f} (exact beyond float's range)."""
    if number % scale == 0:
        return f"{number // scale:,d}"
    return _grouped_fixed(number, scale)


def _torchinfo_auto(number: int, suffix: str = "") -> str:
    """torchinfo since PR #363: T, G, M, k (10^3 steps) or none below 1,000 (the raw int, no label)."""
    for power, unit in ((12, "T"), (9, "G"), (6, "M"), (3, "k")):
        if number >= 10**power:
            return f"{_torchinfo_scaled(number, 10**power)} ({unit}{suffix})"
    return f"{number:,d}"


def _torchinfo_string(macs: int) -> str:
    return _torchinfo_auto(macs)


def _torchinfo_18_string(macs: int) -> str:
    """torchinfo 1.8.0: T, G, otherwise M (never k)."""
    for power, unit in ((12, "T"), (9, "G"), (6, "M")):
        if macs >= 10**power or power == 6:
            return _torchinfo_scaled(macs, 10**power) + f" ({unit})"
    raise AssertionError  # pragma: no cover


# 1.8.0's Units is a (str, Enum): f"({unit})" prints "(Units.MEGABYTES)" on Python 3.11+ (TylerYep/torchinfo#350)
_UNITS_ENUM = {"T": "Units.TERABYTES", "G": "Units.GIGABYTES", "M": "Units.MEGABYTES"}
MEMORY_LINES = (("input_bytes", "Input size"), ("forward_backward_bytes", "Forward/backward pass size"),
                ("params_bytes", "Params size"), ("total_bytes", "Estimated Total Size"))


def torchinfo_footer(counts: Counts, enum_labels: bool = True) -> list[str]:
    """The footer torchinfo prints under its table, line for line, from a `torchinfo` or `torchinfo-1.8` count.
    `enum_labels`: 1.8.0's mult-adds label as Python 3.11+ prints it ("(Units.MEGABYTES)", the pinned Python),
    else as Python <= 3.10 does ("(M)")."""
    lines = [f"Total params: {counts.params:,}", f"Trainable params: {counts.trainable_params:,}",
             f"Non-trainable params: {counts.non_trainable_params:,}"]
    old = counts.convention.name == "torchinfo-1.8"

    def labelled(title: str, printed: str) -> str:
        value, _, unit = printed.partition(" (")
        return f"{title} ({unit}: {value}" if unit else f"{title}: {value}"

    printed = counts.printed or "0"
    if old and enum_labels:
        value, _, unit = printed.partition(" (")
        printed = f"{value} ({_UNITS_ENUM[unit[:-1]]})"
    lines.append(labelled("Total mult-adds", printed))
    for key, title in MEMORY_LINES:
        text = counts.memory["printed"][key]
        lines.append(f"{title} (MB): {text}" if old else labelled(title, text))
    return lines


def _thop_readme_string(macs: int) -> str:
    return f"{_float32(macs) / 1000**3:.2f}"


def _calflops_string(flops: int) -> str:
    for magnitude, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if flops >= magnitude:
            return f"{_general_rounded(flops, magnitude)} {unit}FLOPS"
    return f"{round(flops, 2):g} FLOPS"


# ---------------------------------------------------------------------------------------------- conventions

@dataclass(frozen=True)
class Convention:
    """One tool: what it is, and the name of the layer rules it counts with (`rules`, None when the tool
    reports no operation count), with the options those rules read (`training`, `functional`)."""

    name: str
    tool: str                                   # tool, version and the call that gives its numbers
    notes: str                                  # batch, parameters, printing, known bugs
    rules: str | tuple[str, ...] | None         # a tuple: the first rule set a layer type answers (a version's changes first)
    options: dict[str, Any] = field(default_factory=dict)
    params: Callable[[View], tuple[int, int]] = _pytorch_params
    params_text: str = "PyTorch: Σ p.numel()"
    memory: Callable[[list[View], Network, int, str, dict[str, Any]], dict[str, Any]] | None = None
    printed: Callable[[int], str] | None = None
    quantity: str = "MACs"                      # what the count is: "MACs" or (calflops) "FLOPs"

    def rule(self, layer: type[Layer]) -> Rule | None:
        for name in (self.rules,) if isinstance(self.rules, str) else self.rules or ():
            if name in layer.counting:
                return layer.counting[name]
        return None

    def rule_text(self, tag: str) -> str:
        """The rule of a layer type as text, for docs and reconciliations."""
        if self.rules is None:
            return "—"
        found = self.rule(layer_class(tag))
        return found.describe(self.options) if found else "0"


CONVENTIONS: dict[str, Convention] = {c.name: c for c in (
    Convention("pytorch", "archcalc's default (contract §2) = FlopCounterMode / 2",
               "MACs of conv, transposed conv and linear layers, no bias; N × the per-sample `macs`.",
               "pytorch"),
    Convention("torchvision", "torchvision's model tables (\"GFLOPS\", really MACs); torch.utils.flop_counter"
               ".FlopCounterMode get_total_flops() // 2",
               "Published as round(MACs / 1e9, 3) at batch 1; the count covers the whole batch.",
               "pytorch", printed=lambda macs: _rounded(macs, 10**9, 3)),
    Convention("fvcore", "fvcore 0.1.5.post20221221, FlopCountAnalysis(model.eval(), x).total()",
               "One flop = one MAC, no bias; whole batch. relu, cat, flatten, dropout are ignored silently; pools"
               " (except adaptive avg 2d), other activations and add/mul are skipped with a warning. Parameters:"
               " PyTorch's (fvcore's parameter_count is not part of this convention).",
               "fvcore"),
    Convention("fvcore-train", "fvcore 0.1.5.post20221221 on a model in train mode (a fresh model)",
               "As fvcore, but batch norm normalizes with batch statistics: 5 (affine) or 4 per element.",
               "fvcore", {"training": True}),
    Convention("ptflops-pytorch", "ptflops 0.7.5, get_model_complexity_info(model, (C, H, W), backend='pytorch')"
               " (the default of every release 0.7.1 - 0.7.5)",
               "Module hooks count one sample (their sum is divided by the batch); the patched functions"
               " (count_functional=True) count the whole batch. nn.ReLU, pooling, ELU, GELU and PReLU modules are"
               " counted twice, by the hook and by the patched F.* they call (sovrasov/flops-counter.pytorch#139)."
               " Parameters: trainable only. Printed: str(round(MACs / 1e9, 2)) + ' GMac'.",
               "ptflops", {"functional": True}, params=_trainable_only, params_text="trainable only",
               printed=_ptflops_string),
    Convention("ptflops-modules", "ptflops 0.7.5 with backend_specific_config={'count_functional': False}"
               " (= ptflops <= 0.7.0)",
               "Module hooks only, one sample. Parameters: trainable only.",
               "ptflops", params=_trainable_only, params_text="trainable only",
               printed=_ptflops_string),
    Convention("ptflops-aten", "ptflops 0.7.5, backend='aten'",
               "aten.convolution, mm, addmm, bmm only (with bias); whole batch. Parameters: trainable only.",
               "ptflops-aten", params=_trainable_only, params_text="trainable only",
               printed=_ptflops_string),
    Convention("thop", "thop 0.1.1.post2209072238 (PyPI `thop`), thop.profile(model, inputs=(x,))",
               "Module forward hooks only: functional calls count 0. Whole batch. relu, relu6, leakyrelu, max"
               " pools and dropout are registered as zero. Printed: clever_format(..., '%.3f'). Parameters of"
               " hooked modules (function calls hold none).",
               "thop", params=_module_params, params_text="params of module calls",
               printed=_thop_string),
    Convention("thop-readme", "thop 0.0.31.post1909021322: the version behind thop's README table",
               "Its README prints total / 1000**3 with %.2f of a float32 sum; this convention gives the exact integer"
               " sum of its rules (for ResNet-50 4,135,789,592; thop's float32 total is 4,135,789,568).",
               "thop-readme", params=_module_params, params_text="params of module calls",
               printed=_thop_readme_string),
    Convention("torchinfo", "torchinfo's current code (main at 5c4164f, still __version__ 1.8.0; no PyPI release):"
               " pip install \"torchinfo @ git+https://github.com/TylerYep/torchinfo.git@5c4164f1e2e185ce33c597dbe00535bf8ed2b930\""
               " (requires Python >= 3.12, or --ignore-requires-python); summary(model, input_size=(N, C, H, W))",
               "Counts parameters used, not operations: per module call (functions and operators count 0), numel(weight)"
               " + numel(bias), times N, times P_out for Conv*, times the rows N·R for Linear (PR #318, 38ab72b, fixes"
               " #77). Whole batch. Printed with automatic units, each line its own (PR #363): 'Total mult-adds (k):"
               " 975.20', 'Input size (kB): 6.33'; below 1,000 the plain number ('Total mult-adds: 15'). Memory: each"
               " tensor's element size (--dtype); input + 56 B per tensor: torch 2.13's storage object on Python 3.12+,"
               " which this code requires (its own golden files agree; 64 on Python 3.11).",
               ("torchinfo",), {"input_overhead": TORCHINFO_MAIN_INPUT_OVERHEAD}, params=_module_params,
               params_text="PyTorch (module calls)", memory=_torchinfo_memory, printed=_torchinfo_string),
    Convention("torchinfo-1.8", "torchinfo 1.8.0, every PyPI release since 1.5.0 behaves so: pip install torchinfo==1.8.0;"
               " summary(model, input_size=(N, C, H, W))",
               "As `torchinfo`, but Linear counts N·params: the rows of a 3-D or wider input are ignored"
               " (TylerYep/torchinfo#77). Printed: 'Total mult-adds (M): 0.98' (T, G, otherwise M, never k; Python"
               " 3.11+ prints '(Units.MEGABYTES)', #350) and every memory line in MB = 1e6 bytes with %.2f. Input"
               " overhead: torch 2.13's on the running Python (64 B on 3.11, 56 B on 3.10 and 3.12+).",
               ("torchinfo-1.8", "torchinfo"), {"input_overhead": TORCHINFO_INPUT_OVERHEAD}, params=_module_params,
               params_text="PyTorch (module calls)", memory=_torchinfo_18_memory, printed=_torchinfo_18_string),
    Convention("calflops", "calflops 0.3.2, calculate_flops(model, input_shape=(N, C, H, W),"
               " output_as_string=False)[0]: FLOPs, its headline figure",
               "This convention's count is calflops' FLOPs, not MACs: 2 per multiply-accumulate of conv and linear"
               " (calflops' own MACs figure equals `pytorch`'s, except for the conv quirks below), plus conv bias,"
               " batch norm, pools and the activations and torch.add / torch.mul calls that go through a patched"
               " function. Compared with `pytorch`, the conv and linear rows differ by +N·M (the second half of 2·N·M)."
               " Whole batch. Parameters: trainable only. Printed: '%g' of the value rounded to 2 decimals, unit"
               " T/G/M/K + 'FLOPS' (ResNet-50: '8.21 GFLOPS').",
               "calflops", params=_trainable_only, params_text="trainable only",
               printed=_calflops_string, quantity="FLOPs"),
    Convention("torchsummary", "torchsummary 1.5.1, summary(model, (C, H, W), batch_size=N)",
               "No operation count. One row per module call, also of container modules that are not nn.Sequential"
               " (ResNet's Bottleneck, MobileNetV2's InvertedResidual): a spec says which with `module: true` on"
               " the block (docs/spec-format.md), and their outputs are in this convention's memory. Shared"
               " parameters are counted per call. Memory in MiB. DenseNet crashes it (a list input, 'list' object"
               " has no attribute 'size').",
               None, params=_module_params, params_text="Σ over module calls", memory=_torchsummary_memory),
    Convention("keras", "Keras 3 model.summary() of the same layers",
               "Parameters only. BatchNormalization also holds moving_mean and moving_variance: 2·C non-trainable"
               " parameters per batch norm that tracks running statistics.",
               None, params=_keras_params, params_text="PyTorch + 2·C non-trainable per batch norm"),
)}
DEFAULT = "pytorch"


# ---------------------------------------------------------------------------------------------- evaluation

class LayerCounts(NamedTuple):
    """One layer under one convention (a NamedTuple: a report makes one per layer and convention, 140,000 for a
    10,000-layer spec, and a frozen dataclass costs four times as much to build)."""

    name: str
    type: str
    call: str
    items: dict[str, int]
    params: int
    trainable_params: int

    @property
    def macs(self) -> int:
        return sum(self.items.values())


@dataclass(frozen=True)
class Counts:
    """A network counted under one convention at a batch size."""

    convention: Convention
    batch_size: int
    layers: list[LayerCounts]
    memory: dict[str, Any] | None = None
    items: dict[str, int] = field(default_factory=dict)
    dtype: str = "float32"

    @property
    def macs(self) -> int | None:
        return None if self.convention.rules is None else sum(self.items.values())

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(layer.trainable_params for layer in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def printed(self) -> str | None:
        printer = self.convention.printed
        return None if printer is None or self.macs is None else printer(self.macs)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.convention.name, "tool": self.convention.tool, "batch_size": self.batch_size,
            "macs": self.macs, "macs_by_category": self.items, "printed_macs": self.printed,
            "params": self.params, "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
        }
        if self.memory is not None:
            document["memory"] = self.memory
        document["layers"] = [{"name": layer.name, "type": layer.type, "call": layer.call, "macs": layer.macs,
                               "items": layer.items, "params": layer.params} for layer in self.layers]
        return document


def convention(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise ValueError(f"unknown convention {name!r}; choose from {', '.join(CONVENTIONS)}") from None


def count(network: Network, name: str = DEFAULT, batch_size: int = 1, dtype: str = "float32",
          input_overhead: int | None = None) -> Counts:
    """The network's MACs, parameters and memory as the convention's tool reports them, the model in `dtype`;
    `input_overhead` replaces torchinfo's per-input-tensor bytes (TORCHINFO_INPUT_OVERHEAD)."""
    return count_all(network, [name], batch_size, dtype, input_overhead)[0]


def count_all(network: Network, names: list[str], batch_size: int = 1, dtype: str = "float32",
              input_overhead: int | None = None) -> list[Counts]:
    """`count` under each of `names`, in order; conventions whose rules see the same options share one view
    of each layer (a report counts all of them)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)}")
    chosen = [convention(name) for name in names]
    shared: dict[tuple[bool, bool], list[View]] = {}
    results = []
    for each in chosen:
        seen = (bool(each.options.get("functional")), bool(each.options.get("training")))  # all a View reads
        if seen not in shared:
            shared[seen] = [_view(layer, batch_size, each.options) for layer in network.layers]
        results.append(_count(network, each, shared[seen], batch_size, dtype, input_overhead))
    return results


def _count(network: Network, chosen: Convention, views: list[View], batch_size: int, dtype: str,
           input_overhead: int | None) -> Counts:
    options = dict(chosen.options)
    if input_overhead is not None:
        options["input_overhead"] = input_overhead
    layers, items = [], {}
    running: int | Fraction = 0  # the tool's own running total: an int until a tool adds a fraction
    rules: dict[type, Rule | None] = {}   # one lookup per layer type, not per layer (10,000-layer specs)
    for view in views:
        kind = type(view.spec)
        found = rules[kind] if kind in rules else rules.setdefault(kind, chosen.rule(kind))
        counted = {}
        for key, value in (found.count(view) if found else {}).items():
            if not isinstance(value, int):
                # A tool that adds floats and truncates its total once (ptflops: int(Σ hooks / N + Σ F.*)):
                # each layer gets the int its fraction moves the truncated total by, so the layers' ints
                # add up to the tool's total exactly.
                before = floor(running)
                running += Fraction(value)
                value = floor(running) - before
            else:
                running += value
            if value:
                counted[key] = value
        for key, value in counted.items():
            items[key] = items.get(key, 0) + value
        params, trainable = chosen.params(view)
        layers.append(LayerCounts(view.layer.name, view.type, view.call, counted, params, trainable))
    memory = chosen.memory(views, network, batch_size, dtype, options) if chosen.memory else None
    return Counts(chosen, batch_size, layers, memory, items, dtype)


@dataclass(frozen=True)
class Difference:
    """One line of a reconciliation: what a convention counts more (or less) than the default, for one
    category of one layer type."""

    quantity: str       # "macs" or "params"
    category: str
    type: str
    layers: int         # how many layers of the type differ
    amount: int
    rule: str


def differences(base: Counts, other: Counts) -> list[Difference]:
    """Itemized `other − base`, by (category, layer type); MACs then parameters. The amounts add up to the
    difference of the totals exactly."""
    found: dict[tuple[str, str, str], list[int]] = {}
    for mine, theirs in zip(base.layers, other.layers):
        if other.convention.rules is not None and base.convention.rules is not None:
            for key in dict.fromkeys([*mine.items, *theirs.items]):   # first-seen order: equal amounts print alike every run
                delta = theirs.items.get(key, 0) - mine.items.get(key, 0)
                if delta:
                    entry = found.setdefault(("macs", key, mine.type), [0, 0])
                    entry[0] += 1
                    entry[1] += delta
        delta = theirs.params - mine.params
        if delta:
            entry = found.setdefault(("params", "params", mine.type), [0, 0])
            entry[0] += 1
            entry[1] += delta
    result = []
    for (quantity, category, tag), (layers, amount) in found.items():
        if amount:
            text = other.convention.params_text if quantity == "params" else other.convention.rule_text(tag)
            result.append(Difference(quantity, category, tag, layers, amount, text))
    result.sort(key=lambda d: (d.quantity != "macs", -abs(d.amount)))
    return result


__all__ = ["CONVENTIONS", "DEFAULT", "TORCHINFO_INPUT_OVERHEAD", "TORCHINFO_MAIN_INPUT_OVERHEAD", "Convention", "Counts", "Difference", "LayerCounts",
           "rows", "container_outputs", "convention", "count", "count_all", "differences", "torchinfo_footer"]
