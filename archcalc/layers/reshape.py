"""Flatten (torch.nn.Flatten): merges axes start_dim..end_dim into one.

Axis numbers count the batch axis as 0, as in PyTorch; the defaults (1, -1) flatten
everything but the batch. Output size of the merged axis: the product of the merged sizes.
"""

import math
from typing import Any, Literal

from ..formula import Bind, product
from ..problems import LayerError
from .autograd import ALIAS, NOTHING, Backward, Context
from .base import END, KEEP, Axis, Layer, Outcome, Shape, axis_names


def batch_axis(layer: Layer, key: str, dim: int, rank: int) -> int:
    """Normalize a PyTorch axis number (batch axis = 0) for a per-sample shape of `rank` axes."""
    full_rank = rank + 1
    if not -full_rank <= dim < full_rank:
        raise LayerError(f"{key} {dim} is out of range for a {full_rank}-axis tensor with the batch axis"
                         f" (expected {-full_rank}..{full_rank - 1})", key=key, code="axis")
    return dim + full_rank if dim < 0 else dim


class Flatten(Layer):
    """torch.nn.Flatten."""

    type: Literal["flatten"]
    start_dim: Axis = 1
    end_dim: Axis = -1

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        start = batch_axis(self, "start_dim", self.start_dim, len(shape))
        end = batch_axis(self, "end_dim", self.end_dim, len(shape))
        if start == 0:
            raise LayerError("start_dim 0 would merge the batch axis into the features; per-sample counts need"
                             " it kept (use start_dim 1)", key="start_dim", code="axis")
        if start > end:
            raise LayerError(f"start_dim ({self.start_dim}) comes after end_dim ({self.end_dim})", key="start_dim",
                             code="axis")
        # per-sample axis i is batch axis i + 1
        names = axis_names(len(shape))
        merged = product(bind(names[axis - 1], shape[axis - 1]) for axis in range(start, end + 1))
        out = [*shape[:start - 1], merged, *shape[end:]]
        layout = KEEP if start == end else END
        return Outcome(shape=out, axes=axis_names(len(out)), layout=layout)

    def notes(self, inputs: list[Shape]) -> list[str]:
        start = batch_axis(self, "start_dim", self.start_dim, len(inputs[0]))
        end = batch_axis(self, "end_dim", self.end_dim, len(inputs[0]))
        return [f"merges axes {start}..{end} of the input (axis numbers count the batch axis as 0, as in PyTorch)"]

    def saved(self, context: Context) -> Backward:
        """A view of a contiguous input: the same storage, nothing kept; a strided input (after permute or
        transpose) is copied into a new tensor, still nothing kept."""
        if context.contiguous and not context.contiguous[0]:
            return NOTHING
        return ALIAS


# Counting conventions: no tool counts a flatten (archcalc.layers.counting, docs/conventions.md). The type is
# nn.Flatten, a module that hooks see (torchsummary prints its row), so its default call is `module`, as for
# every other class; a `torch.flatten(x, 1)` in forward (torchvision) is `call: operator`.
Flatten.pytorch = "torch.nn.Flatten"
Flatten.convention_row = "flatten"

TITLE = "Reshaping"  # the family in docs/formulas.md and docs/memory.md
ORDER = 5  # its place there

LAYERS = {
    "flatten": Flatten,
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "flatten": [("", {}, [[16, 5, 5]]), ("start_dim 2", {"start_dim": 2}, [[64, 7, 7]])],
}

# Training memory (docs/memory.md): the measured fact behind the `saved` rule above.
MEMORY_FACTS = {
    "flatten": "A view: the output is the input's storage, and ViewBackward keeps only sizes. A layer that keeps"
               " the flattened tensor keeps the same storage as one that keeps the unflattened one (ReLU → flatten"
               " → linear: the linear adds 0 B).",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "flatten": [
        ("", {}, [[64, 7, 7]], None),
    ],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes this type stands for; `context` reads the node.
def _flatten_from_onnx(context: Any) -> list | None:
    """Flatten at axis 1; a Reshape of a tensor of more than two axes to [N, -1] (x.view(x.size(0), -1))."""
    node = context.node
    if node.op_type == "Flatten":
        axis = context.attribute("axis", 1) % max(context.rank(), 1)
        if axis != 1:
            raise context.unmapped(f"Flatten at axis {axis} merges the batch axis with others (axis 1 keeps it apart)")
        return [context.layer("flatten", {})]
    source, target = context.shape(node.input[0]), context.ints(node.input[1])
    if len(source) > 2 and len(target) == 2 and target[0] in (0, source[0]) and target[1] in (-1, math.prod(source[1:])):
        return [context.layer("flatten", {})]
    return None


ONNX_OPERATORS = {"Flatten": _flatten_from_onnx, "Reshape": _flatten_from_onnx}


__all__ = ["Flatten", "LAYERS", "batch_axis"]
