"""The layer types archcalc knows, one module per family; this table registers them.

A family module is imported only when a spec uses one of its types: defining pydantic models
is the larger part of start-up time, and a run needs only the types its spec names.
"""

from __future__ import annotations

from importlib import import_module
from typing import get_args

from .base import ALIASES, Layer, Outcome, Shape, Variant

# family module → the `type` names it defines (a test checks this against each module's LAYERS table)
FAMILIES: dict[str, tuple[str, ...]] = {
    "conv": ("conv1d", "conv2d", "conv3d", "convtranspose1d", "convtranspose2d", "convtranspose3d"),
    "linear": ("linear",),
    "norm": ("batchnorm1d", "batchnorm2d", "batchnorm3d", "layernorm"),
    "pool": ("maxpool1d", "maxpool2d", "maxpool3d", "avgpool1d", "avgpool2d", "avgpool3d",
             "adaptiveavgpool1d", "adaptiveavgpool2d", "adaptiveavgpool3d", "adaptivemaxpool2d"),
    "reshape": ("flatten",),
    "merge": ("add", "mul", "concat"),
    "elementwise": ("identity", "dropout", "dropout1d", "dropout2d", "dropout3d", "relu", "relu6", "leakyrelu", "elu",
                    "gelu", "silu", "mish", "sigmoid", "tanh", "hardswish", "hardsigmoid", "softmax", "logsoftmax",
                    "prelu"),
}

TYPE_NAMES: tuple[str, ...] = tuple(sorted(tag for tags in FAMILIES.values() for tag in tags))
_FAMILY_OF = {tag: family for family, tags in FAMILIES.items() for tag in tags}
_loaded: dict[str, type[Layer]] = {}


def type_tag(layer_class: type[Layer]) -> str:
    return get_args(layer_class.model_fields["type"].annotation)[0]


def layer_class(tag: str) -> type[Layer]:
    """The model class of a layer type name (lowercase); KeyError for an unknown name."""
    if tag not in _loaded:
        made = import_module(f"{__name__}.{_FAMILY_OF[tag]}").LAYERS[tag]
        _loaded[tag] = made.build(tag) if isinstance(made, Variant) else made
    return _loaded[tag]


__all__ = ["ALIASES", "FAMILIES", "Layer", "Outcome", "Shape", "TYPE_NAMES", "layer_class", "type_tag"]
