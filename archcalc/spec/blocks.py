"""Blocks, repeats, variables and conditions: the spec as written → a flat list of layers.

    variables: {width: 64}                      # spec-level; later ones may use earlier ones
    blocks:
      basic:                                    # a named block with parameters (null = required)
        params: {planes: null, stride: 1, downsample: false}
        layers:
          - {name: conv1, type: conv2d, out_channels: "${planes}", kernel_size: 3, stride: "${stride}", padding: 1}
          - ...
          - {name: downsample, type: conv2d, inputs: [input], ..., if: "${downsample}"}
          - {name: add, type: add, inputs: [bn2, downsample]}
        output: relu                            # optional; default: the block's last layer
        module: true                            # optional: each instance is one nn.Module (not Sequential)
        ignore: [skipped-input]                 # optional: warning codes silenced on every layer of the block
    layers:
      - {block: basic, name: layer1, repeat: 2, with: {planes: 64}}
      - {block: basic, name: layer2, repeat: 2, with: {planes: 128}, first: {stride: 2, downsample: true}}

Inside a block, `input` is the instance's input and names are local; the flat layer gets the
instance's name as a prefix (`layer2.0.conv1`). `repeat: N` makes instances `NAME.0` … `NAME.N-1`,
each fed by the one before; `with` arguments are evaluated for each (with `i`, the instance index),
`first` arguments apply to instance 0 only. A layer whose `if` is false is left out, and names that
refer to it stand for its input. The name of an instance or repeat group stands for its output.
Every flat layer keeps the source position of the line it came from, and its `origins` say which
instances it belongs to. The flat list's `modules` names, for each instance of a block with
`module: true`, the instance and the layer that is its output (for tools that hook every module call),
and its `ignores`, per layer, the warning codes its enclosing block definitions silence, each with the
position where the definition says it.
"""

from __future__ import annotations

import unicodedata
from collections import ChainMap
from functools import lru_cache
from typing import Any, Mapping, NamedTuple

from ..layers import layer_class
from .expressions import ExpressionError, has_expression, recording_reads, substitute
from .limits import DEFAULT_LIMITS, Limits, flag
from .suggest import suggestion
from .yaml_source import SourceDict, SourceList
from ..problems import Problem

MAX_LAYERS = DEFAULT_LIMITS.max_layers
RESERVED = {"input", "i"}
INSTANCE_KEYS = {"block", "name", "repeat", "with", "first", "inputs", "if"}
BLOCK_KEYS = ["params", "layers", "output", "module", "ignore"]


def _block_keys(tag: Any) -> tuple[str, ...]:
    """The keys of a layer type whose value is a sub-network (a mixture of experts' expert): expanded in place."""
    return _traits(tag)[0] if isinstance(tag, str) else ()


def _takes_no_input(tag: Any) -> bool:
    """Whether a layer type takes no input (a learned tensor): it gets no default input from the layer before."""
    return isinstance(tag, str) and _traits(tag)[1]


@lru_cache(maxsize=256)   # asked for every layer made; a spec names a few types
def _traits(tag: str) -> tuple[tuple[str, ...], bool]:
    """(sub-network keys, takes no input) of a type name as written; an unknown name has neither."""
    try:
        kind = layer_class(tag.lower())
    except KeyError:
        return (), False
    return kind.block_keys, kind.arity == 0


# How `_layer` expands a key of a layer entry
_PLAIN, _EXPRESSION, _REFERENCE, _SUB_NETWORK = object(), object(), object(), object()


class FlatLayers(SourceList):
    """The expanded layer list; `modules` holds (instance, output layer) for each instance of a block that
    is one nn.Module (`module: true`), in the order the instances are made; `ignores` holds, per layer, the
    (code, position) pairs of the `ignore:` lists of the block definitions it comes from; `scopes` holds, per
    layer, the block instances it belongs to, outermost first (`Scope`), for views that fold them (a graph)."""

    __slots__ = ("modules", "ignores", "scopes")


class Scope(NamedTuple):
    """One block instance a flat layer comes from: `instance` is its full name (`layer2.0`); `repeat` the
    full name of the `repeat` group it is one of (`layer2`; for a templated name, the block use's place),
    `None` for a single use; `index` its place in the group of `count`."""

    instance: str
    block: str
    repeat: str | None
    index: int
    count: int


class UnknownVariable(ValueError):
    """`--set NAME=VALUE` (or `variables=`) names a variable the spec does not declare: a usage error."""


class ExpansionError(Exception):
    def __init__(self, message: str, node: Any, key: Any = None, code: str = "block"):
        super().__init__(message)
        self.message, self.node, self.key, self.code = message, node, key, code


class _Frame:
    """One list of layers being expanded: the top level, or one block instance. (A plain class: one is made
    per block instance, and this module is imported by every run, where a dataclass costs ten times a plain
    class to define.)"""

    __slots__ = ("scope", "prefix", "input_name", "origin", "local", "parent", "own", "ignores", "scopes", "values")

    def __init__(self, scope: Mapping[str, Any], prefix: str, input_name: str, origin: tuple[str, ...],
                 parent: _Frame | None = None, ignores: tuple[tuple[str, tuple[int, int]], ...] = (),
                 scopes: tuple[Scope, ...] = ()):
        self.scope, self.prefix, self.input_name, self.origin = scope, prefix, input_name, origin
        self.parent = parent
        self.ignores = ignores  # warning codes the enclosing blocks silence
        self.scopes = scopes    # the enclosing block instances, outermost first
        self.local: dict[str, str] = {}
        self.own: frozenset[str] = frozenset()  # names the list declares literally, so they shadow outer names
        self.values: dict[str, Any] = {}  # expression text → its value in `scope`


def needs_expansion(data: dict) -> bool:
    if "blocks" in data or "variables" in data:
        return True
    layers = data.get("layers")
    return isinstance(layers, list) and any(
        isinstance(layer, dict) and ("block" in layer or "if" in layer or has_expression(layer)) for layer in layers)


def expand(data: Any, path: str, overrides: dict[str, Any] | None = None,
           limits: Limits = DEFAULT_LIMITS) -> tuple[Any, list[Problem]]:
    """The document with `blocks`/`variables` resolved into a flat `layers` list, or problems. `overrides`
    replace spec variables of the same name (`--set`); a name the spec does not declare is UnknownVariable."""
    _check_overrides(data, overrides)
    if not isinstance(data, dict) or not needs_expansion(data):
        return data, []
    return _expanded(data, path, overrides, limits, lambda: _Expander(data, overrides or {}, limits).document())


def _check_overrides(data: Any, overrides: dict[str, Any] | None) -> None:
    if overrides:
        declared = data.get("variables") if isinstance(data, dict) else None
        unknown = sorted(set(overrides) - set(declared if isinstance(declared, dict) else ()))
        if unknown:
            known = ", ".join(sorted(declared)) if isinstance(declared, dict) and declared else "none"
            raise UnknownVariable(f"the spec has no variable {unknown[0]!r} (its variables: {known})")


def _expanded(data: Any, path: str, overrides: dict[str, Any] | None, limits: Limits,
              document: Any) -> tuple[Any, list[Problem]]:
    """`document()`, or the problem its ExpansionError (or a too-deep recursion) is."""
    try:
        return document(), []
    except RecursionError:  # only with --max-depth raised far beyond what Python's stack holds
        return None, [Problem(path, *_position(data, "blocks"), f"blocks nest too deeply for this Python"
                              f" ({flag('max_depth')} {limits.max_depth} is too high)", code="too-deep")]
    except ExpansionError as error:
        line, column = _position(error.node, error.key)
        return None, [Problem(path, line, column, error.message, code=error.code)]


class Reads(NamedTuple):
    """The names an expansion's expressions looked up: `layers` for everything but the network's `input:`
    (variables, repeat counts, `if:`, block arguments and defaults, layer fields, `name`, `expect`), `input`
    for `input:` alone. An expansion is a function of the values of the names it read: a sweep point that
    gives those names the same values expands to the same document."""

    layers: frozenset[str]
    input: frozenset[str]


def expand_recorded(data: Any, path: str, overrides: dict[str, Any] | None = None,
                    limits: Limits = DEFAULT_LIMITS) -> tuple[Any, list[Problem], Reads | None]:
    """`expand`, and the names it read (None when the document needs no expansion: it is returned as is)."""
    _check_overrides(data, overrides)
    if not isinstance(data, dict) or not needs_expansion(data):
        return data, [], None
    reads: list[Reads] = []

    def recorded() -> SourceDict:
        with recording_reads() as names:
            expander = _Expander(data, overrides or {}, limits)
            document = expander.document()
        reads.append(Reads(frozenset(names), frozenset(expander.input_reads)))
        return document

    document, problems = _expanded(data, path, overrides, limits, recorded)
    return document, problems, reads[0] if reads else None


def expand_input(data: SourceDict, overrides: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> Any:
    """The document's `input:` as `expand` evaluates it with `overrides`, nothing else expanded (its
    variables are); raises ExpansionError (or RecursionError) where `expand` would report a problem."""
    return _Expander(data, overrides, limits).network_input()


def _position(node: Any, key: Any) -> tuple[int, int]:
    if isinstance(node, SourceDict) and key in node:
        return node.marks[key]
    return getattr(node, "mark", (1, 1))


def _suggest(word: Any, choices: Any) -> str:
    close = suggestion(word, choices)
    return f" (did you mean {close!r}?)" if close else ""


class _Expander:
    def __init__(self, data: SourceDict, overrides: dict[str, Any], limits: Limits = DEFAULT_LIMITS):
        self.data, self.limits = data, limits
        self.overrides = overrides
        self.stack: list[str] = []
        self.made = 0  # layer entries visited so far, kept or left out: the expansion budget
        self.emitted: set[str] = set()
        self.flat = FlatLayers()
        self.flat.mark = getattr(data.get("layers"), "mark", (1, 1))
        self.flat.marks, self.flat.origins, self.flat.modules, self.flat.ignores = [], [], [], []
        self.flat.scopes = []
        self.blocks = self._blocks(data.get("blocks", {}))
        self.variables = self._variables(data.get("variables", {}))
        raw_input = data.get("input")
        self.input_names = set(raw_input) if isinstance(raw_input, dict) and "shape" not in raw_input else set()
        self.input_reads: set[str] = set()
        self.templates: dict[int, list[tuple[str, Any, object]]] = {}   # id(layer entry) → `_template(entry)`
        self.literal_names: dict[int, frozenset[str]] = {}   # id(list of layer entries) → `_literal_names`
        self.held: list[Any] = []   # what those ids name, kept alive so that they stay unique

    def _static_size(self, entries: Any, seen: tuple[str, ...] = ()) -> int:
        """How many layers `entries` expand to, from literal (or spec-variable) repeat counts, without
        expanding: a hostile `repeat` nest is refused before any work. Unknown counts count as 1."""
        total = 0
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict) or "block" not in entry:
                total += 1
                continue
            block = entry["block"]
            definition = self.blocks.get(block) if isinstance(block, str) else None
            if definition is None or block in seen:
                total += 1
                continue
            try:
                count = substitute(entry.get("repeat", 1), self.variables, self.limits)
            except ExpressionError:
                count = 1
            count = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
            layers = definition if isinstance(definition, list) else definition.get("layers")
            if len(seen) >= self.limits.max_depth:
                return total + 1  # expansion itself reports the nesting
            made = count * self._static_size(layers, (*seen, block))
            if made > self.limits.max_layers:
                raise ExpansionError(f"repeat: {count:,} instance{'s' * (count != 1)} of block {block!r} make"
                                     f" {made:,} layers, more than the {self.limits.max_layers:,}-layer limit"
                                     f" ({flag('max_layers')})", entry,
                                     "repeat" if "repeat" in entry else "block", code="too-large")
            total += made
        return total

    def document(self) -> SourceDict:
        layers = self.data.get("layers")
        if isinstance(layers, list) and self._static_size(layers) > self.limits.max_layers:
            raise ExpansionError(f"the spec expands to more than {self.limits.max_layers:,} layers, the"
                                 f" {flag('max_layers')} limit", self.data, "layers",
                                 code="too-large")  # each use is within the limit, but not all of them together
        if not isinstance(layers, list):
            result = SourceDict((key, value) for key, value in self.data.items() if key not in ("blocks", "variables"))
            result.mark, result.marks = self.data.mark, self.data.marks
            return result
        self._entries(layers, _Frame(self.variables, "", "input", ()))
        result = SourceDict()
        result.mark, result.marks = self.data.mark, {}
        for key, value in self.data.items():
            if key in ("blocks", "variables"):
                continue
            if key == "layers":
                value = self.flat
            elif key == "input":
                with recording_reads() as self.input_reads:   # kept apart from what the layers read
                    value = self.network_input()
            elif key == "name":
                value = self._evaluate(value, self.variables, self.data, key)
            elif key == "expect" and isinstance(value, SourceDict):
                value = self._evaluated_mapping(value)
            result[key] = value
            result.marks[key] = self.data.marks[key]
        return result

    def network_input(self) -> Any:
        """The document's `input:` evaluated: a function of the spec variables alone."""
        value = self.data["input"]
        if isinstance(value, SourceDict):   # {shape, dtype}, or several named inputs
            return self._evaluated_mapping(value)
        return self._evaluate(value, self.variables, self.data, "input")

    def _evaluated_mapping(self, raw: SourceDict) -> SourceDict:
        """Every value evaluated, nested mappings too (an input's {shape, dtype} under its name)."""
        mapping = SourceDict((key, self._evaluated_mapping(value) if isinstance(value, SourceDict) else
                              self._evaluate(value, self.variables, raw, key)) for key, value in raw.items())
        mapping.mark, mapping.marks = raw.mark, raw.marks
        return mapping

    # definitions -------------------------------------------------------------------------------

    def _variables(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise ExpansionError("'variables' must be a mapping of names to values", self.data, "variables")
        scope: dict[str, Any] = {}
        for name, value in raw.items():
            self._check_name(name, raw, "variable")
            scope[name] = self.overrides[name] if name in self.overrides else self._evaluate(value, scope, raw, name)
        return scope

    def _blocks(self, raw: Any) -> dict[str, SourceDict]:
        if not isinstance(raw, dict):
            raise ExpansionError("'blocks' must be a mapping of block names to definitions", self.data, "blocks")
        for name, definition in raw.items():
            self._check_name(name, raw, "block", identifier=False)
            if isinstance(definition, list):
                continue
            if not isinstance(definition, dict):
                raise ExpansionError(f"block {name!r} must be a list of layers or a mapping with 'layers'", raw, name)
            unknown = set(definition) - set(BLOCK_KEYS)
            for key in unknown:
                raise ExpansionError(f"block {name!r}: unknown key {key!r}{_suggest(key, BLOCK_KEYS)}", definition, key)
            if "output" in definition and not isinstance(definition["output"], str):
                raise ExpansionError(f"block {name!r}: 'output' must be the name of one of its layers, got"
                                     f" {_kind(definition['output'])}", definition, "output")
            if not isinstance(definition.get("module", False), bool):
                raise ExpansionError(f"block {name!r}: 'module' must be true or false", definition, "module")
            codes = definition.get("ignore", [])
            if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
                raise ExpansionError(f"block {name!r}: 'ignore' must be a list of warning codes", definition, "ignore")
            if not isinstance(definition.get("layers"), list) or not definition["layers"]:
                raise ExpansionError(f"block {name!r} needs a non-empty 'layers' list", definition,
                                     "layers" if "layers" in definition else None)
            params = definition.get("params", {})
            if not isinstance(params, dict):
                raise ExpansionError(f"block {name!r}: 'params' must be a mapping of names to defaults"
                                     " (null = required)", definition, "params")
            for param in params:
                self._check_name(param, params, "block parameter")
        return raw

    def _check_name(self, name: Any, where: Any, what: str, identifier: bool = True) -> None:
        if not isinstance(name, str) or (identifier and not name.isidentifier()):
            raise ExpansionError(f"{what} name {name!r} must be a plain name (letters, digits, _)", where, name)
        if identifier and name in RESERVED:
            raise ExpansionError(f"{what} name {name!r} is reserved", where, name)
        if identifier and unicodedata.normalize("NFKC", name) != name:
            # Python's parser reads `ｘ` in an expression as `x`: such a name could never be told from another
            raise ExpansionError(f"{what} name {name!r} changes under Unicode normalisation (NFKC) to"
                                 f" {unicodedata.normalize('NFKC', name)!r}, as expressions read it: write it plainly",
                                 where, name, code="invalid-name")

    # expansion ---------------------------------------------------------------------------------

    def _evaluate(self, raw: Any, scope: Mapping[str, Any], node: Any, key: Any) -> Any:
        if isinstance(raw, str) and "${" not in raw or not isinstance(raw, (str, list)):
            return raw  # a plain value, most of a spec: nothing to evaluate
        try:
            value = substitute(raw, scope, self.limits)
        except ExpressionError as error:
            raise ExpansionError(f"{key}: {error}{self._where()}", node, key, code="expression") from None
        if isinstance(raw, SourceList) and isinstance(value, list):
            value = SourceList(value)
            value.mark, value.marks = raw.mark, raw.marks
        return value

    def _in_frame(self, raw: Any, frame: _Frame, node: Any, key: Any) -> Any:
        """`_evaluate` in the frame's scope, a text's value computed once per frame: a block's layers repeat
        their parameters (`${inner}`, `${stride}`), and the same text in the same scope has the same value."""
        if raw.__class__ is not str:
            return self._evaluate(raw, frame.scope, node, key) if isinstance(raw, list) and has_expression(raw) \
                else raw
        if "${" not in raw:
            return raw
        values = frame.values
        if raw not in values:
            values[raw] = self._evaluate(raw, frame.scope, node, key)
        return values[raw]

    def _where(self) -> str:
        return f" (in block {self.stack[-1]!r})" if self.stack else ""

    def _entries(self, entries: list, frame: _Frame) -> str:
        """Expand a list of layer entries; returns the full name of the last output."""
        frame.own = self._literal_names(entries)
        previous = frame.input_name
        for position, entry in enumerate(entries):
            self._count(entry)
            if not isinstance(entry, dict):
                self._emit(entry, getattr(entries, "marks", [(1, 1)] * len(entries))[position], frame.origin,
                           frame.ignores, frame.scopes)
                continue
            if "if" in entry:
                keep = self._in_frame(entry["if"], frame, entry, "if")
                if not isinstance(keep, bool):
                    raise ExpansionError(f"if: expected true or false, got {keep!r}", entry, "if")
                if not keep:
                    previous = self._skip(entry, position, frame, previous)
                    continue
            if "block" in entry:
                previous = self._instances(entry, position, frame, previous)
            else:
                previous = self._layer(entry, position, frame, previous)
        return previous

    def _local_name(self, entry: SourceDict, position: int, frame: _Frame, default_base: Any) -> str:
        if "name" in entry:
            name = self._in_frame(entry["name"], frame, entry, "name")
            if not isinstance(name, str) or not name.strip():
                raise ExpansionError(f"name: expected a non-empty name, got {name!r}", entry, "name",
                                     code="invalid-value")
            return name
        base = default_base.lower() if isinstance(default_base, str) else "layer"
        return f"{base}-{position + 1}"

    def _resolve(self, reference: Any, frame: _Frame, entry: SourceDict) -> Any:
        if not isinstance(reference, str):
            return reference
        name, colon, index = reference.rpartition(":")
        if colon and name and index.isdigit():   # output INDEX of a layer with several: resolve the layer
            return f"{self._resolve(name, frame, entry)}:{index}"
        if reference == "input":
            return frame.input_name
        if reference in self.input_names:        # the network's named inputs are visible everywhere
            return reference
        # a local name (made, or still to come); else a name of an enclosing instance (blocks can be handed outer layers by name,
        # e.g. a U-Net's skip connection); else a full name already made; else a local name still to come
        if reference in frame.local:
            return frame.local[reference]
        if reference in frame.own:  # one of this list's own layers, still to come
            return frame.prefix + reference
        outer: _Frame | None = frame.parent
        while outer is not None:
            if reference in outer.local:
                return outer.local[reference]
            outer = outer.parent
        if reference in self.emitted:
            return reference
        return frame.prefix + reference if frame.prefix else reference

    def _sources(self, entry: SourceDict, frame: _Frame, previous: str) -> list[Any]:
        if "inputs" not in entry:
            return [previous]
        inputs = self._in_frame(entry["inputs"], frame, entry, "inputs")
        if not isinstance(inputs, list):
            return inputs  # validation reports it
        return [self._resolve(reference, frame, entry) for reference in inputs]

    def _skip(self, entry: SourceDict, position: int, frame: _Frame, previous: str) -> str:
        """A left-out layer passes its (first) input through: its name, and the next layer's default
        input, stand for that input."""
        name = self._local_name(entry, position, frame, entry.get("block") or entry.get("type"))
        sources = self._sources(entry, frame, previous)
        if not isinstance(sources, list) or not sources:
            raise ExpansionError(f"{name!r} is left out by its 'if' and has no input to stand for", entry, "if")
        # a left-out merge stands for its first input; a kept layer of the same name keeps its name
        frame.local.setdefault(name, sources[0])
        return sources[0]

    def _layer(self, entry: SourceDict, position: int, frame: _Frame, previous: str) -> str:
        layer = SourceDict()
        marks = dict(entry.marks)
        layer.mark, layer.marks = entry.mark, marks
        for key, raw, how in self._template(entry):
            if how is _PLAIN:
                layer[key] = raw
            elif how is _EXPRESSION:
                layer[key] = self._in_frame(raw, frame, entry, key)
            elif how is _REFERENCE:                # module and weight references are looked up as inputs are
                layer[key] = self._resolve(self._in_frame(raw, frame, entry, key), frame, entry)
            else:
                layer[key] = self._sub_network(raw, frame, entry, key)
        local = self._local_name(entry, position, frame, layer.get("type"))
        full = frame.prefix + local
        layer["name"] = full
        marks.setdefault("name", entry.mark)   # the entry's own marks are there already; a made one points at it
        if "inputs" in entry or not _takes_no_input(layer.get("type")):
            layer["inputs"] = self._sources(entry, frame, previous)
            marks.setdefault("inputs", entry.mark)
        if "if" in marks:
            del marks["if"]
        self._emit(layer, entry.mark, frame.origin, frame.ignores, frame.scopes)
        frame.local[local] = full
        return full

    def _literal_names(self, entries: list) -> frozenset[str]:
        """The names a list of layer entries declares literally (once per list: a block's for all its instances)."""
        names = self.literal_names.get(id(entries))
        if names is None:
            names = frozenset(entry["name"] for entry in entries if isinstance(entry, dict)
                              and isinstance(entry.get("name"), str) and not has_expression(entry["name"]))
            self.literal_names[id(entries)] = names
            self.held.append(entries)
        return names

    def _template(self, entry: SourceDict) -> list[tuple[str, Any, object]]:
        """How each key of a layer entry is expanded, in the entry's order: (key, value, how). A block's
        entries are expanded once per instance, so this is worked out once per entry."""
        template = self.templates.get(id(entry))
        if template is None:
            sub_networks = _block_keys(entry.get("type"))
            template = [(key, raw, _SUB_NETWORK if key in sub_networks else _REFERENCE if key in ("share", "tie")
                         else _EXPRESSION if has_expression(raw) else _PLAIN)
                        for key, raw in entry.items() if key not in ("if", "name", "inputs")]
            self.templates[id(entry)] = template
            self.held.append(entry)
        return template

    def _sub_network(self, raw: Any, frame: _Frame, entry: SourceDict, key: str) -> Any:
        """A layer's sub-network (a mixture of experts' expert): a block name, {block, with}, or a list of
        layers, expanded on its own — names local to it (a block's layers keep their own names), `input` its
        input, the enclosing scope's variables — into a flat list of layers that the layer propagates itself."""
        if isinstance(raw, str) or (isinstance(raw, dict) and "block" in raw):
            use = raw if isinstance(raw, dict) else SourceDict(block=raw)
            if not isinstance(raw, dict):
                use.mark, use.marks = entry.marks[key], {"block": entry.marks[key]}
            for unknown in set(use) - {"block", "with"}:
                raise ExpansionError(f"{key}: unknown key {unknown!r} (a sub-network is a block name, {{block, with}}"
                                     " or a list of layers)", use, unknown)
            block = use["block"]
            if not isinstance(block, str) or block not in self.blocks:
                raise ExpansionError(f"{key}: unknown block {block!r}{_suggest(block, self.blocks)}", use, "block",
                                     code="unknown-block")
            if block in self.stack:
                raise ExpansionError(f"block {block!r} uses itself ({' → '.join([*self.stack, block])})", use,
                                     "block", code="recursive-block")
            definition = self.blocks[block]
            if isinstance(definition, dict) and definition.get("output") is not None:
                raise ExpansionError(f"{key}: block {block!r} has an 'output'; a sub-network's output is its last"
                                     " layer", use, "block")
            layers = definition if isinstance(definition, list) else definition["layers"]
            scope = self._arguments(use, block, definition, frame, 0)
            self.stack.append(block)
        elif isinstance(raw, list):
            layers, scope = raw, frame.scope
            self.stack.append(f"{frame.prefix}{entry.get('name', key)}.{key}")
        else:
            return self._evaluate(raw, frame.scope, entry, key)   # validation reports it
        saved = self.flat, self.emitted
        self.flat, self.emitted = FlatLayers(), set()
        self.flat.marks, self.flat.origins, self.flat.modules, self.flat.ignores = [], [], [], []
        self.flat.scopes = []
        try:
            self._entries(layers, _Frame(scope, "", "input", frame.origin, ignores=frame.ignores))
            expanded = self.flat
        finally:
            self.flat, self.emitted = saved
            self.stack.pop()
        expanded.mark = getattr(raw, "mark", entry.mark)
        return expanded

    def _count(self, entry: Any) -> None:
        """Every layer entry visited counts against the budget, whether it is kept or left out by its `if`."""
        self.made += 1
        if self.made > self.limits.max_layers:
            raise ExpansionError(f"the spec expands to more than {self.limits.max_layers:,} layers (left-out ones"
                                 f" included), the {flag('max_layers')} limit{self._where()}", entry,
                                 "repeat" if isinstance(entry, dict) and "repeat" in entry else None,
                                 code="too-large")

    def _emit(self, layer: Any, mark: tuple[int, int], origin: tuple[str, ...],
              ignores: tuple[tuple[str, tuple[int, int]], ...] = (), scopes: tuple[Scope, ...] = ()) -> None:
        flat = self.flat
        flat.append(layer)
        if isinstance(layer, dict) and isinstance(layer.get("name"), str):
            self.emitted.add(layer["name"])
        flat.marks.append(mark)
        flat.origins.append(origin)
        flat.ignores.append(ignores)
        flat.scopes.append(scopes)

    def _instances(self, entry: SourceDict, position: int, frame: _Frame, previous: str) -> str:
        for key in entry:
            if key not in INSTANCE_KEYS:
                raise ExpansionError(f"unknown key {key!r} for a block use{_suggest(key, INSTANCE_KEYS)}", entry, key)
        block = entry["block"]
        if not isinstance(block, str) or block not in self.blocks:
            raise ExpansionError(f"unknown block {block!r}{_suggest(block, self.blocks)}", entry, "block",
                                 code="unknown-block")
        if block in self.stack:
            chain = " → ".join([*self.stack, block])
            raise ExpansionError(f"block {block!r} uses itself ({chain})", entry, "block", code="recursive-block")
        if len(self.stack) >= self.limits.max_depth:
            raise ExpansionError(f"blocks nest more than {self.limits.max_depth} levels deep ({flag('max_depth')})",
                                 entry, "block", code="too-deep")
        # a name with an expression is a template, evaluated for each instance (with `i`): `denselayer${i + 1}`
        templated = "name" in entry and has_expression(entry["name"])
        group = None if templated else self._local_name(entry, position, frame, block)
        count = self._in_frame(entry.get("repeat", 1), frame, entry, "repeat")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ExpansionError(f"repeat: expected a positive integer, got {count!r}", entry, "repeat")
        if count > self.limits.max_layers:
            raise ExpansionError(f"repeat: {count:,} instances is more than the {self.limits.max_layers:,}-layer limit"
                                 f" ({flag('max_layers')})", entry, "repeat", code="too-large")
        sources = self._sources(entry, frame, previous)
        if not isinstance(sources, list) or len(sources) != 1:
            raise ExpansionError("a block instance takes exactly one input", entry, "inputs")
        definition = self.blocks[block]
        layers = definition if isinstance(definition, list) else definition["layers"]
        output = None if isinstance(definition, list) else definition.get("output")
        module = not isinstance(definition, list) and definition.get("module", False)
        codes = [] if isinstance(definition, list) else definition.get("ignore", [])
        ignores = (*frame.ignores, *zip(codes, getattr(codes, "marks", None) or [entry.mark] * len(codes)))
        current = sources[0]
        repeat = (frame.prefix + (group if group is not None else f"{block}@{entry.mark[0]}:{entry.mark[1]}")
                  if "repeat" in entry else None)
        for index in range(count):
            if templated:
                instance = self._local_name(entry, position, _Frame(ChainMap({"i": index}, frame.scope), "", "", ()),
                                            block)
            else:
                instance = f"{group}.{index}" if "repeat" in entry else group
            scope = self._arguments(entry, block, definition, frame, index)
            inner = _Frame(scope, frame.prefix + instance + ".", current,
                           (f"block {block!r}, instance {frame.prefix + instance!r}, used at line {entry.mark[0]}",
                            *frame.origin), parent=frame, ignores=ignores,
                           scopes=(*frame.scopes, Scope(frame.prefix + instance, block, repeat, index, count)))
            self.stack.append(block)
            last = self._entries(layers, inner)
            self.stack.pop()
            if output is not None:
                if output not in inner.local:
                    raise ExpansionError(f"block {block!r}: output {output!r} is not a layer of the block"
                                         f"{_suggest(output, inner.local)}", definition, "output")
                last = inner.local[output]
            if module:
                self.flat.modules.append((frame.prefix + instance, last))
            frame.local[instance] = last
            current = last
        if group is not None:
            frame.local[group] = current
        return current

    def _arguments(self, entry: SourceDict, block: str, definition: Any, frame: _Frame, index: int) -> Mapping[str, Any]:
        params = {} if isinstance(definition, list) else definition.get("params", {})
        given: dict[str, Any] = {}
        caller = ChainMap({"i": index}, frame.scope)
        for group in ("with", "first"):
            if group not in entry or (group == "first" and index != 0):
                continue
            arguments = entry[group]
            if not isinstance(arguments, dict):
                raise ExpansionError(f"{group}: expected a mapping of block parameters to values", entry, group)
            for name, raw in arguments.items():
                if name not in params:
                    raise ExpansionError(f"block {block!r} has no parameter {name!r}{_suggest(name, params)}",
                                         arguments, name, code="unknown-parameter")
                given[name] = self._evaluate(raw, caller, arguments, name)
        own: dict[str, Any] = {}
        scope = ChainMap(own, self.variables)
        for name, default in params.items():
            if name in given:
                own[name] = given[name]
            elif default is None:
                raise ExpansionError(f"block {block!r} needs parameter {name!r} (in 'with')", entry, "block",
                                     code="missing-parameter")
            else:
                self.stack.append(block)
                own[name] = self._evaluate(default, scope, params, name)
                self.stack.pop()
        return {**self.variables, **own}  # the same names in the same order, looked up faster than a ChainMap


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else repr(value)


__all__ = ["MAX_LAYERS", "Reads", "Scope", "expand", "expand_input", "expand_recorded", "needs_expansion"]
