"""`archcalc import onnx`: an ONNX model → layer records `(name, type, arguments, inputs)` → a spec.

Every node either maps to archcalc layer types or is reported: the import fails with one problem per
unmapped node (its name, op_type and domain, and why), never with a spec that is silently wrong. Constant
subgraphs (the shape tensors of Reshape, Pad, Resize, ..., `Shape` of a tensor whose shape is known) are
folded with onnx's reference evaluator and produce no layer. Initializers give the parameters: a weight
consumed by Conv, Gemm, MatMul, a normalization, Gather (an embedding table) or PRelu, and any other
non-scalar constant operand of arithmetic or Concat as a `parameter` layer (ONNX does not tell a learned
tensor from a buffer). Per-sample shapes drop axis 0, the batch axis; a node that moves or merges it has no
spec type and is reported.

The result is checked before it is returned: archcalc propagates the spec, and each layer's output shape
must equal ONNX's shape inference and its parameter count the initializer elements the node consumed.

Needs the optional `onnx` package (`pip install 'archcalc[onnx]'`), imported when a model is imported.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..problems import Problem, SpecError

INSTALL_HINT = "archcalc import onnx needs the onnx package: pip install 'archcalc[onnx]'"

# ONNX element types archcalc's inputs can have (onnx.TensorProto.DataType values).
ONNX_DTYPES = {1: "float32", 10: "float16", 16: "bfloat16", 11: "float64", 7: "int64", 6: "int32", 9: "bool"}


@dataclass(frozen=True)
class LayerRecord:
    """One spec layer: what a writer renders, plus what the import checks it against."""

    name: str
    type: str
    arguments: dict[str, Any]
    inputs: tuple[str, ...]
    node: str = ""                       # the ONNX node it comes from (for messages)
    expected_shape: tuple[int, ...] | None = None   # ONNX's inferred per-sample output shape
    expected_params: int | None = None   # initializer elements the node consumes as parameters


@dataclass(frozen=True)
class ImportedModel:
    """A spec's content: its name, its inputs (name, per-sample shape, dtype) and its layers, in order."""

    name: str
    inputs: list[tuple[str, list[int], str]]
    layers: list[LayerRecord]


class Unmapped(Exception):
    """A node with no archcalc equivalent; the message says why."""


def require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise SpecError([Problem("<onnx>", 1, 1, INSTALL_HINT, code="missing-package")]) from None
    return onnx


# --- names -------------------------------------------------------------------------------------------------

def scope_and_op(node_name: str) -> tuple[str, str] | None:
    """PyTorch's exporter names nodes `/layer1/layer1.0/conv1/Conv`: each scope, then the op. The scopes give
    the module path (`layer1.0.conv1`); None for a name of another form."""
    parts = [part for part in node_name.split("/") if part]
    if not node_name.startswith("/") or len(parts) < 2:
        return None
    *scopes, op = parts
    path = ""
    for scope in scopes:
        path = scope if not path or scope.startswith(path + ".") else f"{path}.{scope}"
    return path, op


def layer_name(node_name: str, scope_sizes: dict[str, int], op_name: str | None = None) -> str:
    """A node's layer name: the module path when the node is its scope's only layer (a leaf module:
    `layer1.0.conv1`), else the path and the op (`layer1.0.add_1`, a functional call inside a block);
    other names pass through."""
    parsed = scope_and_op(node_name)
    if parsed is None:
        return node_name
    path, op = parsed
    op = op.lower() if op_name is None else op_name + op[len(op.rstrip("_0123456789")):]
    return path if scope_sizes.get(path, 0) == 1 else f"{path}.{op}"


def _clean(name: str) -> str:
    name = name.replace(":", "_").strip()
    return re.sub(r"\s+", "_", name) or "node"


def input_name(name: str) -> str:
    """A graph input's name as a spec input name (an identifier)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else f"input_{cleaned}"


# --- the graph -----------------------------------------------------------------------------------------------

@dataclass
class Graph:
    """What the mappers read: inferred shapes, constants (folded on demand), and each tensor's layer."""

    onnx: Any
    opset: int
    shapes: dict[str, tuple[int, ...] | None]
    dtypes: dict[str, int]
    initializers: dict[str, Any]
    constant_nodes: dict[str, Any]         # output name → the node computing it from constants
    references: dict[str, str] = field(default_factory=dict)   # activation tensor → "layer" or "layer:i"
    consumers: dict[str, list[Any]] = field(default_factory=dict)
    producers: dict[str, Any] = field(default_factory=dict)
    outputs: set[str] = field(default_factory=set)
    values: dict[str, Any] = field(default_factory=dict)

    def is_constant(self, tensor: str) -> bool:
        return tensor in self.initializers or tensor in self.constant_nodes

    def value(self, tensor: str) -> Any:
        """The numpy value of a constant tensor (an initializer, a Constant node, a folded subgraph)."""
        if tensor in self.values:
            return self.values[tensor]
        if tensor in self.initializers:
            value = self.onnx.numpy_helper.to_array(self.initializers[tensor])
        elif tensor in self.constant_nodes:
            value = self._fold(self.constant_nodes[tensor], tensor)
        else:
            raise Unmapped(f"'{tensor}' must be a constant (an initializer or computed from constants)")
        self.values[tensor] = value
        return value

    def _fold(self, node: Any, tensor: str) -> Any:
        import numpy

        if node.op_type == "Shape":
            shape = self.shapes.get(node.input[0])
            attributes = {attribute.name: attribute.i for attribute in node.attribute}
            start, end = attributes.get("start", 0), attributes.get("end", len(shape))
            return numpy.array(shape[start:end], dtype=numpy.int64)
        if node.op_type == "Size":
            return numpy.array(math.prod(self.shapes[node.input[0]]), dtype=numpy.int64)
        from onnx.reference import ReferenceEvaluator

        feeds = {name: self.value(name) for name in node.input if name}
        model = self.onnx.helper.make_model(
            self.onnx.helper.make_graph(
                [node], "fold",
                [self.onnx.helper.make_tensor_value_info(name, self.onnx.TensorProto.UNDEFINED, None)
                 for name in feeds],
                [self.onnx.helper.make_tensor_value_info(name, self.onnx.TensorProto.UNDEFINED, None)
                 for name in node.output if name]),
            opset_imports=[self.onnx.helper.make_opsetid("", self.opset)])
        results = ReferenceEvaluator(model).run(None, feeds)
        for name, result in zip([name for name in node.output if name], results):
            self.values[name] = result
        return self.values[tensor]

    def shape(self, tensor: str) -> tuple[int, ...]:
        """A tensor's full shape (batch axis first), which ONNX's shape inference must know."""
        shape = self.shapes.get(tensor)
        if shape is None:
            raise Unmapped(f"the shape of '{tensor}' is not known statically")
        return shape

    def constant_shape(self, tensor: str) -> tuple[int, ...]:
        shape = self.shapes.get(tensor)
        return shape if shape is not None else tuple(self.value(tensor).shape)

    def ref(self, tensor: str) -> str:
        """The spec reference (layer name, `NAME:INDEX` or an input name) of an activation tensor."""
        if tensor not in self.references:
            raise Unmapped(f"input '{tensor}' is a constant where a layer input is expected")
        return self.references[tensor]

    def numel(self, tensor: str) -> int:
        return math.prod(self.constant_shape(tensor))


def _attributes(onnx: Any, node: Any) -> dict[str, Any]:
    return {attribute.name: onnx.helper.get_attribute_value(attribute) for attribute in node.attribute}


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _number(value: Any) -> int | float:
    """A scalar as a spec number: an integer stays an int; a float32 at its shortest decimal (1e-05, not
    9.999999747378752e-06), the value PyTorch's constructor was given."""
    import numpy

    value = numpy.asarray(value).reshape(()).item() if hasattr(value, "shape") else value
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    if isinstance(value, int):
        return value
    return float(str(numpy.float32(value)))


def _per_axis(values: list[int]) -> int | list[int]:
    return values[0] if len(set(values)) == 1 else list(values)


def _per_sample(shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
    return tuple(shape[1:]) if shape else None


# --- the mappers ---------------------------------------------------------------------------------------------

@dataclass
class Mapped:
    """What one node (or a fused group) becomes: layers, the last of which gives its outputs."""

    layers: list[LayerRecord]
    outputs: list[str] | None = None      # references of the node's outputs (default: the last layer's name)
    absorbed: tuple[str, ...] = ()         # names of following nodes fused into this one


class Context:
    """One node as a mapper sees it."""

    def __init__(self, graph: Graph, node: Any, name: str):
        self.graph, self.node, self.name = graph, node, name
        self.attributes = _attributes(graph.onnx, node)

    def input(self, index: int) -> str | None:
        return self.node.input[index] if index < len(self.node.input) and self.node.input[index] else None

    def output_shape(self, index: int = 0) -> tuple[int, ...] | None:
        return _per_sample(self.graph.shapes.get(self.node.output[index]))

    def layer(self, type_: str, arguments: dict[str, Any], inputs: list[str] | None = None, *,
              name: str | None = None, params: int = 0, shape_of: str | None = None) -> LayerRecord:
        inputs = inputs if inputs is not None else [self.graph.ref(self.node.input[0])]
        tensor = shape_of if shape_of is not None else self.node.output[0]
        return LayerRecord(name or self.name, type_, arguments, tuple(inputs), self.node.name or self.node.output[0],
                           _per_sample(self.graph.shapes.get(tensor)), params)

    def rank(self) -> int:
        return len(self.graph.shape(self.node.input[0]))


def _spatial_pads(context: Context, kernel: list[int], strides: list[int], dilations: list[int]) -> list[int]:
    """ONNX `pads` as [begin..., end...] over the spatial axes, `auto_pad` resolved from the input shape."""
    spatial = len(kernel)
    auto_pad = _text(context.attributes.get("auto_pad", "NOTSET"))
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        sizes = context.graph.shape(context.node.input[0])[2:]
        totals = [max((-(-size // stride) - 1) * stride + (k - 1) * dilation + 1 - size, 0)
                  for size, k, stride, dilation in zip(sizes, kernel, strides, dilations)]
        small = [total // 2 for total in totals]
        large = [total - half for total, half in zip(totals, small)]
        return small + large if auto_pad == "SAME_UPPER" else large + small
    if auto_pad == "VALID":
        return [0] * (2 * spatial)
    return list(context.attributes.get("pads", [0] * (2 * spatial)))


def _torch_padding(begin: list[int], end: list[int]) -> list[int]:
    """PyTorch's pad tuple (last axis first: left, right, top, bottom, ...)."""
    return [value for b, e in reversed(list(zip(begin, end))) for value in (b, e)]


def _convolution(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    weight = node.input[1]
    if not graph.is_constant(weight):
        raise Unmapped("its weight is computed at run time, not an initializer")
    shape = graph.constant_shape(weight)
    spatial = len(shape) - 2
    if spatial not in (1, 2, 3):
        raise Unmapped(f"a {spatial}-d convolution has no spec type")
    groups = context.attributes.get("group", 1)
    kernel = list(context.attributes.get("kernel_shape", shape[2:]))
    strides = list(context.attributes.get("strides", [1] * spatial))
    dilations = list(context.attributes.get("dilations", [1] * spatial))
    bias = context.input(2) is not None
    params = graph.numel(weight) + (graph.numel(node.input[2]) if bias else 0)
    transposed = node.op_type == "ConvTranspose"
    arguments: dict[str, Any] = {"out_channels": shape[1] * groups if transposed else shape[0],
                                 "kernel_size": _per_axis(kernel)}
    if transposed:
        if "output_shape" in context.attributes or _text(context.attributes.get("auto_pad", "NOTSET")) != "NOTSET":
            raise Unmapped("ConvTranspose with output_shape or auto_pad: give pads and output_padding instead")
        pads = list(context.attributes.get("pads", [0] * (2 * spatial)))
    else:
        pads = _spatial_pads(context, kernel, strides, dilations)
    begin, end = pads[:spatial], pads[spatial:]
    layers, inputs = [], None
    if begin != end:
        if transposed:
            raise Unmapped(f"asymmetric pads {pads} on a transposed convolution")
        pad = context.layer(f"zeropad{spatial}d", {"padding": _torch_padding(begin, end)}, name=f"{context.name}.pad",
                            shape_of="")
        layers.append(pad)
        inputs, begin = [pad.name], [0] * spatial
    if strides != [1] * spatial:
        arguments["stride"] = _per_axis(strides)
    if begin != [0] * spatial:
        arguments["padding"] = _per_axis(begin)
    output_padding = list(context.attributes.get("output_padding", [0] * spatial))
    if transposed and output_padding != [0] * spatial:
        arguments["output_padding"] = _per_axis(output_padding)
    if dilations != [1] * spatial:
        arguments["dilation"] = _per_axis(dilations)
    if groups != 1:
        arguments["groups"] = groups
    if not bias:
        arguments["bias"] = False
    kind = f"convtranspose{spatial}d" if transposed else f"conv{spatial}d"
    layers.append(context.layer(kind, arguments, inputs, params=params))
    return Mapped(layers)


def _linear_or_matmul(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    a, b = node.input[0], node.input[1]
    if graph.is_constant(a):
        raise Unmapped("a constant left operand (weight @ x) has no spec type")
    if node.op_type == "Gemm":
        if context.attributes.get("transA", 0):
            raise Unmapped("Gemm with transA=1 has no spec type")
        transposed = context.attributes.get("transB", 0)
    else:
        transposed = 0
    if not graph.is_constant(b):
        if transposed or context.input(2) is not None:
            raise Unmapped("a product of two activations with a transposed operand or a bias has no spec type")
        return Mapped([context.layer("matmul", {}, [graph.ref(a), graph.ref(b)])])
    weight = graph.constant_shape(b)
    if len(weight) != 2:
        raise Unmapped(f"a product with a {len(weight)}-d constant has no spec type (a linear weight is 2-d)")
    out_features = weight[0] if transposed else weight[1]
    params, bias, absorbed, shape_of = graph.numel(b), None, (), None
    if node.op_type == "Gemm" and context.input(2) is not None:
        bias = node.input[2]
    elif node.op_type == "MatMul":
        bias, absorbed, shape_of = _bias_add(graph, node.output[0], out_features)
    if bias is not None:
        params += graph.numel(bias)
    arguments: dict[str, Any] = {"out_features": out_features}
    if bias is None:
        arguments["bias"] = False
    return Mapped([context.layer("linear", arguments, params=params, shape_of=shape_of)], absorbed=absorbed)


def _bias_add(graph: Graph, tensor: str, out_features: int) -> tuple[str | None, tuple[str, ...], str | None]:
    """The bias of `x @ W + b` (nn.Linear on more than two axes exports MatMul then Add): an Add that is the
    product's only consumer, with a constant of exactly out_features elements."""
    consumers = graph.consumers.get(tensor, [])
    if len(consumers) != 1 or tensor in graph.outputs or consumers[0].op_type != "Add":
        return None, (), None
    add = consumers[0]
    other = [name for name in add.input if name != tensor]
    if len(other) != 1 or not graph.is_constant(other[0]) or graph.constant_shape(other[0]) != (out_features,):
        return None, (), None
    return other[0], (add.name or add.output[0],), add.output[0]


ARITHMETIC = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Sum": "add"}


def _arithmetic(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    kind = ARITHMETIC[node.op_type]
    operands = [name for name in node.input if name]
    constants = [name for name in operands if graph.is_constant(name)]
    if len(constants) == len(operands):
        raise Unmapped("every operand is a constant")   # not reached: such a node is folded
    if len(operands) == 2 and len(constants) == 1 and graph.numel(constants[0]) == 1:
        if operands[0] in constants and kind in ("sub", "div"):
            raise Unmapped(f"a constant {'minus' if kind == 'sub' else 'divided by'} a tensor has no spec type")
        activation = next(name for name in operands if name not in constants)
        return Mapped([context.layer(kind, {"scalar": _number(graph.value(constants[0]))}, [graph.ref(activation)])])
    layers, inputs = _operands_with_parameters(context, operands)
    return Mapped([*layers, context.layer(kind, {}, inputs)])


def _operands_with_parameters(context: Context, operands: list[str]) -> tuple[list[LayerRecord], list[str]]:
    """Operands as spec references: a non-scalar constant becomes a `parameter` layer, its shape per sample as
    it broadcasts over the batch (leading axes of size 1 added up to the node's output rank, axis 0 dropped)."""
    graph = context.graph
    rank = len(graph.shape(context.node.output[0]))
    layers, inputs = [], []
    for index, operand in enumerate(operands):
        if not graph.is_constant(operand):
            inputs.append(graph.ref(operand))
            continue
        shape = graph.constant_shape(operand)
        full = (1,) * (rank - len(shape)) + tuple(shape)
        if len(full) != rank or full[0] != 1 or len(full) < 2:
            raise Unmapped(f"constant operand '{operand}' of shape {list(shape)} spans the batch axis")
        name = f"{context.name}.{_clean(operand).replace('.', '_')}" if len(operands) > 1 else context.name
        name = f"{context.name}.constant{index}" if name in {layer.name for layer in layers} else name
        layers.append(LayerRecord(name, "parameter", {"shape": list(full[1:])}, (), context.node.name,
                                  tuple(full[1:]), graph.numel(operand)))
        inputs.append(name)
    return layers, inputs


def _concat(context: Context) -> Mapped:
    axis = context.attributes["axis"]
    rank = len(context.graph.shape(context.node.output[0]))
    if axis % rank == 0:
        raise Unmapped("concatenation along the batch axis has no spec type")
    layers, inputs = _operands_with_parameters(context, [name for name in context.node.input if name])
    return Mapped([*layers, context.layer("concat", {"dim": axis}, inputs)])


def _batch_axis_free(context: Context, axes: list[int], what: str) -> list[int]:
    rank = context.rank()
    if any(axis % rank == 0 for axis in axes):
        raise Unmapped(f"{what} the batch axis (axis 0)")
    return axes


def _normalization(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    rank = context.rank()
    eps = context.attributes.get("epsilon", 1e-5)
    weights = [name for name in node.input[1:3] if name]
    if not all(graph.is_constant(name) for name in node.input[1:] if name):
        raise Unmapped("its scale, bias or statistics are computed at run time")
    params = sum(graph.numel(name) for name in weights)
    arguments: dict[str, Any] = {}
    if _number(eps) != 1e-5:
        arguments["eps"] = _number(eps)
    if node.op_type == "LayerNormalization":
        axis = context.attributes.get("axis", -1) % rank
        if axis == 0:
            raise Unmapped("normalizing over the batch axis has no spec type")
        normalized = list(graph.shape(node.input[0])[axis:])
        arguments = {"normalized_shape": normalized[0] if len(normalized) == 1 else normalized, **arguments}
        if context.input(2) is None:
            arguments["bias"] = False
        return Mapped([context.layer("layernorm", arguments, params=params)])
    spatial = max(rank - 2, 1)
    if rank < 2 or spatial > 3 or (node.op_type == "InstanceNormalization" and rank < 3):
        raise Unmapped(f"a {rank}-d input has no {node.op_type} spec type")
    if node.op_type == "InstanceNormalization":
        return Mapped([context.layer(f"instancenorm{spatial}d", {**arguments, "affine": True}, params=params)])
    return Mapped([context.layer(f"batchnorm{spatial}d", arguments, params=params)])


SIMPLE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish", "Softsign": "softsign",
          "Selu": "selu", "Mish": "mish", "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Abs": "abs", "Neg": "neg",
          "Identity": "identity", "Softplus": "softplus", "HardSigmoid": "hardsigmoid"}


def _simple(context: Context) -> Mapped:
    return Mapped([context.layer(SIMPLE[context.node.op_type], {})])


def _with_alpha(type_: str, argument: str, default: float) -> Callable[[Context], Mapped]:
    def mapper(context: Context) -> Mapped:
        alpha = _number(context.attributes.get("alpha", default))
        return Mapped([context.layer(type_, {argument: alpha} if alpha != _number(default) else {})])
    return mapper


def _gelu(context: Context) -> Mapped:
    approximate = _text(context.attributes.get("approximate", "none"))
    return Mapped([context.layer("gelu", {"approximate": approximate} if approximate != "none" else {})])


def _softmax(context: Context) -> Mapped:
    rank = context.rank()
    if context.graph.opset < 13:
        axis = context.attributes.get("axis", 1) % rank
        if axis != rank - 1:
            raise Unmapped(f"{context.node.op_type} before opset 13 flattens the input to 2-d at axis {axis}")
    else:
        axis = context.attributes.get("axis", -1) % rank
    if axis == 0:
        raise Unmapped("a softmax over the batch axis has no spec type")
    return Mapped([context.layer("softmax" if context.node.op_type == "Softmax" else "logsoftmax",
                                 {"dim": axis - rank if axis == rank - 1 else axis})])


def _clip(context: Context) -> Mapped:
    graph = context.graph
    if graph.opset < 11:
        low, high = context.attributes.get("min"), context.attributes.get("max")
    else:
        low = _number(graph.value(context.input(1))) if context.input(1) else None
        high = _number(graph.value(context.input(2))) if context.input(2) else None
    low, high = (_number(low) if low is not None else None), (_number(high) if high is not None else None)
    if (low, high) == (0, 6):
        return Mapped([context.layer("relu6", {})])
    if low is not None and high is not None:
        return Mapped([context.layer("hardtanh", {"min_val": low, "max_val": high})])
    return Mapped([context.layer("clamp", {key: value for key, value in (("min", low), ("max", high))
                                           if value is not None})])


def _prelu(context: Context) -> Mapped:
    slope = context.node.input[1]
    if not context.graph.is_constant(slope):
        raise Unmapped("its slope is computed at run time")
    count = context.graph.numel(slope)
    return Mapped([context.layer("prelu", {"num_parameters": count} if count != 1 else {}, params=count)])


def _pow(context: Context) -> Mapped:
    exponent = context.input(1)
    if not context.graph.is_constant(exponent) or context.graph.numel(exponent) != 1:
        raise Unmapped("only a scalar constant exponent has a spec type")
    return Mapped([context.layer("pow", {"exponent": _number(context.graph.value(exponent))})])


def _dropout(context: Context) -> Mapped:
    ratio = context.attributes.get("ratio")
    if context.input(1):
        ratio = context.graph.value(context.input(1))
    return Mapped([context.layer("dropout", {"p": _number(ratio)} if ratio is not None else {})])


def _pool(context: Context) -> Mapped:
    node = context.node
    spatial = context.rank() - 2
    if spatial not in (1, 2, 3):
        raise Unmapped(f"a {spatial}-d pool has no spec type")
    if len([name for name in node.output if name]) > 1:
        raise Unmapped("its indices output is used")
    kernel = list(context.attributes["kernel_shape"])
    strides = list(context.attributes.get("strides", [1] * spatial))
    dilations = list(context.attributes.get("dilations", [1] * spatial))
    pads = _spatial_pads(context, kernel, strides, dilations)
    if pads[:spatial] != pads[spatial:]:
        raise Unmapped(f"asymmetric pads {pads} have no pooling spec type")
    arguments: dict[str, Any] = {"kernel_size": _per_axis(kernel), "stride": _per_axis(strides)}
    if pads[:spatial] != [0] * spatial:
        arguments["padding"] = _per_axis(pads[:spatial])
    if context.attributes.get("ceil_mode", 0):
        arguments["ceil_mode"] = True
    if node.op_type == "MaxPool":
        if dilations != [1] * spatial:
            arguments["dilation"] = _per_axis(dilations)
        return Mapped([context.layer(f"maxpool{spatial}d", arguments)])
    if dilations != [1] * spatial:
        raise Unmapped("a dilated average pool has no spec type")
    if "padding" in arguments:
        arguments["count_include_pad"] = bool(context.attributes.get("count_include_pad", 0))
    return Mapped([context.layer(f"avgpool{spatial}d", arguments)])


def _global_pool(context: Context) -> Mapped:
    spatial = context.rank() - 2
    if context.node.op_type == "GlobalMaxPool":
        if spatial != 2:
            raise Unmapped(f"a {spatial}-d global max pool has no spec type (adaptivemaxpool2d is 2-d)")
        return Mapped([context.layer("adaptivemaxpool2d", {"output_size": 1})])
    if spatial not in (1, 2, 3):
        raise Unmapped(f"a {spatial}-d global average pool has no spec type")
    return Mapped([context.layer(f"adaptiveavgpool{spatial}d", {"output_size": 1})])


def _flatten(context: Context) -> Mapped:
    axis = context.attributes.get("axis", 1) % max(context.rank(), 1)
    if axis != 1:
        raise Unmapped(f"Flatten at axis {axis} merges the batch axis with others (only axis 1 keeps it apart)")
    return Mapped([context.layer("flatten", {})])


def _reshape(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    source = graph.shape(node.input[0])
    target = [int(value) for value in graph.value(node.input[1]).reshape(-1)]
    if not context.attributes.get("allowzero", 0):
        target = [source[axis] if value == 0 and axis < len(source) else value for axis, value in enumerate(target)]
    if not target or (target[0] != source[0] and not (target[0] == -1 and -1 not in target[1:])):
        raise Unmapped(f"reshape to {target} does not keep the batch axis ({source[0]}) first")
    per_sample = target[1:]
    if len(source) > 2 and len(per_sample) == 1:
        return Mapped([context.layer("flatten", {})])   # x.view(x.size(0), -1), x.flatten(1)
    if not per_sample:
        raise Unmapped("reshape to the batch axis alone has no spec type")
    return Mapped([context.layer("reshape", {"shape": per_sample})])


def _squeeze(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    axes = context.attributes.get("axes")
    if axes is None and context.input(1):
        axes = [int(value) for value in graph.value(context.input(1)).reshape(-1)]
    output = graph.shape(node.output[0])
    rank = len(output) if node.op_type == "Unsqueeze" else context.rank()
    if axes is None or any(axis % rank == 0 for axis in axes):
        raise Unmapped(f"{node.op_type} of the batch axis (axis 0)")
    return Mapped([context.layer("reshape", {"shape": list(output[1:])})])


def _transpose(context: Context) -> Mapped:
    rank = context.rank()
    perm = list(context.attributes.get("perm", reversed(range(rank))))
    if perm[0] != 0:
        raise Unmapped(f"permutation {perm} moves the batch axis")
    moved = [axis for axis, target in enumerate(perm) if axis != target]
    if len(moved) == 2:
        return Mapped([context.layer("transpose", {"dim0": moved[0], "dim1": moved[1]})])
    return Mapped([context.layer("permute", {"dims": perm})])


def _split(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    rank = context.rank()
    axis = context.attributes.get("axis", 0) % rank
    if axis == 0:
        raise Unmapped("splitting the batch axis has no spec type")
    pieces = [name for name in node.output]
    if context.input(1):
        sizes = [int(value) for value in graph.value(context.input(1)).reshape(-1)]
    elif "split" in context.attributes:
        sizes = list(context.attributes["split"])
    else:
        sizes = [graph.shape(name)[axis] for name in pieces]
    name = context.name
    record = LayerRecord(name, "split", {"split_size_or_sections": sizes, "dim": axis},
                         (graph.ref(node.input[0]),), node.name, None, 0)
    return Mapped([record], outputs=[f"{name}:{index}" for index in range(len(pieces))])


def _reduce_mean(context: Context) -> Mapped:
    graph = context.graph
    axes = context.attributes.get("axes")
    if axes is None and context.input(1):
        axes = [int(value) for value in graph.value(context.input(1)).reshape(-1)]
    if not axes:
        raise Unmapped("a mean over every axis (the batch axis too) has no spec type")
    axes = _batch_axis_free(context, list(axes), "a mean over")
    arguments: dict[str, Any] = {"dim": axes[0] if len(axes) == 1 else axes}
    if context.attributes.get("keepdims", 1):
        arguments["keepdim"] = True
    return Mapped([context.layer("mean", arguments)])


def _resize(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    rank = context.rank()
    spatial = rank - 2
    modes = {"nearest": "nearest", "cubic": "bicubic",
             "linear": {1: "linear", 2: "bilinear", 3: "trilinear"}.get(spatial)}
    mode = modes.get(_text(context.attributes.get("mode", "nearest")))
    if mode is None or spatial not in (1, 2, 3) or (mode == "bicubic" and spatial != 2):
        raise Unmapped(f"mode {_text(context.attributes.get('mode', 'nearest'))!r} on a {spatial}-d input")
    source = graph.shape(node.input[0])
    scales_name = context.input(2) if node.op_type == "Resize" else context.input(1)
    sizes_name = context.input(3) if node.op_type == "Resize" else None
    if node.op_type == "Upsample" and scales_name is None:
        scales = list(context.attributes["scales"])
    elif scales_name is not None and graph.numel(scales_name):
        scales = [float(value) for value in graph.value(scales_name).reshape(-1)]
    else:
        scales = None
    arguments: dict[str, Any]
    if scales is not None:
        if scales[:2] != [1.0, 1.0]:
            raise Unmapped(f"scales {scales} resize the batch or channel axis")
        factors = [int(value) if float(value).is_integer() else _number(value) for value in scales[2:]]
        arguments = {"scale_factor": _per_axis(factors)}
    elif sizes_name is not None:
        sizes = [int(value) for value in graph.value(sizes_name).reshape(-1)]
        if len(sizes) != rank or sizes[:2] != list(source[:2]):
            raise Unmapped(f"sizes {sizes} resize the batch or channel axis")
        arguments = {"size": _per_axis(sizes[2:])}
    else:
        raise Unmapped("neither scales nor sizes is given")
    arguments["mode"] = mode
    if mode != "nearest":
        arguments["align_corners"] = _text(context.attributes.get("coordinate_transformation_mode")) == "align_corners"
    return Mapped([context.layer("upsample", arguments)])


PAD_TYPES = {"constant": "constantpad", "reflect": "reflectionpad", "edge": "replicationpad", "wrap": "circularpad"}


def _pad(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    rank = context.rank()
    spatial = rank - 2
    mode = _text(context.attributes.get("mode", "constant"))
    if graph.opset < 11:
        pads, value = list(context.attributes["pads"]), context.attributes.get("value", 0.0)
    else:
        pads = [int(number) for number in graph.value(node.input[1]).reshape(-1)]
        value = graph.value(context.input(2)) if context.input(2) else 0.0
    if context.input(3):   # opset 18 `axes`: pads cover only those axes
        axes = [int(axis) % rank for axis in graph.value(context.input(3)).reshape(-1)]
        full = [0] * (2 * rank)
        for position, axis in enumerate(axes):
            full[axis], full[rank + axis] = pads[position], pads[len(axes) + position]
        pads = full
    begin, end = pads[:rank], pads[rank:]
    if spatial not in (1, 2, 3) or mode not in PAD_TYPES or any(begin[:2]) or any(end[:2]):
        raise Unmapped(f"pads {pads} ({mode}) on a {rank}-d tensor: only the spatial axes of a 3-d, 4-d or 5-d"
                       " tensor have padding spec types")
    padding = _torch_padding(begin[2:], end[2:])
    if mode == "constant":
        fill = _number(value)
        if fill == 0:
            return Mapped([context.layer(f"zeropad{spatial}d", {"padding": padding})])
        return Mapped([context.layer(f"constantpad{spatial}d", {"padding": padding, "value": fill})])
    return Mapped([context.layer(f"{PAD_TYPES[mode]}{spatial}d", {"padding": padding})])


def _gather(context: Context) -> Mapped:
    graph, node = context.graph, context.node
    data, indices = node.input[0], node.input[1]
    axis = context.attributes.get("axis", 0)
    if graph.is_constant(data) and not graph.is_constant(indices):
        table = graph.constant_shape(data)
        if len(table) != 2 or axis != 0:
            raise Unmapped(f"a lookup in a {len(table)}-d constant along axis {axis} is not an embedding table")
        return Mapped([context.layer("embedding", {"num_embeddings": table[0], "embedding_dim": table[1]},
                                     [graph.ref(indices)], params=graph.numel(data))])
    if graph.is_constant(indices) and graph.value(indices).ndim == 0:
        axis %= context.rank()
        if axis == 0:
            raise Unmapped("indexing the batch axis has no spec type")
        return Mapped([context.layer("select", {"dim": axis, "index": int(graph.value(indices))})])
    raise Unmapped("only an embedding lookup (a constant table, run-time ids) or a scalar index has a spec type")


def _depth_to_space(context: Context) -> Mapped:
    if _text(context.attributes.get("mode", "DCR")) != "CRD":
        raise Unmapped("DepthToSpace in DCR mode is not PixelShuffle's order (CRD)")
    return Mapped([context.layer("pixelshuffle", {"upscale_factor": context.attributes["blocksize"]})])


def _cast(context: Context) -> Mapped:
    source = context.graph.dtypes.get(context.node.input[0])
    if source is None or source != context.attributes.get("to"):
        raise Unmapped("a cast to another element type has no spec type")
    return Mapped([context.layer("identity", {})])


MAPPERS: dict[str, Callable[[Context], Mapped]] = {
    "Conv": _convolution, "ConvTranspose": _convolution, "Gemm": _linear_or_matmul, "MatMul": _linear_or_matmul,
    **{op: _arithmetic for op in ARITHMETIC}, "Concat": _concat,
    "BatchNormalization": _normalization, "LayerNormalization": _normalization,
    "InstanceNormalization": _normalization,
    **{op: _simple for op in SIMPLE}, "Gelu": _gelu, "LeakyRelu": _with_alpha("leakyrelu", "negative_slope", 0.01),
    "Elu": _with_alpha("elu", "alpha", 1.0), "Celu": _with_alpha("celu", "alpha", 1.0),
    "Softmax": _softmax, "LogSoftmax": _softmax, "Clip": _clip, "PRelu": _prelu, "Pow": _pow, "Dropout": _dropout,
    "MaxPool": _pool, "AveragePool": _pool, "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool,
    "Flatten": _flatten, "Reshape": _reshape, "Squeeze": _squeeze, "Unsqueeze": _squeeze,
    "Transpose": _transpose, "Split": _split, "ReduceMean": _reduce_mean, "Resize": _resize, "Upsample": _resize,
    "Pad": _pad, "Gather": _gather, "DepthToSpace": _depth_to_space, "Cast": _cast,
}


# --- fused patterns -----------------------------------------------------------------------------------------

def _gating_fusion(graph: Graph, node: Any) -> tuple[str, Any] | None:
    """x · sigmoid(x) is SiLU and x · hardsigmoid(x) HardSwish as PyTorch's exporter writes them: the gate's
    only consumer is a Mul of the gate's own input."""
    gate = {"Sigmoid": "silu", "HardSigmoid": "hardswish"}.get(node.op_type)
    consumers = graph.consumers.get(node.output[0], [])
    if gate is None or len(consumers) != 1 or node.output[0] in graph.outputs:
        return None
    mul = consumers[0]
    if mul.op_type != "Mul" or sorted(mul.input) != sorted([node.input[0], node.output[0]]):
        return None
    if gate == "hardswish":
        attributes = _attributes(graph.onnx, node)
        if abs(attributes.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(attributes.get("beta", 0.5) - 0.5) > 1e-6:
            return None
    return gate, mul


def _is_absorbed(graph: Graph, node: Any) -> bool:
    """A node fused into the one before it: a MatMul's bias Add, the Mul of x · sigmoid(x)."""
    for tensor in node.input:
        producer = graph.producers.get(tensor)
        if producer is None:
            continue
        if producer.op_type == "Sigmoid" or producer.op_type == "HardSigmoid":
            fused = _gating_fusion(graph, producer)
            if fused is not None and fused[1] is node:
                return True
        if (producer.op_type == "MatMul" and graph.is_constant(producer.input[1])
                and len(graph.constant_shape(producer.input[1])) == 2):
            if _bias_add(graph, producer.output[0], graph.constant_shape(producer.input[1])[1])[1]:
                return node.op_type == "Add"
    return False


# --- the import -----------------------------------------------------------------------------------------------

def _prepare(onnx: Any, model: Any) -> tuple[Any, int]:
    """The model with a batch of 1 wherever its inputs' batch axis is symbolic, shapes inferred."""
    prepared = type(model)()
    prepared.CopyFrom(model)
    initializer_names = {tensor.name for tensor in prepared.graph.initializer}
    for value in prepared.graph.input:
        if value.name in initializer_names:
            continue
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_value = 1
    opset = next((entry.version for entry in prepared.opset_import if entry.domain in ("", "ai.onnx")), 1)
    return prepared, opset


def _shapes(model: Any) -> tuple[dict[str, tuple[int, ...] | None], dict[str, int]]:
    shapes, dtypes = {}, {}
    graph = model.graph
    for value in [*graph.input, *graph.value_info, *graph.output]:
        tensor = value.type.tensor_type
        dtypes[value.name] = tensor.elem_type
        if not tensor.HasField("shape"):
            shapes[value.name] = None
            continue
        dims = [dim.dim_value if dim.HasField("dim_value") else None for dim in tensor.shape.dim]
        shapes[value.name] = None if None in dims else tuple(dims)
    for tensor in graph.initializer:
        shapes[tensor.name] = tuple(tensor.dims)
        dtypes[tensor.name] = tensor.data_type
    return shapes, dtypes


def _constant_nodes(graph: Graph, nodes: list[Any]) -> dict[str, Any]:
    constant: dict[str, Any] = {}
    for node in nodes:
        inputs = [name for name in node.input if name]
        static_shape = node.op_type in ("Shape", "Size") and graph.shapes.get(node.input[0]) is not None
        if node.domain in ("", "ai.onnx") and (
                node.op_type == "Constant" or static_shape
                or (inputs and all(name in graph.initializers or name in constant for name in inputs))):
            constant.update({name: node for name in node.output if name})
    return constant


def _folded(onnx: Any, model: Any, opset: int) -> tuple[Any, Graph]:
    """The model with every constant subgraph replaced by initializers, and its shapes inferred again: a
    folded shape tensor (`Concat(Shape(x)[0], -1)`) lets inference know the shapes after it, whose `Shape`
    nodes then fold in the next round."""
    import numpy

    for _ in range(16):
        del model.graph.value_info[:]
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
        shapes, dtypes = _shapes(model)
        graph = Graph(onnx, opset, shapes, dtypes, {tensor.name: tensor for tensor in model.graph.initializer}, {})
        graph.constant_nodes = _constant_nodes(graph, list(model.graph.node))
        if not graph.constant_nodes:
            return model, graph
        folded = [onnx.numpy_helper.from_array(numpy.asarray(graph.value(name)), name) for name in graph.constant_nodes]
        kept = [node for node in model.graph.node if not any(name in graph.constant_nodes for name in node.output)]
        del model.graph.node[:]
        model.graph.node.extend(kept)
        model.graph.initializer.extend(folded)
    return model, graph


def onnx_model_to_records(model: Any, path: str = "<onnx>", name: str | None = None) -> ImportedModel:
    """The layers of an ONNX model (an onnx.ModelProto); SpecError naming every node that has no spec type."""
    onnx = require_onnx()
    import onnx.numpy_helper  # noqa: F401  (used through the module)

    prepared, opset = _prepare(onnx, model)
    prepared, graph = _folded(onnx, prepared, opset)
    shapes, dtypes, initializers = graph.shapes, graph.dtypes, graph.initializers
    nodes = list(prepared.graph.node)
    graph.outputs = {value.name for value in prepared.graph.output}
    for node in nodes:
        for tensor in node.input:
            graph.consumers.setdefault(tensor, []).append(node)
        for tensor in node.output:
            graph.producers[tensor] = node

    inputs = [value for value in prepared.graph.input if value.name not in initializers]
    spec_inputs = []
    for value in inputs:
        shape = shapes.get(value.name)
        if shape is None or not shape:
            raise SpecError([Problem(path, 1, 1, f"input '{value.name}' has no static shape (a batch axis first)",
                                     code="onnx-input")])
        dtype = ONNX_DTYPES.get(dtypes.get(value.name, 1))
        if dtype is None:
            raise SpecError([Problem(path, 1, 1, f"input '{value.name}' has element type {dtypes.get(value.name)},"
                                     " which archcalc inputs do not have", code="onnx-input")])
        spec_name = "input" if len(inputs) == 1 else input_name(value.name)
        graph.references[value.name] = spec_name
        spec_inputs.append((spec_name, list(shape[1:]), dtype))

    scope_sizes: dict[str, int] = {}
    for node in nodes:
        parsed = scope_and_op(node.name)
        if parsed is not None and not _is_absorbed(graph, node):
            scope_sizes[parsed[0]] = scope_sizes.get(parsed[0], 0) + 1
    layers: list[LayerRecord] = []
    problems: list[Problem] = []
    used_names = {name for name, _, _ in spec_inputs}
    absorbed: set[str] = set()
    for position, node in enumerate(nodes, start=1):
        key = node.name or node.output[0]
        if key in absorbed:
            continue
        fused = _gating_fusion(graph, node)
        own = layer_name(node.name, scope_sizes, fused[0] if fused else None) if node.name else node.output[0]
        own = _unique(_clean(own), used_names)
        described = f"node '{node.name or node.output[0]}' ({node.op_type}" + (
            f", domain '{node.domain}')" if node.domain not in ("", "ai.onnx") else ")")
        try:
            if node.domain not in ("", "ai.onnx"):
                raise Unmapped(f"the operator set '{node.domain}' has no spec types")
            mapper = MAPPERS.get(node.op_type)
            if mapper is None:
                raise Unmapped("no archcalc layer type stands for this operator")
            context = Context(graph, node, own)
            if fused is not None:
                gate, mul = fused
                mapped = Mapped([context.layer(gate, {}, shape_of=mul.output[0])], absorbed=(mul.name or mul.output[0],))
                outputs = list(mul.output)
            else:
                mapped = mapper(context)
                outputs = list(node.output)
        except Unmapped as reason:
            problems.append(Problem(path, position, 1, f"{described}: {reason}", layer=node.name, code="unmapped-op"))
            for tensor in node.output:   # later nodes still get a reference, so each problem is its own
                graph.references[tensor] = own
            continue
        except (KeyError, ValueError, IndexError, TypeError) as error:
            problems.append(Problem(path, position, 1, f"{described}: cannot be read ({error})", layer=node.name,
                                    code="unmapped-op"))
            for tensor in node.output:
                graph.references[tensor] = own
            continue
        for record in mapped.layers:
            used_names.add(record.name)
        layers.extend(mapped.layers)
        absorbed.update(mapped.absorbed)
        references = mapped.outputs or [mapped.layers[-1].name] * len(outputs)
        for tensor, reference in zip(outputs, references):
            if tensor:
                graph.references[tensor] = reference
        for extra in mapped.absorbed:   # the fused Add / Mul: its output is the layer's
            for later in nodes:
                if (later.name or later.output[0]) == extra:
                    graph.references[later.output[0]] = mapped.layers[-1].name
    if problems:
        raise SpecError(problems)
    if not layers:
        raise SpecError([Problem(path, 1, 1, "the graph has no layers (every node is a constant)", code="onnx-empty")])
    return ImportedModel(name or prepared.graph.name or "model", spec_inputs, layers)


def _unique(name: str, used: set[str]) -> str:
    if name not in used and name != "input":
        return name
    number = 1
    while f"{name}_{number}" in used:
        number += 1
    return f"{name}_{number}"


def verify(imported: ImportedModel, text: str, path: str = "<onnx>") -> Any:
    """The spec's Network, after checking every layer against ONNX: its output shape (shape inference) and
    its parameters (the initializer elements its node consumes). A difference is an importer gap, reported."""
    from ..api import loads

    network = loads(text, path=f"{path} (imported spec)")
    problems = []
    for record in imported.layers:
        result = network.layer(record.name)
        if record.expected_shape is not None and tuple(result.output_shape) != record.expected_shape:
            problems.append(f"layer '{record.name}' (node '{record.node}'): archcalc computes"
                            f" {list(result.output_shape)}, ONNX infers {list(record.expected_shape)}")
        if record.expected_params is not None and result.params != record.expected_params:
            problems.append(f"layer '{record.name}' (node '{record.node}'): {result.params:,} parameters, the"
                            f" node's initializers hold {record.expected_params:,}")
    if problems:
        raise SpecError([Problem(path, 1, 1, message, code="onnx-mismatch") for message in problems])
    return network


def import_onnx(path: str, name: str | None = None) -> tuple[ImportedModel, str]:
    """Read an ONNX file and return its layer records and the spec text (checked against ONNX)."""
    onnx = require_onnx()
    from pathlib import Path

    from .flat_writer import render_spec

    try:
        model = onnx.load(path, load_external_data=False)
    except (OSError, ValueError) as error:
        raise SpecError([Problem(path, 1, 1, f"cannot read the ONNX model: {error}", code="file")]) from None
    except Exception as error:   # protobuf's DecodeError: not an ONNX file
        raise SpecError([Problem(path, 1, 1, f"not an ONNX model ({type(error).__name__}: {error})",
                                 code="file")]) from None
    imported = onnx_model_to_records(model, path, name or Path(path).stem)
    text = render_spec(imported.name, imported.inputs, imported.layers, source=f"imported from {Path(path).name}")
    verify(imported, text, path)
    return imported, text


__all__ = ["INSTALL_HINT", "ImportedModel", "LayerRecord", "MAPPERS", "import_onnx", "layer_name", "scope_and_op",
           "onnx_model_to_records", "verify"]
