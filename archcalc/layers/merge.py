"""Merge layers and tensor arithmetic: add, sub, mul, div, concat — several inputs in, one output out.

add: element-wise sum; every input shape must be equal.
mul: element-wise product with PyTorch broadcasting: shapes aligned from the trailing axis (as if
     the batch axis were there), each pair of sizes equal or one of them 1 (squeeze-excitation:
     [C, 1, 1] · [C, H, W]).
sub, div: a − b and a / b of two inputs, broadcasting like mul.
Any of the four with one input and `scalar`: x + s, x − s, x · s, x / s (the shape is the input's).
concat: along `dim` (batch axis = 0, default 1 = channels); all other axes must be equal.
No parameters, no MACs.
"""

from typing import Any, ClassVar, Literal

from ..formula import Bind
from ..problems import LayerError
from .autograd import NEW, NOTHING, Backward, Context, Kept, batched
from .counting import Rule
from .base import END, KEEP, MERGE, Axis, Layer, Outcome, Real, Shape, axis_names
from .reshape import batch_axis


def _shapes_text(shapes: list[Shape]) -> str:
    return ", ".join(str(list(shape)) for shape in shapes)


class _Arithmetic(Layer):
    """Two or more tensors, or one tensor and a Python number (`scalar`)."""

    arity: ClassVar[int | None] = None
    min_inputs: ClassVar[int] = 1
    most_inputs: ClassVar[int | None] = None
    scalar: Real | None = None

    def _scalar_form(self, inputs: list[Shape]) -> Outcome | None:
        """x op scalar: the input's shape. Without a scalar, two inputs at least (exactly two for sub, div)."""
        if self.scalar is not None:
            if len(inputs) != 1:
                raise LayerError(f"with scalar, a {self.type} takes one input (x {_SIGNS[self.type]} {self.scalar:g}), got"
                                 f" {len(inputs)}", key="inputs", code="arity")
            return Outcome(shape=list(inputs[0]), axes=axis_names(len(inputs[0])), layout=KEEP)
        if len(inputs) < 2 or (self.most_inputs and len(inputs) > self.most_inputs):
            wanted = "2 inputs" if self.most_inputs else "at least 2 inputs"   # the graph's arity message
            raise LayerError(f"takes {wanted}, got {len(inputs)}", key="inputs", code="arity")
        return None

    def notes(self, inputs: list[Shape]) -> list[str]:
        if self.scalar is not None:
            return [f"x {_SIGNS[self.type]} {self.scalar:g}, element by element: the input's shape, no parameters,"
                    " no MACs"]
        return self._notes(inputs)

    def _notes(self, inputs: list[Shape]) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError


class Add(_Arithmetic):
    """Element-wise sum (a + b + ...)."""

    type: Literal["add"]

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        scalar = self._scalar_form(inputs)
        if scalar is not None:
            return scalar
        if any(shape != inputs[0] for shape in inputs[1:]):
            raise LayerError(f"inputs must have equal shapes, got {_shapes_text(inputs)}", key="inputs",
                             code="shape-mismatch")
        return Outcome(shape=list(inputs[0]), axes=axis_names(len(inputs[0])), layout=MERGE)

    def _notes(self, inputs: list[Shape]) -> list[str]:
        return [f"element-wise sum of {len(inputs)} inputs of equal shape: no parameters, no MACs"]

    def saved(self, context: Context) -> Backward:
        """AddBackward0 keeps nothing; the sum is a new tensor (a + b + c is summed left to right)."""
        return NOTHING


def broadcast(shapes: list[Shape]) -> tuple[int, ...] | None:
    """PyTorch's broadcast of per-sample shapes (all have the batch axis in front), or None."""
    rank = max(len(shape) for shape in shapes)
    result = []
    for axis in range(-rank, 0):
        sizes = {shape[axis] for shape in shapes if len(shape) >= -axis} - {1}
        if len(sizes) > 1:
            return None
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


class Mul(_Arithmetic):
    """Element-wise product with broadcasting (a * b * ...)."""

    type: Literal["mul"]
    what: ClassVar[str] = "product"

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        scalar = self._scalar_form(inputs)
        if scalar is not None:
            return scalar
        if any(len(shape) != len(inputs[0]) for shape in inputs):
            # with the batch axis in front, a shorter shape would align its batch axis with a feature axis
            raise LayerError(f"inputs must have the same number of axes, got {_shapes_text(inputs)} (with the batch"
                             " axis in front, PyTorch would broadcast the batch against a feature axis)",
                             key="inputs", code="shape-mismatch")
        shape = broadcast(inputs)
        if shape is None:
            raise LayerError(f"cannot broadcast {_shapes_text(inputs)}: sizes must be equal or 1 on each"
                             " axis, aligned from the last", key="inputs", code="shape-mismatch")
        return Outcome(shape=list(shape), axes=axis_names(len(shape)), layout=MERGE)

    def _notes(self, inputs: list[Shape]) -> list[str]:
        return [f"element-wise {self.what} with broadcasting: shapes are aligned from the last axis, and on each axis"
                " the sizes are equal or one of them is 1 (stretched); " + " · ".join(str(list(s)) for s in inputs)
                + f" → {list(broadcast(inputs) or ())}"]

    def saved(self, context: Context) -> Backward:
        """MulBackward0 keeps each factor whose partner needs a gradient (dL/da = grad·b needs b). Several
        inputs multiply left to right, a·b·c = (a·b)·c, so the partial product a·b may be kept too. x · scalar
        (MulBackward1) keeps nothing."""
        if self.scalar is not None:
            return NOTHING
        grads, kept = context.grads, []
        left, left_grad, left_shape = Kept("input 1", 0), grads[0], context.inputs[0]
        for i in range(1, len(grads)):
            if grads[i]:
                kept.append(left)
            if left_grad:
                kept.append(Kept(f"input {i + 1}", i))
            left_grad = left_grad or grads[i]
            left_shape = broadcast([left_shape, context.inputs[i]]) or left_shape
            left = Kept(f"product of inputs 1–{i + 1}", NEW, batched(left_shape))
        return Backward(tuple(kept))


class Sub(Mul):
    """a − b with broadcasting (torch.sub), or x − scalar."""

    type: Literal["sub"]
    most_inputs: ClassVar[int | None] = 2
    what: ClassVar[str] = "difference a − b"

    def saved(self, context: Context) -> Backward:
        """SubBackward0 (SubBackward1 with a scalar) keeps nothing."""
        return NOTHING


class Div(Mul):
    """a / b with broadcasting (torch.div), or x / scalar."""

    type: Literal["div"]
    most_inputs: ClassVar[int | None] = 2
    what: ClassVar[str] = "quotient a / b"

    def saved(self, context: Context) -> Backward:
        """DivBackward0 keeps b when either input needs a gradient (dL/da = grad / b) and a when b does
        (dL/db = −grad·a / b²); x / scalar (DivBackward1) keeps nothing."""
        if self.scalar is not None or True not in context.grads:
            return NOTHING
        kept = (Kept("input 1", 0),) if context.grads[1] else ()
        return Backward((*kept, Kept("input 2", 1)))


_SIGNS = {"add": "+", "sub": "−", "mul": "·", "div": "/"}


class Concat(Layer):
    """torch.cat along `dim` (batch axis = 0)."""

    type: Literal["concat"]
    arity: ClassVar[int | None] = None
    min_inputs: ClassVar[int] = 1  # torch.cat([x]) is legal (DenseNet's first dense layer does it)
    dim: Axis = 1

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        rank = len(inputs[0])
        if any(len(shape) != rank for shape in inputs):
            raise LayerError(f"inputs must have the same number of axes, got {_shapes_text(inputs)}",
                             key="inputs", code="shape-mismatch")
        axis = batch_axis(self, "dim", self.dim, rank)
        if axis == 0:
            raise LayerError("concat along dim 0 would join batches, not features", key="dim", code="axis")
        position = axis - 1
        for shape in inputs[1:]:
            others = [size for i, size in enumerate(shape) if i != position]
            if others != [size for i, size in enumerate(inputs[0]) if i != position]:
                raise LayerError(f"concat along dim {self.dim} needs every other axis equal, got"
                                 f" {_shapes_text(inputs)}", key="inputs", code="shape-mismatch")
        name = axis_names(rank)[position]
        joined = bind(f"{name}_1", inputs[0][position])
        for number, shape in enumerate(inputs[1:], start=2):
            joined = joined + bind(f"{name}_{number}", shape[position])
        out = [*inputs[0][:position], joined, *inputs[0][position + 1:]]
        # joining along a spatial axis puts positions side by side: no common receptive field
        return Outcome(shape=out, axes=axis_names(len(out)),
                       layout=MERGE if position == 0 else END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        return [f"joins {len(inputs)} inputs along dim {self.dim} (batch axis = 0): the sizes on that axis add up,"
                " every other axis must be equal"]

    def saved(self, context: Context) -> Backward:
        """CatBackward0 keeps only sizes; the result is a new tensor."""
        return NOTHING


# Counting conventions (archcalc.layers.counting; measured against the real tools, docs/conventions.md).
# A model writes merges as operators (x + y, x * y) or torch.cat, which hook-based tools never see.
_ADD_MUL = {
    "ptflops": Rule(lambda options: "function (torch.add, x.add()): N·Y; operator (x + y, +=): 0"
                    if options.get("functional") else "0",
                    lambda v: {"elementwise": v.functional * v.N * v.Y} if v.call == "function" else {}),
    "calflops": Rule("function (torch.add, torch.mul, x.add(), x.mul()): N·Y; operator (x + y, +=, x * y): 0",
                     lambda v: {"elementwise": v.N * v.Y} if v.call == "function" else {}),
}
for _merge, _function in ((Add, "torch.add"), (Mul, "torch.mul"), (Sub, "torch.sub"), (Div, "torch.div"),
                          (Concat, "torch.cat")):
    _merge.pytorch, _merge.default_call = _function, "operator"


def _operator_call(symbol: str) -> Any:
    """The exported forward's `x + y` (or `x + 2.0` with a scalar)."""
    def call(args: dict[str, Any], inputs: list[str], batch: str) -> str:
        if args.get("scalar") is not None:
            return f"{inputs[0]} {symbol} {args['scalar']!r}"
        return f" {symbol} ".join(inputs)
    return staticmethod(call)


for _merge, _symbol in ((Add, "+"), (Mul, "*"), (Sub, "-"), (Div, "/")):
    _merge.pytorch_call = _operator_call(_symbol)
Concat.pytorch_call = staticmethod(lambda args, inputs, batch: f"torch.cat([{', '.join(inputs)}], dim={args.get('dim', 1)})")
Add.convention_row = Mul.convention_row = "add, mul"   # x + 2 as torch.add(x, 2) counts the same
Sub.convention_row = Div.convention_row = "sub, div"   # no tool counts them (measured, scalar forms too)
Sub.counting = Div.counting = {}
Add.counting = Mul.counting = _ADD_MUL
Concat.convention_row = "concat"

TITLE = "Merging branches"  # the family in docs/formulas.md and docs/memory.md
ORDER = 6  # its place there

LAYERS = {
    "add": Add,
    "mul": Mul,
    "sub": Sub,
    "div": Div,
    "concat": Concat,
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "add": [("", {}, [[256, 56, 56], [256, 56, 56]])],
    "mul": [("squeeze-excitation", {}, [[96, 28, 28], [96, 1, 1]])],
    "concat": [("", {}, [[64, 28, 28], [32, 28, 28], [32, 28, 28]])],
    "sub": [("", {}, [[64, 28, 28], [64, 1, 1]]), ("scalar", {"scalar": 1}, [[64, 28, 28]])],
    "div": [("", {}, [[12, 197, 197], [12, 197, 1]]), ("scalar", {"scalar": 8}, [[12, 197, 197]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
MEMORY_FACTS = {
    "add": "AddBackward0 keeps nothing, with or without broadcasting or frozen branches. The sum is a new tensor"
           " (with more than two inputs, a + b + c is computed as (a + b) + c).",
    "mul": "MulBackward0 keeps b if a needs a gradient and a if b does (dL/da = grad·b): both factors when both"
           " need one, only the other factor when one does — a factor that needs no gradient is kept for its"
           " partner's sake, and counts 0 B when a layer before already keeps that storage (the network input"
           " kept by the first convolution). More than two factors multiply left to right, (a·b)·c, so the"
           " partial product a·b is kept when c needs a gradient. Measured: both factors [2, 4, 6, 6] needing"
           " a gradient 2,304 B; squeeze-excitation [2, C, 1, 1]·[2, C, H, W]: both kept, the small one"
           " usually already by its sigmoid.",
    "sub": "SubBackward0 keeps nothing (x − scalar: SubBackward1, nothing either); the result is a new tensor.",
    "div": "DivBackward0 keeps b when either input needs a gradient (dL/da = grad / b) and a when b does"
           " (dL/db = −grad·a / b²). Measured: [2, 4, 6] / [2, 4, 1] both needing a gradient keeps 192 + 32 B, only"
           " a 32 B; x / scalar (DivBackward1) and x · scalar (MulBackward1), x + s, x − s keep nothing.",
    "concat": "CatBackward0 keeps only the sizes; the result is a new tensor, which the next layer that needs it"
              " keeps.",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "add": [
        ("", {}, [[64, 28, 28], [64, 28, 28]], None),
    ],
    "mul": [
        ("", {}, [[64, 28, 28], [64, 1, 1]], None),
        ("only input 2 needs a gradient", {}, [[64, 28, 28], [64, 1, 1]], (False, True)),
        ("three factors", {}, [[64, 28, 28], [64, 1, 1], [64, 28, 28]], None),
    ],
    "concat": [
        ("", {}, [[64, 28, 28], [32, 28, 28]], None),
    ],
    "sub": [("", {}, [[64, 28, 28], [64, 28, 28]], None)],
    "div": [("", {}, [[64, 28, 28], [64, 1, 1]], None),
            ("only input 1 needs a gradient", {}, [[64, 28, 28], [64, 1, 1]], (True, False)),
            ("scalar", {"scalar": 2}, [[64, 28, 28]], None)],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
_ONNX_ARITHMETIC = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Sum": "add"}


def _arithmetic_from_onnx(context: Any) -> list | None:
    """Two tensors; a tensor and a scalar constant (`scalar:`); a tensor and a learned tensor (a layer)."""
    node = context.node
    kind = _ONNX_ARITHMETIC[node.op_type]
    operands = [name for name in node.input if name]
    constants = [name for name in operands if context.is_constant(name)]
    if len(operands) == 2 and len(constants) == 1 and context.numel(constants[0]) == 1:
        if operands[0] in constants and kind in ("sub", "div"):
            raise context.unmapped(f"a constant {'minus' if kind == 'sub' else 'divided by'} a tensor has no spec type")
        tensor = next(name for name in operands if name not in constants)
        return [context.layer(kind, {"scalar": context.number(context.value(constants[0]))}, [context.ref(tensor)])]
    if kind in ("add", "sub"):   # they take equal shapes; mul and div broadcast
        shapes = {context.constant_shape(name) if name in constants else context.shape(name) for name in operands}
        if len(shapes) > 1:
            raise context.unmapped(f"operands of shapes {sorted(list(shape) for shape in shapes)} broadcast; archcalc's"
                                   f" {kind} takes equal shapes (mul and div broadcast)")
    layers, inputs = context.operands(operands)
    return [*layers, context.layer(kind, {}, inputs)]


def _concat_from_onnx(context: Any) -> list:
    axis = context.attribute("axis")
    if axis % len(context.shape(context.node.output[0])) == 0:
        raise context.unmapped("concatenation along the batch axis has no spec type")
    layers, inputs = context.operands([name for name in context.node.input if name])
    return [*layers, context.layer("concat", {"dim": axis}, inputs)]


ONNX_OPERATORS = {**{op: _arithmetic_from_onnx for op in _ONNX_ARITHMETIC}, "Concat": _concat_from_onnx}


__all__ = ["Add", "Concat", "LAYERS", "Mul", "broadcast"]
