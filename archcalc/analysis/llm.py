"""LLM sizing (`archcalc llm`): parameters, FLOPs per token, KV cache, inference and training memory per GPU.

Every figure comes from the network's own layers: parameters and MACs from propagation, the KV cache from the
attention layers' key/value heads (`Layer.attention_heads`), activations from the training-memory rules of
`archcalc memory` (`plan_memory`). Beside each exact figure stand the rules of thumb people use — Kaplan et al.
2020, the 6N / 6ND rule, nanoGPT's `estimate_mfu`, Korthikanti et al. 2022, DeepSpeed's and accelerate's
estimators — computed with their own formulas, so the difference is visible. Integer and Fraction arithmetic
only: a ratio is rounded where it is printed, never here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from importlib import resources
from math import prod
from typing import Any, Callable

from ..layers.base import AttentionHeads
from ..network import ELEMENT_BYTES, FLOAT, LayerResult, Network

# Weight and KV-cache element sizes in bits: int4 is half a byte.
ELEMENT_BITS = {"float32": 32, "bfloat16": 16, "float16": 16, "fp8": 8, "int8": 8, "int4": 4}
COMPUTE_DTYPES = ("bfloat16", "float16", "float32")      # what training (mixed precision) computes in
RECOMPUTE = ("none", "selective", "full")
ZERO_STAGES = (0, 1, 2, 3)
# Optimizer state bytes per parameter, beside the fp32 master copy: Adam's m and v, momentum's buffer.
OPTIMIZER_STATE_BYTES = {"adamw": 8, "adam": 8, "momentum": 4, "sgd": 0}
MASTER_BYTES = 4          # the fp32 master weights that mixed precision keeps for the optimizer step
SECONDS_PER_HOUR = 3600
TERA = 10**12
CONTEXT_SEARCH_LIMIT = 2**27   # --fit-context searches up to this many tokens

_BLOCK_NAME = re.compile(r"^(?P<prefix>.+?)\.(?P<index>\d+)\.")


class SizingError(ValueError):
    """A setting the network cannot be sized with (no attention layer, an unknown GPU, a dtype without peak)."""


# --------------------------------------------------------------------------------------------
# GPUs
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GPU:
    name: str
    memory_bytes: int
    tflops: dict[str, Fraction | None]
    source: str
    aliases: tuple[str, ...] = ()

    def peak_flops(self, dtype: str) -> int | Fraction:
        tflops = self.tflops.get(dtype)
        if tflops is None:
            raise SizingError(f"{self.name} has no {dtype} tensor throughput in the GPU table ({self.source})")
        return tflops * TERA


def gpu_table() -> dict[str, GPU]:
    """archcalc/analysis/gpus.json, by name."""
    data = json.loads(resources.files(__package__).joinpath("gpus.json").read_text(encoding="utf-8"))
    table = {}
    for row in data["gpus"]:
        tflops = {dtype: None if value is None else Fraction(value) for dtype, value in row["tflops"].items()}
        table[row["name"]] = GPU(row["name"], row["memory_bytes"], tflops, row["source"], tuple(row["aliases"]))
    return table


def find_gpu(name: str) -> GPU:
    """A GPU by name or alias, in any case."""
    wanted = name.strip().lower()
    for gpu in gpu_table().values():
        if wanted in (candidate.lower() for candidate in (gpu.name, *gpu.aliases)):
            return gpu
    raise SizingError(f"unknown GPU {name!r}; choose from {', '.join(gpu_table())}")


# --------------------------------------------------------------------------------------------
# Results: figures with their formula, tables, sections
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """One number: `label = formula = substituted = value unit`."""

    key: str
    label: str
    value: int | Fraction
    formula: str = ""
    substituted: str = ""
    unit: str = ""
    note: str = ""


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    collapse: bool = False     # rows of repeated blocks: runs equal but for the name print as one line


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    figures: tuple[Figure, ...]
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()

    def figure(self, key: str) -> Figure:
        for item in self.figures:
            if item.key == key:
                return item
        raise KeyError(key)


@dataclass
class LLMSizing:
    name: str | None
    settings: dict[str, Any]
    sections: list[Section]

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def value(self, section: str, key: str) -> int | Fraction:
        return self.section(section).figure(key).value

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "settings": dict(self.settings)}
        for section in self.sections:
            entry: dict[str, Any] = {item.key: bool(item.value) if item.unit == "bool" else json_value(item.value)
                                     for item in section.figures}
            entry["formulas"] = {item.key: item.formula for item in section.figures if item.formula}
            for table in section.tables:
                entry[table.key] = [dict(zip(table.columns, (json_value(cell) for cell in row)))
                                    for row in table.rows]
            if section.notes:
                entry["notes"] = list(section.notes)
            document[section.key] = entry
        return document


def json_value(value: Any) -> Any:
    """Integers stay integers; an exact fraction that is not whole is the string "p/q"."""
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return value


def ceil_div(numerator: int | Fraction, denominator: int | Fraction) -> int:
    return -(-Fraction(numerator) // Fraction(denominator))


def decimal_text(number: Fraction) -> str:
    """A fraction whose decimal expansion ends, written out exactly (989.5); others as p/q."""
    number = Fraction(number)
    denominator, places = number.denominator, 0
    while denominator % 10 == 0 or denominator % 2 == 0 or denominator % 5 == 0:
        if denominator == 1:
            break
        denominator //= 2 if denominator % 2 == 0 else 5
        places += 1
    if denominator != 1:
        return f"{number.numerator}/{number.denominator}"
    scaled = number * 10**places
    text = str(scaled.numerator).rjust(places + 1, "0")
    return f"{text[:-places]}.{text[-places:]}".rstrip("0").rstrip(".") if places else text


def g(number: int | Fraction) -> str:
    """A number in a substituted formula: grouped digits, an exact fraction as p/q."""
    number = Fraction(number)
    if number.denominator == 1:
        return f"{number.numerator:,}"
    return f"{number.numerator:,}/{number.denominator:,}"


# --------------------------------------------------------------------------------------------
# The graph's structure: attention layers, blocks, embeddings
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attention:
    layer: LayerResult
    heads: AttentionHeads


def attention_layers(network: Network) -> list[Attention]:
    found = []
    for layer in network.layers:
        heads = layer.spec.attention_heads(list(layer.input_shapes))
        if heads is not None:
            found.append(Attention(layer, heads))
    return found


@dataclass(frozen=True)
class Block:
    """The layers of one repeated block: names `PREFIX.INDEX.rest` (model.layers.0.mlp.up_proj)."""

    name: str
    layers: tuple[LayerResult, ...]

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)


def blocks(network: Network) -> tuple[list[Block], list[LayerResult]]:
    """The repeated blocks in order (the instances of the outermost `repeat` of a block, from the expansion's
    scopes; without them, layers named PREFIX.INDEX.rest), and the layers outside them (embeddings, final
    norm, head)."""
    layers_source = network.source.get("layers") if isinstance(network.source, dict) else None
    scopes = getattr(layers_source, "scopes", None) or []
    grouped: dict[str, list[LayerResult]] = {}
    outside = []
    for layer in network.layers:
        instance = None
        if scopes:
            repeated = [scope for scope in scopes[layer.index] if scope.repeat is not None] \
                if layer.index < len(scopes) else []
            instance = repeated[0].instance if repeated else None
        else:
            match = _BLOCK_NAME.match(layer.name)
            instance = f"{match['prefix']}.{match['index']}" if match else None
        if instance is None:
            outside.append(layer)
        else:
            grouped.setdefault(instance, []).append(layer)
    return [Block(name, tuple(layers)) for name, layers in grouped.items()], outside


def _reference_layer(reference: str) -> str:
    name, _, index = reference.rpartition(":")
    return name if name and index.isdigit() else reference


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    batch_size: int = 1
    dtype: str = "bfloat16"             # weights at inference
    kv_dtype: str | None = None         # default: dtype
    compute_dtype: str = "bfloat16"     # activations; training's mixed precision
    optimizer: str = "adamw"
    recompute: str = "none"
    zero: int = 0
    tp: int = 1
    pp: int = 1
    dp: int = 1
    tokens: int | None = None
    gpu: GPU | None = None
    gpus: int | None = None             # for GPU-hours; default tp × pp × dp
    mfu: Fraction = Fraction(2, 5)
    memory_bytes: int | None = None     # --gpu-memory, or the GPU's

    def __post_init__(self) -> None:
        for what, value, choices in (("dtype", self.dtype, ELEMENT_BITS), ("kv dtype", self.kv_dtype or "bfloat16",
                                      ELEMENT_BITS), ("compute dtype", self.compute_dtype, COMPUTE_DTYPES),
                                     ("optimizer", self.optimizer, OPTIMIZER_STATE_BYTES),
                                     ("recompute", self.recompute, RECOMPUTE), ("zero stage", self.zero, ZERO_STAGES)):
            if value not in choices:
                raise SizingError(f"unknown {what} {value!r}; choose from {', '.join(map(str, choices))}")
        for what, value in (("batch size", self.batch_size), ("tp", self.tp), ("pp", self.pp), ("dp", self.dp),
                            ("gpus", self.gpus or 1), ("tokens", self.tokens or 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SizingError(f"{what} must be a positive integer, got {value!r}")
        if not 0 < self.mfu <= 1:
            raise SizingError(f"mfu must be in (0, 1], got {self.mfu}")

    @property
    def kv(self) -> str:
        return self.kv_dtype or self.dtype

    @property
    def world(self) -> int:
        return self.tp * self.pp * self.dp

    @property
    def budget(self) -> int | None:
        if self.memory_bytes is not None:
            return self.memory_bytes
        return self.gpu.memory_bytes if self.gpu is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "dtype": self.dtype, "kv_dtype": self.kv,
                "compute_dtype": self.compute_dtype, "optimizer": self.optimizer, "recompute": self.recompute,
                "zero": self.zero, "tp": self.tp, "pp": self.pp, "dp": self.dp, "tokens": self.tokens,
                "gpu": self.gpu.name if self.gpu else None, "gpus": self.gpus or self.world,
                "mfu": json_value(self.mfu), "memory_bytes": self.budget}


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------

class _Model:
    """What every section reads from the network, computed once."""

    def __init__(self, network: Network, settings: Settings):
        self.network, self.settings = network, settings
        self.attentions = attention_layers(network)
        if not self.attentions:
            raise SizingError(f"{network.path}: no attention layer; archcalc llm sizes transformers"
                              " (scaled_dot_product_attention, multiheadattention or a transformer layer)")
        self.causal = [item for item in self.attentions if item.heads.causal]
        first = (self.causal or self.attentions)[0].heads
        self.first = first
        self.tokens_per_sample = first.query_length   # L: the positions of one sequence
        self.context = first.key_length                # n_ctx: the positions each query attends to
        self.blocks, self.outside = blocks(network)
        layers = network.layers
        self.total = network.totals.params
        self.tables = [layer for layer in layers if layer.spec.embedding_table and layer.shared_with is None]
        self.embedding = sum(layer.params for layer in self.tables)
        self.vocabulary = max(self.tables, key=lambda layer: layer.params, default=None)
        self.position = sum(layer.params for layer in self.tables if layer is not self.vocabulary)
        self.non_embedding = self.total - self.embedding
        self.inactive = sum(layer.inactive_params for layer in layers)
        self.active = self.total - self.inactive
        self.largest_layer = max(layers, key=lambda layer: layer.params)

    def saved(self, recompute: str) -> Activations:
        """saved_activations at the compute dtype on CUDA, once per recomputation mode."""
        cache = self.__dict__.setdefault("_saved", {})
        if recompute not in cache:
            cache[recompute] = saved_activations(self.network, self.settings.compute_dtype, recompute, self.attentions)
        return cache[recompute]

    @cached_property
    def core_macs(self) -> int:
        """The attention products q·kᵀ and p·v of every attention, per sample (what selective recomputation
        computes again)."""
        return sum(item.heads.query_heads * item.heads.query_length * item.heads.key_length
                   * (item.heads.key_dim + item.heads.value_dim) for item in self.attentions)


def llm_sizing(network: Network, settings: Settings | None = None) -> LLMSizing:
    """Every section of `archcalc llm` for `network` at `settings`."""
    settings = settings or Settings()
    model = _Model(network, settings)
    sections = [_parameters(model), _flops(model), _kv_cache(model), _inference(model)]
    sections += _training(model)
    if settings.budget is not None:
        sections.insert(0, _verdict(model, sections))
    return LLMSizing(network.name, settings.to_dict(), sections)


def _verdict(model: _Model, sections: list[Section]) -> Section:
    """The answer first: does training fit the budget per GPU at this context, at what batch; and serving."""
    settings = model.settings
    by_key = {section.key: section for section in sections}
    training, inference = by_key["training"], by_key["inference"]
    batch = training.figure("fit_batch").value
    states = training.figure("model_states").value
    figures = [
        Figure("training_fits", "training fits", int(batch >= 1), "model states + activations of one sequence ≤ memory",
               unit="bool", note=f"n_ctx {model.context:,}, {settings.compute_dtype}, ZeRO-{settings.zero},"
                                          f" recompute {settings.recompute}"),
        Figure("training_batch", "largest micro-batch per GPU", batch, note=f"model states {g(states)} B per GPU"),
        Figure("global_batch", "global batch", batch * settings.dp, "micro-batch · dp", f"{g(batch)} · {settings.dp}",
               note=f"{g(batch * settings.dp * model.tokens_per_sample)} tokens a step without gradient accumulation"),
    ]
    if settings.recompute != "full":
        full = model.saved("full")
        spare = settings.budget - states - Fraction(full.fixed, settings.tp)
        per_sample = Fraction(full.per_sample, settings.tp)
        figures.append(Figure("training_batch_full_recompute", "largest micro-batch with full recomputation",
                              max(0, int(spare // per_sample)) if per_sample else 0,
                              note="--recompute full: each block's input kept, one block rebuilt at a time"))
    figures.append(Figure("inference_batch", "largest inference batch" + (f" (tp {settings.tp})" if settings.tp > 1 else
                                                                          " (one GPU, the whole model)"),
                          inference.figure("fit_batch").value, note=f"weights {settings.dtype}, KV cache {settings.kv}"))
    return Section("verdict", f"Does it fit in {g(settings.budget)} B ({fixed_binary(settings.budget)}) per GPU?",
                   tuple(figures))


def fixed_binary(size: int) -> str:
    """GiB with two decimals, from integers."""
    whole, rest = divmod(size * 100 // 2**30, 100)
    return f"{whole:,}.{rest:02d} GiB"


# ----------------------------------------------------------------------------------- parameters

def _parameters(model: _Model) -> Section:
    network = model.network
    tables = ", ".join(layer.name for layer in model.tables) or "none"
    tied = [(layer.name, getattr(layer.spec, "tie", None)) for layer in network.layers if getattr(layer.spec, "tie", None)]
    shared = [(layer.name, layer.shared_with) for layer in network.layers if layer.shared_with]
    figures = [
        Figure("total", "total parameters", model.total, "Σ layer parameters",
               note="a tied or shared weight counted once, as sum(p.numel() for p in model.parameters())"),
        Figure("embeddings", "embedding parameters", model.embedding, "Σ embedding tables", note=tables),
        Figure("non_embedding", "non-embedding parameters", model.non_embedding, "total − embedding",
               f"{g(model.total)} − {g(model.embedding)}",
               note="Kaplan et al.'s N and Hugging Face's num_parameters(exclude_embeddings=True): an untied LM head"
                    " counts here"),
        Figure("active_per_token", "active parameters per token", model.active, "total − Σ inactive experts",
               f"{g(model.total)} − {g(model.inactive)}",
               note="mixture-of-experts layers use top_k of their experts per token"),
    ]
    rows = [(block.name, len(block.layers), block.params) for block in model.blocks]
    outside = sum(layer.params for layer in model.outside)
    rows.append(("(outside the blocks)", len(model.outside), outside))
    notes = []
    if model.blocks:
        notes.append(f"{len(model.blocks)} blocks: the instances of the repeated block ({model.blocks[0].name}, …)")
    notes += [f"{name}: its weight is {owner}'s (tie), counted once, in {owner}" for name, owner in tied]
    if shared:
        notes.append(f"{len(shared)} calls of a shared module (share) add no parameters")
    return Section("parameters", "Parameters", tuple(figures),
                   (Table("per_block", "per block", ("block", "layers", "params"), tuple(rows), True),), tuple(notes))


# ----------------------------------------------------------------------------------- FLOPs

def _flops(model: _Model) -> Section:
    settings = model.settings
    macs = model.network.totals.macs
    length, n_ctx = model.tokens_per_sample, model.context
    forward = Fraction(2 * macs, length)
    # selective recomputation runs the attention products again, where it dropped their L×L tensors; with a
    # fused kernel there are none to drop (its own backward recomputes the scores, inside backward's 2 × forward)
    selective_drops = settings.recompute == "selective" and \
        model.saved("selective").per_sample < model.saved("none").per_sample
    recompute = {"none": Fraction(0), "full": forward,
                 "selective": Fraction(2 * model.core_macs, length) if selective_drops else Fraction(0)}
    training = 3 * forward + recompute[settings.recompute]
    # the rules take the parameters a token uses: a mixture of experts' inactive experts are left out
    n_layer, d_attn, n_nonemb = len(model.attentions), model.first.width, model.non_embedding - model.inactive
    kaplan = 2 * n_nonemb + 2 * n_layer * n_ctx * d_attn
    heads, head_dim = model.first.query_heads, model.first.key_dim
    n_nano = model.active - model.position
    nanogpt = 6 * n_nano + 12 * n_layer * heads * head_dim * n_ctx
    recompute_formula = {"none": "3 · forward", "full": "4 · forward (full recomputation: another forward)",
                         "selective": "3 · forward + 2 · attention-product MACs / L (selective recomputation)"
                         if selective_drops else "3 · forward (selective: a fused attention keeps no L×L tensor to"
                                                 " recompute)"}
    figures = [
        Figure("forward_macs_per_sequence", "forward MACs of one sequence", macs, "Σ layer MACs at L tokens",
               note=f"L = {length:,} tokens"),
        Figure("forward_per_token", "forward FLOPs per token", forward, "2 · MACs / L", f"2 · {g(macs)} / {length:,}",
               "FLOP", note="averaged over the L positions of one sequence: every query attends to all L_k keys"
                            " (PyTorch computes the causal product in full)"),
        Figure("training_per_token", "training FLOPs per token", training, recompute_formula[settings.recompute],
               unit="FLOP", note="backward = 2 · forward"),
        Figure("kaplan_forward_per_token", "Kaplan et al. 2020 forward per token", kaplan,
               "2N + 2 · n_layer · n_ctx · d_attn",
               f"2 · {g(n_nonemb)} + 2 · {n_layer} · {n_ctx:,} · {d_attn:,}", "FLOP",
               note="N non-embedding; counts q·kᵀ only, not the LM head's de-embedding"),
        Figure("six_n_per_token", "6N rule per token (N non-embedding)", 6 * n_nonemb, "6 · N", f"6 · {g(n_nonemb)}",
               "FLOP"),
        Figure("nanogpt_per_token", "nanoGPT estimate_mfu per token", nanogpt, "6N + 12 · L · H · Q · T",
               f"6 · {g(n_nano)} + 12 · {n_layer} · {heads} · {head_dim} · {n_ctx:,}", "FLOP",
               note="N = parameters less the position embeddings (nanoGPT's get_num_params)"),
    ]
    if settings.tokens is not None:
        tokens = settings.tokens
        exact_run, rule_run = training * tokens, 6 * model.active * tokens
        figures += [
            Figure("training_run", "training run FLOPs", exact_run, "training per token · D",
                   f"{g(training)} · {g(tokens)}", "FLOP"),
            Figure("six_nd", "6ND (N all parameters a token uses)", rule_run, "6 · N · D",
                   f"6 · {g(model.active)} · {g(tokens)}", "FLOP", note="Transformer Math 101's C = 6PD"),
        ]
        if settings.gpu is not None:
            gpus = settings.gpus or settings.world
            peak = settings.gpu.peak_flops(settings.compute_dtype)
            hours = exact_run / (peak * settings.mfu) / SECONDS_PER_HOUR
            figures += [
                Figure("gpu_hours", "GPU-hours", hours, "training run FLOPs / (peak · MFU) / 3600",
                       f"{g(exact_run)} / ({g(peak)} · {settings.mfu}) / 3600", "GPU-h",
                       note=f"{settings.gpu.name} {settings.compute_dtype} peak"
                            f" {decimal_text(settings.gpu.tflops[settings.compute_dtype])} TFLOPS"
                            f" ({settings.gpu.source})"),
                Figure("gpu_hours_six_nd", "GPU-hours by 6ND", rule_run / (peak * settings.mfu) / SECONDS_PER_HOUR,
                       "6ND / (peak · MFU) / 3600", f"{g(rule_run)} / ({g(peak)} · {settings.mfu}) / 3600", "GPU-h"),
                Figure("wall_clock_hours", "wall-clock hours", hours / gpus, "GPU-hours / gpus", f"… / {gpus}", "h"),
            ]
    return Section("flops", "FLOPs", tuple(figures))


# ----------------------------------------------------------------------------------- KV cache

def _kv_cache(model: _Model) -> Section:
    settings = model.settings
    bits = ELEMENT_BITS[settings.kv]
    element = Fraction(bits, 8)
    rows = tuple((item.layer.name, item.heads.kv_heads, item.heads.key_dim, item.heads.value_dim,
                  item.heads.cached_elements * element) for item in model.causal)
    elements = sum(item.heads.cached_elements for item in model.causal)
    per_token = elements * element
    positions = model.context * settings.batch_size
    uniform = len({(item.heads.kv_heads, item.heads.key_dim, item.heads.value_dim) for item in model.causal}) == 1
    if uniform and model.first.key_dim == model.first.value_dim:
        heads = model.causal[0].heads
        formula = "2 · n_layer · n_kv_head · d_head · bytes"
        substituted = f"2 · {len(model.causal)} · {heads.kv_heads} · {heads.key_dim} · {g(element)}"
    else:
        formula, substituted = "Σ n_kv_head · (d_key + d_value) · bytes", f"{g(elements)} · {g(element)}"
    figures = (
        Figure("bytes_per_token", "KV cache per token", per_token, formula, substituted, "B",
               note=f"{settings.kv}" + (": half a byte per element" if bits == 4 else "")),
        Figure("bytes", "KV cache at n_ctx × batch", per_token * positions, "per token · n_ctx · batch",
               f"{g(per_token)} · {model.context:,} · {settings.batch_size}", "B"),
    )
    notes = []
    if not model.causal:
        notes.append("no causal self-attention: an encoder reads the whole sequence at once and caches nothing")
    if len(model.causal) < len(model.attentions):
        notes.append(f"{len(model.attentions) - len(model.causal)} attention layers are not causal and cache nothing")
    if model.causal and model.first.kv_heads < model.first.query_heads:
        notes.append(f"grouped-query attention: {model.first.kv_heads} key/value heads for"
                     f" {model.first.query_heads} query heads")
    if bits < 16 and settings.kv != "float32":
        notes.append("a quantized cache's scales and zero points are not counted")
    return Section("kv_cache", "KV cache", figures,
                   (Table("layers", "per layer", ("layer", "kv_heads", "key_dim", "value_dim", "bytes_per_token"),
                          rows, True),) if rows else (), tuple(notes))


# ----------------------------------------------------------------------------------- inference

def _activation_dtype(settings: Settings) -> str:
    """Activations run in the weights' dtype when it is a float, in the compute dtype for quantized weights."""
    return settings.dtype if settings.dtype in ("float32", "bfloat16", "float16") else settings.compute_dtype


def _tensor_bytes(shape: tuple[int, ...], dtype: str, float_dtype: str) -> int:
    return prod(shape) * ELEMENT_BYTES[float_dtype if dtype == FLOAT else dtype]


def largest_transient(network: Network, float_dtype: str) -> tuple[str, int]:
    """(layer, bytes per sample) of the layer whose inputs and outputs together are largest: what one layer
    of a forward pass needs alive at once (a view's output counted as if it were a copy)."""
    best = ("", 0)
    for layer in network.layers:
        dtypes = layer.input_dtypes or (FLOAT,) * len(layer.input_shapes)
        size = sum(_tensor_bytes(shape, dtype, float_dtype) for shape, dtype in zip(layer.input_shapes, dtypes))
        size += sum(_tensor_bytes(shape, layer.output_dtype, float_dtype)
                    for shape in layer.output_shapes or (layer.output_shape,))
        if size > best[1]:
            best = (layer.name, size)
    return best


def _inference(model: _Model) -> Section:
    """Serving on tp GPUs (tensor parallel): weights, KV cache and activations divided by t."""
    settings = model.settings
    batch, tp = settings.batch_size, settings.tp
    element = Fraction(ELEMENT_BITS[settings.dtype], 8)
    weights = ceil_div(model.total * element, tp)
    kv_per_sample = _kv_per_sample(model) / tp
    activation_dtype = _activation_dtype(settings)
    layer, transient = largest_transient(model.network, activation_dtype)
    transient = Fraction(transient, tp)
    per_sample = kv_per_sample + transient
    total = weights + ceil_div(per_sample * batch, 1)
    split = f" / {tp}" if tp > 1 else ""
    figures = [
        Figure("weights", "weights", weights, "N · bytes" + (" / t" if tp > 1 else ""),
               f"{g(model.total)} · {g(element)}{split}", "B", note=settings.dtype),
        Figure("kv_cache", "KV cache", ceil_div(kv_per_sample * batch, 1), "KV cache per sequence · batch"
               + (" / t" if tp > 1 else ""), f"{g(kv_per_sample * tp)} · {batch}{split}", "B"),
        Figure("activations", "largest transient activation", ceil_div(transient * batch, 1),
               "max over layers (inputs + outputs) · batch" + (" / t" if tp > 1 else ""),
               f"{g(transient * tp)} · {batch}{split}", "B", note=f"{layer}, {activation_dtype}, a prefill of n_ctx"),
        Figure("total", "inference memory" + (" per GPU" if tp > 1 else ""), total, "weights + KV cache + activations",
               unit="B"),
    ]
    budget = settings.budget
    if budget is not None:
        fits = max(0, (budget - weights) // per_sample) if per_sample else 0
        figures.append(Figure("fit_batch", "largest batch that fits", int(fits), "⌊(memory − weights) / (KV cache +"
                              " activations per sequence)⌋", f"⌊({g(budget)} − {g(weights)}) / {g(per_sample)}⌋"))
    notes = ["a fused attention kernel's scratch (the math path's L×L scores) is not counted",
             "the prefill's largest tensors are often the logits of every position; generate() computes the last"
             " position's only"]
    if settings.dtype in ("int8", "int4", "fp8"):
        notes.append("quantized weights: the scales and zero points of the quantization groups are not counted;"
                     f" activations computed in {activation_dtype}")
    if tp > 1:
        notes.append(f"tensor parallel over {tp} GPUs: each holds 1/{tp} of the weights, of the key/value heads and"
                     " of the activations")
    return Section("inference", "Inference memory", tuple(figures), notes=tuple(notes))


def _kv_per_sample(model: _Model) -> Fraction:
    element = Fraction(ELEMENT_BITS[model.settings.kv], 8)
    return sum((item.heads.cached_elements for item in model.causal), 0) * element * model.context


# ----------------------------------------------------------------------------------- training

@dataclass
class Activations:
    """Saved activations of one sequence and the batch-independent part, per recomputation mode."""

    fixed: int
    per_sample: int
    block_tensors: list[tuple[str, str, tuple[int, ...], str, int]] = field(default_factory=list)
    block_bytes: int = 0     # block 0's saved bytes at batch 1 (the gap to Korthikanti's per-layer figure)
    note: str = ""

    def at(self, batch: int) -> int:
        return self.fixed + self.per_sample * batch


def saved_activations(network: Network, dtype: str, recompute: str, attentions: list[Attention] | None = None,
                      device: str = "cuda") -> Activations:
    """The training-memory rules of `archcalc memory` at `dtype`, with recomputation: none keeps every saved
    tensor; selective drops the attention's L_q×L_k tensors (recomputed in backward); full keeps each block's
    input only, plus the one block rematerialized during its backward."""
    from .memory import plan_memory

    plan = plan_memory(network, dtype, device)
    one, two = plan.at(1, "none"), plan.at(2, "none")
    layers = {layer.name: layer for layer in network.layers}
    attentions = attention_layers(network) if attentions is None else attentions
    scores = {item.layer.name: (item.heads.query_length, item.heads.key_length) for item in attentions}

    def split(first: int, second: int) -> tuple[int, int]:
        return 2 * first - second, second - first          # (fixed, per sample)

    per_layer: dict[str, tuple[int, int]] = {}
    dropped = [0, 0]
    for small, large in zip(one.layers, two.layers):
        per_layer[small.name] = split(small.saved_activation_bytes, large.saved_activation_bytes)
        if small.name in scores:
            for tensor_1, tensor_2 in zip(small.saved, large.saved):
                if tensor_1.counted and tuple(tensor_1.shape[-2:]) == scores[small.name]:
                    fixed, per_sample = split(tensor_1.bytes, tensor_2.bytes)
                    dropped[0] += fixed
                    dropped[1] += per_sample
    unkept_input = plan.unkept_input_per_sample
    none = (plan.saved_fixed, plan.saved_per_sample + unkept_input)
    found, outside = blocks(network)
    block_tensors = []
    block_bytes = 0
    if found:
        first = {layer.name for layer in found[0].layers}
        for memory in one.layers:
            if memory.name in first:
                block_bytes += memory.saved_activation_bytes
                block_tensors += [(memory.name, tensor.what, tuple(tensor.shape), tensor.dtype, tensor.bytes)
                                  for tensor in memory.saved if tensor.counted]
    if recompute == "none":
        return Activations(*none, block_tensors, block_bytes)
    if recompute == "selective":
        return Activations(none[0] - dropped[0], none[1] - dropped[1], block_tensors, block_bytes)
    # full: outside layers keep theirs; each block keeps the tensors that enter it; one block is rebuilt at a time
    if not found:
        return Activations(*none, block_tensors, block_bytes,
                           "no repeated blocks to checkpoint: full recomputation keeps what no recomputation keeps")
    fixed = sum(per_layer[layer.name][0] for layer in outside)
    per_sample = sum(per_layer[layer.name][1] for layer in outside)
    network_inputs = {item.name: item for item in network.inputs} or {"input": None}
    outside_sources = {_reference_layer(source) for layer in outside for source in layer.sources}
    block_sources = {_reference_layer(source) for block in found for layer in block.layers for source in layer.sources}
    for name in (block_sources - outside_sources) & set(network_inputs):   # inputs only blocks read: kept once
        item = network_inputs[name]
        shape, item_dtype = (item.shape, item.dtype) if item is not None else (network.input_shape, network.input_dtype)
        per_sample += _tensor_bytes(shape, item_dtype, dtype)
    kept_inputs = {memory.name: [(tensor_1, tensor_2) for tensor_1, tensor_2 in zip(memory.saved, large.saved)
                                 if tensor_1.counted and tensor_1.source is not None]
                   for memory, large in zip(one.layers, two.layers)}
    largest = (0, 0)
    for block in found:
        names = {layer.name for layer in block.layers}
        entering = {_reference_layer(source) for layer in block.layers for source in layer.sources} - names
        entering -= set(network_inputs) | {"input"}
        per_sample += sum(_tensor_bytes(layers[name].output_shape, layers[name].output_dtype, dtype)
                          for name in entering)
        # the rebuilt block keeps its checkpointed input again where a layer of it keeps that input: one storage
        again = [split(first.bytes, second.bytes) for name in names for first, second in kept_inputs.get(name, ())
                 if _reference_layer(first.source) in entering]
        block_saved = (sum(per_layer[name][0] for name in names) - sum(pair[0] for pair in again),
                       sum(per_layer[name][1] for name in names) - sum(pair[1] for pair in again))
        largest = max(largest, block_saved, key=lambda pair: pair[1])
    return Activations(fixed + largest[0], per_sample + largest[1], block_tensors, block_bytes)


def korthikanti(model: _Model, batch: int, recompute: str, tp: int) -> tuple[int, str, str]:
    """Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models"), 16-bit
    activations per transformer layer, with sequence parallelism dividing every term by t: (value, formula,
    substituted) for n_layer layers."""
    s, h, a, layers = model.tokens_per_sample, model.first.width, model.first.query_heads, len(model.attentions)
    if recompute == "none":
        value = Fraction(s * batch * (34 * h + 5 * a * s), tp) * layers
        return (ceil_div(value, 1), "n_layer · s · b · h · (34 + 5 · a · s / h) / t",
                f"{layers} · {s:,} · {batch} · {h:,} · (34 + 5 · {a} · {s:,} / {h:,}) / {tp}")
    factor = 34 if recompute == "selective" else 2
    return (ceil_div(Fraction(factor * s * batch * h, tp) * layers, 1), f"n_layer · {factor} · s · b · h / t",
            f"{layers} · {factor} · {s:,} · {batch} · {h:,} / {tp}")


KORTHIKANTI_TERMS = (
    "attention 11sbh + 5as²b: QKV input 2sbh, Q and K 4sbh, softmax output 2as²b, its dropout mask as²b,"
    " the dropped probabilities 2as²b, V 2sbh, the output projection's input 2sbh, its dropout mask sbh",
    "MLP 19sbh: the first linear's input 2sbh, the GeLU's input 8sbh, the second linear's input 8sbh, the"
    " dropout mask sbh",
    "two layer norms 4sbh: their inputs",
)


def model_states(model: _Model) -> list[tuple[str, str, str, int, int, int]]:
    """(key, what, dtype, bytes per parameter, full-model bytes, bytes per GPU) of weights, gradients, the master
    copy and the optimizer state, sharded by tensor × pipeline parallelism and by ZeRO over data parallelism."""
    settings = model.settings
    half = settings.compute_dtype != "float32"
    element = ELEMENT_BYTES[settings.compute_dtype]
    local = ceil_div(model.total, settings.tp * settings.pp)
    rows = [("weights", "weights", settings.compute_dtype, element, 3),
            ("gradients", "gradients", settings.compute_dtype, element, 2)]
    if half:
        rows.append(("master_weights", "fp32 master weights", "float32", MASTER_BYTES, 1))
    if OPTIMIZER_STATE_BYTES[settings.optimizer]:
        rows.append(("optimizer", f"{settings.optimizer} state (m, v)" if settings.optimizer.startswith("adam") else
                     "momentum buffer", "float32", OPTIMIZER_STATE_BYTES[settings.optimizer], 1))
    out = []
    for key, what, dtype, size, stage in rows:
        shards = settings.dp if settings.zero >= stage else 1
        out.append((key, what, dtype, size, size * model.total, ceil_div(size * local, shards)))
    if settings.zero == 3:
        gathered = ceil_div(2 * element * model.largest_layer.params, settings.tp)
        out.append(("zero3_gathered", f"ZeRO-3 gathered largest layer ({model.largest_layer.name}, weights and"
                    " gradients)", settings.compute_dtype, 0, 0, gathered))
    return out


def _training(model: _Model) -> list[Section]:
    settings = model.settings
    batch = settings.batch_size
    states = model_states(model)
    state_bytes = sum(row[5] for row in states)
    activations = model.saved(settings.recompute)
    per_gpu_fixed, per_gpu_sample = Fraction(activations.fixed, settings.tp), Fraction(activations.per_sample, settings.tp)
    act = ceil_div(per_gpu_fixed + per_gpu_sample * batch, 1)
    bytes_per_param = sum(row[3] for row in states)
    figures = [Figure(f"states_{key}", what, per_gpu,
                      f"{size} B · N{' / ' + str(settings.tp * settings.pp) if settings.tp * settings.pp > 1 else ''}"
                      + (" / dp" if full != per_gpu and size else ""), unit="B", note=dtype)
               if size else Figure(f"states_{key}", what, per_gpu, "2 · 2 B · largest layer / t", unit="B", note=dtype)
               for key, what, dtype, size, full, per_gpu in states]
    figures += [
        Figure("model_states", "model states per GPU", state_bytes, f"{bytes_per_param} B per parameter, sharded",
               unit="B", note=f"ZeRO-{settings.zero}, tp {settings.tp}, pp {settings.pp}, dp {settings.dp}"),
        Figure("activations", "saved activations per GPU", act, "(fixed + per sequence · b) / t",
               f"({g(activations.fixed)} + {g(activations.per_sample)} · {batch}) / {settings.tp}", "B",
               note=f"exact from the graph, {settings.compute_dtype} on CUDA, recompute {settings.recompute}"),
        Figure("total", "training memory per GPU", state_bytes + act, "model states + activations", unit="B"),
    ]
    budget = settings.budget
    if budget is not None:
        spare = budget - state_bytes - per_gpu_fixed
        fits = max(0, int(spare // per_gpu_sample)) if per_gpu_sample else 0
        figures.append(Figure("fit_batch", "largest micro-batch that fits", fits,
                              "⌊(memory − model states − fixed activations) / activations per sequence⌋",
                              f"⌊({g(budget)} − {g(state_bytes)} − {g(per_gpu_fixed)}) / {g(per_gpu_sample)}⌋",
                              note=f"per GPU, {g(budget)} B"))
    notes = ["mixed precision: 16-bit weights and gradients, fp32 master weights and optimizer state (the ZeRO paper's"
             " 2 + 2 + K bytes per parameter, K = 12 for Adam)" if settings.compute_dtype != "float32" else
             "float32 training: weights, gradients and optimizer state in float32, no master copy",
             "tensor parallelism divides weights and activations by t (with sequence parallelism); pipeline"
             " parallelism divides the weights by p, while its first stage holds p micro-batches of 1/p of the"
             " layers (1F1B): the activations of the whole model for one micro-batch",
             "not counted: the CUDA context, the allocator's fragmentation, communication buffers, the backward pass's"
             " temporaries and the logits' loss"]
    if activations.note:
        notes.append(activations.note)
    training = Section("training", "Training memory per GPU", tuple(figures),
                       (Table("states", "model states", ("what", "dtype", "bytes_per_param", "full_model_bytes",
                                                         "per_gpu_bytes"), tuple(row[1:] for row in states)),),
                       tuple(notes))
    value, formula, substituted = korthikanti(model, batch, settings.recompute, settings.tp)
    exact_blocks = activations.block_bytes * len(model.blocks) * batch
    s, h, a = model.tokens_per_sample, model.first.width, model.first.query_heads
    layer_formula, _, _ = korthikanti(model, 1, "none", 1)
    per_layer_formula = layer_formula // len(model.attentions)
    gap = Section("activations_gap", "Activations: exact against Korthikanti et al. 2022", (
        Figure("korthikanti", "Korthikanti et al. activations", value, formula, substituted, "B",
               note="16-bit GPT-3-style layers; embeddings, final norm and output layer not included"),
        Figure("exact", "exact saved activations", act, "the graph's saved tensors (above)", unit="B"),
        Figure("exact_per_block", "exact per block (no recomputation, batch 1)", activations.block_bytes,
               "Σ saved tensors of block 0", unit="B"),
        Figure("korthikanti_per_layer", "Korthikanti per layer (no recomputation, batch 1)", per_layer_formula,
               "s · h · (34 + 5 · a · s / h)", unit="B"),
        Figure("exact_blocks", "exact, all blocks (no recomputation)", exact_blocks, "per block · blocks · b", unit="B"),
        Figure("exact_coefficient", "exact bytes per s·h element of a block", Fraction(activations.block_bytes, s * h),
               "exact per block / (s · h)", f"{g(activations.block_bytes)} / ({s:,} · {h:,})",
               note="the formula's coefficient stands below"),
        Figure("korthikanti_coefficient", "Korthikanti's coefficient", 34 + Fraction(5 * a * s, h), "34 + 5 · a · s / h",
               f"34 + 5 · {a} · {s:,} / {h:,}", note="34 for the s·b·h tensors, 5·a·s/h for the L×L ones"),
    ), (Table("block_tensors", "what block 0 keeps (batch 1)", ("layer", "what", "shape", "dtype", "bytes"),
              tuple((name, what, "×".join(map(str, shape)), dtype, size)
                    for name, what, shape, dtype, size in activations.block_tensors)),),
        ("the formula counts: " + "; ".join(KORTHIKANTI_TERMS),
         "a GPT-3-style layer (unfused attention with dropout, GeLU MLP, layer norms, 16-bit on CUDA) keeps exactly"
         " the formula's bytes plus each layer norm's float32 mean and 1/std (tests/test_llm.py)",
         "the exact figure counts what this spec's layers keep: a fused attention keeps q, k, v, its output and a"
         " float32 log-sum-exp instead of the L×L softmax (the 5as/h term), RMSNorm and half-precision norms keep"
         " float32 statistics, a SwiGLU MLP keeps three d_ff-wide tensors, rotary embeddings keep their inputs"))
    rules = _rules_of_thumb(model, states)
    return [training, gap, rules]


def _rules_of_thumb(model: _Model, states: list) -> Section:
    settings = model.settings
    n = model.total
    gpus = settings.dp
    largest = model.largest_layer.params
    rows = (
        ("archcalc (mixed precision, ZeRO paper: 2 + 2 + 12)", "16", 16 * n, "full model, unsharded"),
        ("Transformer Math 101, 16-bit gradients (2 + 2 + 12)", "16", 16 * n, "EleutherAI, 'Transformer Math 101'"),
        ("Transformer Math 101, fp32 gradients (2 + 4 + 12)", "18", 18 * n, "EleutherAI, 'Transformer Math 101'"),
        (f"DeepSpeed estimate_zero2_model_states_mem_needs, {gpus} GPU(s), no offload", "2 + 18/gpus",
         deepspeed_zero2(n, gpus), "deepspeed 0.19.8 runtime/zero/stage_1_and_2.py:4031: 2 = 16-bit params;"
                                   " 18 = 16-bit and fp32 grads, fp32 params, m and v"),
        (f"DeepSpeed estimate_zero3_model_states_mem_needs, {gpus} GPU(s), no offload", "4·largest/N + 18/gpus",
         deepspeed_zero3(n, largest, gpus), "deepspeed 0.19.8 runtime/zero/stage3.py:4027,4046"),
        ("accelerate estimate-memory, float32, 'Training using Adam'", "16", accelerate_training(4 * n, "float32"),
         "accelerate 1.15.0 commands/estimate.py:256-260,316: max of model, gradients, optimizer, step = 4 × 4N"),
        ("accelerate estimate-memory, float16/bfloat16, 'Training using Adam'", "8",
         accelerate_training(4 * n, "bfloat16"), "accelerate 1.15.0 commands/estimate.py:261-270,316: the largest"
                                                 " stage (optimizer, 2 × 4N), not their sum"),
    )
    figures = (Figure("parameters", "N", n), Figure("deepspeed_zero2", "DeepSpeed ZeRO-2 GPU bytes", rows[3][2],
                                                     "2N + int(18N / gpus)", f"2 · {g(n)} + ⌊18 · {g(n)} / {gpus}⌋", "B"),
               Figure("deepspeed_zero3", "DeepSpeed ZeRO-3 GPU bytes", rows[4][2],
                      "4 · largest layer + int(18N / gpus)", f"4 · {g(largest)} + ⌊18 · {g(n)} / {gpus}⌋", "B"),
               Figure("accelerate_float32", "accelerate Adam, float32", rows[5][2], "4 · (4N)", unit="B"),
               Figure("accelerate_half", "accelerate Adam, half", rows[6][2], "2 · (4N)", unit="B"),
               Figure("accelerate_int4_weights", "accelerate total size, int4", Fraction(4 * n, 8), "4N / 8", unit="B"))
    return Section("rules_of_thumb", "Model states by the rules of thumb", figures,
                   (Table("rules", "bytes per parameter", ("rule", "bytes_per_param", "bytes", "source"), rows),),
                   ("each rule counts model states only (no activations), for the whole model unless it names GPUs",))


# ----------------------------------------------------------------------------------- the published estimators

def deepspeed_zero2(total_params: int, gpus: int = 1) -> int:
    """DeepSpeed's estimate_zero2_model_states_mem_needs(cpu_offload=False) GPU bytes (deepspeed 0.19.8,
    runtime/zero/stage_1_and_2.py:4031): 2 * total_params + int(18 * total_params / total_gpus)."""
    return 2 * total_params + 18 * total_params // gpus


def deepspeed_zero3(total_params: int, largest_layer_params: int, gpus: int = 1) -> int:
    """estimate_zero3_model_states_mem_needs(cpu_offload=False) GPU bytes (runtime/zero/stage3.py:4027, 4046):
    4 * largest_layer_params + int(18 * total_params / total_gpus)."""
    return 4 * largest_layer_params + 18 * total_params // gpus


def accelerate_training(total_size: int, dtype: str) -> int:
    """accelerate estimate-memory's 'Training using Adam' for a model of `total_size` bytes in float32
    (accelerate 1.15.0, commands/estimate.py estimate_training_usage, 239-271, and the max at 316)."""
    fp32, fp16 = total_size, total_size // 2
    if dtype == "float32":
        stages = (fp32, fp32, 2 * fp32, 4 * fp32)
    else:
        stages = (fp32, fp32 + fp16, 2 * fp32, 2 * fp32)
    return max(stages)


# ----------------------------------------------------------------------------------- context search

@dataclass(frozen=True)
class ContextFit:
    """The longest context whose memory fits, found by exact evaluation (doubling, then bisection)."""

    what: str
    seq_len: int
    total_bytes: int
    evaluations: int
    limit: str = ""      # why the search stopped above (the spec cannot be built longer, or the search bound)


def fit_context(build: Callable[[int], Network | None], start: int, fits: Callable[[Network], tuple[bool, int]],
                what: str) -> ContextFit:
    """The largest seq_len ≥ 1 with fits(build(seq_len)) true. Memory grows with the context, so doubling from
    `start` brackets the answer and bisection finds it; build returns None where the spec cannot be built."""
    cache: dict[int, tuple[bool, int] | None] = {}

    def check(length: int) -> tuple[bool, int] | None:
        if length not in cache:
            network = build(length)
            cache[length] = None if network is None else fits(network)
        return cache[length]

    low, high, limit = 0, None, ""
    length = max(1, start)
    while True:
        result = check(length)
        if result is None:
            high, limit = length, f"the spec cannot be built at seq_len {length:,}"
            break
        if not result[0]:
            high = length
            break
        low = length
        if length >= CONTEXT_SEARCH_LIMIT:
            limit = f"the search stops at {CONTEXT_SEARCH_LIMIT:,} tokens"
            break
        length *= 2
    if high is None:
        high = low + 1
    elif low == 0:       # start did not fit: search below it
        length = 1
        while length < high:
            result = check(length)
            if result is None or not result[0]:
                high = length
                break
            low, length = length, length * 2
    while high - low > 1:
        middle = (low + high) // 2
        result = check(middle)
        if result is not None and result[0]:
            low = middle
        else:
            high = middle
    total = cache[low][1] if low and cache.get(low) else 0
    return ContextFit(what, low, total, len(cache), limit)


def training_fits(settings: Settings) -> Callable[[Network], tuple[bool, int]]:
    def fits(network: Network) -> tuple[bool, int]:
        total = llm_sizing(network, settings).value("training", "total")
        return total <= settings.budget, int(total)
    return fits


def inference_fits(settings: Settings) -> Callable[[Network], tuple[bool, int]]:
    def fits(network: Network) -> tuple[bool, int]:
        model = _Model(network, settings)
        total = _inference(model).figure("total").value
        return total <= settings.budget, int(total)
    return fits


__all__ = ["COMPUTE_DTYPES", "ELEMENT_BITS", "GPU", "KORTHIKANTI_TERMS", "OPTIMIZER_STATE_BYTES", "RECOMPUTE",
           "ZERO_STAGES", "Activations", "ContextFit", "Figure", "LLMSizing", "Section", "Settings", "SizingError",
           "Table", "accelerate_training", "attention_layers", "blocks", "deepspeed_zero2", "deepspeed_zero3",
           "find_gpu", "fit_context", "gpu_table", "inference_fits", "largest_transient", "llm_sizing",
           "saved_activations", "training_fits"]
