"""The registry read by PyTorch name: the bridges reach layer types only through the `pytorch` name each family
module gives its types ("torch.nn.Conv2d", "torch.cat"), so a type is still named in its family module alone."""

from __future__ import annotations

from functools import lru_cache


def pytorch_name(tag: str) -> str:
    """What a type stands for in PyTorch: `torch.nn.LSTM`, `torch.add`, `torch.nn.functional.scaled_dot_product_attention`."""
    from ..layers import layer_class

    return layer_class(tag).pytorch


@lru_cache(maxsize=1)
def _tags() -> dict[str, str]:
    from ..layers import TYPE_NAMES, layer_class

    found: dict[str, str] = {}
    for tag in TYPE_NAMES:
        found.setdefault(layer_class(tag).pytorch, tag)
    return found


def tag_of(pytorch: str) -> str:
    """The type a PyTorch class or function stands for (KeyError when none does)."""
    return _tags()[pytorch]


__all__ = ["pytorch_name", "tag_of"]
