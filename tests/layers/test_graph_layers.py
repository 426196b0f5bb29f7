"""Formula table for transposed convolutions, layer norm, PReLU and the merge layers.

Single-input rows: values produced by real PyTorch 2.13.0 (CPU), the expression in each comment;
MACs = FlopCounterMode total / 2 for one sample.
"""

import pytest

import archcalc
from archcalc.formula import plain
from archcalc.layers import layer_class

ROWS = [
    # (layer spec, input shape, output shape, params, macs)
    pytest.param({"type": "convtranspose2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1,
                  "output_padding": 1}, [16, 8, 8], [8, 16, 16], 1160, 73728,
                 id="convtranspose2d-double"),  # nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
    pytest.param({"type": "convtranspose2d", "out_channels": 32, "kernel_size": 2, "stride": 2}, [64, 16, 16],
                 [32, 32, 32], 8224, 2097152, id="convtranspose2d-unet-up"),  # nn.ConvTranspose2d(64, 32, 2, stride=2)
    pytest.param({"type": "convtranspose2d", "out_channels": 4, "kernel_size": 4, "stride": 2, "padding": 1,
                  "bias": False}, [8, 5, 5], [4, 10, 10], 512, 12800,
                 id="convtranspose2d-k4-nobias"),  # nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, bias=False)
    pytest.param({"type": "convtranspose2d", "out_channels": 4, "kernel_size": 3, "dilation": 2, "groups": 2},
                 [8, 6, 6], [4, 10, 10], 148, 5184,
                 id="convtranspose2d-dilation-groups"),  # nn.ConvTranspose2d(8, 4, 3, dilation=2, groups=2)
    pytest.param({"type": "convtranspose2d", "out_channels": 6, "kernel_size": [3, 5], "stride": [2, 1],
                  "padding": [1, 2], "output_padding": [1, 0]}, [8, 7, 9], [6, 14, 9], 726, 45360,
                 id="convtranspose2d-asymmetric"),
    # nn.ConvTranspose2d(8, 6, [3, 5], stride=[2, 1], padding=[1, 2], output_padding=[1, 0])
    pytest.param({"type": "convtranspose1d", "out_channels": 6, "kernel_size": 5, "stride": 3}, [4, 10], [6, 32],
                 126, 1200, id="convtranspose1d"),  # nn.ConvTranspose1d(4, 6, 5, stride=3)
    pytest.param({"type": "convtranspose3d", "out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1,
                  "output_padding": 1}, [4, 3, 4, 5], [2, 6, 8, 10], 218, 12960,
                 id="convtranspose3d"),  # nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, output_padding=1)
    pytest.param({"type": "layernorm", "normalized_shape": 16}, [10, 16], [10, 16], 32, 0,
                 id="layernorm-last-axis"),  # nn.LayerNorm(16)
    pytest.param({"type": "layernorm", "normalized_shape": [8, 8], "bias": False}, [4, 8, 8], [4, 8, 8], 64, 0,
                 id="layernorm-no-bias"),  # nn.LayerNorm([8, 8], bias=False)
    pytest.param({"type": "layernorm", "normalized_shape": [4, 8, 8], "elementwise_affine": False}, [4, 8, 8],
                 [4, 8, 8], 0, 0, id="layernorm-no-affine"),  # nn.LayerNorm([4, 8, 8], elementwise_affine=False)
    pytest.param({"type": "prelu", "num_parameters": 8}, [8, 4, 4], [8, 4, 4], 8, 0,
                 id="prelu-per-channel"),  # nn.PReLU(8)
]


@pytest.mark.parametrize("layer, input_shape, output_shape, params, macs", ROWS)
def test_layer_formula(layer, input_shape, output_shape, params, macs):
    only = archcalc.analyze({"input": input_shape, "layers": [layer]}).layers[0]
    assert (list(only.output_shape), only.params, only.macs) == (output_shape, params, macs)


MERGES = [
    # (merge layer, shapes of its inputs, output shape) — as torch.add, torch.mul (broadcasting) and torch.cat give
    pytest.param({"type": "add"}, [[8, 4, 4], [8, 4, 4]], [8, 4, 4], id="add"),
    pytest.param({"type": "add"}, [[8, 4, 4], [8, 4, 4], [8, 4, 4]], [8, 4, 4], id="add-three"),
    pytest.param({"type": "mul"}, [[8, 4, 4], [8, 1, 1]], [8, 4, 4], id="mul-squeeze-excitation"),
    pytest.param({"type": "mul"}, [[1, 5], [3, 1]], [3, 5], id="mul-broadcast-both"),
    pytest.param({"type": "mul"}, [[2, 3, 4], [1, 1, 4]], [2, 3, 4], id="mul-trailing-alignment"),
    pytest.param({"type": "concat"}, [[8, 4, 4], [16, 4, 4]], [24, 4, 4], id="concat-channels"),
    pytest.param({"type": "concat", "dim": 3}, [[8, 4, 4], [8, 4, 2]], [8, 4, 6], id="concat-width"),
    pytest.param({"type": "concat", "dim": -1}, [[10, 3], [10, 5], [10, 1]], [10, 9], id="concat-last"),
]


@pytest.mark.parametrize("merge, shapes, output_shape", MERGES)
def test_merge_shape(merge, shapes, output_shape):
    layer = layer_class(merge["type"]).model_validate(merge)
    outcome = layer.evaluate([tuple(shape) for shape in shapes], plain)
    assert (list(outcome.shape), outcome.params, outcome.macs) == (output_shape, 0, 0)


def test_squeeze_excitation_in_a_spec():
    summary = archcalc.analyze({"input": [16, 8, 8], "layers": [
        {"name": "pool", "type": "adaptiveavgpool2d", "output_size": 1},
        {"name": "fc1", "type": "conv2d", "out_channels": 4, "kernel_size": 1},
        {"type": "relu"},
        {"name": "fc2", "type": "conv2d", "out_channels": 16, "kernel_size": 1},
        {"name": "gate", "type": "sigmoid"},
        {"name": "scale", "type": "mul", "inputs": ["input", "gate"]},
    ]})
    assert summary.network.layer("scale").output_shape == (16, 8, 8)
    assert summary.totals.params == (16 + 1) * 4 + (4 + 1) * 16


def test_mul_of_different_ranks_is_refused():
    """[5] * [3, 5] works in PyTorch at batch 1 only: with the batch axis, [N, 5] * [N, 3, 5] aligns N with 3."""
    import pytest as _pytest
    from archcalc.problems import LayerError

    layer = layer_class("mul").model_validate({"type": "mul"})
    with _pytest.raises(LayerError, match="same number of axes"):
        layer.evaluate([(5,), (3, 5)], plain)
