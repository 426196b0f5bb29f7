"""The JSON Schema of the spec format, for editors (YAML language server) and other validators.

It starts from the pydantic models (`spec_model().model_json_schema()`) and adds what the
models leave to other stages: case-insensitive `type` names, the `kernel` alias, `${...}`
expressions in place of any number or boolean, `variables`, `blocks`, block uses and `if`.
"""

from __future__ import annotations

import copy
from typing import Any

from ..layers import TYPE_NAMES
from .model import spec_model

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
EXPRESSION = {"type": "string", "pattern": r"^\$\{.*\}$", "description": "An expression: ${width * 2}"}
FLAG_OR_EXPRESSION = {"anyOf": [{"type": "boolean"}, EXPRESSION]}


def _any_case(word: str) -> str:
    return "^" + "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word) + "$"


def _allow_expressions(node: Any) -> Any:
    """Every integer, number or boolean may also be written as a `${...}` expression."""
    if isinstance(node, list):
        return [_allow_expressions(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _allow_expressions(value) if key not in ("const", "enum", "default") else value
            for key, value in node.items()}
    if node.get("type") in ("integer", "number", "boolean"):
        return {"anyOf": [node, EXPRESSION]}
    return node


def _layer_definition(definition: dict[str, Any]) -> dict[str, Any]:
    definition = copy.deepcopy(definition)
    properties = definition["properties"]
    tag = properties["type"]["const"]
    properties["type"] = {"type": "string", "pattern": _any_case(tag), "description": f"{tag} (any case)"}
    properties["if"] = {**FLAG_OR_EXPRESSION, "description": "false leaves the layer out"}
    if "kernel_size" in properties:
        properties["kernel"] = {**properties["kernel_size"], "description": "Alias of kernel_size."}
        required = definition.get("required", [])
        if "kernel_size" in required:
            others = [key for key in required if key != "kernel_size"]
            definition["required"] = others
            definition["anyOf"] = [{"required": ["kernel_size"]}, {"required": ["kernel"]}]
        definition["not"] = {"required": ["kernel", "kernel_size"]}
    return _allow_expressions(definition)


BLOCK_USE = {
    "type": "object",
    "title": "Block use",
    "description": "An instance (or `repeat` instances) of a block defined under `blocks`.",
    "properties": {
        "block": {"type": "string", "description": "The block's name."},
        "name": {"type": "string", "description": "Instance name, or a template with ${i}."},
        "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, EXPRESSION]},
        "with": {"type": "object", "description": "Arguments for every instance (`i` is the index)."},
        "first": {"type": "object", "description": "Arguments for instance 0 only."},
        "inputs": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
        "if": FLAG_OR_EXPRESSION,
    },
    "required": ["block"],
    "additionalProperties": False,
}


def json_schema() -> dict[str, Any]:
    schema = spec_model().model_json_schema()
    definitions = schema["$defs"]
    layer_refs = []
    for name, definition in list(definitions.items()):
        if definition.get("properties", {}).get("type", {}).get("const") in TYPE_NAMES:
            definitions[name] = _layer_definition(definition)
            layer_refs.append({"$ref": f"#/$defs/{name}"})
        else:
            definitions[name] = _allow_expressions(definition)
    definitions["BlockUse"] = BLOCK_USE
    # a layer whose type is itself an expression (`type: "${activation}"`) is checked after expansion
    definitions["ComputedLayer"] = {"type": "object", "properties": {"type": EXPRESSION}, "required": ["type"]}
    definitions["LayerEntry"] = {"oneOf": [*layer_refs, {"$ref": "#/$defs/BlockUse"},
                                           {"$ref": "#/$defs/ComputedLayer"}]}
    entries = {"type": "array", "items": {"$ref": "#/$defs/LayerEntry"}}
    properties = schema["properties"]
    properties["layers"] = {**entries, "minItems": 1, "description": properties["layers"].get("description")}
    properties["input"] = _allow_expressions(properties["input"])
    properties["variables"] = {"type": "object", "description": "Spec-level variables for ${...} expressions.",
                               "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}}
    properties["blocks"] = {
        "type": "object", "description": "Reusable blocks: a list of layers, or {params, layers, output, module}.",
        "additionalProperties": {"anyOf": [
            {**entries, "minItems": 1},
            {"type": "object", "properties": {
                "params": {"type": "object", "description": "Parameters and their defaults (null = required)."},
                "layers": {**entries, "minItems": 1},
                "output": {"type": "string"},
                "module": {"type": "boolean", "description": "Each instance is one nn.Module that is not an"
                           " nn.Sequential (torchsummary shows its output as a row)."}},
             "required": ["layers"], "additionalProperties": False},
        ]},
    }
    return {"$schema": SCHEMA_URI, "title": "archcalc spec", **{k: v for k, v in schema.items() if k != "title"}}


__all__ = ["json_schema"]
