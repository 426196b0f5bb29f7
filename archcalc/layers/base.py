"""What every layer family shares: argument types, the `Layer` base model and its `Outcome`.

A layer family module defines, side by side, its pydantic schema (the class fields), its
shape, parameter and MAC rules (`evaluate`), written once as integer arithmetic on the
numbers `bind` hands it (see `archcalc.formula`).
"""

# No `from __future__ import annotations` here: pydantic evaluates the string annotations of a model and
# of all its bases again for every subclass (a compile() each), and every layer type subclasses `Layer`.

from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Sequence

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from ..formula import Bind, Number, value
from ..problems import LayerError

INT64_MAX = 2**63 - 1
Shape = tuple[int, ...]


def describe(raw: Any) -> str:
    """A short, human description of a YAML value for error messages."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return f"the boolean {str(raw).lower()}"
    if isinstance(raw, str):
        return f"the string {raw!r}"
    if isinstance(raw, float):
        return f"the number {raw!r}"
    if isinstance(raw, int):
        return f"{raw:,}"
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dict):
        return "a mapping"
    return type(raw).__name__


def _integer_checker(minimum: int) -> Any:
    def check(raw: Any) -> int:
        if raw.__class__ is int and minimum <= raw <= INT64_MAX:   # a valid value, as most are: one test
            return raw
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"expected an integer, got {describe(raw)}")
        if raw < minimum:
            raise ValueError(f"must be at least {minimum}, got {raw:,}")
        if raw > INT64_MAX:
            raise ValueError(f"{raw:,} is beyond the int64 range PyTorch can hold (at most {INT64_MAX:,})")
        return raw
    return check


def _per_axis_checker(minimum: int) -> Any:
    check_one = _integer_checker(minimum)

    def check(raw: Any) -> int | tuple[int, ...]:
        if raw.__class__ is int:
            return check_one(raw)
        if isinstance(raw, (list, tuple)):
            if not raw:
                raise ValueError("expected an integer or a non-empty list of integers, got an empty list")
            try:
                return tuple(check_one(item) for item in raw)
            except ValueError as error:
                raise ValueError(f"list item: {error}") from None
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"expected an integer or a list of integers (one per axis), got {describe(raw)}")
        return check_one(raw)
    return check


def _integer_schema(minimum: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": INT64_MAX}


def _per_axis_schema(minimum: int) -> dict[str, Any]:
    one = _integer_schema(minimum)
    return {"anyOf": [one, {"type": "array", "items": one, "minItems": 1}]}


def _check_real(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValueError(f"expected a number, got {describe(raw)}")
    return float(raw)


def _check_flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, got {describe(raw)}")
    return raw


def _check_axis(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"expected an axis number (an integer, the batch axis is 0), got {describe(raw)}")
    if abs(raw) > INT64_MAX:
        raise ValueError(f"{raw:,} is beyond the int64 range")
    return raw


def _check_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"expected a non-empty name, got {describe(raw)}")
    return raw


# Argument types: one validator each, so every bad value gets exactly one clear message.
Count = Annotated[int, PlainValidator(_integer_checker(1)), WithJsonSchema(_integer_schema(1))]
Size = Annotated[int, PlainValidator(_integer_checker(0)), WithJsonSchema(_integer_schema(0))]
PerAxisCount = Annotated[int | tuple[int, ...], PlainValidator(_per_axis_checker(1)), WithJsonSchema(_per_axis_schema(1))]
PerAxisSize = Annotated[int | tuple[int, ...], PlainValidator(_per_axis_checker(0)), WithJsonSchema(_per_axis_schema(0))]
Real = Annotated[float, PlainValidator(_check_real), WithJsonSchema({"type": "number"})]
Flag = Annotated[bool, PlainValidator(_check_flag), WithJsonSchema({"type": "boolean"})]
Axis = Annotated[int, PlainValidator(_check_axis), WithJsonSchema({"type": "integer"})]
Name = Annotated[str, PlainValidator(_check_name), WithJsonSchema({"type": "string", "minLength": 1})]

# Spec key aliases: alias → canonical argument name.
ALIASES = {"kernel": "kernel_size"}


def kernel_field() -> Any:
    return Field(validation_alias=AliasChoices("kernel_size", "kernel"),
                 description="Kernel size, an int or one per axis (`kernel` is an alias).")


class Window(NamedTuple):
    """One spatial axis of a sliding window, for receptive-field arithmetic. (A named tuple: every conv and
    pooling layer makes one per axis, and a tuple is built in one step.)"""

    kernel: int
    stride: int
    padding: int  # left / top padding
    dilation: int = 1
    transposed: bool = False


# How a layer changes the spatial layout, for receptive fields:
KEEP = "keep"      # position for position (activations, normalization, dropout)
SLIDE = "slide"    # sliding windows, one `Window` per spatial axis (conv, pooling)
MERGE = "merge"    # several inputs joined position for position (add, mul, concat on channels)
END = "end"        # the spatial layout ends (flatten, linear on the last axis)


class Outcome(NamedTuple):
    """What a layer's rules give for its inputs: output shape, parameters, MACs, buffers.

    Numbers are ints, or formula expressions when the layer is being explained.
    `axes` names the output axes for explanations (C, H, W, L, F, ...); `layout` and `windows`
    describe the spatial mapping for receptive fields; `warnings` are (message, key, code) for
    things that are legal but often a mistake. (A named tuple: immutable, so propagation shares one among
    layers of the same evaluation key, and cheaper to define at start-up than a dataclass.)
    """

    shape: Sequence[Number]
    params: Number = 0
    macs: Number = 0
    buffers: Number = 0
    axes: Sequence[str] = ()
    layout: str = KEEP
    windows: Sequence[Window] = ()
    warnings: Sequence[tuple[str, str | None, str]] = ()
    more_outputs: Sequence[Sequence[Number]] = ()   # outputs 1, 2, ... (`NAME:INDEX`): h_n, c_n, split pieces
    inactive_params: int = 0   # parameters a token does not use (a mixture of experts' unrouted experts)


class Layer(BaseModel):
    """Fields and behaviour common to every layer type."""

    model_config = ConfigDict(extra="forbid", defer_build=True, populate_by_name=True, frozen=True)

    type: str
    name: Name | None = Field(default=None, description="Unique layer name; default `<type>-<position>`.")
    inputs: list[Name] | None = Field(default=None, description="Layers whose outputs feed this one (`input` = network"
                                      " input; `NAME:INDEX` = output INDEX of a layer with several).")
    share: Name | None = Field(default=None, description="Another call of layer NAME's module: its parameters count"
                               " once, at NAME; type and arguments may be left out, and must agree when given.")
    trainable: Flag = Field(default=True, description="false freezes the layer: its parameters count as non-trainable.")
    expect_output_shape: list[Count] | None = Field(default=None, description="Checked by `archcalc check`.")
    call: Literal["module", "function", "operator"] | None = Field(
        default=None, description="How the PyTorch model calls the layer: an nn.Module, a torch /"
        " torch.nn.functional function, or an operator or tensor method (`x + y`, `x.relu()`). Only the hook-based"
        " counting conventions depend on it (docs/conventions.md); default module, operator for add, mul and"
        " concat.")
    ignore: list[str] | None = Field(
        default=None, description="Warning codes to silence on this layer, where the geometry is intended"
        " (`[skipped-input]` on a 1×1 stride-2 downsample convolution); `ignore:` on a block definition or on the"
        " spec silences them on all its layers.")

    # How many inputs the layer takes: 1 (0 for a learned tensor), or None for several (at least `min_inputs`).
    arity: ClassVar[int | None] = 1
    min_inputs: ClassVar[int] = 2
    # Whether a bare `NAME` (and the default input) may mean output 0 of a layer with several outputs:
    # yes for recurrent and attention layers, no for split / chunk, whose pieces are equals.
    bare_reference: ClassVar[bool] = True
    # Whether integer or bool tensors may come in (embeddings, shape ops); others need floating input.
    takes_integers: ClassVar[bool] = False
    # Warning codes that apply only while the input keeps the network input's spatial layout ([C, H, W]
    # through convolutions and pooling); after a permute, reshape or embedding they would be wrong.
    spatial_warnings: ClassVar[frozenset[str]] = frozenset()
    # Keys whose value is a sub-network (a block name or a list of layers), which the spec's block expansion
    # expands in place: a mixture of experts' expert.
    block_keys: ClassVar[tuple[str, ...]] = ()

    # What the type stands for in PyTorch ("torch.nn.Conv2d", "torch.add"); the cross-check tests build it,
    # passing the input-size argument archcalc infers: (constructor argument, per-sample input axis).
    pytorch: ClassVar[str] = ""
    inferred_argument: ClassVar[tuple[str, int] | None] = None
    # A type no torch.nn class stands for (a mixture of experts), which the PyTorch bridges write as a generated
    # class: `pytorch_source(layer, hidden_size, class_name, networks)` gives that class's source lines (`networks`:
    # the class name of each sub-network key's module), `pytorch_arguments(module, network)` reads the layer's
    # arguments back from such a module (`network(submodule)`: a sub-network's layers, traced); `pytorch_class` is
    # the generated class's name, written on it as `archcalc_type = TAG` so that the import recognizes it.
    pytorch_class: ClassVar[str] = ""
    pytorch_source: ClassVar[Any] = None
    pytorch_arguments: ClassVar[Any] = None
    # A type called as a torch function or operator (torch.cat, x.reshape, x + y): `pytorch_call(args, inputs,
    # batch)` gives the expression the exported forward computes it with (`args`: its arguments, defaults filled
    # in; `inputs`: its input variables; `batch`: the batch-size expression). Unset, the export writes
    # `torch.function(input, argument=value, ...)`.
    pytorch_call: ClassVar[Any] = None
    # Counting conventions (archcalc.layers.counting): the row of docs/conventions.md the type shares with
    # similar types, its rule under each tool, how a model calls it by default, and whether it can only be
    # called as a module (it has parameters: a functional call would need them passed in).
    convention_row: ClassVar[str] = ""
    counting: ClassVar[dict[str, Any]] = {}
    default_call: ClassVar[str] = "module"
    module_only: ClassVar[bool] = False

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_inputs(self, shapes: list[Shape], dtypes: list[str]) -> None:
        """Refuse inputs of a dtype the layer cannot take (LayerError); floating inputs are "float". Layers
        take floating tensors unless they say otherwise (an embedding takes integer ids)."""
        for position, dtype in enumerate(dtypes):
            if dtype != "float" and not self.takes_integers:
                article = "an" if dtype[0] in "aeiou" else "a"
                raise LayerError(f"input {position + 1} is {article} {dtype} tensor; a {self.type} needs a floating-point"
                                 " input (an embedding turns integer ids into vectors)", key="inputs", code="dtype")

    def output_dtype(self, dtypes: list[str]) -> str:
        """The dtype rule, beside the shape rule: the output's dtype from the inputs' ("float" is the model's
        floating-point dtype). Most layers keep their first input's."""
        return dtypes[0]

    def notes(self, inputs: list[Shape]) -> list[str]:
        """Sentences that explain what the formulas cannot show (used by `archcalc explain`)."""
        return []

    # Training memory (archcalc.analysis.memory); the vocabulary is in archcalc.layers.autograd.
    def saved(self, context: Any) -> Any:
        """What PyTorch's autograd keeps from this layer for backward: an `autograd.Backward`."""
        raise NotImplementedError(f"{self.type} has no training-memory rule")

    def parameter_tensors(self) -> int:
        """How many parameter tensors the layer has (optimizers keep state per tensor)."""
        return 0

    def buffer_tensors(self, inputs: list[Shape]) -> list[tuple[int, str]]:
        """(elements, dtype) of each buffer tensor; dtype "" is the model's dtype."""
        return []

    def weight_shape(self, inputs: list[Shape]) -> tuple[int, ...] | None:
        """The shape of the layer's `weight` parameter, for `tie` (None: the layer has none)."""
        return None

    def moving_statistics(self, inputs: list[Shape]) -> int:
        """Running statistics that Keras counts as non-trainable parameters (PyTorch: buffers)."""
        return 0


    # LLM sizing (archcalc.analysis.llm): embedding tables and attention heads, reached without type names.
    embedding_table: ClassVar[bool] = False   # a lookup table of vectors (token or position embeddings)

    def attention_heads(self, inputs: list[Shape]) -> "AttentionHeads | None":
        """The attention this layer computes (its self-attention for a transformer layer), None if none."""
        return None


class AttentionHeads(NamedTuple):
    """One attention's heads, for the KV cache and Kaplan's d_attn: keys and values of `kv_heads` heads of
    `key_dim` and `value_dim` features for each of `key_length` positions, `query_heads` heads of queries
    over `query_length` positions; `causal` when each position attends to the earlier ones only (a decoder's
    self-attention: what autoregressive decoding caches)."""

    query_heads: int
    kv_heads: int
    key_dim: int
    value_dim: int
    query_length: int
    key_length: int
    causal: bool

    @property
    def width(self) -> int:
        """d_attn: the query heads' width, query_heads × key_dim."""
        return self.query_heads * self.key_dim

    @property
    def cached_elements(self) -> int:
        """Key and value elements one position adds to the cache: kv_heads × (key_dim + value_dim)."""
        return self.kv_heads * (self.key_dim + self.value_dim)


class Variant:
    """A concrete layer type made from a family base on first use: its `type` tag, class name,
    class settings (e.g. `axes = 2`) and extra fields `{name: (annotation, default)}`.

    Families declare their many small types (conv1d/2d/3d, relu, relu6, ...) as a table of
    variants; only the types a spec uses become pydantic models, which keeps start-up short.
    """

    __slots__ = ("base", "name", "settings", "fields")

    def __init__(self, base: type[Layer], name: str, fields: dict[str, tuple[Any, Any]] | None = None,
                 **settings: Any):
        self.base, self.name, self.settings, self.fields = base, name, settings, fields or {}

    def build(self, tag: str) -> type[Layer]:
        annotations = {"type": Literal[tag], **{key: annotation for key, (annotation, _) in self.fields.items()}}
        settings = self.settings
        namespace = {"__annotations__": annotations, "__module__": self.base.__module__,
                     "__qualname__": self.name, "__doc__": settings.get("pytorch", f"torch.nn.{self.name}"), "pytorch": f"torch.nn.{self.name}",
                     **self.settings, **{key: default for key, (_, default) in self.fields.items()}}
        return type(self.name, (self.base,), namespace)


_AXIS_NAMES = {1: ("F",), 2: ("C", "L"), 3: ("C", "H", "W"), 4: ("C", "D", "H", "W")}


def axis_names(rank: int) -> tuple[str, ...]:
    """Names for the axes of a per-sample shape in explanations: [F], [C, L], [C, H, W], [C, D, H, W]."""
    names = _AXIS_NAMES.get(rank)   # (a default argument to .get would be built at every call)
    return names if names is not None else tuple(f"A{i + 1}" for i in range(rank))


def python_literal(value: Any) -> str:
    """A Python literal: a list of sizes as a tuple, as PyTorch's signatures write them."""
    if isinstance(value, list):
        items = [python_literal(item) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return repr(value)


def per_axis(layer: Layer, key: str, raw: int | tuple[int, ...], axes: int) -> tuple[int, ...]:
    """Expand an int-or-list argument to one value per spatial axis, as PyTorch does."""
    if isinstance(raw, int):
        return (raw,) * axes
    if len(raw) != axes:
        raise LayerError(f"{key} has {len(raw)} values but {layer.type} has {axes} spatial axes", key=key, code="argument")
    return raw


def require_rank(layer: Layer, shape: Shape, ranks: Sequence[int], meaning: str) -> None:
    if len(shape) not in ranks:
        raise LayerError(f"{layer.type} expects a {meaning} input per sample, got shape {list(shape)}"
                         f" ({len(shape)} {'axis' if len(shape) == 1 else 'axes'})", code="rank")


def declared_matches(key: str, declared: int | None, actual: Number, what: str) -> None:
    """Optional input-size arguments (in_channels, in_features, ...) must agree with the input."""
    if declared is not None and declared != value(actual):
        raise LayerError(f"{key} is {declared:,} but the incoming {what} is {value(actual):,}", key=key, code="mismatch")


__all__ = ["AttentionHeads", 
    "ALIASES", "Axis", "Count", "END", "Flag", "INT64_MAX", "KEEP", "Layer", "MERGE", "Name", "Outcome", "PerAxisCount",
    "PerAxisSize", "SLIDE", "Window",
    "Real", "Shape", "Size", "Variant", "axis_names", "declared_matches", "describe", "kernel_field", "per_axis", "python_literal",
    "require_rank",
]
