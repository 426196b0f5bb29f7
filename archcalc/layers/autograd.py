"""The vocabulary of the training-memory rules: what a layer keeps for backward.

Each layer family states, beside its shape, parameter and MAC rules, what PyTorch's autograd
keeps from a layer of its types between forward and backward (training mode): a method
`saved(context) -> Backward` on the layer class. The graph-level pass (`archcalc.analysis.memory`) asks every
layer in turn, knowing which inputs require a gradient and which tensor storages they are, and
counts each storage once.

A rule names what it keeps without knowing the batch size: the storage of one of its inputs, its
own output, or a new tensor with a shape template in which `BATCH` stands for the batch axis.
These are plain tuples: a 10,000-layer spec asks 10,000 rules.
"""

from __future__ import annotations

from typing import NamedTuple

from .base import Shape

BATCH = -1       # stands for the batch size in a shape template
OUTPUT = -1      # Kept.source: the layer's own output storage
NEW = -2         # Kept.source: a tensor the layer allocates (mask, indices, statistics, a copy)
MODEL = ""       # Kept.dtype: the model's dtype (--dtype)


def output_source(index: int) -> int:
    """Kept.source for the layer's output INDEX (0 is OUTPUT; 1, 2, ... the further outputs, `NAME:INDEX`)."""
    return OUTPUT if index == 0 else -10 - index



# The training set-ups `archcalc memory` models (its command-line choices live here, with the
# vocabulary, so that building the command line does not import the memory pass itself).
# Floating-point dtypes only: training needs gradients, which PyTorch gives floating tensors alone (summary's
# int8 has none to keep).
DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
OPTIMIZERS = ("none", "sgd", "momentum", "adam", "adamw")
DEVICES = ("cpu", "cuda")

class Kept(NamedTuple):
    """One tensor a layer keeps for backward.

    `source` is an input index (0, 1, ...) for that input's storage, `OUTPUT` for the layer's output
    storage (`output_source(i)` for its output i: attention weights that are the softmax itself), or `NEW`
    for a tensor of its own; for NEW, `shape` is its template (BATCH for the batch
    axis) and `dtype` its element type (MODEL: the model's dtype).
    """

    what: str
    source: int
    shape: tuple[int, ...] = ()
    dtype: str = MODEL


class Backward(NamedTuple):
    """A layer's answer: the tensors it keeps, where its output lives, and remarks.

    `alias` is the index of the input whose storage the output is (a view, the input itself, or an
    in-place result); None means a new storage. `in_place` says the layer writes over that input.
    `notes` are remarks for people (e.g. a PyTorch limitation for this configuration). `contiguous` False: the
    output is a strided view (permute, transpose), which a later reshape must copy. With an alias, every output
    of a layer with several (split, chunk) is a view of that input.
    """

    kept: tuple[Kept, ...] = ()
    alias: int | None = None
    in_place: bool = False
    notes: tuple[str, ...] = ()
    contiguous: bool = True
    # The output's memory order, batch axis included: output axis i is axis permutation[i] of the storage
    # it views (its input's order for a view, a fresh buffer for a new tensor). permute / transpose say how
    # they reorder; CPU's fused attention returns [N, H, L, D] from an [N, L, H, D] buffer. None: unchanged.
    permutation: tuple[int, ...] | None = None


class Context(NamedTuple):
    """What a rule may look at: per-sample input and output shapes (no batch axis), which inputs
    require a gradient, whether the layer has parameters that do, the model dtype and the device."""

    inputs: tuple[Shape, ...]
    output: Shape
    grads: tuple[bool, ...]
    trainable: bool
    dtype: str = "float32"
    device: str = "cpu"
    contiguous: tuple[bool, ...] = ()   # per input: False for a strided view (after permute, transpose)

    @property
    def needs_grad(self) -> bool:
        """Autograd records the op (and keeps what its formula needs) when any input or parameter
        requires a gradient."""
        return self.trainable or True in self.grads

    @property
    def stats_dtype(self) -> str:
        """Normalization statistics: the input's dtype on CPU; float32 (the accumulation type) for
        float16/bfloat16 on CUDA."""
        return "float32" if self.device == "cuda" and self.dtype in ("float16", "bfloat16") else MODEL


# Shared, immutable answers: most layers keep one of these.
NOTHING = Backward()
ALIAS = Backward(alias=0)                       # a view or the input itself, nothing kept
KEEP_INPUT = Backward((Kept("input", 0),))
KEEP_OUTPUT = Backward((Kept("output", OUTPUT),))


def batched(shape: Shape) -> tuple[int, ...]:
    """The shape template of a per-sample shape with the batch axis in front."""
    return (BATCH, *shape)


__all__ = ["ALIAS", "BATCH", "Backward", "Context", "KEEP_INPUT", "KEEP_OUTPUT", "Kept", "MODEL", "NEW", "NOTHING",
           "OUTPUT", "batched", "output_source"]
