"""A spec from a PyTorch model: `archcalc import torch MODULE:CALLABLE --input-shape 3,224,224`.

The callable (a class or a factory, called with `kwargs`) gives an nn.Module; torch.fx traces it with
every module that has a spec type kept whole (`nn.Conv2d`, `nn.LayerNorm`, ... : the types' `pytorch`
names, read from the registry), and a forward pass on a zero batch of one records each node's shape.
Each node becomes one layer:

* a module call: the module's type and constructor arguments, named by its path (`layer2.0.conv1`); a
  module called again is `share:` of its first call when it has parameters (a weight-shared layer), else a
  layer of its own named `<path>_1`, `<path>_2` (torch.fx's names: ResNet's `relu_1`); a linear whose
  weight is another module's weight is `tie:` of that module;
* a function, operator or tensor method (`torch.flatten`, `x + y`, `x.view(...)`, `F.relu`): its type,
  `call: function` or `call: operator`, named `<innermost module>.<function>` (`layer1.0.add`);
  reshapes take the per-sample shape the pass recorded;
* a learned tensor read directly (ViT's `class_token`): a `parameter` layer;
* size arithmetic (`x.size(0)`, `x.shape[1] // 2`) and no-op views (`.contiguous()`) make no layer.

Anything else is refused with one error listing every op that has no spec type, with its module path and
the source line torch.fx recorded; a model torch.fx cannot trace raises `FxCannotTrace`, and `archcalc
import torch` reads it with torch.export instead (bridges/export_import.py). The spec is then read back
by archcalc and checked against the model: each layer's output shape against the traced shape, the
total parameters against `sum(p.numel() for p in model.parameters())` — a spec that disagrees is an
error, never written.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import ImportFailure, MissingDependency
from .names import pytorch_name, tag_of
from .spec_writer import INPUT, LayerRecord, write_spec, written_args

RECURRENT = ("torch.nn.LSTM", "torch.nn.GRU", "torch.nn.RNN")
UNMAPPED = "<unmapped>"
MULTIHEAD = "torch.nn.MultiheadAttention"
DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "bool")


class FxCannotTrace(ImportFailure):
    """torch.fx's symbolic trace failed: `reason` is its error; the model and example batch are what
    bridges.export_import's torch.export fallback reads instead."""

    def __init__(self, message: str, reason: str, model: Any, examples: list[Any]):
        super().__init__(message)
        self.reason, self.model, self.examples = reason, model, examples


def _torch() -> Any:
    try:
        import torch
        import torch.fx  # noqa: F401
    except ImportError:
        raise MissingDependency("archcalc import torch needs PyTorch: pip install torch") from None
    return torch


# ------------------------------------------------------------------------------------------------
# the model


def load_callable(reference: str) -> Callable[..., Any]:
    """`package.module:Name` or `path/to/file.py:Name` → the object (a class or a factory)."""
    module_name, colon, attribute = reference.rpartition(":")
    if not colon or not module_name or not attribute:
        raise ImportFailure(f"expected MODULE:CALLABLE (e.g. torchvision.models:resnet50), got {reference!r}")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise ImportFailure(f"no such file: {module_name}")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules.setdefault(path.stem, module)
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path:
                sys.path.insert(0, "")   # a module in the current directory, as `python -m` finds it
            module = importlib.import_module(module_name)
    except ImportFailure:
        raise
    except Exception as error:   # the user's module: any error while importing it is theirs to see
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ImportFailure(f"cannot import {module_name}: {type(error).__name__}: {first}") from None
    target = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ImportFailure(f"{module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ImportFailure(f"{reference} is not callable (a class or a function that returns an nn.Module)")
    return target


def build_model(factory: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    torch = _torch()
    try:
        model = factory(**kwargs)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ImportFailure(f"calling {getattr(factory, '__name__', factory)}(**{json.dumps(kwargs)}) failed:"
                            f" {type(error).__name__}: {first}") from None
    if not isinstance(model, torch.nn.Module):
        raise ImportFailure(f"{getattr(factory, '__name__', factory)} returned {type(model).__name__}, not an nn.Module")
    return model.eval()


# ------------------------------------------------------------------------------------------------
# the registry, read backwards: torch class → type tag


def _module_types() -> dict[type, str]:
    """Every torch.nn class a spec type names → its tag (`torch.nn.Conv2d` → the conv family's tag)."""
    torch = _torch()
    from ..layers import TYPE_NAMES, layer_class

    found: dict[type, str] = {}
    for tag in TYPE_NAMES:
        name = layer_class(tag).pytorch
        if name.startswith("torch.nn.") and name.count(".") == 2 and layer_class(tag).pytorch_arguments is None:
            kind = getattr(torch.nn, name.rpartition(".")[2], None)
            if isinstance(kind, type) and issubclass(kind, torch.nn.Module):
                found[kind] = tag
    return found


def generated_type(module: Any) -> str | None:
    """The type of a module whose class `archcalc export --to pytorch` generated for a type no torch.nn class stands
    for (a mixture of experts): the class says it (`archcalc_type = TAG`) and the type can read such a module."""
    from ..layers import TYPE_NAMES, layer_class

    tag = getattr(type(module), "archcalc_type", None)
    return tag if tag in TYPE_NAMES and layer_class(tag).pytorch_arguments is not None else None


def _normal(name: str) -> str:
    return name.lower().replace("_", "")


def _function_types() -> dict[str, str]:
    """Function and method names (normalized: lowercase, no `_`) → tag: a type's own name
    (`adaptive_avg_pool2d` → adaptiveavgpool2d, `leaky_relu`), its torch function (`torch.cat`)."""
    from ..layers import TYPE_NAMES, layer_class

    found = {_normal(tag): tag for tag in TYPE_NAMES}
    for tag in TYPE_NAMES:
        name = layer_class(tag).pytorch
        if name.count(".") == 1 or name.startswith("torch.nn.functional."):
            found[_normal(name.rpartition(".")[2])] = tag
    for alias, name in {"iadd": "torch.add", "radd": "torch.add", "isub": "torch.sub", "imul": "torch.mul",
                        "rmul": "torch.mul", "truediv": "torch.div", "itruediv": "torch.div", "concatenate": "torch.cat",
                        "interpolate": "torch.nn.Upsample", "view": "torch.reshape", "unsqueeze": "torch.reshape",
                        "squeeze": "torch.reshape", "unflatten": "torch.reshape", "swapaxes": "torch.transpose"}.items():
        found[_normal(alias)] = tag_of(name)
    return found


# ------------------------------------------------------------------------------------------------
# one module's arguments


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _transformer_arguments(module: Any) -> dict[str, Any]:
    torch = _torch()
    activation = module.activation   # F.relu or F.gelu, or a module of that name
    name = getattr(activation, "__name__", type(activation).__name__).lower()
    return dict(d_model=module.self_attn.embed_dim, nhead=module.self_attn.num_heads,
                dim_feedforward=module.linear1.out_features, dropout=module.dropout.p, activation=name,
                layer_norm_eps=module.norm1.eps, batch_first=module.self_attn.batch_first, norm_first=module.norm_first,
                bias=module.linear1.bias is not None and isinstance(module.linear1.bias, torch.Tensor))


def module_arguments(module: Any, tag: str) -> dict[str, Any]:
    """The spec arguments of one module: each field of the type read from the module's attribute of the
    same name (PyTorch's constructor names), `bias` as whether it has one."""
    from ..layers import Layer, layer_class

    if pytorch_name(tag).startswith("torch.nn.Transformer"):
        return _transformer_arguments(module)
    fields = [name for name in layer_class(tag).model_fields if name not in Layer.model_fields and name != "tie"]
    arguments: dict[str, Any] = {}
    for name in fields:
        if name == "bias":
            owner = getattr(module, "in_proj_bias", None) if pytorch_name(tag) == MULTIHEAD else getattr(module, "bias", None)
            arguments["bias"] = owner is not None if not isinstance(owner, bool) else owner
        elif name == "add_bias_kv":
            arguments[name] = getattr(module, "bias_k", None) is not None
        elif name == "num_parameters" and hasattr(module, "weight"):
            arguments[name] = module.weight.numel()
        elif name == "init":
            continue   # PReLU's initial value is not kept; it changes no size
        elif hasattr(module, name):
            value = getattr(module, name)
            if not callable(value) or isinstance(value, (int, float, str, bool, tuple, list)):
                arguments[name] = _plain(value)
    if pytorch_name(tag) == MULTIHEAD:   # kdim / vdim equal to embed_dim are PyTorch's own defaults
        for name in ("kdim", "vdim"):
            if arguments.get(name) == arguments.get("embed_dim"):
                arguments[name] = None
    return arguments


# ------------------------------------------------------------------------------------------------
# the graph


@dataclass
class Unmapped:
    what: str
    module: str
    line: str

    def __str__(self) -> str:
        place = f" in {self.module}" if self.module else " at the top level"
        return f"{self.what}{place}{f' ({self.line})' if self.line else ''}"


def _source_line(node: Any) -> str:
    """The last frame torch.fx recorded for the node: `file.py:42: x = torch.cumsum(x, 1)`."""
    trace = node.stack_trace or node.meta.get("stack_trace") or ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in [^\n]*\n\s*([^\n]*)', trace)
    # the model's own line, not torch.fx's frames that record it
    frames = [frame for frame in frames if not re.search(r"[/\\]site-packages[/\\]torch[/\\]|[/\\]torch[/\\]fx[/\\]",
                                                         frame[0])]
    if not frames:
        return ""
    path, line, code = frames[-1]
    return f"{path}:{line}: {code.strip()}"


def _scope(node: Any) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1]
    return path[0] if isinstance(path, tuple) else str(path)


def _is_tensor(value: Any) -> bool:
    torch = _torch()
    return isinstance(value, torch.Tensor)


def _tensor_outputs(value: Any) -> list[Any] | None:
    """The tensors a node gives, flattened (a tuple of tensors: LSTM, split), or None for a non-tensor."""
    if _is_tensor(value):
        return [value]
    if isinstance(value, (tuple, list)) and value and all(_is_tensor(item) or isinstance(item, (tuple, list))
                                                          for item in value):
        flat: list[Any] = []
        for item in value:
            inner = _tensor_outputs(item)
            if inner is None:
                return None
            flat += inner
        return flat
    return None


class _Recorder:
    """Runs the traced graph node by node, keeping each node's value (shapes for the spec, and for the check)."""

    def __init__(self, graph_module: Any):
        import torch.fx

        self.values: dict[Any, Any] = {}
        interpreter = torch.fx.Interpreter(graph_module)
        recorder = self

        def run_node(node):
            value = torch.fx.Interpreter.run_node(interpreter, node)
            recorder.values[node] = value
            return value

        interpreter.run_node = run_node
        self.interpreter = interpreter


class _Importer:
    def __init__(self, model: Any, examples: list[Any]):
        self.torch = _torch()
        self.model = model
        self.examples = examples
        self.modules = dict(model.named_modules())
        self.module_types = _module_types()
        self.function_types = _function_types()
        self.records: list[LayerRecord] = []
        self.unmapped: list[Unmapped] = []
        self.names: dict[Any, str] = {}       # fx node → the spec name of its tensor ("input", "layer1", "split:0")
        self.used_names: set[str] = set()
        self.calls: dict[str, str] = {}       # module path → the layer name of its first call
        self.call_counts: dict[str, int] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.several: dict[Any, tuple[str, int]] = {}   # a node giving a tuple → (layer name, flat index of item 0)
        self.states: dict[Any, str] = {}                # a recurrent layer, and nodes that are its states
        self.batch_second: set[Any] = set()             # h_n / c_n as PyTorch gives them: [layers, N, H]
        self.parameter_reads: dict[Any, tuple] = {}     # get_attr of an nn.Parameter, not yet a layer
        self.pending_attributes: dict[Any, str] = {}    # get_attr of a buffer or constant

    # tracing --------------------------------------------------------------------------------

    def trace(self) -> Any:
        import torch.fx

        module_types = self.module_types

        class Tracer(torch.fx.Tracer):
            def is_leaf_module(self, module, qualified_name):   # every module a spec type stands for is kept whole
                return type(module) in module_types or generated_type(module) is not None or \
                    super().is_leaf_module(module, qualified_name)

        tracer = Tracer()
        tracer.record_stack_traces = True
        try:
            graph = tracer.trace(self.model)
        except Exception as error:
            reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            raise FxCannotTrace(f"torch.fx cannot trace {type(self.model).__name__}: {reason} (a forward with"
                                " data-dependent control flow; trace a model whose forward fx can follow)",
                                reason, self.model, self.examples) from None
        graph_module = torch.fx.GraphModule(self.model, graph)
        recorder = _Recorder(graph_module)
        with self.torch.no_grad():
            try:
                recorder.interpreter.run(*self.examples)
            except Exception as error:
                first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                raise ImportFailure(f"the model does not run on a zero batch of one of the --input-shape given (per"
                                    f" sample, batch excluded): {type(error).__name__}: {first}") from None
        return graph, recorder.values

    # naming ----------------------------------------------------------------------------------

    def _unique(self, base: str) -> str:
        name, number = base, 1
        while name in self.used_names:
            name, number = f"{base}_{number}", number + 1
        self.used_names.add(name)
        return name

    def _function_name(self, node: Any, short: str) -> str:
        scope = _scope(node)
        return self._unique(f"{scope}.{short}" if scope else short)

    # nodes -----------------------------------------------------------------------------------

    def run(self) -> list[LayerRecord]:
        graph, values = self.trace()
        placeholders = [node for node in graph.nodes if node.op == "placeholder"]
        for position, node in enumerate(placeholders):
            name = INPUT if len(placeholders) == 1 else node.target
            self.names[node] = name
            self.used_names.add(name)
            self.shapes[name] = tuple(values[node].shape[1:])
        self.values = values
        self._finish(self._read_nodes(graph, lambda node: True, ""))
        return self.records

    def _read_nodes(self, graph: Any, wanted: Callable[[Any], bool], tracer: str) -> Any:
        """Read every wanted node of the graph in order (the inputs are named already); the output node. An op with
        no layer type is collected, and all of them are one ImportFailure at the end."""
        output = None
        for node in graph.nodes:
            if node.op == "placeholder":
                continue
            if node.op == "output":
                output = node
                continue
            if wanted(node):
                self._node(node, self.values.get(node))
        if self.unmapped:
            listed = "\n".join(f"  {item}" for item in self.unmapped)
            raise ImportFailure(f"{len(self.unmapped)} op{'s' * (len(self.unmapped) != 1)} of"
                                f" {type(self.model).__name__}{tracer} {'have' if len(self.unmapped) != 1 else 'has'}"
                                f" no archcalc layer type:\n{listed}")
        return output

    def _finish(self, output: Any) -> None:
        """The network's output is the spec's last layer: the model's (first) output tensor must be it."""
        first = output.args[0]
        while isinstance(first, (tuple, list)) and first:
            first = first[0]
        if isinstance(first, dict) and first:
            first = next(iter(first.values()))
        name = self.names.get(first)
        if name is None:
            raise ImportFailure("the model's output is not a tensor the spec can name")
        if not self.records or self.records[-1].name != name.partition(":")[0] or ":" in name:
            self.records.append(LayerRecord(self._unique("output"), tag_of("torch.nn.Identity"), {}, [name]))

    def _reference(self, argument: Any) -> str | None:
        return self.names.get(argument) if hasattr(argument, "op") else None

    def _add(self, node: Any, name: str, tag: str, args: dict[str, Any], inputs: list[str], value: Any) -> None:
        """One layer; a node giving a tuple is remembered, for the `NAME:INDEX` its items are."""
        self.records.append(LayerRecord(name, tag, args, inputs))
        outputs = _tensor_outputs(value) or []
        self.names[node] = name
        if len(outputs) > 1 or isinstance(value, (tuple, list)):
            self.several[node] = (name, 0)   # getitem nodes pick NAME:INDEX, nested tuples flattened
            if pytorch_name(tag) in RECURRENT:
                self.states[node] = name
        if outputs:
            self.shapes[name] = tuple(outputs[0].shape[1:])
            for index, tensor in enumerate(outputs):
                self.shapes[f"{name}:{index}"] = tuple(tensor.shape[1:])

    def _refuse(self, node: Any, what: str) -> None:
        self.unmapped.append(Unmapped(what, _scope(node), _source_line(node)))
        self.names[node] = UNMAPPED   # later ops are still looked at: the error lists every op at once

    def _node(self, node: Any, value: Any) -> None:
        if node.op == "call_module":
            self._module(node, value)
        elif node.op == "get_attr":
            self._attribute(node, value)
        elif node.op in ("call_function", "call_method"):
            if _tensor_outputs(value) is None:
                return   # size arithmetic: no tensor, no layer
            self._function(node, value)

    def _tensor_inputs(self, node: Any) -> list[Any]:
        found = []

        def visit(argument):
            if hasattr(argument, "op"):
                if _tensor_outputs(self.values.get(argument)) is not None:
                    found.append(argument)
            elif isinstance(argument, (tuple, list)):
                for item in argument:
                    visit(item)
            elif isinstance(argument, dict):
                for item in argument.values():
                    visit(item)

        visit(node.args)
        visit(node.kwargs)
        return found

    def _module(self, node: Any, value: Any) -> None:
        module = self.modules[node.target]
        tag = self.module_types.get(type(module)) or generated_type(module)
        if tag is None:
            self._refuse(node, f"module {type(module).__module__}.{type(module).__qualname__} ({node.target})")
            return
        sources = [self.names.get(argument) for argument in self._tensor_inputs(node)]
        if any(source is None for source in sources):
            return   # an input already refused: the first error is the one to fix
        path = node.target
        arguments = self._generated_arguments(module, tag, node) if generated_type(module) else \
            module_arguments(module, tag)
        for key in ("need_weights", "average_attn_weights"):   # forward arguments of nn.MultiheadAttention
            if key in node.kwargs:
                arguments[key] = node.kwargs[key]
        if pytorch_name(tag) == MULTIHEAD and len(sources) == 3 and len(set(sources)) == 1:
            sources = sources[:1]   # attention(x, x, x): self-attention, one input
        self._add_module_call(node, path, module, tag, arguments, sources, value)

    def _add_module_call(self, node: Any, path: str, module: Any, tag: str, arguments: dict[str, Any],
                         sources: list[str], value: Any) -> None:
        """The layer of one call of the module at `path`: a later call of a module with parameters `share`s the
        first call's (a reused module), the first call `tie`s a weight another module owns, frozen parameters
        make it `trainable: false`."""
        has_parameters = any(True for _ in module.parameters(recurse=True))
        count = self.call_counts.get(path, 0)
        self.call_counts[path] = count + 1
        if count and has_parameters:
            arguments["share"] = self.calls[path]
            name = self._unique(path)
        else:
            name = self._unique(path if count == 0 else f"{path}_{count}")
        if count == 0:
            self.calls[path] = name
            tied = self._tied(module, path)
            if tied:
                arguments["tie"] = tied
        if has_parameters and not any(parameter.requires_grad for parameter in module.parameters()):
            arguments["trainable"] = False
        self._add(node, name, tag, arguments, sources, value)

    def _generated_arguments(self, module: Any, tag: str, node: Any) -> dict[str, Any]:
        """A generated class's layer read by its type's hook; a sub-network (an expert) is traced on its own, on
        the layer's per-sample input, its layers written as the spec writes a block's."""
        from ..layers import layer_class

        (source,) = self._tensor_inputs(node)[:1]
        example = self.values[source]

        def network(submodule: Any) -> list[dict[str, Any]]:
            inner = _Importer(submodule, [self.torch.zeros_like(example)])
            layers, previous = [], INPUT
            for record in inner.run():
                layer = {"name": record.name, "type": record.type}
                if record.inputs != [previous] and record.inputs:
                    layer["inputs"] = record.inputs
                layer.update(written_args(record))
                layers.append(layer)
                previous = record.name
            return layers

        return layer_class(tag).pytorch_arguments(module, network)

    def _tied(self, module: Any, path: str) -> str | None:
        weight = getattr(module, "weight", None)
        if weight is None:
            return None
        for other_path, other_name in self.calls.items():
            if other_path != path and getattr(self.modules[other_path], "weight", None) is weight:
                return other_name
        return None

    def _attribute(self, node: Any, value: Any) -> None:
        torch = self.torch
        target = node.target
        owner_path, _, attribute = target.rpartition(".")
        owner = self.modules.get(owner_path) if owner_path else self.model
        parameter = getattr(owner, attribute, None)
        if isinstance(parameter, torch.nn.Parameter) and parameter.dim() >= 1:
            self.parameter_reads[node] = (target, owner_path, parameter, value)   # a layer when first used
        elif _tensor_outputs(value) is not None:
            self.pending_attributes[node] = target   # refused only if a layer reads it

    def _learned_tensor(self, node: Any) -> None:
        """A parameter read in forward as a `parameter` layer: [1, ...] is a tensor expanded over the batch
        (ViT's class token); a shape without the batch axis broadcasts over it (ConvNeXt's layer_scale
        [C, 1, 1]): per sample, the same shape."""
        target, _, parameter, value = self.parameter_reads.pop(node)
        arguments = {"shape": list(parameter.shape[1:] if parameter.shape[0] == 1 and parameter.dim() > 1
                                   else parameter.shape)}
        if not parameter.requires_grad:
            arguments["trainable"] = False
        name = self._unique(target)
        self._add(node, name, tag_of("torch.nn.Parameter"), arguments, [], value)
        self.shapes[name] = tuple(arguments["shape"])   # per sample, whichever way torch holds it

    def _with_own_parameters(self, node: Any, tag: str | None, tensors: list[Any], value: Any) -> bool:
        """F.layer_norm(x, shape, self.weight, self.bias) inside a module that is an nn.LayerNorm (torchvision's
        LayerNorm2d): the layer of that module, named by its path."""
        reads = [argument for argument in tensors if argument in self.parameter_reads]
        owners = {self.parameter_reads[argument][1] for argument in reads}
        if tag is None or not reads or len(owners) != 1:
            return False
        (path,) = owners
        module = self.modules.get(path)
        kind = next((cls for cls, found in self.module_types.items() if found == tag), None)
        inputs = [argument for argument in tensors if argument not in self.parameter_reads]
        if module is None or kind is None or not isinstance(module, kind) or len(inputs) != 1 \
                or self.names.get(inputs[0]) in (None, UNMAPPED):
            return False
        for argument in reads:
            self.parameter_reads.pop(argument)
        self.calls.setdefault(path, path)
        self._add(node, self._unique(path), tag, module_arguments(module, tag), [self.names[inputs[0]]], value)
        return True

    # functions -------------------------------------------------------------------------------

    def _function(self, node: Any, value: Any) -> None:
        target = node.target
        short = target if isinstance(target, str) else getattr(target, "__name__", str(target))
        short = short.strip("_")
        tensors = self._tensor_inputs(node)
        if self._with_own_parameters(node, self.function_types.get(_normal(short)), tensors, value):
            return
        for argument in tensors:
            if argument in self.parameter_reads:
                self._learned_tensor(argument)
            if argument in self.pending_attributes:
                self._refuse(node, f"the tensor {self.pending_attributes[argument]} (a buffer or constant) read by"
                                   f" {self._describe(node)}")
                return
        if short == "getitem" and node.args[0] in self.several:
            self._getitem(node, value, [])
            return
        if any(argument in self.batch_second for argument in tensors):
            # a recurrent state [layers, N, H]: the spec counts it batch-first, as .transpose(0, 1) makes it
            if _normal(short) in (_normal(self.torch.transpose.__name__), "swapaxes") and sorted(node.args[1:3]) == [0, 1]:
                self.names[node] = self.names[tensors[0]]
                return
            self._refuse(node, f"{self._describe(node)} on a recurrent state [layers, N, H] (the spec counts h_n"
                               " batch-first: take .transpose(0, 1) of it first)")
            return
        sources = [self.names.get(argument) for argument in tensors]
        if any(source is None for source in sources):
            return
        if UNMAPPED in sources and short in ("getitem", "getattr"):
            self.names[node] = UNMAPPED   # a part of an op already refused
            return
        if short == "getitem":
            self._getitem(node, value, sources)
            return
        if short in ("contiguous", "clone", "detach", "float", "to", "type", "type_as") or (
                short == "expand" and tuple(value.shape[1:]) == tuple(self.values[tensors[0]].shape[1:])):
            if tuple(value.shape) == tuple(self.values[tensors[0]].shape) or short == "expand":
                self.names[node] = sources[0]   # the same tensor (a view, a copy, or a learned tensor's batch)
                return
        tag = self.function_types.get(_normal(short))
        if tag is None:
            self._refuse(node, self._describe(node))
            return
        made = self._function_arguments(node, tag, value, tensors, sources)
        if made is None:
            self._refuse(node, self._describe(node))
            return
        arguments, sources = made
        from ..layers import layer_class

        call = "operator" if node.op == "call_method" or getattr(target, "__module__", "") in ("_operator", "operator") \
            else "function"
        if call != layer_class(tag).default_call:
            arguments["call"] = call
        self._add(node, self._function_name(node, short), tag, arguments, sources, value)

    def _describe(self, node: Any) -> str:
        target = node.target
        if node.op == "call_method":
            return f"the tensor method .{target}()"
        module = getattr(target, "__module__", "") or ""
        name = getattr(target, "__qualname__", getattr(target, "__name__", str(target)))
        module = {"_operator": "operator", "torch._C._nn": "torch.nn.functional",
                  "torch._C._VariableFunctions": "torch"}.get(module, module)
        if name.startswith("_VariableFunctionsClass.") or module.startswith("torch._C"):
            module, name = "torch", getattr(target, "__name__", name)
        return f"{module}.{name}" if module else name

    def _getitem(self, node: Any, value: Any, sources: list[str]) -> None:
        container = node.args[0]
        index = node.args[1]
        if container in self.several and isinstance(index, int):
            name, offset = self.several[container]
            items = list(self.values[container])
            index = index % len(items)
            offset += sum(len(_tensor_outputs(item) or [item]) for item in items[:index])
            if isinstance(items[index], (tuple, list)):
                self.several[node] = (name, offset)
                if container in self.states:
                    self.states[node] = name
            else:
                self.names[node] = f"{name}:{offset}"
                if container in self.states and offset > 0:
                    self.batch_second.add(node)
            return
        # x[:, 0]: select on a tensor
        if _is_tensor(self.values.get(container)) and isinstance(index, tuple) and len(index) == 2 \
                and index[0] == slice(None) and isinstance(index[1], int):
            self._add(node, self._function_name(node, self.torch.select.__name__), tag_of("torch.select"),
                      {"dim": 1, "index": index[1]}, sources, value)
            return
        self._refuse(node, f"indexing {self._describe(node)}[{index!r}]")

    def _bound(self, node: Any) -> dict[str, Any] | None:
        """The node's arguments by parameter name, where the function has a Python signature."""
        target = node.target
        if isinstance(target, str):
            return None
        try:
            return dict(inspect.signature(target).bind(*node.args, **node.kwargs).arguments)
        except (TypeError, ValueError):
            return None

    def _function_arguments(self, node: Any, tag: str, value: Any, tensors: list[Any],
                            sources: list[str]) -> tuple[dict[str, Any], list[str]] | None:
        from ..layers import Layer, layer_class

        kind = pytorch_name(tag)
        fields = [name for name in layer_class(tag).model_fields if name not in Layer.model_fields]
        out_shape = list(value.shape[1:]) if _is_tensor(value) else None
        args = [argument for argument in node.args[1:] if not hasattr(argument, "op")]
        if kind in ("torch.add", "torch.sub", "torch.mul", "torch.div"):
            scalars = [argument for argument in node.args if isinstance(argument, (int, float))
                       and not isinstance(argument, bool)]
            if len(tensors) >= 2 and not scalars:
                return {}, sources
            if len(tensors) == 1 and len(scalars) == 1 and (hasattr(node.args[0], "op") or kind in ("torch.add", "torch.mul")):
                return {"scalar": scalars[0]}, sources
            return None
        if kind == "torch.cat":
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
            return {"dim": dim}, sources
        if kind == "torch.reshape":
            return {"shape": out_shape}, sources[:1]
        if kind == "torch.nn.Flatten":
            start = args[0] if len(args) > 0 else node.kwargs.get("start_dim", 0)
            end = args[1] if len(args) > 1 else node.kwargs.get("end_dim", -1)
            return {"start_dim": start, "end_dim": end}, sources[:1]
        if kind == "torch.permute":
            dims = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            return {"dims": list(node.kwargs.get("dims", dims))}, sources[:1]
        if kind == "torch.transpose":
            return {"dim0": args[0], "dim1": args[1]}, sources[:1]
        if kind in ("torch.split", "torch.chunk"):
            key = "split_size_or_sections" if kind == "torch.split" else "chunks"
            size = args[0] if args else node.kwargs.get(key, node.kwargs.get("split_size"))
            dim = args[1] if len(args) > 1 else node.kwargs.get("dim", 0)
            return {key: _plain(size), "dim": dim}, sources[:1]
        if kind == "torch.matmul":
            return {}, sources
        if kind == "torch.select":
            dim = args[0] if args else node.kwargs.get("dim")
            index = args[1] if len(args) > 1 else node.kwargs.get("index")
            return {"dim": dim, "index": index}, sources[:1]
        if kind == "torch.nn.functional.scaled_dot_product_attention":
            names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
            bound = self._bound(node) or {**dict(zip(names, node.args)), **node.kwargs}
            if bound.get("attn_mask") is not None:
                return None
            return {key: bound[key] for key in ("dropout_p", "is_causal", "scale", "enable_gqa") if key in bound}, \
                sources[:3]
        if kind == "torch.mean":
            dim = args[0] if args else node.kwargs.get("dim")
            keepdim = args[1] if len(args) > 1 else node.kwargs.get("keepdim", False)
            return {"dim": _plain(dim), "keepdim": keepdim}, sources[:1]
        if kind == "torch.nn.Softmax" or kind == "torch.nn.LogSoftmax" or kind == "torch.nn.Softmin":
            dim = args[0] if args else node.kwargs.get("dim")
            return {"dim": dim}, sources[:1]
        # a module type called as a function (F.relu, F.adaptive_avg_pool2d, torch.sigmoid): its arguments
        # by name, those the type has
        bound = self._bound(node)
        if bound is None:
            if args or any(key not in ("inplace",) for key in node.kwargs):
                return None
            bound = dict(node.kwargs)
        arguments = {key: _plain(item) for key, item in bound.items() if key in fields and not hasattr(item, "op")}
        if len(sources) != 1:
            return None
        return arguments, sources


def _example_inputs(model: Any, shapes: list[list[int]], dtypes: list[str]) -> list[Any]:
    """A batch of one per input, zeros (token id 0), on the model's device (the meta device traces without memory)."""
    torch = _torch()
    device = next((parameter.device for parameter in model.parameters()), torch.device("cpu"))
    return [torch.zeros(1, *shape, dtype=getattr(torch, dtype), device=device) for shape, dtype in zip(shapes, dtypes)]


def _input_spec(shapes: list[list[int]], dtypes: list[str], names: list[str]) -> Any:
    def one(shape, dtype):
        return list(shape) if dtype == "float32" else {"shape": list(shape), "dtype": dtype}

    if len(shapes) == 1:
        return one(shapes[0], dtypes[0])
    return {name: one(shape, dtype) for name, shape, dtype in zip(names, shapes, dtypes)}


def import_torch(reference: str, input_shapes: list[list[int]], dtypes: list[str] | None = None,
                 kwargs: dict[str, Any] | None = None, flat: bool = False, model: Any = None) -> str:
    """The spec text of the model `reference` (MODULE:CALLABLE) makes, or of `model` when given.
    Raises ImportFailure (what cannot be mapped, or a spec that disagrees with the model) or
    MissingDependency (no torch)."""
    torch = _torch()
    kwargs = kwargs or {}
    dtypes = list(dtypes or ["float32"] * len(input_shapes))
    if len(dtypes) == 1 and len(input_shapes) > 1:
        dtypes *= len(input_shapes)
    if model is None:
        model = build_model(load_callable(reference), kwargs)
    importer = _Importer(model, _example_inputs(model, input_shapes, dtypes))
    records = importer.run()
    placeholders = [name for name in importer.shapes if ":" not in name][:len(input_shapes)]
    input_spec = _input_spec(input_shapes, dtypes, placeholders)
    name = reference.rpartition(":")[2].rpartition(".")[2].lower() or type(model).__name__.lower()
    call = f"{reference}({', '.join(f'{key}={value!r}' for key, value in kwargs.items())})"
    header = [f"Imported by `archcalc import torch {reference}` from {call}: torch {torch.__version__},"
              " torch.fx.", "Layer names are the module paths; functions are named <module>.<function>."]
    module_classes = {path: type(module).__name__ for path, module in model.named_modules() if path}
    text = write_spec(records, input_spec, name, header, module_classes, flat=flat)
    _check(text, model, importer)
    return text


def _check(text: str, model: Any, importer: _Importer) -> None:
    """The spec read back by archcalc: every layer's shape as traced, and all of the model's parameters."""
    from ..api import loads
    from ..problems import SpecError

    try:
        network = loads(text, "<imported spec>")
    except SpecError as error:
        raise ImportFailure(f"the imported spec is not valid archcalc (an importer bug, please report):\n{error}")\
            from None
    wrong = [f"  {layer.name}: archcalc {list(layer.output_shape)}, torch {list(importer.shapes[layer.name])}"
             for layer in network.layers
             if layer.name in importer.shapes and tuple(layer.output_shape) != importer.shapes[layer.name]]
    if wrong:
        raise ImportFailure("the imported spec's shapes differ from the traced model's:\n" + "\n".join(wrong))
    expected = sum(parameter.numel() for parameter in model.parameters())
    if network.totals.params != expected:
        called = set(importer.calls) | {record.name for record in importer.records
                                         if pytorch_name(record.type) == "torch.nn.Parameter"}
        missing = sorted(name for name, _ in model.named_parameters()
                         if not any(name == path or name.startswith(path + ".") for path in called))
        listed = ", ".join(missing[:8]) + (", ..." if len(missing) > 8 else "")
        raise ImportFailure(f"the imported spec has {network.totals.params:,} parameters, the model {expected:,}:"
                            f" parameters never used in forward or used outside a module: {listed or 'none found'}")


__all__ = ["DTYPES", "Unmapped", "build_model", "import_torch", "load_callable", "module_arguments"]
