"""Mixture of experts: moe — a router picks top_k of `experts` copies of an expert network for every token.

The expert is a small network of archcalc layers (a block named in `blocks:`, or inline layers) whose
input is `input`, a [..., d] tensor of tokens, and whose output has the input's shape: Mixtral's SwiGLU
MLP down_proj(silu(gate_proj(x)) · up_proj(x)). The router is a linear d → E without bias (Mixtral's
`gate`); softmax, top-k and the renormalisation are element-wise (no MACs). `shared_experts: S` adds S
experts that every token passes through (DeepSeek-MoE; `shared_expert` gives them their own block, as
Qwen2-MoE's wider shared MLP, and `shared_expert_gate` Qwen2-MoE's sigmoid(Linear(d, 1)) scaling).
With T = the tokens per sample (the product of the input's leading axes), P_e and M_e one expert's
parameters and MACs on all T tokens (P_s, M_s the shared expert's):
    params = d·E (+ E router bias) + E·P_e + S·P_s (+ d gate)       — every expert is stored
    MACs   = T·d·E + k·M_e + S·M_s (+ T·d gate)                     — each token runs k routed experts
    inactive params (not used by a token) = (E − k)·P_e
The MACs assume what the routing does by construction: every token goes to exactly k distinct experts, so
the experts together process k·T tokens, however the router spreads them (FlopCounterMode measures the
same figure on any routing; capacity limits and dropped tokens are not modelled).
"""

import textwrap
from math import prod
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

import yaml
from pydantic import Field, PlainValidator, ValidationError, WithJsonSchema

from ..formula import Bind, Number, plain
from ..problems import LayerError
from .autograd import BATCH, NEW, NOTHING, OUTPUT, Backward, Context, Kept
from .base import END, Count, Flag, Layer, Outcome, Shape, Size, describe
from .counting import Rule, batch_macs


# --------------------------------------------------------------------------------------- the expert network

def _check_expert(raw: Any) -> tuple[Layer, ...]:
    """The expert's layers, each validated as its own type (the spec's block expansion has already turned a
    block name into this flat list, names local to the expert and `input` its input)."""
    from . import layer_class

    if not isinstance(raw, (list, tuple)) or not raw:
        raise ValueError(f"expected the expert's layers (a block name or a non-empty list of layers), got"
                         f" {describe(raw)}")
    layers = []
    for position, item in enumerate(raw):
        if isinstance(item, Layer):
            layers.append(item)
            continue
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ValueError(f"expert layer {position + 1}: a layer must be a mapping with a 'type' key, got"
                             f" {describe(item)}")
        tag = item["type"].lower()
        label = f"expert layer {item.get('name', position + 1)!r}"
        try:
            kind = layer_class(tag)
        except KeyError:
            raise ValueError(f"{label}: unknown layer type {item['type']!r}") from None
        if kind is MixtureOfExperts:
            raise ValueError(f"{label}: an expert cannot itself be a mixture of experts")
        for key in ("share", "tie"):
            if key in item:
                raise ValueError(f"{label}: '{key}' is not available inside an expert (each expert owns its"
                                 " parameters)")
        try:
            layers.append(kind.model_validate({**item, "type": tag}))
        except ValidationError as error:
            # an unknown key first: a misspelt required key is also reported missing, and the typo is the cause
            first = min(error.errors(include_url=False), key=lambda detail: detail["type"] != "extra_forbidden")
            where = ".".join(str(part) for part in first["loc"] if part != tag)
            message = first["msg"].removeprefix("Value error, ")
            if first["type"] == "extra_forbidden":
                message = f"unknown key {where!r} for {tag}"
            elif first["type"] == "missing":
                message = f"missing required key {where!r}"
            elif where:
                message = f"{where}: {message}"
            raise ValueError(f"{label}: {message}") from None
    return tuple(layers)


ExpertLayers = Annotated[Any, PlainValidator(_check_expert), WithJsonSchema({"anyOf": [
    {"type": "string", "description": "A block of `blocks:`."},
    {"type": "object", "properties": {"block": {"type": "string"}, "with": {"type": "object"}}, "required": ["block"],
     "additionalProperties": False, "description": "A block with arguments."},
    {"type": "array", "items": {"type": "object"}, "minItems": 1, "description": "The expert's layers."}]})]


class Step(NamedTuple):
    """One layer of an expert network, propagated: its name, inputs (names), shapes and counts."""

    name: str
    layer: Layer
    sources: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    params: int
    macs: int
    buffers: int


class Expert(NamedTuple):
    steps: tuple[Step, ...]
    params: int
    macs: int
    buffers: int
    output: Shape


def run_expert(layers: tuple[Layer, ...], shape: Shape, what: str, key: str = "expert") -> Expert:
    """Propagate the expert's layers on one input `shape` (inputs name earlier layers of the expert or
    `input`; the default is the previous layer), with the layers' own rules; problems point at `key`."""
    outputs: dict[str, tuple[Shape, ...]] = {"input": (tuple(shape),)}
    previous, steps = "input", []
    for position, layer in enumerate(layers):
        name = layer.name or f"{layer.type}-{position + 1}"
        label = f"{what} layer {name!r} ({layer.type})"
        if name in outputs:
            raise LayerError(f"{label}: the name {name!r} is used twice in the expert", key=key,
                             code="duplicate-name")
        sources = tuple(layer.inputs) if layer.inputs else (() if layer.arity == 0 else (previous,))
        shapes = []
        for source in sources:
            base, colon, index = source.rpartition(":")
            found = outputs.get(source) if source in outputs or not colon else None
            if found is None and colon and base in outputs and index.isdigit() and int(index) < len(outputs[base]):
                found = (outputs[base][int(index)],)
            if found is None:
                raise LayerError(f"{label}: unknown input {source!r} (an expert's layers see `input` and the"
                                 " expert's earlier layers)", key=key, code="bad-reference")
            shapes.append(found[0])
        if (layer.arity is None and len(sources) < layer.min_inputs) or \
                (layer.arity is not None and len(sources) != layer.arity):
            raise LayerError(f"{label}: takes {layer.arity if layer.arity is not None else layer.min_inputs}"
                             f" input(s), got {len(sources)}", key=key, code="arity")
        try:
            layer.check_inputs(shapes, ["float"] * len(shapes))
            outcome = layer.evaluate(shapes, plain)
        except LayerError as error:
            raise LayerError(f"{label}: {error.message}", key=key, code=error.code) from None
        produced = (tuple(outcome.shape), *(tuple(more) for more in outcome.more_outputs))
        if any(size < 1 for size in produced[0]):
            raise LayerError(f"{label}: would produce the empty shape {list(produced[0])}", key=key,
                             code="too-small")
        steps.append(Step(name, layer, sources, tuple(map(tuple, shapes)), produced, outcome.params, outcome.macs,
                          outcome.buffers))
        outputs[name] = produced
        previous = name
    last = steps[-1]
    return Expert(tuple(steps), sum(step.params for step in steps), sum(step.macs for step in steps),
                  sum(step.buffers for step in steps), last.output_shapes[0])


# --------------------------------------------------------------------------------------- the layer

class MixtureOfExperts(Layer):
    """A sparse mixture-of-experts block (Mixtral's MixtralSparseMoeBlock, Qwen2-MoE's with a shared expert)."""

    type: Literal["moe"]
    experts: Count = Field(description="E, the routed experts (Mixtral: num_local_experts = 8).")
    top_k: Count = Field(description="k, the experts each token is routed to (Mixtral: num_experts_per_tok = 2).")
    expert: ExpertLayers = Field(description="The expert network: a block name from `blocks:` (or {block, with})"
                                 " or a list of layers; its input is `input` and it returns the input's shape.")
    shared_experts: Size = Field(default=0, description="S experts every token passes through (DeepSeek-MoE's"
                                 " n_shared_experts, Qwen2-MoE's one shared expert).")
    shared_expert: ExpertLayers | None = Field(default=None, description="The shared experts' network when it"
                                               " differs from `expert` (Qwen2-MoE's wider MLP).")
    shared_expert_gate: Flag = Field(default=False, description="Qwen2-MoE: the shared experts' output is scaled"
                                     " by sigmoid(Linear(d, 1, bias=False)(x)).")
    router_bias: Flag = Field(default=False, description="The router linear has a bias (Mixtral, Qwen2-MoE and"
                              " DeepSeek-MoE have none).")
    normalize_top_k: Flag = Field(default=True, description="The k routing weights are renormalised to sum to 1"
                                  " (Mixtral; Qwen2-MoE's norm_topk_prob, false in Qwen1.5-MoE-A2.7B). Changes only"
                                  " what training keeps.")

    # keys whose value is a sub-network: the spec's block expansion expands them (a block name, or layers)
    block_keys: ClassVar[tuple[str, ...]] = ("expert", "shared_expert")

    def _networks(self, shape: Shape) -> tuple[Expert, Expert | None]:
        """The routed expert and the shared one (None without shared experts) on `shape`, checked."""
        if len(shape) < 1:
            raise LayerError("moe expects tokens [..., d] per sample", key="inputs", code="rank")
        if self.top_k > self.experts:
            raise LayerError(f"top_k ({self.top_k:,}) cannot exceed experts ({self.experts:,})", key="top_k",
                             code="argument")
        if self.shared_expert is not None and not self.shared_experts:
            raise LayerError("shared_expert is given but shared_experts is 0", key="shared_expert", code="argument")
        if self.shared_expert_gate and not self.shared_experts:
            raise LayerError("shared_expert_gate needs shared_experts ≥ 1", key="shared_expert_gate", code="argument")
        routed = run_expert(self.expert, shape, "expert")
        shared = None
        if self.shared_experts:
            shared = run_expert(self.shared_expert or self.expert, shape, "shared expert",
                                "shared_expert" if self.shared_expert is not None else "expert")
        for network, what in ((routed, "expert"), (shared, "shared expert")):
            if network is not None and network.output != tuple(shape):
                raise LayerError(f"the {what} returns {list(network.output)} for an input {list(shape)}: an expert"
                                 " must return its input's shape", key="shared_expert" if what != "expert" else
                                 "expert", code="shape-mismatch")
        return routed, shared

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        routed, shared = self._networks(shape)
        d = bind("d", shape[-1])
        e, k = bind("E", self.experts), bind("k", self.top_k)
        t = bind("T", prod(shape[:-1])) if len(shape) > 1 else 1
        p_e, m_e = bind("P_e", routed.params), bind("M_e", routed.macs)
        params: Number = d * e + e * p_e
        macs: Number = t * d * e + k * m_e
        if self.router_bias:
            params = params + e
        if shared is not None:
            s = bind("S", self.shared_experts)
            p_s = bind("P_s", shared.params) if self.shared_expert is not None else p_e
            m_s = bind("M_s", shared.macs) if self.shared_expert is not None else m_e
            params, macs = params + s * p_s, macs + s * m_s
            if self.shared_expert_gate:
                params, macs = params + d, macs + t * d
        buffers = self.experts * routed.buffers + (self.shared_experts * shared.buffers if shared else 0)
        axes = ("L", "d") if len(shape) == 2 else tuple(f"A{i + 1}" for i in range(len(shape) - 1)) + ("d",)
        return Outcome(shape=shape, params=params, macs=macs, buffers=buffers, axes=axes, layout=END,
                       inactive_params=(self.experts - self.top_k) * routed.params)

    def notes(self, inputs: list[Shape]) -> list[str]:
        shape = inputs[0]
        routed, shared = self._networks(shape)
        def listing(network: Expert) -> str:
            return "; ".join(f"{step.name} ({step.layer.type}) {step.params:,} params, {step.macs:,} MACs"
                             for step in network.steps)
        notes = [f"router: a linear d → E = {shape[-1]:,} → {self.experts}" + (" with bias" if self.router_bias else
                 " without bias") + "; softmax, top-k and the weighting are element-wise (no MACs)",
                 f"one expert, on all T tokens: P_e = {routed.params:,} params, M_e = {routed.macs:,} MACs ("
                 + listing(routed) + ")",
                 f"every token goes to exactly k = {self.top_k} of the E = {self.experts} experts, so the experts"
                 f" together run k·T tokens whatever the routing (no capacity limit, no dropped tokens);"
                 f" the {self.experts - self.top_k} experts a token skips hold (E − k)·P_e ="
                 f" {(self.experts - self.top_k) * routed.params:,} parameters it does not use (inactive_params)"]
        if shared is not None:
            notes.append(f"{self.shared_experts} shared expert{'s' * (self.shared_experts != 1)}"
                         f" {'run' if self.shared_experts != 1 else 'runs'} every token"
                         + (f": P_s = {shared.params:,} params, M_s = {shared.macs:,} MACs (" + listing(shared) + ")"
                            if self.shared_expert is not None else " (the expert network)")
                         + ("; their sum is scaled by sigmoid(Linear(d, 1, bias=False)(x)), d params and T·d MACs"
                            if self.shared_expert_gate else ""))
        return notes

    # training memory ------------------------------------------------------------------------------

    def saved(self, context: Context) -> Backward:
        """HF's routing loop (MixtralSparseMoeBlock in transformers 5.24), as tests/torch_modules.py runs it: the
        router keeps its input (when it trains) and the softmax probabilities [T, E] (float32), top-k its indices
        [T, k] and the renormalisation (normalize_top_k) its operands; each expert gathers its tokens (a copy, and
        the indices), runs its layers (what they keep, on its tokens) and is weighted (its output, the weights and
        their position indices kept), and index_add_ keeps the weighted output it adds. Over all experts that is the
        expert network's tensors on k·T tokens."""
        if not context.needs_grad:
            return NOTHING
        shape = context.inputs[0]
        d, tokens = shape[-1], prod(shape[:-1])
        routed_tokens = self.top_k * tokens
        routed, _ = self._networks((routed_tokens, d))
        kept: list[Kept] = []
        if context.trainable:
            kept.append(Kept("router input", 0))
        kept += [Kept("router softmax", NEW, (BATCH, tokens, self.experts), "float32"),
                 Kept("top-k indices", NEW, (BATCH, tokens, self.top_k), "int64"),
                 *((Kept("top-k weights", NEW, (BATCH, tokens, self.top_k), "float32"),
                    Kept("their sum", NEW, (BATCH, tokens, 1), "float32")) if self.normalize_top_k else ()),
                 Kept("token indices, top-k positions", NEW, (BATCH, routed_tokens, 2), "int64")]
        gathered_grad = context.grads[0] if context.grads else False
        inner, output_kept = _network_saved(routed, context, "expert ", NEW, (BATCH, routed_tokens, d), gathered_grad)
        kept += inner
        if not output_kept:
            kept.append(Kept("expert outputs", NEW, (BATCH, routed_tokens, d)))
        kept += [Kept("routing weights", NEW, (BATCH, routed_tokens, 1)),
                 Kept("weighted outputs", NEW, (BATCH, routed_tokens, d))]
        if self.shared_experts:
            own = run_expert(self.shared_expert or self.expert, shape, "shared expert",
                             "shared_expert" if self.shared_expert is not None else "expert")
            for index in range(self.shared_experts):
                kept += _network_saved(own, context, f"shared {index} ", 0, (), gathered_grad)[0]
            if self.shared_expert_gate:
                kept += [Kept("shared output", NEW, (BATCH, *shape)),
                         Kept("shared gate (sigmoid)", NEW, (BATCH, *shape[:-1], 1))]
        return Backward(tuple(kept))

    def parameter_tensors(self) -> int:
        router = 1 + self.router_bias
        per_expert = sum(layer.parameter_tensors() for layer in self.expert)
        shared = sum(layer.parameter_tensors() for layer in self.shared_expert or self.expert)
        return router + self.experts * per_expert + self.shared_experts * shared + self.shared_expert_gate


def _network_saved(network: Expert, context: Context, prefix: str, input_source: int,
                   input_shape: tuple[int, ...], input_grad: bool) -> tuple[list[Kept], bool]:
    """What an expert network's layers keep, as tensors of the moe layer, and whether that includes the
    network's output: its input is `input_source` (the moe input, 0, or NEW: the gathered tokens, of
    `input_shape`); each layer's output is a new storage unless its rule says it is a view of an input; a tensor
    requires a gradient when the input does or a trainable layer made it. Each storage once."""
    storage_of: dict[str, str] = {"input": "input"}     # tensor name → the storage it lives in
    grad_of: dict[str, bool] = {"input": input_grad}
    kept: list[Kept] = []
    counted: set[str] = set()

    def keep(storage: str, what: str, shape: tuple[int, ...], dtype: str = "") -> None:
        if storage in counted:
            return
        counted.add(storage)
        if storage == "input" and input_source == 0:
            kept.append(Kept(f"{prefix}input", 0))
        else:
            kept.append(Kept(what, NEW, input_shape if storage == "input" else shape, dtype))

    def tensor(source: str) -> str:
        return source if source in storage_of else source.rpartition(":")[0]

    output = "input"
    for step in network.steps:
        trainable = context.trainable and step.layer.trainable and step.params > 0
        grads = tuple(grad_of[tensor(source)] for source in step.sources)
        rule = step.layer.saved(Context(step.input_shapes, step.output_shapes[0], grads, trainable, context.dtype,
                                        context.device, (True,) * len(step.sources)))
        sources = [storage_of[tensor(source)] for source in step.sources]
        output = sources[rule.alias] if rule.alias is not None and sources else f"{step.name}:output"
        for item in rule.kept:
            what = f"{prefix}{step.name}: {item.what}"
            if item.source >= 0:
                keep(sources[item.source], what, (BATCH, *step.input_shapes[item.source]))
            elif item.source == OUTPUT:
                keep(output, what, (BATCH, *step.output_shapes[0]))
            elif item.source == NEW:
                keep(f"{step.name}:{item.what}", what, item.shape, item.dtype)
            else:   # a further output (NAME:INDEX) of the layer
                index = -10 - item.source
                keep(output if rule.alias is not None else f"{step.name}:output{index}", what,
                     (BATCH, *step.output_shapes[index]))
        storage_of[step.name] = output
        grad_of[step.name] = trainable or True in grads
        for index in range(1, len(step.output_shapes)):
            storage_of[f"{step.name}:{index}"] = output if rule.alias is not None else f"{step.name}:output{index}"
            grad_of[f"{step.name}:{index}"] = grad_of[step.name]
    return kept, output in counted


MixtureOfExperts.pytorch = "torch.nn.Module"   # no torch.nn class: HF's MixtralSparseMoeBlock layout, rebuilt in
MixtureOfExperts.inferred_argument = ("hidden_size", -1)   # tests/torch_modules.py (MixtureOfExperts)
MixtureOfExperts.convention_row = "moe"
MixtureOfExperts.module_only = True


# --------------------------------------------------------------------------------------- the PyTorch bridges

def _pytorch_source(spec: MixtureOfExperts, hidden_size: int, class_name: str, networks: dict[str, str]) -> list[str]:
    """The class `archcalc export --to pytorch` writes for a moe layer: Hugging Face transformers' eager
    MixtralSparseMoeBlock / Qwen2MoeSparseMoeBlock with the experts unfused (an nn.ModuleList of the expert's
    class), so the state_dict keys are HF's non-fused layout: gate.weight, experts.0.gate_proj.weight, ...,
    shared_expert.*, shared_expert_gate.weight. `networks` names the classes of the expert networks."""
    expert = networks["expert"]
    shared = networks.get("shared_expert", expert)
    renormalised = "renormalised to sum to 1" if spec.normalize_top_k else "not renormalised (norm_topk_prob false)"
    shared_text = ""
    if spec.shared_experts:
        shared_text = (f" Every token also passes {spec.shared_experts} shared expert" + "s" * (spec.shared_experts != 1)
                       + (", scaled by sigmoid(shared_expert_gate(x))" if spec.shared_expert_gate else "") + ".")
    text = (f'"""A sparse mixture of experts, as Hugging Face\'s Mixtral / Qwen2-MoE eager code routes it: the router'
            f" `gate` scores the {spec.experts} experts for every token and sends it to the top {spec.top_k} (softmax in"
            f" float32, the {spec.top_k} weights {renormalised}); each expert runs on the tokens that picked it and"
            f' adds its weighted output.{shared_text}"""')
    lines = [f"class {class_name}(nn.Module):",
             *textwrap.wrap(text, 110, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False),
             "",
             f"    archcalc_type = {spec.type!r}   # `archcalc import torch` reads this module as one layer of that type",
             "",
             "    def __init__(self):",
             "        super().__init__()",
             f"        self.top_k = {spec.top_k}",
             f"        self.norm_topk_prob = {spec.normalize_top_k!r}",
             f"        self.gate = nn.Linear({hidden_size}, {spec.experts}, bias={spec.router_bias!r})",
             f"        self.experts = nn.ModuleList([{expert}() for _ in range({spec.experts})])"]
    if spec.shared_experts == 1:
        lines.append(f"        self.shared_expert = {shared}()")
    elif spec.shared_experts:
        lines.append(f"        self.shared_experts = nn.ModuleList([{shared}() for _ in range({spec.shared_experts})])")
    if spec.shared_expert_gate:
        lines.append(f"        self.shared_expert_gate = nn.Linear({hidden_size}, 1, bias=False)")
    lines += ["",
              "    def forward(self, hidden_states):",
              "        if hidden_states.is_meta:   # a model on the meta device has no values to route by: the shape alone",
              "            return torch.empty_like(hidden_states)",
              "        shape = hidden_states.shape",
              "        hidden_states = hidden_states.reshape(-1, shape[-1])   # [tokens, hidden]",
              "        router_logits = self.gate(hidden_states)",
              "        routing_weights = torch.softmax(router_logits, dim=-1, dtype=torch.float)",
              "        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)",
              "        if self.norm_topk_prob:",
              "            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)",
              "        routing_weights = routing_weights.to(hidden_states.dtype)",
              "        final_hidden_states = torch.zeros_like(hidden_states)",
              "        for index, expert in enumerate(self.experts):",
              "            token, position = torch.where(selected_experts == index)   # the tokens that picked it",
              "            if token.numel():",
              "                weighted = expert(hidden_states[token]) * routing_weights[token, position, None]",
              "                final_hidden_states.index_add_(0, token, weighted)"]
    if spec.shared_experts:
        lines.append("        shared_output = self.shared_expert(hidden_states)" if spec.shared_experts == 1 else
                     "        shared_output = sum(expert(hidden_states) for expert in self.shared_experts)")
        if spec.shared_expert_gate:
            lines.append("        shared_output = torch.sigmoid(self.shared_expert_gate(hidden_states)) * shared_output")
        lines.append("        final_hidden_states = final_hidden_states + shared_output")
    lines.append("        return final_hidden_states.reshape(shape)")
    return lines


def _pytorch_arguments(module: Any, network: Any) -> dict[str, Any]:
    """A module of the exported class (above), read back: the counts from its attributes, each expert network's
    layers traced by `network(submodule)`; a shared expert with the routed expert's layers is `expert`'s."""
    expert = network(module.experts[0])
    shared_modules = [module.shared_expert] if hasattr(module, "shared_expert") else \
        list(getattr(module, "shared_experts", ()))
    shared = network(shared_modules[0]) if shared_modules else None
    return {"experts": len(module.experts), "top_k": module.top_k, "expert": expert,
            "shared_experts": len(shared_modules), "shared_expert": None if shared in (None, expert) else shared,
            "shared_expert_gate": getattr(module, "shared_expert_gate", None) is not None,
            "router_bias": module.gate.bias is not None, "normalize_top_k": bool(module.norm_topk_prob)}


MixtureOfExperts.pytorch_class = "SparseMoeBlock"
MixtureOfExperts.pytorch_source = staticmethod(_pytorch_source)
MixtureOfExperts.pytorch_arguments = staticmethod(_pytorch_arguments)
class _Part(NamedTuple):
    """One module call inside a moe layer, as a counting View reads a layer result."""

    spec: Layer
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    output_shapes: tuple[Shape, ...]
    params: int
    trainable_params: int
    macs: int

    @property
    def type(self) -> str:
        return self.spec.type

    @property
    def output_elements(self) -> int:
        return prod(self.output_shape)


def _parts(spec: MixtureOfExperts, shape: Shape) -> list[_Part]:
    """The module calls a moe layer makes, per sample: the router on the T tokens, each expert layer once on the
    k·T routed tokens (the experts' calls together), the shared experts' layers and the gate on the T tokens."""
    from .linear import Linear

    tag = Linear.model_fields["type"].annotation.__args__[0]
    d, tokens = shape[-1], (prod(shape[:-1]),)
    def linear(features: int, bias: bool) -> _Part:
        layer = Linear(type=tag, out_features=features, bias=bias)
        outcome = layer.evaluate([(*tokens, d)], plain)
        return _Part(layer, ((*tokens, d),), (*tokens, features), ((*tokens, features),), outcome.params,
                     outcome.params, outcome.macs)
    def steps(layers: tuple[Layer, ...], rows: int) -> list[_Part]:
        return [_Part(step.layer, step.input_shapes, step.output_shapes[0], step.output_shapes, step.params,
                      step.params, step.macs) for step in run_expert(layers, (rows, d), "expert").steps]
    parts = [linear(spec.experts, spec.router_bias), *steps(spec.expert, spec.top_k * tokens[0])]
    for _ in range(spec.shared_experts):
        parts += steps(spec.shared_expert or spec.expert, tokens[0])
    if spec.shared_expert_gate:
        parts.append(linear(1, False))
    return parts


ROUTER_SOFTMAX = "router softmax"   # a count category


def _composed(name: str, softmax: bool = False) -> Rule:
    """A tool's count of a moe layer: the sum of its rule for each module call inside (tests/torch_modules.py's
    MixtureOfExperts: the router and the experts' layers are nn.Modules, every linear's input is 2-D [tokens, d]),
    measured with the real tools; `softmax`: the tool also patches F.softmax (the router's), N·T·E."""
    from .counting import View

    def count(v: View) -> dict[str, int]:
        total: dict[str, int] = {}
        options = {"functional": v.functional, "training": v.training}
        for part in _parts(v.spec, v.layer.input_shapes[0]):
            rule = type(part.spec).counting.get(name)
            if rule is not None:
                for key, amount in rule.count(View(part, v.N, options)).items():
                    total[key] = total.get(key, 0) + amount
        if softmax and (v.functional or name == "calflops"):
            shape = v.layer.input_shapes[0]
            total[ROUTER_SOFTMAX] = v.N * prod(shape[:-1]) * v.spec.experts
        return total
    text = (f"the sum of its module calls' {name} rules: the router linear on T tokens, the expert's layers on k·T"
            " tokens, the shared experts' layers and the gate on T" + (" + N·T·E (the patched F.softmax)" if softmax
                                                                       else ""))
    return Rule((lambda options: text if options.get("functional") or name == "calflops" else
                 text.replace(" + N·T·E (the patched F.softmax)", "")) if softmax else text, count)


MixtureOfExperts.counting = {
    "pytorch": Rule("N·M: the router and the k routed (and shared) experts' linears each token runs",
                    batch_macs("moe")),
    **{name: _composed(name) for name in ("fvcore", "ptflops-aten", "thop", "thop-readme", "torchinfo")},
    "ptflops": _composed("ptflops", softmax=True),
    "calflops": _composed("calflops", softmax=True),
}

TITLE = "Mixture of experts"  # the family in docs/formulas.md and docs/memory.md
ORDER = 14  # its place there
SYNONYMS = {"mixtureofexperts": "moe", "sparsemoe": "moe", "sparsemoeblock": "moe"}

LAYERS = {
    "moe": MixtureOfExperts,
}

# The examples' expert, a SwiGLU MLP down_proj(silu(gate_proj(x)) · up_proj(x)), as a spec writes it: YAML text,
# since the types it uses belong to their own families.
SWIGLU = """
- {name: gate_proj, type: linear, out_features: WIDTH, bias: false}
- {name: act_fn, type: silu}
- {name: up_proj, type: linear, out_features: WIDTH, bias: false, inputs: [input]}
- {name: mul, type: mul, inputs: [act_fn, up_proj]}
- {name: down_proj, type: linear, out_features: D_MODEL, bias: false}
"""


def swiglu(width: int, d_model: int) -> list[dict[str, Any]]:
    return yaml.safe_load(SWIGLU.replace("WIDTH", str(width)).replace("D_MODEL", str(d_model)))


# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "moe": [("Mixtral-8x7B's block, 8 experts, top 2", {"experts": 8, "top_k": 2, "expert": swiglu(14336, 4096)},
             [[4096, 4096]]),
            ("a shared expert with a gate (Qwen2-MoE)",
             {"experts": 4, "top_k": 2, "expert": swiglu(32, 16), "shared_experts": 1, "shared_expert_gate": True},
             [[10, 16]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rule above.
MEMORY_FACTS = {
    "moe": "Measured on CPU (torch 2.13, training) on tests/torch_modules.py's MixtureOfExperts, HF Mixtral's "
           "routing loop (softmax in float32, top-k, renormalised, for each expert hit: gather its tokens, run it, "
           "weight it, index_add_): the router linear keeps its input when it trains; the softmax its float32 "
           "probabilities [N·T, E]; top-k its int64 indices [N·T, k]; the renormalisation (normalize_top_k, "
           "Mixtral's; Qwen2-MoE's norm_topk_prob) the top-k values and their sum (float32); each expert its tokens'"
           " indices and top-k positions (torch.where's two views of one [n, 2] int64 storage), the gathered tokens "
           "(a copy) and what its layers keep on those tokens, its output and the routing weights for the weighting "
           "product, and index_add_ the weighted output. Every token goes to k experts, so summed over the experts "
           "these are the expert network's tensors on k·N·T tokens, whatever the routing. Shared experts keep their "
           "layers' tensors on all tokens (their input is the moe input itself); with a gate also its sigmoid and "
           "the shared sum.",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "moe": [
        ("", {"experts": 8, "top_k": 2, "expert": swiglu(32, 16)}, [[10, 16]], None),
        ("a gated shared expert, no renormalisation (Qwen2-MoE)",
         {"experts": 8, "top_k": 2, "expert": swiglu(32, 16), "shared_experts": 1, "shared_expert_gate": True,
          "normalize_top_k": False}, [[10, 16]], None),
    ],
}

__all__ = ["LAYERS", "MixtureOfExperts", "run_expert"]
