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


class Arithmetic(nn.Module):
    """The `add`, `sub`, `mul`, `div` layers: a op b op ... with broadcasting, or x op scalar."""

    operation: Callable = operator.add

    def __init__(self, scalar: float | None = None):
        super().__init__()
        self.scalar = scalar

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        operands = (*xs, self.scalar) if self.scalar is not None else xs
        return functools.reduce(type(self).operation, operands)


class Add(Arithmetic):
    operation = operator.add


class Mul(Arithmetic):
    operation = operator.mul


class Sub(Arithmetic):
    operation = operator.sub


class Div(Arithmetic):
    operation = operator.truediv


class Function(nn.Module):
    """A torch function a layer type stands for (torch.permute, torch.exp, ...), called with the layer's
    arguments as keywords: torch.permute(x, dims=...), torch.split(x, split_size_or_sections=..., dim=...)."""

    function: Callable = staticmethod(lambda *xs, **arguments: xs[0])

    def __init__(self, **arguments):
        super().__init__()
        self.arguments = arguments

    def forward(self, *xs: torch.Tensor):
        return type(self).function(*xs, **self.arguments)


def function_module(name: str) -> type[nn.Module]:
    """The module standing for the torch function `name` ("torch.exp")."""
    target = getattr(torch, name.rpartition(".")[2])
    if name == "torch.reshape":   # the per-sample shape: the batch axis in front
        def target(x, shape):
            return torch.reshape(x, (x.shape[0], *shape))
    return type(name.rpartition(".")[2].title(), (Function,), {"function": staticmethod(target)})


class Concat(nn.Module):
    """The `concat` merge layer: torch.cat along `dim` (batch axis 0)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


# Functions archcalc types stand for, as modules a GraphModule can hold.
FUNCTION_MODULES: dict[str, type[nn.Module]] = {"torch.add": Add, "torch.mul": Mul, "torch.sub": Sub,
                                                "torch.div": Div, "torch.cat": Concat}


def torch_class(tag: str) -> type[nn.Module]:
    """The PyTorch class a layer type names (its `pytorch`), or the module standing for its function."""
    name = layer_class(tag).pytorch
    if name in FUNCTION_MODULES:
        return FUNCTION_MODULES[name]
    if name.count(".") == 1:   # a torch function, not a torch.nn class
        return function_module(name)
    module, _, attribute = name.rpartition(".")
    return getattr(import_module(module), attribute)


TORCH_CLASS: dict[str, type[nn.Module]] = {tag: torch_class(tag) for tag in TYPE_NAMES}

# archcalc's own layer fields (type, name, inputs, trainable, expect_output_shape, call), not PyTorch's
NOT_ARGUMENTS = set(Layer.model_fields)


def first_tensor(out: object) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out  # maxpool with return_indices


def store(values: dict[str, torch.Tensor], name: str, out: object) -> None:
    """A layer's result under its name (output 0) and, for several outputs (split), NAME:0, NAME:1, ..."""
    values[name] = first_tensor(out)
    if isinstance(out, (tuple, list)):
        values.update({f"{name}:{index}": tensor for index, tensor in enumerate(out)})


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
            store(values, name, module(*(values[source] for source in sources)))
        return values[self.wiring[-1][0]]


__all__ = ["Add", "Arithmetic", "Concat", "Div", "Function", "GraphModule", "Mul", "Sub", "TORCH_CLASS", "build_module",
           "first_tensor", "store", "torch_class"]
