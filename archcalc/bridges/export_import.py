"""`archcalc import torch` where torch.fx cannot trace: the same spec from `torch.export`'s ATen graph.

Hugging Face's models (GPT2LMHeadModel, LlamaForCausalLM) branch on their inputs and build masks in
forward, which symbolic tracing cannot follow; `torch.export` (non-strict) runs the forward on real tensors
and records the ATen ops with each node's `nn_module_stack`. This module reads that graph with the fx
importer's machinery (the same records, names, `tie`/`share`, folding into blocks and the same check):

* a module that a spec type stands for (`nn.Linear`, `nn.LayerNorm`, `nn.Embedding`, `nn.Dropout`, ...),
  or a transformers class named in `LIBRARY_MODULES` (matched by class name: archcalc never imports
  transformers), is one layer: every ATen node recorded inside it (Conv1D's view, addmm, view) folds into
  the layer of the module's path;
* any other ATen op is read as the torch function of its name (`aten.add.Tensor` as `x + y`,
  `aten.view` as a reshape), exactly as the fx importer reads functions;
* nodes that do not depend on the model's inputs (the positions `torch.arange(seq_len)`, the causal mask)
  are constants: they make no layer. The mask that `scaled_dot_product_attention` receives is evaluated:
  a causal mask becomes `is_causal: true`, any other mask is refused. A constant that a layer reads
  becomes an input of the spec (`position_ids`, LLaMA's rotary `cos` and `sin`), as the zoo specs take them.

Everything else is refused with the fx importer's error: every op, its module path and its source line.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
from typing import Any

from . import ImportFailure
from .names import tag_of
from .spec_writer import INPUT, LayerRecord, write_spec
from .torch_import import UNMAPPED, FxCannotTrace, _Importer, _check, _input_spec, _is_tensor, _tensor_outputs, \
    _torch, import_torch, module_arguments


def _conv1d(module: Any) -> tuple[str, dict[str, Any]]:
    """transformers' Conv1D: a linear layer whose weight is stored [in, out] (the same counts)."""
    return "torch.nn.Linear", {"in_features": module.weight.shape[0], "out_features": module.nf,
                               "bias": module.bias is not None}


def _tanh() -> str:
    """The name of GELU's tanh approximation (`approximate=`), torch.tanh's own."""
    return _torch().tanh.__name__


def _rms_norm(module: Any) -> tuple[str, dict[str, Any]]:
    eps = getattr(module, "variance_epsilon", getattr(module, "eps", None))
    return "torch.nn.RMSNorm", {"normalized_shape": list(module.weight.shape), "eps": eps,
                                "elementwise_affine": True}


# transformers' own module classes, by class name → (the PyTorch name of their spec type, arguments)
LIBRARY_MODULES = {
    "Conv1D": _conv1d,
    "NewGELUActivation": lambda module: ("torch.nn.GELU", {"approximate": _tanh()}),
    "GELUTanh": lambda module: ("torch.nn.GELU", {"approximate": _tanh()}),
    "GELUActivation": lambda module: ("torch.nn.GELU", {"approximate": "none"}),
    "SiLUActivation": lambda module: ("torch.nn.SiLU", {}),
    "LlamaRMSNorm": _rms_norm,
}

# ATen ops that give their input unchanged (as a view, a copy or another dtype): no layer
# (names without their leading and trailing `_`: aten._to_copy is `to_copy`)
SAME_TENSOR = {"alias", "to", "to_copy", "clone", "contiguous", "detach", "lift_fresh_copy", "type_as"}


def _export(model: Any, examples: list[Any], why: str) -> Any:
    """`torch.export` of the model on the example batch; HF's `use_cache=False` (a cache is no tensor).
    `why`: torch.fx's error, said with torch.export's when it fails too."""
    torch = _torch()
    keywords = {}
    try:
        if "use_cache" in inspect.signature(model.forward).parameters:
            keywords["use_cache"] = False
    except (TypeError, ValueError):
        pass
    torch_log = logging.getLogger("torch")
    level = torch_log.level
    torch_log.setLevel(logging.CRITICAL)   # a failing export logs the graph it stopped in: the error says it
    try:
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            return torch.export.export(model, tuple(examples), keywords, strict=False)
    except Exception as error:   # the model's own code, run by torch.export: its error is the user's to see
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ImportFailure(f"neither torch.fx nor torch.export can trace {type(model).__name__}: torch.fx: {why};"
                            f" torch.export: {type(error).__name__}: {first}") from None
    finally:
        torch_log.setLevel(level)


def _record_values(model: Any, exported: Any, examples: list[Any]) -> dict[Any, Any]:
    """Every node's value on the example batch, the parameters and buffers as the model holds them."""
    torch = _torch()
    graph_module = exported.graph_module
    signature = exported.graph_signature
    # non-persistent buffers (LLaMA's rotary inv_freq) are in neither table: the model holds them
    state = {**dict(model.named_buffers(remove_duplicate=False)), **exported.state_dict, **exported.constants}
    lifted = [state.get(spec.target) if spec.target is not None and spec.kind.name != "USER_INPUT" else None
              for spec in signature.input_specs]
    users = iter(examples)
    arguments = []
    for spec, value in zip(signature.input_specs, lifted):
        if spec.kind.name == "USER_INPUT":
            arguments.append(next(users, None) if _is_tensor_spec(spec) else getattr(spec.arg, "value", None))
        else:
            arguments.append(value)
    values: dict[Any, Any] = {}
    interpreter = torch.fx.Interpreter(graph_module)

    def run_node(node):
        value = torch.fx.Interpreter.run_node(interpreter, node)
        values[node] = value
        return value

    interpreter.run_node = run_node
    with torch.no_grad():
        try:
            interpreter.run(*arguments)
        except Exception as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ImportFailure(f"the exported graph does not run on a zero batch of one: {type(error).__name__}:"
                                f" {first}") from None
    return values


def _is_tensor_spec(spec: Any) -> bool:
    return type(spec.arg).__name__ == "TensorArgument"


def _is_causal_mask(mask: Any, query: Any, key: Any) -> bool:
    """A mask that lets position i see positions 0..i: boolean True on and below the diagonal, or an
    additive mask 0 there and a very negative number above it."""
    torch = _torch()
    length, source = query.shape[-2], key.shape[-2]
    if tuple(mask.shape[-2:]) != (length, source) or length != source:
        return False
    causal = torch.ones(length, source, dtype=torch.bool).tril()
    if mask.dtype == torch.bool:
        return bool((mask == causal).all())
    if not mask.dtype.is_floating_point:
        return False
    allowed = mask == 0
    blocked = mask <= torch.finfo(mask.dtype).min / 2
    return bool((allowed == causal).all()) and bool((blocked == ~causal).all())


class _ExportImporter(_Importer):
    """The fx importer's records, read from torch.export's ATen graph (see the module docstring)."""

    def __init__(self, model: Any, examples: list[Any], why: str):
        super().__init__(model, examples)
        self.why = why
        self.aten: dict[Any, str] = {}          # node → its ATen op, for the error message
        self.data: set[Any] = set()             # nodes that depend on the model's inputs
        self.groups: dict[Any, str] = {}        # node → the path of the (outermost) one-layer module it is in
        self.group_outputs: dict[str, Any] = {}
        self.constant_inputs: dict[Any, str] = {}   # a constant a layer reads → the spec input it becomes
        self.input_order: list[str] = []
        self.repeated: set[Any] = set()         # nodes of HF's repeat_kv before a grouped-query attention
        self.layer_modules: dict[str, tuple[str, dict[str, Any]] | None] = {}
        torch = self.torch   # op names by the torch functions of the same name (the registry owns type names)
        self.reshapes = {"view", "unsafe_view", torch.reshape.__name__}
        self.attention = torch.nn.functional.scaled_dot_product_attention.__name__

    # the graph ---------------------------------------------------------------------------------

    def _layer_module(self, path: str) -> tuple[str, dict[str, Any]] | None:
        """(tag, arguments) when the module at `path` is one spec layer (a fresh copy of the arguments)."""
        if path not in self.layer_modules:
            module = self.modules.get(path)
            tag = self.module_types.get(type(module)) if module is not None else None
            made = LIBRARY_MODULES.get(type(module).__name__) if module is not None and tag is None else None
            if tag is not None:
                self.layer_modules[path] = tag, module_arguments(module, tag)
            elif made is not None:
                pytorch, arguments = made(module)
                self.layer_modules[path] = tag_of(pytorch), arguments
            else:
                self.layer_modules[path] = None
        found = self.layer_modules[path]
        return None if found is None else (found[0], dict(found[1]))

    def _group_of(self, node: Any) -> str | None:
        stack = node.meta.get("nn_module_stack") or {}
        for key, (path, _) in stack.items():
            path = path if isinstance(path, str) else str(path)
            if path and self._layer_module(path) is not None:
                return key   # one key per call of a module: a module called twice is two groups
        return None

    def run(self) -> list[LayerRecord]:
        if any(example.device.type == "meta" for example in self.examples):
            raise ImportFailure(f"torch.fx cannot trace {type(self.model).__name__} ({self.why}), and torch.export's"
                                " graph is read on real tensors (its masks and position constants are evaluated):"
                                " build the model on the CPU, not the meta device")
        exported = _export(self.model, self.examples, self.why)
        values = _record_values(self.model, exported, self.examples)
        self.values = values
        graph = exported.graph_module.graph
        self._read_signature(exported)
        self._find_groups(graph)
        self._find_data(graph)
        self._name_inputs(graph)
        output = self._read_nodes(graph, lambda node: node in self.data or node in self.constant_inputs,
                                  " (read with torch.export)")
        self._finish(output)
        for record in self.records:
            record.args.pop("call", None)   # ATen does not say whether forward wrote x + y or torch.add
        return self.records

    def _read_signature(self, exported: Any) -> None:
        torch = self.torch
        self.user_inputs: list[Any] = []
        by_name = {node.name: node for node in exported.graph_module.graph.nodes if node.op == "placeholder"}
        parameters = dict(self.model.named_parameters(remove_duplicate=False))
        for spec in exported.graph_signature.input_specs:
            node = by_name[spec.arg.name]
            kind = spec.kind.name
            if kind == "USER_INPUT":
                if _is_tensor_spec(spec):
                    self.user_inputs.append(node)
            elif kind == "PARAMETER":
                owner, _, _ = spec.target.rpartition(".")
                parameter = parameters[spec.target]
                if isinstance(parameter, torch.nn.Parameter):
                    self.parameter_reads[node] = (spec.target, owner, parameter, self.values[node])
            else:
                self.pending_attributes[node] = spec.target   # a buffer or constant: refused if a layer reads it

    def _find_groups(self, graph: Any) -> None:
        for node in graph.nodes:
            if node.op == "call_function":
                key = self._group_of(node)
                if key is not None and not self._passes_through(node, key):
                    self.groups[node] = key
        leaving: dict[str, list[Any]] = {}
        for node in graph.nodes:
            key = self.groups.get(node)
            if key is not None and _tensor_outputs(self.values.get(node)) is not None and any(
                    self.groups.get(user) != key and (user.op == "output" or _tensor_outputs(self.values.get(user))
                                                      is not None) for user in node.users):
                leaving.setdefault(key, []).append(node)
        # the one tensor leaving a module is its layer (None: several leave, the module is not one layer)
        self.group_outputs = {key: nodes[0] if len(nodes) == 1 else None for key, nodes in leaving.items()}

    def _passes_through(self, node: Any, key: str) -> bool:
        """`x.to(torch.float32)` on a float32 x inside a module returns x itself, and torch.export records the
        caller's later uses of x (LLaMA's residual) as uses of that node: it stays outside the module."""
        if self._op_name(node) not in SAME_TENSOR or not node.args or not hasattr(node.args[0], "op"):
            return False
        source, value = self.values.get(node.args[0]), self.values.get(node)
        return self.groups.get(node.args[0]) != key and _tensor_outputs(value) is not None \
            and _tensor_outputs(source) is not None and value.shape == source.shape and value.dtype == source.dtype

    def _find_data(self, graph: Any) -> None:
        # what the inputs or the learned weights make; the rest (arange, masks, rotary tables) are constants
        self.data = set(self.user_inputs) | set(self.parameter_reads)
        for node in graph.nodes:
            if node.op == "call_function" and any(argument in self.data for argument in node.all_input_nodes):
                self.data.add(node)
        # constants a layer reads (not parameters, not buffers): spec inputs, named by what they are
        for node in graph.nodes:
            if node not in self.data or node.op != "call_function":
                continue
            for argument in node.all_input_nodes:
                if argument in self.data or argument in self.parameter_reads or argument in self.constant_inputs \
                        or argument.op == "placeholder" or _tensor_outputs(self.values.get(argument)) is None:
                    continue
                value = self.values[argument]
                if self._attention_mask(node, argument) or value.dim() == 0 or value.shape[0] != 1:
                    continue   # a constant without a batch axis of one is no input: its reader is refused
                same = next((other for other in self.constant_inputs if self._equal(other, argument)), None)
                if same is not None:
                    self.constant_inputs[argument] = self.constant_inputs[same]
                    continue
                taken = set(self.constant_inputs.values()) | {item.name for item in self.user_inputs}
                base = self._constant_name(node, argument)
                name, number = base, 1
                while name in taken:
                    name, number = f"{base}_{number}", number + 1
                self.constant_inputs[argument] = name
        for node in graph.nodes:
            if self._op_name(node) == self.attention:
                self._grouped_query(node)

    def _attention_mask(self, node: Any, argument: Any) -> bool:
        if self._op_name(node) != self.attention or len(node.args) < 4 or node.args[3] is not argument:
            return False
        query, key = (self.values[item] for item in node.args[:2])
        if not _is_causal_mask(self.values[argument], query, key):
            return False   # refused when the attention is read: a mask the spec cannot say
        node.args = node.args[:3]
        node.kwargs = {**node.kwargs, "is_causal": True}
        return True

    def _constant_name(self, node: Any, argument: Any) -> str:
        torch = self.torch
        value = self.values[argument]
        group = self.groups.get(node)
        module = self.modules.get(self._group_path(group)) if group else None
        if isinstance(module, torch.nn.Embedding) and not value.dtype.is_floating_point:
            positions = torch.arange(value.shape[-1], device=value.device).expand(value.shape)
            if value.dim() == 2 and bool((value == positions).all()):
                return "position_ids"   # HF: torch.arange(seq_len), looked up in the position embedding
        # the op that made it, before the views and casts on the way (LLaMA's unsqueeze(cos.to(dtype), 1): `cos`)
        on_the_way = SAME_TENSOR | self.reshapes | {self.torch.mul.__name__, "expand", "unsqueeze"}
        while self._op_name(argument) in on_the_way and argument.args and hasattr(argument.args[0], "op"):
            argument = argument.args[0]
        base = argument.name.rstrip("_0123456789")
        return base if base.isidentifier() and argument.op == "call_function" else "constant"

    def _equal(self, one: Any, other: Any) -> bool:
        """Two constants with the same value are one input (each LLaMA layer unsqueezes the same cos)."""
        a, b = self.values.get(one), self.values.get(other)
        return _tensor_outputs(a) is not None and _tensor_outputs(b) is not None and a.shape == b.shape \
            and a.dtype == b.dtype and bool((a == b).all())

    def _group_path(self, key: str) -> str:
        for node, found in self.groups.items():
            if found == key:
                return node.meta["nn_module_stack"][key][0]
        return ""

    def _name_inputs(self, graph: Any) -> None:
        inputs = [(node, node.name) for node in self.user_inputs]
        used: set[str] = set()
        for node, name in self.constant_inputs.items():
            if name in used:
                continue   # the same constant as one before: that input
            used.add(name)
            inputs.append((node, name))
        for node, name in inputs:
            name = INPUT if len(inputs) == 1 else name
            self.names[node] = name
            self.used_names.add(name)
            self.shapes[name] = tuple(self.values[node].shape[1:])
            self.input_order.append(name)
        for node, name in self.constant_inputs.items():
            self.names[node] = name if len(inputs) > 1 else INPUT
        self.input_nodes = [node for node, _ in inputs]

    # nodes ---------------------------------------------------------------------------------------

    @staticmethod
    def _op_name(node: Any) -> str:
        target = node.target
        return (getattr(target, "_opname", None) or getattr(target, "__name__", str(target))).strip("_")

    def _node(self, node: Any, value: Any) -> None:
        if node in self.constant_inputs:
            return   # named as a spec input
        if node.op != "call_function" or _tensor_outputs(value) is None:
            return   # size arithmetic, assertions: no tensor, no layer
        key = self.groups.get(node)
        if key is not None:
            if self.group_outputs.get(key) is node:
                self._group_layer(node, key, value)
            elif key in self.group_outputs and self.group_outputs[key] is None and not self._refused_in(key):
                self._refuse(node, f"module {self._group_path(key)} gives several tensors")
            return
        if node in self.repeated:
            return   # repeat_kv's unsqueeze, expand and reshape: the attention takes the key/value heads as they are
        self.aten[node] = str(node.target)
        name = self._op_name(node)
        tensors = self._tensor_inputs(node)
        unnamed = [argument for argument in tensors if argument not in self.names
                   and argument not in self.parameter_reads and argument not in self.pending_attributes]
        if unnamed and name == self.attention:
            self._refuse(node, f"{self._describe(node)} with a mask that is not causal (the spec's attention takes"
                               " none or is_causal)")
            return
        if unnamed:
            shape = list(self.values[unnamed[0]].shape)
            self._refuse(node, f"{self._describe(node)} reading a constant computed in forward, shape {shape}"
                               " (no batch axis of one: it cannot be an input of the spec)")
            return
        # a view to the shape it has (HF's view(-1, L)), a slice of all of it (x[:, :, None]'s x[:, :])
        source = self.values[tensors[0]] if tensors else None
        unchanged = _is_tensor(source) and _is_tensor(value) and tuple(source.shape) == tuple(value.shape)
        if name in SAME_TENSOR | self.reshapes | {"slice"} and unchanged:
            if tensors[0] in self.parameter_reads:
                self._learned_tensor(tensors[0])
            self.names[node] = self.names.get(tensors[0], UNMAPPED)
            return
        if name == "slice":
            self._slices(node, value)
            return
        if name == "unsafe_view":
            name = "view"
        if name == self.attention:
            self._default_scale(node)
        node.op, node.target = "call_method", name   # read as the tensor method of that name
        self._function(node, value)

    def _slices(self, node: Any, value: Any) -> None:
        """x[..., :h] and x[..., h:] (LLaMA's rotate_half): the slices of one tensor along one axis that cut
        it into equal consecutive parts are one `chunk` layer, each slice one of its outputs."""
        if node in self.names:
            return   # a part of a chunk made at its first slice
        source, dim = node.args[0], node.args[1] if len(node.args) > 1 else 0
        size = self.values[source].shape[dim]
        parts = []
        for user in source.users:
            if self._op_name(user) == "slice" and (user.args[1] if len(user.args) > 1 else 0) == dim \
                    and (len(user.args) < 5 or user.args[4] == 1):
                start = user.args[2] if len(user.args) > 2 and user.args[2] is not None else 0
                end = user.args[3] if len(user.args) > 3 and user.args[3] is not None else size
                parts.append((max(0, start + size if start < 0 else start), min(size, end + size if end < 0 else end),
                              user))
        parts.sort(key=lambda part: part[0])
        bounds = [(start, end) for start, end, _ in parts]
        chunks = len(parts)
        width = -(-size // chunks) if chunks else 0
        expected = [(index * width, min(size, (index + 1) * width)) for index in range(chunks)]
        source_name = self.names.get(source)
        if chunks < 2 or bounds != expected or source_name is None:
            self.aten[node] = str(node.target)
            self._refuse(node, f"{self._describe(node)} (a slice that is not one of equal parts of its tensor)")
            return
        if source_name == UNMAPPED:
            self.names[node] = UNMAPPED
            return
        name = self._function_name(node, self.torch.chunk.__name__)
        self._add(node, name, tag_of("torch.chunk"), {"chunks": chunks, "dim": dim}, [source_name],
                  tuple(self.values[user] for _, _, user in parts))
        for index, (_, _, user) in enumerate(parts):
            self.names[user] = f"{name}:{index}"

    def _grouped_query(self, node: Any) -> None:
        """HF's repeat_kv before the attention, x[:, :, None].expand(B, kv, n_rep, L, D).reshape(B, kv * n_rep,
        L, D): the spec's attention takes the kv heads as they are (`enable_gqa`, the same counts)."""
        torch = self.torch
        originals, chains = [], []
        for argument in node.args[1:3]:
            chain = [argument]
            while self._op_name(chain[-1]) in self.reshapes | {"expand", "unsqueeze", "slice"} | SAME_TENSOR \
                    and chain[-1].args and hasattr(chain[-1].args[0], "op") and len(chain) < 8:
                chain.append(chain[-1].args[0])
            original = chain[-1]
            heads, repeated = self.values[original], self.values[argument]
            if len(chain) == 1 or not (_tensor_outputs(heads) is not None and heads.dim() == 4 == repeated.dim()):
                return
            groups = repeated.shape[1] // heads.shape[1]
            if groups < 2 or heads.shape[1] * groups != repeated.shape[1] \
                    or not torch.equal(torch.repeat_interleave(heads, groups, dim=1), repeated):
                return
            originals.append(original)
            chains.append(chain[:-1])
        if any(user is not node and user not in chain for chain in chains for member in chain
               for user in member.users if _tensor_outputs(self.values.get(user)) is not None):
            return   # the repeated heads are used elsewhere too: they are tensors of the spec
        self.repeated.update(member for chain in chains for member in chain)
        node.args = (node.args[0], *originals, *node.args[3:])
        node.kwargs = {**node.kwargs, "enable_gqa": True}

    def _default_scale(self, node: Any) -> None:
        """HF passes `scale=head_dim ** -0.5`, PyTorch's own default: the spec leaves it out, as the zoo does."""
        scale = node.kwargs.get("scale")
        head_dim = self.values[node.args[0]].shape[-1]
        if scale is not None and scale == head_dim ** -0.5:
            node.kwargs = {key: item for key, item in node.kwargs.items() if key != "scale"}

    def _refused_in(self, key: str) -> bool:
        return any(item.module == self._group_path(key) for item in self.unmapped)

    def _group_layer(self, node: Any, key: str, value: Any) -> None:
        """The module's layer, at the node whose value leaves it; its inputs are the tensors that enter it."""
        members = [member for member, found in self.groups.items() if found == key]
        path = node.meta["nn_module_stack"][key][0]
        entering = []
        for member in members:
            for argument in member.all_input_nodes:
                if self.groups.get(argument) != key and argument not in self.parameter_reads \
                        and argument not in self.pending_attributes and argument not in entering \
                        and _tensor_outputs(self.values.get(argument)) is not None:
                    entering.append(argument)
        # one input per tensor: x and its no-op x.to(float32) are the same (LLaMA's RMSNorm reads both)
        sources = list(dict.fromkeys(self.names.get(argument) for argument in entering))
        if any(source is None for source in sources):
            self._refuse(node, f"module {path} reads a tensor computed from constants")
            return
        if UNMAPPED in sources:
            self.names[node] = UNMAPPED
            return
        module = self.modules[path]
        tag, arguments = self._layer_module(path)
        self._add_module_call(node, path, module, tag, arguments, sources, value)

    def _describe(self, node: Any) -> str:
        return self.aten.get(node) or super()._describe(node)


def import_torch_model(reference: str, input_shapes: list[list[int]], dtypes: list[str] | None = None,
                       kwargs: dict[str, Any] | None = None, flat: bool = False, model: Any = None) -> str:
    """`archcalc import torch`: the spec text of the model, traced with torch.fx (torch_import.import_torch),
    or read with torch.export where fx cannot trace it. Raises ImportFailure or MissingDependency."""
    try:
        return import_torch(reference, input_shapes, dtypes, kwargs, flat, model)
    except FxCannotTrace as failure:   # data-dependent control flow (Hugging Face's models)
        dtypes = list(dtypes or ["float32"] * len(input_shapes))
        if len(dtypes) == 1 and len(input_shapes) > 1:
            dtypes *= len(input_shapes)
        return _import_exported(reference, failure.model, input_shapes, dtypes, kwargs or {}, flat,
                                failure.examples, failure.reason)


def _import_exported(reference: str, model: Any, input_shapes: list[list[int]], dtypes: list[str],
                     kwargs: dict[str, Any], flat: bool, examples: list[Any], why: str) -> str:
    """The spec text of `model` read with torch.export (`why`: torch.fx's error, said in the header)."""
    torch = _torch()
    importer = _ExportImporter(model, examples, why)
    records = importer.run()
    shapes = [list(importer.shapes[name]) for name in importer.input_order]
    types = list(dtypes) + [str(importer.values[node].dtype).removeprefix("torch.")
                            for node in importer.input_nodes[len(dtypes):]]
    names = importer.input_order
    input_spec = _input_spec(shapes if len(names) > 1 else input_shapes, types, names)
    name = reference.rpartition(":")[2].rpartition(".")[2].lower() or type(model).__name__.lower()
    call = f"{reference}({', '.join(f'{key}={value!r}' for key, value in kwargs.items())})"
    constants = list(dict.fromkeys(importer.constant_inputs.values()))
    header = [f"Imported by `archcalc import torch {reference}` from {call}: torch {torch.__version__},"
              f" torch.export (torch.fx cannot trace it: {why}).",
              "Layer names are the module paths; functions are named <module>.<function> (ATen ops)."]
    if constants:
        header.append(f"Inputs {', '.join(constants)}: constants forward computes from the sequence length"
                      " (not from the tokens), taken as inputs.")
    module_classes = {path: type(module).__name__ for path, module in model.named_modules() if path}
    text = write_spec(records, input_spec, name, header, module_classes, flat=flat)
    _check(text, model, importer)
    return text


__all__ = ["LIBRARY_MODULES", "import_torch_model"]
