"""The layer types archcalc knows, one module per family; this table registers them."""

from __future__ import annotations

from typing import get_args

from . import conv, elementwise, linear, norm, pool, reshape
from .base import ALIASES, Layer, Outcome, Shape

_FAMILIES = (conv, linear, norm, pool, reshape, elementwise)


def _tag(layer_class: type[Layer]) -> str:
    return get_args(layer_class.model_fields["type"].annotation)[0]


LAYER_TYPES: dict[str, type[Layer]] = {_tag(cls): cls for family in _FAMILIES for cls in family.LAYERS}

__all__ = ["ALIASES", "LAYER_TYPES", "Layer", "Outcome", "Shape"]
