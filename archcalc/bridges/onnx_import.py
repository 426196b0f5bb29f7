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
from dataclasses import dataclass, field, replace
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


class Unreadable(Exception):
    """A model ONNX itself cannot analyze."""


def require_onnx() -> Any:
    from . import MissingDependency

    try:
        import onnx
    except ImportError:
        raise MissingDependency(INSTALL_HINT) from None
    return onnx


# --- names -------------------------------------------------------------------------------------------------

def scope_and_op(node_name: str) -> tuple[str, str] | None:
    """PyTorch's exporter names nodes `/layer1/layer1.0/conv1/Conv`: each scope, then the op. The scopes give
    the module path (`layer1.0.conv1`); None for a name of another form."""
    parts = [part for part in node_name.split("/") if part]
    if not node_name.startswith("/") or not parts:
        return None
    *scopes, op = parts   # `/Flatten`: a call in the top module's forward
    # A scope is the module's name in its parent, prefixed by the parent's scope where the parent is a
    # container (`layer1` then `layer1.0`; `downsample` then `downsample.0`)
    path, previous = "", None
    for scope in scopes:
        if previous is not None and scope.startswith(previous + "."):
            path += scope[len(previous):]
        else:
            path = f"{path}.{scope}" if path else scope
        previous = scope
    return path, op


def layer_name(node_name: str, scope_sizes: dict[str, int], op_name: str | None = None) -> str:
    """A node's layer name: the module path when the node is its scope's only layer and the scope has no
    scopes inside (a leaf module: `layer1.0.conv1`), else the path and the op (`layer1.0.add`, a call in a
    block's forward); other names pass through. `scope_sizes` counts the layers of each scope and of the
    scopes inside it."""
    parsed = scope_and_op(node_name)
    if parsed is None:
        return node_name
    path, op = parsed
    op = op.lower() if op_name is None else op_name + op[len(op.rstrip("_0123456789")):]
    if not path:
        return op
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
    producers: dict[str, Any] = field(default_factory=dict)    # tensor → the node computing it
    outputs: set[str] = field(default_factory=set)
    values: dict[str, Any] = field(default_factory=dict)

    def is_constant(self, tensor: str) -> bool:
        return tensor in self.initializers or tensor in self.constant_nodes

    def value(self, tensor: str) -> Any:
        """The numpy value of a constant tensor (an initializer, a Constant node, a folded subgraph)."""
        if tensor in self.values:
            return self.values[tensor]
        if tensor in self.initializers:
            initializer = self.initializers[tensor]
            if initializer.data_location == self.onnx.TensorProto.EXTERNAL:   # the import never reads weight files
                raise Unmapped(f"'{tensor}' is stored outside the model (external data); its value is not read")
            value = self.onnx.numpy_helper.to_array(initializer)
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
        if not all(_foldable(self.shapes.get(output)) for output in node.output if output):
            raise Unmapped(f"constant '{tensor}' is larger than {FOLD_LIMIT:,} elements or of unknown size")
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
        try:
            results = ReferenceEvaluator(model).run(None, feeds)
        except Exception as error:   # the reference evaluator's own errors have no common base class
            raise Unmapped(f"constant '{tensor}' cannot be computed ({type(error).__name__}: {error})") from None
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


# --- what a family's ONNX mappers see ---------------------------------------------------------------------

class Context:
    """One node as a layer family's mapper sees it (`ONNX_OPERATORS` in archcalc/layers/<family>.py).

    A mapper returns the node's layer records (`context.layer(...)`), or None when the node is another
    family's (two families may map one op: MatMul of a weight is a linear layer, of two tensors a matmul);
    it raises `context.unmapped(reason)` when no spec type can stand for it."""

    def __init__(self, graph: Graph, node: Any, name: str, helpers: dict[str, Callable[..., Any]]):
        self.graph, self.node, self.name, self._helpers = graph, node, name, helpers
        self.opset = graph.opset
        self.attributes = _attributes(graph.onnx, node)
        self.absorbed: list[Any] = []
        self.outputs: list[str] | None = None   # references of the node's outputs (default: the last layer)
        self.named_after: str | None = None      # the op part of the layer name for a fused pattern
        self.output_indices: dict[str, int] = {}  # a fused node's tensor → the last layer's output it is (NAME:i)

    # reading the node
    def attribute(self, name: str, default: Any = None) -> Any:
        return _text(self.attributes.get(name, default))

    def input(self, index: int) -> str | None:
        return self.node.input[index] if index < len(self.node.input) and self.node.input[index] else None

    def shape(self, tensor: str) -> tuple[int, ...]:
        return self.graph.shape(tensor)

    def rank(self, index: int = 0) -> int:
        return len(self.graph.shape(self.node.input[index]))

    def is_constant(self, tensor: str | None) -> bool:
        return tensor is not None and self.graph.is_constant(tensor)

    def value(self, tensor: str) -> Any:
        return self.graph.value(tensor)

    def value_or_none(self, tensor: str) -> Any:
        """The value of a constant tensor, or None where the import does not compute it (too large, external)."""
        try:
            return self.graph.value(tensor)
        except Unmapped:
            return None

    def ints(self, tensor: str) -> list[int]:
        return [int(value) for value in self.graph.value(tensor).reshape(-1)]

    def constant_shape(self, tensor: str) -> tuple[int, ...]:
        return self.graph.constant_shape(tensor)

    def element_type(self, tensor: str) -> int | None:
        """The tensor's onnx.TensorProto element type."""
        return self.graph.dtypes.get(tensor)

    def numel(self, tensor: str) -> int:
        return self.graph.numel(tensor)

    def ref(self, tensor: str) -> str:
        return self.graph.ref(tensor)

    @staticmethod
    def number(value: Any) -> int | float:
        return _number(value)

    @staticmethod
    def per_axis(values: list[int]) -> int | list[int]:
        return _per_axis(values)

    def spatial_pads(self, kernel: list[int], strides: list[int], dilations: list[int]) -> list[int]:
        return _spatial_pads(self, kernel, strides, dilations)

    @staticmethod
    def torch_padding(begin: list[int], end: list[int]) -> list[int]:
        return _torch_padding(begin, end)

    # patterns over several nodes
    def sole_consumer(self, tensor: str) -> Any:
        """The only node reading `tensor` (None when several do, or it is a graph output)."""
        consumers = self.graph.consumers.get(tensor, [])
        return consumers[0] if len(consumers) == 1 and tensor not in self.graph.outputs else None

    def producer(self, tensor: str) -> Any:
        """The node computing `tensor` (None for a graph input or an initializer)."""
        return self.graph.producers.get(tensor)

    def is_mapped(self, tensor: str) -> bool:
        """Whether `tensor` is an input or the output of a node mapped already (earlier in the graph)."""
        return tensor in self.graph.references

    def attributes_of(self, node: Any) -> dict[str, Any]:
        return _attributes(self.graph.onnx, node)

    def output_as(self, tensor: str, index: int) -> None:
        """`tensor` (an absorbed node's output) is the last layer's output `index` (`NAME:index`)."""
        self.output_indices[tensor] = index

    def absorb(self, node: Any) -> None:
        """A later node fused into this one (a MatMul's bias Add): its output is this node's last layer."""
        self.absorbed.append(node)

    # writing layers
    def layer(self, type_: str, arguments: dict[str, Any], inputs: list[str] | None = None, *, suffix: str = "",
              params: int = 0, shape_of: str | None = None) -> LayerRecord:
        """A layer record: named after the node (+ suffix), fed by the node's first input unless `inputs`
        are given, checked against the inferred shape of `shape_of` (default the output of the node, or of the
        last node fused into it) and `params` initializer elements."""
        inputs = inputs if inputs is not None else [self.graph.ref(self.node.input[0])]
        tensor = shape_of if shape_of is not None else (self.absorbed[-1] if self.absorbed else self.node).output[0]
        return LayerRecord(self.name + suffix, type_, arguments, tuple(inputs), self.node.name or self.node.output[0],
                           _per_sample(self.graph.shapes.get(tensor)), params)

    def helper(self, name: str) -> Callable[..., Any]:
        """A layer-writing function another family registers (`ONNX_HELPERS`): "zero padding", "learned tensor"."""
        return self._helpers[name]

    def operands(self, names: list[str]) -> tuple[list[LayerRecord], list[str]]:
        """Operands as spec references; a non-scalar constant becomes a learned tensor layer, its shape per
        sample as it broadcasts over the batch (leading axes of size 1 up to the output's rank, axis 0 dropped)."""
        rank = len(self.graph.shape(self.node.output[0]))
        layers: list[LayerRecord] = []
        inputs = []
        for index, operand in enumerate(names):
            if not self.graph.is_constant(operand):
                inputs.append(self.graph.ref(operand))
                continue
            shape = self.graph.constant_shape(operand)
            full = (1,) * (rank - len(shape)) + tuple(shape)
            if len(full) != rank or full[0] != 1 or len(full) < 2:
                raise Unmapped(f"constant operand '{operand}' of shape {list(shape)} spans the batch axis")
            suffix = "." + re.sub(r"[^A-Za-z0-9_]", "_", operand)
            if any(layer.name == self.name + suffix for layer in layers):
                suffix = f".constant{index}"
            layers.append(self.helper("learned tensor")(self, list(full[1:]), self.graph.numel(operand), suffix))
            inputs.append(layers[-1].name)
        return layers, inputs

    @staticmethod
    def unmapped(reason: str) -> Exception:
        return Unmapped(reason)


def _spatial_pads(context: Context, kernel: list[int], strides: list[int], dilations: list[int]) -> list[int]:
    """ONNX `pads` as [begin..., end...] over the spatial axes, `auto_pad` resolved from the input shape."""
    spatial = len(kernel)
    auto_pad = context.attribute("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        sizes = context.shape(context.node.input[0])[2:]
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


def _registry() -> tuple[dict[str, list[Callable[[Context], Any]]], dict[str, Callable[..., Any]]]:
    """Every family's ONNX mappers by op type (in family order) and its layer-writing helpers."""
    from ..layers import families, family_module

    mappers: dict[str, list[Callable[[Context], Any]]] = {}
    helpers: dict[str, Callable[..., Any]] = {}
    modules = [family_module(family) for family in families()]
    for table in ("ONNX_PATTERNS", "ONNX_OPERATORS"):   # a pattern of several nodes first (GELU's Div)
        for module in modules:
            for op, mapper in getattr(module, table, {}).items():
                mappers.setdefault(op, []).append(mapper)
    for module in modules:
        helpers.update(getattr(module, "ONNX_HELPERS", {}))
    return mappers, helpers


def supported_operators() -> list[str]:
    """The ONNX op types some layer family maps."""
    return sorted(_registry()[0])


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


FOLD_LIMIT = 1 << 20   # elements of a constant the import computes


def _foldable(shape: tuple[int, ...] | None) -> bool:
    return shape is not None and math.prod(shape) <= FOLD_LIMIT


def _folded(onnx: Any, model: Any, opset: int) -> tuple[Any, Graph]:
    """The model with every constant subgraph replaced by initializers, and its shapes inferred again: a
    folded shape tensor (`Concat(Shape(x)[0], -1)`) lets inference know the shapes after it, whose `Shape`
    nodes then fold in the next round."""
    import numpy

    for _ in range(16):
        del model.graph.value_info[:]
        try:
            model = onnx.shape_inference.infer_shapes(model, data_prop=True, strict_mode=True)
        except Exception as error:   # onnx raises InferenceError, ValidationError or RuntimeError
            raise Unreadable(f"ONNX's shape inference fails ({type(error).__name__}: {error})") from None
        shapes, dtypes = _shapes(model)
        graph = Graph(onnx, opset, shapes, dtypes, {tensor.name: tensor for tensor in model.graph.initializer}, {})
        graph.constant_nodes = _constant_nodes(graph, list(model.graph.node))
        # Small constants fold now; a large one (a transposed weight) stays a node, its shape inferred, its
        # value computed only if a layer asks for it — a model cannot make the import allocate without bound.
        small = {name: node for name, node in graph.constant_nodes.items()
                 if all(_foldable(graph.shapes.get(output)) for output in node.output if output)}
        if not small:
            return model, graph
        values = {}
        for name in small:
            try:
                values[name] = graph.value(name)
            except Unmapped:   # stays a node: a layer that needs its value reports why
                continue
        small = {name: node for name, node in small.items() if all(output in values for output in node.output if output)}
        if not small:
            return model, graph
        folded = [onnx.numpy_helper.from_array(numpy.asarray(values[name]), name) for name in small]
        kept = [node for node in model.graph.node if not any(name in small for name in node.output)]
        del model.graph.node[:]
        model.graph.node.extend(kept)
        model.graph.initializer.extend(folded)
    return model, graph


def onnx_model_to_records(model: Any, path: str = "<onnx>", name: str | None = None) -> ImportedModel:
    """The layers of an ONNX model (an onnx.ModelProto); SpecError naming every node that has no spec type."""
    onnx = require_onnx()
    import onnx.numpy_helper  # noqa: F401  (used through the module)

    prepared, opset = _prepare(onnx, model)
    try:
        prepared, graph = _folded(onnx, prepared, opset)
    except Unreadable as error:
        raise SpecError([Problem(path, 1, 1, str(error), code="onnx-invalid")]) from None
    shapes, dtypes, initializers = graph.shapes, graph.dtypes, graph.initializers
    nodes = list(prepared.graph.node)
    graph.outputs = {value.name for value in prepared.graph.output}
    for node in nodes:
        for tensor in node.input:
            graph.consumers.setdefault(tensor, []).append(node)
        graph.producers.update({tensor: node for tensor in node.output if tensor})

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

    mappers, helpers = _registry()
    layers: list[LayerRecord] = []
    problems: list[Problem] = []
    absorbed: set[int] = set()
    mapped_nodes: list[tuple[str, Any, str | None]] = []   # (provisional name, node, name of a fused pattern)
    for position, node in enumerate(nodes, start=1):
        if id(node) in absorbed or all(name in graph.constant_nodes for name in node.output if name):
            continue
        token = f"\x00{position}\x00"   # the layer name once every node's scope is known (_named)
        described = f"node '{node.name or node.output[0]}' ({node.op_type}" + (
            f", domain '{node.domain}')" if node.domain not in ("", "ai.onnx") else ")")
        context = Context(graph, node, token, helpers)
        try:
            records = _map(context, mappers.get(node.op_type, []))
            if context.outputs is None:   # one layer output: a second output (a mask, indices) must be unused
                used = [index for index, tensor in enumerate(node.output[1:], start=1)
                        if tensor and (graph.consumers.get(tensor) or tensor in graph.outputs)]
                if used:
                    raise Unmapped(f"its output {used[0]} ('{node.output[used[0]]}') is used; its layer has one")
        except Unmapped as reason:
            problems.append(Problem(path, position, 1, f"{described}: {reason}", layer=node.name, code="unmapped-op"))
            records = None
        except (KeyError, ValueError, IndexError, TypeError, AttributeError) as error:
            problems.append(Problem(path, position, 1, f"{described}: cannot be read ({error})", layer=node.name,
                                    code="unmapped-op"))
            records = None
        outputs = list((context.absorbed[-1] if context.absorbed else node).output)
        if records is None:   # later nodes still get a reference, so each problem is reported on its own
            graph.references.update({tensor: token for tensor in node.output})
            continue
        layers.extend(records)
        absorbed.update(id(later) for later in context.absorbed)
        mapped_nodes.append((token, node, context.named_after))
        references = context.outputs or [records[-1].name] * len(outputs)
        graph.references.update({tensor: reference for tensor, reference in zip(outputs, references) if tensor})
        graph.references.update({tensor: f"{records[-1].name}:{index}" for tensor, index in context.output_indices.items()})
    if problems:
        raise SpecError(problems)
    if not layers:
        raise SpecError([Problem(path, 1, 1, "the graph has no layers (every node is a constant)", code="onnx-empty")])
    used = {spec_name for spec_name, _, _ in spec_inputs}
    return ImportedModel(name or prepared.graph.name or "model", spec_inputs, _named(layers, mapped_nodes, used))


def _map(context: Context, candidates: list[Callable[[Context], Any]]) -> list[LayerRecord]:
    node = context.node
    if node.domain not in ("", "ai.onnx"):
        raise Unmapped(f"the operator set '{node.domain}' has no spec types")
    if not candidates:
        raise Unmapped("no archcalc layer type stands for this operator")
    for mapper in candidates:
        records = mapper(context)
        if records is not None:
            return records
    raise Unmapped("no archcalc layer type stands for it in this form")


def _named(layers: list[LayerRecord], mapped: list[tuple[str, Any, str | None]], used: set[str]) -> list[LayerRecord]:
    """The records with their layer names: module paths from the node names, a scope's op where a scope has
    several layers (a block's own calls), unique."""
    scope_sizes: dict[str, int] = {}
    for _, node, _ in mapped:
        parsed = scope_and_op(node.name)
        if parsed is not None:   # the scope and each enclosing one (`layer1.0` holds `layer1.0.conv1`'s layer)
            parts = parsed[0].split(".")
            for end in range(1, len(parts) + 1):
                scope = ".".join(parts[:end])
                scope_sizes[scope] = scope_sizes.get(scope, 0) + 1
    final = {}
    for token, node, named_after in mapped:
        own = layer_name(node.name, scope_sizes, named_after) if node.name else node.output[0]
        final[token] = _unique(_clean(own), used)
        used.add(final[token])
    pattern = re.compile("\x00\\d+\x00")

    def rename(text: str) -> str:
        return pattern.sub(lambda match: final[match.group(0)], text)

    return [replace(record, name=rename(record.name), inputs=tuple(rename(source) for source in record.inputs),
                    arguments={key: rename(value) if key == "tie" else value for key, value in record.arguments.items()})
            for record in layers]


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


def input_spec(imported: ImportedModel) -> Any:
    """What the spec's `input:` says: a shape (one float32 input), `{shape, dtype}`, or named inputs."""
    def one(shape: list[int], dtype: str) -> Any:
        return shape if dtype == "float32" else {"shape": shape, "dtype": dtype}

    if len(imported.inputs) == 1:
        return one(*imported.inputs[0][1:])
    return {name: one(shape, dtype) for name, shape, dtype in imported.inputs}


def spec_text(imported: ImportedModel, source: str | None = None, flat: bool = False) -> str:
    """The spec of imported layers, written by the shared writer (blocks and `repeat` unless `flat`). The writer
    compares every argument of the instances it folds, so the layers go through archcalc once, flat, and are
    handed over with all their arguments (records_of)."""
    from ..api import loads
    from .spec_writer import LayerRecord as WrittenLayer, records_of, write_spec

    written = [WrittenLayer(record.name, record.type, dict(record.arguments), list(record.inputs))
               for record in imported.layers]
    header = [source] if source else ()
    text = write_spec(written, input_spec(imported), name=imported.name, flat=True, header=header)
    if flat:
        return text
    return write_spec(records_of(loads(text, path="<imported spec>")), input_spec(imported), name=imported.name,
                      header=header)


def import_onnx(path: str, name: str | None = None, flat: bool = False) -> tuple[ImportedModel, str]:
    """Read an ONNX file and return its layer records and the spec text (checked against ONNX)."""
    onnx = require_onnx()
    from pathlib import Path

    try:
        model = onnx.load(path, load_external_data=False)
    except (OSError, ValueError) as error:
        raise SpecError([Problem(path, 1, 1, f"cannot read the ONNX model: {error}", code="file")]) from None
    except Exception as error:   # protobuf's DecodeError: not an ONNX model
        raise SpecError([Problem(path, 1, 1, f"not an ONNX model ({type(error).__name__}: {error})",
                                 code="file")]) from None
    imported = onnx_model_to_records(model, path, name or Path(path).stem)
    text = spec_text(imported, f"imported from {Path(path).name} by archcalc import onnx", flat)
    verify(imported, text, path)
    return imported, text


__all__ = ["Context", "INSTALL_HINT", "ImportedModel", "LayerRecord", "import_onnx", "input_spec", "layer_name", "scope_and_op",
           "onnx_model_to_records", "spec_text", "supported_operators", "verify"]
