"""The Python API: files, YAML text or dicts in, `Network` / `Summary` out, `SpecError` on bad input;
and the analyses of a network (training memory, counting conventions, receptive fields), reached from here."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path
from typing import Any

from .spec.blocks import expand
from .spec.limits import DEFAULT_LIMITS, Limits, flag
from .spec.suggest import suggestions_for_one_spec
from .spec.yaml_source import YamlProblem, as_source, locate, parse_yaml
from .problems import Problem, SpecError
from .analysis.propagate import propagate
from .network import Network, Summary
from .spec.model import validate

MAX_SPEC_BYTES = DEFAULT_LIMITS.max_bytes
_CHUNK = 1 << 20


def _file_problem(shown: str, message: str, code: str = "file") -> SpecError:
    return SpecError([Problem(shown, 1, 1, message, code=code)])


def _special(mode: int) -> str | None:
    for test, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_spec_text(path: str | os.PathLike[str], max_bytes: int = MAX_SPEC_BYTES) -> str:
    """Read a spec file as UTF-8 text; raises SpecError for missing, special (FIFO, device), huge, binary or
    non-UTF-8 files. Special files are refused before a byte is read (a FIFO would block forever), and a
    file is read in chunks, never more than `max_bytes` + 1 bytes, whatever the limit."""
    if not isinstance(path, (str, bytes, os.PathLike)):  # an int would be read as an open file descriptor
        raise _file_problem(f"<{type(path).__name__}>", f"expected a file path (str or os.PathLike), got"
                            f" {type(path).__name__}", code="usage")
    shown = os.fsdecode(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise _file_problem(shown, "no such file") from None
    except IsADirectoryError:
        raise _file_problem(shown, "is a directory, not a spec file") from None
    except (OSError, ValueError) as error:
        raise _file_problem(shown, f"cannot read: {getattr(error, 'strerror', None) or error}") from None
    try:
        special = _special(os.fstat(descriptor).st_mode)
        if special == "a directory":
            raise _file_problem(shown, "is a directory, not a spec file")
        if special:
            raise _file_problem(shown, f"is {special}, not a regular file: refused unread")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(descriptor, min(_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise _file_problem(shown, f"cannot read: {error.strerror}") from None
    finally:
        os.close(descriptor)
    raw = b"".join(chunks)
    if len(raw) > max_bytes:
        raise _file_problem(shown, f"file is larger than the {max_bytes:,}-byte limit ({flag('max_bytes')})")
    if b"\0" in raw:
        raise SpecError([Problem(shown, 1, 1, "binary file (contains NUL bytes), not a YAML spec", code="file")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise SpecError([Problem(shown, line, column, "file is not valid UTF-8", code="encoding")]) from None


def _check_text(text: Any, path: str) -> None:
    if not isinstance(text, str):
        raise _file_problem(path, f"expected YAML text (str), got {type(text).__name__}", code="usage")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate: no file can hold it
        before = text[:error.start]
        line, column = before.count("\n") + 1, error.start - (before.rfind("\n") + 1) + 1
        raise SpecError([Problem(path, line, column, f"the text holds U+{ord(text[error.start]):04X}, a lone"
                                 " surrogate, which is not a Unicode character", code="encoding")]) from None


def loads(text: str, path: str = "<string>", variables: dict[str, Any] | None = None,
          limits: Limits = DEFAULT_LIMITS) -> Network:
    """Parse, validate and propagate a spec given as YAML text. `variables` replace the spec's variables of
    the same names (`--set`); a name the spec does not declare raises `archcalc.UnknownVariable`."""
    return build(parse(text, path, limits), path, variables, limits)


def parse(text: str, path: str = "<string>", limits: Limits = DEFAULT_LIMITS) -> Any:
    """The YAML text read once, with the source position of every key: what `build` expands, validates and
    propagates (a sweep builds many networks from one parse)."""
    _check_text(text, path)
    if len(text) > limits.max_bytes:  # characters, at least as many bytes
        raise _file_problem(path, f"text is larger than the {limits.max_bytes:,}-byte limit ({flag('max_bytes')})")
    try:
        return parse_yaml(text, limits)
    except YamlProblem as problem:
        raise SpecError([Problem(path, *problem.mark, problem.message, code=problem.code)]) from None


def parse_dict(spec: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> Any:
    """A spec given as a dict, checked as parsed YAML is (sizes, nesting), for `build`."""
    try:
        return as_source(spec, limits)
    except YamlProblem as problem:
        raise SpecError([Problem("<dict>", *problem.mark, problem.message, code=problem.code)]) from None


def load(path: str | os.PathLike[str], max_bytes: int | None = None, variables: dict[str, Any] | None = None,
         limits: Limits = DEFAULT_LIMITS) -> Network:
    """Parse, validate and propagate a spec file (refused unread when larger than `max_bytes`), with
    `variables` overriding the spec's own (`archcalc.load("specs/gpt2.yaml", variables={"seq_len": 4096})`)."""
    if max_bytes is not None:
        limits = dataclasses.replace(limits, max_bytes=max_bytes)
    text = read_spec_text(path, limits.max_bytes)
    return loads(text, os.fsdecode(path), variables, limits)


def analyze(spec: dict[str, Any] | str | os.PathLike[str], batch_size: int = 1, dtype: str = "float32",
            limits: Limits = DEFAULT_LIMITS) -> Summary:
    """Summarize a spec given as a dict, YAML text or a file path."""
    if isinstance(spec, dict):
        network = build(parse_dict(spec, limits), "<dict>", limits=limits)
    elif isinstance(spec, Path) or (isinstance(spec, str) and "\n" not in spec and spec.endswith((".yaml", ".yml"))):
        network = load(spec, limits=limits)
    elif isinstance(spec, str):
        network = loads(spec, limits=limits)
    else:
        raise _file_problem(f"<{type(spec).__name__}>", "expected a dict, YAML text or a file path, got"
                            f" {type(spec).__name__}", code="usage")
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


def llm_sizing(network: Network, gpu: str | None = None, memory: int | str | None = None, **settings: Any) -> Any:
    """LLM sizing (`archcalc llm`): parameters, FLOPs per token, KV cache, inference and training memory per GPU
    beside the rules of thumb; an `archcalc.analysis.llm.LLMSizing`. `gpu` names a row of the GPU table,
    `memory` is bytes or text ("80GiB"); the other keywords are `archcalc.analysis.llm.Settings`' fields
    (`batch_size=4, zero=2, dp=8, recompute="full", tokens=2 * 10**12`)."""
    from .analysis.llm import Settings, find_gpu
    from .analysis.llm import llm_sizing as size
    from .analysis.memory import parse_budget

    budget = parse_budget(memory) if isinstance(memory, str) else memory
    return size(network, Settings(gpu=find_gpu(gpu) if gpu else None, memory_bytes=budget, **settings))


def count(network: Network, convention: str = "pytorch", batch_size: int = 1, dtype: str = "float32",
          input_overhead: int | None = None) -> Any:
    """MACs, parameters and memory as a tool counts them (`archcalc compare`, docs/conventions.md): an
    `archcalc.analysis.conventions.Counts` with totals and per-layer itemized counts, for the whole batch, the
    model in `dtype` (torchinfo's memory figures use each tensor's element size). `input_overhead`: torchinfo's
    bytes per input tensor beyond its data, which depend on the torch and Python versions (64 for torch 2.13 +
    Python 3.11; see archcalc.analysis.conventions.TORCHINFO_INPUT_OVERHEAD)."""
    from .analysis.conventions import count as count_as

    return count_as(network, convention, batch_size, dtype, input_overhead)


def receptive_fields(network: Network) -> dict[str, Any]:
    """Each layer's receptive field (size, jump, centre per spatial axis), by layer name; see
    `archcalc.analysis.receptive`."""
    from .analysis.receptive import receptive_fields as fields

    return fields(network)


def network_graph(network: Network, memory: dict[str, int] | None = None, measure_memory: bool = True) -> Any:
    """The network as a graph to draw (`archcalc graph`): nodes with their figures (training memory per layer:
    `memory`, else measured at batch 1 unless `measure_memory=False`), shape-labelled edges and the block
    hierarchy; an `archcalc.analysis.graph.Graph`."""
    from .analysis.graph import network_graph as graph_of

    return graph_of(network, memory, measure_memory)


def build(data: Any, path: str, variables: dict[str, Any] | None = None, limits: Limits = DEFAULT_LIMITS) -> Network:
    """The network of a parsed spec (`parse`) with `variables` replacing its own: expanded, validated and
    propagated. `data` is only read, so one parse serves any number of builds."""
    with suggestions_for_one_spec():
        data, problems = expand(data, path, variables, limits)
        if problems:
            raise SpecError(problems)
        problems = _within_limits(data, path, limits)
        if problems:
            raise SpecError(problems)
        spec, problems = validate(data, path)
        if problems:
            raise SpecError(problems)
        return propagate(spec, data, path)


def _within_limits(data: Any, path: str, limits: Limits) -> list[Problem]:
    """The limits a document without blocks meets unexpanded: its number of layers, its inputs' axes."""
    if not isinstance(data, dict):
        return []
    problems = []
    layers, raw = data.get("layers"), data.get("input")
    if isinstance(layers, list) and len(layers) > limits.max_layers:
        problems.append(Problem(path, *locate(data, ("layers",)), f"the spec has {len(layers):,} layers, more than the"
                                f" {limits.max_layers:,}-layer limit ({flag('max_layers')})", code="too-large"))
    shapes = [(("input",), raw)]
    if isinstance(raw, dict):  # {shape: [...], dtype: ...} or named inputs {x: [...] or {shape: [...]}}
        named = {"": raw} if "shape" in raw else raw
        shapes = [(("input",) + ((name,) if name else ()), value.get("shape") if isinstance(value, dict) else value)
                  for name, value in list(named.items())[:limits.max_axes + 1]]
    for location, shape in shapes:
        if isinstance(shape, list) and len(shape) > limits.max_axes:
            problems.append(Problem(path, *locate(data, location), f"input: {len(shape):,} axes, more than the"
                                    f" {limits.max_axes}-axis limit ({flag('max_axes')})", code="too-large"))
    return problems


__all__ = ["MAX_SPEC_BYTES", "analyze", "build", "count", "load", "loads", "network_graph", "parse", "parse_dict",
           "read_spec_text", "receptive_fields", "summarize",
           "training_memory"]
