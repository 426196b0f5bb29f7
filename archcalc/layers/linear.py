"""Linear (torch.nn.Linear): applies to the last axis, like PyTorch.

Output shape: [..., F_out]. Parameters: (F_in + 1)·F_out (F_in·F_out without bias).
MACs: F_in·F_out for each row, times the number of rows (the product of the leading axes).
"""

from typing import Any, Literal

from pydantic import Field

from ..formula import Bind, product
from ..problems import LayerError
from .autograd import KEEP_INPUT, NEW, NOTHING, Backward, Context, Kept, batched
from .counting import Rule, batch_macs, macs_and_bias, only_module
from .base import END, Count, Flag, Layer, Name, Outcome, Shape, axis_names


class Linear(Layer):
    """torch.nn.Linear."""

    type: Literal["linear"]
    in_features: Count | None = Field(default=None, description="Optional; must equal the input's last axis.")
    out_features: Count
    bias: Flag = True
    tie: Name | None = Field(default=None, description="Its weight is layer NAME's weight tensor (an LM head tied to"
                             " the token embedding): counted once, at NAME; this layer's params are its bias.")

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        if not shape:
            raise LayerError("linear needs an input with at least one axis", code="rank")
        if self.in_features is not None and self.in_features != shape[-1]:
            flatten_hint = (f" (the input is {list(shape)}: flatten it first?)"
                            if len(shape) > 1 and self.in_features == product(shape) else "")
            raise LayerError(f"in_features is {self.in_features:,} but the incoming shape {list(shape)} has"
                             f" {shape[-1]:,} features on its last axis{flatten_hint}", key="in_features",
                             code="mismatch")
        f_in, f_out = bind("F_in", shape[-1]), bind("F_out", self.out_features)
        if self.tie is not None:     # the weight is another layer's parameter
            params = f_out if self.bias else 0
        else:
            params = (f_in + 1) * f_out if self.bias else f_in * f_out
        macs = f_in * f_out
        warnings = []
        if len(shape) > 1:
            macs = macs * bind("rows", product(shape[:-1]))
        if len(shape) > 2:   # [C, H, W] features; a [L, E] sequence is meant to be used token by token
            warnings.append((f"applied to the last axis of a {list(shape)} tensor, separately for each of the"
                             f" {product(shape[:-1]):,} positions of the other axes: a flatten before it is often"
                             " what was meant", None, "linear-not-flattened"))
        return Outcome(shape=[*shape[:-1], f_out], params=params, macs=macs,
                       axes=(*axis_names(len(shape))[:-1], "F"), layout=END, warnings=warnings)

    def weight_shape(self, inputs: list[Shape]) -> tuple[int, ...]:
        return (self.out_features, inputs[0][-1])

    def notes(self, inputs: list[Shape]) -> list[str]:
        if self.tie is not None:
            notes = [f"the weight matrix F_out × F_in is the weight of {self.tie!r} (tie): counted there, once"
                     + ("; its own parameters are the bias vector F_out" if self.bias else "")]
        else:
            notes = ["a weight matrix F_out × F_in" + (" and a bias vector F_out" if self.bias else ", no bias")]
        if len(inputs[0]) > 1:
            notes.append("applied to the last axis, once for each position of the other axes (rows)")
        return notes

    def saved(self, context: Context) -> Backward:
        """addmm / mm keep the input (`mat1`) only to compute the weight's gradient: a frozen linear layer
        keeps nothing, even when a gradient flows through it. On more than two axes the input is kept
        as a [rows, F_in] view of the same storage — of a strided input (a piece split off the last axis, a
        transposed sequence) a contiguous copy, which is what it keeps."""
        if not context.trainable:
            return NOTHING
        if len(context.inputs[0]) > 1 and context.contiguous and not context.contiguous[0]:
            return Backward((Kept("input (contiguous copy)", NEW, batched(context.inputs[0])),))
        return KEEP_INPUT

    def parameter_tensors(self) -> int:
        return int(self.bias) + (self.tie is None)


# Counting conventions (archcalc.layers.counting; measured against the real tools, docs/conventions.md).
Linear.pytorch = "torch.nn.Linear"
Linear.spatial_warnings = frozenset({"linear-not-flattened"})   # channels-last and token linears are meant
Linear.inferred_argument = ("in_features", -1)
Linear.convention_row = "linear"
Linear.module_only = True
Linear.counting = {
    "pytorch": Rule("N·M (R·F_in·F_out)", batch_macs("linear")),
    "fvcore": Rule("N·M", batch_macs("linear")),
    "ptflops": Rule("M + bias·Y (R·(F_in·F_out + F_out))", macs_and_bias("linear", whole_batch=False)),
    "ptflops-aten": Rule("N·(M + bias·Y)", macs_and_bias("linear")),
    "thop": only_module("N·M", batch_macs("linear")),
    "thop-readme": only_module("N·(2·F_in − 1)·Y: multiplications and additions",
                               lambda v: {"linear": v.N * v.M, "linear additions": v.N * (v.M - v.Y)}),
    # torchinfo's code since PR #318 (38ab72b): params × prod(output[:-1]), the rows counted
    "torchinfo": only_module("N·R·params = N·(M + bias·Y) (rows counted, TylerYep/torchinfo#318)",
                             lambda v: {"linear": v.N * v.M, "bias": v.N * v.bias * v.Y}),
    # torchinfo 1.8.0 (every PyPI release): N·params, the rows of a 3-D or wider input ignored
    "torchinfo-1.8": only_module("N·params = N·(F_in·F_out + bias·F_out): rows R ignored (TylerYep/torchinfo#77)",
                                 lambda v: {"linear": v.N * v.M // (v.X // v.layer.input_shapes[0][-1]),
                                            "bias": v.N * v.bias * v.layer.output_shape[-1]}),
    "calflops": Rule("2·N·M (bias not counted)", lambda v: {"linear": 2 * v.N * v.M}),
}


TITLE = "Linear"  # the family in docs/formulas.md and docs/memory.md
ORDER = 2  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"dense": "linear", "fc": "linear", "fullyconnected": "linear"}

LAYERS = {
    "linear": Linear,
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "linear": [("", {"out_features": 120}, [[400]]),
               ("on a sequence (last axis)", {"out_features": 64, "bias": False}, [[10, 32]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rule above.
MEMORY_FACTS = {
    "linear": "AddmmBackward0 (MmBackward0 without bias) keeps the input `mat1` only when the weight needs a"
              " gradient (it is needed for dL/dW alone; dL/dx needs only the weight, a parameter). So a frozen"
              " linear layer keeps nothing even after trainable layers, and a trainable one keeps its input even"
              " as the first layer. On [N, ..., F] inputs the input is kept as a [N·..., F] view of the same"
              " storage. Measured: [2, 12] → 96 B; [2, 5, 4] → 160 B; [2, 4, 5, 6] → 960 B; frozen → 0 B.",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "linear": [
        ("", {"out_features": 10}, [[512]], None),
        ("trainable: false", {"out_features": 10, "trainable": False}, [[512]], None),
        ("on a sequence", {"out_features": 64}, [[49, 512]], None),
    ],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes this type stands for; `context` reads the node.
def _tied_table(context: Any, weight: str) -> str | None:
    """The embedding layer whose table is `weight` transposed (an LM head tied to the embedding: PyTorch's exporter
    writes the head's weight as an initializer of its own, the table's transpose), compared by value; None when no
    table matches or the weights are not in the model (external data)."""
    initializer = context.graph.initializers.get(weight)
    if initializer is None or initializer.data_location == context.graph.onnx.TensorProto.EXTERNAL:
        return None
    shape = context.constant_shape(weight)
    for table, readers in context.graph.consumers.items():
        table_init = context.graph.initializers.get(table)
        if table_init is None or table_init.data_location == context.graph.onnx.TensorProto.EXTERNAL or \
                context.constant_shape(table) != tuple(reversed(shape)):
            continue
        lookups = [reader for reader in readers if reader.op_type == "Gather" and reader.input[0] == table
                   and context.is_mapped(reader.output[0])]
        if lookups and (context.value(table).T == context.value(weight)).all():
            return context.ref(lookups[0].output[0])
    return None


def _linear_from_onnx(context: Any) -> list | None:
    """Gemm or MatMul with a constant 2-d right operand (the weight); MatMul followed by an Add of a constant
    of out_features elements is nn.Linear on more than two axes (its bias Add is fused in). None otherwise."""
    node = context.node
    transposed = context.attribute("transB", 0) if node.op_type == "Gemm" else 0
    if not context.is_constant(node.input[1]):
        return None
    if context.is_constant(node.input[0]):
        raise context.unmapped("a constant left operand (weight @ x) has no spec type")
    if context.attribute("transA", 0):
        raise context.unmapped("Gemm with transA=1 has no spec type")
    weight = context.constant_shape(node.input[1])
    if len(weight) != 2:
        raise context.unmapped(f"a product with a {len(weight)}-d constant has no spec type (a weight is 2-d)")
    out_features = weight[0] if transposed else weight[1]
    bias = context.input(2) if node.op_type == "Gemm" else None
    add = context.sole_consumer(node.output[0]) if node.op_type == "MatMul" else None
    if add is not None and add.op_type == "Add":
        other = [name for name in add.input if name != node.output[0]]
        if len(other) == 1 and context.is_constant(other[0]) and context.constant_shape(other[0]) == (out_features,):
            bias = other[0]
            context.absorb(add)
    tied = None if transposed else _tied_table(context, node.input[1])
    params = (0 if tied else context.numel(node.input[1])) + (context.numel(bias) if bias else 0)
    arguments: dict[str, Any] = {"out_features": out_features}
    if tied:
        arguments["tie"] = tied
    if bias is None:
        arguments["bias"] = False
    return [context.layer("linear", arguments, params=params)]


ONNX_OPERATORS = {"Gemm": _linear_from_onnx, "MatMul": _linear_from_onnx}


__all__ = ["LAYERS", "Linear"]
