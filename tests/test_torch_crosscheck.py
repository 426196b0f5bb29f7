"""Cross-check against PyTorch itself: every layer of every spec, rebuilt as a real torch.nn module.

Optional: the module is skipped when torch is not installed (archcalc never imports it).

1. A generic builder turns each layer of `archcalc.load(spec)` into the torch.nn module its `type`
   names, with the constructor arguments the spec set (torch's own defaults for the rest; the
   input-size arguments come from the layer's input shape), freezes it when `trainable: false`,
   and runs the graph on `torch.zeros(1, *input)` in eval mode following `layer.sources`. Each layer
   is then a test of its own: output shape, `sum(p.numel())`, trainable count and
   `FlopCounterMode` total // 2 on that module alone, against archcalc's numbers. Specs are
   discovered at collection time in `specs/` and `tests/golden/`, plus a few inline specs here
   that use every layer type archcalc knows with unusual arguments.
2. Hand-written torch models (no builder): LeNet-5, torchvision's ResNet-18 and a small DenseNet,
   compared by totals and by the ordered output shapes of their leaf modules.

Run: python -m pytest tests/test_torch_crosscheck.py -q   (in an environment with torch)
"""

from __future__ import annotations

import functools
import pathlib
import warnings
from dataclasses import dataclass
from typing import Callable

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torch warns at import when numpy is absent; it needs none here
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

import archcalc
from archcalc.layers import TYPE_NAMES

REPO = pathlib.Path(__file__).resolve().parent.parent
SPEC_DIRS = (REPO / "specs", REPO / "tests" / "golden")

pytestmark = pytest.mark.filterwarnings(
    "ignore:Implicit dimension choice:UserWarning",   # softmax without dim: the shape is the same
    "ignore:dropout2d.*:UserWarning",
    "ignore:Using padding=.same. with even kernel:UserWarning",
    "ignore:TF32 acceleration on top of oneDNN:UserWarning",
)


# --------------------------------------------------------------------------------------------
# The builder: one torch.nn module per archcalc layer
# --------------------------------------------------------------------------------------------

from torch_modules import (  # noqa: E402 - after importorskip
    TORCH_CLASS, Add, Concat, GraphModule, first_tensor, network_inputs, store,
)
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402


@functools.lru_cache(maxsize=1)
def _fast_path_off() -> None:
    """The contract's MACs are FlopCounterMode's with attention on PyTorch's math path: nn.MultiheadAttention's
    inference fast path (no_grad, eval) and CPU's flash kernel count nothing, so the cross-checks turn both off."""
    torch.backends.mha.set_fastpath_enabled(False)
from torch_modules import build_module as build_inplace_module  # noqa: E402

from conftest import load_torch_sized  # noqa: E402


def build_module(layer: archcalc.LayerResult) -> nn.Module:
    """The module in eval mode and without in-place: another branch may still read the input (no count changes)."""
    return build_inplace_module(layer, inplace=False).eval()


def parameter_counts(module: nn.Module) -> tuple[int, int]:
    params = list(module.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


@dataclass(frozen=True)
class Measured:
    """What torch reports for one layer."""

    output_shape: tuple[int, ...]
    output_shapes: tuple[tuple[int, ...], ...]   # every output (split pieces); maxpool's indices not included
    params: int
    trainable_params: int
    macs: int


@dataclass(frozen=True)
class Run:
    network: archcalc.Network
    measured: dict[str, Measured]
    failure: tuple[str, str] | None  # (layer name, error) where torch stopped


def run_layers(network: archcalc.Network) -> Run:
    """Build every layer and execute the graph once, measuring each module alone on its real input."""
    last_use = {source: i for i, layer in enumerate(network.layers) for source in layer.sources}
    values = dict(zip([item.name for item in network.inputs] or ["input"], network_inputs(network, 1)))
    values.setdefault("input", next(iter(values.values())))
    measured: dict[str, Measured] = {}
    modules: dict[str, nn.Module] = {}
    seen: set[int] = set()   # parameters counted by an earlier module (tied weights), as model.parameters() does
    _fast_path_off()
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        for i, layer in enumerate(network.layers):
            try:
                module = build_module(layer)
                if getattr(layer.spec, "tie", None):
                    module.weight = modules[layer.spec.tie].weight
                modules[layer.name] = module
                inputs = [values[source] for source in layer.sources]
                with FlopCounterMode(display=False) as counter:
                    outputs = module(*inputs) if layer.sources else module(1)
                out = first_tensor(outputs)
            except Exception as error:  # noqa: BLE001 - reported by the test of this layer
                return Run(network, measured, (layer.name, f"{type(error).__name__}: {error}"))
            macs = counter.get_total_flops() // 2
            # every output of a layer with several (NAME:INDEX); maxpool's return_indices is not an archcalc output
            pieces = outputs if isinstance(outputs, (tuple, list)) and len(layer.output_shapes) > 1 else [out]
            new = [p for p in module.parameters() if id(p) not in seen]
            seen.update(id(p) for p in new)
            measured[layer.name] = Measured(tuple(out.shape[1:]), tuple(tuple(piece.shape[1:]) for piece in pieces),
                                            sum(p.numel() for p in new),
                                            sum(p.numel() for p in new if p.requires_grad), macs)
            store(values, layer.name, outputs)
            for source in set(layer.sources):
                if last_use[source] == i:
                    values.pop(source, None)
    return Run(network, measured, None)


# --------------------------------------------------------------------------------------------
# Specs: the files in specs/ and tests/golden/, found at collection time, and inline ones
# --------------------------------------------------------------------------------------------

# Every layer type, with arguments off the beaten path: per-axis lists, dilation, groups, `same`
# padding with an even kernel, ceil_mode, output_padding, broadcasting mul, linear on a 3-d input.
INLINE_SPECS: dict[str, str] = {
    "inline/image2d": """
name: image2d
input: [4, 17, 23]
layers:
  - {name: conv_axes, type: conv2d, out_channels: 8, kernel_size: [3, 5], stride: [2, 1], padding: [1, 2], dilation: [1, 2]}
  - {name: conv_grouped, type: Conv2d, out_channels: 12, kernel: 3, padding: same, groups: 4, bias: false}
  - {name: conv_same_even, type: conv2d, out_channels: 12, kernel_size: 4, padding: same, dilation: 1}
  - {name: conv_same_dilated, type: conv2d, out_channels: 6, kernel_size: [2, 3], padding: same, dilation: [3, 2]}
  - {name: conv_valid, type: conv2d, in_channels: 6, out_channels: 6, kernel_size: 2, stride: 3, padding: valid}
  - {name: conv_reflect, type: conv2d, out_channels: 6, kernel_size: 3, padding: 1, padding_mode: reflect}
  - {name: conv_depthwise, type: conv2d, out_channels: 12, kernel_size: 3, groups: 6, padding: 1, trainable: false}
  - {name: up, type: convtranspose2d, out_channels: 6, kernel_size: 3, stride: 2, padding: 1, output_padding: 1}
  - {name: up_odd, type: ConvTranspose2d, out_channels: 4, kernel_size: [2, 4], stride: [3, 2], dilation: 2, groups: 2, bias: false}
  - {name: bn_plain, type: batchnorm2d, affine: false}
  - {name: bn_untracked, type: batchnorm2d, track_running_stats: false, momentum: null}
  - {name: pool_ceil, type: maxpool2d, kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}
  - {name: pool_dilated, type: maxpool2d, kernel_size: 2, stride: 1, dilation: 2, return_indices: true}
  - {name: avg_ceil, type: avgpool2d, kernel_size: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false, divisor_override: 3}
  - {name: ln, type: layernorm, normalized_shape: [5, 7]}
  - {name: ln_nobias, type: layernorm, normalized_shape: 7, bias: false}
  - {name: ln_plain, type: layernorm, normalized_shape: 7, elementwise_affine: false}
  - {name: prelu_c, type: prelu, num_parameters: 4}
  - {name: prelu_1, type: PReLU, init: 0.1}
  - {type: relu, inplace: true}
  - {type: relu6}
  - {type: leakyrelu, negative_slope: 0.2}
  - {type: elu, alpha: 0.5}
  - {type: gelu, approximate: tanh}
  - {type: silu}
  - {type: mish}
  - {type: sigmoid}
  - {type: tanh}
  - {type: hardswish}
  - {type: hardsigmoid}
  - {type: identity}
  - {type: dropout, p: 0.3}
  - {name: drop2d, type: dropout2d}
  - {name: softmax_c, type: softmax, dim: 1}
  - {name: logsoftmax_w, type: logsoftmax, dim: -1}
  - {name: squeeze, type: adaptiveavgpool2d, output_size: 1, inputs: [drop2d]}
  - {name: excite, type: conv2d, out_channels: 4, kernel_size: 1}
  - {name: gate, type: hardsigmoid}
  - {name: scale, type: mul, inputs: [drop2d, gate]}
  - {name: residual, type: add, inputs: [scale, drop2d, softmax_c]}
  - {name: wide, type: concat, dim: -1, inputs: [residual, logsoftmax_w]}
  - {name: deep, type: concat, inputs: [wide, wide, wide]}
  - {name: adapt_partial, type: adaptiveavgpool2d, output_size: [3, null]}
  - {name: adapt_max, type: adaptivemaxpool2d, output_size: [2, 3]}
  - {name: rows, type: flatten, start_dim: 2}
  - {name: per_row, type: linear, out_features: 7}
  - {name: flat, type: flatten}
  - {name: head, type: linear, out_features: 5, bias: false}
""",
    "inline/signal1d": """
input: [3, 50]
layers:
  - {name: conv, type: conv1d, out_channels: 8, kernel_size: 5, stride: 2, padding: 3, dilation: 2}
  - {name: conv_same, type: conv1d, out_channels: 8, kernel_size: 6, padding: same, padding_mode: circular, groups: 2}
  - {name: bn, type: batchnorm1d}
  - {name: up, type: convtranspose1d, out_channels: 6, kernel_size: 4, stride: 3, output_padding: 2, padding: 1}
  - {name: pool, type: maxpool1d, kernel_size: 4, stride: 3, ceil_mode: true, padding: 2}
  - {name: avg, type: avgpool1d, kernel_size: 3, stride: 2, ceil_mode: true, padding: 1}
  - {name: drop, type: dropout1d, p: 0.1}
  - {name: prelu, type: prelu, num_parameters: 6}
  - {name: adapt, type: adaptiveavgpool1d, output_size: 4}
  - {name: ln, type: layernorm, normalized_shape: 4}
  - {name: per_channel, type: linear, out_features: 9}
  - {name: flat, type: flatten}
  - {name: bn_vec, type: batchnorm1d, trainable: false}
  - {name: fc, type: linear, out_features: 3}
  - {name: softmax, type: softmax}
""",
    "inline/volume3d": """
input: [2, 6, 9, 10]
layers:
  - {name: conv, type: conv3d, out_channels: 4, kernel_size: [1, 3, 3], padding: [0, 1, 1], stride: [1, 2, 1]}
  - {name: conv_same, type: conv3d, out_channels: 4, kernel_size: 2, padding: same, bias: false}
  - {name: bn, type: batchnorm3d}
  - {name: up, type: convtranspose3d, out_channels: 3, kernel_size: [2, 3, 1], stride: 2, padding: [0, 1, 0]}
  - {name: drop, type: dropout3d}
  - {name: pool, type: maxpool3d, kernel_size: [2, 2, 3], stride: [1, 2, 2], ceil_mode: true}
  - {name: avg, type: avgpool3d, kernel_size: 2, padding: 1, divisor_override: 2}
  - {name: adapt, type: adaptiveavgpool3d, output_size: [2, null, 3]}
  - {type: flatten, start_dim: 1, end_dim: 2}
  - {type: flatten}
  - {type: linear, out_features: 4}
""",
    "inline/resample": """
input: [4, 7, 9]
layers:
  - {name: near, type: upsample, scale_factor: 2.5}
  - {name: bilinear, type: upsample, size: [5, 8], mode: bilinear, align_corners: false}
  - {name: bicubic, type: upsample, scale_factor: [1.5, 0.29], mode: bicubic, align_corners: true}
  - {name: area, type: upsample, scale_factor: 0.7, mode: area}
  - {name: conv, type: conv2d, out_channels: 16, kernel_size: 1}
  - {name: unshuffle, type: pixelunshuffle, downscale_factor: 1}
  - {name: shuffle, type: pixelshuffle, upscale_factor: 2}
  - {name: rows, type: flatten, start_dim: 2}
  - {name: linear1d, type: upsample, scale_factor: 1.15, mode: linear}
  - {name: exact1d, type: upsample, size: 13, mode: nearest-exact}
""",
    "inline/attention": """
input: {src: [10, 32], mem: [7, 32], k: [7, 6], v: [7, 5]}
layers:
  - {name: mha, type: multiheadattention, num_heads: 4, inputs: [src]}
  - {name: cross, type: multiheadattention, num_heads: 4, kdim: 6, vdim: 5, add_bias_kv: true, add_zero_attn: true, inputs: [mha, k, v], average_attn_weights: false}
  - {name: kv, type: multiheadattention, embed_dim: 32, num_heads: 8, bias: false, dropout: 0.1, inputs: [cross, mem, mem], need_weights: false, batch_first: true}
  - {name: zero, type: multiheadattention, num_heads: 2, add_zero_attn: true, inputs: [kv]}
  - {name: enc, type: transformerencoderlayer, nhead: 4, dim_feedforward: 64, inputs: [zero]}
  - {name: enc_pre, type: TransformerEncoderLayer, nhead: 8, dim_feedforward: 48, activation: gelu, norm_first: true, bias: false, dropout: 0.0}
  - {name: dec, type: transformerdecoderlayer, nhead: 4, dim_feedforward: 40, inputs: [enc_pre, mem]}
  - {name: dec_pre, type: transformerdecoderlayer, d_model: 32, nhead: 2, norm_first: true, inputs: [dec, mem]}
  - {name: mm, type: matmul, inputs: [mha:1, dec_pre]}
  - {name: sdpa, type: scaled_dot_product_attention, inputs: [cross:1, cross:1, cross:1]}
  - {name: h4, type: multiheadattention, num_heads: 4, average_attn_weights: false, inputs: [dec_pre]}
  - {name: h2, type: multiheadattention, num_heads: 2, average_attn_weights: false, inputs: [dec_pre]}
  - {name: h1, type: multiheadattention, num_heads: 1, average_attn_weights: false, inputs: [dec_pre]}
  - {name: gqa, type: scaled_dot_product_attention, is_causal: true, scale: 0.5, enable_gqa: true, inputs: [h4:1, h2:1, h2:1]}
  - {name: sdpa_dv, type: scaled_dot_product_attention, inputs: [h4:1, h4:1, cross:1], backend: math}
  - {name: broadcast, type: matmul, inputs: [h1:1, cross:1]}
""",
    "inline/vector": """
input: [16]
layers:
  - {name: a, type: linear, out_features: 12}
  - {name: ln, type: layernorm, normalized_shape: 12}
  - {name: bn, type: batchnorm1d}
  - {name: b, type: linear, out_features: 12, inputs: [input]}
  - {name: scalar, type: linear, out_features: 1, inputs: [input]}
  - {name: gated, type: mul, inputs: [bn, b, scalar]}
  - {name: both, type: concat, inputs: [gated, a, input]}
  - {name: prelu, type: prelu, num_parameters: 40}
  - {name: out, type: linear, out_features: 2, trainable: false}
  - {type: logsoftmax, dim: 1}
""",
    "inline/sequence": """
input: {shape: [12], dtype: int64}
layers:
  - {name: tokens, type: embedding, num_embeddings: 100, embedding_dim: 16, padding_idx: 0}
  - {name: pos, type: parameter, shape: [12, 16]}
  - {name: x, type: add, inputs: [tokens, pos]}
  - {name: lstm, type: lstm, hidden_size: 8, num_layers: 2, bidirectional: true, proj_size: 4, dropout: 0.2}
  - {name: gru, type: gru, hidden_size: 6, bias: false, batch_first: true}
  - {name: rnn, type: rnn, hidden_size: 5, nonlinearity: relu, num_layers: 2, inputs: ["gru:0"]}
  - {name: cls, type: parameter, shape: [1, 5]}
  - {name: seq, type: concat, dim: 1, inputs: [cls, rnn]}
  - {name: cell, type: flatten, inputs: ["lstm:2"]}
  - {name: hidden, type: flatten, inputs: ["lstm:1"]}
  - {name: gru_state, type: linear, out_features: 3, inputs: ["gru:1"]}
  - {name: plain, type: lstm, hidden_size: 7, inputs: [x]}
  - {name: head, type: linear, out_features: 16, inputs: [seq]}
  - {name: lm, type: linear, out_features: 100, tie: tokens}
""",
    "inline/ops": """
input: [4, 6, 10]
layers:
  - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {name: gn, type: groupnorm, num_groups: 4}
  - {name: gn_plain, type: groupnorm, num_groups: 2, num_channels: 8, affine: false, eps: 0.001}
  - {name: in2, type: instancenorm2d, affine: true, track_running_stats: true}
  - {name: in2_plain, type: instancenorm2d}
  - {name: zpad, type: zeropad2d, padding: [1, 2, 0, 3]}
  - {name: cpad, type: constantpad2d, padding: 1, value: 0.5}
  - {name: crop, type: constantpad2d, padding: [-1, 0, -2, 1], value: 0.0}
  - {name: rpad, type: reflectionpad2d, padding: [2, 1, 1, 0]}
  - {name: reppad, type: replicationpad2d, padding: 3}
  - {name: circpad, type: circularpad2d, padding: [1, 2, 2, 1]}
  - {name: glu_c, type: glu, dim: 1}
  - {type: softplus, beta: 2.0}
  - {type: selu}
  - {type: celu, alpha: 0.5}
  - {type: hardtanh, min_val: -2.0, max_val: 2.0}
  - {type: logsigmoid}
  - {type: softsign}
  - {type: tanhshrink}
  - {type: softshrink, lambd: 0.3}
  - {type: hardshrink}
  - {type: threshold, threshold: 0.1, value: 0.0}
  - {type: rrelu}
  - {name: smin, type: softmin, dim: 1}
  - {name: s2d, type: softmax2d}
  - {name: a, type: abs}
  - {type: neg}
  - {type: exp}
  - {type: log}
  - {type: sqrt}
  - {type: pow, exponent: 2}
  - {name: clamped, type: clamp, min: -1.0, max: 1.0}
  - {name: twice, type: mul, scalar: 2}
  - {name: less, type: sub, scalar: 1}
  - {name: more, type: add, scalar: 0.5}
  - {name: half, type: div, scalar: 2}
  - {name: diff, type: sub, inputs: [half, clamped]}
  - {name: ratio, type: div, inputs: [diff, s2d]}
  - {name: rows, type: permute, dims: [0, 2, 3, 1]}
  - {name: seq, type: reshape, shape: [-1, 4]}
  - {name: swapped, type: transpose, dim0: 1, dim1: -1}
  - {name: parts, type: split, split_size_or_sections: [1, 3], dim: 1}
  - {name: pieces, type: chunk, chunks: 3, dim: -1, inputs: ["parts:1"]}
  - {name: first, type: select, dim: 1, index: -1, inputs: ["pieces:2"]}
  - {name: avg, type: mean, dim: [1], keepdim: true}
  - {name: pooled, type: mean, dim: -1, inputs: [swapped]}
  - {name: rms, type: rmsnorm, normalized_shape: 4}
  - {name: rms_plain, type: rmsnorm, normalized_shape: 4, elementwise_affine: false, eps: 0.0001}
  - {name: in1, type: instancenorm1d, inputs: [seq]}
  - {name: pad1, type: reflectionpad1d, padding: 2}
  - {name: rep1, type: replicationpad1d, padding: [0, 3]}
  - {name: circ1, type: circularpad1d, padding: 1}
  - {name: z1, type: zeropad1d, padding: 1}
  - {name: c1, type: constantpad1d, padding: [2, 0], value: 1.0}
""",
    "inline/ops3d": """
input: [2, 3, 4, 5]
layers:
  - {type: zeropad3d, padding: 1}
  - {type: constantpad3d, padding: [1, 0, 0, 1, 2, 0], value: 2.0}
  - {type: reflectionpad3d, padding: 1}
  - {type: replicationpad3d, padding: [0, 1, 1, 0, 1, 1]}
  - {type: circularpad3d, padding: 1}
  - {type: instancenorm3d, affine: true}
""",
}

# A DenseNet-style network (torchvision's _DenseLayer / _Transition, tiny): used by the builder
# tests and by the hand-written `TinyDenseNet` below.
TINY_DENSENET = """
name: tiny-densenet
input: [3, 32, 32]
variables: {growth: 8, bn_size: 4}
blocks:
  dense_layer:
    layers:
      - {name: norm1, type: batchnorm2d}
      - {name: relu1, type: relu, inplace: true}
      - {name: conv1, type: conv2d, out_channels: "${bn_size * growth}", kernel_size: 1, bias: false}
      - {name: norm2, type: batchnorm2d}
      - {name: relu2, type: relu, inplace: true}
      - {name: conv2, type: conv2d, out_channels: "${growth}", kernel_size: 3, padding: 1, bias: false}
      - {name: cat, type: concat, inputs: [input, conv2]}
  transition:
    params: {out: null}
    layers:
      - {name: norm, type: batchnorm2d}
      - {name: relu, type: relu}
      - {name: conv, type: conv2d, out_channels: "${out}", kernel_size: 1, bias: false}
      - {name: pool, type: avgpool2d, kernel_size: 2, stride: 2}
layers:
  - {name: conv0, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false, trainable: false}
  - {name: norm0, type: batchnorm2d, trainable: false}
  - {name: relu0, type: relu}
  - {block: dense_layer, name: denseblock1, repeat: 3}
  - {block: transition, name: transition1, with: {out: 20}}
  - {block: dense_layer, name: denseblock2, repeat: 4}
  - {name: norm5, type: batchnorm2d}
  - {name: relu5, type: relu}
  - {name: pool5, type: adaptiveavgpool2d, output_size: [1, 1]}
  - {name: flatten, type: flatten}
  - {name: classifier, type: linear, out_features: 10}
"""
INLINE_SPECS["inline/tiny_densenet"] = TINY_DENSENET


def spec_files() -> list[pathlib.Path]:
    return sorted(path for folder in SPEC_DIRS for pattern in ("*.yaml", "*.yml") for path in folder.glob(pattern))


def spec_id(path: pathlib.Path) -> str:
    return f"{path.parent.name}/{path.stem}"


SPEC_LOADERS: dict[str, Callable[[], archcalc.Network]] = {
    **{spec_id(path): functools.partial(load_torch_sized, path) for path in spec_files()},   # big ones small
    **{key: functools.partial(archcalc.loads, text, key) for key, text in INLINE_SPECS.items()},
}


@functools.lru_cache(maxsize=None)
def load_spec(key: str) -> archcalc.Network:
    return SPEC_LOADERS[key]()


@functools.lru_cache(maxsize=None)
def run_spec(key: str) -> Run:
    return run_layers(load_spec(key))


def layer_params() -> list:
    """One (spec, layer) case per layer of every spec; one failing case for a spec that does not load."""
    cases = []
    for key in SPEC_LOADERS:
        try:
            names = [layer.name for layer in load_spec(key).layers]
        except Exception as error:  # noqa: BLE001 - the test reports it
            cases.append(pytest.param(key, None, id=f"{key}:<does not load: {type(error).__name__}>"))
            continue
        cases.extend(pytest.param(key, name, id=f"{key}:{name}") for name in names)
    return cases


# --------------------------------------------------------------------------------------------
# 1. Builder tests: every layer of every spec
# --------------------------------------------------------------------------------------------

def test_every_archcalc_type_has_a_torch_module():
    assert sorted(set(TYPE_NAMES) - set(TORCH_CLASS)) == []


@pytest.mark.parametrize(("key", "name"), layer_params())
def test_layer_matches_torch(key: str, name: str | None) -> None:
    if name is None:
        load_spec(key)  # raises: the spec does not load (lru_cache keeps no exceptions)
        pytest.fail(f"{key} failed to load at collection time but loads now")
    run = run_spec(key)
    layer = run.network.layer(name)
    where = (f"{key}: layer {name!r} ({layer.type}, inputs {list(layer.sources)} with shapes "
             f"{[list(shape) for shape in layer.input_shapes]})")
    if name not in run.measured:
        failed, error = run.failure
        if failed == name:
            pytest.fail(f"{where}: torch could not build or run it: {error}")
        pytest.skip(f"not reached: torch failed earlier, at layer {failed!r}")
    torch_side = run.measured[name]
    mismatches = [
        f"{what}: archcalc {ours}, torch {theirs}"
        for what, ours, theirs in (
            ("output shape", list(layer.output_shape), list(torch_side.output_shape)),
            ("output shapes", [list(shape) for shape in layer.output_shapes],
             [list(shape) for shape in torch_side.output_shapes]),
            ("params", layer.params, torch_side.params),
            ("trainable params", layer.trainable_params, torch_side.trainable_params),
            ("MACs", layer.macs, torch_side.macs),
        )
        if ours != theirs
    ]
    assert not mismatches, f"{where}: " + "; ".join(mismatches)


NETWORK_BATCH = 2  # the per-layer tests use batch 1; here counts must scale to per-sample × batch


@pytest.mark.parametrize("key", list(SPEC_LOADERS))
def test_network_totals_match_torch(key: str) -> None:
    """The whole spec as one nn.Module at batch 2: totals and the network output, the README's claim."""
    network = load_spec(key)
    _fast_path_off()
    model = GraphModule(network, inplace=False).eval()
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        out = model(*network_inputs(network, NETWORK_BATCH))
    params, trainable = parameter_counts(model)
    totals = network.totals
    got = {"output shape": list(out.shape), "params": params, "trainable params": trainable,
           "MACs": counter.get_total_flops() // 2}
    want = {"output shape": [NETWORK_BATCH, *network.output_shape], "params": totals.params,
            "trainable params": totals.trainable_params, "MACs": NETWORK_BATCH * totals.macs}
    assert got == want, f"{key} at batch {NETWORK_BATCH}: archcalc {want} vs torch {got}"


# --------------------------------------------------------------------------------------------
# 2. Hand-written models, no builder
# --------------------------------------------------------------------------------------------

class LeNet5(nn.Module):
    """LeNet-5 on 1x28x28 with ReLU and max pooling (specs/lenet5.yaml)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock; the residual sum is an `Add` module so hooks see it."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.add = Add()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(self.add(out, identity))


class ResNet18(nn.Module):
    """torchvision.models.resnet18 (11,689,512 parameters, 1.81 GFLOPS in torchvision's table)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, 2)
        self.layer2 = self._make_layer(128, 2, stride=2)
        self.layer3 = self._make_layer(256, 2, stride=2)
        self.layer4 = self._make_layer(512, 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.flatten(self.avgpool(x)))


class DenseLayer(nn.Module):
    """torchvision's _DenseLayer (bottleneck), concatenating its input and its new features."""

    def __init__(self, channels: int, growth: int, bn_size: int):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(channels, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)
        self.cat = Concat(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new = self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))
        return self.cat(x, new)


class Transition(nn.Sequential):
    """torchvision's _Transition."""

    def __init__(self, channels: int, out: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(channels, out, 1, bias=False)
        self.pool = nn.AvgPool2d(2, stride=2)


class TinyDenseNet(nn.Module):
    """A small DenseNet (growth 8, bn_size 4, blocks of 3 and 4 layers, frozen stem): TINY_DENSENET."""

    def __init__(self, growth: int = 8, bn_size: int = 4, num_classes: int = 10):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.norm0 = nn.BatchNorm2d(16)
        self.relu0 = nn.ReLU()
        for module in (self.conv0, self.norm0):
            module.requires_grad_(False)
        channels = 16
        block1 = []
        for _ in range(3):
            block1.append(DenseLayer(channels, growth, bn_size))
            channels += growth
        self.denseblock1 = nn.Sequential(*block1)
        self.transition1 = Transition(channels, 20)
        channels = 20
        block2 = []
        for _ in range(4):
            block2.append(DenseLayer(channels, growth, bn_size))
            channels += growth
        self.denseblock2 = nn.Sequential(*block2)
        self.norm5 = nn.BatchNorm2d(channels)
        self.relu5 = nn.ReLU()
        self.pool5 = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu0(self.norm0(self.conv0(x)))
        x = self.denseblock2(self.transition1(self.denseblock1(x)))
        return self.classifier(self.flatten(self.pool5(self.relu5(self.norm5(x)))))


@dataclass(frozen=True)
class HandRun:
    calls: list[tuple[str, tuple[int, ...], int]]  # leaf module name, output shape, its params, in call order
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    macs: int


def run_hand_model(model: nn.Module, input_shape: tuple[int, ...]) -> HandRun:
    calls: list[tuple[str, tuple[int, ...], int]] = []
    hooks = [
        module.register_forward_hook(
            lambda mod, args, out, name=name: calls.append(
                (name, tuple(first_tensor(out).shape[1:]), parameter_counts(mod)[0])))
        for name, module in model.named_modules() if not list(module.children())
    ]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            out = model.eval()(torch.zeros(1, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return HandRun(calls, tuple(out.shape[1:]), *parameter_counts(model), counter.get_total_flops() // 2)


def compare_with_spec(run: HandRun, network: archcalc.Network, label: str) -> None:
    totals = network.totals
    theirs = {"params": run.params, "trainable params": run.trainable_params, "MACs": run.macs,
              "output shape": list(run.output_shape)}
    ours = {"params": totals.params, "trainable params": totals.trainable_params, "MACs": totals.macs,
            "output shape": list(network.output_shape)}
    assert ours == theirs, f"{label}: archcalc {ours} vs hand-written torch model {theirs}"

    torch_calls = [(shape, params) for _, shape, params in run.calls]
    archcalc_layers = [(layer.output_shape, layer.params) for layer in network.layers]
    if torch_calls != archcalc_layers:
        at = next((i for i, (a, b) in enumerate(zip(torch_calls, archcalc_layers)) if a != b),
                  min(len(torch_calls), len(archcalc_layers)))
        rows = []
        for i in range(max(0, at - 2), min(max(len(run.calls), len(network.layers)), at + 3)):
            mine = (f"{run.calls[i][0]} {list(run.calls[i][1])} {run.calls[i][2]:,} params"
                    if i < len(run.calls) else "-")
            spec = (f"{network.layers[i].name} {list(network.layers[i].output_shape)} {network.layers[i].params:,} params"
                    if i < len(network.layers) else "-")
            rows.append(f"  #{i}: torch {mine}  |  archcalc {spec}")
        pytest.fail(f"{label}: leaf modules ({len(torch_calls)} calls) and spec layers ({len(archcalc_layers)})"
                    f" differ first at #{at}:\n" + "\n".join(rows))


def test_hand_written_lenet5_matches_spec():
    network = archcalc.load(REPO / "specs" / "lenet5.yaml")
    run = run_hand_model(LeNet5(), network.input_shape)
    assert (run.params, run.macs) == (44_426, 281_640)  # the numbers quoted in the spec's header
    compare_with_spec(run, network, "specs/lenet5.yaml")


@functools.lru_cache(maxsize=None)
def resnet18_run() -> HandRun:
    return run_hand_model(ResNet18(), (3, 224, 224))


def test_hand_written_resnet18_is_torchvisions():
    run = resnet18_run()
    assert run.params == 11_689_512                  # torchvision's resnet18 weights table
    assert round(run.macs / 1e9, 2) == 1.81          # its "GFLOPS" column (MACs)
    assert len(run.calls) == 4 + 8 * 7 + 3 * 2 + 3   # stem, 8 blocks (3 with a downsample), head


def test_hand_written_resnet18_matches_spec():
    path = REPO / "specs" / "resnet18.yaml"
    if not path.exists():
        pytest.skip("specs/resnet18.yaml does not exist yet: nothing to compare the hand-written ResNet-18 with")
    network = archcalc.load(path)
    if tuple(network.input_shape) != (3, 224, 224):
        pytest.fail(f"specs/resnet18.yaml: input {list(network.input_shape)}, expected [3, 224, 224]")
    compare_with_spec(resnet18_run(), network, "specs/resnet18.yaml")


def test_hand_written_densenet_matches_spec():
    network = archcalc.loads(TINY_DENSENET, "<tiny-densenet>")
    run = run_hand_model(TinyDenseNet(), network.input_shape)
    assert run.trainable_params < run.params  # the frozen stem is seen as frozen on both sides
    compare_with_spec(run, network, "TINY_DENSENET")


def test_transformer_encoder_matches_torch():
    """specs/transformer_encoder.yaml against PyTorch's own nn.TransformerEncoder (6 × nn.TransformerEncoderLayer
    (512, 8)): parameters, each layer's output shape and MACs (FlopCounterMode // 2, autograd on, math path), also
    with the sequence length overridden as `--set seq_len=...` does."""
    for seq_len in (128, 37):
        network = archcalc.load(REPO / "specs" / "transformer_encoder.yaml", variables={"seq_len": seq_len})
        torch.manual_seed(0)
        model = nn.TransformerEncoder(nn.TransformerEncoderLayer(512, 8, batch_first=True), num_layers=6,
                                      enable_nested_tensor=False).eval()
        assert sum(p.numel() for p in model.parameters()) == network.totals.params == 18_914_304
        x = torch.zeros(1, seq_len, 512)
        for index, layer in enumerate(model.layers):
            with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
                x = layer(x)
            ours = network.layers[index]
            assert ours.name == f"layers.{index}"
            assert (list(x.shape[1:]), counter.get_total_flops() // 2) == (list(ours.output_shape), ours.macs)
        assert network.totals.macs == 6 * (4 * seq_len * 512**2 + 2 * seq_len**2 * 512 + 2 * seq_len * 512 * 2048)
