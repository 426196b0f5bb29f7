"""Budgets and expectations a spec declares about itself (`expect:`, archcalc.spec.budgets), checked.

`max_activation_memory` bounds torchsummary's forward/backward figure: every layer's output,
twice (value and gradient), at that batch size and dtype.
"""

from __future__ import annotations

from ..network import Network
from ..problems import Problem
from ..spec.yaml_source import locate

def _grouped(number: int) -> str:
    return f"{number:,}"


def check_budgets(network: Network) -> list[Problem]:
    """Every budget the network exceeds and every expected shape it does not have, located at the budget."""
    found: list[Problem] = []
    expect = network.expect

    def report(location: tuple, message: str, code: str, layer: str | None = None) -> None:
        found.append(Problem(network.path, *locate(network.source, location), message, layer=layer, code=code))

    totals = network.totals
    if expect is not None:
        for key, actual, what in (("max_params", totals.params, "parameters"),
                                  ("max_trainable_params", totals.trainable_params, "trainable parameters"),
                                  ("max_macs", totals.macs, "MACs")):
            allowed = getattr(expect, key)
            if allowed is not None and actual > allowed:
                report(("expect", key), f"{_grouped(actual)} {what} exceed {key} {_grouped(allowed)}"
                                        f" (by {_grouped(actual - allowed)})", "budget")
        if expect.max_activation_memory is not None:
            memory = network.summary(batch_size=expect.batch_size, dtype=expect.dtype).memory
            actual = memory.forward_backward_bytes
            if actual > expect.max_activation_memory:
                report(("expect", "max_activation_memory"),
                       f"activation memory {_grouped(actual)} bytes (forward/backward, batch {expect.batch_size},"
                       f" {expect.dtype}) exceeds max_activation_memory {_grouped(expect.max_activation_memory)} bytes",
                       "budget")
        if expect.output_shape is not None and list(network.output_shape) != expect.output_shape:
            report(("expect", "output_shape"), f"the network's output shape is {list(network.output_shape)}, expected"
                                               f" {expect.output_shape}", "expectation")
    for layer in network.layers:
        wanted = layer.spec.expect_output_shape
        if wanted is not None and list(layer.output_shape) != wanted:
            report(("layers", layer.index, "expect_output_shape"),
                   f"{layer.type} {layer.name!r}: output shape is {list(layer.output_shape)}, expected {wanted}",
                   "expectation", layer.name)
    return found


__all__ = ["check_budgets"]
