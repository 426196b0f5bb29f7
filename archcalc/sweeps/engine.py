"""The sweep: a spec read and parsed once, then, per point of the grid, variables → expand → validate →
propagate → the row's figures; then the rows a user asked for (`--where`, `--pareto`, `--sort`).

A point whose spec is invalid (a width that is not divisible by the groups, a resolution too small for
the strides) is a row with its problems, never the end of the sweep.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ..analysis.memory import DEVICES, DTYPES, OPTIMIZERS, parse_budget, plan_memory
from ..analysis.propagate import propagate
from ..api import _within_limits, build, parse, parse_dict, read_spec_text
from ..network import Network, Summary
from ..problems import Problem, SpecError
from ..spec.blocks import ExpansionError, UnknownVariable, expand_input, expand_recorded
from ..spec.limits import DEFAULT_LIMITS, Limits
from ..spec.model import SpecBase, validate
from ..spec.suggest import suggestions_for_one_spec
from ..spec.yaml_source import SourceDict
from .grid import MAX_POINTS, as_grid, points
from .where import Condition, WhereError, parse_condition

# The figures of a row, by the name `--where`, `--sort`, `--pareto`, `--x` / `--y` and the JSON use.
METRICS = {
    "params": "parameters (model.parameters())",
    "trainable_params": "trainable parameters",
    "macs": "multiply-accumulates per sample",
    "flops": "2 × MACs",
    "layers": "layers of the expanded spec",
    "memory": "torchsummary's estimated total size in bytes, at --batch-size and --dtype",
    "training_memory": "bytes training holds between forward and backward (archcalc memory), at --batch-size",
    "fit_batch": "the largest batch size whose training memory fits --fit BUDGET (0: not even 1)",
}


@dataclass(frozen=True)
class Options:
    """How each point is measured: the batch size and dtype of both memory figures, the optimizer and
    device of training memory, and the `--fit` budget (bytes) when one is given."""

    batch_size: int = 1
    dtype: str = "float32"
    optimizer: str = "adam"
    device: str = "cuda"
    fit: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch size must be a positive integer, got {self.batch_size!r}")
        for what, value, choices in (("dtype", self.dtype, tuple(DTYPES)), ("optimizer", self.optimizer, OPTIMIZERS),
                                     ("device", self.device, DEVICES)):
            if value not in choices:
                raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(choices)}")
        if self.fit is not None and (isinstance(self.fit, bool) or not isinstance(self.fit, int) or self.fit < 1):
            raise ValueError(f"the --fit budget must be a positive number of bytes, got {self.fit!r}")


@dataclass(frozen=True)
class Row:
    """One point of the grid: its variables, and its figures or the problems that make it invalid."""

    variables: dict[str, Any]
    params: int | None = None
    trainable_params: int | None = None
    macs: int | None = None
    flops: int | None = None
    layers: int | None = None
    output_shape: tuple[int, ...] | None = None
    memory: int | None = None
    training_memory: int | None = None
    fit_batch: int | None = None
    warnings: tuple[Problem, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return not self.problems

    def values(self) -> dict[str, Any]:
        """Everything `--where` and `--sort` can name: the figures, then the variables (a variable named
        like a figure is hidden by it)."""
        return {**self.variables, **{name: getattr(self, name) for name in METRICS}}

    def label(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.variables.items())

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"variables": dict(self.variables), "valid": self.valid}
        if self.valid:
            document.update({name: getattr(self, name) for name in METRICS if name != "fit_batch"})
            document["output_shape"] = list(self.output_shape or ())
            if self.fit_batch is not None:
                document["fit_batch"] = self.fit_batch
        document["warnings"] = [_problem_json(warning) for warning in self.warnings]
        document["problems"] = [_problem_json(problem) for problem in self.problems]
        return document


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {"line": problem.line, "column": problem.column, "layer": problem.layer, "code": problem.code,
            "message": problem.message}


def measure(network: Network, variables: dict[str, Any], options: Options) -> Row:
    """The row of one built network."""
    totals = network.totals
    plan = plan_memory(network, options.dtype, options.device)
    return Row(
        variables=variables, params=totals.params, trainable_params=totals.trainable_params, macs=totals.macs,
        flops=totals.flops, layers=len(network.layers), output_shape=tuple(network.output_shape),
        memory=Summary(network, options.batch_size, options.dtype).memory.total_bytes,
        training_memory=plan.total_bytes(options.batch_size, options.optimizer),
        fit_batch=None if options.fit is None else plan.largest_batch(options.fit, options.optimizer),
        warnings=tuple(network.warnings))


class PreparedSpec:
    """A spec read and parsed once (file, YAML text or dict); `row(variables)` builds and measures one point
    from the parsed tree, never reading the YAML again."""

    def __init__(self, spec: Any, limits: Limits = DEFAULT_LIMITS, path: str | None = None):
        self.limits = limits
        if isinstance(spec, dict):
            self.path, self.data = "<dict>", parse_dict(spec, limits)
        elif isinstance(spec, os.PathLike) or (path is None and isinstance(spec, str) and "\n" not in spec
                                                and spec.endswith((".yaml", ".yml"))):
            self.path = os.fsdecode(spec)
            spec = read_spec_text(spec, limits.max_bytes)
            self.data = parse(spec, self.path, limits)
        elif isinstance(spec, str):
            self.path = path or "<string>"
            self.data = parse(spec, self.path, limits)
        else:
            raise TypeError(f"expected a spec file path, YAML text or a dict, got {type(spec).__name__}")
        self.source = spec   # the text (or dict) that was parsed: what a worker process parses in its turn
        self.layers = LayerCache(self.data, self.path, limits)

    @property
    def variables(self) -> list[str]:
        """The names the spec declares under `variables:`, which a grid may set."""
        declared = self.data.get("variables") if isinstance(self.data, dict) else None
        return list(declared) if isinstance(declared, dict) else []

    def check_names(self, names: Iterable[str]) -> None:
        """UnknownVariable for a grid name the spec does not declare (a usage error, before any point runs)."""
        unknown = [name for name in names if name not in self.variables]
        if unknown:
            from ..spec.suggest import suggestion

            close = suggestion(unknown[0], self.variables)
            hint = f" (did you mean {close!r}?)" if close else ""
            raise UnknownVariable(f"the spec has no variable {unknown[0]!r}{hint} (its variables:"
                                  f" {', '.join(self.variables) or 'none'})")

    def row(self, variables: dict[str, Any], options: Options) -> Row:
        try:
            network = self.layers.build(variables)
        except SpecError as error:
            return Row(variables=variables, problems=tuple(error.problems))
        try:
            return measure(network, variables, options)
        except ValueError as error:   # a figure the point cannot have (e.g. training memory of an int network)
            return Row(variables=variables, problems=(Problem(self.path, 1, 1, str(error), code="sweep"),))


# Values a cache key may hold: those whose type and repr say all an expression can tell of them.
_KEYABLE = (bool, int, float, str, type(None))
# The layers the cache holds at most, over all its entries (the least recently used go first): a grid of
# 10,000 distinct layer lists of a large spec must not keep them all (ResNet-50 has 175 layers).
MAX_CACHED_LAYERS = 50_000


class LayerCache:
    """`build(data, path, variables)`, with the expanded and validated layers of each distinct expansion kept:
    points that differ only in variables their layers never read (a resolution read only by `input:`) expand
    and validate once. An entry is keyed by the values of the grid variables its expansion read (`Reads`:
    every `${...}` name, `if:`, `repeat`, block argument and default, derived variable); expansion is a
    function of those values, so a point that gives them the same values has the same layers. Only the
    input is evaluated and validated again per point. Whatever is unusual (a problem while expanding or
    validating, a limit reached, a value a key cannot hold) is not kept: such a point is built as `build`
    builds it, and so is any point whose cached path meets a problem."""

    def __init__(self, data: Any, path: str, limits: Limits):
        self.data, self.path, self.limits = data, path, limits
        # read names (with the names a point sets) → that point's values of them → (document, spec)
        self.entries: dict[tuple[frozenset[str], frozenset[str]], dict[tuple, tuple[SourceDict, SpecBase]]] = {}
        self.used: OrderedDict[tuple, int] = OrderedDict()   # (group, key) → its layers, least recently used first
        self.held = 0   # layers over all entries
        self.hits = 0

    def build(self, variables: dict[str, Any]) -> Network:
        names = frozenset(variables)
        if not all(isinstance(value, _KEYABLE) for value in variables.values()):
            return build(self.data, self.path, variables, self.limits)
        for (given, read), kept in self.entries.items():
            if given == names:
                cached = kept.get(_key(variables, read))
                reused = None if cached is None else self._reuse(*cached, variables)
                if reused is not None:
                    self.hits += 1
                    self.used.move_to_end(((given, read), _key(variables, read)))
                    with suggestions_for_one_spec():
                        return propagate(*reused, self.path)
        return self._build_and_keep(variables)

    def _build_and_keep(self, variables: dict[str, Any]) -> Network:
        """`build`, step for step, keeping the validated layers when expansion and validation succeed."""
        with suggestions_for_one_spec():
            data, problems, reads = expand_recorded(self.data, self.path, variables, self.limits)
            if problems:
                raise SpecError(problems)
            problems = _within_limits(data, self.path, self.limits)
            if problems:
                raise SpecError(problems)
            spec, problems = validate(data, self.path)
            if problems:
                raise SpecError(problems)
            if reads is not None and isinstance(data, SourceDict) and "input" in data \
                    and isinstance(self.data.get("layers"), list):   # else `input:` is left as written
                self._keep((frozenset(variables), reads.layers & frozenset(variables)), variables, data, spec)
            return propagate(spec, data, self.path)

    def _keep(self, group: tuple[frozenset[str], frozenset[str]], variables: dict[str, Any], data: SourceDict,
              spec: SpecBase) -> None:
        key = _key(variables, group[1])
        self.entries.setdefault(group, {})[key] = (data, spec)
        layers = len(data["layers"]) if isinstance(data.get("layers"), list) else 1
        self.held += layers - self.used.pop((group, key), 0)
        self.used[(group, key)] = layers
        while self.held > MAX_CACHED_LAYERS and len(self.used) > 1:
            (old_group, old_key), old_layers = self.used.popitem(last=False)
            del self.entries[old_group][old_key]
            self.held -= old_layers

    def _reuse(self, data: SourceDict, spec: SpecBase,
               variables: dict[str, Any]) -> tuple[SpecBase, SourceDict] | None:
        """The point's validated spec and document from kept layers and its own input, or None where anything
        is not as in the full build (the point is then built in full, and reports what `build` reports)."""
        try:
            raw_input = expand_input(self.data, variables, self.limits)
        except (ExpansionError, RecursionError):
            return None
        document = SourceDict(data)
        document.mark, document.marks = data.mark, data.marks
        document["input"] = raw_input
        if _within_limits(document, self.path, self.limits):
            return None
        try:
            network_input = SpecBase.model_validate({"input": raw_input}).input
        except ValueError:   # pydantic's ValidationError: the full build reports it, located
            return None
        return spec.model_copy(update={"input": network_input}), document


def _key(variables: dict[str, Any], read: frozenset[str]) -> tuple:
    # the type too: 1, 1.0 and True are equal as keys, not as values (`${w}` is `1` or `true`)
    return tuple((name, type(variables[name]), repr(variables[name])) for name in sorted(read))


# --- processes ------------------------------------------------------------------------------------

_worker: tuple[PreparedSpec, Options] | None = None


def _start_worker(source: Any, path: str, limits: Limits, options: Options) -> None:
    """A worker parses the text its parent read (the file is not read again, and cannot have changed)."""
    global _worker
    _worker = (PreparedSpec(source, limits, path), options)


def _run_point(variables: dict[str, Any]) -> Row:
    assert _worker is not None
    prepared, options = _worker
    return prepared.row(variables, options)


def run(prepared: PreparedSpec, grid: Mapping[str, list[Any]], options: Options, jobs: int = 1) -> list[Row]:
    """Every point's row, in grid order (the last variable changing fastest), with `jobs` processes: each
    parses the spec once and takes chunks of points; the rows come back in grid order whatever the jobs."""
    todo = list(points(grid))
    if jobs <= 1 or len(todo) < 2 * jobs:
        return [prepared.row(point, options) for point in todo]
    import multiprocessing

    chunk = max(1, len(todo) // (jobs * 8))
    start = (prepared.source, prepared.path, prepared.limits, options)
    with multiprocessing.get_context(_start_method()).Pool(jobs, initializer=_start_worker, initargs=start) as pool:
        return list(pool.imap(_run_point, todo, chunksize=chunk))


def _start_method() -> str:
    import multiprocessing

    # forkserver: workers fork from a clean server process, never from a caller that may hold threads (a
    # notebook, a test session) whose locks a plain fork would copy mid-use; spawn where there is none
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


# --- choosing rows ----------------------------------------------------------------------------------

def keys(text: str | Sequence[str] | None, names: Iterable[str], what: str) -> list[tuple[str, bool]]:
    """`params,-macs` → [("params", False), ("macs", True)]: names, and whether each is reversed
    (descending for --sort, maximized for --pareto)."""
    if text is None:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    known = list(names)
    result = []
    for item in items:
        item = item.strip()
        reverse = item.startswith("-")
        name = item[1:].strip() if reverse else item
        if name not in known:
            from ..spec.suggest import suggestion

            close = suggestion(name, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            raise WhereError(f"{what}: unknown name {name!r}{hint}; the names are {', '.join(known)}")
        result.append((name, reverse))
    if not result:
        raise WhereError(f"{what}: name at least one column")
    return result


def _ordered(value: Any) -> tuple:
    """A sort key that never compares a number with a text: numbers first, then booleans, then texts."""
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (0, value)
    return (2, str(value))


def sort_rows(rows: list[Row], order: list[tuple[str, bool]]) -> list[Row]:
    """Stable: rows equal on every key keep grid order; invalid rows come last."""
    ranked = [row for row in rows if row.valid]
    for name, reverse in reversed(order):
        ranked.sort(key=lambda row: _ordered(row.values()[name]), reverse=reverse)
    return ranked + [row for row in rows if not row.valid]


def pareto_front(rows: list[Row], objectives: list[tuple[str, bool]]) -> list[Row]:
    """The valid rows no other valid row dominates (at most as large on every objective, smaller on one;
    a reversed objective is maximized), in their original order."""
    def vector(row: Row) -> tuple:
        values = row.values()
        return tuple(-_number(values[name], name) if reverse else _number(values[name], name)
                     for name, reverse in objectives)

    scored = [(vector(row), index, row) for index, row in enumerate(rows) if row.valid]
    scored.sort(key=lambda item: (item[0], item[1]))
    front: list[tuple[tuple, int, Row]] = []
    for candidate in scored:
        # sorted lexicographically, a row can only be dominated by one before it, and if it is, by one on the front
        if not any(_dominates(kept[0], candidate[0]) for kept in front):
            front.append(candidate)
    return [row for _, _, row in sorted(front, key=lambda item: item[1])]


def _dominates(a: tuple, b: tuple) -> bool:
    return a != b and all(x <= y for x, y in zip(a, b))


def _number(value: Any, name: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WhereError(f"--pareto: {name} is {value!r}, not a number")
    return value


def choose(rows: list[Row], where: Condition | None = None, pareto: list[tuple[str, bool]] | None = None,
           order: list[tuple[str, bool]] | None = None, valid_only: bool = False) -> list[Row]:
    """The rows asked for: valid rows that meet `where`, then their Pareto front, then sorted. Invalid points
    stay (in grid order, after any sort) unless `valid_only`: a condition cannot be decided for them, and a
    sweep that hid them would hide a broken corner of the design space."""
    chosen = [row for row in rows if not row.valid or where is None or where.matches(row.values())]
    if pareto:
        front = {id(row) for row in pareto_front(chosen, pareto)}
        chosen = [row for row in chosen if id(row) in front or not row.valid]
    if order:
        chosen = sort_rows(chosen, order)
    return [row for row in chosen if row.valid] if valid_only else chosen


@dataclass
class SweepResult:
    """What `archcalc sweep` reports: the spec, the grid, the options, every row asked for, and how many
    points ran (and how many of them are valid)."""

    spec: str
    grid: dict[str, list[Any]]
    options: Options
    rows: list[Row]
    points: int
    valid_points: int
    where: str | None = None
    pareto: list[tuple[str, bool]] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        return sum(not row.valid for row in self.rows)


def sweep_result(spec: Any, grid: Mapping[str, Any], options: Options = Options(), where: str | None = None,
                 pareto: str | Sequence[str] | None = None, sort: str | Sequence[str] | None = None,
                 jobs: int = 1, max_points: int = MAX_POINTS, limits: Limits = DEFAULT_LIMITS,
                 valid_only: bool = False) -> SweepResult:
    """Everything but the printing: reads the grid and the choices (GridError, WhereError, UnknownVariable
    before any point runs; SpecError when the spec itself cannot be read), runs the points, chooses rows."""
    values = as_grid(grid, max_points)
    prepared = PreparedSpec(spec, limits)
    prepared.check_names(values)
    names = [*values, *METRICS]
    if options.fit is None:
        names.remove("fit_batch")
    condition = parse_condition(where, names) if where is not None else None
    objectives = keys(pareto, names, "--pareto") if pareto is not None else []
    order = keys(sort, names, "--sort") if sort is not None else []
    rows = run(prepared, values, options, jobs)
    chosen = choose(rows, condition, objectives, order, valid_only)
    return SweepResult(prepared.path, values, options, chosen, len(rows), sum(row.valid for row in rows), where,
                       objectives, order)


def sweep(spec: Any, grid: Mapping[str, Any], *, batch_size: int = 1, dtype: str = "float32", optimizer: str = "adam",
          device: str = "cuda", fit: int | str | None = None, where: str | None = None,
          pareto: str | Sequence[str] | None = None, sort: str | Sequence[str] | None = None, jobs: int = 1,
          max_points: int = MAX_POINTS, limits: Limits = DEFAULT_LIMITS, valid_only: bool = False) -> list[Row]:
    """The rows of a design-space sweep (`archcalc sweep`): one per point of `grid` (variable name → values,
    a value, or grid text "32,64" / "160..320:32"), each with params, MACs, FLOPs, output shape, torchsummary
    memory and training memory at `batch_size` (and the largest batch that fits `fit`), or its problems.
    Raises, before any point runs: `archcalc.sweeps.grid.GridError` and `archcalc.sweeps.where.WhereError`
    (both ValueErrors) for a malformed grid or choice, `archcalc.UnknownVariable` for a name the spec does not
    declare, `archcalc.SpecError` when the spec cannot be read.

        >>> rows = archcalc.sweep("specs/resnet50.yaml", {"width": [32, 64], "resolution": "160..224:64"},
        ...                       where="macs <= 5G", sort="-macs")
        >>> [(row.variables, row.macs) for row in rows]                                  # doctest: +SKIP
    """
    options = Options(batch_size, dtype, optimizer, device, parse_budget(fit) if isinstance(fit, str) else fit)
    return sweep_result(spec, grid, options, where, pareto, sort, jobs, max_points, limits, valid_only).rows


__all__ = ["METRICS", "Options", "PreparedSpec", "Row", "SweepResult", "choose", "keys", "measure", "pareto_front",
           "run", "sort_rows", "sweep", "sweep_result"]
