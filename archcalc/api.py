"""The Python API: files, YAML text or dicts in, `Network` / `Summary` out, `SpecError` on bad input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .expand import expand
from .loader import YamlProblem, as_source, parse_yaml
from .problems import Problem, SpecError
from .propagate import propagate
from .results import Network, Summary
from .spec import validate

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


def loads(text: str, path: str = "<string>") -> Network:
    """Parse, validate and propagate a spec given as YAML text."""
    try:
        data = parse_yaml(text)
    except YamlProblem as problem:
        raise SpecError([Problem(path, *problem.mark, problem.message, code=problem.code)]) from None
    return _build(data, path)


def load(path: str | os.PathLike[str], max_bytes: int = MAX_SPEC_BYTES) -> Network:
    """Parse, validate and propagate a spec file (refused unread when larger than `max_bytes`)."""
    return loads(read_spec_text(path, max_bytes), str(path))


def analyze(spec: dict[str, Any] | str | os.PathLike[str], batch_size: int = 1, dtype: str = "float32") -> Summary:
    """Summarize a spec given as a dict, YAML text or a file path."""
    if isinstance(spec, dict):
        network = _build(as_source(spec), "<dict>")
    elif isinstance(spec, Path) or (isinstance(spec, str) and "\n" not in spec and spec.endswith((".yaml", ".yml"))):
        network = load(spec)
    else:
        network = loads(str(spec))
    return network.summary(batch_size=batch_size, dtype=dtype)


def _build(data: Any, path: str) -> Network:
    data, problems = expand(data, path)
    if problems:
        raise SpecError(problems)
    spec, problems = validate(data, path)
    if problems:
        raise SpecError(problems)
    return propagate(spec, data, path)


__all__ = ["MAX_SPEC_BYTES", "analyze", "load", "loads", "read_spec_text"]
