"""Embeddings and learned tensors: embedding (torch.nn.Embedding) and parameter (an nn.Parameter).

An embedding looks integer ids up in a table of V vectors of size E:
    [...] (int64 / int32 ids) → [..., E]
Parameters: V·E (the table; `padding_idx` keeps its row, whose gradient is zero). MACs: 0 — a lookup
multiplies nothing (FlopCounterMode counts none). Its `weight` is [V, E], the shape a linear LM head
with `tie:` shares: the head's weight is this table, counted once, here.

A parameter is a learned tensor with no input — a class token [1, E], a positional embedding [L, E] —
broadcast over the batch (in PyTorch an nn.Parameter of shape [1, ...] expanded to the batch, a view).
Parameters: the product of its shape. MACs: 0.
"""

from typing import Any, Literal

from pydantic import Field

from ..formula import Bind, product
from ..problems import LayerError
from .autograd import KEEP_INPUT, NOTHING, Backward, Context
from .base import END, Count, Flag, Layer, Outcome, Real, Shape, axis_names
from .counting import Rule, View

INTEGER_IDS = ("int64", "int32")


class Embedding(Layer):
    """torch.nn.Embedding: integer ids → vectors."""

    type: Literal["embedding"]
    num_embeddings: Count
    embedding_dim: Count
    padding_idx: int | None = Field(default=None, description="Its row gets no gradient; still a parameter."
                                    " Must be in [-num_embeddings, num_embeddings).")
    max_norm: Real | None = Field(default=None, description="Rows looked up are renormalized in place; no count"
                                  " changes.")
    norm_type: Real = 2.0
    scale_grad_by_freq: Flag = False
    sparse: Flag = False

    takes_integers = True
    embedding_table = True

    def check_inputs(self, shapes: list[Shape], dtypes: list[str]) -> None:
        dtype = dtypes[0]
        if dtype not in INTEGER_IDS:
            what = "a floating-point" if dtype == "float" else f"a {dtype}"
            raise LayerError(f"an embedding looks up integer ids (int64 or int32), but its input is {what} tensor"
                             " (declare the network input as {shape: [...], dtype: int64})", key="inputs",
                             code="dtype")

    def output_dtype(self, dtypes: list[str]) -> str:
        return "float"

    def _check(self) -> None:
        if self.padding_idx is not None and not -self.num_embeddings <= self.padding_idx < self.num_embeddings:
            raise LayerError(f"padding_idx {self.padding_idx:,} is outside the table of {self.num_embeddings:,} rows"
                             f" (PyTorch: \"Padding_idx must be within num_embeddings\")", key="padding_idx",
                             code="argument")

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        self._check()
        shape = inputs[0]
        names = axis_names(len(shape)) if len(shape) > 1 else ("L",)
        lead = [bind(name, size) for name, size in zip(names, shape)]
        vocab, dim = bind("V", self.num_embeddings), bind("E", self.embedding_dim)
        return Outcome(shape=[*lead, dim], params=vocab * dim, axes=(*names[:len(shape)], "E"), layout=END)

    def weight_shape(self, inputs: list[Shape]) -> tuple[int, ...]:
        return (self.num_embeddings, self.embedding_dim)

    def notes(self, inputs: list[Shape]) -> list[str]:
        notes = [f"a table of V = {self.num_embeddings:,} vectors of E = {self.embedding_dim:,}: each id is looked"
                 " up, nothing is multiplied (0 MACs)"]
        if self.padding_idx is not None:
            notes.append(f"padding_idx {self.padding_idx}: that row gets no gradient, but it is still a parameter")
        if self.max_norm is not None:
            notes.append(f"max_norm {self.max_norm:g}: the rows looked up are renormalized in place; no count changes")
        return notes

    def saved(self, context: Context) -> Backward:
        """EmbeddingBackward0 keeps the ids (the input, int64 or int32) when the table needs a gradient; a frozen
        table records nothing (integer ids never require a gradient)."""
        return KEEP_INPUT if context.trainable else NOTHING

    def parameter_tensors(self) -> int:
        return 1


class Parameter(Layer):
    """A learned tensor (nn.Parameter) broadcast over the batch: a class token, a positional embedding."""

    type: Literal["parameter"]
    shape: list[Count] = Field(min_length=1, description="Per sample, as it is broadcast over the batch: a class"
                               " token [1, 768], a positional embedding [197, 768].")

    arity = 0

    def output_dtype(self, dtypes: list[str]) -> str:
        return "float"

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        names = axis_names(len(self.shape)) if len(self.shape) != 2 else ("L", "E")
        sizes = [bind(name, size) for name, size in zip(names, self.shape)]
        return Outcome(shape=sizes, params=product(sizes), axes=names, layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        return ["a learned tensor, one for the whole batch (in PyTorch an nn.Parameter expanded over the batch: a"
                " view, no copy); its parameters are its elements; no MACs"]

    def saved(self, context: Context) -> Backward:
        """Expanding a parameter over the batch is a view: nothing is kept. Its output is the parameter's own
        storage; the layers that take it (add, concat) keep nothing of it either."""
        return NOTHING

    def parameter_tensors(self) -> int:
        return 1


# ---------------------------------------------------------------------------------------------- counting conventions
# (archcalc.layers.counting; measured against the real tools, docs/conventions.md)

Embedding.pytorch = "torch.nn.Embedding"
Embedding.convention_row = "embedding"
Embedding.module_only = True
Parameter.pytorch = "torch.nn.Parameter"
Parameter.convention_row = "parameter"


def _torchinfo_embedding(v: View) -> dict[str, int]:
    """torchinfo multiplies the `weight` parameter by the leading output size, the batch: N·V·E."""
    return {"embedding": v.N * v.params}


# Measured (nn.Embedding(50, 8) on [N, 7] ids; a module holding an nn.Parameter [1, 5, 8] and expanding it):
# FlopCounterMode, fvcore (aten::embedding unsupported), ptflops (all backends), thop and calflops count 0.
Embedding.counting = {
    "fvcore": Rule("0 (aten::embedding is an unsupported op)", lambda v: {}),
    "torchinfo": Rule("N·V·E (the weight's elements times the batch)", _torchinfo_embedding),
}
Parameter.counting = {}


TITLE = "Embeddings and learned tensors"  # the family in docs/formulas.md and docs/memory.md
ORDER = 9  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"embed": "embedding", "lookup": "embedding", "nn.parameter": "parameter", "token": "parameter"}

LAYERS = {
    "embedding": Embedding,
    "parameter": Parameter,
}

def IDS(*shape: int) -> dict:
    """An int64 network input of token ids, for the examples below."""
    return {"shape": list(shape), "dtype": "int64"}


# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "embedding": [("", {"num_embeddings": 50257, "embedding_dim": 768}, [IDS(1024)]),
                  ("padding_idx", {"num_embeddings": 20000, "embedding_dim": 128, "padding_idx": 0}, [IDS(64)])],
    "parameter": [("class token", {"shape": [1, 768]}, []),
                  ("positional embedding", {"shape": [197, 768]}, [])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
MEMORY_FACTS = {
    "embedding": "EmbeddingBackward0 keeps the ids (the input itself: int64 8 B, int32 4 B per id) when the table"
                 " is trainable, also with padding_idx, max_norm or sparse; a frozen embedding keeps nothing. The"
                 " output is a new tensor. Measured: ids [2, 7] int64 → 112 B, int32 → 56 B, frozen → 0 B.",
    "parameter": "An nn.Parameter expanded over the batch is a view of the parameter: nothing is kept and no"
                 " activation storage is made; an add or concat that takes it keeps nothing either (measured: a"
                 " [2, 5, 8] positional embedding added to a sequence, a class token concatenated: 0 B).",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "embedding": [
        ("", {"num_embeddings": 1000, "embedding_dim": 64}, [IDS(32)], None),
        ("trainable: false", {"num_embeddings": 1000, "embedding_dim": 64, "trainable": False}, [IDS(32)], None),
    ],
    "parameter": [
        ("", {"shape": [197, 768]}, [], None),
    ],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
def _embedding_from_onnx(context: Any) -> list | None:
    """Gather of run-time ids from a constant 2-d table."""
    node = context.node
    table, ids = node.input[0], node.input[1]
    if not context.is_constant(table) or context.is_constant(ids):
        return None
    shape = context.constant_shape(table)
    if len(shape) != 2 or context.attribute("axis", 0) != 0:
        raise context.unmapped(f"a lookup in a {len(shape)}-d constant along axis {context.attribute('axis', 0)}"
                               " is not an embedding table")
    return [context.layer("embedding", {"num_embeddings": shape[0], "embedding_dim": shape[1]}, [context.ref(ids)],
                          params=context.numel(table))]


def _learned_tensor(context: Any, shape: list[int], elements: int, suffix: str) -> Any:
    """A constant operand of arithmetic or a concatenation, as the tensor it is (ONNX does not tell a learned
    tensor from a buffer): `shape` per sample, broadcast over the batch."""
    return context.layer("parameter", {"shape": shape}, [], suffix=suffix, params=elements, shape_of="")


ONNX_OPERATORS = {"Gather": _embedding_from_onnx}
ONNX_HELPERS = {"learned tensor": _learned_tensor}


__all__ = ["LAYERS", "Embedding", "Parameter"]
