"""Spec → propagated layers: resolve each layer's inputs, apply its rules, collect problems."""

from __future__ import annotations

import difflib
from math import prod
from typing import Any

from ..formula import plain
from ..layers import ALIASES, Layer
from ..layers.base import INT64_MAX
from ..spec.yaml_source import locate, origin_note
from ..problems import LayerError, Problem, SpecError
from ..network import FLOAT, LayerResult, Network
from ..spec.model import SpecBase

NETWORK_INPUT = "input"


def default_name(layer: Layer, index: int) -> str:
    return f"{layer.type}-{index + 1}"


def propagate(spec: SpecBase, data: Any, path: str) -> Network:
    """Apply every layer's rules in order; raises SpecError with every problem found.

    A layer whose input could not be computed is skipped silently: its cause is already reported.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    outputs: dict[str, tuple[int, ...]] = {NETWORK_INPUT: tuple(spec.input)}
    dtypes: dict[str, str] = {NETWORK_INPUT: FLOAT}
    declared = {(layer.name or default_name(layer, i)): i for i, layer in enumerate(spec.layers)}
    failed: set[str] = set()
    results: list[LayerResult] = []
    previous = NETWORK_INPUT

    def report(index: int, key: str | None, message: str, code: str, name: str) -> None:
        location = ("layers", index) + ((key,) if key else ())
        problems.append(Problem(path, *locate(data, location, ALIASES), message + origin_note(data, index),
                                layer=name, code=code))

    for index, layer in enumerate(spec.layers):
        name = layer.name or default_name(layer, index)
        label = f"{layer.type} {name!r}"
        if name in outputs or name in failed:
            first = "the network input's reserved name" if name == NETWORK_INPUT else "an earlier layer's name"
            report(index, "name", f"{label}: name {name!r} is already {first}", "duplicate-name", name)
            failed.add(name)
            continue
        sources = tuple(layer.inputs) if layer.inputs else (previous,)
        previous = name
        unresolved = [source for source in sources if source not in outputs]
        for source in unresolved:
            if source in failed:
                continue
            if source in declared and declared[source] > index:
                message = f"input {source!r} is a later layer (a layer can only take earlier outputs)"
            elif source == name:
                message = f"input {source!r} is the layer itself"
            else:
                message = f"unknown input {source!r}{_suggest(source, outputs)}"
            report(index, "inputs", f"{label}: {message}", "bad-reference", name)
        if unresolved:
            failed.add(name)
            continue
        if (layer.arity is None and len(sources) < layer.min_inputs) or \
                (layer.arity is not None and len(sources) != layer.arity):
            wanted = f"at least {layer.min_inputs} inputs" if layer.arity is None else \
                f"{layer.arity} input{'s' * (layer.arity != 1)}"
            report(index, "inputs", f"{label}: takes {wanted}, got {len(sources)}", "arity", name)
            failed.add(name)
            continue
        shapes = [outputs[source] for source in sources]
        try:
            outcome = layer.evaluate(shapes, plain)
            shape = tuple(outcome.shape)
            _check_output(shape)
        except LayerError as error:
            report(index, error.key, f"{label}: {error.message}", error.code, name)
            failed.add(name)
            continue
        params = outcome.params
        input_dtypes = tuple(dtypes[source] for source in sources)
        dtypes[name] = layer.output_dtype(list(input_dtypes))
        results.append(LayerResult(
            index=index, name=name, type=layer.type, sources=sources, input_shapes=tuple(shapes),
            output_shape=shape, params=params, trainable_params=params if layer.trainable else 0,
            macs=outcome.macs, buffers=outcome.buffers, spec=layer, layout=outcome.layout,
            windows=tuple(outcome.windows), input_dtypes=input_dtypes, output_dtype=dtypes[name],
        ))
        for message, key, code in outcome.warnings:
            location = ("layers", index) + ((key,) if key else ())
            warnings.append(Problem(path, *locate(data, location, ALIASES), f"{label}: {message}"
                                    + origin_note(data, index), layer=name, code=code, severity="warning"))
        outputs[name] = shape
    if problems:
        raise SpecError(problems)
    return Network(name=spec.name, input_shape=tuple(spec.input), layers=results, path=path, input_dtype=FLOAT,
                   warnings=tuple(warnings), expect=spec.expect, source=data)


def _suggest(name: str, known: dict[str, object]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_output(shape: tuple[int, ...]) -> None:
    if any(size < 1 for size in shape):
        raise LayerError(f"would produce the empty or negative output shape {list(shape)}", code="too-small")
    if prod(shape) > INT64_MAX:
        raise LayerError(f"output shape {list(shape)} has more elements than int64 can count", code="too-large")


__all__ = ["NETWORK_INPUT", "default_name", "propagate"]
