"""The layer types archcalc knows: one module per family, discovered here, never listed.

A family module is any module of this package with a `LAYERS` table (`"tag": class or Variant`, one
per line) and an `ORDER`;
everything about its types lives in it (schema, rules, explanation notes, memory rule and facts,
docs examples, synonyms, the PyTorch class, the rule under each counting convention). Its `TITLE`
names the family in the references and `ORDER` places it there.

A family module is imported only when a spec uses one of its types: defining pydantic models is the
larger part of start-up time, and a run needs only the types its spec names. So the index of which
module defines which type is read from the modules' source (the keys of their `LAYERS` literal);
tests/test_registry.py checks that it equals the imported tables.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import get_args

from .base import ALIASES, Layer, Outcome, Shape, Variant

_KEY = re.compile(r"""^\s*"([a-z0-9_]+)":""", re.MULTILINE)
_DIGITS = re.compile(r"\d+")
_loaded: dict[str, type[Layer]] = {}


@lru_cache(maxsize=1)
def _index() -> dict[str, tuple[str, ...]]:
    """family module name → the type tags it defines, in its table's order; families in reference order."""
    found = []
    for path in Path(__file__).parent.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        table, order = _table(source), _DIGITS.match(source, _line_end(source, "ORDER = "))
        if table is not None and order:
            found.append((int(order.group()), path.stem, tuple(_KEY.findall(table))))
    return {family: tags for _, family, tags in sorted(found)}


def _line_end(source: str, line_start: str) -> int:
    """The position just past `line_start` where a line of `source` begins with it, else the end of `source`.
    (str.find, not a line-anchored regex: scanning every family's source line by line took longer than reading
    it.)"""
    found = source.find("\n" + line_start)
    return len(source) if found < 0 else found + 1 + len(line_start)


def _table(source: str) -> str | None:
    """The lines between `LAYERS = {` and the first line `}` after it, or None without such a table."""
    start = _line_end(source, "LAYERS = {\n")
    end = source.find("\n}\n", start - 1)
    return None if start == len(source) or end < 0 else source[start:end + 1]


def families() -> dict[str, tuple[str, ...]]:
    """Family module name → its type tags, in reference order (docs/formulas.md, docs/memory.md)."""
    return dict(_index())


def family_module(family: str) -> ModuleType:
    return import_module(f"{__name__}.{family}")


def family_order() -> list[str]:
    """Every type tag, family by family in reference order."""
    return [tag for tags in _index().values() for tag in tags]


def family_of(tag: str) -> str:
    for family, tags in _index().items():
        if tag in tags:
            return family
    raise KeyError(tag)


def type_tag(layer_class: type[Layer]) -> str:
    return get_args(layer_class.model_fields["type"].annotation)[0]


def layer_class(tag: str) -> type[Layer]:
    """The model class of a layer type name (lowercase); KeyError for an unknown name."""
    if tag not in _loaded:
        made = family_module(family_of(tag)).LAYERS[tag]
        _loaded[tag] = made.build(tag) if isinstance(made, Variant) else made
    return _loaded[tag]


def synonyms() -> dict[str, str]:
    """Names people reach for that PyTorch spells differently → the type tag (each family's `SYNONYMS`)."""
    found: dict[str, str] = {}
    for family in _index():
        found.update(getattr(family_module(family), "SYNONYMS", {}))
    return found


TYPE_NAMES: tuple[str, ...] = tuple(sorted(family_order()))
FAMILIES = families()

__all__ = ["ALIASES", "FAMILIES", "Layer", "Outcome", "Shape", "TYPE_NAMES", "families", "family_module",
           "family_of", "family_order", "layer_class", "synonyms", "type_tag"]
