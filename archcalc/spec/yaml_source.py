"""YAML text → plain Python data that remembers where each key and item came from.

Mappings load as `SourceDict` and sequences as `SourceList`: ordinary dicts and lists
(pydantic validates them as such) that also carry 1-based (line, column) marks for their
keys and items. PyYAML's 0-based marks are shifted exactly once, here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

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
    """Safe loader that records positions and refuses duplicate keys."""


_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"


def _construct(loader: _Loader, node: yaml.Node) -> Any:
    """construct_object, with a short cut for plain scalars (most nodes of a spec).

    The short cut skips the bookkeeping PyYAML needs for anchors and recursion, which scalars
    do not need: an aliased scalar is simply built twice.
    """
    if isinstance(node, yaml.ScalarNode):
        # The two commonest scalars of a spec, built directly (PyYAML would give the same values).
        if node.tag == _STR:
            return node.value
        if node.tag == _INT and node.value.isdigit() and node.value.isascii():
            return int(node.value, 10) if node.value[0] != "0" or node.value == "0" else \
                loader.yaml_constructors[_INT](loader, node)
        constructor = loader.yaml_constructors.get(node.tag)
        if constructor is not None:
            return constructor(loader, node)
    return loader.construct_object(node, deep=True)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> SourceDict:
    loader.flatten_mapping(node)
    mapping = SourceDict()
    marks: dict[Any, Mark] = {}
    for key_node, value_node in node.value:
        key = _construct(loader, key_node)
        try:
            duplicate = key in mapping
        except TypeError:  # an unhashable key, e.g. `[a, b]: 1`
            raise YamlProblem("a mapping key must be a plain value, not a list or mapping",
                              _position(key_node.start_mark)) from None
        if duplicate:
            first = marks[key]
            raise YamlProblem(f"duplicate key {key!r} (first defined at line {first[0]})",
                              _position(key_node.start_mark), code="duplicate-key")
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


# YAML 1.1 (PyYAML) reads `1e-5` as a string: its floats need a dot. PyTorch prints `eps=1e-05`,
# so accept YAML 1.2's exponent floats too.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


MAX_DEPTH = 100           # nesting of collections; libyaml's recursive composer crashes on very deep input
MAX_VALUES = 1_000_000    # values after aliases are expanded ("billion laughs")
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\n]|\'\')*\'|#[^\n]*')
_BRACKETS = re.compile(r"[\[\]{}]")


def _check_depth(text: str) -> None:
    """Refuse deeply nested documents before libyaml sees them (it recurses in C and can overflow)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_QUOTED.sub("", text)):
        depth = max(0, depth + (1 if bracket in "[{" else -1))
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise YamlProblem(f"the document nests more than {MAX_DEPTH} levels of [ ] or {{ }}", (1, 1), code="too-deep")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" -")
        if len(line) - len(stripped) > 4 * MAX_DEPTH:
            raise YamlProblem(f"line {number} is indented or nested more than {4 * MAX_DEPTH} columns deep",
                              (number, 1), code="too-deep")


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


def parse_yaml(text: str) -> Any:
    """Parse one YAML document; raises YamlProblem with a 1-based position."""
    _check_depth(text)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from the safe loader
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
    if "*" in text and _expanded_size(data, MAX_VALUES) > MAX_VALUES:
        raise YamlProblem(f"YAML aliases expand this document to more than {MAX_VALUES:,} values (an alias bomb?)",
                          (1, 1), code="alias-bomb")
    return data


def _character_at(text: str, position: Mark) -> str:
    lines = text.splitlines()
    line, column = position
    return lines[line - 1][column - 1:column] if 0 < line <= len(lines) else ""


def as_source(data: Any) -> Any:
    """Plain dicts and lists (e.g. from the Python API) as SourceDict/SourceList without positions (1:1)."""
    if isinstance(data, (SourceDict, SourceList)):
        return data
    if isinstance(data, dict):
        mapping = SourceDict((key, as_source(value)) for key, value in data.items())
        mapping.mark, mapping.marks = (1, 1), {key: (1, 1) for key in data}
        return mapping
    if isinstance(data, list):
        items = SourceList(as_source(item) for item in data)
        items.mark, items.marks = (1, 1), [(1, 1)] * len(data)
        return items
    return data


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
