"""The spec zoo against published tables.

Parameters must equal torchvision's exactly; MACs must round to torchvision's "GFLOPS" column (which
counts multiply-accumulates) at its published precision. Both columns: torchvision's model
documentation table (https://pytorch.org/vision/stable/models.html), the same figures as each
weight's meta["num_params"] and meta["_ops"] in torchvision 0.29. The exact MACs are
FlopCounterMode / 2 of torchvision 0.29.1's model at 1×3×224×224 (torch 2.14.1), measured when
the specs were written.
"""

import pytest

import archcalc
from conftest import REPO

ZOO = [
    # (spec, published params, published GFLOPS, exact MACs from torchvision)
    ("alexnet", 61_100_840, 0.71, 714_188_480),
    ("vgg16", 138_357_544, 15.47, 15_470_264_320),
    ("vgg11_bn", 132_868_840, 7.61, 7_609_090_048),
    ("resnet18", 11_689_512, 1.81, 1_814_073_344),
    ("resnet50", 25_557_032, 4.09, 4_089_184_256),
    ("resnext50_32x4d", 25_028_904, 4.23, 4_230_479_872),
    ("squeezenet1_1", 1_235_496, 0.35, 349_151_936),
    ("mobilenet_v2", 3_504_872, 0.30, 300_774_272),
    ("mobilenet_v3_small", 2_542_856, 0.06, 56_510_400),
    ("efficientnet_b0", 5_288_548, 0.39, 385_814_752),
    ("densenet121", 7_978_856, 2.83, 2_834_161_664),
    # torchvision is not installed here: exact MACs of torchvision's layout written out in plain torch
    # (tests/test_zoo_references.py), which also gives the published params and GFLOPS
    ("convnext_tiny", 28_589_128, 4.46, 4_455_531_264),
]


@pytest.mark.parametrize("spec, params, gflops, macs", ZOO, ids=[row[0] for row in ZOO])
def test_zoo_matches_torchvision(spec, params, gflops, macs):
    network = archcalc.load(REPO / "specs" / f"{spec}.yaml")
    assert network.totals.params == params
    assert round(network.totals.macs / 1e9, 2) == gflops
    assert network.totals.macs == macs
    assert network.output_shape == (1000,)


def test_unet_matches_its_pytorch_reference():
    """specs/unet.yaml: milesial/Pytorch-UNet's layout (bilinear=False) at base width 16 on 3x128x128. No published
    table at this size: the numbers come from that layout built in plain PyTorch (sum(p.numel()), FlopCounterMode / 2);
    at base 64 the same spec gives milesial's 31,037,698 parameters."""
    text = (REPO / "specs" / "unet.yaml").read_text()
    network = archcalc.loads(text)
    assert (network.totals.params, network.totals.macs) == (1_942_594, 758_382_592)
    assert network.output_shape == (2, 128, 128)
    assert "  base: 16\n" in text
    assert archcalc.loads(text.replace("  base: 16\n", "  base: 64\n")).totals.params == 31_037_698


@pytest.mark.parametrize("variables, params, gflops", [
    ({"depth3": 27}, 50_223_688, 8.68),                     # convnext_small
    ({"width": 128, "depth3": 27}, 88_591_464, 15.35),      # convnext_base: the table's 15.36 rounds meta["_ops"] 15.355
    ({"width": 192, "depth3": 27}, 197_767_336, 34.36),     # convnext_large
], ids=["small", "base", "large"])
def test_convnext_variables_give_torchvisions_other_sizes(variables, params, gflops):
    network = archcalc.load(REPO / "specs" / "convnext_tiny.yaml", variables=variables)
    assert network.totals.params == params
    assert round(network.totals.macs / 1e9, 2) == gflops


def test_unet_bilinear_matches_its_pytorch_reference():
    """specs/unet_bilinear.yaml: milesial/Pytorch-UNet with bilinear=True at base width 16 on 3x128x128; the numbers
    come from that layout in plain PyTorch (tests/test_zoo_references.py builds it and compares module by module).
    At base 64 it is milesial's UNet(3, 2, bilinear=True): 17,263,042 parameters."""
    network = archcalc.load(REPO / "specs" / "unet_bilinear.yaml")
    assert (network.totals.params, network.totals.macs) == (1_080_946, 630_456_320)
    assert network.output_shape == (2, 128, 128)
    big = archcalc.load(REPO / "specs" / "unet_bilinear.yaml", variables={"base": 64})
    assert (big.totals.params, big.totals.macs) == (17_263_042, 9_996_075_008)


def test_espcn_matches_its_pytorch_reference():
    """specs/espcn.yaml: Shi et al.'s ESPCN, r = 3 on one 360x640 channel (1080p out); plain-PyTorch numbers
    (tests/test_zoo_references.py). The upscale factor and the input are variables."""
    network = archcalc.load(REPO / "specs" / "espcn.yaml")
    assert (network.totals.params, network.totals.macs) == (22_729, 5_212_569_600)
    assert network.output_shape == (1, 1080, 1920)
    rgb = archcalc.load(REPO / "specs" / "espcn.yaml", variables={"r": 2, "channels": 3, "height": 64, "width": 48})
    assert rgb.output_shape == (3, 128, 96)
    assert rgb.totals.params == (3 * 25 * 64 + 64) + (64 * 9 * 32 + 32) + (32 * 9 * 12 + 12)   # r² · C = 12


def test_lenet5_matches_the_contract_example():
    """LeNet-5 on 28x28, the spec contract's example: conv1 [6, 24, 24], 156 params, 86,400 MACs; totals 44,426
    parameters and 281,640 MACs (the tutorial "Understanding Parameters and FLOPS Count of ML Model")."""
    network = archcalc.load(REPO / "specs" / "lenet5.yaml")
    conv1 = network.layer("conv1")
    assert (conv1.output_shape, conv1.params, conv1.macs) == ((6, 24, 24), 156, 86_400)
    assert (network.totals.params, network.totals.macs) == (44_426, 281_640)


@pytest.mark.parametrize("flat, blocks", [("resnet18_flat", "resnet18")])
def test_generated_flat_spec_equals_the_block_spec(flat, blocks):
    """tests/specs/flat/ holds specs written as a code generator writes them (the former tools/fx_to_spec.py,
    now `archcalc import torch ... --flat`: one layer per torch.fx node, every input named); the readable
    block specs must give the same network."""
    flat_network = archcalc.load(REPO / "tests" / "specs" / "flat" / f"{flat}.yaml")
    block_network = archcalc.load(REPO / "specs" / f"{blocks}.yaml")
    assert flat_network.totals == block_network.totals
    assert [(layer.name, layer.type, layer.sources, layer.output_shape, layer.params, layer.macs)
            for layer in flat_network.layers] == \
           [(layer.name, layer.type, layer.sources, layer.output_shape, layer.params, layer.macs)
            for layer in block_network.layers]


def test_every_bundled_spec_names_its_source():
    for spec in sorted((REPO / "specs").glob("*.yaml")):
        header = spec.read_text(encoding="utf-8").split("\nname:")[0]
        assert header.startswith("#") and any(word in header for word in ("torchvision", "Source", "et al.")), spec


def test_generated_flat_densenet_equals_the_block_spec():
    """The same for DenseNet-121, except for the concatenations: torch.fx joins each dense block's whole list of
    features in one torch.cat (named where torchvision calls it), the block spec chains two-input concats, so
    names and wiring of those layers differ while every shape, parameter and MAC agrees."""
    flat_network = archcalc.load(REPO / "tests" / "specs" / "flat" / "densenet121_flat.yaml")
    block_network = archcalc.load(REPO / "specs" / "densenet121.yaml")
    assert flat_network.totals == block_network.totals
    assert [(layer.type, layer.output_shape, layer.params, layer.macs) for layer in flat_network.layers] == \
           [(layer.type, layer.output_shape, layer.params, layer.macs) for layer in block_network.layers]
    assert [layer.name for layer in flat_network.layers if layer.type != "concat"] == \
           [layer.name for layer in block_network.layers if layer.type != "concat"]
