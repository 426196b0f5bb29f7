"""Counting conventions (archcalc/conventions.py): the exact integers the real tools give.

Pure Python: the expected numbers were measured with the real tools (torch 2.13.0 CPU, fvcore
0.1.5.post20221221, ptflops 0.7.5, thop 0.1.1.post2209072238, torchinfo 1.8.0, torchsummary 1.5.1,
Keras 3.15.1) on single layers and on LeNet-5, VGG-16, VGG-11-BN, ResNet-18/50, MobileNetV2 and
DenseNet-121 written in plain PyTorch as torchvision writes them. tests/test_conventions_tools.py
re-runs the tools where they are installed.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

import archcalc
from archcalc.analysis.conventions import CONVENTIONS, TORCHINFO_INPUT_OVERHEAD, differences, rows
from archcalc.layers import TYPE_NAMES

REPO = pathlib.Path(__file__).resolve().parent.parent

# Layers that torchvision calls as functions in forward (the zoo specs leave `call` at its default).
def zoo(name: str) -> archcalc.Network:
    """A zoo spec; its layers say `call: function` where torchvision's forward calls a function (F.relu,
    F.adaptive_avg_pool2d) and LeNet's flatten says `call: module` (an nn.Flatten)."""
    return archcalc.load(REPO / "specs" / f"{name}.yaml")


NETWORKS = ("lenet5", "vgg16", "vgg11_bn", "resnet18", "resnet50", "mobilenet_v2", "densenet121")

# MACs at batch 1, as each tool reports them (CONVENTIONS.md §1 of the measurement):
#   torchvision      FlopCounterMode().get_total_flops() // 2
#   fvcore           FlopCountAnalysis(model.eval(), x).total()          fvcore-train: model in train mode
#   ptflops-pytorch  get_model_complexity_info(model, (C, H, W), as_strings=False)[0]
#   ptflops-modules  the same with backend_specific_config={"count_functional": False}
#   ptflops-aten     the same with backend="aten"
#   thop             thop.profile(model, inputs=(x,))[0]
#   thop-readme      thop 0.0.31.post1909021322, the exact integer sum (its float32 total differs in the last digits)
#   torchinfo        torchinfo.summary(model, input_size=(1, C, H, W)).total_mult_adds
NETWORK_MACS = {
    "torchvision": (281640, 15470264320, 7609090048, 1814073344, 4089184256, 300774272, 2834161664),
    "fvcore": (281640, 15470289408, 7623967232, 1819065856, 4111512576, 314193216, 2865546752),
    "fvcore-train": (281640, 15470289408, 7646245376, 1826516992, 4144854528, 334227552, 2912549120),
    "ptflops-pytorch": (304662, 15523225576, 7658538984, 1825313768, 4132436968, 320300008, 2899843048),
    "ptflops-modules": (295498, 15503523304, 7644958184, 1822177768, 4121925096, 320237288, 2882620136),
    "ptflops-aten": (286334, 15483821032, 7616525288, 1814074344, 4089185256, 300775272, 2834162664),
    "thop": (281640, 15470314496, 7638844416, 1824033792, 4133742592, 327486720, 2897007104),
    "thop-readme": (327546, 15607486488, 7769894936, 1824544792, 4135789592, 328765720, 2898381336),
    "torchinfo": (286334, 15483821032, 7616530792, 1814083944, 4089238376, 300809384, 2834246312),
}
# torchinfo at batch 2: summary(model, input_size=(2, C, H, W)).total_mult_adds
# calflops at batch 2: calculate_flops(model, input_shape=(2, C, H, W), output_as_string=False)[0]
CALFLOPS_BATCH2 = (1153848, 61947556864, 30508078080, 7272500224, 16422216704, 1229934976, 11433762304)
TORCHINFO_BATCH2 = (572668, 30967642064, 15233061584, 3628167888, 8178476752, 601618768, 5668492624)
PYTORCH_PARAMS = (44426, 138357544, 132868840, 11689512, 25557032, 3504872, 7978856)
# Keras 3 model.summary() of the same layers: (total, non-trainable)
KERAS_PARAMS = ((44426, 0), (138357544, 0), (132874344, 5504), (11699112, 9600), (25610152, 53120),
                (3538984, 34112), (8062504, 83648))
# printed figures: ptflops as_strings=True, thop.clever_format(..., "%.3f"), torchinfo's "Total mult-adds" at batch 2
PRINTED = {
    "ptflops-pytorch": ("304.66 KMac", "15.52 GMac", "7.66 GMac", "1.83 GMac", "4.13 GMac", "320.3 MMac", "2.9 GMac"),
    "thop": ("281.640K", "15.470G", "7.639G", "1.824G", "4.134G", "327.487M", "2.897G"),
    "thop-readme": ("0.00", "15.61", "7.77", "1.82", "4.14", "0.33", "2.90"),   # README: "%.2f" of total / 1000**3
    "calflops": ("576.92 KFLOPS", "30.97 GFLOPS", "15.25 GFLOPS", "3.64 GFLOPS", "8.21 GFLOPS", "614.97 MFLOPS",
                 "5.72 GFLOPS"),   # output_as_string=True
}
TORCHINFO_PRINTED_BATCH2 = ("0.57", "30.97", "15.23", "3.63", "8.18", "601.62", "5.67")
# torchinfo's printed "Input size / Forward/backward pass size / Params size / Estimated Total Size (MB)"
TORCHINFO_MB = {1: ("0.00 0.04 0.18 0.22", "0.60 108.45 553.43 662.49", "0.60 118.89 531.48 650.97",
                    "0.60 39.75 46.76 87.11", "0.60 177.83 102.23 280.66", "0.60 106.86 14.02 121.48",
                    "0.60 180.54 31.92 213.06"),
                2: ("0.01 0.08 0.18 0.26", "1.20 216.91 553.43 771.54", "1.20 237.78 531.48 770.46",
                    "1.20 79.49 46.76 127.46", "1.20 355.66 102.23 459.10", "1.20 213.72 14.02 228.94",
                    "1.20 361.08 31.92 394.20")}
# torchsummary's printed MiB figures (batch_size=-1 and 2); ResNet's and MobileNetV2's include the rows of their
# container modules (BasicBlock, Bottleneck, InvertedResidual: blocks with `module: true` in the specs). The last
# four were measured on torchvision 0.28's models (torchsummary crashes on DenseNet).
TORCHSUMMARY_MB = {("lenet5", 1): "0.00 0.08 0.17 0.25", ("lenet5", 2): "0.01 0.16 0.17 0.34",
                   ("vgg16", 1): "0.57 218.78 527.79 747.15", ("vgg16", 2): "1.15 437.56 527.79 966.50",
                   ("vgg11_bn", 1): "0.57 182.03 506.85 689.46", ("vgg11_bn", 2): "1.15 364.06 506.85 872.06",
                   ("resnet18", 1): "0.57 62.79 44.59 107.96", ("resnet18", 2): "1.15 125.59 44.59 171.33",
                   ("resnet50", 1): "0.57 286.56 97.49 384.62", ("resnet50", 2): "1.15 573.12 97.49 671.76",
                   ("mobilenet_v2", 1): "0.57 152.87 13.37 166.81", ("mobilenet_v2", 2): "1.15 305.73 13.37 320.25",
                   ("resnext50_32x4d", 1): "0.57 361.78 95.48 457.83", ("resnext50_32x4d", 2): "1.15 723.56 95.48 820.19",
                   ("mobilenet_v3_small", 1): "0.57 34.61 9.70 44.88", ("mobilenet_v3_small", 2): "1.15 69.22 9.70 80.07",
                   ("efficientnet_b0", 1): "0.57 173.65 20.17 194.40", ("efficientnet_b0", 2): "1.15 347.30 20.17 368.63",
                   ("squeezenet1_1", 1): "0.57 53.76 4.71 59.05", ("squeezenet1_1", 2): "1.15 107.53 4.71 113.39"}


@pytest.fixture(scope="module")
def networks() -> dict[str, archcalc.Network]:
    return {name: zoo(name) for name in NETWORKS}


@pytest.mark.parametrize("convention", sorted(NETWORK_MACS))
def test_network_macs(networks, convention):
    got = tuple(archcalc.count(networks[name], convention).macs for name in NETWORKS)
    assert got == NETWORK_MACS[convention]


def test_pytorch_default_is_the_contract(networks):
    for name, params in zip(NETWORKS, PYTORCH_PARAMS):
        counts = archcalc.count(networks[name])
        assert counts.macs == networks[name].totals.macs == NETWORK_MACS["torchvision"][NETWORKS.index(name)]
        assert counts.params == params
        assert archcalc.count(networks[name], batch_size=3).macs == 3 * networks[name].totals.macs


def test_torchinfo_batch_two(networks):
    """Measured with torchinfo 1.8.0 (PyPI): `torchinfo-1.8`. The zoo has no linear on a 3-D input, so the current
    code (`torchinfo`) counts the same; it prints in its own units."""
    for name, macs, printed in zip(NETWORKS, TORCHINFO_BATCH2, TORCHINFO_PRINTED_BATCH2):
        counts = archcalc.count(networks[name], "torchinfo-1.8", batch_size=2)
        assert counts.macs == macs
        assert counts.printed.split(" ")[0] == printed
        assert archcalc.count(networks[name], "torchinfo", batch_size=2).macs == macs


def test_calflops_batch_two(networks):
    assert tuple(archcalc.count(networks[name], "calflops", 2).macs for name in NETWORKS) == CALFLOPS_BATCH2


@pytest.mark.parametrize("batch_size", [1, 2])
def test_torchinfo_memory(networks, batch_size):
    for name, printed in zip(NETWORKS, TORCHINFO_MB[batch_size]):
        memory = archcalc.count(networks[name], "torchinfo-1.8", batch_size).memory   # 1.8.0 prints MB
        # the current code runs on Python 3.12+ only, where the input's storage object is 56 bytes, not 64
        current = archcalc.count(networks[name], "torchinfo", batch_size, input_overhead=TORCHINFO_INPUT_OVERHEAD)
        assert current.memory["total_bytes"] == memory["total_bytes"]
        got = " ".join(memory["printed"][key] for key in
                       ("input_bytes", "forward_backward_bytes", "params_bytes", "total_bytes"))
        assert got == printed, name
    assert archcalc.count(networks["resnet50"], "torchinfo-1.8", 1).memory["input_bytes"] == \
        3 * 224 * 224 * 4 + TORCHINFO_INPUT_OVERHEAD      # 602,176 with torch 2.13 on Python 3.11
    assert archcalc.count(networks["resnet50"], "torchinfo", 1).memory["input_bytes"] == 3 * 224 * 224 * 4 + 56


@pytest.mark.parametrize(("name", "batch_size"), sorted(TORCHSUMMARY_MB))
def test_torchsummary_memory(networks, name, batch_size):
    counts = archcalc.count((networks[name] if name in networks else zoo(name)), "torchsummary", batch_size)
    got = " ".join(counts.memory["printed"][key] for key in
                   ("input_bytes", "forward_backward_bytes", "params_bytes", "total_bytes"))
    assert got == TORCHSUMMARY_MB[(name, batch_size)]
    assert counts.macs is None


def test_torchsummary_container_modules(networks):
    """ResNet-50's 16 Bottleneck instances add their outputs (5,519,360 elements per sample) as torchsummary rows;
    nothing else changes: the flag is only read by the torchsummary convention."""
    from archcalc.analysis.conventions import container_outputs

    resnet50 = networks["resnet50"]
    modules = resnet50.source["layers"].modules
    assert len(modules) == 16 and modules[0] == ("layer1.0", "layer1.0.relu_2")
    assert sum(container_outputs(resnet50)) == 5519360
    assert archcalc.count(resnet50, "torchsummary").memory["forward_backward_bytes"] == 300478272
    assert archcalc.count(resnet50, "torchsummary", 2).memory["forward_backward_bytes"] == 2 * 300478272
    assert container_outputs(networks["vgg16"]) == [] and container_outputs(networks["densenet121"]) == [802816, 401408, 200704, 50176]


SPEC_WITH_MODULES = """
input: [4, 8, 8]
blocks:
  inner: {module: true, layers: [{type: relu}]}
  outer:
    module: true
    params: {skip: false}
    layers:
      - {name: conv, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
      - {block: inner, name: act}
      - {name: add, type: add, inputs: [act, input], if: "${skip}"}
layers:
  - {block: outer, name: a, repeat: 2, with: {skip: true}}
  - {block: outer, name: b}
"""


def test_module_blocks_expansion():
    network = archcalc.loads(SPEC_WITH_MODULES)
    assert network.source["layers"].modules == [("a.0.act", "a.0.act.relu-1"), ("a.0", "a.0.add"),
                                                 ("a.1.act", "a.1.act.relu-1"), ("a.1", "a.1.add"),
                                                 ("b.act", "b.act.relu-1"), ("b", "b.act.relu-1")]
    plain = archcalc.loads(SPEC_WITH_MODULES.replace("module: true", "module: false"))
    assert plain.source["layers"].modules == []
    assert plain.totals == network.totals and plain.summary().to_dict() == network.summary().to_dict()
    ours, theirs = archcalc.count(network, "torchsummary").memory, archcalc.count(plain, "torchsummary").memory
    assert ours["forward_backward_bytes"] - theirs["forward_backward_bytes"] == 2 * 4 * 6 * 256
    with pytest.raises(archcalc.SpecError, match="'module' must be true or false"):
        archcalc.loads(SPEC_WITH_MODULES.replace("module: true", "module: 1", 1))
    with pytest.raises(archcalc.SpecError, match="did you mean 'module'"):
        archcalc.loads(SPEC_WITH_MODULES.replace("module: true", "modul: true", 1))


@pytest.mark.parametrize("convention", sorted(PRINTED))
def test_printed_figures(networks, convention):
    assert tuple(archcalc.count(networks[name], convention).printed for name in NETWORKS) == PRINTED[convention]


def test_params(networks):
    for name, params, (keras, keras_frozen) in zip(NETWORKS, PYTORCH_PARAMS, KERAS_PARAMS):
        for convention in CONVENTIONS:
            if convention != "keras":
                assert archcalc.count(networks[name], convention).params == params, (name, convention)
        counts = archcalc.count(networks[name], "keras")
        assert (counts.params, counts.non_trainable_params, counts.trainable_params) == (keras, keras_frozen, params)


def test_frozen_layers_under_ptflops_and_keras():
    network = archcalc.analyze({"input": [3, 8, 8], "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "trainable": False},
        {"type": "batchnorm2d"}]}).network
    assert archcalc.count(network, "ptflops-pytorch").params == 8          # trainable only: the batch norm's 2·4
    keras = archcalc.count(network, "keras")
    assert (keras.params, keras.trainable_params) == (112 + 8 + 8, 8)


# One layer (the last of each spec) under every convention, at batch 1 and 2. Columns, the tool's expression:
#   torchvision      FlopCounterMode().get_total_flops() // 2
#   fvcore           FlopCountAnalysis(model.eval(), x).total()
#   fvcore-train     FlopCountAnalysis(model.train(), x).total()   (None: BatchNorm1d on [1, C] cannot train)
#   ptflops-pytorch  get_model_complexity_info(...)[0]; at batch 2 through input_constructor
#   ptflops-modules  the same with count_functional=False
#   ptflops-aten     the same with backend="aten"
#   thop             thop.profile(model, inputs=(x,))[0]
#   torchinfo-1.8    torchinfo.summary(model, input_data=[x]).total_mult_adds (torchinfo 1.8.0 from PyPI)
# "call" in a layer: how the PyTorch model calls it (F.relu → function, torch.relu / x + y → operator).
COLUMNS = ("torchvision", "fvcore", "fvcore-train", "ptflops-pytorch", "ptflops-modules", "ptflops-aten", "thop",
           "torchinfo-1.8")
MOE_SWIGLU = [{"name": "gate_proj", "type": "linear", "out_features": 32, "bias": False},
              {"name": "act_fn", "type": "silu"},
              {"name": "up_proj", "type": "linear", "out_features": 32, "bias": False, "inputs": ["input"]},
              {"name": "mul", "type": "mul", "inputs": ["act_fn", "up_proj"]},
              {"name": "down_proj", "type": "linear", "out_features": 16, "bias": False}]
MOE_SHARED = {"type": "moe", "experts": 4, "top_k": 1, "router_bias": True, "shared_experts": 1,
              "shared_expert_gate": True, "expert": [{"type": "linear", "out_features": 24}, {"type": "gelu"},
                                                     {"type": "linear", "out_features": 16}]}
SINGLE_LAYERS = [
    ('conv1d', 1, [4, 50], [{"type": "conv1d", "out_channels": 8, "kernel_size": 5, "stride": 2, "padding": 2}],
     (4000, 4000, 4000, 4200, 4200, 4200, 4000, 4200)),
    ('conv1d', 2, [4, 50], [{"type": "conv1d", "out_channels": 8, "kernel_size": 5, "stride": 2, "padding": 2}],
     (8000, 8000, 8000, 4200, 4200, 8400, 8000, 8400)),
    ('conv1d_nobias_g2_d2', 1, [4, 50], [{"type": "conv1d", "out_channels": 8, "kernel_size": 3, "padding": 2, "dilation": 2, "groups": 2, "bias": False}],
     (2400, 2400, 2400, 2400, 2400, 2400, 2400, 2400)),
    ('conv1d_nobias_g2_d2', 2, [4, 50], [{"type": "conv1d", "out_channels": 8, "kernel_size": 3, "padding": 2, "dilation": 2, "groups": 2, "bias": False}],
     (4800, 4800, 4800, 2400, 2400, 4800, 4800, 4800)),
    ('conv2d_dw_nobias_s2', 1, [32, 15, 15], [{"type": "conv2d", "out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 32, "bias": False}],
     (18432, 18432, 18432, 18432, 18432, 18432, 18432, 18432)),
    ('conv2d_dw_nobias_s2', 2, [32, 15, 15], [{"type": "conv2d", "out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 32, "bias": False}],
     (36864, 36864, 36864, 18432, 18432, 36864, 36864, 36864)),
    ('conv2d_dil2_s2_rect', 1, [16, 32, 30], [{"type": "conv2d", "out_channels": 32, "kernel_size": [3, 5], "stride": 2, "padding": 2, "dilation": 2}],
     (1597440, 1597440, 1597440, 1604096, 1604096, 1604096, 1597440, 1604096)),
    ('conv2d_dil2_s2_rect', 2, [16, 32, 30], [{"type": "conv2d", "out_channels": 32, "kernel_size": [3, 5], "stride": 2, "padding": 2, "dilation": 2}],
     (3194880, 3194880, 3194880, 1604096, 1604096, 3208192, 3194880, 3208192)),
    ('conv2d_same_k4', 1, [3, 10, 10], [{"type": "conv2d", "out_channels": 8, "kernel_size": 4, "padding": "same"}],
     (38400, 0, 0, 39200, 39200, 39200, 38400, 39200)),
    ('conv2d_same_k4', 2, [3, 10, 10], [{"type": "conv2d", "out_channels": 8, "kernel_size": 4, "padding": "same"}],
     (76800, 0, 0, 39200, 39200, 78400, 76800, 78400)),
    ('conv3d', 1, [3, 8, 16, 16], [{"type": "conv3d", "out_channels": 8, "kernel_size": 3, "stride": [1, 2, 2], "padding": 1}],
     (331776, 331776, 331776, 335872, 335872, 335872, 331776, 335872)),
    ('conv3d', 2, [3, 8, 16, 16], [{"type": "conv3d", "out_channels": 8, "kernel_size": 3, "stride": [1, 2, 2], "padding": 1}],
     (663552, 663552, 663552, 335872, 335872, 671744, 663552, 671744)),
    ('convT1d', 1, [4, 10], [{"type": "convtranspose1d", "out_channels": 6, "kernel_size": 5, "stride": 3}],
     (1200, 1200, 1200, 1392, 1392, 1392, 3840, 4032)),
    ('convT1d', 2, [4, 10], [{"type": "convtranspose1d", "out_channels": 6, "kernel_size": 5, "stride": 3}],
     (2400, 2400, 2400, 1392, 1392, 2784, 7680, 8064)),
    ('convT2d', 1, [64, 16, 16], [{"type": "convtranspose2d", "out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}],
     (4718592, 4718592, 4718592, 4751360, 4751360, 4751360, 18874368, 18907136)),
    ('convT2d', 2, [64, 16, 16], [{"type": "convtranspose2d", "out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}],
     (9437184, 9437184, 9437184, 4751360, 4751360, 9502720, 37748736, 37814272)),
    ('convT2d_g2_d2', 1, [8, 6, 7], [{"type": "convtranspose2d", "out_channels": 12, "kernel_size": 3, "dilation": 2, "groups": 2}],
     (18144, 18144, 18144, 19464, 19464, 19464, 47520, 48840)),
    ('convT2d_g2_d2', 2, [8, 6, 7], [{"type": "convtranspose2d", "out_channels": 12, "kernel_size": 3, "dilation": 2, "groups": 2}],
     (36288, 36288, 36288, 19464, 19464, 38928, 95040, 97680)),
    ('linear', 1, [400], [{"type": "linear", "out_features": 120}],
     (48000, 48000, 48000, 48120, 48120, 48120, 48000, 48120)),
    ('linear', 2, [400], [{"type": "linear", "out_features": 120}],
     (96000, 96000, 96000, 48120, 48120, 96240, 96000, 96240)),
    ('linear_4d', 1, [4, 10, 16], [{"type": "linear", "out_features": 32}],
     (20480, 20480, 20480, 21760, 21760, 21760, 20480, 544)),
    ('linear_4d', 2, [4, 10, 16], [{"type": "linear", "out_features": 32}],
     (40960, 40960, 40960, 21760, 21760, 43520, 40960, 1088)),
    ('linear_seq_nobias', 1, [10, 16], [{"type": "linear", "out_features": 32, "bias": False}],
     (5120, 5120, 5120, 5120, 5120, 5120, 5120, 512)),
    ('linear_seq_nobias', 2, [10, 16], [{"type": "linear", "out_features": 32, "bias": False}],
     (10240, 10240, 10240, 5120, 5120, 10240, 10240, 1024)),
    ('bn1d_2d', 1, [64], [{"type": "batchnorm1d"}],
     (0, 128, None, 128, 128, 0, 256, 128)),
    ('bn1d_2d', 2, [64], [{"type": "batchnorm1d"}],
     (0, 256, 640, 128, 128, 0, 512, 256)),
    ('bn2d', 1, [16, 8, 8], [{"type": "batchnorm2d"}],
     (0, 2048, 5120, 2048, 2048, 0, 4096, 32)),
    ('bn2d', 2, [16, 8, 8], [{"type": "batchnorm2d"}],
     (0, 4096, 10240, 2048, 2048, 0, 8192, 64)),
    ('bn2d_noaffine', 1, [16, 8, 8], [{"type": "batchnorm2d", "affine": False}],
     (0, 1024, 4096, 1024, 1024, 0, 2048, 0)),
    ('bn2d_noaffine', 2, [16, 8, 8], [{"type": "batchnorm2d", "affine": False}],
     (0, 2048, 8192, 1024, 1024, 0, 4096, 0)),
    ('bn2d_notrack', 1, [16, 8, 8], [{"type": "batchnorm2d", "track_running_stats": False}],
     (0, 5120, 5120, 2048, 2048, 0, 4096, 32)),
    ('bn2d_notrack', 2, [16, 8, 8], [{"type": "batchnorm2d", "track_running_stats": False}],
     (0, 10240, 10240, 2048, 2048, 0, 8192, 64)),
    ('layernorm_2axes', 1, [4, 8, 8], [{"type": "layernorm", "normalized_shape": [8, 8]}],
     (0, 1280, 1280, 256, 256, 0, 1024, 128)),
    ('layernorm_2axes', 2, [4, 8, 8], [{"type": "layernorm", "normalized_shape": [8, 8]}],
     (0, 2560, 2560, 256, 256, 0, 2048, 256)),
    ('layernorm_noaffine', 1, [10, 16], [{"type": "layernorm", "normalized_shape": 16, "elementwise_affine": False}],
     (0, 640, 640, 160, 160, 0, 320, 0)),
    ('layernorm_noaffine', 2, [10, 16], [{"type": "layernorm", "normalized_shape": 16, "elementwise_affine": False}],
     (0, 1280, 1280, 160, 160, 0, 640, 0)),
    ('maxpool2d_k3s2p1', 1, [8, 15, 15], [{"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1}],
     (0, 0, 0, 3600, 1800, 0, 0, 0)),
    ('maxpool2d_k3s2p1', 2, [8, 15, 15], [{"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1}],
     (0, 0, 0, 5400, 1800, 0, 0, 0)),
    ('F.max_pool2d', 1, [6, 24, 24], [{"type": "maxpool2d", "kernel_size": 2, "call": "function"}],
     (0, 0, 0, 3456, 0, 0, 0, 0)),
    ('F.max_pool2d', 2, [6, 24, 24], [{"type": "maxpool2d", "kernel_size": 2, "call": "function"}],
     (0, 0, 0, 6912, 0, 0, 0, 0)),
    ('avgpool2d', 1, [6, 24, 24], [{"type": "avgpool2d", "kernel_size": 2}],
     (0, 0, 0, 6912, 3456, 0, 864, 0)),
    ('avgpool2d', 2, [6, 24, 24], [{"type": "avgpool2d", "kernel_size": 2}],
     (0, 0, 0, 10368, 3456, 0, 1728, 0)),
    ('avgpool2d_k3s2p1', 1, [8, 15, 15], [{"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1}],
     (0, 0, 0, 3600, 1800, 0, 512, 0)),
    ('avgpool2d_k3s2p1', 2, [8, 15, 15], [{"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1}],
     (0, 0, 0, 5400, 1800, 0, 1024, 0)),
    ('aap1d_3_uneven', 1, [4, 10], [{"type": "adaptiveavgpool1d", "output_size": 3}],
     (0, 0, 0, 80, 40, 0, 52, 0)),
    ('aap1d_3_uneven', 2, [4, 10], [{"type": "adaptiveavgpool1d", "output_size": 3}],
     (0, 0, 0, 120, 40, 0, 104, 0)),
    ('aap2d_1', 1, [16, 7, 7], [{"type": "adaptiveavgpool2d", "output_size": 1}],
     (0, 784, 784, 1568, 784, 0, 800, 0)),
    ('aap2d_1', 2, [16, 7, 7], [{"type": "adaptiveavgpool2d", "output_size": 1}],
     (0, 1568, 1568, 2352, 784, 0, 1600, 0)),
    ('aap2d_2x3_uneven', 1, [4, 8, 10], [{"type": "adaptiveavgpool2d", "output_size": [2, 3]}],
     (0, 320, 320, 640, 320, 0, 344, 0)),
    ('aap2d_2x3_uneven', 2, [4, 8, 10], [{"type": "adaptiveavgpool2d", "output_size": [2, 3]}],
     (0, 640, 640, 960, 320, 0, 688, 0)),
    ('aap2d_7_up', 1, [4, 5, 5], [{"type": "adaptiveavgpool2d", "output_size": 7}],
     (0, 100, 100, 200, 100, 0, 296, 0)),
    ('aap2d_7_up', 2, [4, 5, 5], [{"type": "adaptiveavgpool2d", "output_size": 7}],
     (0, 200, 200, 300, 100, 0, 592, 0)),
    ('F.aap2d_1', 1, [16, 7, 7], [{"type": "adaptiveavgpool2d", "output_size": 1, "call": "function"}],
     (0, 784, 784, 784, 0, 0, 0, 0)),
    ('F.aap2d_1', 2, [16, 7, 7], [{"type": "adaptiveavgpool2d", "output_size": 1, "call": "function"}],
     (0, 1568, 1568, 1568, 0, 0, 0, 0)),
    ('aap3d_uneven', 1, [4, 5, 7, 9], [{"type": "adaptiveavgpool3d", "output_size": [2, 3, 4]}],
     (0, 0, 0, 2520, 1260, 0, 1356, 0)),
    ('aap3d_uneven', 2, [4, 5, 7, 9], [{"type": "adaptiveavgpool3d", "output_size": [2, 3, 4]}],
     (0, 0, 0, 3780, 1260, 0, 2712, 0)),
    ('amp2d_3_uneven', 1, [4, 10, 10], [{"type": "adaptivemaxpool2d", "output_size": 3}],
     (0, 0, 0, 800, 400, 0, 0, 0)),
    ('amp2d_3_uneven', 2, [4, 10, 10], [{"type": "adaptivemaxpool2d", "output_size": 3}],
     (0, 0, 0, 1200, 400, 0, 0, 0)),
    ('flatten', 1, [16, 4, 4], [{"type": "flatten", "call": "module"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('flatten', 2, [16, 4, 4], [{"type": "flatten", "call": "module"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('dropout2d', 1, [4, 8, 8], [{"type": "dropout2d"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('dropout2d', 2, [4, 8, 8], [{"type": "dropout2d"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('relu', 1, [16, 8, 8], [{"type": "relu"}],
     (0, 0, 0, 2048, 1024, 0, 0, 0)),
    ('relu', 2, [16, 8, 8], [{"type": "relu"}],
     (0, 0, 0, 3072, 1024, 0, 0, 0)),
    ('F.relu', 1, [16, 8, 8], [{"type": "relu", "call": "function"}],
     (0, 0, 0, 1024, 0, 0, 0, 0)),
    ('F.relu', 2, [16, 8, 8], [{"type": "relu", "call": "function"}],
     (0, 0, 0, 2048, 0, 0, 0, 0)),
    ('torch.relu', 1, [16, 8, 8], [{"type": "relu", "call": "operator"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('torch.relu', 2, [16, 8, 8], [{"type": "relu", "call": "operator"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('relu6', 1, [16, 8, 8], [{"type": "relu6"}],
     (0, 0, 0, 1024, 1024, 0, 0, 0)),
    ('relu6', 2, [16, 8, 8], [{"type": "relu6"}],
     (0, 0, 0, 1024, 1024, 0, 0, 0)),
    ('F.relu6', 1, [16, 8, 8], [{"type": "relu6", "call": "function"}],
     (0, 0, 0, 1024, 0, 0, 0, 0)),
    ('F.relu6', 2, [16, 8, 8], [{"type": "relu6", "call": "function"}],
     (0, 0, 0, 2048, 0, 0, 0, 0)),
    ('leakyrelu', 1, [16, 8, 8], [{"type": "leakyrelu"}],
     (0, 0, 0, 1024, 1024, 0, 0, 0)),
    ('leakyrelu', 2, [16, 8, 8], [{"type": "leakyrelu"}],
     (0, 0, 0, 1024, 1024, 0, 0, 0)),
    ('F.leakyrelu', 1, [16, 8, 8], [{"type": "leakyrelu", "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.leakyrelu', 2, [16, 8, 8], [{"type": "leakyrelu", "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('gelu', 1, [16, 8, 8], [{"type": "gelu"}],
     (0, 0, 0, 2048, 1024, 0, 0, 0)),
    ('gelu', 2, [16, 8, 8], [{"type": "gelu"}],
     (0, 0, 0, 3072, 1024, 0, 0, 0)),
    ('silu', 1, [16, 8, 8], [{"type": "silu"}],
     (0, 0, 0, 1024, 0, 0, 0, 0)),
    ('silu', 2, [16, 8, 8], [{"type": "silu"}],
     (0, 0, 0, 2048, 0, 0, 0, 0)),
    ('F.silu', 1, [16, 8, 8], [{"type": "silu", "call": "function"}],
     (0, 0, 0, 1024, 0, 0, 0, 0)),
    ('F.silu', 2, [16, 8, 8], [{"type": "silu", "call": "function"}],
     (0, 0, 0, 2048, 0, 0, 0, 0)),
    ('hardswish', 1, [16, 8, 8], [{"type": "hardswish"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('hardswish', 2, [16, 8, 8], [{"type": "hardswish"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softmax_dim1', 1, [16, 8, 8], [{"type": "softmax", "dim": 1}],
     (0, 0, 0, 1024, 0, 0, 3008, 0)),
    ('softmax_dim1', 2, [16, 8, 8], [{"type": "softmax", "dim": 1}],
     (0, 0, 0, 2048, 0, 0, 6016, 0)),
    ('softmax_last', 1, [5, 10], [{"type": "softmax", "dim": -1}],
     (0, 0, 0, 50, 0, 0, 145, 0)),
    ('softmax_last', 2, [5, 10], [{"type": "softmax", "dim": -1}],
     (0, 0, 0, 100, 0, 0, 290, 0)),
    ('F.softmax', 1, [16, 8, 8], [{"type": "softmax", "dim": 1, "call": "function"}],
     (0, 0, 0, 1024, 0, 0, 0, 0)),
    ('F.softmax', 2, [16, 8, 8], [{"type": "softmax", "dim": 1, "call": "function"}],
     (0, 0, 0, 2048, 0, 0, 0, 0)),
    ('logsoftmax_dim1', 1, [16, 8, 8], [{"type": "logsoftmax", "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('logsoftmax_dim1', 2, [16, 8, 8], [{"type": "logsoftmax", "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('prelu_C', 1, [16, 8, 8], [{"type": "prelu", "num_parameters": 16}],
     (0, 0, 0, 2048, 1024, 0, 1024, 16)),
    ('prelu_C', 2, [16, 8, 8], [{"type": "prelu", "num_parameters": 16}],
     (0, 0, 0, 3072, 1024, 0, 2048, 32)),
    ('add_op', 1, [16, 8, 8], [{"type": "add", "inputs": ["input", "input"]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('add_op', 2, [16, 8, 8], [{"type": "add", "inputs": ["input", "input"]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('torch.add', 1, [16, 8, 8], [{"type": "add", "inputs": ["input", "input"], "call": "function"}],
     (0, 0, 0, 1024, 0, 0, 0, 0)),
    ('torch.add', 2, [16, 8, 8], [{"type": "add", "inputs": ["input", "input"], "call": "function"}],
     (0, 0, 0, 2048, 0, 0, 0, 0)),
    ('torch.mul_bcast', 1, [16, 8, 8], [{"name": "s", "type": "adaptiveavgpool2d", "output_size": 1}, {"type": "mul", "inputs": ["s", "input"], "call": "function"}],
     (0, 0, 0, 1024, 0, 0, 0, 0)),
    ('torch.mul_bcast', 2, [16, 8, 8], [{"name": "s", "type": "adaptiveavgpool2d", "output_size": 1}, {"type": "mul", "inputs": ["s", "input"], "call": "function"}],
     (0, 0, 0, 2048, 0, 0, 0, 0)),
    ('mul_op_bcast', 1, [16, 8, 8], [{"name": "s", "type": "adaptiveavgpool2d", "output_size": 1}, {"type": "mul", "inputs": ["s", "input"]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('mul_op_bcast', 2, [16, 8, 8], [{"name": "s", "type": "adaptiveavgpool2d", "output_size": 1}, {"type": "mul", "inputs": ["s", "input"]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('torch.cat', 1, [16, 8, 8], [{"name": "h", "type": "conv2d", "out_channels": 8, "kernel_size": 1}, {"type": "concat", "inputs": ["input", "h"]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('torch.cat', 2, [16, 8, 8], [{"name": "h", "type": "conv2d", "out_channels": 8, "kernel_size": 1}, {"type": "concat", "inputs": ["input", "h"]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('upsample_nearest_2.5', 1, [3, 7, 7], [{"type": "upsample", "scale_factor": 2.5}],
     (0, 867, 867, 1785, 867, 0, 867, 0)),
    ('upsample_nearest_2.5', 2, [3, 7, 7], [{"type": "upsample", "scale_factor": 2.5}],
     (0, 1734, 1734, 2271, 433, 0, 1734, 0)),
    ('upsample_bilinear_size5', 1, [3, 7, 7], [{"type": "upsample", "size": 5, "mode": "bilinear"}],
     (0, 300, 300, 150, 75, 0, 825, 0)),
    ('upsample_bilinear_size5', 2, [3, 7, 7], [{"type": "upsample", "size": 5, "mode": "bilinear"}],
     (0, 600, 600, 187, 37, 0, 1650, 0)),
    ('upsample_area_third', 1, [3, 7, 7], [{"type": "upsample", "scale_factor": 0.3333333333333333, "mode": "area"}],
     (0, 147, 147, 175, 12, 0, 0, 0)),
    ('upsample_area_third', 2, [3, 7, 7], [{"type": "upsample", "scale_factor": 0.3333333333333333, "mode": "area"}],
     (0, 294, 294, 332, 6, 0, 0, 0)),
    ('upsample_bicubic_axes', 1, [4, 7, 5], [{"type": "upsample", "scale_factor": [1.5, 2], "mode": "bicubic", "align_corners": True}],
     (0, 0, 0, 680, 400, 0, 103600, 0)),
    ('upsample_bicubic_axes', 2, [4, 7, 5], [{"type": "upsample", "scale_factor": [1.5, 2], "mode": "bicubic", "align_corners": True}],
     (0, 0, 0, 760, 200, 0, 207200, 0)),
    ('upsample_linear_1d', 1, [4, 9], [{"type": "upsample", "scale_factor": 1.15, "mode": "linear"}],
     (0, 0, 0, 81, 40, 0, 200, 0)),
    ('upsample_linear_1d', 2, [4, 9], [{"type": "upsample", "scale_factor": 1.15, "mode": "linear"}],
     (0, 0, 0, 102, 20, 0, 400, 0)),
    ('upsample_trilinear', 1, [2, 3, 4, 5], [{"type": "upsample", "size": [4, 6, 6], "mode": "trilinear"}],
     (0, 0, 0, 576, 288, 0, 0, 0)),
    ('upsample_trilinear', 2, [2, 3, 4, 5], [{"type": "upsample", "size": [4, 6, 6], "mode": "trilinear"}],
     (0, 0, 0, 720, 144, 0, 0, 0)),
    ('F.interpolate_bilinear_2.5', 1, [3, 7, 7], [{"type": "upsample", "scale_factor": 2.5, "mode": "bilinear", "call": "function"}],
     (0, 3468, 3468, 918, 0, 0, 0, 0)),
    ('F.interpolate_bilinear_2.5', 2, [3, 7, 7], [{"type": "upsample", "scale_factor": 2.5, "mode": "bilinear", "call": "function"}],
     (0, 6936, 6936, 1837, 0, 0, 0, 0)),
    ('F.interpolate_area_size', 1, [3, 7, 7], [{"type": "upsample", "size": [2, 3], "mode": "area", "call": "function"}],
     (0, 147, 147, 165, 0, 0, 0, 0)),
    ('F.interpolate_area_size', 2, [3, 7, 7], [{"type": "upsample", "size": [2, 3], "mode": "area", "call": "function"}],
     (0, 294, 294, 330, 0, 0, 0, 0)),
    ('pixelshuffle', 1, [16, 5, 5], [{"type": "pixelshuffle", "upscale_factor": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('pixelshuffle', 2, [16, 5, 5], [{"type": "pixelshuffle", "upscale_factor": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.pixel_unshuffle', 1, [4, 6, 6], [{"type": "pixelunshuffle", "downscale_factor": 3, "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.pixel_unshuffle', 2, [4, 6, 6], [{"type": "pixelunshuffle", "downscale_factor": 3, "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    # Measured on nn.Embedding, an nn.Parameter module, nn.LSTM / GRU / RNN (batch_first) with the real tools;
    # torchvision = FlopCounterMode / 2 with oneDNN off; ptflops-aten: the CPU default (oneDNN on: an LSTM without
    # proj_size counts 0)
    ("embedding", 1, {"shape": [7], "dtype": "int64"}, [{"type": "embedding", "num_embeddings": 50, "embedding_dim": 8}],
     (0, 0, 0, 0, 0, 0, 0, 400)),
    ("embedding", 2, {"shape": [7], "dtype": "int64"}, [{"type": "embedding", "num_embeddings": 50, "embedding_dim": 8}],
     (0, 0, 0, 0, 0, 0, 0, 800)),
    ("parameter", 1, [3], [{"type": "parameter", "shape": [5, 8]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ("parameter", 2, [3], [{"type": "parameter", "shape": [5, 8]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ("lstm", 1, [5, 6], [{"type": "lstm", "batch_first": True, "hidden_size": 4}],
     (800, 0, 0, 1160, 1160, 0, 1120, 960)),
    ("lstm", 2, [5, 6], [{"type": "lstm", "batch_first": True, "hidden_size": 4}],
     (1600, 0, 0, 1160, 1160, 0, 2240, 1920)),
    ("lstm_2l_bi", 1, [5, 6], [{"type": "lstm", "batch_first": True, "hidden_size": 4, "num_layers": 2, "bidirectional": True}],
     (3520, 0, 0, 4960, 4960, 0, 4800, 4160)),
    ("lstm_2l_bi", 2, [5, 6], [{"type": "lstm", "batch_first": True, "hidden_size": 4, "num_layers": 2, "bidirectional": True}],
     (7040, 0, 0, 4960, 4960, 0, 9600, 8320)),
    ("lstm_proj", 1, [5, 6], [{"type": "lstm", "batch_first": True, "hidden_size": 4, "proj_size": 3}],
     (780, 0, 0, 1080, 1080, 940, 1120, 940)),
    ("lstm_proj", 2, [5, 6], [{"type": "lstm", "batch_first": True, "hidden_size": 4, "proj_size": 3}],
     (1560, 0, 0, 1080, 1080, 1720, 2240, 1880)),
    ("lstm_nobias", 1, [5, 6], [{"type": "lstm", "batch_first": True, "hidden_size": 4, "bias": False}],
     (800, 0, 0, 1000, 1000, 0, 960, 800)),
    ("lstm_nobias", 2, [5, 6], [{"type": "lstm", "batch_first": True, "hidden_size": 4, "bias": False}],
     (1600, 0, 0, 1000, 1000, 0, 1920, 1600)),
    ("gru", 1, [5, 6], [{"type": "gru", "batch_first": True, "hidden_size": 4}],
     (600, 0, 0, 860, 860, 720, 860, 720)),
    ("gru", 2, [5, 6], [{"type": "gru", "batch_first": True, "hidden_size": 4}],
     (1200, 0, 0, 860, 860, 1320, 1720, 1440)),
    ("gru_2l_bi", 1, [5, 6], [{"type": "gru", "batch_first": True, "hidden_size": 4, "num_layers": 2, "bidirectional": True}],
     (2640, 0, 0, 3680, 3680, 3120, 3680, 3120)),
    ("gru_2l_bi", 2, [5, 6], [{"type": "gru", "batch_first": True, "hidden_size": 4, "num_layers": 2, "bidirectional": True}],
     (5280, 0, 0, 3680, 3680, 6000, 7360, 6240)),
    ("rnn", 1, [5, 6], [{"type": "rnn", "batch_first": True, "hidden_size": 4}],
     (200, 0, 0, 260, 260, 240, 260, 240)),
    ("rnn", 2, [5, 6], [{"type": "rnn", "batch_first": True, "hidden_size": 4}],
     (400, 0, 0, 260, 260, 440, 520, 480)),
    ("rnn_relu_2l", 1, [5, 6], [{"type": "rnn", "batch_first": True, "hidden_size": 4, "num_layers": 2, "nonlinearity": "relu"}],
     (360, 0, 0, 480, 480, 440, 480, 440)),
    ("rnn_relu_2l", 2, [5, 6], [{"type": "rnn", "batch_first": True, "hidden_size": 4, "num_layers": 2, "nonlinearity": "relu"}],
     (720, 0, 0, 480, 480, 840, 960, 880)),
    # shape operations, arithmetic, padding, more element-wise modules and norms (the same tools; torch.add(x, 2) and
    # the other scalar forms measured as torch.<op>(x, s) in forward)
    ('reshape', 1, [8, 6], [{"type": "reshape", "shape": [4, -1]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('reshape', 2, [8, 6], [{"type": "reshape", "shape": [4, -1]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('permute', 1, [8, 6], [{"type": "permute", "dims": [0, 2, 1]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('permute', 2, [8, 6], [{"type": "permute", "dims": [0, 2, 1]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('transpose', 1, [8, 6], [{"type": "transpose", "dim0": 1, "dim1": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('transpose', 2, [8, 6], [{"type": "transpose", "dim0": 1, "dim1": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('split', 1, [8, 6], [{"type": "split", "split_size_or_sections": 3, "dim": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('split', 2, [8, 6], [{"type": "split", "split_size_or_sections": 3, "dim": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('chunk', 1, [8, 6], [{"type": "chunk", "chunks": 2, "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('chunk', 2, [8, 6], [{"type": "chunk", "chunks": 2, "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('select', 1, [8, 6], [{"type": "select", "dim": 1, "index": 0}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('select', 2, [8, 6], [{"type": "select", "dim": 1, "index": 0}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('mean', 1, [8, 6], [{"type": "mean", "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('mean', 2, [8, 6], [{"type": "mean", "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('mean_keep', 1, [8, 6], [{"type": "mean", "dim": [1, 2], "keepdim": True}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('mean_keep', 2, [8, 6], [{"type": "mean", "dim": [1, 2], "keepdim": True}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('sub_op', 1, [8, 6], [{"type": "sub", "scalar": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('sub_op', 2, [8, 6], [{"type": "sub", "scalar": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('torch.sub_s', 1, [8, 6], [{"type": "sub", "scalar": 1, "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('torch.sub_s', 2, [8, 6], [{"type": "sub", "scalar": 1, "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('torch.div_s', 1, [8, 6], [{"type": "div", "scalar": 2, "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('torch.div_s', 2, [8, 6], [{"type": "div", "scalar": 2, "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('torch.mul_s', 1, [8, 6], [{"type": "mul", "scalar": 2, "call": "function"}],
     (0, 0, 0, 48, 0, 0, 0, 0)),
    ('torch.mul_s', 2, [8, 6], [{"type": "mul", "scalar": 2, "call": "function"}],
     (0, 0, 0, 96, 0, 0, 0, 0)),
    ('torch.add_s', 1, [8, 6], [{"type": "add", "scalar": 2, "call": "function"}],
     (0, 0, 0, 48, 0, 0, 0, 0)),
    ('torch.add_s', 2, [8, 6], [{"type": "add", "scalar": 2, "call": "function"}],
     (0, 0, 0, 96, 0, 0, 0, 0)),
    ('abs', 1, [8, 6], [{"type": "abs"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('abs', 2, [8, 6], [{"type": "abs"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('neg', 1, [8, 6], [{"type": "neg"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('neg', 2, [8, 6], [{"type": "neg"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('exp', 1, [8, 6], [{"type": "exp"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('exp', 2, [8, 6], [{"type": "exp"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('log', 1, [8, 6], [{"type": "log"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('log', 2, [8, 6], [{"type": "log"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('sqrt', 1, [8, 6], [{"type": "sqrt"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('sqrt', 2, [8, 6], [{"type": "sqrt"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('pow', 1, [8, 6], [{"type": "pow", "exponent": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('pow', 2, [8, 6], [{"type": "pow", "exponent": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('clamp', 1, [8, 6], [{"type": "clamp", "min": 0, "max": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('clamp', 2, [8, 6], [{"type": "clamp", "min": 0, "max": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('zeropad2d', 1, [3, 5, 5], [{"type": "zeropad2d", "padding": [1, 2, 0, 1]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('zeropad2d', 2, [3, 5, 5], [{"type": "zeropad2d", "padding": [1, 2, 0, 1]}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('constantpad1d', 1, [3, 5], [{"type": "constantpad1d", "padding": 2, "value": 1.0}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('constantpad1d', 2, [3, 5], [{"type": "constantpad1d", "padding": 2, "value": 1.0}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('reflectionpad2d', 1, [3, 5, 5], [{"type": "reflectionpad2d", "padding": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('reflectionpad2d', 2, [3, 5, 5], [{"type": "reflectionpad2d", "padding": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('replicationpad3d', 1, [2, 3, 4, 4], [{"type": "replicationpad3d", "padding": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('replicationpad3d', 2, [2, 3, 4, 4], [{"type": "replicationpad3d", "padding": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('circularpad2d', 1, [3, 5, 5], [{"type": "circularpad2d", "padding": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('circularpad2d', 2, [3, 5, 5], [{"type": "circularpad2d", "padding": 2}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softplus', 1, [4, 8, 8], [{"type": "softplus"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softplus', 2, [4, 8, 8], [{"type": "softplus"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('selu', 1, [4, 8, 8], [{"type": "selu"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('selu', 2, [4, 8, 8], [{"type": "selu"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('celu', 1, [4, 8, 8], [{"type": "celu"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('celu', 2, [4, 8, 8], [{"type": "celu"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('hardtanh', 1, [4, 8, 8], [{"type": "hardtanh"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('hardtanh', 2, [4, 8, 8], [{"type": "hardtanh"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('logsigmoid', 1, [4, 8, 8], [{"type": "logsigmoid"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('logsigmoid', 2, [4, 8, 8], [{"type": "logsigmoid"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softsign', 1, [4, 8, 8], [{"type": "softsign"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softsign', 2, [4, 8, 8], [{"type": "softsign"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('glu', 1, [4, 8, 8], [{"type": "glu", "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('glu', 2, [4, 8, 8], [{"type": "glu", "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('tanhshrink', 1, [4, 8, 8], [{"type": "tanhshrink"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('tanhshrink', 2, [4, 8, 8], [{"type": "tanhshrink"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softshrink', 1, [4, 8, 8], [{"type": "softshrink"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softshrink', 2, [4, 8, 8], [{"type": "softshrink"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('hardshrink', 1, [4, 8, 8], [{"type": "hardshrink"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('hardshrink', 2, [4, 8, 8], [{"type": "hardshrink"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('threshold', 1, [4, 8, 8], [{"type": "threshold", "threshold": 0.1, "value": 0.0}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('threshold', 2, [4, 8, 8], [{"type": "threshold", "threshold": 0.1, "value": 0.0}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('rrelu', 1, [4, 8, 8], [{"type": "rrelu"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('rrelu', 2, [4, 8, 8], [{"type": "rrelu"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softmin', 1, [4, 8, 8], [{"type": "softmin", "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softmin', 2, [4, 8, 8], [{"type": "softmin", "dim": 1}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('softmax2d', 1, [4, 8, 8], [{"type": "softmax2d"}],
     (0, 0, 0, 256, 0, 0, 0, 0)),
    ('softmax2d', 2, [4, 8, 8], [{"type": "softmax2d"}],
     (0, 0, 0, 512, 0, 0, 0, 0)),
    ('F.softplus', 1, [4, 8, 8], [{"type": "softplus", "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.softplus', 2, [4, 8, 8], [{"type": "softplus", "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.selu', 1, [4, 8, 8], [{"type": "selu", "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.selu', 2, [4, 8, 8], [{"type": "selu", "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.hardtanh', 1, [4, 8, 8], [{"type": "hardtanh", "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.hardtanh', 2, [4, 8, 8], [{"type": "hardtanh", "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.glu', 1, [4, 8, 8], [{"type": "glu", "dim": 1, "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('F.glu', 2, [4, 8, 8], [{"type": "glu", "dim": 1, "call": "function"}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('rmsnorm', 1, [4, 8, 8], [{"type": "rmsnorm", "normalized_shape": [8, 8]}],
     (0, 0, 0, 0, 0, 0, 0, 64)),
    ('rmsnorm', 2, [4, 8, 8], [{"type": "rmsnorm", "normalized_shape": [8, 8]}],
     (0, 0, 0, 0, 0, 0, 0, 128)),
    ('rmsnorm_noaffine', 1, [10, 16], [{"type": "rmsnorm", "normalized_shape": 16, "elementwise_affine": False}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('rmsnorm_noaffine', 2, [10, 16], [{"type": "rmsnorm", "normalized_shape": 16, "elementwise_affine": False}],
     (0, 0, 0, 0, 0, 0, 0, 0)),
    ('groupnorm', 1, [16, 8, 8], [{"type": "groupnorm", "num_groups": 4}],
     (0, 5120, 5120, 2048, 2048, 0, 0, 32)),
    ('groupnorm', 2, [16, 8, 8], [{"type": "groupnorm", "num_groups": 4}],
     (0, 10240, 10240, 2048, 2048, 0, 0, 64)),
    ('groupnorm_noaffine', 1, [16, 8, 8], [{"type": "groupnorm", "num_groups": 4, "affine": False}],
     (0, 4096, 4096, 1024, 1024, 0, 0, 0)),
    ('groupnorm_noaffine', 2, [16, 8, 8], [{"type": "groupnorm", "num_groups": 4, "affine": False}],
     (0, 8192, 8192, 1024, 1024, 0, 0, 0)),
    ('instancenorm2d', 1, [16, 8, 8], [{"type": "instancenorm2d"}],
     (0, 4096, 4096, 1024, 1024, 0, 2048, 0)),
    ('instancenorm2d', 2, [16, 8, 8], [{"type": "instancenorm2d"}],
     (0, 8192, 8192, 1024, 1024, 0, 4096, 0)),
    ('instancenorm2d_affine', 1, [16, 8, 8], [{"type": "instancenorm2d", "affine": True}],
     (0, 5120, 5120, 2048, 2048, 0, 4096, 32)),
    ('instancenorm2d_affine', 2, [16, 8, 8], [{"type": "instancenorm2d", "affine": True}],
     (0, 10240, 10240, 2048, 2048, 0, 8192, 64)),
    ('instancenorm2d_track', 1, [16, 8, 8], [{"type": "instancenorm2d", "track_running_stats": True}],
     (0, 4096, 4096, 1024, 1024, 0, 2048, 0)),
    ('instancenorm2d_track', 2, [16, 8, 8], [{"type": "instancenorm2d", "track_running_stats": True}],
     (0, 8192, 8192, 1024, 1024, 0, 4096, 0)),
    ('instancenorm1d', 1, [16, 10], [{"type": "instancenorm1d", "affine": True}],
     (0, 800, 800, 320, 320, 0, 640, 32)),
    ('instancenorm1d', 2, [16, 10], [{"type": "instancenorm1d", "affine": True}],
     (0, 1600, 1600, 320, 320, 0, 1280, 64)),
    # moe, as tests/torch_modules.py's MixtureOfExperts runs it (the router and the experts' layers are modules, every
    # linear sees [tokens, d]): a SwiGLU expert (SiLU: F.silu patched by ptflops, no module rule), and a biased
    # Linear-GELU-Linear expert with a router bias and a gated shared expert (GELU counted by ptflops' hook too)
    ('moe', 1, [10, 16], [{"type": "moe", "experts": 4, "top_k": 2, "expert": MOE_SWIGLU}],
     (31360, 31360, 31360, 32040, 31360, 31360, 31360, 31360)),
    ('moe', 2, [10, 16], [{"type": "moe", "experts": 4, "top_k": 2, "expert": MOE_SWIGLU}],
     (62720, 62720, 62720, 32720, 31360, 62720, 62720, 62720)),
    ('moe_shared_gate_biases', 1, [10, 16], [MOE_SHARED],
     (16160, 16160, 16160, 18000, 17480, 17000, 16160, 17000)),
    ('moe_shared_gate_biases', 2, [10, 16], [MOE_SHARED],
     (32320, 32320, 32320, 18520, 17480, 34000, 32320, 34000)),
]


# calflops 0.3.2: calculate_flops(model, args=[x, ...], output_as_string=False)[0] (FLOPs) of the same single-layer
# models, at batch 1 and 2 (a parameterless model got an unused 1-element parameter: calflops needs one).
CALFLOPS_FLOPS = {
    'conv1d': (8200, 16400),
    'conv1d_nobias_g2_d2': (4800, 9600),
    'conv2d_dw_nobias_s2': (36864, 73728),
    'conv2d_dil2_s2_rect': (3201536, 6403072),
    'conv2d_same_k4': (62856, 125712),
    'conv3d': (667648, 1335296),
    'convT1d': (2412, 4824),
    'convT2d': (9439232, 18878464),
    'convT2d_g2_d2': (18180, 36360),
    'linear': (96000, 192000),
    'linear_4d': (40960, 81920),
    'linear_seq_nobias': (10240, 20480),
    'bn1d_2d': (128, 256),
    'bn2d': (2048, 4096),
    'bn2d_noaffine': (1024, 2048),
    'bn2d_notrack': (5120, 10240),
    'layernorm_2axes': (1280, 2560),
    'layernorm_noaffine': (640, 1280),
    'maxpool2d_k3s2p1': (1800, 3600),
    'F.max_pool2d': (3456, 6912),
    'avgpool2d': (3456, 6912),
    'avgpool2d_k3s2p1': (1800, 3600),
    'aap1d_3_uneven': (40, 80),
    'aap2d_1': (784, 1568),
    'aap2d_2x3_uneven': (320, 640),
    'aap2d_7_up': (100, 200),
    'F.aap2d_1': (784, 1568),
    'aap3d_uneven': (1260, 2520),
    'amp2d_3_uneven': (400, 800),
    'flatten': (0, 0),
    'dropout2d': (0, 0),
    'relu': (1024, 2048),
    'F.relu': (1024, 2048),
    'torch.relu': (0, 0),
    'relu6': (0, 0),
    'F.relu6': (1024, 2048),
    'leakyrelu': (1024, 2048),
    'F.leakyrelu': (1024, 2048),
    'gelu': (1024, 2048),
    'silu': (1024, 2048),
    'F.silu': (1024, 2048),
    'hardswish': (0, 0),
    'softmax_dim1': (1024, 2048),
    'softmax_last': (50, 100),
    'F.softmax': (1024, 2048),
    'logsoftmax_dim1': (0, 0),
    'prelu_C': (1024, 2048),
    'add_op': (0, 0),
    'torch.add': (1024, 2048),
    'torch.mul_bcast': (1024, 2048),
    'mul_op_bcast': (0, 0),
    'torch.cat': (0, 0),
    'upsample_nearest_2.5': (147, 294),
    'upsample_bilinear_size5': (5, 5),
    'upsample_area_third': (294, 588),
    'upsample_linear_1d': (36, 72),
    'upsample_trilinear': (144, 144),
    'F.interpolate_bilinear_2.5': (147, 294),
    'F.interpolate_area_size': (153, 300),
    'pixelshuffle': (0, 0),
    'F.pixel_unshuffle': (0, 0),
    'reshape': (0, 0),
    'permute': (0, 0),
    'transpose': (0, 0),
    'split': (0, 0),
    'chunk': (0, 0),
    'select': (0, 0),
    'mean': (0, 0),
    'mean_keep': (0, 0),
    'sub_op': (0, 0),
    'torch.sub_s': (0, 0),
    'torch.div_s': (0, 0),
    'torch.mul_s': (48, 96),
    'torch.add_s': (48, 96),
    'abs': (0, 0),
    'neg': (0, 0),
    'exp': (0, 0),
    'log': (0, 0),
    'sqrt': (0, 0),
    'pow': (0, 0),
    'clamp': (0, 0),
    'zeropad2d': (0, 0),
    'constantpad1d': (0, 0),
    'reflectionpad2d': (0, 0),
    'replicationpad3d': (0, 0),
    'circularpad2d': (0, 0),
    'softplus': (0, 0),
    'selu': (0, 0),
    'celu': (0, 0),
    'hardtanh': (0, 0),
    'logsigmoid': (0, 0),
    'softsign': (0, 0),
    'glu': (0, 0),
    'tanhshrink': (0, 0),
    'softshrink': (0, 0),
    'hardshrink': (0, 0),
    'threshold': (0, 0),
    'rrelu': (0, 0),
    'softmin': (0, 0),
    'softmax2d': (256, 512),
    'F.softplus': (0, 0),
    'F.selu': (0, 0),
    'F.hardtanh': (0, 0),
    'F.glu': (0, 0),
    'rmsnorm': (0, 0),
    'rmsnorm_noaffine': (0, 0),
    'groupnorm': (5120, 10240),
    'groupnorm_noaffine': (4096, 8192),
    'instancenorm2d': (4096, 8192),
    'instancenorm2d_affine': (5120, 10240),
    'instancenorm2d_track': (4096, 8192),
    'instancenorm1d': (800, 1600),
    # nn.LSTM / GRU / RNN (batch_first): calflops' own module hook, _rnn_forward_hook
    'lstm': (1800, 3600),
    'lstm_2l_bi': (7840, 15680),
    'lstm_proj': (1640, 3280),
    'lstm_nobias': (1640, 3280),
    'gru': (1340, 2680),
    'gru_2l_bi': (5840, 11680),
    'rnn': (420, 840),
    'rnn_relu_2l': (760, 1520),
}
CALFLOPS_ROWS = [row for row in SINGLE_LAYERS if row[0] in CALFLOPS_FLOPS]


@pytest.mark.parametrize(("case", "batch_size", "shape", "layers"), [row[:4] for row in CALFLOPS_ROWS],
                         ids=[f"{row[0]}-b{row[1]}" for row in CALFLOPS_ROWS])
def test_single_layer_calflops(case, batch_size, shape, layers):
    network = archcalc.analyze({"input": shape, "layers": layers}).network
    assert archcalc.count(network, "calflops", batch_size).layers[-1].macs == CALFLOPS_FLOPS[case][batch_size - 1]


def test_calflops_quirks():
    """conv padding 'same' with an even kernel: calflops pads D·(K − 1)//2 on both sides (9×9 outputs, not 10×10);
    a transposed conv divides by the groups twice and takes its bias positions from the conv formula."""
    same = archcalc.analyze({"input": [3, 10, 10], "layers": [
        {"type": "conv2d", "out_channels": 8, "kernel_size": 4, "padding": "same"}]}).network
    assert archcalc.count(same, "calflops").layers[-1].items == {"conv": 2 * 31104, "bias": 8 * 81}
    grouped = archcalc.analyze({"input": [4, 10], "layers": [
        {"type": "convtranspose1d", "out_channels": 6, "kernel_size": 3, "stride": 2, "groups": 2, "bias": False}]})
    assert archcalc.count(grouped.network, "calflops").macs == 240 and grouped.network.totals.macs == 360


def test_calflops_upsample_per_axis_scale():
    """calflops compares a tuple scale_factor's length with the batch size: a 2-tuple works at batch 2 only."""
    network = archcalc.analyze({"input": [4, 7, 5], "layers": [
        {"type": "upsample", "scale_factor": [1.5, 2], "mode": "bicubic", "align_corners": True}]}).network
    with pytest.raises(ValueError, match="calflops 0.3.2 raises TypeError"):
        archcalc.count(network, "calflops", 1)
    assert archcalc.count(network, "calflops", 2).macs == 280


def test_ptflops_truncates_its_total_once():
    """ptflops adds the upsample hooks' Y/N as floats and truncates the model total: two Upsample(size=5) on
    [3, 7, 7] at batch 2 give int(37.5 + 37.5) = 75, not 74; the layers' counts add up to it."""
    layer = {"type": "upsample", "size": 5, "mode": "bilinear"}
    network = archcalc.analyze({"input": [3, 7, 7], "layers": [layer, dict(layer)]}).network
    counted = archcalc.count(network, "ptflops-modules", 2)
    assert counted.macs == 75 and [layer.macs for layer in counted.layers] == [37, 38]


@pytest.mark.parametrize(("case", "batch_size", "shape", "layers", "expected"), SINGLE_LAYERS,
                         ids=[f"{row[0]}-b{row[1]}" for row in SINGLE_LAYERS])
def test_single_layer(case, batch_size, shape, layers, expected):
    network = archcalc.analyze({"input": shape, "layers": layers}).network
    for convention, value in zip(COLUMNS, expected):
        if value is not None:
            assert archcalc.count(network, convention, batch_size).layers[-1].macs == value, convention


def test_every_layer_type_has_one_row():
    listed = [tag for tags in rows().values() for tag in tags]
    assert sorted(listed) == sorted(TYPE_NAMES)


def test_parameter_layers_called_as_functions_are_refused():
    """A spec error, found when the spec loads (by `check` too), no longer a ValueError of `count`."""
    with pytest.raises(archcalc.SpecError) as refused:
        archcalc.analyze({"input": [4], "layers": [{"type": "linear", "out_features": 2, "call": "function"}]})
    (problem,) = refused.value.problems
    assert (problem.code, problem.layer) == ("call", "linear-1")
    assert "not modelled" in problem.message


def test_unknown_convention_and_batch():
    network = zoo("lenet5")
    with pytest.raises(ValueError, match="unknown convention 'flops'"):
        archcalc.count(network, "flops")
    with pytest.raises(ValueError, match="batch size"):
        archcalc.count(network, "thop", 0)


@pytest.mark.parametrize("batch_size", [1, 2])
@pytest.mark.parametrize("name", NETWORKS)
def test_differences_close_exactly(networks, name, batch_size):
    base = archcalc.count(networks[name], "pytorch", batch_size)
    for convention in CONVENTIONS:
        other = archcalc.count(networks[name], convention, batch_size)
        found = differences(base, other)
        if other.macs is not None:
            assert sum(d.amount for d in found if d.quantity == "macs") == other.macs - base.macs
        assert sum(d.amount for d in found if d.quantity == "params") == other.params - base.params


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archcalc", *args], capture_output=True, text=True, cwd=REPO,
                          check=False)


def test_compare_resnet50_reproduces_the_issue_figures():
    result = run_cli("compare", "specs/resnet50.yaml")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for figure in ("4,089,184,256  4.089", "4,132,436,968  4.13 GMac", "4,121,925,096  4.12 GMac",
                   "4,133,742,592  4.134G", "4,135,789,592  4.14", "25,610,152", "+22,227,968  batchnorm",
                   "+53,120  params"):
        assert figure in out, figure
    batch2 = run_cli("compare", "specs/resnet50.yaml", "--conventions", "torchinfo", "--batch-size", "2")
    assert "8,178,476,752  8.18" in batch2.stdout
    assert "8,211,108,352  8.21 GFLOPS" in out
    assert "calflops − pytorch: FLOPs 8,211,108,352 − MACs 4,089,184,256 = +4,121,924,096" in out


def test_compare_json_closes():
    result = run_cli("compare", "specs/resnet50.yaml", "--format", "json")
    document = json.loads(result.stdout)
    base = document["conventions"]["pytorch"]["macs"]
    for name, lines in document["differences"].items():
        macs = document["conventions"][name]["macs"]
        if macs is not None:
            assert sum(line["amount"] for line in lines if line["quantity"] == "macs") == macs - base


def test_summary_convention_keeps_the_contract_keys():
    plain = json.loads(run_cli("summary", "specs/resnet50.yaml", "--format", "json").stdout)
    result = run_cli("summary", "specs/resnet50.yaml", "--format", "json", "--convention", "torchinfo",
                     "--batch-size", "2")
    document = json.loads(result.stdout)
    assert document["totals"] == plain["totals"] and document["layers"] == plain["layers"]
    assert document["convention"]["macs"] == 8178476752
    assert document["convention"]["memory"]["printed"]["total_bytes"] == "459.10 (MB)"   # torchinfo's own unit
    table = run_cli("summary", "specs/resnet50.yaml", "--convention", "keras").stdout
    assert "Params: 25,610,152 (25,557,032 trainable, 53,120 non-trainable)" in table
    wrong = run_cli("summary", "specs/resnet50.yaml", "--convention", "nope")
    assert wrong.returncode == 2 and "unknown convention 'nope'" in wrong.stderr
    assert run_cli("summary", "specs/lenet5.yaml", "--convention", "thop", "--format", "csv").returncode == 2


def test_docs_are_up_to_date():
    result = run_cli("conventions", "--example", "specs/resnet50.yaml")
    assert result.returncode == 0, result.stderr
    assert (REPO / "docs" / "conventions.md").read_text(encoding="utf-8") == result.stdout, \
        "docs/conventions.md is stale: run `archcalc conventions > docs/conventions.md`"


def test_torchinfo_uses_each_tensors_element_size(capsys):
    """--dtype float16 halves torchinfo's figures (its half-precision tests), except the input's object overhead;
    torchsummary multiplies by 4 whatever the dtype (issue #15, item 3)."""
    network = zoo("lenet5")
    for name in ("torchinfo", "torchinfo-1.8"):
        full, half = (archcalc.count(network, name, 2, dtype).memory for dtype in ("float32", "float16"))
        assert 2 * half["forward_backward_bytes"] == full["forward_backward_bytes"]
        assert 2 * half["params_bytes"] == full["params_bytes"]
        overhead = CONVENTIONS[name].options["input_overhead"]
        assert 2 * (half["input_bytes"] - overhead) == full["input_bytes"] - overhead
        assert archcalc.count(network, name, 2, "float64").memory["params_bytes"] == 2 * full["params_bytes"]
    assert archcalc.count(network, "torchsummary", 2, "float16").memory == \
        archcalc.count(network, "torchsummary", 2).memory
    out = run_cli("summary", "specs/lenet5.yaml", "--convention", "torchinfo", "--dtype", "float16").stdout
    assert f"Params size (kB): {2 * 44426 / 1e3:,.2f}" in out


def test_torchinfo_input_overhead_is_an_argument():
    network = zoo("lenet5")
    assert archcalc.count(network, "torchinfo", 1, input_overhead=56).memory["input_bytes"] == 784 * 4 + 56
    assert archcalc.count(network, "torchinfo", 1).memory["input_bytes"] == 784 * 4 + 56   # Python 3.12+


def test_torchinfo_versions_differ_on_linear_rows():
    """torchinfo#77 / PR #318: nn.Linear(8, 64) on (32, 16, 8) — 18,432 in 1.8.0, 294,912 in the current code."""
    network = archcalc.loads("input: [16, 8]\nlayers:\n  - {type: linear, out_features: 64}\n")
    assert archcalc.count(network, "torchinfo-1.8", 32).macs == 18432
    assert archcalc.count(network, "torchinfo", 32).macs == 294912
    assert archcalc.count(network, "torchinfo", 32).printed == "294.91 (k)"
    assert archcalc.count(network, "torchinfo-1.8", 32).printed == "0.02 (M)"


# Attention types under each tool, measured with the real tools (torchinfo 1.8.0, ptflops 0.7.5, fvcore, thop) at
# batch 1 and 2 on single-layer models (nn.MultiheadAttention(32, 4, batch_first=True) called as m(x, x, x)[0], an
# nn.TransformerEncoderLayer(32, 4, 64), torch.matmul, F.scaled_dot_product_attention; `torchinfo` is torchinfo's main
# at 5c4164f, measured in its own venv): torchinfo and thop count
# nn.MultiheadAttention as 0, fvcore counts its linears and bmm, ptflops runs its own hook; nobody counts
# scaled_dot_product_attention.
ATTENTION_TOOLS = {
 "mha": ({"input": [10, 32], "layers": [{"type": "multiheadattention", "num_heads": 4}]},
         {"ptflops-pytorch": (56160, 62960), "ptflops-modules": (49360, 49360), "fvcore": (47360, 94720), "thop": (0, 0), "torchinfo": (0, 0), "pytorch": (47360, 94720), "calflops": (82320, 164640), "ptflops-aten": (48640, 97280)}),
 "mha_nobias": ({"input": [10, 32], "layers": [{"type": "multiheadattention", "num_heads": 4, "bias": False}]},
         {"ptflops-pytorch": (55200, 62000), "ptflops-modules": (48400, 48400), "fvcore": (47360, 94720), "calflops": (82320, 164640), "ptflops-aten": (47360, 94720)}),
 "mha_kdim": ({"input": {"q": [10, 32], "k": [10, 12], "v": [10, 6]}, "layers": [{"type": "multiheadattention", "num_heads": 4, "kdim": 12, "vdim": 6, "inputs": ["q", "k", "v"]}]},
         {"ptflops-pytorch": (24540, 31340), "ptflops-modules": (17740, 17740), "fvcore": (32640, 65280), "calflops": (52880, 105760)}),
 "enc": ({"input": [10, 32], "layers": [{"type": "transformerencoderlayer", "nhead": 4, "dim_feedforward": 64}]},
         {"torchinfo-1.8": (4320, 8640), "torchinfo": (42048, 84096), "ptflops-pytorch": (91920, 91920), "ptflops-modules": (91920, 91920), "fvcore": (85120, 170240), "thop": (43520, 87040), "calflops": (167040, 334080), "ptflops-aten": (84160, 168320)}),
 "matmul": ({"input": {"a": [10, 32], "b": [32, 10]}, "layers": [{"type": "matmul", "inputs": ["a", "b"]}]},
         {"fvcore": (3200, 6400), "ptflops-pytorch": (3200, 6400), "ptflops-modules": (0, 0), "ptflops-aten": (3200, 6400), "thop": (0, 0), "torchinfo": (0, 0), "calflops": (6400, 12800)}),
 "sdpa": ({"input": {"q": [4, 10, 8]}, "layers": [{"type": "scaled_dot_product_attention", "inputs": ["q", "q", "q"]}]},
         {"fvcore": (0, 0), "ptflops-pytorch": (0, 0), "ptflops-modules": (0, 0), "ptflops-aten": (0, 0), "thop": (0, 0), "torchinfo": (0, 0), "calflops": (0, 0)}),
 # calflops 0.3.2 (its venv) and ptflops 0.7.5 backend="aten", measured the same way (/tmp/gaps scripts); batch_first
 # matters to ptflops-aten only: a transposed [L, N, E] input is not contiguous at N > 1 (unless L = 1), so its
 # projection is aten.mm without the bias
 "mha_bf": ({"input": [10, 32], "layers": [{"type": "multiheadattention", "num_heads": 4, "batch_first": True}]},
         {"ptflops-aten": (48640, 95360), "calflops": (82320, 164640)}),
 "mha_bf_l1": ({"input": [1, 32], "layers": [{"type": "multiheadattention", "num_heads": 4, "batch_first": True}]},
         {"ptflops-aten": (4288, 8576)}),
 "mha_need_weights_false": ({"input": [10, 32], "layers": [{"type": "multiheadattention", "num_heads": 4, "batch_first": True, "need_weights": False}]},
         {"ptflops-aten": (42240, 82560), "calflops": (81920, 163840)}),
 "mha_bias_kv_zero_attn": ({"input": [5, 16], "layers": [{"type": "multiheadattention", "num_heads": 2, "batch_first": True, "add_bias_kv": True, "add_zero_attn": True}]},
         {"ptflops-aten": (6560, 12640), "calflops": (10310, 20620)}),
 "mha_kdim_bf": ({"input": {"q": [10, 32], "k": [10, 12], "v": [10, 6]}, "layers": [{"type": "multiheadattention", "num_heads": 4, "kdim": 12, "vdim": 6, "batch_first": True, "inputs": ["q", "k", "v"]}]},
         {"ptflops-aten": (33920, 65920), "calflops": (52880, 105760)}),
 "mha_kdim_nbf": ({"input": {"q": [9, 16], "k": [5, 12], "v": [5, 6]}, "layers": [{"type": "multiheadattention", "num_heads": 2, "kdim": 12, "vdim": 6, "inputs": ["q", "k", "v"]}]},
         {"ptflops-aten": (7936, 15872), "calflops": (12186, 24372)}),
 "enc_bf": ({"input": [10, 32], "layers": [{"type": "transformerencoderlayer", "nhead": 4, "dim_feedforward": 64, "batch_first": True}]},
         {"ptflops-aten": (84160, 166400), "calflops": (167040, 334080)}),
 "enc_gelu_norm_first_nobias": ({"input": [7, 16], "layers": [{"type": "transformerencoderlayer", "nhead": 2, "dim_feedforward": 48, "batch_first": True, "activation": "gelu", "norm_first": True, "bias": False}]},
         {"ptflops-aten": (17920, 35840), "calflops": (36960, 73920)}),
 "dec": ({"input": {"t": [10, 32], "m": [6, 32]}, "layers": [{"type": "transformerdecoderlayer", "nhead": 4, "dim_feedforward": 64, "inputs": ["t", "m"]}]},
         {"ptflops-aten": (117952, 235904), "calflops": (234176, 468352)}),
 "dec_bf": ({"input": {"t": [10, 32], "m": [6, 32]}, "layers": [{"type": "transformerdecoderlayer", "nhead": 4, "dim_feedforward": 64, "batch_first": True, "inputs": ["t", "m"]}]},
         {"ptflops-aten": (117952, 232576), "calflops": (234176, 468352)}),
 "dec_bf_l1_gelu": ({"input": {"t": [1, 16], "m": [9, 16]}, "layers": [{"type": "transformerdecoderlayer", "nhead": 2, "dim_feedforward": 24, "batch_first": True, "inputs": ["t", "m"]}]},
         {"ptflops-aten": (7336, 14096)}),
 "matmul_broadcast": ({"input": {"a": [1, 3, 7, 4], "b": [2, 1, 4, 5]}, "layers": [{"type": "matmul", "inputs": ["a", "b"]}]},
         {"ptflops-aten": (840, 1680), "calflops": (840, 1680)}),
 "matmul_broadcast_right": ({"input": {"a": [2, 1, 7, 4], "b": [1, 3, 4, 5]}, "layers": [{"type": "matmul", "inputs": ["a", "b"]}]},
         {"ptflops-aten": (840, 1680), "calflops": (560, 1120)}),
}


@pytest.mark.parametrize("case", list(ATTENTION_TOOLS))
def test_attention_under_each_tool(case):
    spec, expected = ATTENTION_TOOLS[case]
    network = archcalc.analyze(spec).network
    got = {name: tuple(archcalc.count(network, name, n).macs for n in (1, 2)) for name in expected}
    assert got == expected


# thop 0.0.31.post1909021322 (thop-readme; its wheel from PyPI, run on torch 2.13 with a collections.Iterable shim for
# Python 3.11) on nn.Upsample / F.interpolate, thop.profile(model, inputs=(x,))[0] at batch 1 and 2.
THOP_README_UPSAMPLE = [
    ([3, 7, 7], {"scale_factor": 2}, (0, 0)),
    ([3, 7, 7], {"scale_factor": 2.5, "mode": "bilinear"}, (11271, 22542)),
    ([3, 7, 7], {"size": 5, "mode": "bilinear"}, (975, 1950)),
    ([4, 3], {"scale_factor": 3, "mode": "linear"}, (180, 360)),
    ([2, 4, 4], {"scale_factor": 2, "mode": "bicubic"}, (33152, 66304)),
    ([2, 3, 3, 2], {"scale_factor": 2, "mode": "trilinear"}, (0, 0)),
    ([3, 7, 7], {"size": [2, 3], "mode": "area"}, (0, 0)),
    ([3, 4, 4], {"scale_factor": 2, "mode": "nearest-exact"}, (0, 0)),
    ([3, 7, 7], {"scale_factor": 2, "mode": "bilinear", "call": "function"}, (0, 0)),
]


@pytest.mark.parametrize(("shape", "arguments", "expected"), THOP_README_UPSAMPLE)
def test_thop_readme_upsample(shape, arguments, expected):
    network = archcalc.analyze({"input": shape, "layers": [{"type": "upsample", **arguments}]}).network
    assert tuple(archcalc.count(network, "thop-readme", n).macs for n in (1, 2)) == expected


def test_compare_prints_the_same_every_run():
    """Mixtral's moe and linear rows differ by equal amounts under some conventions: their order must not follow
    Python's per-process string hashing (PYTHONHASHSEED)."""
    import os

    spec = REPO / "specs" / "mixtral_8x7b.yaml"
    outputs = {subprocess.run([sys.executable, "-m", "archcalc", "compare", str(spec)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout for seed in ("1", "2", "3")}
    assert len(outputs) == 1
