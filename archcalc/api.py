"""The Python API: files, YAML text or dicts in, `Network` / `Summary` out, `SpecError` on bad input;
and the analyses of a network (training memory, counting conventions, receptive fields), reached from here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .spec.blocks import expand
from .spec.yaml_source import YamlProblem, as_source, parse_yaml
from .problems import Problem, SpecError
from .analysis.propagate import propagate
from .network import Network, Summary
from .spec.model import validate

MAX_SPEC_BYTES = 8 * 1024 * 1024


def read_spec_text(path: str | os.PathLike[str], max_bytes: int = MAX_SPEC_BYTES) -> str:
    """Read a spec file as UTF-8 text; raises SpecError for missing, huge, binary or non-UTF-8 files."""
    shown = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise SpecError([Problem(shown, 1, 1, "no such file", code="file")]) from None
    except IsADirectoryError:
        raise SpecError([Problem(shown, 1, 1, "is a directory, not a spec file", code="file")]) from None
    except OSError as error:
        raise SpecError([Problem(shown, 1, 1, f"cannot read: {error.strerror}", code="file")]) from None
    if len(raw) > max_bytes:
        raise SpecError([Problem(shown, 1, 1, f"file is larger than the {max_bytes:,}-byte limit", code="file")])
    if b"\0" in raw:
        raise SpecError([Problem(shown, 1, 1, "binary file (contains NUL bytes), not a YAML spec", code="file")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise SpecError([Problem(shown, line, column, "file is not valid UTF-8", code="encoding")]) from None


def loads(text: str, path: str = "<string>", variables: dict[str, Any] | None = None) -> Network:
    """Parse, validate and propagate a spec given as YAML text. `variables` replace the spec's variables of
    the same names (`--set`); a name the spec does not declare raises `archcalc.UnknownVariable`."""
    try:
        data = parse_yaml(text)
    except YamlProblem as problem:
        raise SpecError([Problem(path, *problem.mark, problem.message, code=problem.code)]) from None
    return _build(data, path, variables)


def load(path: str | os.PathLike[str], max_bytes: int = MAX_SPEC_BYTES,
         variables: dict[str, Any] | None = None) -> Network:
    """Parse, validate and propagate a spec file (refused unread when larger than `max_bytes`), with
    `variables` overriding the spec's own (`archcalc.load("specs/gpt2.yaml", variables={"seq_len": 4096})`)."""
    return loads(read_spec_text(path, max_bytes), str(path), variables)


def analyze(spec: dict[str, Any] | str | os.PathLike[str], batch_size: int = 1, dtype: str = "float32") -> Summary:
    """Summarize a spec given as a dict, YAML text or a file path."""
    if isinstance(spec, dict):
        network = _build(as_source(spec), "<dict>")
    elif isinstance(spec, Path) or (isinstance(spec, str) and "\n" not in spec and spec.endswith((".yaml", ".yml"))):
        network = load(spec)
    else:
        network = loads(str(spec))
    return network.summary(batch_size=batch_size, dtype=dtype)


def summarize(network: Network, batch_size: int = 1, dtype: str = "float32",
              receptive_field: bool = False) -> Summary:
    """The network at a batch size and dtype, with receptive fields when asked (`archcalc summary`)."""
    fields = receptive_fields(network) if receptive_field else None
    return Summary(network, batch_size, dtype, fields)


def training_memory(network: Network, batch_size: int = 1, dtype: str = "float32", optimizer: str = "adam",
                    device: str = "cuda", fit: int | str | None = None) -> Any:
    """Training memory (`archcalc memory`): what PyTorch keeps between forward and backward, per layer,
    plus parameters, gradients, optimizer state, buffers and the input batch; an
    `archcalc.analysis.memory.TrainingMemory`. With `fit` (bytes or "24GiB"), at the largest batch that fits."""
    from .analysis.memory import training_memory as measure

    return measure(network, batch_size, dtype, optimizer, device, fit)


def count(network: Network, convention: str = "pytorch", batch_size: int = 1) -> Any:
    """MACs, parameters and memory as a tool counts them (`archcalc compare`, docs/conventions.md): an
    `archcalc.analysis.conventions.Counts` with totals and per-layer itemized counts, for the whole batch."""
    from .analysis.conventions import count as count_as

    return count_as(network, convention, batch_size)


def receptive_fields(network: Network) -> dict[str, Any]:
    """Each layer's receptive field (size, jump, centre per spatial axis), by layer name; see
    `archcalc.analysis.receptive`."""
    from .analysis.receptive import receptive_fields as fields

    return fields(network)


def _build(data: Any, path: str, variables: dict[str, Any] | None = None) -> Network:
    data, problems = expand(data, path, variables)
    if problems:
        raise SpecError(problems)
    spec, problems = validate(data, path)
    if problems:
        raise SpecError(problems)
    return propagate(spec, data, path)


__all__ = ["MAX_SPEC_BYTES", "analyze", "count", "load", "loads", "read_spec_text", "receptive_fields", "summarize",
           "training_memory"]
