"""Counting conventions against the real tools: archcalc's figure for each convention equals the tool's own.

Optional: skipped unless torch, torchinfo, ptflops, fvcore and thop are installed (`pip install
'.[test,crosscheck]'`). The networks are written here in plain PyTorch the way torchvision writes them
— what a hooking tool sees depends on it: ResNet's one `relu` module called three times per block and
`out += identity`, MobileNetV2's `x + self.conv(x)`, and the `F.relu`, `F.adaptive_avg_pool2d`,
`torch.flatten` and `torch.cat` calls in forward. archcalc reads the zoo specs in specs/, with `call`
set where torchvision calls a function (tests/test_conventions.py, `zoo`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings

import pytest

import archcalc

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch = pytest.importorskip("torch")
    torchinfo = pytest.importorskip("torchinfo")
    ptflops = pytest.importorskip("ptflops")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    thop = pytest.importorskip("thop")
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

from test_conventions import COLUMNS, SINGLE_LAYERS, zoo
from torch_modules import build_module
from torchvision_models import BasicBlock, Bottleneck, MobileNetV2, ResNet

from archcalc.layers import family_of

logging.getLogger("fvcore").setLevel(logging.ERROR)


# ------------------------------------------------------------------------------------------- the networks

def lenet5() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


class VGG16(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for width in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
            if width == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = width
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, 1000))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int = 32, bn_size: int = 4):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c_in)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(c_in, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, features):
        x = self.conv1(self.relu1(self.norm1(torch.cat(features, 1))))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.ModuleDict):
    def __init__(self, layers: int, c_in: int, growth: int = 32):
        super().__init__({f"denselayer{i + 1}": DenseLayer(c_in + i * growth) for i in range(layers)})

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(c_in)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet121(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential()
        for name, module in (("conv0", nn.Conv2d(3, 64, 7, 2, 3, bias=False)), ("norm0", nn.BatchNorm2d(64)),
                             ("relu0", nn.ReLU(inplace=True)), ("pool0", nn.MaxPool2d(3, 2, 1))):
            self.features.add_module(name, module)
        channels = 64
        for i, layers in enumerate((6, 12, 24, 16)):
            self.features.add_module(f"denseblock{i + 1}", DenseBlock(layers, channels))
            channels += layers * 32
            if i != 3:
                self.features.add_module(f"transition{i + 1}", Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, 1000)

    def forward(self, x):
        out = F.adaptive_avg_pool2d(F.relu(self.features(x), inplace=True), (1, 1))
        return self.classifier(torch.flatten(out, 1))


NETWORKS = {
    "lenet5": (lenet5, (1, 28, 28)),
    "vgg16": (VGG16, (3, 224, 224)),
    "resnet18": (lambda: ResNet(BasicBlock, (2, 2, 2, 2)), (3, 224, 224)),
    "resnet50": (lambda: ResNet(Bottleneck, (3, 4, 6, 3)), (3, 224, 224)),
    "mobilenet_v2": (MobileNetV2, (3, 224, 224)),
    "densenet121": (DenseNet121, (3, 224, 224)),
}


def fresh(name: str) -> nn.Module:
    torch.manual_seed(0)
    return NETWORKS[name][0]()


def batch(name: str, size: int = 1) -> torch.Tensor:
    return torch.rand(size, *NETWORKS[name][1])


def quiet(function, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


# ------------------------------------------------------------------------------------------- the tests

@pytest.fixture(scope="module", params=list(NETWORKS))
def name(request) -> str:
    return request.param


def test_torchvision_and_pytorch(name):
    model, network = fresh(name).eval(), zoo(name)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(batch(name))
    assert archcalc.count(network, "torchvision").macs == counter.get_total_flops() // 2 == network.totals.macs
    assert archcalc.count(network, "pytorch").params == sum(p.numel() for p in model.parameters())


def test_fvcore(name):
    network = zoo(name)
    for convention, mode in (("fvcore", False), ("fvcore-train", True)):
        analysis = fvcore_nn.FlopCountAnalysis(fresh(name).train(mode), batch(name))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        assert archcalc.count(network, convention).macs == quiet(analysis.total), convention


def test_ptflops(name):
    network, shape = zoo(name), NETWORKS[name][1]
    for convention, backend, functional in (("ptflops-pytorch", "pytorch", True),
                                            ("ptflops-modules", "pytorch", False), ("ptflops-aten", "aten", True)):
        macs, params = quiet(ptflops.get_model_complexity_info, fresh(name), shape, as_strings=False,
                             print_per_layer_stat=False, backend=backend,
                             backend_specific_config={"count_functional": functional})
        counts = archcalc.count(network, convention)
        assert (counts.macs, counts.params) == (macs, params), convention
        assert counts.printed == ptflops.flops_counter.flops_to_string(macs)


def test_ptflops_batch_of_two(name):
    """With a batch-2 input ptflops divides its module hooks by the batch but not the patched functions."""
    macs, _ = quiet(ptflops.get_model_complexity_info, fresh(name), NETWORKS[name][1], as_strings=False,
                    print_per_layer_stat=False, input_constructor=lambda _: batch(name, 2))
    assert archcalc.count(zoo(name), "ptflops-pytorch", 2).macs == macs


def test_thop(name):
    counts = archcalc.count(zoo(name), "thop")
    ops, params = quiet(thop.profile, fresh(name), inputs=(batch(name),), verbose=False)
    assert (counts.macs, counts.params) == (ops, params)
    assert counts.printed == thop.clever_format([ops], "%.3f")


@pytest.mark.parametrize("size", [1, 2])
def test_torchinfo(name, size):
    """The installed torchinfo is PyPI's 1.8.0: `torchinfo-1.8`."""
    counts = archcalc.count(zoo(name), "torchinfo-1.8", size)
    stats = quiet(torchinfo.summary, fresh(name), input_size=(size, *NETWORKS[name][1]), verbose=0)
    assert counts.macs == stats.total_mult_adds
    assert (counts.params, counts.trainable_params) == (stats.total_params, stats.trainable_params)
    memory = counts.memory
    assert (memory["input_bytes"], memory["forward_backward_bytes"], memory["params_bytes"]) == \
        (stats.total_input, stats.total_output_bytes, stats.total_param_bytes)
    text = str(stats)
    assert re.search(r"Total mult-adds \(.*\): (.*)", text).group(1) == counts.printed.split(" ")[0]
    for label, key in (("Input size", "input_bytes"), ("Forward/backward pass size", "forward_backward_bytes"),
                       ("Params size", "params_bytes"), ("Estimated Total Size", "total_bytes")):
        assert f"{label} (MB): {memory['printed'][key]}" in text


@pytest.mark.parametrize("size", [1, 2])
@pytest.mark.parametrize("summarized", ["lenet5", "vgg16", "resnet18", "resnet50", "mobilenet_v2"])
def test_torchsummary(summarized, size):
    """torchsummary prints only. Its rows include the non-Sequential container modules (BasicBlock, Bottleneck,
    InvertedResidual), which the specs mark `module: true`; it crashes on DenseNet (a list input)."""
    torchsummary = pytest.importorskip("torchsummary")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        torchsummary.summary(fresh(summarized), NETWORKS[summarized][1], batch_size=size if size > 1 else -1,
                             device="cpu")
    counts = archcalc.count(zoo(summarized), "torchsummary", size)
    text = out.getvalue()
    assert f"Total params: {counts.params:,}" in text
    for label, key in (("Input size", "input_bytes"), ("Forward/backward pass size", "forward_backward_bytes"),
                       ("Params size", "params_bytes"), ("Estimated Total Size", "total_bytes")):
        assert f"{label} (MB): {counts.memory['printed'][key]}" in text


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "mobilenet_v2", "densenet121"])
def test_calflops(name):
    """calflops 0.3.2 (not in the crosscheck extra: it pulls in transformers): FLOPs, printed string, params."""
    calflops = pytest.importorskip("calflops")
    model, shape = fresh(name).eval(), tuple(batch(name).shape[1:])
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flops, macs, params = calflops.calculate_flops(model=model, input_shape=(1, *shape), print_results=False,
                                                       output_as_string=False)
        printed = calflops.calculate_flops(model=model, input_shape=(1, *shape), print_results=False,
                                           output_as_string=True, output_precision=2)[0]
    counts = archcalc.count(zoo(name), "calflops")
    assert (flops, printed, params) == (counts.macs, counts.printed, counts.params)
    assert macs == archcalc.count(zoo(name), "pytorch").macs


# ------------------------------------------------------------------------------------------- single layers

class Alone(nn.Module):
    """One layer called as a module, or through its forward (a function call: F.interpolate, F.pixel_shuffle)."""

    def __init__(self, layer: nn.Module, module: bool):
        super().__init__()
        self.layer, self.module = layer, module

    def forward(self, x):
        return self.layer(x) if self.module else self.layer.forward(x)


# The single-layer rows (tests/test_conventions.py) re-measured here: the families without parameters whose
# whole rule set was measured on these rows.
# (the scalar arithmetic rows are left out: the test module calls operators, x + 2, not torch.add(x, 2))
_REMEASURED_TYPES = {"rmsnorm", "groupnorm", "instancenorm1d", "instancenorm2d", "softplus", "selu", "celu", "hardtanh",
                     "logsigmoid", "softsign", "glu", "tanhshrink", "softshrink", "hardshrink", "threshold", "rrelu",
                     "softmin", "softmax2d", "abs", "neg", "exp", "log", "sqrt", "pow", "clamp", "moe"}
REMEASURED = [row for row in SINGLE_LAYERS if family_of(row[3][-1]["type"]) in ("resample", "shape", "padding")
              or row[3][-1]["type"] in _REMEASURED_TYPES]


@pytest.mark.parametrize(("case", "batch_size", "shape", "layers", "expected"), REMEASURED,
                         ids=[f"{row[0]}-b{row[1]}" for row in REMEASURED])
def test_single_layer_tools(case, batch_size, shape, layers, expected):
    network = archcalc.analyze({"input": shape, "layers": layers}).network
    layer = network.layers[-1]
    model = Alone(build_module(layer), layer.spec.call != "function").eval()
    x = torch.rand(batch_size, *shape) + 0.5   # positive: log, sqrt
    with FlopCounterMode(display=False) as counter:
        model(x)
    measured = {"torchvision": counter.get_total_flops() // 2,
                "fvcore": int(quiet(lambda: fvcore_nn.FlopCountAnalysis(model, x).total())),
                "fvcore-train": int(quiet(lambda: fvcore_nn.FlopCountAnalysis(model.train(), x).total()))}
    model.eval()
    for convention, backend, config in (("ptflops-pytorch", "pytorch", {}),
                                        ("ptflops-modules", "pytorch", {"count_functional": False}),
                                        ("ptflops-aten", "aten", {})):
        measured[convention] = quiet(ptflops.get_model_complexity_info, model, tuple(shape), as_strings=False,
                                     print_per_layer_stat=False, input_constructor=lambda _: x, backend=backend,
                                     backend_specific_config=config)[0]
    measured["thop"] = int(quiet(thop.profile, Alone(build_module(layer), model.module), inputs=(x,))[0])
    measured["torchinfo-1.8"] = quiet(torchinfo.summary, model, input_data=[x], verbose=0).total_mult_adds  # PyPI 1.8.0
    assert tuple(measured[column] for column in COLUMNS) == expected
    for column in COLUMNS:
        assert archcalc.count(network, column, batch_size).macs == measured[column], column
