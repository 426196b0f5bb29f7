"""Real PyTorch modules for archcalc specs, shared by the cross-check test modules.

Import it only after `pytest.importorskip("torch")`: it imports torch.
"""

from __future__ import annotations

import functools
import operator
from typing import Callable

import torch
from torch import nn

import archcalc
from archcalc.layers import Layer


class Add(nn.Module):
    """The `add` merge layer: a + b + ..."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(operator.add, xs)


class Mul(nn.Module):
    """The `mul` merge layer: a * b * ... with broadcasting."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(operator.mul, xs)


class Concat(nn.Module):
    """The `concat` merge layer: torch.cat along `dim` (batch axis 0)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


TORCH_CLASS: dict[str, type[nn.Module]] = {
    "conv1d": nn.Conv1d, "conv2d": nn.Conv2d, "conv3d": nn.Conv3d,
    "convtranspose1d": nn.ConvTranspose1d, "convtranspose2d": nn.ConvTranspose2d,
    "convtranspose3d": nn.ConvTranspose3d,
    "linear": nn.Linear,
    "batchnorm1d": nn.BatchNorm1d, "batchnorm2d": nn.BatchNorm2d, "batchnorm3d": nn.BatchNorm3d,
    "layernorm": nn.LayerNorm,
    "maxpool1d": nn.MaxPool1d, "maxpool2d": nn.MaxPool2d, "maxpool3d": nn.MaxPool3d,
    "avgpool1d": nn.AvgPool1d, "avgpool2d": nn.AvgPool2d, "avgpool3d": nn.AvgPool3d,
    "adaptiveavgpool1d": nn.AdaptiveAvgPool1d, "adaptiveavgpool2d": nn.AdaptiveAvgPool2d,
    "adaptiveavgpool3d": nn.AdaptiveAvgPool3d, "adaptivemaxpool2d": nn.AdaptiveMaxPool2d,
    "flatten": nn.Flatten,
    "identity": nn.Identity,
    "dropout": nn.Dropout, "dropout1d": nn.Dropout1d, "dropout2d": nn.Dropout2d, "dropout3d": nn.Dropout3d,
    "relu": nn.ReLU, "relu6": nn.ReLU6, "leakyrelu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU,
    "silu": nn.SiLU, "mish": nn.Mish, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid, "softmax": nn.Softmax, "logsoftmax": nn.LogSoftmax, "prelu": nn.PReLU,
    "add": Add, "mul": Mul, "concat": Concat,
}

# Input-size constructor arguments archcalc infers: argument name, and how torch reads it off the input.
INFERRED: dict[str, tuple[str, Callable[[tuple[int, ...]], int]]] = {
    **{kind: ("in_channels", lambda shape: shape[0]) for kind in TORCH_CLASS if kind.startswith("conv")},
    **{kind: ("num_features", lambda shape: shape[0]) for kind in TORCH_CLASS if kind.startswith("batchnorm")},
    "linear": ("in_features", lambda shape: shape[-1]),
}

# archcalc's own layer fields (type, name, inputs, trainable, expect_output_shape, call), not PyTorch's
NOT_ARGUMENTS = set(Layer.model_fields)


def first_tensor(out: object) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out  # maxpool with return_indices


def build_module(layer: archcalc.LayerResult, inplace: bool = True) -> nn.Module:
    """The torch module of one layer: the arguments the spec set, torch's defaults for the others.
    `inplace=False` turns in-place layers into ordinary ones (when other branches still read the input)."""
    kwargs = layer.spec.model_dump(exclude_unset=True, exclude=NOT_ARGUMENTS)
    if layer.type in INFERRED:
        argument, read = INFERRED[layer.type]
        kwargs.setdefault(argument, read(layer.input_shapes[0]))
    if not inplace and kwargs.get("inplace"):
        kwargs["inplace"] = False
    module = TORCH_CLASS[layer.type](**kwargs)
    if not layer.spec.trainable:
        module.requires_grad_(False)
    return module


class GraphModule(nn.Module):
    """A whole spec as one nn.Module: the layers' modules, wired by their `sources`."""

    def __init__(self, network: archcalc.Network, inplace: bool = True):
        super().__init__()
        self.wiring = [(layer.name, layer.sources) for layer in network.layers]
        self.layers = nn.ModuleList(build_module(layer, inplace) for layer in network.layers)

    def forward(self, x: torch.Tensor, on_layer: Callable[[str], None] | None = None) -> torch.Tensor:
        values = {"input": x}
        for (name, sources), module in zip(self.wiring, self.layers):
            if on_layer is not None:
                on_layer(name)
            values[name] = first_tensor(module(*(values[source] for source in sources)))
        return values[self.wiring[-1][0]]


__all__ = ["Add", "Concat", "GraphModule", "Mul", "TORCH_CLASS", "build_module", "first_tensor"]
