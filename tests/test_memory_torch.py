"""Training memory against PyTorch itself: what autograd really keeps, per layer, at two batch sizes.

Optional: skipped when torch is not installed (archcalc never imports it).

Every spec here (inline specs that use every layer type with its in-place, frozen, p = 0/1, 1×1 and
bias-free variants and branching blocks, plus every bundled spec and golden example) is built as
real torch modules in training mode, with `inplace` kept as the spec says. One forward pass runs under
`torch.autograd.graph.saved_tensors_hooks`; every tensor autograd saves is attributed to the layer
running at that moment, each storage counted once, in the first layer that saves it, parameter and
buffer storages excluded — the method of ../shared/examples' `training_memory`. archcalc's bytes
must be equal, per layer and in total. Then, on valid graphs, one real backward pass and one step
of torch.optim.Adam / AdamW / SGD: parameter, gradient, optimizer-state and buffer bytes must equal
archcalc's totals.

Run: python -m pytest tests/test_memory_torch.py -q   (in an environment with torch)
"""

from __future__ import annotations

import functools
import pathlib
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torch warns at import when numpy is absent; it needs none here
    torch = pytest.importorskip("torch")

import archcalc
from conftest import load_torch_sized
from archcalc.layers import TYPE_NAMES
from archcalc.analysis.memory import plan_memory, training_memory

REPO = pathlib.Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.filterwarnings(
    "ignore:Implicit dimension choice:UserWarning",
    "ignore:dropout2d.*:UserWarning",
    "ignore:Using padding=.same. with even kernel:UserWarning",
    "ignore:TF32 acceleration on top of oneDNN:UserWarning",
)

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
                "float64": torch.float64}


from torch_modules import GraphModule, build_module, network_inputs  # noqa: E402 - after importorskip


def measure(network: archcalc.Network, batch: int, dtype: str = "float32") -> tuple[dict[str, int], GraphModule]:
    """Bytes each layer saves for backward: storages counted once, in the first layer saving them."""
    torch.manual_seed(0)
    model = GraphModule(network).to(TORCH_DTYPES[dtype]).train()
    excluded = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    current = ["<none>"]
    saved: list[tuple[str, int, int, torch.Tensor]] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        saved.append((current[0], storage.data_ptr(), storage.nbytes(), tensor))
        return tensor

    xs = network_inputs(network, batch, TORCH_DTYPES[dtype])
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(*xs, on_layer=lambda name: current.__setitem__(0, name))
    per_layer = {layer.name: 0 for layer in network.layers}
    counted: set[int] = set()
    for layer, pointer, nbytes, _ in saved:
        if pointer in excluded or pointer in counted:
            continue
        counted.add(pointer)
        per_layer[layer] += nbytes
    return per_layer, model


def predicted(network: archcalc.Network, batch: int, dtype: str = "float32") -> dict[str, int]:
    memory = training_memory(network, batch_size=batch, dtype=dtype, optimizer="adam", device="cpu")
    return {layer.name: layer.saved_activation_bytes for layer in memory.layers}


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------

SPECS: dict[str, str] = {
    # sequences: token ids, a learned positional embedding and class token, every recurrent layer (several
    # layers, both directions, a projection, dropout between layers, frozen), outputs 1 and 2, a tied head
    "sequence": """
input: {shape: [7], dtype: int64}
layers:
  - {name: tokens, type: embedding, num_embeddings: 30, embedding_dim: 6, padding_idx: 0}
  - {name: pos, type: parameter, shape: [7, 6]}
  - {name: x, type: add, inputs: [tokens, pos]}
  - {name: lstm, type: lstm, hidden_size: 5, num_layers: 2, bidirectional: true, dropout: 0.5}
  - {name: proj, type: lstm, hidden_size: 6, proj_size: 3, inputs: [x]}
  - {name: mix, type: linear, out_features: 10, inputs: [lstm]}
  - {name: gru, type: gru, hidden_size: 4, num_layers: 2, bidirectional: true}
  - {name: frozen, type: gru, hidden_size: 4, trainable: false, inputs: ["proj:0"]}
  - {name: rnn, type: rnn, hidden_size: 3, nonlinearity: relu, num_layers: 2, inputs: [gru]}
  - {name: mix2, type: linear, out_features: 4, inputs: [frozen]}
  - {name: rnn_bi, type: rnn, hidden_size: 3, bidirectional: true, bias: false}
  - {name: cls, type: parameter, shape: [1, 3]}
  - {name: seq, type: concat, dim: 1, inputs: [cls, rnn]}
  - {name: c_n, type: flatten, inputs: ["lstm:2"]}
  - {name: h_n, type: flatten, inputs: ["proj:1"]}
  - {name: states, type: concat, inputs: [c_n, h_n]}
  - {name: to_e, type: linear, out_features: 6, inputs: [seq]}
  - {name: to_e2, type: linear, out_features: 6, inputs: [rnn_bi]}
  - {name: gate, type: linear, out_features: 6, inputs: [states]}
  - {name: both, type: add, inputs: [to_e2, x]}
  - {name: lm, type: linear, out_features: 30, tie: tokens}
""",
    # 2-d image: every activation out of place and in place, pools, dropouts, frozen layers, a head
    "image2d": """
input: [3, 12, 12]
layers:
  - {name: stem, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {name: bn, type: batchnorm2d}
  - {name: relu_, type: relu, inplace: true}
  - {name: pool, type: maxpool2d, kernel_size: 2}
  - {name: frozen, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, trainable: false}
  - {name: relu6_, type: relu6, inplace: true}
  - {name: c2, type: conv2d, out_channels: 8, kernel_size: 1, bias: false}
  - {name: silu_, type: silu, inplace: true}
  - {name: hswish_, type: hardswish, inplace: true}
  - {name: hsig_, type: hardsigmoid, inplace: true}
  - {name: mish_, type: mish, inplace: true}
  - {name: c3, type: conv2d, out_channels: 8, kernel_size: 1}
  - {name: lrelu_, type: leakyrelu, negative_slope: 0.1, inplace: true}
  - {name: c3b, type: conv2d, out_channels: 8, kernel_size: 1}
  - {name: elu_, type: elu, inplace: true}
  - {name: c4, type: conv2d, out_channels: 8, kernel_size: 1}
  - {name: prelu, type: prelu, num_parameters: 8}
  - {name: gelu, type: gelu}
  - {name: relu6, type: relu6}
  - {name: silu, type: silu}
  - {name: hswish, type: hardswish}
  - {name: hsig, type: hardsigmoid}
  - {name: mish, type: mish}
  - {name: lrelu, type: leakyrelu}
  - {name: elu, type: elu}
  - {name: tanh, type: tanh}
  - {name: sig, type: sigmoid}
  - {name: drop, type: dropout, p: 0.3}
  - {name: drop_, type: dropout, p: 0.5, inplace: true}
  - {name: drop0, type: dropout, p: 0.0}
  - {name: drop2d, type: dropout2d, p: 0.2}
  - {name: drop2d_, type: dropout2d, inplace: true}
  - {name: ident, type: identity}
  - {name: bn_plain, type: batchnorm2d, affine: false}
  - {name: bn_frozen, type: batchnorm2d, trainable: false}
  - {name: bn_untracked, type: batchnorm2d, track_running_stats: false}
  - {name: avg, type: avgpool2d, kernel_size: 2, stride: 1}
  - {name: adapt, type: adaptiveavgpool2d, output_size: [3, null]}
  - {name: amax, type: adaptivemaxpool2d, output_size: 2}
  - {name: up, type: convtranspose2d, out_channels: 4, kernel_size: 2, stride: 2}
  - {name: gap_src, type: conv2d, out_channels: 6, kernel_size: 1}
  - {name: gap, type: adaptiveavgpool2d, output_size: 1}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out_features: 10}
  - {name: ln, type: layernorm, normalized_shape: 10}
  - {name: bn1d, type: batchnorm1d}
  - {name: relu, type: relu}
  - {name: fc_frozen, type: linear, out_features: 10, trainable: false}
  - {name: softmax, type: softmax, dim: 1}
  - {name: fc2, type: linear, out_features: 5, bias: false}
  - {name: logsoftmax, type: logsoftmax, dim: -1}
""",
    # a network whose first layers build no graph: nothing is kept until the first trainable parameter
    "late_start": """
input: [3, 10, 10]
layers:
  - {type: relu}
  - {type: maxpool2d, kernel_size: 2}
  - {type: dropout, p: 0.5}
  - {type: conv2d, out_channels: 4, kernel_size: 3, trainable: false}
  - {type: batchnorm2d, trainable: false}
  - {type: relu6, inplace: true}
  - {type: dropout2d, inplace: true}
  - {type: conv2d, out_channels: 4, kernel_size: 1}
  - {type: conv2d, out_channels: 4, kernel_size: 1, trainable: false}
  - {type: relu}
  - {type: conv2d, out_channels: 4, kernel_size: 1, trainable: false}
  - {type: flatten}
  - {type: linear, out_features: 3, trainable: false}
""",
    "first_prelu": """
input: [4, 5, 5]
layers:
  - {type: prelu}
  - {type: avgpool2d, kernel_size: 2}
  - {type: relu, inplace: true}
  - {type: flatten}
  - {type: linear, out_features: 3}
""",
    "first_linear_frozen_weight_path": """
input: [6]
layers:
  - {name: f, type: linear, out_features: 8, trainable: false}
  - {name: r, type: relu}
  - {name: t, type: linear, out_features: 8}
  - {name: f2, type: linear, out_features: 8, trainable: false}
  - {name: d, type: dropout}
  - {name: f3, type: linear, out_features: 4, trainable: false}
""",
    "signal1d": """
input: [3, 24]
layers:
  - {name: conv, type: conv1d, out_channels: 6, kernel_size: 3, padding: 1}
  - {name: bn, type: batchnorm1d}
  - {name: relu, type: relu, inplace: true}
  - {name: pool, type: maxpool1d, kernel_size: 2}
  - {name: avg, type: avgpool1d, kernel_size: 3, stride: 1, padding: 1}
  - {name: drop, type: dropout1d, p: 0.3}
  - {name: drop_, type: dropout1d, inplace: true}
  - {name: up, type: convtranspose1d, out_channels: 4, kernel_size: 2, stride: 2, bias: false}
  - {name: ln, type: layernorm, normalized_shape: 24}
  - {name: ln2, type: layernorm, normalized_shape: [4, 24], elementwise_affine: false}
  - {name: ln3, type: layernorm, normalized_shape: 24, bias: false}
  - {name: adapt, type: adaptiveavgpool1d, output_size: 5}
  - {name: gap, type: adaptiveavgpool1d, output_size: 1}
  - {name: drop1d, type: dropout1d, p: 1.0}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out_features: 3}
""",
    "volume3d": """
input: [2, 6, 8, 8]
layers:
  - {name: conv, type: conv3d, out_channels: 4, kernel_size: 3, padding: 1}
  - {name: bn, type: batchnorm3d}
  - {name: relu, type: relu}
  - {name: pool, type: maxpool3d, kernel_size: 2}
  - {name: drop, type: dropout3d}
  - {name: drop_, type: dropout3d, p: 0.2, inplace: true}
  - {name: up, type: convtranspose3d, out_channels: 3, kernel_size: 2, stride: 2}
  - {name: avg, type: avgpool3d, kernel_size: 2}
  - {name: adapt, type: adaptiveavgpool3d, output_size: [2, 2, 1]}
  - {name: gap, type: adaptiveavgpool3d, output_size: 1}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out_features: 2}
""",
    # vectors and sequences: linear on 3-d input, dropout1d/2d/3d on ranks they treat as unbatched, merges
    "vector": """
input: [5, 12]
layers:
  - {name: a, type: linear, out_features: 12}
  - {name: ln, type: layernorm, normalized_shape: 12}
  - {name: gelu, type: gelu, approximate: tanh}
  - {name: d1, type: dropout1d, p: 0.5}
  - {name: d1_, type: dropout1d, inplace: true}
  - {name: flat, type: flatten}
  - {name: b, type: linear, out_features: 16}
  - {name: bn, type: batchnorm1d}
  - {name: c, type: linear, out_features: 16, inputs: [flat]}
  - {name: e, type: linear, out_features: 16, inputs: [flat], trainable: false}
  - {name: gated, type: mul, inputs: [bn, c, e]}
  - {name: sum, type: add, inputs: [gated, c, e]}
  - {name: both, type: concat, inputs: [sum, e, b]}
  - {name: p1, type: dropout, p: 1.0}
  - {name: sm, type: softmax}
  - {name: out, type: linear, out_features: 2}
""",
    # branches: residual with in-place ReLU after the sum, squeeze-excitation, dense concatenation,
    # mul with the (no-grad) network input, a frozen branch, p = 1 channel dropout
    "branches": """
input: [8, 6, 6]
layers:
  - {name: scale_in, type: mul, inputs: [input, input]}
  - {name: c0, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, inputs: [input]}
  - {name: c1, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, bias: false}
  - {name: bn1, type: batchnorm2d}
  - {name: r1, type: relu, inplace: true}
  - {name: c2, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, bias: false}
  - {name: bn2, type: batchnorm2d}
  - {name: res, type: add, inputs: [bn2, c0]}
  - {name: r2, type: relu, inplace: true}
  - {name: squeeze, type: adaptiveavgpool2d, output_size: 1}
  - {name: fc1, type: conv2d, out_channels: 2, kernel_size: 1}
  - {name: act, type: silu}
  - {name: fc2, type: conv2d, out_channels: 8, kernel_size: 1}
  - {name: gate, type: sigmoid}
  - {name: amax1, type: adaptivemaxpool2d, output_size: 1, inputs: [r2]}
  - {name: excite, type: mul, inputs: [r2, gate, amax1]}
  - {name: with_input, type: mul, inputs: [excite, scale_in]}
  - {name: frozen_branch, type: conv2d, out_channels: 8, kernel_size: 1, inputs: [input], trainable: false}
  - {name: mixed, type: mul, inputs: [frozen_branch, with_input]}
  - {name: dense, type: concat, inputs: [mixed, c0, input]}
  - {name: bn3, type: batchnorm2d}
  - {name: relu3, type: relu, inplace: true}
  - {name: drop_all, type: dropout2d, p: 1.0}
  - {name: c3, type: conv2d, out_channels: 4, kernel_size: 1}
  - {name: pool, type: avgpool2d, kernel_size: 2}
  - {name: flat, type: flatten}
  - {name: head, type: linear, out_features: 3}
""",
    # resampling in 1d, 2d and 3d: area before the first trainable layer (nothing kept), area after it (its
    # input), area to 1×1 (nothing), the interpolating modes and pixel (un)shuffle (nothing)
    "resample": """
input: [4, 6, 6]
layers:
  - {name: area_first, type: upsample, size: 3, mode: area}
  - {name: c, type: conv2d, out_channels: 8, kernel_size: 1}
  - {name: near, type: upsample, scale_factor: 2}
  - {name: area, type: upsample, scale_factor: 0.5, mode: area}
  - {name: bilinear, type: upsample, size: [5, 7], mode: bilinear, align_corners: true}
  - {name: bicubic, type: upsample, scale_factor: [1.5, 2], mode: bicubic}
  - {name: exact, type: upsample, scale_factor: [1.2, 1.15], mode: nearest-exact}
  - {name: unshuffle, type: pixelunshuffle, downscale_factor: 2}
  - {name: shuffle, type: pixelshuffle, upscale_factor: 2}
  - {name: gap, type: upsample, size: 1, mode: area}
  - {name: rows, type: flatten, start_dim: 2}
  - {name: linear1d, type: upsample, scale_factor: 3, mode: linear}
  - {name: area1d, type: upsample, size: 2, mode: area}
  - {name: c1, type: conv1d, out_channels: 2, kernel_size: 1}
""",
    "resample3d": """
input: [2, 4, 4, 4]
layers:
  - {name: c, type: conv3d, out_channels: 2, kernel_size: 1}
  - {name: tri, type: upsample, scale_factor: 2, mode: trilinear}
  - {name: area, type: upsample, size: [2, 3, 4], mode: area}
  - {name: near, type: upsample, size: 3}
""",
    # shape operations, arithmetic, padding, the other element-wise modules and norms; views and copies
    "ops": """
input: [4, 6, 10]
layers:
  - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {name: gn, type: groupnorm, num_groups: 4}
  - {name: gn_plain, type: groupnorm, num_groups: 2, affine: false}
  - {name: in2, type: instancenorm2d, affine: true, track_running_stats: true}
  - {name: in2_plain, type: instancenorm2d}
  - {name: zpad, type: zeropad2d, padding: [1, 2, 0, 3]}
  - {name: cpad, type: constantpad2d, padding: 1, value: 0.5}
  - {name: rpad, type: reflectionpad2d, padding: [2, 1, 1, 0]}
  - {name: reppad, type: replicationpad2d, padding: 1}
  - {name: circpad, type: circularpad2d, padding: [1, 2, 2, 1]}
  - {name: glu_c, type: glu, dim: 1}
  - {name: softplus, type: softplus, beta: 2.0}
  - {name: selu, type: selu}
  - {name: selu_, type: selu, inplace: true}
  - {name: celu, type: celu, alpha: 0.5}
  - {name: c2, type: conv2d, out_channels: 4, kernel_size: 1}
  - {name: celu_, type: celu, inplace: true}
  - {name: hardtanh, type: hardtanh}
  - {name: hardtanh_, type: hardtanh, inplace: true}
  - {name: logsigmoid, type: logsigmoid}
  - {name: softsign, type: softsign}
  - {name: tanhshrink, type: tanhshrink}
  - {name: softshrink, type: softshrink}
  - {name: hardshrink, type: hardshrink}
  - {name: threshold, type: threshold, threshold: 0.1, value: 0.0}
  - {name: threshold_, type: threshold, threshold: 0.1, value: 0.0, inplace: true}
  - {name: c3, type: conv2d, out_channels: 4, kernel_size: 1}
  - {name: smin, type: softmin, dim: 1}
  - {name: s2d, type: softmax2d}
  - {name: a, type: abs}
  - {name: n, type: neg}
  - {name: e, type: exp}
  - {name: l, type: log}
  - {name: sq, type: sqrt}
  - {name: p, type: pow, exponent: 2}
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
  - {name: flat, type: flatten}
  - {name: again, type: reshape, shape: [4, -1], inputs: [swapped]}
  - {name: parts, type: split, split_size_or_sections: [1, 3], dim: 2, inputs: [seq]}
  - {name: lin, type: linear, out_features: 5, inputs: ["parts:1"]}
  - {name: pieces, type: chunk, chunks: 3, dim: -1}
  - {name: first, type: select, dim: 1, index: -1, inputs: ["pieces:2"]}
  - {name: lin2, type: linear, out_features: 3}
  - {name: avg, type: mean, dim: [1], keepdim: true, inputs: [lin]}
  - {name: pooled, type: mean, dim: -1, inputs: [swapped]}
  - {name: rms, type: rmsnorm, normalized_shape: 5, inputs: [lin]}
  - {name: rms_plain, type: rmsnorm, normalized_shape: [1, 5], elementwise_affine: false, inputs: [avg]}
  - {name: in1, type: instancenorm1d, inputs: [seq]}
  - {name: pad1, type: reflectionpad1d, padding: 2}
  - {name: rep1, type: replicationpad1d, padding: [0, 3]}
  - {name: circ1, type: circularpad1d, padding: 1}
  - {name: z1, type: zeropad1d, padding: 1}
  - {name: c1, type: constantpad1d, padding: [2, 0], value: 1.0}
  - {name: lin3, type: linear, out_features: 2}
""",
    "ops3d": """
input: [2, 3, 4, 5]
layers:
  - {name: rms_first, type: rmsnorm, normalized_shape: 5}
  - {name: c, type: conv3d, out_channels: 2, kernel_size: 1}
  - {name: by_input, type: div, inputs: [c, input]}
  - {name: input_by, type: div, inputs: [input, by_input]}
  - {type: zeropad3d, padding: 1}
  - {type: constantpad3d, padding: [1, 0, 0, 1, 2, 0], value: 2.0}
  - {type: reflectionpad3d, padding: 1}
  - {type: replicationpad3d, padding: [0, 1, 1, 0, 1, 1]}
  - {type: circularpad3d, padding: 1}
  - {type: instancenorm3d, affine: true}
  - {name: frozen_rms, type: rmsnorm, normalized_shape: 5, trainable: false, inputs: [input]}
""",
    # RReLU samples its slopes (training mode); PyTorch has no float16 rrelu on CPU
    "rrelu": """
input: [4, 6]
layers:
  - {name: c, type: conv1d, out_channels: 4, kernel_size: 1}
  - {name: rrelu, type: rrelu}
  - {name: c2, type: conv1d, out_channels: 4, kernel_size: 1}
  - {name: rrelu_, type: rrelu, inplace: true}
""",
    # attention: self / cross / shared key-value, the extra key positions, dropout, need_weights false, the
    # transformer layers pre- and post-norm with and without dropout, matmul with broadcasting, every SDPA backend
    "attention": """
input: {src: [5, 8], mem: [7, 8], k: [7, 6], v: [7, 4]}
layers:
  - {name: lin, type: linear, out_features: 8, inputs: [src]}
  - {name: mha, type: multiheadattention, num_heads: 2}
  - {name: cross, type: multiheadattention, num_heads: 2, kdim: 6, vdim: 4, inputs: [mha, k, v], average_attn_weights: false}
  - {name: kv, type: multiheadattention, num_heads: 2, inputs: [cross, mem, mem], dropout: 0.1}
  - {name: extra, type: multiheadattention, num_heads: 2, add_bias_kv: true, add_zero_attn: true, need_weights: false}
  - {name: fused, type: multiheadattention, num_heads: 4, need_weights: false, bias: false}
  - {name: fused_kv, type: multiheadattention, num_heads: 2, need_weights: false, inputs: [fused, mem, mem]}
  - {name: enc, type: transformerencoderlayer, nhead: 2, dim_feedforward: 16}
  - {name: enc_pre, type: transformerencoderlayer, nhead: 2, dim_feedforward: 16, norm_first: true, activation: gelu, dropout: 0.0}
  - {name: dec, type: transformerdecoderlayer, nhead: 2, dim_feedforward: 16, inputs: [enc_pre, mem]}
  - {name: dec_pre, type: transformerdecoderlayer, nhead: 2, dim_feedforward: 16, norm_first: true, dropout: 0.0, inputs: [dec, mem]}
  - {name: h2, type: multiheadattention, num_heads: 2, average_attn_weights: false}
  - {name: h4, type: multiheadattention, num_heads: 4, average_attn_weights: false, inputs: [dec_pre]}
  - {name: sdpa, type: scaled_dot_product_attention, inputs: [h2:1, h2:1, h2:1]}
  - {name: sdpa_math, type: scaled_dot_product_attention, backend: math, is_causal: true, inputs: [h2:1, h2:1, h2:1]}
  - {name: sdpa_flash, type: scaled_dot_product_attention, backend: flash, inputs: [h4:1, h2:1, h2:1], enable_gqa: true}
  - {name: sdpa_gqa_math, type: scaled_dot_product_attention, inputs: [h4:1, h2:1, h2:1], enable_gqa: true, backend: math}
  - {name: sdpa_dropout, type: scaled_dot_product_attention, dropout_p: 0.2, inputs: [h2:1, h2:1, h2:1]}
  - {name: mm, type: matmul, inputs: [h2:1, sdpa]}
  - {name: mm_plain, type: matmul, inputs: [mha:1, dec_pre]}
  - {name: h1, type: multiheadattention, num_heads: 1, average_attn_weights: false, inputs: [dec_pre]}
  - {name: mm_broadcast, type: matmul, inputs: [h1:1, sdpa_gqa_math]}
""",
    # in-place layers right after layers that keep their output: PyTorch's backward would refuse these,
    # but the forward pass (and so what is saved) is well defined, and archcalc warns
    # mixtures of experts (HF Mixtral's routing loop): routed experts only, a gated shared expert (Qwen2-MoE), two
    # plain shared experts (DeepSeek-MoE), one after a frozen layer, a frozen one
    "moe": """
input: [6, 8]
blocks:
  swiglu:
    params: {width: 12}
    layers:
      - {name: gate_proj, type: linear, out_features: "${width}", bias: false}
      - {name: act_fn, type: silu}
      - {name: up_proj, type: linear, out_features: "${width}", bias: false, inputs: [input]}
      - {name: mul, type: mul, inputs: [act_fn, up_proj]}
      - {name: down_proj, type: linear, out_features: 8, bias: false}
layers:
  - {name: frozen, type: linear, out_features: 8, trainable: false}
  - {name: routed, type: moe, experts: 4, top_k: 2, expert: swiglu}
  - {name: qwen, type: moe, experts: 4, top_k: 2, expert: swiglu, shared_experts: 1,
     shared_expert: {block: swiglu, with: {width: 20}}, shared_expert_gate: true, normalize_top_k: false}
  - {name: deepseek, type: moe, experts: 3, top_k: 1, expert: swiglu, shared_experts: 2, router_bias: true}
  - {name: gelu_expert, type: moe, experts: 2, top_k: 2, expert: [{type: linear, out_features: 8}, {type: gelu}]}
  - {name: still, type: moe, experts: 2, top_k: 1, expert: swiglu, trainable: false}
""",
    "moe_first": """
input: [5, 8]
layers:
  - {name: moe, type: moe, experts: 3, top_k: 2, expert: [{type: linear, out_features: 6}, {type: relu},
                                                         {type: linear, out_features: 8}]}
""",
    "invalid_in_place": """
input: [3, 6, 6]
layers:
  - {name: c, type: conv2d, out_channels: 4, kernel_size: 3}
  - {name: r, type: relu}
  - {name: r_, type: relu, inplace: true}
  - {name: s_, type: silu, inplace: true}
  - {name: sig, type: sigmoid}
  - {name: d_, type: dropout, inplace: true}
  - {name: c2, type: conv2d, out_channels: 4, kernel_size: 1}
  - {name: x_, type: relu, inplace: true, inputs: [input]}
  - {name: c3, type: conv2d, out_channels: 4, kernel_size: 3}
  - {name: out, type: add, inputs: [c2, c3]}
""",
}

SPEC_FILES = sorted([*(REPO / "specs").glob("*.yaml"), *(REPO / "tests" / "golden").glob("*.yaml")])


@functools.lru_cache(maxsize=None)
def network(key: str) -> archcalc.Network:
    if key in SPECS:
        return archcalc.loads(SPECS[key], key)
    return load_torch_sized(key)   # the big transformers at a small size


def test_inline_specs_use_every_layer_type():
    used = {layer.type for key in SPECS for layer in network(key).layers}
    assert sorted(set(TYPE_NAMES) - used) == []


@pytest.mark.parametrize("batch", [2, 3])
@pytest.mark.parametrize("key", list(SPECS))
def test_saved_bytes_match_torch(key: str, batch: int) -> None:
    net = network(key)
    measured, _ = measure(net, batch)
    assert predicted(net, batch) == measured
    assert sum(measured.values()) == training_memory(net, batch, device="cpu").totals.saved_activation_bytes


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
@pytest.mark.parametrize("key", [key for key in SPECS if key not in ("volume3d", "rrelu")])  # no half avg_pool3d,
# rrelu on CPU
def test_saved_bytes_match_torch_in_other_dtypes(key: str, dtype: str) -> None:
    net = network(key)
    measured, _ = measure(net, 2, dtype)
    assert predicted(net, 2, dtype) == measured


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_bundled_specs_match_torch(path: pathlib.Path) -> None:
    """Real architectures (ResNet-50, DenseNet-121, MobileNet, EfficientNet, VGG, U-Net, ...), exact per layer."""
    net = network(str(path))
    measured, _ = measure(net, 2)
    assert predicted(net, 2) == measured


def test_invalid_in_place_layers_are_flagged() -> None:
    warned = " ".join(plan_memory(network("invalid_in_place"), device="cpu").warnings)
    for name in ("r_ (relu)", "s_ (silu)", "d_ (dropout)", "x_ (relu)"):
        assert name in warned
    assert "c2 (conv2d)" not in warned and "never reach the network output" not in warned
    for key in ("image2d", "branches", "signal1d", "vector"):
        assert plan_memory(network(key), device="cpu").warnings == []


# --------------------------------------------------------------------------------------------
# Parameters, gradients, optimizer state and buffers after one real step
# --------------------------------------------------------------------------------------------

OPTIMIZER_FACTORIES = {
    "adam": lambda params: torch.optim.Adam(params, lr=1e-3),
    "adamw": lambda params: torch.optim.AdamW(params, lr=1e-3),
    "momentum": lambda params: torch.optim.SGD(params, lr=1e-3, momentum=0.9),
    "sgd": lambda params: torch.optim.SGD(params, lr=1e-3),
}


def tensor_bytes(tensors) -> int:
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors)


@pytest.mark.parametrize("optimizer", list(OPTIMIZER_FACTORIES))
@pytest.mark.parametrize(("key", "dtype"), [("image2d", "float32"), ("branches", "float32"),
                                            ("late_start", "float32"), ("signal1d", "bfloat16"),
                                            (str(REPO / "tests" / "golden" / "cifar_vgg_bn.yaml"), "float32")])
def test_state_after_one_optimizer_step(key: str, dtype: str, optimizer: str) -> None:
    net = network(key)
    _, model = measure(net, 2, dtype)
    trainable = [p for p in model.parameters() if p.requires_grad]
    step = OPTIMIZER_FACTORIES[optimizer](trainable)
    x = torch.randn(2, *net.input_shape).to(TORCH_DTYPES[dtype])
    model(x).float().sum().backward()
    step.step()
    state = [value for per_param in step.state.values() for value in per_param.values() if torch.is_tensor(value)]
    got = {
        "parameter_bytes": tensor_bytes(model.parameters()),
        "gradient_bytes": tensor_bytes(p.grad for p in model.parameters() if p.grad is not None),
        "optimizer_state_bytes": tensor_bytes(state),
        "buffer_bytes": tensor_bytes(model.buffers()),
    }
    totals = training_memory(net, 2, dtype=dtype, optimizer=optimizer, device="cpu").totals
    assert {key: getattr(totals, key) for key in got} == got


@pytest.mark.parametrize("key", list(SPECS))
def test_parameter_and_buffer_tensors_per_layer(key: str) -> None:
    """Each layer's parameter tensor count (Adam keeps a step counter per tensor) and buffer bytes."""
    net = network(key)
    for layer in net.layers:
        module = build_module(layer)
        tied = 1 if getattr(layer.spec, "tie", None) else 0   # the tied weight is another layer's tensor
        assert layer.spec.parameter_tensors() == len(list(module.parameters())) - tied, layer.name
        buffers = sum(elements * (8 if dtype == "int64" else 4) for elements, dtype in
                      layer.spec.buffer_tensors(layer.input_shapes))
        assert buffers == tensor_bytes(module.buffers()), layer.name


# In-place layers that PyTorch's backward refuses (and those it accepts): archcalc warns exactly for the former.
IN_PLACE_CASES = {
    "relu then in-place relu": (True, """
  - {type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: relu}
  - {type: relu, inplace: true}"""),
    "in-place relu on the input a convolution keeps": (True, """
  - {name: c, type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: relu, inplace: true, inputs: [input]}
  - {name: d, type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: add, inputs: [c, d]}"""),
    "sigmoid then in-place dropout": (True, """
  - {type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: sigmoid}
  - {type: dropout, inplace: true}"""),
    "in-place relu then in-place silu": (True, """
  - {type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: relu, inplace: true}
  - {type: silu, inplace: true}"""),
    "relu, dropout p=0, in-place relu6": (True, """
  - {type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: relu}
  - {type: dropout, p: 0.0}
  - {type: relu6, inplace: true}"""),
    "in-place relu on a factor mul keeps": (True, """
  - {name: a, type: conv2d, out_channels: 4, kernel_size: 3}
  - {name: b, type: conv2d, out_channels: 4, kernel_size: 3, inputs: [input]}
  - {name: m, type: mul, inputs: [a, b]}
  - {name: r, type: relu, inplace: true, inputs: [a]}
  - {type: add, inputs: [m, r]}"""),
    "in-place silu then in-place relu": (False, """
  - {type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: silu, inplace: true}
  - {type: relu, inplace: true}"""),
    "max pool then in-place relu": (False, """
  - {type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: maxpool2d, kernel_size: 2}
  - {type: relu, inplace: true}"""),
    "batch norm then in-place relu, frozen linear then in-place relu": (False, """
  - {type: conv2d, out_channels: 4, kernel_size: 3}
  - {type: batchnorm2d}
  - {type: relu, inplace: true}
  - {type: flatten}
  - {type: linear, out_features: 5, trainable: false}
  - {type: relu, inplace: true}"""),
}


@pytest.mark.parametrize("case", list(IN_PLACE_CASES))
def test_in_place_warning_iff_backward_fails(case: str) -> None:
    refused, layers = IN_PLACE_CASES[case]
    net = archcalc.loads("input: [3, 6, 6]\nlayers:" + layers, case)
    model = GraphModule(net).train()
    try:
        model(torch.randn(2, 3, 6, 6)).sum().backward()
        failed = False
    except RuntimeError as error:
        assert "modified by an inplace operation" in str(error)
        failed = True
    warned = any("overwrites in place" in warning for warning in plan_memory(net, device="cpu").warnings)
    assert failed == warned == refused
