"""A readable spec from a flat list of layers: the writing half that every importer shares.

    from archcalc.bridges.spec_writer import LayerRecord, write_spec

    records = [LayerRecord("conv1", TYPE, {"out_channels": 64, "kernel_size": 7, ...}, ["input"]), ...]
    text = write_spec(records, input_spec=[3, 224, 224], name="resnet50",
                      module_classes={"layer1.0": "Bottleneck", ...})

An importer hands over one `LayerRecord` per layer, in execution order: the full name (the module path,
`layer2.0.conv1`), the spec type tag, *every* argument it knows (defaults included: the writer leaves out
the ones equal to the type's default and the input-size argument the spec infers, `in_channels`), and the
full names of its inputs (`input` for the network input, `NAME:INDEX` for output INDEX of a layer with
several). `share:` and `tie:` go in `args` with the full name they refer to.

Unless `flat=True`, consecutive instances of one container (`layer1.0`, `layer1.1`, ...) whose layers are
the same (names, types, wiring, arguments) fold into one `block` use with `repeat`; the first instance may
differ in arguments (a `first:`) and in layers it has or lacks (an `if:` on them). Runs whose instances
have the same layers share one block definition; the arguments that differ between runs become block
`params`, set per run by `with:`. `module_classes` (container path → the class of the module there) names
the block definitions (`Bottleneck` → `bottleneck`) and marks them `module: true` (one nn.Module, not an
nn.Sequential).

The result is YAML text that `archcalc.loads` reads back to the same flat layers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import yaml

from .names import pytorch_name

INPUT = "input"
COMMUTATIVE = ("torch.add", "torch.mul")   # merges whose inputs may be listed in either order
_PARAM_RESERVED = {"input", "i"}


@dataclass
class LayerRecord:
    """One layer as an importer found it: full name, type tag, every argument, full input names."""

    name: str
    type: str
    args: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    comment: str = ""


# ------------------------------------------------------------------------------------------------
# YAML scalars


def yaml_value(value: Any) -> str:
    """One value in YAML flow style, read back by a safe loader as the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_key(key)}: {yaml_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}[repr(value)]
        # YAML 1.1 (PyYAML) reads `1e-05` as a string: the mantissa needs a dot
        mantissa, _, exponent = repr(value).partition("e")
        if exponent and "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{exponent}" if exponent else mantissa
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", text) and _reads_back(text):
        return text
    return json.dumps(text, ensure_ascii=False)   # a JSON string is a YAML double-quoted string


def yaml_key(key: str) -> str:
    return yaml_value(key)


def _reads_back(text: str) -> bool:
    try:
        return yaml.safe_load(text) == text
    except yaml.YAMLError:
        return False


# ------------------------------------------------------------------------------------------------
# what the writer leaves out: defaults and inferred input sizes


def _defaults(tag: str) -> tuple[dict[str, Any], str | None]:
    from pydantic_core import PydanticUndefined

    from ..layers import layer_class

    try:
        kind = layer_class(tag)
    except KeyError:
        return {}, None
    defaults = {name: info.default for name, info in kind.model_fields.items()
                if info.default is not PydanticUndefined}
    inferred = kind.inferred_argument[0] if kind.inferred_argument else None
    return defaults, inferred


def _same(a: Any, b: Any, key: str = "") -> bool:
    return yaml_value(shortened(a, key)) == yaml_value(shortened(b, key))


# arguments that take an int or one per axis (PyTorch's _pair, _triple): (3, 3) is written 3
PER_AXIS = {"kernel_size", "stride", "padding", "dilation", "output_padding", "output_size"}


def shortened(value: Any, key: str = "") -> Any:
    """A value as the spec writes it: lists for tuples; a per-axis argument whose items are equal as one int."""
    if isinstance(value, (list, tuple)):
        items = [shortened(item) for item in value]
        if key in PER_AXIS and items and len({yaml_value(item) for item in items}) == 1 \
                and isinstance(items[0], int) and not isinstance(items[0], bool):
            return items[0]
        return items
    return value


def _known_args(record: LayerRecord, keep_inferred: bool = False) -> dict[str, Any]:
    """Every argument but the input size the spec infers (unless `keep_inferred`), per-axis tuples shortened."""
    inferred = None if keep_inferred else _defaults(record.type)[1]
    return {key: shortened(value, key) for key, value in record.args.items() if key != inferred}


def _without_defaults(tag: str, args: dict[str, Any]) -> dict[str, Any]:
    defaults = _defaults(tag)[0]
    return {key: value for key, value in args.items() if not (key in defaults and _same(value, defaults[key], key))}


def written_args(record: LayerRecord) -> dict[str, Any]:
    """The arguments the spec writes for a record: no defaults, no inferred input size, per-axis tuples shortened."""
    return _without_defaults(record.type, _known_args(record))


# ------------------------------------------------------------------------------------------------
# folding repeated instances


@dataclass
class _Instance:
    """The layers of one container instance (`layer1.0`), with names local to it."""

    prefix: str                       # "layer1.0."
    records: list[LayerRecord]
    locals: list[str]                 # local names, in order
    types: dict[str, str]
    inputs: dict[str, list[str]]      # local or outer names; the instance input is INPUT
    args: dict[str, dict[str, Any]]   # every argument but inferred sizes, references made local
    source: str                       # the one outer name feeding it

    def output(self, union: "_Union") -> str:
        """The full name of the tensor the instance gives (its last layer, or what a left-out one stands for)."""
        local = union.resolve(union.order[-1], self)
        if local == INPUT:
            return self.source
        return self.prefix + local if local.partition(":")[0] in self.types else local


def _instance(prefix: str, records: list[LayerRecord], constants: set[str] = frozenset(),
              keep_inferred: bool = False) -> _Instance | None:
    """The records as one instance, or None when they read more than one outer tensor besides `constants`."""
    own = {record.name for record in records}
    sources = _outer(prefix, records) - constants
    if len(sources) != 1:
        return None
    (source,) = sources

    def local(reference: str) -> str:
        base, colon, index = reference.partition(":")
        if base in own:
            return base[len(prefix):] + colon + index
        return INPUT if reference == source else reference

    args = {}
    for record in records:
        written = _known_args(record, keep_inferred)
        for key in ("share", "tie"):
            if isinstance(written.get(key), str):
                written[key] = local(written[key])
        args[record.name[len(prefix):]] = written
    names = [record.name[len(prefix):] for record in records]
    return _Instance(prefix, records, names, {record.name[len(prefix):]: record.type for record in records},
                     {record.name[len(prefix):]: [local(source) for source in record.inputs] for record in records},
                     args, source)


def _signature(instance: _Instance) -> tuple:
    return tuple((name, instance.types[name], tuple(instance.inputs[name]), yaml_value(instance.args[name]))
                 for name in instance.locals)


@dataclass
class _Union:
    """The layers of a run's instances together: which instance has which, their wiring."""

    order: list[str]
    types: dict[str, str]
    inputs: dict[str, list[str]]

    def resolve(self, reference: str, instance: _Instance) -> str:
        """What `reference` names in `instance`: a left-out layer stands for its first input."""
        base, colon, index = reference.partition(":")
        while base in self.types and base not in instance.types:
            reference = self.inputs[base][0]
            base, colon, index = reference.partition(":")
        return reference

    def structure(self) -> tuple:
        return tuple((name, self.types[name], tuple(self.inputs[name])) for name in self.order)


def _unite(instances: list[_Instance], chains: list[list[_Instance]] | None = None) -> _Union | None:
    """The union of the instances' layers, or None when they do not fit one block with `if:` layers and
    chain (each instance fed by the one before). A left-out layer stands for its first input, so a
    commutative merge that some instances lack (MobileNetV2's `x + self.conv(x)`) lists first the input
    that stands for it."""
    largest = max(instances, key=lambda instance: len(instance.locals))
    order = list(largest.locals)
    for instance in instances:
        if not set(instance.locals) <= set(order):
            return None
        positions = [order.index(name) for name in instance.locals]
        if positions != sorted(positions):
            return None
        if any(instance.types[name] != largest.types[name] or set(instance.args[name]) != set(largest.args[name])
               for name in instance.locals):
            return None
    flippable = [name for name in order if pytorch_name(largest.types[name]) in COMMUTATIVE and len(largest.inputs[name]) == 2
                 and any(name not in instance.types for instance in instances)]
    for flips in range(2 ** len(flippable)):
        inputs = dict(largest.inputs)
        for bit, name in enumerate(flippable):
            if flips >> bit & 1:
                inputs[name] = inputs[name][::-1]
        union = _Union(order, dict(largest.types), inputs)
        if _fits(union, instances, [instances] if chains is None else chains):
            return union
    return None


def _fits(union: _Union, instances: list[_Instance], chains: list[list[_Instance]]) -> bool:
    """Each instance's wiring is the union's with its left-out layers standing for their inputs, and the
    instances of each chain (a run) feed one another."""
    for instance in instances:
        for name in instance.locals:
            resolved = [union.resolve(source, instance) for source in union.inputs[name]]
            if resolved != instance.inputs[name] and not (pytorch_name(union.types[name]) in COMMUTATIVE
                                                          and sorted(resolved) == sorted(instance.inputs[name])):
                return False
    return all(after.source == before.output(union) for chain in chains for before, after in zip(chain, chain[1:]))


@dataclass
class _Run:
    container: str                    # "layer1", or "encoder.layers" for encoder_layer_0, encoder_layer_1, ...
    stem: str                         # "" for layer1.0, layer1.1; "encoder_layer_" for encoder_layer_0
    start: int                        # number of the first instance
    instances: list[_Instance]
    covers_container: bool            # the run is every child of the container
    union: _Union | None = None

    def name(self) -> str:
        """The `name:` of the block use: `layer1` (instances layer1.0, ...) or a template with `i`."""
        if self.covers_container and not self.stem:
            return self.container
        number = f"${{i + {self.start}}}" if self.start else "${i}"
        return f"{self.container}.{self.stem}{number}"


_NUMBERED = re.compile(r"(\D*?)(\d+)")


def _children(records: list[LayerRecord], start: int, depth: int) -> list[tuple[int, list[LayerRecord]]]:
    """Consecutive numbered children (`N`, or `stemN` with one stem) of the container that is the first
    `depth` segments of records[start]'s name, from records[start]: (number, records) each."""
    head = records[start].name.split(".")
    container, stem = ".".join(head[:depth]), _NUMBERED.fullmatch(head[depth]).group(1)
    found: list[tuple[int, list[LayerRecord]]] = []
    position = start
    while position < len(records):
        parts = records[position].name.split(".")
        numbered = _NUMBERED.fullmatch(parts[depth]) if len(parts) > depth + 1 else None
        if ".".join(parts[:depth]) != container or numbered is None or numbered.group(1) != stem:
            break
        number = int(numbered.group(2))
        if found and number != found[-1][0] + 1:
            break
        prefix = ".".join(parts[:depth + 1]) + "."
        group = []
        while position < len(records) and records[position].name.startswith(prefix):
            group.append(records[position])
            position += 1
        found.append((number, group))
    return found


def _outer(prefix: str, records: list[LayerRecord]) -> set[str]:
    own = {record.name for record in records}
    return {source for record in records for source in record.inputs if source.partition(":")[0] not in own}


def _find_run(records: list[LayerRecord], start: int, keep_inferred: bool = False) -> tuple[_Run, int] | None:
    """The run of repeated instances starting at records[start], outermost container first."""
    parts = records[start].name.split(".")
    for depth in range(1, len(parts) - 1):   # a numbered segment that is not the layer's own name
        if _NUMBERED.fullmatch(parts[depth]) is None:
            continue
        container = ".".join(parts[:depth])
        children = _children(records, start, depth)
        if len(children) < 2:
            continue
        stem = _NUMBERED.fullmatch(parts[depth]).group(1)
        prefixes = [f"{container}.{stem}{number}." for number, _ in children]
        # outer tensors every instance reads (LLaMA's rotary tables) stay outer names; the network input cannot
        constants = _outer(prefixes[0], children[0][1]) & _outer(prefixes[1], children[1][1])
        if INPUT in constants:
            continue
        instances = []
        for prefix, (_, group) in zip(prefixes, children):
            made = _instance(prefix, group, constants, keep_inferred)
            if made is None:
                break
            instances.append(made)
        run = _longest_run(instances)
        if run is None:
            continue
        chosen = instances[:run]
        used = sum(len(instance.records) for instance in chosen)
        others = [record.name for record in records[:start] + records[start + used:]]
        covers = children[0][0] == 0 and not any(name.startswith(container + ".") for name in others)
        return _Run(container, stem, children[0][0], chosen, covers, _unite(chosen)), used
    return None


def _longest_run(instances: list[_Instance]) -> int | None:
    """How many instances from the first form a run: the rest identical, the first fitting them, chained."""
    if len(instances) < 2:
        return None
    rest = _signature(instances[1])
    count = 2
    while count < len(instances) and _signature(instances[count]) == rest:
        count += 1
    while count >= 2:
        if _unite(instances[:count]) is not None:
            return count
        count -= 1
    return None


# ------------------------------------------------------------------------------------------------
# block definitions from runs


@dataclass
class _Definition:
    name: str
    module: bool
    union: _Union
    runs: list[_Run]
    params: dict[str, Any] = field(default_factory=dict)         # param → default
    argument_params: dict[tuple[str, str], str] = field(default_factory=dict)   # (layer, arg) → param
    presence_params: dict[str, str] = field(default_factory=dict)               # layer → flag param
    literals: dict[str, dict[str, Any]] = field(default_factory=dict)          # layer → literal args


def _identifier(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_") or "param"
    return f"p_{name}" if name[0].isdigit() else name


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _define(definition: _Definition) -> None:
    """Split every argument into a literal (the same in all instances) or a block parameter."""
    instances = [instance for run in definition.runs for instance in run.instances]
    union = definition.union
    columns: dict[tuple, list[tuple[str, str]]] = {}
    for name in union.order:
        keys = list(dict.fromkeys(key for instance in instances if name in instance.args
                                  for key in instance.args[name]))
        definition.literals[name] = {}
        for key in keys:
            values = tuple(yaml_value(instance.args[name].get(key)) if name in instance.args else None
                           for instance in instances)
            present = {value for value in values if value is not None}
            if len(present) == 1:
                definition.literals[name][key] = next(instance.args[name][key] for instance in instances
                                                      if name in instance.args)
            else:
                columns.setdefault(values, []).append((name, key))
    presence: dict[tuple, list[str]] = {}
    for name in union.order:
        flags = tuple(name in instance.types for instance in instances)
        if not all(flags):
            presence.setdefault(flags, []).append(name)
    columns = _merged(columns)
    taken: set[str] = set()
    argument_names = Counter(key for members in columns.values() for _, key in members[:1])
    rests = [index for index, instance in enumerate(instances)
             if any(instance is run.instances[1] for run in definition.runs)]
    for values, members in columns.items():
        layer, key = members[0]
        base = key if argument_names[key] == 1 else f"{layer}_{key}"
        param = _unique(_identifier(base), taken)
        real = [instance.args[member_layer][member_key] for instance in instances
                for member_layer, member_key in members[:1] if member_layer in instance.args]
        # a value every instance sets and the runs set differently is required (null), given by each `with:`
        varies = len({values[index] for index in rests}) > 1
        definition.params[param] = None if varies and None not in values else _most_common(real)
        for member in members:
            definition.argument_params[member] = param
    for flags, members in presence.items():
        param = _unique(_identifier(members[0].split(".")[0]), taken)
        definition.params[param] = Counter(flags).most_common(1)[0][0]
        for member in members:
            definition.presence_params[member] = param


def _merged(columns: dict[tuple, list[tuple[str, str]]]) -> dict[tuple, list[tuple[str, str]]]:
    """Columns that agree wherever both have a value become one parameter (a shortcut's stride is the
    stride of the main path's convolution in the instances that have a shortcut)."""
    merged: dict[tuple, list[tuple[str, str]]] = {}
    for values, members in sorted(columns.items(), key=lambda item: -sum(value is not None for value in item[0])):
        for kept in merged:
            if all(value is None or value == other for value, other in zip(values, kept)):
                merged[kept].extend(members)
                break
        else:
            merged[values] = list(members)
    return merged


def _unique(name: str, taken: set[str]) -> str:
    if name in _PARAM_RESERVED:
        name = f"{name}_"
    made, number = name, 2
    while made in taken:
        made, number = f"{name}_{number}", number + 1
    taken.add(made)
    return made


def _most_common(values: list[Any]) -> Any:
    counted = Counter(yaml_value(value) for value in values)
    best = counted.most_common(1)[0][0]
    return next(value for value in values if yaml_value(value) == best)


def _instance_values(definition: _Definition, instance: _Instance) -> dict[str, Any]:
    """Each block parameter's value in one instance (None: the layer it sets is absent there)."""
    values: dict[str, Any] = {}
    for (layer, key), param in definition.argument_params.items():
        if layer in instance.args and key in instance.args[layer]:
            values[param] = instance.args[layer][key]
    for layer, param in definition.presence_params.items():
        values[param] = layer in instance.types
    return values


def _run_arguments(definition: _Definition, run: _Run) -> tuple[dict[str, Any], dict[str, Any]]:
    """`with:` (the rest of the run's instances) and `first:` (its first instance where it differs)."""
    rest_values = _instance_values(definition, run.instances[1])
    first_values = _instance_values(definition, run.instances[0])
    given = {param: value for param, value in rest_values.items()
             if yaml_value(value) != yaml_value(definition.params[param])}
    effective = {**definition.params, **given}
    first = {param: value for param, value in first_values.items()
             if yaml_value(value) != yaml_value(effective[param])}
    return given, first


# ------------------------------------------------------------------------------------------------
# writing


def _layer_line(name: str, record_type: str, inputs: list[str] | None, args: dict[str, Any],
                extra: dict[str, Any] | None = None) -> str:
    fields = {"name": name, "type": record_type}
    if inputs is not None:
        fields["inputs"] = inputs
    fields.update(args)
    fields.update(extra or {})
    return "{" + ", ".join(f"{yaml_key(key)}: {yaml_value(value)}" for key, value in fields.items()) + "}"


def _definition_lines(definition: _Definition) -> list[str]:
    lines = [f"  {yaml_key(definition.name)}:"]
    if definition.module:
        lines.append("    module: true")
    if definition.params:
        lines.append(f"    params: {yaml_value(definition.params)}")
    lines.append("    layers:")
    union = definition.union
    previous = INPUT
    for name in union.order:
        literal = _without_defaults(union.types[name], definition.literals[name])
        args: dict[str, Any] = {}
        for key in next(instance.args[name] for run in definition.runs for instance in run.instances
                        if name in instance.args):   # the importer's order of arguments
            if (name, key) in definition.argument_params:
                args[key] = f"${{{definition.argument_params[name, key]}}}"
            elif key in literal:
                args[key] = literal[key]
        extra = {"if": f"${{{definition.presence_params[name]}}}"} if name in definition.presence_params else None
        inputs = union.inputs[name]
        shown = None if inputs in ([previous], []) else inputs
        lines.append(f"      - {_layer_line(name, union.types[name], shown, args, extra)}")
        previous = name
    return lines


def _run_line(definition: _Definition, run: _Run, inputs: list[str] | None) -> str:
    given, first = _run_arguments(definition, run)
    fields: dict[str, Any] = {"block": definition.name, "name": run.name(), "repeat": len(run.instances)}
    if inputs is not None:
        fields["inputs"] = inputs
    if given:
        fields["with"] = given
    if first:
        fields["first"] = first
    return "{" + ", ".join(f"{key}: {yaml_value(value)}" for key, value in fields.items()) + "}"


def _input_lines(input_spec: Any) -> list[str]:
    return [f"input: {yaml_value(input_spec)}"]


def records_of(network: Any, inferred: bool = False) -> list[LayerRecord]:
    """The layers of an analyzed `Network` as records (every argument, full input names): written back
    with `write_spec`, a spec with the same layers; the importers' round-trip tests start here. With
    `inferred`, the input-size argument each type infers is filled in (`in_channels`)."""
    from ..layers import Layer

    own = set(Layer.model_fields) - {"share", "call"}
    records = []
    for layer in network.layers:
        args = layer.spec.model_dump(exclude=own | {"type"})
        args = {key: value for key, value in args.items() if not (key in ("share", "call", "tie") and value is None)}
        for key in type(layer.spec).block_keys:   # a sub-network (a moe's expert): its layers as a spec gives them
            value = getattr(layer.spec, key)
            args[key] = None if value is None else sub_network_layers(value)
        rule = type(layer.spec).inferred_argument
        if inferred and rule and layer.input_shapes:
            args[rule[0]] = layer.input_shapes[0][rule[1]]
        records.append(LayerRecord(layer.name, layer.type, args, list(layer.sources)))
    return records


def sub_network_layers(layers: Sequence[Any]) -> list[dict[str, Any]]:
    """A sub-network's validated layers (a moe's expert) as the spec's layer mappings: name and type first, then
    only what each layer sets. A full dump would give every layer's `share: null`, which an expert refuses."""
    made, previous = [], INPUT
    for layer in layers:
        fields = layer.model_dump(exclude_defaults=True, exclude={"type", "name"})
        if fields.get("inputs") == [previous]:
            del fields["inputs"]   # the default: the layer before
        made.append({**({"name": layer.name} if layer.name else {}), "type": layer.type,
                     **{key: shortened(value, key) for key, value in fields.items()}})
        previous = layer.name
    return made


def input_spec_of(network: Any) -> Any:
    """What a spec's `input:` says for the network's inputs (a shape, `{shape, dtype}`, or named inputs)."""
    def one(shape: Any, dtype: str) -> Any:
        return list(shape) if dtype == "float" else {"shape": list(shape), "dtype": dtype}

    if len(network.inputs) > 1:
        return {item.name: one(item.shape, item.dtype) for item in network.inputs}
    return one(network.input_shape, network.input_dtype)


def fold(records: Sequence[LayerRecord], module_classes: dict[str, str] | None = None, flat: bool = False,
         keep_inferred: bool = False, taken: set[str] = frozenset()) -> tuple[list[tuple[str, Any]], list[_Definition]]:
    """The records as entries, ("layer", LayerRecord) or ("run", run of block instances), and the block
    definitions the runs use. `keep_inferred` keeps the input sizes as arguments (the PyTorch export needs
    them: they become block parameters where they differ)."""
    module_classes = module_classes or {}
    records = list(records)
    entries: list[tuple[str, Any]] = []
    position = 0
    while position < len(records):
        found = None if flat else _find_run(records, position, keep_inferred)
        if found is not None and found[0].union is not None:
            run, used = found
            entries.append(("run", run))
            position += used
        else:
            entries.append(("layer", records[position]))
            position += 1
    return entries, _definitions([entry for kind, entry in entries if kind == "run"], module_classes, taken)


def write_spec(records: Sequence[LayerRecord], input_spec: Any, name: str | None = None,
               header: Iterable[str] = (), module_classes: dict[str, str] | None = None,
               flat: bool = False) -> str:
    """The spec text of `records` (see the module docstring). `input_spec` is what the spec's `input:` says
    (a shape list, `{shape, dtype}`, or named inputs); `header` lines become leading comments."""
    records, networks = _sub_network_blocks(records)
    entries, definitions = fold(records, module_classes, flat=flat, taken=set(networks))
    lines = [f"# {line}" if line else "#" for line in header]
    if name:
        lines.append(f"name: {yaml_value(name)}")
    lines += _input_lines(input_spec)
    if definitions or networks:
        lines += ["", "blocks:"]
        for block, layers in networks.items():
            lines.append(f"  {yaml_key(block)}:")
            lines += [f"    - {yaml_value(layer)}" for layer in layers]
        for definition in definitions:
            lines += _definition_lines(definition)
    lines += ["", "layers:"]
    previous = INPUT
    by_run = {id(run): definition for definition in definitions for run in definition.runs}
    for kind, entry in entries:
        if kind == "layer":
            shown = None if entry.inputs in ([previous], []) else entry.inputs
            line = f"  - {_layer_line(entry.name, entry.type, shown, written_args(entry))}"
            if entry.comment:
                line += f"   # {entry.comment}"
            lines.append(line)
            previous = entry.name
        else:
            definition = by_run[id(entry)]
            source = entry.instances[0].source
            lines.append(f"  - {_run_line(definition, entry, None if source == previous else [source])}")
            previous = entry.instances[-1].output(definition.union)
    return "\n".join(lines) + "\n"


def _sub_network_blocks(records: Sequence[LayerRecord]) -> tuple[list[LayerRecord], dict[str, list[dict[str, Any]]]]:
    """The records with each sub-network argument (a moe's `expert`: a list of layers) replaced by the name of a
    block holding those layers, and the blocks: one per distinct sub-network, named by its key (`expert`,
    `shared_expert`, `expert_2` for a second, different one), so the layers that use one fold alike."""
    from ..layers import layer_class

    blocks: dict[str, list[dict[str, Any]]] = {}
    by_text: dict[str, str] = {}
    made = []
    for record in records:
        try:
            keys = layer_class(record.type).block_keys
        except KeyError:
            keys = ()
        args = dict(record.args)
        for key in keys:
            if not isinstance(args.get(key), list):
                continue
            text = yaml_value(args[key])
            if text not in by_text:
                by_text[text] = _unique(_identifier(key), set(blocks))
                blocks[by_text[text]] = args[key]
            args[key] = by_text[text]
        made.append(LayerRecord(record.name, record.type, args, record.inputs, record.comment) if keys else record)
    return made, blocks


def _definitions(runs: list[_Run], module_classes: dict[str, str], taken: set[str] = frozenset()) -> list[_Definition]:
    """One definition per module class whose runs fit one block (torchvision's BasicBlock in every stage,
    with or without a shortcut), else per layer structure; block names other than `taken`."""
    made: dict[Any, _Definition] = {}
    names: set[str] = set(taken)
    for run in runs:
        assert run.union is not None
        classes = {module_classes.get(instance.prefix[:-1]) for instance in run.instances}
        kind = next(iter(classes)) if len(classes) == 1 else None
        module = bool(kind and kind != "Sequential")
        key: Any = run.union.structure()
        if module and ("class", kind) in made:
            together = made["class", kind]
            runs_together = [*together.runs, run]
            union = _unite([instance for other in runs_together for instance in other.instances],
                           [other.instances for other in runs_together])
            if union is not None:
                together.union = union
                together.runs.append(run)
                continue
        elif module:
            key = ("class", kind)
        if key not in made:
            base = _snake(kind) if module else _identifier(run.container.split(".")[-1])
            made[key] = _Definition(_unique(base, names), module, run.union, [])
        made[key].runs.append(run)
    for definition in made.values():
        _define(definition)
    return list(made.values())


__all__ = ["INPUT", "LayerRecord", "fold", "input_spec_of", "records_of", "shortened", "sub_network_layers", "write_spec",
           "written_args", "yaml_value"]
