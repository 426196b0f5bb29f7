"""Where the compute and the parameters are: the network's totals split by layer type and by block.

A block group is what the spec's top level lists: a block use (with `repeat`, all its instances
together: `layer2`, bottleneck ×4) or a layer written at the top level. The groups partition the
layers, so each split adds up to the network's totals exactly.
"""

from __future__ import annotations

from typing import NamedTuple

from ..network import Network


class Share(NamedTuple):
    """One part of the network: its label, what it is (a layer type, a block, a top-level layer), and its sums."""

    label: str
    kind: str
    layers: int
    params: int
    macs: int
    first: str          # the name of its first layer, to link to


def by_type(network: Network) -> list[Share]:
    """One share per layer type, in the order the types first appear."""
    shares: dict[str, list] = {}
    for layer in network.layers:
        entry = shares.setdefault(layer.type, [0, 0, 0, layer.name])
        entry[0] += 1
        entry[1] += layer.params
        entry[2] += layer.macs
    return [Share(tag, "layer type", count, params, macs, first) for tag, (count, params, macs, first) in shares.items()]


def _scopes(network: Network) -> list[tuple]:
    """Each layer's enclosing block instances (`archcalc.spec.blocks.Scope`, outermost first); none when the
    spec has no blocks."""
    layers = network.source.get("layers") if isinstance(network.source, dict) else None
    scopes = getattr(layers, "scopes", None)
    if scopes is None or len(scopes) != len(network.layers):
        return [()] * len(network.layers)
    return list(scopes)


def by_block(network: Network) -> list[Share]:
    """One share per top-level entry of the spec: a block use (its repeat group, or its one instance) or a
    top-level layer, in the spec's order."""
    shares: dict[str, list] = {}
    for layer, scopes in zip(network.layers, _scopes(network)):
        if scopes:
            outer = scopes[0]
            label = outer.repeat or outer.instance
            kind = f"{outer.block} ×{outer.count}" if outer.repeat else outer.block
        else:
            label, kind = layer.name, layer.type
        entry = shares.setdefault(label, [kind, 0, 0, 0, layer.name])
        entry[1] += 1
        entry[2] += layer.params
        entry[3] += layer.macs
    return [Share(label, kind, count, params, macs, first)
            for label, (kind, count, params, macs, first) in shares.items()]


def has_blocks(network: Network) -> bool:
    return any(_scopes(network))


__all__ = ["Share", "by_block", "by_type", "has_blocks"]
