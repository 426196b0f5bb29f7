"""Zoo specs against hand-written PyTorch references (no builder, no torchvision).

Each reference is the original model written out in plain torch with the original's module layout and
module names: torchvision's ConvNeXt-Tiny (torchvision is not a dependency, so its modules are copied here
in their shape: CNBlock, LayerNorm2d, Permute, StochasticDepth), milesial/Pytorch-UNet with bilinear=True and
ESPCN (Shi et al., 2016). Compared with the spec:

* totals: sum(p.numel()), FlopCounterMode // 2 and the output shape;
* module by module, by name: every leaf module's output shape (a forward hook) and parameters against the
  spec layer of the same name, and every parameter a module owns directly (ConvNeXt's `layer_scale`)
  against the spec layer `<module>.<parameter>`; together these cover all of the spec's parameters.

Run: python -m pytest tests/test_zoo_references.py -q   (in an environment with torch)
"""

from __future__ import annotations

import functools
import warnings
from typing import Callable

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.nn import functional as F
    from torch.utils.flop_counter import FlopCounterMode

import archcalc
from conftest import REPO

# --------------------------------------------------------------------------------------------
# torchvision's ConvNeXt (torchvision/models/convnext.py, torchvision/ops/misc.py, stochastic_depth.py)
# --------------------------------------------------------------------------------------------


class Permute(nn.Module):
    """torchvision.ops.misc.Permute."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: the identity in eval mode, no parameters."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d: LayerNorm over the channels of an NCHW tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """torchvision.models.convnext.CNBlock."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(4 * dim, dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        result = self.layer_scale * self.block(input)
        result = self.stochastic_depth(result)
        result += input
        return result


class ConvNeXt(nn.Module):
    """torchvision.models.convnext.ConvNeXt; convnext_tiny(): stages (96, 3), (192, 3), (384, 9), (768, 3)."""

    def __init__(self, dims=(96, 192, 384, 768), depths=(3, 3, 9, 3), stochastic_depth_prob: float = 0.1,
                 layer_scale: float = 1e-6, num_classes: int = 1000):
        super().__init__()
        norm_layer = functools.partial(LayerNorm2d, eps=1e-6)
        stem = nn.Sequential(nn.Conv2d(3, dims[0], kernel_size=4, stride=4, padding=0, bias=True), norm_layer(dims[0]))
        layers: list[nn.Module] = [stem]   # torchvision's Conv2dNormActivation(..., activation_layer=None)
        total, block_id = sum(depths), 0
        for i, (dim, depth) in enumerate(zip(dims, depths)):
            stage = []
            for _ in range(depth):
                stage.append(CNBlock(dim, layer_scale, stochastic_depth_prob * block_id / (total - 1.0)))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if i + 1 < len(dims):
                layers.append(nn.Sequential(norm_layer(dim), nn.Conv2d(dim, dims[i + 1], kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(norm_layer(dims[-1]), nn.Flatten(1), nn.Linear(dims[-1], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


# --------------------------------------------------------------------------------------------
# milesial/Pytorch-UNet (unet/unet_parts.py, unet_model.py), width `base` instead of 64
# --------------------------------------------------------------------------------------------


class DoubleConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None):
        super().__init__()
        mid_channels = mid_channels or out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, bilinear: bool = True):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1 = self.up(x1)
        diff_y, diff_x = x2.size()[2] - x1.size()[2], x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class OutConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels: int, n_classes: int, bilinear: bool = False, base: int = 64):
        super().__init__()
        b, factor = base, 2 if bilinear else 1
        self.inc = DoubleConv(n_channels, b)
        self.down1 = Down(b, 2 * b)
        self.down2 = Down(2 * b, 4 * b)
        self.down3 = Down(4 * b, 8 * b)
        self.down4 = Down(8 * b, 16 * b // factor)
        self.up1 = Up(16 * b, 8 * b // factor, bilinear)
        self.up2 = Up(8 * b, 4 * b // factor, bilinear)
        self.up3 = Up(4 * b, 2 * b // factor, bilinear)
        self.up4 = Up(2 * b, b, bilinear)
        self.outc = OutConv(b, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return self.outc(x)


# --------------------------------------------------------------------------------------------
# ESPCN (Shi et al., 2016), named as PyTorch's super-resolution example names its layers
# --------------------------------------------------------------------------------------------


class ESPCN(nn.Module):
    def __init__(self, r: int = 3, channels: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 5, padding=2)
        self.tanh1 = nn.Tanh()
        self.conv2 = nn.Conv2d(64, 32, 3, padding=1)
        self.tanh2 = nn.Tanh()
        self.conv3 = nn.Conv2d(32, r * r * channels, 3, padding=1)
        self.pixel_shuffle = nn.PixelShuffle(r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pixel_shuffle(self.conv3(self.tanh2(self.conv2(self.tanh1(self.conv1(x))))))


# --------------------------------------------------------------------------------------------
# Measuring and comparing
# --------------------------------------------------------------------------------------------


def count(module: nn.Module, recurse: bool = True) -> int:
    return sum(p.numel() for p in module.parameters(recurse=recurse))


def measure(model: nn.Module, input_shape) -> tuple[dict, int, int, tuple]:
    """Leaf modules' output shapes (batch axis dropped), total params, FlopCounterMode // 2, output shape."""
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Callable:
        def record(module: nn.Module, args: tuple, out: torch.Tensor) -> None:   # returns None: keeps the output
            shapes.setdefault(name, tuple(out.shape[1:]))
        return record

    hooks = [module.register_forward_hook(hook(name))
             for name, module in model.named_modules() if not list(module.children())]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            out = model.eval()(torch.zeros(1, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return shapes, count(model), counter.get_total_flops() // 2, tuple(out.shape[1:])


def compare(model: nn.Module, network: archcalc.Network,
            spec_layer: Callable[[str, nn.Module], tuple[str, str]] = lambda name, module: (name, name)) -> None:
    """Totals, then module by module. `spec_layer(name, module)` gives the spec layers holding a leaf module's
    parameters and its output (the same layer, by default)."""
    shapes, params, macs, output_shape = measure(model, network.input_shape)
    theirs = {"params": params, "MACs": macs, "output shape": output_shape}
    ours = {"params": network.totals.params, "MACs": network.totals.macs, "output shape": tuple(network.output_shape)}
    assert ours == theirs, f"{network.name}: archcalc {ours} vs the PyTorch reference {theirs}"
    layers = {layer.name: layer for layer in network.layers}
    mismatches, covered = [], 0
    for name, module in model.named_modules():
        if list(module.children()):   # a container: only the parameters it owns directly are its own layers
            for parameter_name, parameter in module.named_parameters(recurse=False):
                layer = layers.get(f"{name}.{parameter_name}")
                if layer is None or layer.params != parameter.numel():
                    mismatches.append(f"{name}.{parameter_name}: {parameter.numel()} parameters, spec "
                                      f"{layer and layer.params}")
                covered += parameter.numel()
            continue
        params_at, output_at = spec_layer(name, module)
        if params_at not in layers or output_at not in layers:
            mismatches.append(f"{name} ({type(module).__name__}): no spec layer {params_at!r} / {output_at!r}")
            continue
        if layers[params_at].params != count(module):
            mismatches.append(f"{name}: {count(module)} parameters, spec {params_at} {layers[params_at].params}")
        if tuple(layers[output_at].output_shape) != shapes[name]:
            mismatches.append(f"{name}: output {list(shapes[name])}, spec {output_at} {list(layers[output_at].output_shape)}")
        covered += count(module)
    assert not mismatches, f"{network.name}: " + "; ".join(mismatches[:10])
    assert covered == network.totals.params


def load(spec: str, **variables) -> archcalc.Network:
    return archcalc.load(REPO / "specs" / f"{spec}.yaml", variables=variables or None)


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


def convnext_spec_layer(name: str, module: nn.Module) -> tuple[str, str]:
    """LayerNorm2d is one module that calls permute, F.layer_norm, permute: in the spec a block of three
    layers, `<module>.layer_norm` (the parameters) and `<module>.permute_1` (the output)."""
    if isinstance(module, LayerNorm2d):
        return f"{name}.layer_norm", f"{name}.permute_1"
    return name, name


def test_convnext_tiny_reference_is_torchvisions():
    """The hand-written model is torchvision's convnext_tiny: its published 28,589,128 parameters and 4.46 GFLOPS."""
    _, params, macs, output_shape = measure(ConvNeXt(), (3, 224, 224))
    assert params == 28_589_128
    assert round(macs / 1e9, 2) == 4.46
    assert output_shape == (1000,)


def test_convnext_tiny_matches_its_reference():
    compare(ConvNeXt(), load("convnext_tiny"), convnext_spec_layer)


@pytest.mark.parametrize("base", [16, 64])
def test_unet_bilinear_matches_its_reference(base):
    network = load("unet_bilinear", base=base)
    compare(UNet(3, 2, bilinear=True, base=base), network)


def test_unet_reference_without_bilinear_matches_specs_unet():
    """The same reference with bilinear=False is specs/unet.yaml (a check of the reference itself)."""
    compare(UNet(3, 2, bilinear=False, base=16), load("unet"))


@pytest.mark.parametrize("r, channels, height, width", [(3, 1, 360, 640), (2, 3, 17, 23), (4, 1, 32, 32)])
def test_espcn_matches_its_reference(r, channels, height, width):
    network = load("espcn", r=r, channels=channels, height=height, width=width)
    assert network.output_shape == (channels, r * height, r * width)
    compare(ESPCN(r, channels), network)
