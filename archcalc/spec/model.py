"""The spec document as pydantic models, and the translation of validation errors into Problems.

The layer list is a discriminated union on `type`, which is case-insensitive: names are lowercased
before validation. Validation builds the union over just the layer types a spec uses (pydantic's
schema construction is the main start-up cost); `spec_model()` with no argument gives the full
model, for the JSON Schema.
"""

from functools import lru_cache
from typing import Annotated, Any, Iterable, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, create_model

from ..layers import ALIASES, FAMILIES, TYPE_NAMES, Layer, family_of, family_order, layer_class, synonyms, type_tag
from .budgets import Expect
from ..layers.base import Count, Name, describe
from .suggest import MAX_CANDIDATES, suggestion
from .yaml_source import SourceDict, locate, origin_note
from ..problems import Problem

def layer_tag(raw: Any) -> str | None:
    if isinstance(raw, dict):
        kind = raw.get("type")
        return kind.lower() if isinstance(kind, str) else None
    return getattr(raw, "type", None)


INPUT_DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "bool")
FLOATING = ("float32", "float16", "bfloat16", "float64")
Shape = Annotated[list[Count], Field(min_length=1)]


class TensorSpec(BaseModel):
    """An input with a dtype: `{shape: [1024], dtype: int64}` (token ids)."""

    model_config = ConfigDict(extra="forbid", defer_build=True, frozen=True)

    shape: Shape = Field(description="Per-sample shape, batch axis excluded.")
    dtype: Literal[INPUT_DTYPES] = Field(default="float32", description="float32 (default) or an integer/bool dtype;"
                                         " floating inputs take the model's --dtype.")


def _input_form(raw: Any) -> str | None:
    if isinstance(raw, list):
        return "shape"
    if isinstance(raw, dict):
        return "tensor" if isinstance(raw.get("shape"), list) else "named"
    return None


def _entry_form(raw: Any) -> str | None:
    return "shape" if isinstance(raw, list) else "tensor" if isinstance(raw, dict) else None


InputEntry = Annotated[Union[Annotated[Shape, Tag("shape")], Annotated[TensorSpec, Tag("tensor")]],
                       Discriminator(_entry_form)]
NamedInputs = Annotated[dict[Name, InputEntry], Field(min_length=1)]
InputField = Annotated[Union[Annotated[Shape, Tag("shape")], Annotated[TensorSpec, Tag("tensor")],
                             Annotated[NamedInputs, Tag("named")]], Discriminator(_input_form)]
INPUT_TAGS = ("shape", "tensor", "named")


class SpecBase(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, frozen=True)

    name: Name | None = Field(default=None, description="Free text naming the architecture.")
    input: InputField = Field(description="Per-sample input shape, batch axis excluded ([C, H, W], [C, L], [F],"
                              " ...), or {shape, dtype}, or several named inputs: {name: shape or {shape, dtype}}.")
    expect: Expect | None = Field(default=None, description="Budgets and expectations checked by `archcalc check`.")
    ignore: list[str] | None = Field(default=None, description="Warning codes silenced on every layer of the spec.")

    def network_inputs(self) -> list[tuple[str, tuple[int, ...], str]]:
        """(name, per-sample shape, dtype) of each network input, in declaration order; one input is `input`."""
        def entry(raw: Any) -> tuple[tuple[int, ...], str]:
            return (tuple(raw), "float32") if isinstance(raw, list) else (tuple(raw.shape), raw.dtype)
        if isinstance(self.input, dict):
            return [(name, *entry(raw)) for name, raw in self.input.items()]
        return [("input", *entry(self.input))]


@lru_cache(maxsize=64)
def spec_model(types: frozenset[str] | None = None) -> type[SpecBase]:
    """The spec model whose layer union holds `types` (all known types when None)."""
    chosen = sorted(TYPE_NAMES if types is None else _two_or_more(types & set(TYPE_NAMES)))
    members = tuple(layer_class(tag) for tag in chosen)
    layer = Annotated[Union[members], Field(discriminator="type")]
    return create_model("Spec", __base__=SpecBase,
                        layers=(list[layer], Field(min_length=1, description="The layers, in order.")))


def _two_or_more(types: set[str]) -> set[str]:
    """A discriminated union needs two members, even when a spec uses one type or only unknown ones: add
    a sibling from a used type's family (its module is imported anyway), else the first family's types."""
    if len(types) >= 2:
        return types
    siblings = [*(FAMILIES[family_of(min(types))] if types else ()), *family_order()]
    return types | set([tag for tag in siblings if tag not in types][:2 - len(types)])


def used_types(data: Any) -> frozenset[str]:
    layers = data.get("layers") if isinstance(data, dict) else None
    if not isinstance(layers, list):
        return frozenset()
    # the distinct names as written first (a spec repeats a few), then lowercased
    written = {kind for raw in layers
               if isinstance(kind := raw.get("type") if isinstance(raw, dict) else getattr(raw, "type", None), str)}
    return frozenset(kind.lower() for kind in written if kind)


def _lowercase_types(data: dict) -> dict:
    """The document as pydantic should see it: layer `type` names lowercased (a shallow copy)."""
    layers = data.get("layers")
    if not isinstance(layers, list) or all(
            [not isinstance(raw, dict) or not isinstance(raw.get("type"), str) or raw["type"].islower() for raw in layers]):
        return data
    def lowered(raw: Any) -> Any:
        kind = raw.get("type") if isinstance(raw, dict) else None
        return {**raw, "type": kind.lower()} if isinstance(kind, str) and not kind.islower() else raw
    return {**data, "layers": [lowered(raw) for raw in layers]}


# Keys that place a call in the graph; every other key of a shared module's layer describes the module.
PLACEMENT_KEYS = ("name", "inputs", "share", "tie", "trainable", "expect_output_shape", "call")


def _with_shared_modules(data: dict) -> dict:
    """Layers with `share: NAME` may leave out the type and arguments of NAME's module: fill them in from
    NAME's layer (propagation checks that the ones given agree). A shallow copy; positions stay in `data`."""
    layers = data.get("layers")
    if not isinstance(layers, list) or not any(isinstance(raw, dict) and "share" in raw for raw in layers):
        return data
    by_name: dict[str, dict] = {}
    filled = []
    for index, raw in enumerate(layers):
        owner = by_name.get(raw["share"]) if isinstance(raw, dict) and isinstance(raw.get("share"), str) else None
        if owner is not None and raw.get("type", owner.get("type")) == owner.get("type"):
            raw = {**{key: value for key, value in owner.items() if key not in PLACEMENT_KEYS}, **raw}
        if isinstance(raw, dict):
            name = raw.get("name")
            kind = raw.get("type")
            by_name[name if isinstance(name, str) else f"{str(kind).lower()}-{index + 1}"] = raw
        filled.append(raw)
    return {**data, "layers": filled}


def validate(data: Any, path: str) -> tuple[SpecBase | None, list[Problem]]:
    """Validate parsed YAML; returns the spec or the located problems."""
    if not isinstance(data, dict):
        return None, [Problem(path, *getattr(data, "mark", (1, 1)),
                              f"a spec must be a mapping with 'input' and 'layers' keys, got {describe(data)}",
                              code="structure")]
    data = _with_shared_modules(data)
    try:
        return spec_model(used_types(data)).model_validate(_lowercase_types(data)), []
    except ValidationError as error:
        details = _without_misspelled_missing(error.errors(include_url=False))
        return None, [_problem(path, data, detail) for detail in details]


def _without_misspelled_missing(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop "missing 'kernel_size'" when the same mapping has an unknown key close to it ("kernal_size"):
    the typo is the one problem, and its message already suggests the right spelling."""
    import difflib  # only an invalid spec gets here: a valid one's start-up does not pay its import

    unknown: dict[tuple[Any, ...], list[str]] = {}
    for detail in details:
        if detail["type"] == "extra_forbidden":
            unknown.setdefault(tuple(detail["loc"][:-1]), []).append(str(detail["loc"][-1]))
    def misspelled(detail: dict[str, Any]) -> bool:
        parent, key = tuple(detail["loc"][:-1]), str(detail["loc"][-1])
        candidates = unknown.get(parent, [])
        return bool(candidates) and bool(difflib.get_close_matches(key, candidates[:MAX_CANDIDATES], n=1, cutoff=0.6))
    return [detail for detail in details if not (detail["type"] == "missing" and misspelled(detail))]


def _layer_label(data: dict, index: int) -> tuple[str, str | None]:
    """How messages name a layer: its type and its (given or default) name, as propagation will."""
    raw = data["layers"][index]
    kind = layer_tag(raw)
    name = raw.get("name") if isinstance(raw, dict) else None
    if kind not in TYPE_NAMES:
        return (f"layer {name!r}", name) if isinstance(name, str) and name.strip() else (f"layer {index + 1}", None)
    name = name if isinstance(name, str) and name.strip() else f"{kind}-{index + 1}"
    return f"{kind} {name!r}", name


def _problem(path: str, data: SourceDict, detail: dict[str, Any]) -> Problem:
    location = tuple(detail["loc"])
    in_layer = len(location) >= 2 and location[0] == "layers" and isinstance(location[1], int)
    model = None
    if in_layer:
        tag = layer_tag(data["layers"][location[1]])
        model = layer_class(tag) if tag in TYPE_NAMES else None
        key_location = location[2:]
        if key_location and key_location[0] == layer_tag(data["layers"][location[1]]):
            key_location = key_location[1:]  # pydantic's union tag segment
    else:
        key_location = tuple(part for part in location if part not in INPUT_TAGS) if location[:1] == ("input",) \
            else location
    if in_layer and detail["type"] == "union_tag_invalid":
        detail = {**detail, "input": data["layers"][location[1]]}  # the type as written, not lowercased
    message, code = _message(detail, key_location, model, in_layer)
    layer_name = None
    if in_layer:
        label, layer_name = _layer_label(data, location[1])
        message = f"{label}: {message}{origin_note(data, location[1])}"
    line, column = locate(data, location, ALIASES)
    return Problem(path, line, column, message, layer=layer_name, code=code)


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = suggestion(word.lower(), list(choices))
    return f" (did you mean {close!r}?)" if close else ""


def _keys_of(model_class: type[BaseModel] | None) -> list[str]:
    model = model_class or SpecBase
    keys = list(model.model_fields)
    keys += [alias for alias, canonical in ALIASES.items() if canonical in keys]
    return keys if model_class else keys + ["layers"]


def _message(detail: dict[str, Any], location: tuple[Any, ...], model_class: type[Layer] | None,
             in_layer: bool) -> tuple[str, str]:
    kind = detail["type"]
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
    raw = detail.get("input")
    if kind in ("union_tag_invalid", "union_tag_not_found") and location[:1] == ("input",):
        return (f"{key}: expected a shape list such as [3, 224, 224], {{shape: [...], dtype: ...}} or a mapping"
                f" of named inputs, got {describe(raw)}"), "invalid-value"
    if kind == "union_tag_invalid":
        tag = detail["ctx"]["tag"]
        known = synonyms()
        hint = f" (did you mean {known[tag]!r}?)" if tag in known else _suggest(tag, TYPE_NAMES)
        return f"unknown layer type {raw.get('type')!r}{hint}", "unknown-type"
    if kind == "union_tag_not_found":
        if isinstance(raw, dict):
            if "type" not in raw:
                return "layer has no 'type' key", "missing-key"
            return f"'type' must be a layer type name, got {describe(raw['type'])}", "invalid-value"
        return f"a layer must be a mapping with a 'type' key, got {describe(raw)}", "structure"
    if kind == "missing":
        return f"missing required key {location[-1]!r}", "missing-key"
    if kind == "extra_forbidden":
        unknown = str(location[-1])
        canonical = ALIASES.get(unknown)
        if canonical and model_class and canonical in model_class.model_fields:
            return f"{unknown!r} and {canonical!r} are the same argument; give only one", "duplicate-key"
        where = type_tag(model_class) if model_class else "the spec"
        return f"unknown key {unknown!r} for {where}{_suggest(unknown, _keys_of(model_class))}", "unknown-key"
    if kind == "too_short" and location == ("layers",):
        return "'layers' is empty: a spec needs at least one layer", "structure"
    if kind == "too_short":
        return f"{key}: must not be empty", "invalid-value"
    if kind == "list_type":
        return f"{key}: expected a list, got {describe(raw)}", "invalid-value"
    if kind in ("model_type", "dict_type", "model_attributes_type") and in_layer and not location:
        return f"a layer must be a mapping with a 'type' key, got {describe(raw)}", "structure"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{key or 'spec'}: expected a mapping, got {describe(raw)}", "structure"
    if kind == "literal_error":
        return f"{key}: expected {detail['ctx']['expected']}, got {describe(raw)}", "invalid-value"
    message = detail["msg"].removeprefix("Value error, ")
    return (f"{key}: {message}" if key else message), "invalid-value"


__all__ = ["SpecBase", "layer_tag", "spec_model", "used_types", "validate"]
