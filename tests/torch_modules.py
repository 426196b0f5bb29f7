"""Real PyTorch modules for archcalc specs, shared by the cross-check test modules.

Import it only after `pytest.importorskip("torch")`: it imports torch.
"""

from __future__ import annotations

import functools
import operator
from importlib import import_module
from typing import Callable

import torch
from torch import nn

import archcalc
from archcalc.layers import TYPE_NAMES, Layer, layer_class


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


# Functions archcalc types stand for, as modules a GraphModule can hold.
FUNCTION_MODULES: dict[str, type[nn.Module]] = {"torch.add": Add, "torch.mul": Mul, "torch.cat": Concat}


def torch_class(tag: str) -> type[nn.Module]:
    """The PyTorch class a layer type names (its `pytorch`), or the module standing for its function."""
    name = layer_class(tag).pytorch
    if name in FUNCTION_MODULES:
        return FUNCTION_MODULES[name]
    module, _, attribute = name.rpartition(".")
    return getattr(import_module(module), attribute)


TORCH_CLASS: dict[str, type[nn.Module]] = {tag: torch_class(tag) for tag in TYPE_NAMES}

# archcalc's own layer fields (type, name, inputs, trainable, expect_output_shape, call), not PyTorch's
NOT_ARGUMENTS = set(Layer.model_fields)


def first_tensor(out: object) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out  # maxpool with return_indices


def build_module(layer: archcalc.LayerResult, inplace: bool = True) -> nn.Module:
    """The torch module of one layer: the arguments the spec set, torch's defaults for the others.
    `inplace=False` turns in-place layers into ordinary ones (when other branches still read the input)."""
    kwargs = layer.spec.model_dump(exclude_unset=True, exclude=NOT_ARGUMENTS)
    inferred = type(layer.spec).inferred_argument
    if inferred is not None:
        argument, axis = inferred
        kwargs.setdefault(argument, layer.input_shapes[0][axis])
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


__all__ = ["Add", "Concat", "GraphModule", "Mul", "TORCH_CLASS", "build_module", "first_tensor", "torch_class"]
