"""YAML text → plain Python data that remembers where each key and item came from.

Mappings load as `SourceDict` and sequences as `SourceList`: ordinary dicts and lists
(pydantic validates them as such) that also carry 1-based (line, column) marks for their
keys and items. PyYAML's 0-based marks are shifted exactly once, here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .limits import DEFAULT_LIMITS, Limits, flag

try:  # the C parser is several times faster; the pure-Python one gives the same nodes
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader

Mark = tuple[int, int]


class SourceDict(dict):
    """A mapping with the source position of itself (`mark`) and of each key (`marks`)."""

    __slots__ = ("mark", "marks")


class SourceList(list):
    """A sequence with the source position of itself (`mark`) and of each item (`marks`).

    A layer list made by block expansion also says, per layer, which block instances it came
    from (`origins`), so that messages can name them.
    """

    __slots__ = ("mark", "marks", "origins")


class YamlProblem(Exception):
    def __init__(self, message: str, mark: Mark, code: str = "yaml"):
        super().__init__(message)
        self.message, self.mark, self.code = message, mark, code


def _position(node_mark: Any) -> Mark:
    return (node_mark.line + 1, node_mark.column + 1)


class _Loader(_BaseLoader):
    """Safe loader that records positions, refuses duplicate keys and reads the YAML 1.2 core schema."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.scalar_tags: dict[tuple[str, Any], str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """A scalar's tag depends on its text and style alone (no path resolvers are registered), and a spec
        repeats a few texts (`conv2d`, `3`, `true`) thousands of times: each is matched against the core
        schema's patterns once per document. Bounded by the document's values (`max_values`)."""
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self.scalar_tags.get(key)
        if tag is None:
            tag = self.scalar_tags[key] = super().resolve(kind, value, implicit)
        return tag


_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"
_MERGE = "tag:yaml.org,2002:merge"


def _construct(loader: _Loader, node: yaml.Node) -> Any:
    """construct_object, with a short cut for plain scalars (most nodes of a spec).

    The short cut skips the bookkeeping PyYAML needs for anchors and recursion, which scalars
    do not need: an aliased scalar is simply built twice.
    """
    if isinstance(node, yaml.ScalarNode):
        # The two commonest scalars of a spec, built directly (the constructors would give the same values).
        if node.tag == _STR:
            return node.value
        if node.tag == _INT and node.value.isdigit() and node.value.isascii():
            return int(node.value, 10)
        constructor = loader.yaml_constructors.get(node.tag)
        if constructor is not None:
            return constructor(loader, node)
    return loader.construct_object(node, deep=True)


def _key(loader: _Loader, key_node: yaml.Node) -> Any:
    key = _construct(loader, key_node)
    try:
        hash(key)
    except TypeError:  # an unhashable key, e.g. `[a, b]: 1`
        raise YamlProblem("a mapping key must be a plain value, not a list or mapping",
                          _position(key_node.start_mark)) from None
    return key


def _pairs(loader: _Loader, node: yaml.MappingNode, chain: tuple[int, ...] = ()) -> list[tuple[Any, Any, Any]]:
    """(key, key node, value node) of a mapping, merge keys (`<<: *base`) resolved as YAML defines them: the
    mapping's own keys override merged ones, and of several merged mappings the first wins. Duplicate own keys
    are refused. Memoised per node; every merged entry counts against the values limit (a merge bomb)."""
    cache = loader.__dict__.setdefault("_pairs_cache", {})
    if id(node) in cache:
        return cache[id(node)]
    own: dict[Any, tuple[Any, Any, Any]] = {}
    merged: dict[Any, tuple[Any, Any, Any]] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise YamlProblem("a merge key (<<) takes a mapping or a list of mappings, as an alias (*name)",
                                      _position(source.start_mark), code="merge")
                if id(source) in chain or source is node:
                    raise YamlProblem("a merge key (<<) refers to the mapping it is part of",
                                      _position(key_node.start_mark), code="merge")
                for entry in _pairs(loader, source, (*chain, id(node))):
                    merged.setdefault(entry[0], entry)
            continue
        key = _key(loader, key_node)
        if key in own:
            first = _position(own[key][1].start_mark)
            raise YamlProblem(f"duplicate key {key!r} (first defined at line {first[0]})",
                              _position(key_node.start_mark), code="duplicate-key")
        own[key] = (key, key_node, value_node)
    if merged:
        loader.merged_values = getattr(loader, "merged_values", 0) + len(merged)
        if loader.merged_values > loader.max_values:
            raise YamlProblem(f"merge keys (<<) copy more than {loader.max_values:,} values (a merge bomb?), the"
                              f" {flag('max_values')} limit", _position(node.start_mark), code="alias-bomb")
        pairs = [own.get(key, entry) for key, entry in merged.items()] + [
            entry for key, entry in own.items() if key not in merged]
    else:
        pairs = list(own.values())
    cache[id(node)] = pairs
    return pairs


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> SourceDict:
    mapping = SourceDict()
    marks: dict[Any, Mark] = {}
    for key, key_node, value_node in _pairs(loader, node):
        mapping[key] = _construct(loader, value_node)
        marks[key] = _position(key_node.start_mark)
    mapping.mark = _position(node.start_mark)
    mapping.marks = marks
    return mapping


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> SourceList:
    items = SourceList(_construct(loader, child) for child in node.value)
    items.mark = _position(node.start_mark)
    items.marks = [_position(child.start_mark) for child in node.value]
    return items


# YAML 1.2 core schema (yaml.org/spec/1.2.2, 10.3): PyYAML implements YAML 1.1, whose plain scalars read
# `1:30` as 90, `010` as 8, `yes`/`on` as true and `2001-12-14` as a date. Here they are what YAML 1.2 says:
# numbers only in decimal, 0o octal or 0x hexadecimal; `true`/`false`; the rest strings. Merge keys stay.
_CORE_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_CORE_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
                         r"|\.(?:nan|NaN|NAN))$")
_CORE_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_CORE_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _CORE_BOOL, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _CORE_INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _CORE_FLOAT, list("-+0123456789."))
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", _CORE_NULL, ["~", "n", "N", ""])
_Loader.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])


def _scalar_problem(node: yaml.Node, what: str) -> YamlProblem:
    return YamlProblem(f"{node.value!r} is not {what} in YAML 1.2 (tag {node.tag.replace('tag:yaml.org,2002:', '!!')})",
                       _position(node.start_mark), code="yaml")


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if not _CORE_INT.match(text):
        raise _scalar_problem(node, "an integer")
    if len(text) > 4_000:  # Python refuses longer decimal strings; no size needs them
        raise YamlProblem("integer with more than 4,000 digits", _position(node.start_mark), code="yaml")
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    if not _CORE_FLOAT.match(text):
        raise _scalar_problem(node, "a number")
    return float(text.replace(".", "", 1)) if text.lower().lstrip("+-") in (".inf", ".nan") else float(text)


def _construct_bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    text = loader.construct_scalar(node)
    if not _CORE_BOOL.match(text):
        raise _scalar_problem(node, "true or false")
    return text.lower() == "true"


def _unsupported(loader: _Loader, node: yaml.Node) -> Any:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    raise YamlProblem(f"the YAML tag {tag} is not supported: a spec uses YAML 1.2's mappings, sequences,"
                      " strings, numbers, booleans and null", _position(node.start_mark), code="yaml-tag")


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
for _tag in ("set", "omap", "pairs", "binary", "timestamp", "value", "merge", "yaml"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _unsupported)
_Loader.add_constructor(None, _unsupported)


MAX_DEPTH = DEFAULT_LIMITS.max_depth     # nesting of collections; libyaml's recursive composer crashes on very deep input
MAX_VALUES = DEFAULT_LIMITS.max_values   # values after aliases are expanded ("billion laughs")
# Quoted strings and comments, as unrolled loops: a long string is one repeat, not one backtracking state per
# character (an 8 MB string took a second and a gigabyte with `(?:[^"]|...)*`).
_QUOTED = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|\'[^\'\n]*(?:\'\'[^\'\n]*)*\'|#[^\n]*')
_CONTENT_LINE = re.compile(r"^[ \t]*[^\s]", re.MULTILINE)
_BRACKETS = re.compile(r"[\[\]{}]")


def _check_size(text: str, limit: int) -> None:
    """Refuse, before parsing, a document with more than `limit` values: PyYAML builds every node first
    (4 million of them take 14 s and 1.7 GB). Outside quoted strings and comments, each value but the first
    needs a separator, an indicator or a line of its own: this count bounds the values from above."""
    bare = _QUOTED.sub("", text) if ("#" in text or "'" in text or '"' in text) else text
    estimate = 1 + sum(bare.count(mark) for mark in (",", "[", "{", ":", "-", "?"))
    if estimate <= limit:
        estimate += len(_CONTENT_LINE.findall(bare))
    if estimate > limit:
        raise YamlProblem(f"the document holds more than {limit:,} YAML values (counted from its separators,"
                          f" before parsing), the {flag('max_values')} limit", (1, 1), code="too-large")


def _check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Refuse deeply nested documents before libyaml sees them (it recurses in C and can overflow)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_QUOTED.sub("", text)):
        depth = max(0, depth + (1 if bracket in "[{" else -1))
        deepest = max(deepest, depth)
    if deepest > limit:
        raise YamlProblem(f"the document nests more than {limit} levels of [ ] or {{ }} ({flag('max_depth')})", (1, 1),
                          code="too-deep")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" -")
        if len(line) - len(stripped) > 4 * limit:
            raise YamlProblem(f"line {number} is indented or nested more than {4 * limit} columns deep"
                              f" ({flag('max_depth')})", (number, 1), code="too-deep")


def _expanded_size(data: Any, limit: int) -> int:
    """How many values `data` holds with every alias expanded, counting shared parts once per use."""
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:
        if not isinstance(value, (list, dict)):
            return 1
        known = sizes.get(id(value))
        if known is None:
            children = value.values() if isinstance(value, dict) else value
            known = sizes[id(value)] = min(limit + 1, 1 + sum(size(child) for child in children))
        return known
    return size(data)


def parse_yaml(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse one YAML document; raises YamlProblem with a 1-based position."""
    _check_depth(text, limits.max_depth)
    _check_size(text, limits.max_values)
    loader = _Loader(text)
    loader.max_values = limits.max_values
    try:
        data = loader.get_single_data()
    except YamlProblem:
        raise
    except RecursionError:
        raise YamlProblem("the document is nested too deeply", (1, 1), code="too-deep") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = _position(mark) if mark is not None else (1, 1)
        what = error.problem or str(error)
        if _character_at(text, position) == "\t":
            raise YamlProblem("invalid YAML: a tab character; YAML indents with spaces", position) from None
        context = f" ({error.context}"
        if error.context_mark is not None and error.context_mark is not mark:
            context += f" at line {error.context_mark.line + 1}, column {error.context_mark.column + 1}"
        context = f"{context})" if error.context else ""
        raise YamlProblem(f"invalid YAML: {what}{context}", position) from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow, e.g. a control character
        before = text[:error.position]
        position = (before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1)
        raise YamlProblem(f"invalid YAML: character #x{error.character:04x} is not allowed ({error.reason})",
                          position) from None
    except yaml.YAMLError as error:
        raise YamlProblem(f"invalid YAML: {' '.join(str(error).split())}", (1, 1)) from None
    finally:
        loader.dispose()
    if "*" in text and _expanded_size(data, limits.max_values) > limits.max_values:
        raise YamlProblem(f"YAML aliases expand this document to more than {limits.max_values:,} values (an alias"
                          f" bomb?), the {flag('max_values')} limit", (1, 1), code="alias-bomb")
    return data


def _character_at(text: str, position: Mark) -> str:
    lines = text.splitlines()
    line, column = position
    return lines[line - 1][column - 1:column] if 0 < line <= len(lines) else ""


def as_source(data: Any, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Plain dicts and lists (e.g. from the Python API) as SourceDict/SourceList without positions (1:1).

    Raises YamlProblem for data that contains itself, nests deeper than the depth limit or holds more values
    than the values limit (a YAML file could not say any of these)."""
    count = [0]

    def convert(value: Any, chain: tuple[int, ...]) -> Any:
        if not isinstance(value, (dict, list)):
            return value
        if id(value) in chain:
            raise YamlProblem("the data contains itself (a dict or list inside itself)", (1, 1), code="structure")
        if len(chain) >= limits.max_depth:
            raise YamlProblem(f"the data nests more than {limits.max_depth} levels ({flag('max_depth')})", (1, 1),
                              code="too-deep")
        count[0] += len(value)
        if count[0] > limits.max_values:
            raise YamlProblem(f"the data holds more than {limits.max_values:,} values ({flag('max_values')})", (1, 1),
                              code="too-large")
        inner = (*chain, id(value))
        if isinstance(value, dict):
            mapping = SourceDict((key, convert(item, inner)) for key, item in value.items())
            mapping.mark = getattr(value, "mark", (1, 1))
            mapping.marks = getattr(value, "marks", None) or dict.fromkeys(value, (1, 1))
            return mapping
        items = SourceList(convert(item, inner) for item in value)
        items.mark = getattr(value, "mark", (1, 1))
        items.marks = getattr(value, "marks", None) or [(1, 1)] * len(value)
        return items

    if isinstance(data, (SourceDict, SourceList)):
        return data
    return convert(data, ())


def origin_note(data: Any, index: int) -> str:
    """" (in block 'b', instance 'x', used at line N; ...)" for a layer made by block expansion."""
    layers = data.get("layers") if isinstance(data, dict) else None
    origins = getattr(layers, "origins", None)
    if not origins or index >= len(origins) or not origins[index]:
        return ""
    return " (in " + "; in ".join(origins[index]) + ")"


def locate(data: Any, location: tuple[Any, ...], aliases: dict[str, str] | None = None) -> Mark:
    """The position of the deepest element of `location` found in `data`.

    Segments that are not keys of the current mapping are skipped: pydantic puts the union
    tag (`conv2d`) into its locations, and the data has no such key. A key the source spells
    with an alias (`kernel` for `kernel_size`) is found under that spelling.
    """
    mark: Mark = getattr(data, "mark", (1, 1))
    current = data
    for segment in location:
        if isinstance(current, SourceDict) and segment not in current and aliases:
            segment = next((alias for alias, canonical in aliases.items()
                            if canonical == segment and alias in current), segment)
        if isinstance(current, SourceDict) and segment in current:
            mark = current.marks[segment]
            current = current[segment]
        elif isinstance(current, SourceList) and isinstance(segment, int) and 0 <= segment < len(current):
            mark = current.marks[segment]
            current = current[segment]
    return mark


__all__ = ["SourceDict", "SourceList", "YamlProblem", "as_source", "locate", "origin_note", "parse_yaml"]
