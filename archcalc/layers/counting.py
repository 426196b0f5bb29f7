"""The vocabulary of counting conventions, for layer modules: each layer type answers every tool itself.

A counting convention (archcalc.analysis.conventions) is a tool's metadata — its version, how it is
called, what it prints — plus a name under which layer types register their rule, as JAX primitives
register one rule per interpretation beside the primitive. A layer class says:

    convention_row = "conv"             # the row of docs/conventions.md it shares with similar types
    counting = {"fvcore": Rule("N·M", lambda v: {"conv": v.N * v.M}), ...}

and a convention whose tool counts nothing for the type simply finds no rule (0). A rule sees one
layer through a `View`; its count is itemized by category ({"conv": ..., "bias": ...}).

Notation (per sample, as everywhere in archcalc): N batch size, X input elements, Y output elements,
M archcalc's MACs, K kernel elements, C channels, P_out output positions, R = X / F_in rows.
Hook-based tools see only what the PyTorch model calls, so some rules depend on `v.call` (module,
function or operator) and on the convention's options (`v.functional`, `v.training`).
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any, NamedTuple

Count = Callable[["View"], dict[str, int]]


class Rule(NamedTuple):
    """One layer type under one convention: the rule as text (docs) and as a function (an itemized count).
    `text` may depend on the convention's options (e.g. ptflops' count_functional)."""

    text: str | Callable[[dict[str, Any]], str]
    count: Count

    def describe(self, options: dict[str, Any]) -> str:
        return self.text(options) if callable(self.text) else self.text


class View:
    """One layer call as a counting rule sees it: per-sample sizes, the layer's arguments (`spec`), the
    batch size N, how the model calls it, and the options of the convention counting it."""

    def __init__(self, layer: Any, batch_size: int, options: dict[str, Any]):
        self.layer, self.spec, self.N = layer, layer.spec, batch_size
        self.type = layer.type
        self.call = self.spec.call or type(self.spec).default_call
        self.module = self.call == "module"
        self.X = prod(layer.input_shapes[0]) if layer.input_shapes else 0   # a learned tensor has no input
        self.Y = layer.output_elements
        self.M = layer.macs
        self.params = layer.params
        self.functional = bool(options.get("functional"))
        self.training = bool(options.get("training"))

    @property
    def bias(self) -> bool:
        return bool(getattr(self.spec, "bias", False))

    @property
    def affine(self) -> bool:
        return bool(getattr(self.spec, "affine", getattr(self.spec, "elementwise_affine", False)))


def batch_macs(category: str) -> Count:
    """N·M under `category`: the whole batch's multiply-accumulates, no bias (FlopCounterMode's count)."""
    return lambda v: {category: v.N * v.M}


def macs_and_bias(category: str, whole_batch: bool = True) -> Count:
    """M plus one addition per output element for the bias, for the whole batch or (hooks that divide by the
    batch, ptflops) per sample."""
    def count(v: View) -> dict[str, int]:
        n = v.N if whole_batch else 1
        return {category: n * v.M, "bias": n * v.bias * v.Y}
    return count


def per_axis_values(raw: Any, output_shape: tuple[int, ...]) -> list[int]:
    """An int-or-list argument as one value per spatial axis of a [C, ...] output."""
    return [raw] * (len(output_shape) - 1) if isinstance(raw, int) else list(raw)


def only_module(text: str, count: Count) -> Rule:
    """Hook-based tools see modules only: a function or operator call counts 0."""
    return Rule(text, lambda v: count(v) if v.module else {})


def ptflops_numel(category: str, module: int = 1, function: int = 1) -> Count:
    """ptflops: a module hook counts X per sample; with count_functional the patched F.* inside (or called
    directly) counts the whole batch, N·X; an operator is never seen."""
    def count(v: View) -> dict[str, int]:
        f = 1 if v.functional else 0
        if v.module:
            return {category: module * v.X + f * v.N * v.X}
        return {category: function * f * v.N * v.X if v.call == "function" else 0}
    return count


def ptflops_twice(options: dict[str, Any]) -> str:
    return ("module: X + N·X (hook + the patched F.* it calls), function: N·X" if options.get("functional")
            else "module: X")


def calflops_patched(category: str) -> Count:
    """calflops patches torch.nn.functional: a module or F.* call counts N·X; an operator is not seen."""
    return lambda v: {category: v.N * v.X} if v.call != "operator" else {}


CALFLOPS_MODULE_OR_FUNCTION = "module or F.* function: N·X; operator or torch.* (x.relu(), torch.relu): 0"

__all__ = ["CALFLOPS_MODULE_OR_FUNCTION", "Count", "Rule", "View", "batch_macs", "calflops_patched", "macs_and_bias",
           "only_module",
           "per_axis_values", "ptflops_numel", "ptflops_twice"]
