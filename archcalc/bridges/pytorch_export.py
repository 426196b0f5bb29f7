"""A spec as PyTorch source code: `archcalc export SPEC --to pytorch [-o model.py]`.

The file imports only torch and holds one `nn.Module` class per repeated block (found as the spec writer
finds them: instances of one container with the same layers; the arguments that differ between instances
are the class's constructor arguments, the layers some instances lack an `if`), and one class for the whole
network. Modules are attributes named as the spec's layers: `layer2.0.conv1` is `self.layer2[0].conv1`
(numbered children make an `nn.Sequential`, as in torchvision), so `state_dict()` keys are the spec's layer
names (`layer2.0.conv1.weight`). `forward` computes each layer from its inputs, one line each, a left-out
layer standing for its input; `tie:` is one weight assigned to two modules, `share:` a second call of one
module, `NAME:INDEX` an element of a layer's outputs (recurrent states batch-first, as the spec counts them).
A type no torch.nn class stands for (a mixture of experts) is a class its family module writes (its
`pytorch_source`: Hugging Face's eager SparseMoeBlock), with a class per distinct expert network, each written
as a network of its own. `python model.py` builds the model, runs a batch of one and prints its parameter
count and output shape.

The export needs nothing but archcalc: torch is needed only to run the file.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import tokenize
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ..layers.base import python_literal
from ..problems import Problem, SpecError
from .names import pytorch_name
from .spec_writer import INPUT, LayerRecord, _Definition, _instance_values, _Run, fold, records_of, shortened, yaml_value

# names a forward variable cannot take: the module, torch, the input, Python's keywords and builtins
_RESERVED = {"self", "torch", "nn", "F", "x", "batch"} | set(keyword.kwlist) | set(dir(builtins))
_RECURRENT_STATES = {"torch.nn.LSTM": 2, "torch.nn.GRU": 1, "torch.nn.RNN": 1}   # states after the output
PARAMETER, MULTIHEAD = "torch.nn.Parameter", "torch.nn.MultiheadAttention"


def _identifier(name: str) -> str:
    made = re.sub(r"\W", "_", name)
    if not made or made[0].isdigit() or made.startswith("__"):   # `__class__` is a compiler cell in a method
        made = f"x{made}" if made else "x_"
    return f"{made}_" if made in _RESERVED else made


def _attribute(name: str) -> bool:
    """Whether a module name may be written `self.name`: a plain identifier that is no keyword and does not start
    with `_` (nn.Module's own state: `_modules`, `__class__`); any other name goes through add_module /
    get_submodule as a string, so a spec's names can never become code."""
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") \
        and name not in MODULE_ATTRIBUTES


# nn.Module's public attributes (torch 2.13; a test checks them against the installed torch): a submodule of one of
# these names would be shadowed by the method, so it is added and reached by its name as a string
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile", "cpu",
    "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer", "get_extra_state",
    "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers",
    "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook", "register_buffer",
    "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook",
    "requires_grad_", "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
    "training", "type", "xpu", "zero_grad"})


def _docstring_text(text: str) -> str:
    """`text` safe inside a triple-quoted docstring: backslashes doubled, quotes escaped, unprintable characters as
    escapes — a spec's name or path can never close the docstring and become code."""
    text = text.replace("\\", "\\\\")
    text = "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)
    return text.replace('"', '\\"')


def _camel(name: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", name)
    made = "".join(part[:1].upper() + part[1:] for part in parts if part)
    return made if made and not made[0].isdigit() else f"Model{made}"


def _torch_class(tag: str) -> str | None:
    """`nn.Conv2d` for a type a torch.nn class stands for, None for a function or a generated class."""
    from ..layers import layer_class

    name = layer_class(tag).pytorch
    if name.startswith("torch.nn.") and name.count(".") == 2 and name != "torch.nn.Parameter" and not _generated(tag):
        return "nn." + name.rpartition(".")[2]
    return None


def _generated(tag: str) -> bool:
    """The type is written as a class of its own, whose source its family module gives (a mixture of experts)."""
    from ..layers import layer_class

    return layer_class(tag).pytorch_source is not None


def _is_module(tag: str) -> bool:
    """The type is a module attribute: a torch.nn class or a generated class."""
    return _torch_class(tag) is not None or _generated(tag)


# the generated classes of one export: a layer's arguments (`_signature`) → its class's name
_GENERATED_CLASSES: ContextVar[dict[str, str]] = ContextVar("generated_classes")


def _signature(args: dict[str, Any]) -> str:
    return yaml_value({key: shortened(args[key], key) for key in sorted(args)})


# keyword arguments PyTorch's constructors do not take (archcalc's own, or forward arguments)
_NOT_CONSTRUCTOR = {"call", "share", "tie", "scalar", "shape", "backend", "need_weights", "average_attn_weights",
                    "trainable", "ignore", "expect_output_shape", "batch_first"}


def _constructor_arguments(tag: str, args: dict[str, Any]) -> dict[str, Any]:
    from ..layers import layer_class

    kwargs = {key: value for key, value in args.items() if key not in _NOT_CONSTRUCTOR}
    fields = layer_class(tag).model_fields
    if "batch_first" in fields:   # per sample [L, E]: the batch in front
        kwargs["batch_first"] = True
    return kwargs


def _punctuation(line: str) -> list[tuple[int, str]] | None:
    """(column, character) of the brackets and commas of a line of code, strings and comments left out (a layer
    name or a string argument may hold any of them); None for a line that is not whole code."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    return [(token.start[1], token.string) for token in tokens
            if token.type == tokenize.OP and token.string in ("(", ")", "[", "]", "{", "}", ",")]


def _wrapped(line: str, width: int = 110) -> list[str]:
    """A line longer than `width` whose call opens on it: one argument per line, as a formatter writes it."""
    if len(line) <= width:
        return [line]
    marks = _punctuation(line) or []
    for index, (opening, character) in enumerate(marks):
        if character != "(":
            continue
        depth, parts, start, closing = 0, [], opening + 1, -1
        for position, mark in marks[index:]:
            if mark in "([{":
                depth += 1
            elif mark in ")]}":
                depth -= 1
                if depth == 0:
                    closing = position
                    break
            elif depth == 1:   # a comma between this call's arguments
                parts.append(line[start:position].strip())
                start = position + 1
        if closing != -1:
            parts.append(line[start:closing].strip())
            parts = [part for part in parts if part]
            if len(parts) > 1 or len(line) - closing > 1:
                indent = " " * (len(line) - len(line.lstrip()))
                made = [line[:opening + 1]]
                for part in parts:
                    made += _wrapped(f"{indent}    {part},", width)
                return made + [f"{indent}{line[closing:]}"]
    return [line]


@dataclass
class _Code:
    """Source lines being written, with their indentation."""

    lines: list[str] = field(default_factory=list)

    def add(self, depth: int = 0, text: str = "") -> None:
        self.lines += _wrapped("    " * depth + text) if text else [""]


# ------------------------------------------------------------------------------------------------
# module construction: a tree of names


@dataclass
class _Node:
    """One attribute in the module tree: a layer (leaf), an instance of a block class, or a container."""

    name: str                                   # the segment: "layer2", "0", "conv1"
    children: dict[str, "_Node"] = field(default_factory=dict)
    record: LayerRecord | None = None           # a leaf
    instance: tuple[_Definition, Any] | None = None   # (definition, instance) for a block instance
    condition: str | None = None                # a presence parameter (inside a block class)


def _tree(entries: list[tuple[str, Any]], local: bool = False) -> _Node:
    root = _Node("")
    for kind, entry in entries:
        if kind == "layer":
            if entry.args.get("share") or not (_module_of(entry) or pytorch_name(entry.type) == PARAMETER):
                continue   # a function, or a second call of a module: no attribute
            node = root
            for segment in entry.name.split("."):
                node = node.children.setdefault(segment, _Node(segment))
            node.record = entry
        else:
            definition, run = entry
            for instance in run.instances:
                node = root
                for segment in instance.prefix[:-1].split("."):
                    node = node.children.setdefault(segment, _Node(segment))
                node.instance = (definition, instance)
    return root


def _module_of(record: LayerRecord) -> bool:
    return _is_module(record.type)


def _leaf_expression(record: LayerRecord) -> str:
    if _generated(record.type):
        return f"{_GENERATED_CLASSES.get()[_signature(record.args)]}()"
    if pytorch_name(record.type) == PARAMETER:
        return f"nn.Parameter(torch.zeros({python_literal([1, *record.args['shape']])[1:-1].rstrip(',')}))"
    kwargs = _constructor_arguments(record.type, _without_defaults(record))
    text = ", ".join(f"{key}={python_literal(value)}" for key, value in kwargs.items())
    return f"{_torch_class(record.type)}({text})"


def _without_defaults(record: LayerRecord) -> dict[str, Any]:
    from .spec_writer import _without_defaults as drop

    rule = _inferred(record.type)
    kept = drop(record.type, {key: value for key, value in record.args.items() if key != rule})
    if rule and rule in record.args:   # the input size first, as PyTorch's constructors take it
        kept = {rule: record.args[rule], **kept}
    return kept


def _inferred(tag: str) -> str | None:
    from ..layers import layer_class

    rule = layer_class(tag).inferred_argument
    return rule[0] if rule else None


def _assignment(name: str, expression: str) -> str:
    return f"self.{name} = {expression}" if _attribute(name) else f"self.add_module({name!r}, {expression})"


def _expression(node: _Node) -> str:
    """The Python expression that builds the module at `node`."""
    if node.record is not None and not node.children:
        return _leaf_expression(node.record)
    if node.instance is not None:
        definition, instance = node.instance
        values = _instance_values(definition, instance)
        given = {param: value for param, value in values.items()
                 if definition.params.get(param) is None or python_literal(value) != python_literal(definition.params[param])}
        text = ", ".join(f"{param}={python_literal(value)}" for param, value in given.items())
        return f"{_class_name(definition)}({text})"
    if node.children and all(key.isdigit() for key in node.children):
        # numbered children are an nn.Sequential; a function's place in it (ConvNeXt's permute) an nn.Identity
        numbers = {int(key): child for key, child in node.children.items()}
        return _sequential([_expression(numbers[index]) if index in numbers else "nn.Identity()"
                            for index in range(max(numbers) + 1)])
    items = ", ".join(f"{child.name}={_expression(child)}" if _attribute(child.name)
                      else f"**{{{child.name!r}: {_expression(child)}}}" for child in node.children.values())
    return f"Container({items})"


def _sequential(children: list[str]) -> str:
    """nn.Sequential(a, b, c), repeated identical constructions written once with a comprehension."""
    if len(children) > 3 and len(set(children[1:])) == 1:
        head = children[0]
        return f"nn.Sequential({head}, *[{children[1]} for _ in range({len(children) - 1})])"
    return "nn.Sequential(" + ", ".join(children) + ")"


def _class_name(definition: _Definition) -> str:
    return _camel(definition.name)


# ------------------------------------------------------------------------------------------------
# forward: one line per layer


class _Forward:
    """Variables for the layers' outputs and the module reference of each layer, while writing forward."""

    def __init__(self, input_vars: dict[str, str], types: dict[str, str]):
        self.vars: dict[str, str] = dict(input_vars)   # layer name → variable
        self.types = types
        self.used: set[str] = set(input_vars.values())

    def variable(self, name: str) -> str:
        base = _identifier(name)
        made, number = base, 2
        while made in self.used:
            made, number = f"{base}_{number}", number + 1
        self.used.add(made)
        self.vars[name] = made
        return made

    def reference(self, source: str) -> str:
        base, colon, index = source.partition(":")
        variable = self.vars[base]
        tag = self.types.get(base)
        kind = pytorch_name(tag) if tag else ""
        if kind in _RECURRENT_STATES:   # (output, h_n) or (output, (h_n, c_n)); the states batch-first, as the spec counts
            if not colon or index == "0":
                return f"{variable}[0]"
            state = f"{variable}[1]" if _RECURRENT_STATES[kind] == 1 else f"{variable}[1][{int(index) - 1}]"
            return f"{state}.transpose(0, 1)"
        if kind in (MULTIHEAD, "torch.split", "torch.chunk") or (colon and tag):
            return f"{variable}[{index or 0}]"
        return variable


def _module_reference(name: str) -> str:
    text = "self"
    for segment in name.split("."):
        text += f"[{segment}]" if segment.isdigit() else f".{segment}" if _attribute(segment) \
            else f".get_submodule({segment!r})"
    return text


def _own_fields(tag: str) -> list[str]:
    from ..layers import Layer, layer_class

    return [name for name in layer_class(tag).model_fields if name not in Layer.model_fields]


def _call_line(record: LayerRecord, module: str, inputs: list[str], forward: _Forward, batch: str) -> str:
    """`variable = ...` computing one layer."""
    from ..layers import layer_class

    tag, args = record.type, record.args
    kind = pytorch_name(tag)
    target = forward.variable(record.name)
    xs = ", ".join(inputs)
    first = inputs[0] if inputs else ""
    if kind == "torch.nn.Parameter":
        return f"{target} = {module}.expand({batch}, {', '.join(['-1'] * len(args['shape']))})"
    if _is_module(tag):
        if kind == "torch.nn.MultiheadAttention":
            query, key, value = (inputs * 3)[:3] if len(inputs) == 1 else inputs
            options = {key_: args[key_] for key_ in ("need_weights", "average_attn_weights") if key_ in args}
            extra = "".join(f", {key_}={value_!r}" for key_, value_ in options.items())
            return f"{target} = {module}({query}, {key}, {value}{extra})"
        return f"{target} = {module}({xs})"
    call = layer_class(tag).pytorch_call   # the family module's expression for a function or operator
    if call is not None:
        return f"{target} = {call(args, inputs, batch)}"
    # any other torch function (torch.exp, torch.abs, ...): its arguments by name, after the input
    options = "".join(f", {key}={value!r}" for key, value in args.items() if key in _own_fields(tag))
    return f"{target} = {kind}({first}{options})"


# ------------------------------------------------------------------------------------------------
# the file


def _function_arguments(record: LayerRecord) -> dict[str, Any]:
    """What the forward line needs of a layer: its spec arguments with defaults filled in."""
    from pydantic_core import PydanticUndefined

    from ..layers import layer_class

    defaults = {name: info.default for name, info in layer_class(record.type).model_fields.items()
                if info.default is not PydanticUndefined}
    return {**defaults, **record.args}


_MULTIPLE = (*_RECURRENT_STATES, MULTIHEAD, "torch.split", "torch.chunk")


def _simple(record: LayerRecord) -> bool:
    """A module called on one tensor, giving one: it can sit in an nn.Sequential called as a whole."""
    return _module_of(record) and not record.args.get("share") and pytorch_name(record.type) not in _MULTIPLE \
        and not record.args.get("return_indices") and len(record.inputs) == 1


def _all_sequential(node: _Node) -> bool:
    """Every container under the node is an nn.Sequential (numbered children): callable as a whole."""
    return not node.children or all(key.isdigit() for key in node.children) and \
        all(_all_sequential(child) for child in node.children.values())


def _leaves(node: _Node) -> int:
    if not node.children:
        return 1
    return sum(_leaves(child) for child in node.children.values())


def _numbers(name: str) -> list[int]:
    return [int(segment) for segment in name.split(".") if segment.isdigit()]


def _units(order: list[str], records: dict[str, LayerRecord], root: _Node,
           conditions: dict[str, str] | None = None) -> list[tuple[str, int]]:
    """The layers in call order as units: (name, 1) for one layer, ("PREFIX@FIRST", n) for an nn.Sequential
    container whose n modules chain (each on the previous one's output), called as a whole."""
    conditions = conditions or {}
    units, position = [], 0
    while position < len(order):
        found = _sequential_unit(order, records, root, conditions, position)
        if found:
            prefix, count = found
            units.append((f"{prefix}@{order[position]}", count))
            position += count
        else:
            units.append((order[position], 1))
            position += 1
    return units


def _first_layer(unit: str) -> str:
    return unit.partition("@")[2] or unit


def _sequential_unit(order: list[str], records: dict[str, LayerRecord], root: _Node, conditions: dict[str, str],
                     position: int) -> tuple[str, int] | None:
    segments = order[position].split(".")
    for depth in range(1, len(segments)):
        prefix = ".".join(segments[:depth])
        node = root
        for segment in segments[:depth]:
            node = node.children.get(segment) if node is not None else None
        if node is None or not node.children or node.instance is not None or not _all_sequential(node):
            continue
        if position and order[position - 1].startswith(prefix + "."):
            continue
        end = position
        while end < len(order) and order[end].startswith(prefix + "."):
            end += 1
        unit = order[position:end]
        if len(unit) < 2 or _leaves(node) != len(unit) or not all(_simple(records[name]) for name in unit):
            continue
        if len({conditions.get(name) for name in unit}) != 1 or records[unit[0]].inputs[0].startswith(prefix + "."):
            continue
        if any(records[after].inputs != [before] for before, after in zip(unit, unit[1:])):
            continue
        if [_numbers(name) for name in unit] != sorted(_numbers(name) for name in unit):
            continue
        inner = set(unit[:-1])
        if any(source.partition(":")[0] in inner for name in order if name not in unit
               for source in records[name].inputs):
            continue
        return prefix, len(unit)
    return None


def _unit_line(unit: str, count: int, records: dict[str, LayerRecord], forward: "_Forward", code: _Code,
               depth: int, batch: str) -> tuple[str, str]:
    """Write one unit's line; returns its variable and what stands for it when it is left out (its input)."""
    if "@" in unit:
        prefix, _, first = unit.partition("@")
        names = list(records)
        members = names[names.index(first):names.index(first) + count]
        source = forward.reference(records[first].inputs[0])
        target = forward.variable(prefix)
        code.add(depth, f"{target} = {_module_reference(prefix)}({source})")
        forward.vars[members[-1]] = target
        return target, source
    record = records[unit]
    inputs = [forward.reference(source) for source in record.inputs]
    module = _module_reference(record.args["share"]) if record.args.get("share") else _module_reference(unit)
    code.add(depth, _call_line(LayerRecord(unit, record.type, _function_arguments(record), record.inputs),
                               module, inputs, forward, batch))
    return forward.vars[unit], inputs[0] if inputs else "None"


def _block_class(definition: _Definition, code: _Code) -> None:
    union = definition.union
    required = [param for param, default in definition.params.items() if default is None]
    optional = [(param, default) for param, default in definition.params.items() if default is not None]
    signature = ", ".join(["self", *required, *(f"{param}={python_literal(default)}" for param, default in optional)])
    records = {}
    for name in union.order:   # one record per layer, arguments as parameters where they vary
        args: dict[str, Any] = {}
        sample = next(instance for run in definition.runs for instance in run.instances if name in instance.args)
        for key, value in sample.args[name].items():
            param = definition.argument_params.get((name, key))
            args[key] = _Param(param) if param else value
        records[name] = LayerRecord(name, union.types[name], args, union.inputs[name])
    flags = set(definition.presence_params.values())
    root = _Node("")
    for name in union.order:
        if records[name].args.get("share") or (not _module_of(records[name]) and pytorch_name(records[name].type) != PARAMETER):
            continue
        node = root
        for segment in name.split("."):
            node = node.children.setdefault(segment, _Node(segment))
        node.record = records[name]
        node.condition = definition.presence_params.get(name)
    sequential = all(key.isdigit() for key in root.children)   # torchvision's Conv2dNormActivation
    code.add(0, f"class {_class_name(definition)}({'nn.Sequential' if sequential else 'nn.Module'}):")
    code.add(1, f"def __init__({signature}):")
    code.add(2, "super().__init__()")
    # a flag named as the container it decides (torchvision's `downsample`) is that attribute, None when absent
    named = {flag for flag in flags if flag in root.children and _conditions(root.children[flag]) == {flag}}
    for flag in sorted(flags - named):
        code.add(2, f"self.{flag} = {flag}")
    for child in root.children.values():
        (condition,) = _conditions(child) if len(_conditions(child)) == 1 else (None,)
        expression = _expression(child)
        if condition in named and condition == child.name:
            code.add(2, f"self.{child.name} = {expression} if {condition} else None")
        elif condition:
            code.add(2, f"if {condition}:")
            code.add(3, _assignment(child.name, expression))
        else:
            code.add(2, _assignment(child.name, expression))
    code.add()
    plain = sequential and not flags and all(
        _module_of(records[name]) and not records[name].args.get("share") and pytorch_name(records[name].type) not in
        (*_RECURRENT_STATES, MULTIHEAD) and records[name].inputs == [previous]
        for name, previous in zip(union.order, [INPUT, *union.order]))
    if plain and union.order == [str(index) for index in range(len(union.order))]:
        code.add()   # nn.Sequential's own forward: each child on the previous one's output
        code.add()
        return
    constants = sorted({source for instance in (i for run in definition.runs for i in run.instances)
                        for sources in instance.inputs.values() for source in sources
                        if source != INPUT and source.partition(":")[0] not in instance.types
                        and source.partition(":")[0] not in union.types})
    arguments = ", ".join(["self", "x", *(_identifier(constant) for constant in constants)])
    code.add(1, f"def forward({arguments}):")
    forward = _Forward({INPUT: "x", **{constant: _identifier(constant) for constant in constants}}, union.types)
    pending: str | None = None
    group: list[tuple[str, str]] = []   # (variable, what it stands for when absent) under the open `if`
    units = _units(union.order, records, root, definition.presence_params)
    for number, (name, count) in enumerate(units):
        condition = definition.presence_params.get(union.order[union.order.index(name.partition("@")[2] or name)]) \
            if "@" not in name else definition.presence_params.get(name.partition("@")[2])
        depth = 2
        if condition and pending != condition:
            code.add(2, f"if self.{condition} is not None:" if condition in named else f"if self.{condition}:")
            group = []
        if condition:
            depth = 3
        pending = condition
        target, stand_in = _unit_line(name, count, records, forward, code, depth, "x.shape[0]")
        if condition:
            group.append((target, stand_in))
            following = units[number + 1:]
            next_condition = definition.presence_params.get(_first_layer(following[0][0])) if following else None
            if next_condition != condition:
                code.add(2, "else:")
                for variable, stand_in in group:
                    code.add(3, f"{variable} = {stand_in}")
                pending = None
    code.add(2, f"return {forward.reference(union.order[-1])}")
    code.add()
    code.add()


@dataclass(frozen=True)
class _Param:
    """An argument that is a constructor parameter of the block class."""

    name: str

    def __repr__(self) -> str:
        return self.name


def _conditions(node: _Node) -> set[str | None]:
    if not node.children:
        return {node.condition}
    found: set[str | None] = set()
    for child in node.children.values():
        found |= _conditions(child)
    return found


def unexportable_names(network: Any) -> list[Problem]:
    """The layers whose names no nn.Module attribute can have (`forward`, `to`, `training`, a `__dunder__`, an
    empty part between dots): PyTorch's add_module refuses them, so the file would not run; each a problem at the
    layer's name in the spec."""
    from ..spec.yaml_source import locate

    problems = []
    for index, layer in enumerate(network.layers):
        clashing = [part for part in layer.name.split(".") if part in MODULE_ATTRIBUTES or part.startswith("__")
                    or not part]
        if clashing and _is_module(layer.type):
            problems.append(Problem(network.path, *locate(network.source, ("layers", index, "name")),
                                    f"{layer.type} '{layer.name}': {clashing[0]!r} cannot name a PyTorch module"
                                    " (nn.Module has an attribute of that name, or PyTorch refuses it): rename the"
                                    " layer to export it", layer=layer.name, code="export-name"))
    return problems


def export_pytorch(network: Any, spec_path: str = "SPEC") -> str:
    """The Python source of a PyTorch module equal to `network` (see the module docstring); SpecError for layer
    names PyTorch refuses (`unexportable_names`)."""
    problems = unexportable_names(network)
    if problems:
        raise SpecError(problems)
    records = records_of(network, inferred=True)
    module_classes = _block_names(network)
    entries, definitions = fold(records, module_classes, keep_inferred=True)
    definitions = [definition for definition in definitions if _exportable(definition)]
    keep = {id(run) for definition in definitions for run in definition.runs}
    by_run = {id(run): definition for definition in definitions for run in definition.runs}
    flat_entries: list[tuple[str, Any]] = []
    for kind, entry in entries:
        if kind == "layer":
            flat_entries.append((kind, entry))
        elif id(entry) not in keep:
            flat_entries += [("layer", record) for instance in entry.instances for record in instance.records]
        else:
            flat_entries.append(("run", (by_run[id(entry)], entry)))
    class_name = _camel(network.name or "Model")
    names = {class_name, *(_class_name(definition) for definition in definitions)}
    generated, sources, container = _generated_classes(network, records, names)
    token = _GENERATED_CLASSES.set(generated)
    try:
        return _source(network, spec_path, class_name, records, flat_entries, definitions, sources, container)
    finally:
        _GENERATED_CLASSES.reset(token)


def _source(network: Any, spec_path: str, class_name: str, records: list[LayerRecord],
            flat_entries: list[tuple[str, Any]], definitions: list[_Definition], generated: list[list[str]],
            container: bool) -> str:
    code = _Code()
    # docstring text: never split at its parentheses as a long call would be
    code.lines.append(f'"""{_docstring_text(network.name or "model")} as a PyTorch module, written by'
                      f' `archcalc export {_docstring_text(spec_path)} --to pytorch`.')
    code.add()
    code.lines.append(f"{network.totals.params:,} parameters; module names are the spec's layer names (state_dict keys:")
    code.lines.append(f"{_docstring_text(next((r.name for r in records if _module_of(r)), 'conv1'))}.weight, ...).")
    code.add(0, "Run it: python model.py")
    code.add(0, '"""')
    code.add()
    code.add(0, "import torch")
    code.add(0, "from torch import nn")
    code.add()
    code.add()
    if any(kind == "layer" and pytorch_name(record.type) == PARAMETER and "." in record.name for kind, record in flat_entries) or \
            _needs_container(flat_entries) or container:
        code.add(0, "class Container(nn.Module):")
        code.add(1, '"""Holds modules under their names; the enclosing module\'s forward calls them."""')
        code.add()
        code.add(1, "def __init__(self, /, **children):")
        code.add(2, "super().__init__()")
        code.add(2, "for name, child in children.items():")
        code.add(3, "setattr(self, name, child)")
        code.add()
        code.add()
    for lines in generated:   # expert networks and the classes holding them, before the blocks that use them
        code.lines += lines
    for definition in definitions:
        _block_class(definition, code)
    _network_class(network, class_name, flat_entries, records, code)
    _main(network, class_name, code)
    return "\n".join(code.lines).rstrip("\n") + "\n"


def _generated_classes(network: Any, records: list[LayerRecord],
                       taken: set[str]) -> tuple[dict[str, str], list[list[str]], bool]:
    """The classes of the layers whose type is a generated class (a moe layer's, and one per distinct expert
    network, written as a network of its own on the layer's input), once per distinct layer: their names by the
    layer's `_signature`, their source lines, and whether they need the Container class."""
    from ..api import build, parse_dict
    from ..layers import layer_class

    shapes = {layer.name: list(layer.input_shapes[0]) for layer in network.layers if layer.input_shapes}
    classes: dict[str, str] = {}
    networks: dict[str, str] = {}   # a sub-network's layers and input (YAML) → its class
    sources: list[list[str]] = []
    container = False
    for record in records:
        if not _generated(record.type) or _signature(record.args) in classes:
            continue
        kind = layer_class(record.type)
        inferred, axis = kind.inferred_argument or (None, -1)
        spec = kind.model_validate({"type": record.type, **{key: value for key, value in record.args.items()
                                                            if key != inferred}})
        shape = shapes[record.name]
        own: dict[str, str] = {}
        for key in kind.block_keys:
            layers = record.args.get(key)
            if not layers:
                continue
            text = yaml_value([shape, layers])
            if text not in networks:
                networks[text] = _unique_class(_camel(key), taken)
                sub = build(parse_dict({"input": shape, "layers": layers}), f"<{record.name}: {key}>")
                sub_records = records_of(sub, inferred=True)
                entries = [("layer", sub_record) for sub_record in sub_records]
                code = _Code()
                _network_class(sub, networks[text], entries, sub_records, code)
                container = container or _needs_container(entries)
                sources.append(code.lines)
            own[key] = networks[text]
        name = _unique_class(kind.pytorch_class, taken)
        classes[_signature(record.args)] = name
        sources.append([*kind.pytorch_source(spec, shape[axis], name, own), "", ""])
    return classes, sources, container


def _unique_class(name: str, taken: set[str]) -> str:
    made, number = name, 2
    while made in taken:
        made, number = f"{name}{number}", number + 1
    taken.add(made)
    return made


def _block_names(network: Any) -> dict[str, str]:
    """Instance path → the spec's block name in CamelCase (`layer1.0` → `Basic`): the classes' names."""
    origins = getattr(getattr(network.source, "get", lambda key: None)("layers"), "origins", None) or []
    found: dict[str, str] = {}
    for origin in origins:
        for text in origin or ():
            match = re.match(r"block '([^']+)', instance '([^']+)'", text)
            if match:
                found.setdefault(match.group(2), _camel(match.group(1)))
    return found


def _needs_container(entries: list[tuple[str, Any]]) -> bool:
    root = _tree(entries)

    def visit(node: _Node) -> bool:
        if node.instance is not None or (node.record is not None and not node.children):
            return False
        if node.children and not all(key.isdigit() for key in node.children) and node is not root:
            return True
        return any(visit(child) for child in node.children.values())

    return visit(root)


def _exportable(definition: _Definition) -> bool:
    """A block class needs its layers' modules inside it: a `share:` of an outer module stays outside."""
    for run in definition.runs:
        for instance in run.instances:
            for name, args in instance.args.items():
                share = args.get("share")
                if share and share.partition(":")[0] not in instance.types:
                    return False
    if any(not _torch_class(definition.union.types[layer]) for layer, _ in definition.argument_params):
        return False   # a function's argument (a reshape's shape) that differs between instances
    children = _Node("")
    for name in definition.union.order:
        node = children
        for segment in name.split("."):
            node = node.children.setdefault(segment, _Node(segment))
        node.condition = definition.presence_params.get(name)
    return all(len(_conditions(child)) == 1 for child in children.children.values() if child.children)


def _network_class(network: Any, class_name: str, entries: list[tuple[str, Any]], records: list[LayerRecord],
                   code: _Code) -> None:
    code.add(0, f"class {class_name}(nn.Module):")
    code.add(1, "def __init__(self):")
    code.add(2, "super().__init__()")
    root = _tree(entries)
    for child in root.children.values():
        code.add(2, _assignment(child.name, _expression(child)))
    for record in records:
        if record.args.get("tie"):
            code.add(2, f"{_module_reference(record.name)}.weight = {_module_reference(record.args['tie'])}.weight"
                        "   # tied: one tensor")
        if record.args.get("trainable") is False and not record.args.get("share"):
            code.add(2, f"{_module_reference(record.name)}.requires_grad_(False)")
    code.add()
    inputs = network.inputs or ()
    if len(inputs) > 1:
        input_vars = {item.name: _identifier(item.name) for item in inputs}
    else:
        input_vars = {INPUT: "x", **({inputs[0].name: "x"} if inputs else {})}
    code.add(1, f"def forward(self, {', '.join(dict.fromkeys(input_vars.values()))}):")
    forward = _Forward(input_vars, {record.name: record.type for record in records})
    batch = f"{next(iter(input_vars.values()))}.shape[0]"
    last = "x"
    by_name = {record.name: record for record in records}
    position = 0
    while position < len(entries):
        if entries[position][0] == "run":
            last = _run_lines(entries[position][1], forward, code)
            position += 1
            continue
        end = position
        while end < len(entries) and entries[end][0] == "layer":
            end += 1
        layers = {entry.name: entry for _, entry in entries[position:end]}
        # references from the runs' layers count too: an inner layer they read cannot be hidden in a unit
        context = {**layers, **{name: record for name, record in by_name.items() if name not in layers}}
        for unit, count in _units(list(layers), context, root):
            target, _ = _unit_line(unit, count, layers, forward, code, 2, batch)
            last = target
        position = end
    code.add(2, f"return {last}")
    code.add()
    code.add()


def _constants(definition: _Definition, instance: Any) -> list[str]:
    """Outer tensors an instance reads besides its input (LLaMA's rotary tables): forward arguments."""
    return sorted({source for sources in instance.inputs.values() for source in sources
                   if source != INPUT and source.partition(":")[0] not in instance.types
                   and source.partition(":")[0] not in definition.union.types})


def _run_lines(entry: tuple[_Definition, _Run], forward: _Forward, code: _Code) -> str:
    """forward's lines for a run of block instances: one call of the nn.Sequential, a loop, or a call each."""
    definition, run = entry
    constants = _constants(definition, run.instances[0])
    source = forward.reference(run.instances[0].source)
    last = run.instances[-1]
    if run.covers_container and not run.stem:
        target = forward.variable(run.container)
        extra = [forward.reference(constant) for constant in constants]
        if extra:
            code.add(2, f"{target} = {source}")
            code.add(2, f"for block in {_module_reference(run.container)}:")
            code.add(3, f"{target} = block({target}, {', '.join(extra)})")
        else:
            code.add(2, f"{target} = {_module_reference(run.container)}({source})")
    else:
        for instance in run.instances:
            target = forward.variable(instance.prefix[:-1])
            arguments = ", ".join([forward.reference(instance.source),
                                   *(forward.reference(constant) for constant in _constants(definition, instance))])
            code.add(2, f"{target} = {_module_reference(instance.prefix[:-1])}({arguments})")
            forward.vars[instance.output(definition.union)] = target
    forward.vars[last.output(definition.union)] = target
    return target


def _main(network: Any, class_name: str, code: _Code) -> None:
    ids = min((layer.spec.num_embeddings for layer in network.layers if hasattr(layer.spec, "num_embeddings")),
              default=2)
    items = [(item.name, item.shape, item.dtype) for item in network.inputs] or \
        [("input", network.input_shape, network.input_dtype)]
    code.add(0, 'if __name__ == "__main__":')
    code.add(1, f"model = {class_name}().eval()")
    made = []
    for name, shape, dtype in items:
        dims = ", ".join(str(size) for size in (1, *shape))
        if dtype in ("int64", "int32"):
            made.append(f"torch.randint(0, {ids}, ({dims},), dtype=torch.{dtype})")
        elif dtype == "bool":
            made.append(f"torch.rand({dims}) > 0.5")
        else:
            made.append(f"torch.randn({dims})")
    code.add(1, "with torch.no_grad():")
    code.add(2, f"output = model({', '.join(made)})")
    code.add(1, 'print(f"{sum(p.numel() for p in model.parameters()):,} parameters; output shape'
                ' {tuple(output.shape)}")')


__all__ = ["export_pytorch"]
