"""A spec as YAML text from layer records: one flow mapping per layer, `inputs` only where a layer does not
take the previous layer's output."""

from __future__ import annotations

from typing import Any, Iterable, Protocol


class Record(Protocol):
    name: str
    type: str
    arguments: dict[str, Any]
    inputs: tuple[str, ...]


def _scalar(value: Any) -> str:
    """A YAML value on one line, quoted only where YAML would read it as something else."""
    import yaml

    text = yaml.safe_dump([value], default_flow_style=True, width=float("inf"), sort_keys=False).strip()
    return text[1:-1]


def _layer_line(record: Record, previous: str) -> str:
    entries = [("name", record.name), ("type", record.type), *record.arguments.items()]
    if record.inputs and list(record.inputs) != [previous]:
        entries.append(("inputs", list(record.inputs)))
    return "  - {" + ", ".join(f"{key}: {_scalar(value)}" for key, value in entries) + "}"


def render_spec(name: str, inputs: list[tuple[str, list[int], str]], layers: Iterable[Record],
                source: str | None = None) -> str:
    """The spec text: `input` as a shape (one float32 input), `{shape, dtype}`, or a mapping of named inputs."""
    lines = [f"# {source}"] if source else []
    lines.append(f"name: {_scalar(name)}")
    if len(inputs) == 1 and inputs[0][2] == "float32":
        lines.append(f"input: {_scalar(inputs[0][1])}")
    elif len(inputs) == 1:
        lines.append(f"input: {{shape: {_scalar(inputs[0][1])}, dtype: {inputs[0][2]}}}")
    else:
        lines.append("input:")
        lines.extend(f"  {input_name}: {{shape: {_scalar(shape)}, dtype: {dtype}}}" for input_name, shape, dtype in inputs)
    lines.append("layers:")
    previous = inputs[0][0]   # the first layer without `inputs` takes the first input
    for record in layers:
        lines.append(_layer_line(record, previous))
        previous = record.name
    return "\n".join(lines) + "\n"


__all__ = ["render_spec"]
