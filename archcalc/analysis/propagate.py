"""Spec → propagated layers: resolve each layer's inputs, apply its rules, collect problems."""

from __future__ import annotations

from math import prod
from typing import Any

from ..formula import plain
from ..layers import ALIASES, Layer, Shape
from ..layers.base import INT64_MAX, KEEP, MERGE, SLIDE
from ..spec.yaml_source import locate, origin_note
from ..problems import WARNING_CODES, LayerError, Problem, SpecError
from ..network import FLOAT, LayerResult, Network, NetworkInput
from ..spec.model import FLOATING, PLACEMENT_KEYS, SpecBase
from ..spec.suggest import suggestion

NETWORK_INPUT = "input"


def default_name(layer: Layer, index: int) -> str:
    return f"{layer.type}-{index + 1}"


def split_reference(reference: str) -> tuple[str, int | None]:
    """`rnn1:1` → ("rnn1", 1); a bare name → (name, None)."""
    name, colon, index = reference.rpartition(":")
    if colon and name and index.isdigit() and len(index) < 10:
        return name, int(index)
    return reference, None


# A layer's fields begin type, name, inputs (Layer declares them first; tests/test_registry.py checks every
# type): the type is the class's, and a name and inputs place a layer without changing what its rules compute.
_ARGUMENTS = slice(3, None)
_SCALARS = frozenset((int, str, bool, float, type(None)))


def evaluation_key(layer: Layer, shapes: tuple[Shape, ...], dtypes: tuple[str, ...]) -> tuple:
    """What a layer's rules are a function of: its type, its arguments and its inputs' shapes and dtypes.
    Layers with the same key have the same outcome, so a network evaluates each distinct one once (a
    ResNet-50 has 56 among its 175 layers; a plain stack of repeated layers a handful). Values are keyed
    with their classes, so that == does not join arguments a rule tells apart (True == 1 == 1.0)."""
    values = tuple(vars(layer).values())[_ARGUMENTS]
    kinds = tuple(map(type, values))
    if not _SCALARS.issuperset(kinds):
        values = tuple([_nested_key(value) for value in values])
    return layer.__class__, values, kinds, shapes, dtypes


def _nested_key(value: Any) -> Any:
    """A list, tuple or other value as a key: per-axis integers as they are, anything else by its repr."""
    kind = value.__class__
    if kind in _SCALARS:
        return value
    if (kind is list or kind is tuple) and all([item.__class__ is int for item in value]):
        return tuple(value)
    return repr(value)


def propagate(spec: SpecBase, data: Any, path: str) -> Network:
    """Apply every layer's rules in order; raises SpecError with every problem found.

    A layer whose input could not be computed is skipped silently: its cause is already reported.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    inputs = [NetworkInput(name, shape, FLOAT if dtype in FLOATING else dtype)
              for name, shape, dtype in spec.network_inputs()]
    # name → its outputs, each (shape, dtype); the reserved `input` is also the first network input
    outputs: dict[str, list[tuple[tuple[int, ...], str]]] = {item.name: [(item.shape, item.dtype)] for item in inputs}
    outputs.setdefault(NETWORK_INPUT, outputs[inputs[0].name])
    kinds: dict[str, type[Layer]] = {}
    # whether a tensor still has the spatial layout of an image-like input: [C, H, W] through conv and pooling
    spatial: dict[str, bool] = {item.name: item.dtype == FLOAT and len(item.shape) >= 2 for item in inputs}
    spatial.setdefault(NETWORK_INPUT, spatial[inputs[0].name])
    declared: dict[str, int] = {}  # name → position of every layer; only a bad reference's message needs it
    failed: set[str] = set()
    results: list[LayerResult] = []
    by_name: dict[str, LayerResult] = {}
    previous = inputs[0].name

    inherited = getattr(data.get("layers") if isinstance(data, dict) else None, "ignores", None) or []
    unknown: dict[tuple[int, int], Problem] = {}

    def silenced(codes: list[tuple[str, tuple[int, int]]], name: str | None, label: str) -> set[str]:
        """The codes of an `ignore:` list; an unknown one is a warning at its place (once per place)."""
        for code, mark in codes:
            if code not in WARNING_CODES and mark not in unknown:
                close = suggestion(code, list(WARNING_CODES))
                hint = f" (did you mean {close!r}?)" if close else f"; known: {', '.join(WARNING_CODES)}"
                unknown[mark] = Problem(path, *mark, f"{label}ignore: unknown warning code {code!r}{hint}",
                                        layer=name, code="unknown-ignore", severity="warning")
        return {code for code, _ in codes}

    everywhere = silenced([(code, locate(data, ("ignore", k))) for k, code in enumerate(spec.ignore or ())],
                          None, "")

    def report(index: int, key: str | None, message: str, code: str, name: str) -> None:
        location = ("layers", index) + ((key,) if key else ())
        problems.append(Problem(path, *locate(data, location, ALIASES), message + origin_note(data, index),
                                layer=name, code=code))

    def resolve(reference: str) -> tuple[tuple[int, ...], str] | str:
        """The (shape, dtype) a reference names, or the message saying why it names none."""
        source, index = split_reference(reference)
        found = outputs.get(reference) if index is None else None
        if found is None:
            found = outputs.get(source)
        if found is None:
            return ""
        if index is None:
            if len(found) > 1 and not kinds[source].bare_reference:
                return (f"{source!r} has {len(found)} outputs: name one as {source}:0 … {source}:{len(found) - 1}"
                        f"{' (the default input is the previous layer, bare)' if reference == previous else ''}")
            return found[0]
        if index >= len(found):
            return f"{source!r} has {len(found)} output{'s' * (len(found) != 1)}, so there is no {reference!r}"
        return found[index]

    evaluated: dict[tuple, tuple] = {}   # evaluation_key → what `_evaluated` gave
    # name → (shape, dtype) of each layer with one output: what most references name, found in one lookup
    # (a name with a colon is left to `resolve`, which reads `a:0` as output 0 of `a`)
    single = {reference: found[0] for reference, found in outputs.items() if len(found) == 1 and ":" not in reference}
    for index, layer in enumerate(spec.layers):
        name = layer.name or default_name(layer, index)
        if name in outputs or name in failed:
            label = f"{layer.type} {name!r}"
            first = "the network input's reserved name" if name in outputs and name not in by_name else \
                "an earlier layer's name"
            report(index, "name", f"{label}: name {name!r} is already {first}", "duplicate-name", name)
            failed.add(name)
            continue
        if layer.inputs is not None and not layer.inputs and layer.arity != 0:
            report(index, "inputs", f"{layer.type} {name!r}: inputs: [] names no input; leave 'inputs' out to take"
                                    " the previous layer's output", "arity", name)
            failed.add(name)
            previous = name
            continue
        sources = tuple(layer.inputs) if layer.inputs else (() if layer.arity == 0 else (previous,))
        default_input = not layer.inputs
        previous = name
        tensors = [single.get(source) for source in sources]
        if None in tensors:   # a reference to a missing layer, or to one of several outputs: resolved with care
            unresolved = [source for source in sources if source not in outputs
                          and split_reference(source)[0] not in outputs]
            for source in unresolved:
                bare = split_reference(source)[0]
                if bare in failed or source in failed:
                    continue
                if not declared:
                    declared.update({(later.name or default_name(later, i)): i for i, later in enumerate(spec.layers)})
                if bare in declared and declared[bare] > index:
                    message = f"input {source!r} is a later layer (a layer can only take earlier outputs)"
                elif bare == name:
                    message = f"input {source!r} is the layer itself"
                else:
                    message = f"unknown input {source!r}{_suggest(bare, outputs)}"
                report(index, "inputs", f"{layer.type} {name!r}: {message}", "bad-reference", name)
            if unresolved:
                failed.add(name)
                continue
            tensors = []
            for source in sources:
                found = outputs.get(source)
                # a bare name of a layer with one output; else what `resolve` says of the reference
                found = found[0] if found is not None and len(found) == 1 else resolve(source)
                if isinstance(found, str):
                    why = found if not default_input else found.replace(f"{source!r} has", f"the previous layer {source!r} has")
                    report(index, "inputs", f"{layer.type} {name!r}: {why}", "bad-reference", name)
                    break
                tensors.append(found)
            if len(tensors) != len(sources):
                failed.add(name)
                continue
        if (layer.arity is None and len(sources) < layer.min_inputs) or \
                (layer.arity is not None and len(sources) != layer.arity):
            wanted = f"at least {layer.min_inputs} inputs" if layer.arity is None else \
                f"{layer.arity} input{'s' * (layer.arity != 1)}"
            report(index, "inputs", f"{layer.type} {name!r}: takes {wanted}, got {len(sources)}", "arity", name)
            failed.add(name)
            continue
        if layer.module_only and layer.call not in (None, "module"):
            report(index, "call", f"{layer.type} {name!r}: call {layer.call!r} of a {layer.type} is not modelled: a type"
                   " that holds parameters is called as an nn.Module (call: module, the default)", "call", name)
            failed.add(name)
            continue
        if len(tensors) == 1:   # most layers: one input, without the comprehensions
            (shape, dtype), = tensors
            shapes, input_shapes, input_dtypes = [shape], (shape,), (dtype,)
        else:
            shapes = [shape for shape, _ in tensors]
            input_shapes, input_dtypes = tuple(shapes), tuple([dtype for _, dtype in tensors])
        memo = evaluation_key(layer, input_shapes, input_dtypes)
        try:
            known = evaluated.get(memo)
            if known is None:
                known = evaluated[memo] = _evaluated(layer, shapes, input_dtypes)
            outcome, produced, output_dtype, made, windows = known
            shared = _shared_module(layer, by_name, shapes) if layer.share is not None else None
            tie = vars(layer).get("tie")   # the field, for the types that have one (getattr's miss costs 5 µs in pydantic)
            if tie is not None:
                _check_tie(layer, tie, by_name, shapes)
        except LayerError as error:
            report(index, error.key, f"{layer.type} {name!r}: {error.message}", error.code, name)
            failed.add(name)
            continue
        params = 0 if shared else outcome.params
        result = LayerResult(index, name, layer.type, sources, input_shapes, produced[0], params,
                             params if layer.trainable else 0, outcome.macs, 0 if shared else outcome.buffers, layer,
                             outcome.layout, windows, input_dtypes, output_dtype, produced,
                             shared, 0 if shared else outcome.inactive_params)
        results.append(result)
        by_name[name] = result
        spatial_input = spatial.get(sources[0], False) if len(sources) == 1 and ":" not in sources[0] else \
            any([spatial.get(source if ":" not in source else split_reference(source)[0], False) for source in sources])
        spatial[name] = spatial_input and outcome.layout in (KEEP, SLIDE, MERGE)
        codes = inherited[index] if index < len(inherited) else ()
        if layer.ignore:
            codes = [*codes, *[(code, locate(data, ("layers", index, "ignore", k))) for k, code in enumerate(layer.ignore)]]
        if codes or outcome.warnings:
            label = f"{layer.type} {name!r}"
            quiet = everywhere | silenced(codes, name, f"{label}: ") if codes else everywhere
            for message, key, code in outcome.warnings:
                if code in quiet:
                    continue
                if code in layer.spatial_warnings and not spatial_input:
                    continue
                location = ("layers", index) + ((key,) if key else ())
                warnings.append(Problem(path, *locate(data, location, ALIASES), f"{label}: {message}"
                                        + origin_note(data, index), layer=name, code=code, severity="warning"))
        outputs[name] = made
        if len(made) == 1 and ":" not in name:
            single[name] = made[0]
        kinds[name] = type(layer)
    if problems:
        raise SpecError(problems)
    warnings = sorted([*warnings, *unknown.values()]) if unknown else warnings
    return Network(name=spec.name, input_shape=inputs[0].shape, layers=results, path=path,
                   input_dtype=inputs[0].dtype, inputs=tuple(inputs),
                   warnings=tuple(warnings), expect=spec.expect, source=data)




def _evaluated(layer: Layer, shapes: list[Shape], dtypes: tuple[str, ...]) -> tuple:
    """A layer's rules applied to its inputs, checked: (outcome, its output shapes, output dtype, the outputs as
    later layers find them, receptive-field windows); raises LayerError."""
    layer.check_inputs(shapes, list(dtypes))
    outcome = layer.evaluate(shapes, plain)
    produced = (tuple(outcome.shape), *map(tuple, outcome.more_outputs))
    for shape in produced:
        _check_output(shape)
    output_dtype = layer.output_dtype(list(dtypes))
    return outcome, produced, output_dtype, [(shape, output_dtype) for shape in produced], tuple(outcome.windows)


def _shared_module(layer: Layer, by_name: dict[str, LayerResult], shapes: list) -> str | None:
    """The layer whose module this call shares (`share:`), checked: an earlier layer, the same type and
    arguments; None for a layer of its own."""
    if layer.share is None:
        return None
    owner = by_name.get(layer.share)
    if owner is None:
        raise LayerError(f"share {layer.share!r} is not an earlier layer", key="share", code="bad-reference")
    owner = by_name.get(owner.shared_with, owner) if owner.shared_with else owner
    if owner.type != layer.type:
        raise LayerError(f"share {layer.share!r} is a {owner.type}, not a {layer.type}", key="share",
                         code="share-mismatch")
    mine = layer.model_dump(exclude=set(PLACEMENT_KEYS))
    theirs = owner.spec.model_dump(exclude=set(PLACEMENT_KEYS))
    different = sorted(key for key in mine if mine[key] != theirs.get(key))
    if different:
        key = different[0]
        raise LayerError(f"{key} is {mine[key]!r} but the shared module {owner.name!r} has {theirs.get(key)!r}:"
                         " a shared module has one set of arguments", key=key, code="share-mismatch")
    if owner.spec.weight_shape(list(owner.input_shapes)) != layer.weight_shape(shapes):
        raise LayerError(f"this call's input is {', '.join(str(list(s)) for s in shapes)} but the shared module"
                         f" {owner.name!r} was built for {', '.join(str(list(s)) for s in owner.input_shapes)}",
                         key="share", code="share-mismatch")
    return owner.name


def _check_tie(layer: Layer, target: str, by_name: dict[str, LayerResult], shapes: list) -> None:
    """`tie: NAME`: the layer's weight is NAME's weight tensor, so their shapes must agree."""
    owner = by_name.get(target)
    if owner is None:
        raise LayerError(f"tie {target!r} is not an earlier layer", key="tie", code="bad-reference")
    theirs, mine = owner.spec.weight_shape(list(owner.input_shapes)), layer.weight_shape(shapes)
    if theirs is None:
        raise LayerError(f"tie {target!r}: a {owner.type} has no weight to share", key="tie", code="tie-mismatch")
    if theirs != mine:
        raise LayerError(f"tie {target!r}: its weight is {list(theirs)}, this layer's is {list(mine)}", key="tie",
                         code="tie-mismatch")


def _suggest(name: str, known: dict[str, object]) -> str:
    close = suggestion(name, known)
    return f" (did you mean {close!r}?)" if close else ""


def _check_output(shape: tuple[int, ...]) -> None:
    if min(shape, default=1) < 1:
        raise LayerError(f"would produce the empty or negative output shape {list(shape)}", code="too-small")
    if prod(shape) > INT64_MAX:
        raise LayerError(f"output shape {list(shape)} has more elements than int64 can count", code="too-large")


__all__ = ["NETWORK_INPUT", "default_name", "propagate", "split_reference"]
