"""Training memory: what PyTorch holds between the forward and the backward pass.

Every layer type states what autograd keeps from it for backward (`saved()` in its family module,
vocabulary in `archcalc.layers.autograd`). This module walks the network in order and adds what
only the graph knows:

* which tensors require a gradient: none of the network input's; a layer's output does when one of
  its inputs does or it has trainable parameters. Layers before the first trainable parameter build
  no graph and keep nothing.
* which tensors are one storage: a view (flatten), the input itself (identity, dropout p = 0) and an
  in-place result share their input's storage. Each storage is counted once, in the first layer
  that keeps it; later layers list it with `first_saved_by`.
* parameters, their gradients (trainable ones), the optimizer's state, buffers and the input batch.

Everything but batch-norm statistics grows linearly with the batch size, so the total is
`fixed_bytes + batch_size × per_sample_bytes` and the largest batch that fits a budget is closed form.
The rules were measured with PyTorch 2.13 on CPU (saved_tensors_hooks, each storage once); see
docs/memory.md (`render_memory_doc()` in archcalc.report.memory_reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import prod
from typing import Any, NamedTuple

from ..layers.autograd import BATCH, DEVICES, DTYPES, MODEL, OPTIMIZERS, OUTPUT, Context, output_source
from ..network import ELEMENT_BYTES, FLOAT, Network, NetworkInput

ADAM_STEP_BYTES = 4  # torch.optim.Adam's per-parameter `step`: a 0-dim float32 tensor

# What the figure leaves out, on every device and on CUDA only.
NOT_MODELLED = (
    "the gradients and temporaries alive during the backward pass itself",
    "the optimizer's temporaries during step(), the network output and the loss",
)
NOT_MODELLED_CUDA = (
    "the CUDA caching allocator's rounding (blocks of 512 B, small tensors carved from 2 MiB segments)"
    " and fragmentation",
    "cuDNN workspaces and cuDNN batch-norm reserve buffers, and the CUDA context itself",
)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------

class SavedTensor(NamedTuple):
    """One tensor a layer keeps for backward, at a batch size."""

    what: str
    shape: tuple[int, ...]
    dtype: str
    bytes: int
    first_saved_by: str | None = None              # the earlier layer that keeps this storage (counted there)
    shared_with: tuple[tuple[str, str], ...] = ()  # later (layer, what) keeping the same storage
    source: str | None = None                      # for a kept input: the layer (or "input") that produced it

    @property
    def counted(self) -> bool:
        return self.first_saved_by is None

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"what": self.what, "shape": list(self.shape), "dtype": self.dtype,
                                 "bytes": self.bytes}
        if self.first_saved_by is not None:
            entry["first_saved_by"] = self.first_saved_by
        if self.source is not None:
            entry["from"] = self.source
        if self.shared_with:
            entry["shared_with"] = [{"layer": layer, "what": what} for layer, what in self.shared_with]
        return entry


class LayerMemory(NamedTuple):
    """What one layer keeps for backward, at a batch size."""

    name: str
    type: str
    saved_activation_bytes: int
    saved: tuple[SavedTensor, ...]
    requires_grad: bool        # whether autograd records the layer: an input or a parameter needs a gradient
    output_shared: bool        # the output is the input's storage (a view, the input itself, in place)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        document = {"name": self.name, "type": self.type, "saved_activation_bytes": self.saved_activation_bytes,
                    "saved": [entry.to_dict() for entry in self.saved], "requires_grad": self.requires_grad}
        if self.notes:
            document["notes"] = list(self.notes)
        return document


@dataclass(frozen=True, slots=True)
class MemoryTotals:
    saved_activation_bytes: int
    parameter_bytes: int
    gradient_bytes: int
    optimizer_state_bytes: int
    buffer_bytes: int
    input_bytes: int
    total_bytes: int
    optimizer_host_bytes: int = 0   # CUDA: Adam's step counters live in host memory, outside total_bytes

    def to_dict(self) -> dict[str, int]:
        return {"saved_activation_bytes": self.saved_activation_bytes, "parameter_bytes": self.parameter_bytes,
                "gradient_bytes": self.gradient_bytes, "optimizer_state_bytes": self.optimizer_state_bytes,
                "buffer_bytes": self.buffer_bytes, "input_bytes": self.input_bytes, "total_bytes": self.total_bytes,
                "optimizer_host_bytes": self.optimizer_host_bytes}


@dataclass(frozen=True, slots=True)
class Fit:
    """The largest batch whose total fits a budget: ⌊(budget − fixed) / per_sample⌋, 0 when batch 1 does not."""

    budget_bytes: int
    batch_size: int
    fixed_bytes: int
    per_sample_bytes: int

    def to_dict(self) -> dict[str, int]:
        return {"budget_bytes": self.budget_bytes, "batch_size": self.batch_size, "fixed_bytes": self.fixed_bytes,
                "per_sample_bytes": self.per_sample_bytes}


@dataclass
class TrainingMemory:
    """`archcalc memory`: per-layer saved activations and the totals, at one batch size."""

    name: str | None
    batch_size: int
    dtype: str
    device: str
    optimizer: str
    input_shape: tuple[int, ...]
    layers: list[LayerMemory]
    totals: MemoryTotals
    fixed_bytes: int
    per_sample_bytes: int
    trainable_tensors: int
    input_kept: bool           # whether a layer keeps the input batch (then it is among the saved activations)
    warnings: list[str]
    fit: Fit | None = None

    def layer(self, name: str) -> LayerMemory:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def not_modelled(self) -> tuple[str, ...]:
        return NOT_MODELLED + (NOT_MODELLED_CUDA if self.device == "cuda" else ())

    def to_dict(self, layers: bool = True) -> dict[str, Any]:
        """The JSON document of contract §5, with a few extra keys (`layers=False`: without the layers)."""
        document: dict[str, Any] = {
            "name": self.name, "batch_size": self.batch_size, "dtype": self.dtype, "device": self.device,
            "optimizer": self.optimizer, "input_shape": list(self.input_shape),
        }
        if layers:
            document["layers"] = [layer.to_dict() for layer in self.layers]
        document["totals"] = self.totals.to_dict()
        if self.fit is not None:
            document["fit"] = self.fit.to_dict()
        document["fixed_bytes"] = self.fixed_bytes
        document["per_sample_bytes"] = self.per_sample_bytes
        document["warnings"] = list(self.warnings)
        document["not_modelled"] = list(self.not_modelled)
        return document


# --------------------------------------------------------------------------------------------
# The pass: batch-size independent, then instantiated at a batch size
# --------------------------------------------------------------------------------------------

class _Entry:
    """A kept tensor before the batch size is known: bytes = fixed + per_sample × batch."""

    __slots__ = ("layer", "what", "storage", "shape", "dtype", "per_sample", "fixed", "first_by", "shared", "source")

    def __init__(self, layer: str, what: str, storage: int, shape: tuple[int, ...], dtype: str, per_sample: int,
                 fixed: int, source: str | None):
        self.layer, self.what, self.storage, self.shape, self.dtype = layer, what, storage, shape, dtype
        self.per_sample, self.fixed, self.source = per_sample, fixed, source
        self.first_by: str | None = None
        self.shared: list[tuple[str, str]] | None = None


class _LayerPlan:
    __slots__ = ("name", "type", "entries", "requires_grad", "output_shared", "notes")

    def __init__(self, name: str, type_: str, entries: list[_Entry], requires_grad: bool, output_shared: bool,
                 notes: tuple[str, ...]):
        self.name, self.type, self.entries = name, type_, entries
        self.requires_grad, self.output_shared, self.notes = requires_grad, output_shared, notes


@dataclass
class MemoryPlan:
    """The batch-size independent part: which storages each layer keeps, and the fixed totals."""

    network: Network
    dtype: str
    device: str
    layers: list[_LayerPlan]
    saved_per_sample: int
    saved_fixed: int
    input_per_sample: int
    input_kept: bool
    unkept_input_per_sample: int  # network inputs no layer keeps: counted once, beside the saved activations
    parameter_bytes: int
    gradient_bytes: int
    trainable_tensors: int
    buffer_bytes: int
    warnings: list[str]

    def optimizer_bytes(self, optimizer: str) -> tuple[int, int]:
        """(device bytes, host bytes) of the optimizer state after the first step()."""
        if optimizer in ("none", "sgd"):
            return 0, 0
        if optimizer == "momentum":
            return self.gradient_bytes, 0                      # momentum_buffer, parameter-shaped
        steps = ADAM_STEP_BYTES * self.trainable_tensors       # exp_avg, exp_avg_sq, and a float32 step each
        if self.device == "cuda":                              # not capturable/fused: `step` lives on the CPU
            return 2 * self.gradient_bytes, steps
        return 2 * self.gradient_bytes + steps, 0

    def fixed_bytes(self, optimizer: str) -> int:
        return (self.parameter_bytes + self.gradient_bytes + self.optimizer_bytes(optimizer)[0] + self.buffer_bytes
                + self.saved_fixed)

    @property
    def per_sample_bytes(self) -> int:
        return self.saved_per_sample + self.unkept_input_per_sample

    def total_bytes(self, batch_size: int, optimizer: str) -> int:
        """`at(batch_size, optimizer).totals.total_bytes`, without the per-layer report (a sweep's column)."""
        return self.fixed_bytes(optimizer) + self.per_sample_bytes * batch_size

    def largest_batch(self, budget_bytes: int, optimizer: str) -> int:
        """The largest batch size whose total fits the budget, 0 when batch 1 does not."""
        fixed, per_sample = self.fixed_bytes(optimizer), self.per_sample_bytes
        return (budget_bytes - fixed) // per_sample if budget_bytes >= fixed + per_sample else 0

    def at(self, batch_size: int, optimizer: str, fit: Fit | None = None) -> TrainingMemory:
        batch = check_batch_size(batch_size)
        check_choice("optimizer", optimizer, OPTIMIZERS)
        layers = []
        for plan in self.layers:
            saved, counted = [], 0
            for entry in plan.entries:
                size = entry.fixed + entry.per_sample * batch
                shape = entry.shape
                if shape and shape[0] == BATCH:   # rules put the batch axis first
                    shape = (batch, *shape[1:])
                saved.append(SavedTensor(entry.what, shape, entry.dtype, size, entry.first_by,
                                         tuple(entry.shared) if entry.shared else (), entry.source))
                if entry.first_by is None:
                    counted += size
            layers.append(LayerMemory(plan.name, plan.type, counted, tuple(saved), plan.requires_grad,
                                      plan.output_shared, plan.notes))
        device_state, host_state = self.optimizer_bytes(optimizer)
        fixed, per_sample = self.fixed_bytes(optimizer), self.per_sample_bytes
        totals = MemoryTotals(
            saved_activation_bytes=self.saved_fixed + self.saved_per_sample * batch,
            parameter_bytes=self.parameter_bytes, gradient_bytes=self.gradient_bytes,
            optimizer_state_bytes=device_state, buffer_bytes=self.buffer_bytes,
            input_bytes=self.input_per_sample * batch, total_bytes=self.total_bytes(batch, optimizer),
            optimizer_host_bytes=host_state)
        return TrainingMemory(
            name=self.network.name, batch_size=batch, dtype=self.dtype, device=self.device, optimizer=optimizer,
            input_shape=(batch, *self.network.input_shape), layers=layers, totals=totals, fixed_bytes=fixed,
            per_sample_bytes=per_sample, trainable_tensors=self.trainable_tensors, input_kept=self.input_kept,
            warnings=list(self.warnings), fit=fit)

    def fit(self, budget_bytes: int, optimizer: str) -> TrainingMemory:
        """The largest batch size whose total fits the budget; the result describes batch 1 if none does."""
        if isinstance(budget_bytes, bool) or not isinstance(budget_bytes, int) or budget_bytes < 1:
            raise ValueError(f"the budget must be a positive number of bytes, got {budget_bytes!r}")
        check_choice("optimizer", optimizer, OPTIMIZERS)
        largest = self.largest_batch(budget_bytes, optimizer)
        return self.at(max(largest, 1), optimizer, Fit(budget_bytes, largest, self.fixed_bytes(optimizer),
                                                         self.per_sample_bytes))


def plan_memory(network: Network, dtype: str = "float32", device: str = "cuda") -> MemoryPlan:
    """Walk the network once: what each layer keeps, which storages are shared, the fixed totals."""
    check_choice("dtype", dtype, tuple(DTYPES))
    check_choice("device", device, DEVICES)
    size = DTYPES[dtype]
    element_bytes = {**ELEMENT_BYTES, MODEL: size}

    def resolved(graph_dtype: str) -> str:
        """A graph tensor's dtype at this model dtype: floating tensors take it, integer ones keep theirs."""
        return dtype if graph_dtype == FLOAT else graph_dtype

    network_inputs = network.inputs or (NetworkInput("input", network.input_shape, network.input_dtype),)
    # storage id → bytes per sample (the first ones: the network inputs), and bytes independent of the batch
    per_sample = [prod(item.shape) * element_bytes[resolved(item.dtype)] for item in network_inputs]
    fixed = [0] * len(network_inputs)
    input_per_sample = sum(per_sample)
    # output reference (`name`, `name:1`) → (storage, requires grad)
    tensors: dict[str, tuple[int, bool]] = {item.name: (number, False) for number, item in enumerate(network_inputs)}
    tensors.setdefault("input", (0, False))
    first: dict[int, _Entry] = {}                       # storage → the entry that counts it
    # output reference → memory order (a permutation of its axes; None: strided, no permutation of a buffer)
    order_of: dict[str, tuple[int, ...] | None] = {}
    layers: list[_LayerPlan] = []
    warnings: list[str] = []
    saved_per_sample = saved_fixed = 0
    parameter_elements = trainable_elements = trainable_tensors = buffer_bytes = 0
    live = reaching_output(network)
    dead_keepers: list[str] = []
    by_name = {layer.name: layer for layer in network.layers}

    for layer in network.layers:
        spec, name, sources = layer.spec, layer.name, layer.sources
        if len(sources) == 1:
            inputs = [tensors[sources[0]]]
            grads = (inputs[0][1],)
        else:
            inputs = [tensors[source] for source in sources]
            grads = tuple([grad for _, grad in inputs])
        # a shared module's weights, and a tied weight, are trainable as their owner's are (this call holds none)
        owner = layer.shared_with or vars(spec).get("tie")   # the field (getattr's miss costs 5 µs in pydantic)
        trainable = layer.trainable_params > 0 or (owner is not None and by_name[owner].trainable_params > 0)
        requires_grad = trainable or True in grads
        in_orders = [order_of[source] if source in order_of else _identity(len(shape) + 1)
                     for source, shape in zip(sources, layer.input_shapes)]
        contiguous = tuple([order is not None and order == _identity(len(order)) for order in in_orders])
        rule = spec.saved(Context(layer.input_shapes, layer.output_shape, grads, trainable, dtype, device, contiguous))

        if rule.alias is None:
            output = len(per_sample)
            # a learned tensor (no input) is a view of its parameter, expanded over the batch: a layer keeping
            # it keeps the parameter's own storage, already counted as parameter bytes (measured: ConvNeXt's
            # layer_scale * x keeps 0 activation bytes for the scale)
            learned = not layer.sources
            per_sample.append(0 if learned else prod(layer.output_shape) * element_bytes[resolved(layer.output_dtype)])
            fixed.append(0)
        else:
            output = inputs[rule.alias][0]
            if rule.in_place and output in first and first[output].layer in live:
                keeper = first[output]
                warnings.append(
                    f"{name} ({layer.type}) overwrites in place a tensor that {keeper.layer} keeps for backward"
                    f" ({keeper.what}): PyTorch's backward would fail (\"a variable needed for gradient computation"
                    " has been modified by an inplace operation\")")

        more_outputs = []   # h_n, c_n, attention weights: new tensors; split pieces: views of the input
        for shape in layer.output_shapes[1:]:
            if rule.alias is not None:
                more_outputs.append(output)
                continue
            more_outputs.append(len(per_sample))
            per_sample.append(prod(shape) * element_bytes[resolved(layer.output_dtype)])
            fixed.append(0)
        entries = []
        for kept in rule.kept:
            source = None
            if kept.source <= output_source(1):
                number = output_source(1) - kept.source + 1
                storage, shape = more_outputs[number - 1], (BATCH, *layer.output_shapes[number])
                element = resolved(layer.output_dtype)
            elif kept.source >= 0:
                storage, shape = inputs[kept.source][0], (BATCH, *layer.input_shapes[kept.source])
                element = resolved(layer.input_dtypes[kept.source])
                source = sources[kept.source]
            elif kept.source == OUTPUT:
                storage, shape, element = output, (BATCH, *layer.output_shape), resolved(layer.output_dtype)
            else:
                storage, shape, element = len(per_sample), kept.shape, kept.dtype or dtype
                nbytes = element_bytes[kept.dtype]
                for axis in shape:
                    if axis != BATCH:
                        nbytes *= axis
                batched = BATCH in shape
                per_sample.append(nbytes if batched else 0)
                fixed.append(0 if batched else nbytes)
            entry = _Entry(name, kept.what, storage, shape, element, per_sample[storage], fixed[storage], source)
            owner = first.get(storage)
            if owner is None:
                first[storage] = entry
                saved_per_sample += entry.per_sample
                saved_fixed += entry.fixed
            else:
                entry.first_by = owner.layer
                if owner.shared is None:
                    owner.shared = []
                owner.shared.append((name, kept.what))
            entries.append(entry)

        if entries and name not in live:
            dead_keepers.append(name)
        layers.append(_LayerPlan(name, layer.type, entries, requires_grad, rule.alias is not None, rule.notes))
        tensors[name] = tensors[f"{name}:0"] = (output, requires_grad)
        order_of[name] = order_of[f"{name}:0"] = _output_order(rule, in_orders, len(layer.output_shape) + 1)
        for number, storage in enumerate(more_outputs, start=1):
            order_of[f"{name}:{number}"] = order_of[name]
            tensors[f"{name}:{number}"] = (storage, requires_grad)
        parameter_elements += layer.params
        if trainable and layer.shared_with is None:
            trainable_elements += layer.trainable_params
            trainable_tensors += spec.parameter_tensors()
        for elements, element in spec.buffer_tensors(layer.input_shapes):
            buffer_bytes += elements * element_bytes[element]

    if dead_keepers:
        shown = ", ".join(dead_keepers[:3]) + (f" and {len(dead_keepers) - 3} more" if len(dead_keepers) > 3 else "")
        warnings.append(f"{shown} keep tensors for backward but their outputs never reach the network output:"
                        " PyTorch frees those when the forward pass ends; they are counted here as"
                        " saved_tensors_hooks see them")
    return MemoryPlan(
        network=network, dtype=dtype, device=device, layers=layers, saved_per_sample=saved_per_sample,
        saved_fixed=saved_fixed, input_per_sample=input_per_sample,
        input_kept=any(number in first for number in range(len(network_inputs))),
        unkept_input_per_sample=sum(per_sample[number] for number in range(len(network_inputs))
                                    if number not in first),
        parameter_bytes=parameter_elements * size, gradient_bytes=trainable_elements * size,
        trainable_tensors=trainable_tensors, buffer_bytes=buffer_bytes, warnings=warnings)


@lru_cache(maxsize=64)
def _identity(rank: int) -> tuple[int, ...]:
    """(0, 1, …, rank − 1): the memory order of a contiguous tensor (asked for every input of every layer)."""
    return tuple(range(rank))


def _output_order(rule: Any, in_orders: list, rank: int) -> tuple[int, ...] | None:
    """The memory order of a layer's output: a new tensor is contiguous unless its rule says how it is laid
    out; a view keeps its input's order, reordered by the rule's permutation, or is strided (None)."""
    if rule.alias is None:
        return tuple(rule.permutation) if rule.permutation else _identity(rank)
    source = in_orders[rule.alias]
    if rule.permutation is not None:
        return None if source is None else tuple(source[axis] for axis in rule.permutation)
    if not rule.contiguous or source is None:
        return None
    return _identity(rank) if source == _identity(len(source)) else (source if len(source) == rank else None)


def reaching_output(network: Network) -> set[str]:
    """Names of the layers (and "input") whose output the network output depends on."""
    live = {network.layers[-1].name}
    for layer in reversed(network.layers):
        if layer.name in live:
            live.update(source.rpartition(":")[0] if source.rpartition(":")[2].isdigit() else source
                        for source in layer.sources)
    return live


def training_memory(network: Network, batch_size: int = 1, dtype: str = "float32", optimizer: str = "adam",
                    device: str = "cuda", fit: int | str | None = None) -> TrainingMemory:
    """What training `network` holds between forward and backward. With `fit` (bytes, or text such as
    "24GiB"), the largest batch size whose total fits it, and the memory at that batch size."""
    check_batch_size(batch_size)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    plan = plan_memory(network, dtype, device)
    if fit is not None:
        return plan.fit(parse_budget(fit) if isinstance(fit, str) else fit, optimizer)
    return plan.at(batch_size, optimizer)


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------

def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
    return batch_size


def check_choice(what: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(choices)}")
    return value


def parse_budget(text: str) -> int:
    """`24GiB`, `8GB`, `512MiB`, `1.5GiB`, `1000000` (bytes) → bytes, exactly (the units of `archcalc check`'s
    budgets); ValueError for anything else, zero or negative."""
    from ..spec.budgets import BYTE_SUFFIXES, parse_amount

    if isinstance(text, str) and text.strip().startswith("-"):
        raise ValueError(f"the budget must be positive, got {text!r}")
    amount = parse_amount(text, BYTE_SUFFIXES, "memory budget")
    if amount < 1:
        raise ValueError(f"the budget must be at least one byte, got {text!r}")
    return amount


__all__ = ["DEVICES", "DTYPES", "Fit", "LayerMemory", "MemoryPlan", "MemoryTotals", "NOT_MODELLED",
           "NOT_MODELLED_CUDA", "OPTIMIZERS", "SavedTensor", "TrainingMemory", "parse_budget", "plan_memory",
           "training_memory"]
