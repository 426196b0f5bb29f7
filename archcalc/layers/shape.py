"""Shape operations: reshape, permute, transpose, split, chunk, select and mean (torch functions and methods).

They move elements (ids too: integer tensors are welcome, except for `mean`); none has parameters or MACs.
Axis arguments count the batch axis as 0, which stays where it is:
    reshape   the per-sample `shape`, one −1 inferred: its elements must equal the input's
    permute   `dims` a permutation of 0..rank with dims[0] = 0;  transpose swaps `dim0` and `dim1`
    split     pieces of `split_size_or_sections` (an int: ⌈I / s⌉ pieces, the last smaller; a list: its sizes)
    chunk     s = ⌈I / chunks⌉, then ⌈I / s⌉ pieces (PyTorch's rule: sometimes fewer than `chunks`)
    select    x.select(dim, index) = x[:, index] for dim 1: the axis disappears
    mean      over `dim` (an int or a list), the axes kept as 1 with `keepdim`
"""

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import PlainValidator, WithJsonSchema

from ..formula import Bind, ceil_div, exact_div, product, value
from ..problems import LayerError
from .autograd import ALIAS, NOTHING, Backward, Context
from .base import END, INT64_MAX, Axis, Count, Flag, Layer, Outcome, Shape, axis_names, describe, python_literal
from .reshape import batch_axis


def _list_checker(minimum: int, what: str, allow: tuple[int, ...] = (), one: bool = False) -> Any:
    def check(raw: Any) -> Any:
        if one and isinstance(raw, int) and not isinstance(raw, bool):
            raw = [raw]
            single = True
        else:
            single = False
        if not isinstance(raw, (list, tuple)) or (not raw and minimum > 0):
            raise ValueError(f"expected {what}, got {describe(raw)}")
        for item in raw:
            if isinstance(item, bool) or not isinstance(item, int) or (item < minimum and item not in allow):
                raise ValueError(f"expected {what}, got the item {describe(item)}")
            if abs(item) > INT64_MAX:
                raise ValueError(f"{item:,} is beyond the int64 range")
        return raw[0] if single else tuple(raw)
    return check


def _list_schema(minimum: int | None, one: bool = False) -> dict[str, Any]:
    item = {"type": "integer"} if minimum is None else {"type": "integer", "minimum": minimum}
    listed = {"type": "array", "items": item, "minItems": 1}
    return {"anyOf": [item, listed]} if one else listed


TargetShape = Annotated[tuple[int, ...], PlainValidator(_list_checker(1, "a list of sizes (one may be -1)", (-1,))),
                        WithJsonSchema({"type": "array", "items": {"type": "integer", "minimum": -1}, "minItems": 1})]
Axes = Annotated[tuple[int, ...], PlainValidator(_list_checker(-INT64_MAX, "a list of axis numbers")),
                 WithJsonSchema(_list_schema(None))]
OneOrMoreAxes = Annotated[Any, PlainValidator(_list_checker(-INT64_MAX, "an axis or a list of axes", one=True)),
                          WithJsonSchema(_list_schema(None, one=True))]
Sections = Annotated[Any, PlainValidator(_list_checker(0, "a piece size or a list of piece sizes", one=True)),
                     WithJsonSchema(_list_schema(0, one=True))]


class _ShapeOp(Layer):
    takes_integers: ClassVar[bool] = True
    default_call: ClassVar[str] = "function"

    def _feature_axis(self, key: str, dim: int, shape: Shape, what: str) -> int:
        """The per-sample axis of a PyTorch axis number; the batch axis (0) is refused."""
        axis = batch_axis(self, key, dim, len(shape))
        if axis == 0:
            raise LayerError(f"{key} {dim} is the batch axis: a {self.type} {what} per-sample axes only (axis numbers"
                             " count the batch axis as 0)", key=key, code="axis")
        return axis - 1

    def saved(self, context: Context) -> Backward:
        """A view of its input (sizes and strides only): the same storage, nothing kept."""
        return ALIAS


class Reshape(_ShapeOp):
    """torch.reshape(x, (N, *shape)): the per-sample `shape`, one −1 inferred."""

    type: Literal["reshape"]
    shape: TargetShape

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        source = inputs[0]
        if self.shape.count(-1) > 1:
            raise LayerError(f"shape {list(self.shape)} has more than one -1 (only one size can be inferred)",
                             key="shape", code="argument")
        elements = product(bind(name, size) for name, size in zip(axis_names(len(source)), source))
        total = value(elements)
        known = product(size for size in self.shape if size != -1)
        if -1 in self.shape:
            if total % known:
                raise LayerError(f"shape {list(self.shape)} cannot hold the input's {total:,} elements: {total:,} is"
                                 f" not a multiple of the other sizes' product {known:,}", key="shape",
                                 code="mismatch")
            out = [exact_div(elements, known) if size == -1 else size for size in self.shape]
        else:
            if known != total:
                raise LayerError(f"shape {list(self.shape)} has {known:,} elements but the input {list(source)} has"
                                 f" {total:,}", key="shape", code="mismatch")
            out = list(self.shape)
        return Outcome(shape=out, axes=axis_names(len(out)), layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        return ["the per-sample shape (the batch axis stays in front); a −1 is the input's elements divided by the"
                " other sizes; a view of a contiguous input, a copy of another (after permute or transpose)"]

    def saved(self, context: Context) -> Backward:
        """A view of a contiguous input; a non-contiguous one (permuted, transposed, a selected row) is copied
        into a new tensor. Either way ViewBackward0 / UnsafeViewBackward0 keep only sizes."""
        if context.contiguous and not context.contiguous[0]:
            return NOTHING
        return ALIAS


class Permute(_ShapeOp):
    """torch.permute(x, dims): dims counts the batch axis as 0, which must stay first."""

    type: Literal["permute"]
    dims: Axes

    def _order(self, shape: Shape) -> list[int]:
        rank = len(shape) + 1
        if len(self.dims) != rank:
            raise LayerError(f"dims has {len(self.dims)} axes but the input has {rank} with the batch axis",
                             key="dims", code="argument")
        order = [batch_axis(self, "dims", dim, len(shape)) for dim in self.dims]
        if sorted(order) != list(range(rank)):
            raise LayerError(f"dims {list(self.dims)} is not a permutation of the axes 0..{rank - 1} (an axis repeats)",
                             key="dims", code="argument")
        if order[0] != 0:
            raise LayerError(f"dims {list(self.dims)} moves the batch axis (dims[0] must be 0)", key="dims",
                             code="axis")
        return [axis - 1 for axis in order[1:]]

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape, names = inputs[0], axis_names(len(inputs[0]))
        order = self._order(shape)
        return Outcome(shape=[bind(names[i], shape[i]) for i in order], axes=[names[i] for i in order], layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        return ["reorders the axes (a view: no copy, no parameters, no MACs); the result is not contiguous"]

    def saved(self, context: Context) -> Backward:
        """A strided view of its input (PermuteBackward0 keeps the dims): the same storage, nothing kept."""
        return Backward(alias=0, contiguous=False, permutation=(0, *(axis + 1 for axis in self._order(context.inputs[0]))))


class Transpose(_ShapeOp):
    """torch.transpose(x, dim0, dim1)."""

    type: Literal["transpose"]
    dim0: Axis
    dim1: Axis

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape, names = inputs[0], axis_names(len(inputs[0]))
        first = batch_axis(self, "dim0", self.dim0, len(shape))
        second = batch_axis(self, "dim1", self.dim1, len(shape))
        if (first == 0) != (second == 0):
            raise LayerError(f"transposing dims {self.dim0} and {self.dim1} moves the batch axis (axis 0)",
                             key="dim0" if first == 0 else "dim1", code="axis")
        order = list(range(len(shape)))
        if first:
            order[first - 1], order[second - 1] = order[second - 1], order[first - 1]
        return Outcome(shape=[bind(names[i], shape[i]) for i in order], axes=[names[i] for i in order], layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        return [f"swaps axes {self.dim0} and {self.dim1} (batch axis = 0): a view, not contiguous"]

    def saved(self, context: Context) -> Backward:
        """A strided view of its input (TransposeBackward0 keeps the dims): nothing kept."""
        rank = len(context.inputs[0]) + 1
        first, second = self.dim0 % rank, self.dim1 % rank
        if first == second:
            return ALIAS
        order = list(range(rank))
        order[first], order[second] = order[second], order[first]
        return Backward(alias=0, contiguous=False, permutation=tuple(order))


class _Pieces(_ShapeOp):
    bare_reference: ClassVar[bool] = False
    dim: Axis = 0

    def _sizes(self, size: int) -> list[int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        axis = self._feature_axis("dim", self.dim, shape, "splits")
        sizes = self._sizes(shape[axis])
        name = axis_names(len(shape))[axis]
        pieces = [[*shape[:axis], size, *shape[axis + 1:]] for size in sizes]
        if len(sizes) > 1 and isinstance(self, Chunk):
            s = ceil_div(bind(name, shape[axis]), bind("chunks", self.chunks))
            pieces[0][axis] = s
        return Outcome(shape=pieces[0], more_outputs=pieces[1:], axes=axis_names(len(shape)), layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        axis = self._feature_axis("dim", self.dim, inputs[0], "splits")
        sizes = self._sizes(inputs[0][axis])
        return [f"{len(sizes)} pieces along dim {self.dim} of sizes {', '.join(map(str, sizes))}, referenced as"
                f" NAME:0 … NAME:{len(sizes) - 1}; views of the input, no parameters, no MACs"]

    def saved(self, context: Context) -> Backward:
        """Every piece is a view of the input (SplitBackward0 keeps sizes only): nothing kept. Per sample a piece
        is contiguous when it splits the first per-sample axis; a later axis gives strided pieces."""
        return _PIECES if batch_axis(self, "dim", self.dim, len(context.inputs[0])) == 1 else _STRIDED


class Split(_Pieces):
    """torch.split(x, split_size_or_sections, dim): one output per piece."""

    type: Literal["split"]
    split_size_or_sections: Sections

    def _sizes(self, size: int) -> list[int]:
        sections = self.split_size_or_sections
        if isinstance(sections, int):
            if sections < 1:
                raise LayerError("split_size_or_sections 0 cannot split a non-empty axis", key="split_size_or_sections",
                                 code="argument")
            return [min(sections, size - start) for start in range(0, size, sections)]
        if sum(sections) != size:
            raise LayerError(f"the sections {list(sections)} add up to {sum(sections):,} but dim {self.dim} has size"
                             f" {size:,}", key="split_size_or_sections", code="mismatch")
        if 0 in sections:
            raise LayerError("a section of size 0 would be an empty output", key="split_size_or_sections",
                             code="too-small")
        return list(sections)


class Chunk(_Pieces):
    """torch.chunk(x, chunks, dim): pieces of ⌈I / chunks⌉, as many as that gives."""

    type: Literal["chunk"]
    chunks: Count

    def _sizes(self, size: int) -> list[int]:
        step = -(-size // self.chunks)
        return [min(step, size - start) for start in range(0, size, step)]


class Select(_ShapeOp):
    """x.select(dim, index) (x[:, index] for dim 1): the axis disappears."""

    type: Literal["select"]
    dim: Axis
    index: int

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        axis = self._feature_axis("dim", self.dim, shape, "selects from")
        if not -shape[axis] <= self.index < shape[axis]:
            raise LayerError(f"index {self.index} is out of range for dim {self.dim} of size {shape[axis]:,}"
                             f" (expected {-shape[axis]}..{shape[axis] - 1})", key="index", code="argument")
        names = axis_names(len(shape))
        out = [bind(names[i], size) for i, size in enumerate(shape) if i != axis]
        return Outcome(shape=out, axes=[names[i] for i in range(len(shape)) if i != axis], layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        return [f"keeps position {self.index} of dim {self.dim} and drops that axis: a view, no parameters, no MACs"]

    def saved(self, context: Context) -> Backward:
        """A view of the input (SelectBackward0 keeps sizes); strided unless it selects on the first axis."""
        axis = batch_axis(self, "dim", self.dim, len(context.inputs[0]))
        return ALIAS if axis == 1 else _STRIDED


class Mean(_ShapeOp):
    """torch.mean(x, dim, keepdim): a floating-point reduction over per-sample axes."""

    type: Literal["mean"]
    takes_integers: ClassVar[bool] = False
    dim: OneOrMoreAxes
    keepdim: Flag = False

    def _axes(self, shape: Shape) -> set[int]:
        dims = self.dim if isinstance(self.dim, tuple) else (self.dim,)
        axes = [self._feature_axis("dim", dim, shape, "averages") for dim in dims]
        if len(set(axes)) != len(axes):
            raise LayerError(f"dim {list(dims)} names an axis twice", key="dim", code="argument")
        return set(axes)

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape, names = inputs[0], axis_names(len(inputs[0]))
        axes = self._axes(shape)
        if self.keepdim:
            out = [1 if i in axes else bind(names[i], size) for i, size in enumerate(shape)]
        else:
            out = [bind(names[i], size) for i, size in enumerate(shape) if i not in axes]
        return Outcome(shape=out, axes=axis_names(len(out)), layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        return [f"averages over dim {self.dim}" + (" (kept as size 1)" if self.keepdim else "")
                + ": a reduction (additions and one division per output), no MACs"]

    def saved(self, context: Context) -> Backward:
        """MeanBackward1 keeps only sizes; the result is a new tensor."""
        return NOTHING


_STRIDED = Backward(alias=0, contiguous=False)
_PIECES = ALIAS

# ---------------------------------------------------------------------------------------------- counting conventions
# (archcalc.layers.counting; measured against the real tools, docs/conventions.md)
for _class, _function in ((Reshape, "torch.reshape"), (Permute, "torch.permute"), (Transpose, "torch.transpose"),
                          (Split, "torch.split"), (Chunk, "torch.chunk"), (Select, "torch.select"),
                          (Mean, "torch.mean")):
    _class.pytorch = _function
    _class.convention_row = "reshape, permute, transpose, split, chunk, select"
# the exported forward's expressions (`Layer.pytorch_call`)
Reshape.pytorch_call = staticmethod(lambda args, inputs, batch:
                                    f"{inputs[0]}.reshape({batch}, {', '.join(str(size) for size in args['shape'])})")
Permute.pytorch_call = staticmethod(lambda args, inputs, batch:
                                    f"{inputs[0]}.permute({', '.join(str(axis) for axis in args['dims'])})")
Transpose.pytorch_call = staticmethod(lambda args, inputs, batch: f"{inputs[0]}.transpose({args['dim0']}, {args['dim1']})")
Split.pytorch_call = staticmethod(lambda args, inputs, batch: f"torch.split({inputs[0]},"
                                  f" {python_literal(args['split_size_or_sections'])}, dim={args.get('dim', 0)})")
Chunk.pytorch_call = staticmethod(lambda args, inputs, batch:
                                  f"torch.chunk({inputs[0]}, {args['chunks']}, dim={args.get('dim', 0)})")
Select.pytorch_call = staticmethod(lambda args, inputs, batch: f"{inputs[0]}.select({args['dim']}, {args['index']})")
Mean.pytorch_call = staticmethod(lambda args, inputs, batch: f"{inputs[0]}.mean(dim={python_literal(args['dim'])},"
                                 f" keepdim={args.get('keepdim', False)!r})")
Mean.convention_row = "mean"
Mean.counting = {}

TITLE = "Shape operations"  # the family in docs/formulas.md and docs/memory.md
ORDER = 10  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"view": "reshape", "swapaxes": "transpose", "unbind": "chunk", "avg": "mean"}

LAYERS = {
    "reshape": Reshape,
    "permute": Permute,
    "transpose": Transpose,
    "split": Split,
    "chunk": Chunk,
    "select": Select,
    "mean": Mean,
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "reshape": [("heads", {"shape": [197, 12, -1]}, [[197, 768]])],
    "permute": [("", {"dims": [0, 2, 1]}, [[768, 196]])],
    "transpose": [("", {"dim0": 1, "dim1": 2}, [[12, 197, 64]])],
    "split": [("", {"split_size_or_sections": 768, "dim": -1}, [[197, 2304]]),
              ("sections", {"split_size_or_sections": [2, 3], "dim": 1}, [[5, 7]])],
    "chunk": [("", {"chunks": 3, "dim": -1}, [[197, 2304]]), ("uneven", {"chunks": 4, "dim": 1}, [[6, 7]])],
    "select": [("class token", {"dim": 1, "index": 0}, [[197, 768]])],
    "mean": [("", {"dim": 1}, [[197, 768]]), ("keepdim", {"dim": [2, 3], "keepdim": True}, [[64, 7, 7]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
_VIEW = ("A view: the output is the input's storage, and {node} keeps only sizes (0 B). A layer after it that keeps"
         " its input keeps that same storage.")
MEMORY_FACTS = {
    "reshape": "A view of a contiguous input (ViewBackward0 keeps only sizes, 0 B); a non-contiguous input (after"
               " permute, transpose, a select or split on a later axis) is copied into a new tensor"
               " (UnsafeViewBackward0, 0 B kept), which the next layer that keeps its input pays for.",
    "permute": _VIEW.format(node="PermuteBackward0") + " The view is not contiguous: a reshape after it copies.",
    "transpose": _VIEW.format(node="TransposeBackward0") + " Not contiguous: a reshape after it copies.",
    "split": "Every piece is a view of the input (SplitBackward0 / SplitWithSizesBackward0 keep sizes, 0 B); a"
             " layer that keeps a piece keeps the whole input storage.",
    "chunk": "Like split: every piece is a view of the input, nothing kept (0 B).",
    "select": _VIEW.format(node="SelectBackward0"),
    "mean": "MeanBackward1 keeps only sizes (0 B); the result is a new tensor.",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "reshape": [("", {"shape": [4, -1]}, [[8, 6]], None)],
    "permute": [("", {"dims": [0, 2, 1]}, [[8, 6]], None)],
    "transpose": [("", {"dim0": 1, "dim1": 2}, [[8, 6]], None)],
    "split": [("", {"split_size_or_sections": 3, "dim": 2}, [[8, 6]], None)],
    "chunk": [("", {"chunks": 2, "dim": 1}, [[8, 6]], None)],
    "select": [("", {"dim": 1, "index": 0}, [[8, 6]], None)],
    "mean": [("", {"dim": 1}, [[8, 6]], None)],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
def _reshape_from_onnx(context: Any) -> list:
    node = context.node
    source = context.shape(node.input[0])
    target = context.ints(node.input[1])
    if not context.attribute("allowzero", 0):   # 0 copies the input's axis
        target = [source[axis] if value == 0 and axis < len(source) else value for axis, value in enumerate(target)]
    # [-1, ...] keeps the batch axis only when the rest holds exactly one sample (x.view(-1, E) of [N, L, E] does not)
    keeps_batch = target[0] == source[0] or (target[0] == -1 and -1 not in target[1:]
                                             and math.prod(target[1:]) == math.prod(source[1:]))
    if len(target) < 2 or not keeps_batch:
        raise context.unmapped(f"reshape of {list(source)} to {target} does not keep the batch axis first and apart")
    return [context.layer("reshape", {"shape": target[1:]})]


def _squeeze_from_onnx(context: Any) -> list:
    node = context.node
    axes = context.attribute("axes")
    if axes is None and context.input(1):
        axes = context.ints(context.input(1))
    output = context.shape(node.output[0])
    rank = len(output) if node.op_type == "Unsqueeze" else context.rank()
    if axes is None or any(axis % rank == 0 for axis in axes):
        raise context.unmapped(f"{node.op_type} of the batch axis (axis 0)")
    return [context.layer("reshape", {"shape": list(output[1:])})]


def _transpose_from_onnx(context: Any) -> list:
    perm = list(context.attribute("perm", list(reversed(range(context.rank())))))
    if perm[0] != 0:
        raise context.unmapped(f"permutation {perm} moves the batch axis")
    moved = [axis for axis, target in enumerate(perm) if axis != target]
    if len(moved) == 2:
        return [context.layer("transpose", {"dim0": moved[0], "dim1": moved[1]})]
    return [context.layer("permute", {"dims": perm})]


def _split_from_onnx(context: Any) -> list:
    node = context.node
    axis = context.attribute("axis", 0) % context.rank()
    if axis == 0:
        raise context.unmapped("splitting the batch axis has no spec type")
    if context.input(1):
        sizes = context.ints(context.input(1))
    elif context.attribute("split") is not None:
        sizes = list(context.attribute("split"))
    else:
        sizes = [context.shape(name)[axis] for name in node.output]
    context.outputs = [f"{context.name}:{index}" for index in range(len(node.output))]
    return [context.layer("split", {"split_size_or_sections": sizes, "dim": axis}, shape_of="")]


def _mean_from_onnx(context: Any) -> list:
    axes = context.attribute("axes")
    if axes is None and context.input(1):
        axes = context.ints(context.input(1))
    if not axes:
        raise context.unmapped("a mean over every axis (the batch axis too) has no spec type")
    if any(axis % context.rank() == 0 for axis in axes):
        raise context.unmapped("a mean over the batch axis has no spec type")
    arguments: dict[str, Any] = {"dim": axes[0] if len(axes) == 1 else list(axes)}
    if context.attribute("keepdims", 1):
        arguments["keepdim"] = True
    return [context.layer("mean", arguments)]


def _select_from_onnx(context: Any) -> list | None:
    """Gather of one constant index: x[:, i]."""
    node = context.node
    if context.is_constant(node.input[0]) or not context.is_constant(node.input[1]):
        return None
    if context.value(node.input[1]).ndim != 0:
        raise context.unmapped("gathering several constant indices has no spec type (select takes one)")
    axis = context.attribute("axis", 0) % context.rank()
    if axis == 0:
        raise context.unmapped("indexing the batch axis has no spec type")
    return [context.layer("select", {"dim": axis, "index": context.ints(node.input[1])[0]})]


def _slice_bounds(context: Any, node: Any) -> tuple[int, int, int] | None:
    """(axis, start, end) of a Slice of one axis with step 1 and constant bounds, clamped to the axis; None else."""
    names = [node.input[index] if index < len(node.input) and node.input[index] else None for index in range(5)]
    if any(name is not None and not context.is_constant(name) for name in names[1:]):
        return None
    starts, ends = context.ints(names[1]), context.ints(names[2])
    rank = len(context.shape(node.input[0]))
    axes = context.ints(names[3]) if names[3] else list(range(len(starts)))
    steps = context.ints(names[4]) if names[4] else [1] * len(starts)
    if len(starts) != 1 or steps != [1]:
        return None
    axis = axes[0] % rank
    size = context.shape(node.input[0])[axis]
    start, end = (max(0, min(size, value + size if value < 0 else value)) for value in (starts[0], ends[0]))
    return axis, start, end


def _slice_from_onnx(context: Any) -> list:
    """Slices of one tensor along one axis (step 1): the pieces of a `chunk` (equal pieces, as x.chunk writes
    them) or a `split`, each Slice its piece (`NAME:i`); a piece no Slice reads is an unused output of the split.
    Fires on the first of the tensor's Slices, which takes in the others."""
    node = context.node
    bounds = _slice_bounds(context, node)
    if bounds is None:
        raise context.unmapped("a Slice of several axes, with a step, or of run-time bounds has no spec type")
    axis = bounds[0]
    if axis == 0:
        raise context.unmapped("slicing the batch axis has no spec type")
    slices = [(reader, _slice_bounds(context, reader)) for reader in context.graph.consumers.get(node.input[0], [])
              if reader.op_type == "Slice" and reader.input[0] == node.input[0] and reader is not node]
    siblings = [(reader, found) for reader, found in slices if found is not None and found[0] == axis
                and not any(context.is_mapped(tensor) for tensor in reader.output)]
    size = context.shape(node.input[0])[axis]
    pieces = [(node, bounds), *siblings]
    cuts = sorted({0, size, *(found[1] for _, found in pieces), *(found[2] for _, found in pieces)})
    sections = [end - start for start, end in zip(cuts, cuts[1:])]
    if any(found[1] >= found[2] or cuts.index(found[2]) != cuts.index(found[1]) + 1 for _, found in pieces):
        raise context.unmapped("an empty Slice, or Slices of one tensor that overlap, have no spec type")
    for reader, found in pieces:
        context.output_as(reader.output[0], cuts.index(found[1]))
        if reader is not node:
            context.absorb(reader)
    chunked = -(-size // len(sections))
    if [min(chunked, size - start) for start in range(0, size, chunked)] == sections:
        arguments: dict[str, Any] = {"chunks": len(sections), "dim": axis}
        kind = "chunk"
    else:
        arguments, kind = {"split_size_or_sections": sections, "dim": axis}, "split"
    context.named_after = kind
    return [context.layer(kind, arguments, shape_of="")]


ONNX_OPERATORS = {"Reshape": _reshape_from_onnx, "Squeeze": _squeeze_from_onnx, "Unsqueeze": _squeeze_from_onnx,
                  "Transpose": _transpose_from_onnx, "Split": _split_from_onnx, "ReduceMean": _mean_from_onnx,
                  "Gather": _select_from_onnx, "Slice": _slice_from_onnx}


__all__ = ["Chunk", "LAYERS", "Mean", "Permute", "Reshape", "Select", "Split", "Transpose"]
