"""Receptive fields (Araujo et al., Distill 2019) against google-research/receptive_field's published table
and hand computations."""

import pytest

import archcalc
from archcalc.cli import main
from archcalc.analysis.receptive import receptive_fields
from conftest import REPO

RECEPTIVE = REPO / "tests" / "specs" / "receptive"


def field_of(network, name=None):
    field = receptive_fields(network)[name or network.layers[-1].name]
    return tuple((axis.size, axis.stride, axis.padding) for axis in field.fields)


@pytest.mark.parametrize("spec, published", [
    ("alexnet_v2", (195, 32, 64)),
    ("vgg_16", (212, 32, 90)),
    ("resnet_v1_50", (483, 32, 239)),
])
def test_published_tf_slim_table(spec, published):
    """google-research/receptive_field README: receptive field / effective stride / effective padding."""
    assert field_of(archcalc.load(RECEPTIVE / f"{spec}.yaml")) == (published, published)


def test_torchvision_resnet50_puts_the_stride_in_the_first_unit_and_sees_less():
    """torchvision's ResNet-50 (v1.5) strides in the 3x3 conv of each stage's FIRST unit, so three fewer
    3x3 convs run at the coarse stride than in TF-slim's layout (stride in the last unit). By hand:
    stem 7/2 p3 → r 7, S 2, P 3; max pool 3/2 p1 → r 11, S 4, P 5; layer1: three 3x3 at S 4 → r 35, P 17;
    layer2: 3x3/2 at S 4 → r 43, P 21, S 8, then three 3x3 at S 8 → r 91, P 45; layer3: 3x3/2 → r 107, P 53,
    S 16, then five 3x3 → r 267, P 133; layer4: 3x3/2 → r 299, P 149, S 32, then two 3x3 → r 427, P 213."""
    network = archcalc.load(REPO / "specs" / "resnet50.yaml")
    assert field_of(network, "layer4.2.relu_2") == ((427, 32, 213),) * 2


@pytest.mark.parametrize("layers, expected", [
    # dilation: a 3x3 with dilation 2 spans 5 → r 5; a second one at stride 1 adds 4 → 9
    ([{"type": "conv2d", "out_channels": 1, "kernel_size": 3, "dilation": 2},
      {"type": "conv2d", "out_channels": 1, "kernel_size": 3, "dilation": 2}], (9, 1, 0)),
    # pooling multiplies the jump: 2x2/2 pool (r 2, S 2), then 3x3 conv p1 at S 2 → r 2 + 2·2 = 6, P 0 + 1·2 = 2
    ([{"type": "maxpool2d", "kernel_size": 2},
      {"type": "conv2d", "out_channels": 1, "kernel_size": 3, "padding": 1}], (6, 2, 2)),
    # strided conv then dilated conv: 3/2 p1 → r 3, S 2, P 1; 3x3 d3 p3 at S 2 → r 3 + 6·2 = 15, P 1 + 3·2 = 7
    ([{"type": "conv2d", "out_channels": 1, "kernel_size": 3, "stride": 2, "padding": 1},
      {"type": "conv2d", "out_channels": 1, "kernel_size": 3, "dilation": 3, "padding": 3}], (15, 2, 7)),
])
def test_hand_computed_chains(layers, expected):
    network = archcalc.analyze({"input": [1, 64, 64], "layers": layers}).network
    assert field_of(network) == (expected, expected)


def test_two_branch_graph_takes_the_largest_field():
    """Branch a: one 3x3 (r 3, P 1). Branch b: two 3x3 (r 5, P 2). Their sum sees r 5; the centre of the
    first output is (r − 1)/2 − P = 0."""
    network = archcalc.analyze({"input": [1, 16, 16], "layers": [
        {"name": "a", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"name": "b1", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "inputs": ["input"]},
        {"name": "b2", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"name": "sum", "type": "add", "inputs": ["a", "b2"]},
    ]}).network
    fields = receptive_fields(network)
    assert field_of(network, "a") == ((3, 1, 1),) * 2
    assert field_of(network, "sum") == ((5, 1, 2),) * 2
    assert fields["sum"].fields[0].center == 0


def test_asymmetric_axes_and_where_the_field_ends():
    network = archcalc.analyze({"input": [1, 32, 32], "layers": [
        {"type": "conv2d", "out_channels": 2, "kernel_size": [3, 5], "stride": [1, 2]},
        {"type": "flatten"},
        {"type": "linear", "out_features": 2},
    ]}).network
    fields = receptive_fields(network)
    assert fields["conv2d-1"].text("size") == "3×5" and fields["conv2d-1"].text("stride") == "1×2"
    assert fields["flatten-2"] is None and fields["linear-3"] is None


def test_summary_receptive_field_columns(capsys):
    assert main(["summary", str(RECEPTIVE / "vgg_16.yaml"), "--receptive-field"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("Layer (type)"))
    assert header.split()[-6:] == ["RF", "size", "RF", "jump", "RF", "center"]
    assert any(line.startswith("conv5.pool (maxpool2d)") and line.split()[-3:] == ["212", "32", "15.5"]
               for line in out.splitlines())
    assert main(["summary", str(RECEPTIVE / "vgg_16.yaml"), "--receptive-field", "--format", "json"]) == 0
    import json

    last = json.loads(capsys.readouterr().out)["layers"][-1]
    assert last["receptive_field"] == {"axes": ["H", "W"], "size": [212, 212], "stride": [32, 32],
                                       "padding": [90, 90], "center": [15.5, 15.5]}
