"""Counting conventions: how popular tools count MACs, parameters and memory, as per-layer rule tables.

Every convention is one `Convention`: a table from a row of layer types (`ROWS`) to a `Rule` — the rule
as text (docs/conventions.md is generated from these texts) and as a function of one layer (`View`)
giving an itemized count, e.g. {"conv": ..., "bias": ...}. Rows a table leaves out count 0. The rules
were measured against the real tools on single layers and on whole networks (LeNet, VGG, ResNet,
MobileNetV2, DenseNet at batch 1 and 2); tests/test_conventions_tools.py re-runs the tools.

Notation (per sample, as everywhere in archcalc): N batch size, X input elements, Y output elements,
M archcalc's MACs (contract §2: K·C_in/g·C_out·P_out for conv, K·C_in·C_out/g·P_in for transposed conv,
R·F_in·F_out for linear), K kernel elements, C channels, P_out output positions, R = X / F_in rows.
Conv and linear bias additions are C_out·P_out and R·F_out: Y in both cases.

Hook-based tools see only what the PyTorch model calls, so some rules depend on a layer's `call`
(module, function or operator; default module, operator for add, mul, concat and flatten).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod
from typing import Any

from ..network import LayerResult, Network

# Rows of the rule tables: layer types that every convention counts alike.
ROWS: dict[str, tuple[str, ...]] = {
    "conv": ("conv1d", "conv2d", "conv3d"),
    "convtranspose": ("convtranspose1d", "convtranspose2d", "convtranspose3d"),
    "linear": ("linear",),
    "batchnorm": ("batchnorm1d", "batchnorm2d", "batchnorm3d"),
    "layernorm": ("layernorm",),
    "maxpool": ("maxpool1d", "maxpool2d", "maxpool3d", "adaptivemaxpool2d"),
    "avgpool": ("avgpool1d", "avgpool2d", "avgpool3d"),
    "adaptiveavgpool": ("adaptiveavgpool1d", "adaptiveavgpool2d", "adaptiveavgpool3d"),
    "relu": ("relu", "elu", "gelu"),
    "relu6": ("relu6",),
    "leakyrelu": ("leakyrelu",),
    "silu": ("silu",),
    "softmax": ("softmax",),
    "prelu": ("prelu",),
    "other activations": ("mish", "sigmoid", "tanh", "hardswish", "hardsigmoid", "logsoftmax"),
    "dropout, identity": ("dropout", "dropout1d", "dropout2d", "dropout3d", "identity"),
    "flatten": ("flatten",),
    "add, mul": ("add", "mul"),
    "concat": ("concat",),
}
ROW_OF = {tag: row for row, tags in ROWS.items() for tag in tags}
OPERATOR_BY_DEFAULT = ("add", "mul", "concat", "flatten")
WITH_PARAMETERS = ("conv", "convtranspose", "linear", "batchnorm", "layernorm", "prelu")


def _float32(number: float) -> float:
    return struct.unpack("f", struct.pack("f", number))[0]


class View:
    """One layer as the rules see it: per-sample sizes, the layer's arguments and the batch size N."""

    def __init__(self, layer: LayerResult, batch_size: int):
        self.layer, self.spec, self.N = layer, layer.spec, batch_size
        self.type, self.row = layer.type, ROW_OF[layer.type]
        self.call = self.spec.call or ("operator" if self.type in OPERATOR_BY_DEFAULT else "module")
        if self.row in WITH_PARAMETERS and self.call != "module":
            raise ValueError(f"layer {layer.name!r}: call {self.call!r} of a {self.type} (a layer with parameters)"
                             " is not modelled by the counting conventions; only module calls are")
        self.module = self.call == "module"
        self.X = prod(layer.input_shapes[0])
        self.Y = layer.output_elements
        self.M = layer.macs
        self.params = layer.params

    # conv
    @property
    def per_output(self) -> int:
        """Weights used per output element, K·C_in/g: also for transposed conv (counted on the output side)."""
        return prod(_per_axis(self.spec.kernel_size, self.layer.output_shape)) * self.layer.input_shapes[0][0] \
            // self.spec.groups

    @property
    def bias(self) -> bool:
        return bool(getattr(self.spec, "bias", False))

    @property
    def affine(self) -> bool:
        return bool(getattr(self.spec, "affine", getattr(self.spec, "elementwise_affine", False)))


def _per_axis(raw: Any, output_shape: tuple[int, ...]) -> list[int]:
    return [raw] * (len(output_shape) - 1) if isinstance(raw, int) else list(raw)


@dataclass(frozen=True)
class Rule:
    """One cell of a convention's table: the rule as text (docs) and as a function (an itemized count)."""

    text: str
    count: Callable[[View], dict[str, int]]


def _only_module(text: str, count: Callable[[View], dict[str, int]]) -> Rule:
    """Hook-based tools see modules only: a function or operator call counts 0."""
    return Rule(text, lambda v: count(v) if v.module else {})


# ---------------------------------------------------------------------------------------------- the tables

def _pytorch_table() -> dict[str, Rule]:
    return {
        "conv": Rule("N·M (K·C_in/g·C_out·P_out)", lambda v: {"conv": v.N * v.M}),
        "convtranspose": Rule("N·M (K·C_in·C_out/g·P_in)", lambda v: {"convtranspose": v.N * v.M}),
        "linear": Rule("N·M (R·F_in·F_out)", lambda v: {"linear": v.N * v.M}),
    }


def _fvcore_table(training: bool) -> dict[str, Rule]:
    def batchnorm(v: View) -> dict[str, int]:
        statistics = training or not v.spec.track_running_stats
        return {"batchnorm": v.N * v.X * ((5 if v.affine else 4) if statistics else (2 if v.affine else 1))}

    bn_text = ("N·X·(affine ? 5 : 4) (train mode)" if training else
               "N·X·(affine ? 2 : 1); track_running_stats false: N·X·(affine ? 5 : 4)")
    return {
        "conv": Rule("N·M; padding 'same'/'valid': 0 (aten::_convolution_mode unsupported)",
                     lambda v: {} if isinstance(v.spec.padding, str) else {"conv": v.N * v.M}),
        "convtranspose": Rule("N·M", lambda v: {"convtranspose": v.N * v.M}),
        "linear": Rule("N·M", lambda v: {"linear": v.N * v.M}),
        "batchnorm": Rule(bn_text, batchnorm),
        "layernorm": Rule("N·X·(elementwise_affine ? 5 : 4)",
                          lambda v: {"layernorm": v.N * v.X * (5 if v.affine else 4)}),
        "adaptiveavgpool": Rule("2d: N·X (1 per input element); 1d, 3d: 0 (unsupported)",
                                lambda v: {"pooling": v.N * v.X} if v.type == "adaptiveavgpool2d" else {}),
    }


def _ptflops_table(functional: bool) -> dict[str, Rule]:
    """ptflops' module hooks give per-sample counts (the sum is divided by the batch); the patched
    torch.nn.functional / torch functions (count_functional) count the whole batch, also inside modules."""
    f = 1 if functional else 0

    def numel(category: str, module: int, function: int) -> Callable[[View], dict[str, int]]:
        # module: X per sample (hook) + N·X (patched F.* inside); function: N·X; operator: 0
        return lambda v: {category: (module * v.X + f * v.N * v.X) if v.module else
                          (function * f * v.N * v.X if v.call == "function" else 0)}

    twice = "module: X + N·X (hook + the patched F.* it calls), function: N·X" if functional else "module: X"
    return {
        "conv": Rule("M + bias·Y", lambda v: {"conv": v.M, "bias": v.bias * v.Y}),
        "convtranspose": Rule("M + bias·Y", lambda v: {"convtranspose": v.M, "bias": v.bias * v.Y}),
        "linear": Rule("M + bias·Y (R·(F_in·F_out + F_out))", lambda v: {"linear": v.M, "bias": v.bias * v.Y}),
        "batchnorm": Rule("X·(affine ? 2 : 1)", lambda v: {"batchnorm": v.X * (2 if v.affine else 1)}),
        "layernorm": Rule("X (elementwise_affine ignored: the hook reads `affine`)", lambda v: {"layernorm": v.X}),
        "maxpool": Rule(twice, numel("pooling", 1, 1)),
        "avgpool": Rule(twice, numel("pooling", 1, 1)),
        "adaptiveavgpool": Rule(twice, numel("pooling", 1, 1)),
        "relu": Rule(twice, numel("activation", 1, 1)),
        "prelu": Rule(twice, numel("activation", 1, 1)),
        "relu6": Rule("module: X (F.hardtanh is not patched)" + (", function (F.relu6): N·X" if functional else ""),
                      lambda v: {"activation": v.X if v.module else (f * v.N * v.X if v.call == "function" else 0)}),
        "leakyrelu": Rule("module: X; function: 0 (F.leaky_relu is not patched)",
                          lambda v: {"activation": v.X if v.module else 0}),
        "silu": Rule("module or function: N·X (no hook; the patched F.silu)" if functional else "0",
                     numel("activation", 0, 1) if functional else lambda v: {}),
        "softmax": Rule("module or function: N·X (no hook; the patched F.softmax)" if functional else "0",
                        numel("activation", 0, 1) if functional else lambda v: {}),
        "add, mul": Rule("function (torch.add, x.add()): N·Y; operator (x + y, +=): 0" if functional else "0",
                         lambda v: {"elementwise": f * v.N * v.Y} if v.call == "function" else {}),
    }


def _ptflops_aten_table() -> dict[str, Rule]:
    return {
        "conv": Rule("N·(M + bias·Y)", lambda v: {"conv": v.N * v.M, "bias": v.N * v.bias * v.Y}),
        "convtranspose": Rule("N·(M + bias·Y)", lambda v: {"convtranspose": v.N * v.M, "bias": v.N * v.bias * v.Y}),
        "linear": Rule("N·(M + bias·Y)", lambda v: {"linear": v.N * v.M, "bias": v.N * v.bias * v.Y}),
    }


def _thop_softmax(v: View) -> dict[str, int]:
    if v.spec.dim is None:
        return {}
    full = [v.N, *v.layer.input_shapes[0]]
    size = full[v.spec.dim]
    return {"activation": v.N * v.X // size * (3 * size - 1)}


def _thop_adaptive(v: View) -> dict[str, int]:
    kernel = 1.0
    for size_in, size_out in zip(v.layer.input_shapes[0][1:], v.layer.output_shape[1:]):
        kernel *= size_in / size_out     # float64, as thop (uneven pools give fractional kernels)
    return {"pooling": int((kernel + 1) * (v.N * v.Y))}


def _thop_table() -> dict[str, Rule]:
    return {
        "conv": _only_module("N·M", lambda v: {"conv": v.N * v.M}),
        "convtranspose": _only_module(
            "N·K·C_in/g·Y: output side, ≈ stride^d too many (Lyken17/pytorch-OpCounter#93, ultralytics/thop#92)",
            lambda v: {"convtranspose": v.N * v.per_output * v.Y}),
        "linear": _only_module("N·M", lambda v: {"linear": v.N * v.M}),
        "batchnorm": _only_module("N·X·(affine ? 4 : 2) (Lyken17/pytorch-OpCounter#196, #226: doubled twice)",
                                  lambda v: {"batchnorm": v.N * v.X * (4 if v.affine else 2)}),
        "layernorm": _only_module("N·X·(elementwise_affine ? 4 : 2)",
                                  lambda v: {"layernorm": v.N * v.X * (4 if v.affine else 2)}),
        "avgpool": _only_module("N·Y", lambda v: {"pooling": v.N * v.Y}),
        "adaptiveavgpool": _only_module("int((∏ in/out + 1)·N·Y), kernel in float64", _thop_adaptive),
        "softmax": _only_module("N·(X/F)·(3F − 1), F = size of dim; dim unset: 0 (thop fails)", _thop_softmax),
        "prelu": _only_module("N·X", lambda v: {"activation": v.N * v.X}),
    }


def _thop_readme_avgpool(v: View) -> dict[str, int]:
    raw = v.spec.kernel_size
    kernel = raw if isinstance(raw, int) else prod(raw)
    return {"pooling": (kernel + 1) * v.N * v.Y}


def _thop_readme_table() -> dict[str, Rule]:
    return {
        "conv": _only_module("N·(M + bias·Y)", lambda v: {"conv": v.N * v.M, "bias": v.N * v.bias * v.Y}),
        "convtranspose": _only_module("N·(K·C_in/g + bias)·Y (output side)",
                                      lambda v: {"convtranspose": v.N * v.per_output * v.Y,
                                                 "bias": v.N * v.bias * v.Y}),
        "linear": _only_module("N·(2·F_in − 1)·Y: multiplications and additions",
                               lambda v: {"linear": v.N * v.M, "linear additions": v.N * (v.M - v.Y)}),
        "batchnorm": _only_module("4·N·X", lambda v: {"batchnorm": 4 * v.N * v.X}),
        "leakyrelu": _only_module("N·X", lambda v: {"activation": v.N * v.X}),
        "avgpool": _only_module("(k + 1)·N·Y, k = ∏ kernel_size as written: an int k counts k, not k^d (a bug)",
                                _thop_readme_avgpool),
        "adaptiveavgpool": _only_module(
            "(∏ ⌊in/out⌋ + 1)·N·Y",
            lambda v: {"pooling": (prod(i // o for i, o in zip(v.layer.input_shapes[0][1:], v.layer.output_shape[1:]))
                                   + 1) * v.N * v.Y}),
    }


def _torchinfo_table() -> dict[str, Rule]:
    """torchinfo: each call of a module, numel of its `weight` and `bias` times N (times P_out for Conv*)."""
    return {
        "conv": _only_module("N·P_out·params = N·(M + bias·Y)", lambda v: {"conv": v.N * v.M, "bias": v.N * v.bias * v.Y}),
        "convtranspose": _only_module("N·P_out·params = N·(K·C_in/g·Y + bias·Y) (output side)",
                                      lambda v: {"convtranspose": v.N * v.per_output * v.Y,
                                                 "bias": v.N * v.bias * v.Y}),
        "linear": _only_module("N·params = N·(F_in·F_out + bias·F_out): rows R ignored (TylerYep/torchinfo#77)",
                               lambda v: {"linear": v.N * v.M // (v.X // v.layer.input_shapes[0][-1]),
                                          "bias": v.N * v.bias * v.layer.output_shape[-1]}),
        "batchnorm": _only_module("N·params (2C if affine)", lambda v: {"batchnorm": v.N * v.params}),
        "layernorm": _only_module("N·params", lambda v: {"layernorm": v.N * v.params}),
        "prelu": _only_module("N·params", lambda v: {"activation": v.N * v.params}),
    }


def _calflops_positions(v: View, transposed: bool) -> int:
    """calflops' output positions: the conv formula ⌊(I + 2P − D(K − 1) − 1)/S⌋ + 1 per axis, with padding
    'same' as D(K − 1)//2 on both sides (one short of PyTorch's for an odd total), and applied to the INPUT of
    a transposed conv as well (for its bias term)."""
    spatial = v.layer.input_shapes[0][1:]
    kernel = _per_axis(v.spec.kernel_size, v.layer.output_shape)
    stride = _per_axis(v.spec.stride, v.layer.output_shape)
    dilation = _per_axis(v.spec.dilation, v.layer.output_shape)
    if v.spec.padding == "same":
        padding = [d * (k - 1) // 2 for d, k in zip(dilation, kernel)]
    elif v.spec.padding == "valid":
        padding = [0] * len(kernel)
    else:
        padding = _per_axis(v.spec.padding, v.layer.output_shape)
    positions = 1
    for size, k, s, p, d in zip(spatial, kernel, stride, padding, dilation):
        positions *= (size + 2 * p - d * (k - 1) - 1) // s + 1
    return positions


def _calflops_conv(v: View) -> dict[str, int]:
    out_channels = v.layer.output_shape[0]
    positions = _calflops_positions(v, False)
    return {"conv": 2 * v.N * v.per_output * out_channels * positions,
            "bias": v.N * v.bias * out_channels * positions}


def _calflops_convtranspose(v: View) -> dict[str, int]:
    in_channels, out_channels, groups = v.layer.input_shapes[0][0], v.layer.output_shape[0], v.spec.groups
    kernel = prod(_per_axis(v.spec.kernel_size, v.layer.output_shape))
    macs = kernel * in_channels * (out_channels // groups // groups) * prod(v.layer.input_shapes[0][1:])
    return {"convtranspose": 2 * v.N * macs,
            "bias": v.N * v.bias * (out_channels // groups) * _calflops_positions(v, True)}


def _calflops_table() -> dict[str, Rule]:
    """calflops 0.3.2 patches torch.nn.functional (and torch.add/mul/matmul...) and counts FLOPs of the whole
    batch; nn.Module calls count through the F.* function they call."""
    def patched(category: str, factor: int = 1) -> Callable[[View], dict[str, int]]:
        return lambda v: {category: factor * v.N * v.X} if v.call != "operator" else {}

    def batchnorm(v: View) -> dict[str, int]:
        statistics = not v.spec.track_running_stats
        return {"batchnorm": v.N * v.X * ((5 if v.affine else 4) if statistics else (2 if v.affine else 1))}

    module_or_f = "module or F.* function: N·X; operator or torch.* (x.relu(), torch.relu): 0"
    return {
        "conv": Rule("2·N·M + N·bias·Y; padding 'same' with an odd D·(K − 1): P_out of D·(K − 1)//2 on both sides",
                     _calflops_conv),
        "convtranspose": Rule("2·N·K·C_in·⌊C_out/g²⌋·P_in (g divides twice) + N·bias·C_out/g·P', P' = conv"
                              " formula on the input", _calflops_convtranspose),
        "linear": Rule("2·N·M (bias not counted)", lambda v: {"linear": 2 * v.N * v.M}),
        "batchnorm": Rule("N·X·(affine ? 2 : 1); track_running_stats false: N·X·(affine ? 5 : 4)", batchnorm),
        "layernorm": Rule("N·X·(elementwise_affine ? 5 : 4)",
                          lambda v: {"layernorm": v.N * v.X * (5 if v.affine else 4)}),
        "maxpool": Rule("module or function: N·X", patched("pooling")),
        "avgpool": Rule("module or function: N·X", patched("pooling")),
        "adaptiveavgpool": Rule("module or function: N·X; operator (x.mean()): 0", patched("pooling")),
        "relu": Rule(module_or_f, lambda v: {"activation": v.N * v.X} if v.call != "operator" else {}),
        "relu6": Rule("module: 0 (nn.ReLU6 calls F.hardtanh); function F.relu6: N·X",
                      lambda v: {"activation": v.N * v.X} if v.call == "function" else {}),
        "leakyrelu": Rule("module or function: N·X", patched("activation")),
        "silu": Rule("module or function: N·X", patched("activation")),
        "softmax": Rule("module or F.softmax: N·X; x.softmax(): 0", patched("activation")),
        "prelu": Rule("N·X", lambda v: {"activation": v.N * v.X}),
        "add, mul": Rule("function (torch.add, torch.mul, x.add(), x.mul()): N·Y; operator (x + y, +=, x * y): 0",
                         lambda v: {"elementwise": v.N * v.Y} if v.call == "function" else {}),
    }


# ---------------------------------------------------------------------------------------------- params

def _pytorch_params(v: View) -> tuple[int, int]:
    return v.layer.params, v.layer.trainable_params


def _trainable_only(v: View) -> tuple[int, int]:
    return v.layer.trainable_params, v.layer.trainable_params


def _module_params(v: View) -> tuple[int, int]:
    return (v.layer.params, v.layer.trainable_params) if v.module else (0, 0)


def _keras_params(v: View) -> tuple[int, int]:
    moving = 2 * v.layer.input_shapes[0][0] if v.row == "batchnorm" and v.spec.track_running_stats else 0
    return v.layer.params + moving, v.layer.trainable_params


# ---------------------------------------------------------------------------------------------- memory

def _torchinfo_memory(views: list[View], network: Network, n: int) -> dict[str, Any]:
    """torchinfo 1.8.0, float32: input N·X·4 + 64 (the storage object's overhead); forward/backward 2·N·Y·4
    for every call of a module that has parameters; params 4·params. Printed as bytes/1e6 with %.2f."""
    figures = {"input_bytes": n * prod(network.input_shape) * 4 + 64,
               "forward_backward_bytes": sum(2 * n * v.Y * 4 for v in views if v.module and v.params),
               "params_bytes": 4 * sum(v.params for v in views if v.module)}
    figures["total_bytes"] = sum(figures.values())
    figures["printed"] = {key: f"{value / 1e6:0.2f}" for key, value in figures.items() if key != "printed"}
    return figures


def container_outputs(network: Network) -> list[int]:
    """Output elements per sample of each instance of a block marked `module: true` (an nn.Module that is
    not an nn.Sequential, e.g. ResNet's Bottleneck): the expansion lists each instance with its output layer."""
    made = getattr(getattr(network.source, "get", lambda key: None)("layers"), "modules", None) or []
    sizes = {layer.name: layer.output_elements for layer in network.layers}
    return [sizes.get(output, prod(network.input_shape)) for _, output in made]


def _torchsummary_memory(views: list[View], network: Network, n: int) -> dict[str, Any]:
    """torchsummary 1.5.1, float32, batch_size = N (its default -1 gives N = 1): one row per module call,
    container modules included (blocks with `module: true`); input N·X·4, forward/backward 2·N·ΣY·4 over
    the rows, params 4·Σ row params (containers hold none of their own). Printed in MiB with %0.2f."""
    rows = [v.Y for v in views if v.module] + container_outputs(network)
    figures = {"input_bytes": n * prod(network.input_shape) * 4,
               "forward_backward_bytes": 2 * n * 4 * sum(rows),
               "params_bytes": 4 * sum(v.params for v in views if v.module)}
    figures["total_bytes"] = sum(figures.values())
    figures["printed"] = {key: f"{value / 2**20:0.2f}" for key, value in figures.items() if key != "printed"}
    return figures


# ---------------------------------------------------------------------------------------------- printing

def _ptflops_string(macs: int) -> str:
    for power, unit in ((9, "GMac"), (6, "MMac"), (3, "KMac")):
        if macs // 10**power > 0:
            return f"{round(macs / 10.0**power, 2)} {unit}"
    return f"{macs} Mac"


def _thop_string(macs: int) -> str:
    for power, unit in ((12, "T"), (9, "G"), (6, "M"), (3, "K")):
        if macs > 10**power:
            return f"{macs / 10**power:.3f}{unit}"
    return f"{macs:.3f}B"


def _torchinfo_string(macs: int) -> str:
    for power, unit in ((12, "T"), (9, "G"), (6, "M")):
        if macs >= 10**power or power == 6:
            return f"{macs / 10**power:,.2f} ({unit})"
    raise AssertionError  # pragma: no cover


def _thop_readme_string(macs: int) -> str:
    return f"{_float32(macs) / 1000**3:.2f}"


def _calflops_string(flops: int) -> str:
    for magnitude, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if flops >= magnitude:
            return f"{round(flops / magnitude, 2):g} {unit}FLOPS"
    return f"{round(flops, 2):g} FLOPS"


# ---------------------------------------------------------------------------------------------- conventions

@dataclass(frozen=True)
class Convention:
    """One tool's counting rules. `macs` is None when the tool reports no operation count."""

    name: str
    tool: str                                   # tool, version and the call that gives its numbers
    notes: str                                  # batch, parameters, printing, known bugs
    macs: dict[str, Rule] | None
    params: Callable[[View], tuple[int, int]] = _pytorch_params
    params_text: str = "PyTorch: Σ p.numel()"
    memory: Callable[[list[View], Network, int], dict[str, Any]] | None = None
    printed: Callable[[int], str] | None = None
    quantity: str = "MACs"                      # what the count is: "MACs" or (calflops) "FLOPs"

    def rule_text(self, row: str) -> str:
        if self.macs is None:
            return "—"
        found = self.macs.get(row)
        return found.text if found else "0"


CONVENTIONS: dict[str, Convention] = {c.name: c for c in (
    Convention("pytorch", "archcalc's default (contract §2) = FlopCounterMode / 2",
               "MACs of conv, transposed conv and linear layers, no bias; N × the per-sample `macs`.",
               _pytorch_table()),
    Convention("torchvision", "torchvision's model tables (\"GFLOPS\", really MACs); torch.utils.flop_counter"
               ".FlopCounterMode get_total_flops() // 2",
               "Published as round(MACs / 1e9, 3) at batch 1; the count covers the whole batch.",
               _pytorch_table(), printed=lambda macs: f"{round(macs / 1e9, 3)}"),
    Convention("fvcore", "fvcore 0.1.5.post20221221, FlopCountAnalysis(model.eval(), x).total()",
               "One flop = one MAC, no bias; whole batch. relu, cat, flatten, dropout are ignored silently; pools"
               " (except adaptive avg 2d), other activations and add/mul are skipped with a warning. Parameters:"
               " PyTorch's (fvcore's parameter_count is not part of this convention).",
               _fvcore_table(training=False)),
    Convention("fvcore-train", "fvcore 0.1.5.post20221221 on a model in train mode (a fresh model)",
               "As fvcore, but batch norm normalizes with batch statistics: 5 (affine) or 4 per element.",
               _fvcore_table(training=True)),
    Convention("ptflops-pytorch", "ptflops 0.7.5, get_model_complexity_info(model, (C, H, W), backend='pytorch')"
               " (the default of every release 0.7.1 - 0.7.5)",
               "Module hooks count one sample (their sum is divided by the batch); the patched functions"
               " (count_functional=True) count the whole batch. nn.ReLU, pooling, ELU, GELU and PReLU modules are"
               " counted twice, by the hook and by the patched F.* they call (sovrasov/flops-counter.pytorch#139)."
               " Parameters: trainable only. Printed: str(round(MACs / 1e9, 2)) + ' GMac'.",
               _ptflops_table(functional=True), params=_trainable_only, params_text="trainable only",
               printed=_ptflops_string),
    Convention("ptflops-modules", "ptflops 0.7.5 with backend_specific_config={'count_functional': False}"
               " (= ptflops <= 0.7.0)",
               "Module hooks only, one sample. Parameters: trainable only.",
               _ptflops_table(functional=False), params=_trainable_only, params_text="trainable only",
               printed=_ptflops_string),
    Convention("ptflops-aten", "ptflops 0.7.5, backend='aten'",
               "aten.convolution, mm, addmm, bmm only (with bias); whole batch. Parameters: trainable only.",
               _ptflops_aten_table(), params=_trainable_only, params_text="trainable only",
               printed=_ptflops_string),
    Convention("thop", "thop 0.1.1.post2209072238 (PyPI `thop`), thop.profile(model, inputs=(x,))",
               "Module forward hooks only: functional calls count 0. Whole batch. relu, relu6, leakyrelu, max"
               " pools and dropout are registered as zero. Printed: clever_format(..., '%.3f'). Parameters of"
               " hooked modules (function calls hold none).",
               _thop_table(), params=_module_params, params_text="params of module calls",
               printed=_thop_string),
    Convention("thop-readme", "thop 0.0.31.post1909021322: the version behind thop's README table",
               "Its README prints total / 1000**3 with %.2f of a float32 sum; this convention gives the exact integer"
               " sum of its rules (for ResNet-50 4,135,789,592; thop's float32 total is 4,135,789,568).",
               _thop_readme_table(), params=_module_params, params_text="params of module calls",
               printed=_thop_readme_string),
    Convention("torchinfo", "torchinfo 1.8.0, summary(model, input_size=(N, C, H, W)).total_mult_adds",
               "Counts parameters used, not operations: per module call (functions and operators count 0), numel(weight) + numel(bias), times N,"
               " times P_out for Conv*. Whole batch. Printed: 'Total mult-adds (G): %.2f' (Python 3.11 prints"
               " '(Units.GIGABYTES)', TylerYep/torchinfo#350). Memory in MB = 1e6 bytes.",
               _torchinfo_table(), params=_module_params, params_text="PyTorch (module calls)",
               memory=_torchinfo_memory, printed=_torchinfo_string),
    Convention("calflops", "calflops 0.3.2, calculate_flops(model, input_shape=(N, C, H, W),"
               " output_as_string=False)[0]: FLOPs, its headline figure",
               "This convention's count is calflops' FLOPs, not MACs: 2 per multiply-accumulate of conv and linear"
               " (calflops' own MACs figure equals `pytorch`'s, except for the conv quirks below), plus conv bias,"
               " batch norm, pools and the activations and torch.add / torch.mul calls that go through a patched"
               " function. Compared with `pytorch`, the conv and linear rows differ by +N·M (the second half of 2·N·M)."
               " Whole batch. Parameters: trainable only. Printed: '%g' of the value rounded to 2 decimals, unit"
               " T/G/M/K + 'FLOPS' (ResNet-50: '8.21 GFLOPS').",
               _calflops_table(), params=_trainable_only, params_text="trainable only",
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

@dataclass(frozen=True)
class LayerCounts:
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

    @property
    def macs(self) -> int | None:
        return None if self.convention.macs is None else sum(self.items.values())

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


def count(network: Network, name: str = DEFAULT, batch_size: int = 1) -> Counts:
    """The network's MACs, parameters and memory as the convention's tool reports them."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
    chosen = convention(name)
    views = [View(layer, batch_size) for layer in network.layers]
    layers, items = [], {}
    for view in views:
        found = chosen.macs.get(view.row) if chosen.macs else None
        counted = {key: value for key, value in (found.count(view) if found else {}).items() if value}
        for key, value in counted.items():
            items[key] = items.get(key, 0) + value
        params, trainable = chosen.params(view)
        layers.append(LayerCounts(view.layer.name, view.type, view.call, counted, params, trainable))
    memory = chosen.memory(views, network, batch_size) if chosen.memory else None
    return Counts(chosen, batch_size, layers, memory, items)


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
        if other.convention.macs is not None and base.convention.macs is not None:
            for key in set(mine.items) | set(theirs.items):
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
            text = other.convention.params_text if quantity == "params" else other.convention.rule_text(ROW_OF[tag])
            result.append(Difference(quantity, category, tag, layers, amount, text))
    result.sort(key=lambda d: (d.quantity != "macs", -abs(d.amount)))
    return result


__all__ = ["CONVENTIONS", "DEFAULT", "ROWS", "Convention", "Counts", "Difference", "LayerCounts", "Rule", "View",
           "container_outputs", "convention", "count", "differences"]
