"""Attention: multiheadattention, scaled_dot_product_attention, transformerencoderlayer,
transformerdecoderlayer (torch.nn) and matmul (torch.matmul).

Per sample a sequence is [L, E] (the batch axis in front, PyTorch's batch_first layout).
MultiheadAttention with E = embed_dim, H = num_heads (H divides E), key [L_k, k_dim], value [L_k, v_dim]:
    params = E·E + E·k_dim + E·v_dim (+ 3·E bias) + E·E (+ E bias)  (+ 2·E with add_bias_kv)
    L_k' = L_k + add_bias_kv + add_zero_attn
    MACs = L_q·E·E + L_k·k_dim·E + L_k·v_dim·E   (input projections)
         + L_q·L_k'·E + L_q·L_k'·E               (Q·Kᵀ and softmax(·)·V, over all heads)
         + L_q·E·E                               (output projection)
scaled_dot_product_attention with q [..., L_q, D], k [..., L_k, D], v [..., L_k, D_v] (B = the product of
q's leading axes): MACs = B·L_q·L_k·D + B·L_q·L_k·D_v, the full matrices also when causal.
A transformer encoder (decoder) layer is its self-attention (and cross-attention over the memory), the
two feed-forward linears E → F → E and two (three) layer norms. matmul [..., n, m] @ [..., m, p]:
(broadcast leading elements)·n·m·p MACs.
These equal FlopCounterMode / 2 with autograd on and attention on PyTorch's math path (the inference fast
path of nn.MultiheadAttention, and CPU's fused flash kernel, count nothing there).
"""

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..formula import Bind, Number, product
from ..problems import LayerError
from .autograd import BATCH, NEW, NOTHING, OUTPUT, Backward, Context, Kept, batched, output_source
from .base import END, AttentionHeads, Count, Flag, Layer, Outcome, Real, Shape, declared_matches
from .counting import Rule, View, batch_macs


def _shapes_text(shapes: list[Shape]) -> str:
    return ", ".join(str(list(shape)) for shape in shapes)


def _sequence(layer: Layer, shape: Shape, what: str) -> None:
    if len(shape) != 2:
        raise LayerError(f"{layer.type} expects a [L, E] sequence per sample as {what} (PyTorch: [N, L, E] with the"
                         f" batch), got shape {list(shape)}", key="inputs", code="rank")


def _broadcast(left: Shape, right: Shape) -> tuple[int, ...] | None:
    out = []
    for a, b in zip(left, right):
        if a != b and 1 not in (a, b):
            return None
        out.append(max(a, b) if 1 in (a, b) else a)
    return tuple(out)


# --------------------------------------------------------------------------------------- multi-head attention

class _AttentionCounts:
    """The numbers of one nn.MultiheadAttention call (ints, or symbols under `explain`)."""

    def __init__(self, params: Number, macs: Number, weights: list[Number], l_k: int):
        self.params, self.macs, self.weights, self.l_k = params, macs, weights, l_k


def attention_counts(layer: Layer, embed: int, heads: int, bias: bool, add_bias_kv: bool, add_zero_attn: bool,
                     l_q: int, l_k: int, k_dim: int, v_dim: int, bind: Bind, prefix: str = "") -> _AttentionCounts:
    """Parameters and MACs of an nn.MultiheadAttention(E, H) on a query [L_q, E] and key / value [L_k, k_dim / v_dim]."""
    if embed % heads:
        heads_key, embed_key = ("nhead", "d_model") if hasattr(layer, "nhead") else ("num_heads", "embed_dim")
        raise LayerError(f"{heads_key} ({heads:,}) must divide {embed_key} ({embed:,}): {embed:,} / {heads:,} is not"
                         " an integer head size", key=heads_key, code="argument")
    e = bind("E", embed)
    lq = bind(f"L_q{prefix}", l_q)
    lk = bind(f"L_k{prefix}", l_k)
    kd = bind(f"k_dim{prefix}", k_dim) if k_dim != embed else e
    vd = bind(f"v_dim{prefix}", v_dim) if v_dim != embed else e
    params = e * e + e * kd + e * vd + e * e
    if bias:
        params = params + 4 * e
    if add_bias_kv:
        params = params + 2 * e
    extra = int(add_bias_kv) + int(add_zero_attn)
    lk_attended = lk + extra if extra else lk
    macs = lq * e * e + lk * kd * e + lk * vd * e + lq * lk_attended * e + lq * lk_attended * e + lq * e * e
    return _AttentionCounts(params, macs, [lq, lk_attended], l_k + extra)


class MultiheadAttention(Layer):
    """torch.nn.MultiheadAttention: `inputs: [query]` is self-attention, else [query, key, value]."""

    type: Literal["multiheadattention"]
    arity: ClassVar[int | None] = None
    min_inputs: ClassVar[int] = 1
    embed_dim: Count | None = Field(default=None, description="Optional; must equal the query's last axis.")
    num_heads: Count
    dropout: Real = 0.0
    bias: Flag = True
    add_bias_kv: Flag = False
    add_zero_attn: Flag = False
    kdim: Count | None = Field(default=None, description="The key's features (default embed_dim).")
    vdim: Count | None = Field(default=None, description="The value's features (default embed_dim).")
    batch_first: Flag = Field(default=False, description="Accepted; per sample the sequence is [L, E] either way.")
    need_weights: Flag = Field(default=True, description="Forward argument: false returns no attention weights"
                               " (and PyTorch then runs scaled_dot_product_attention).")
    average_attn_weights: Flag = Field(default=True, description="Forward argument: false returns the weights"
                                       " per head, [H, L_q, L_k].")

    def _qkv(self, inputs: list[Shape]) -> tuple[Shape, Shape, Shape]:
        if len(inputs) not in (1, 3):
            raise LayerError(f"multiheadattention takes [query] (self-attention) or [query, key, value], got"
                             f" {len(inputs)} inputs", key="inputs", code="arity")
        query, key, val = inputs if len(inputs) == 3 else (inputs[0],) * 3
        for shape, what in ((query, "query"), (key, "key"), (val, "value")):
            _sequence(self, shape, what)
        embed = query[-1]
        declared_matches("embed_dim", self.embed_dim, embed, "query's last axis")
        for shape, what, declared in ((key, "key", self.kdim), (val, "value", self.vdim)):
            wanted = declared if declared is not None else embed
            if shape[-1] != wanted:
                argument = "kdim" if what == "key" else "vdim"
                raise LayerError(f"the {what} has {shape[-1]:,} features but {argument} is {wanted:,}"
                                 f"{'' if declared is not None else ' (default: embed_dim)'}",
                                 key=argument if declared is not None else "inputs", code="mismatch")
        if key[0] != val[0]:
            raise LayerError(f"key and value must have the same length, got {key[0]:,} and {val[0]:,}"
                             f" ({_shapes_text([key, val])})", key="inputs", code="shape-mismatch")
        return query, key, val

    def counts(self, inputs: list[Shape], bind: Bind) -> _AttentionCounts:
        query, key, val = self._qkv(inputs)
        return attention_counts(self, query[-1], self.num_heads, self.bias, self.add_bias_kv, self.add_zero_attn,
                                query[0], key[0], key[-1], val[-1], bind)

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        counts = self.counts(inputs, bind)
        l_q, l_k = counts.weights
        e = bind("E", inputs[0][-1])
        more = []
        if self.need_weights:
            more = [[l_q, l_k] if self.average_attn_weights else [bind("H", self.num_heads), l_q, l_k]]
        return Outcome(shape=[l_q, e], params=counts.params, macs=counts.macs, axes=("L", "E"), layout=END,
                       more_outputs=more)

    def notes(self, inputs: list[Shape]) -> list[str]:
        query, key, val = self._qkv(inputs)
        same = key[-1] == val[-1] == query[-1]
        notes = [("one packed in_proj_weight [3·E, E]" if same else "q_proj_weight [E, E], k_proj_weight [E, k_dim],"
                  " v_proj_weight [E, v_dim]") + (" and in_proj_bias [3·E]" if self.bias else "")
                 + ", out_proj E → E" + (" with bias" if self.bias else "")
                 + ("; bias_k and bias_v [1, 1, E]" if self.add_bias_kv else ""),
                 f"H = {self.num_heads} heads of E/H = {query[-1] // self.num_heads} features: the two products over"
                 " all heads are L_q·L_k·E each (softmax and scaling are element-wise, not MACs)"]
        if self.add_bias_kv or self.add_zero_attn:
            notes.append("add_bias_kv and add_zero_attn each append one position to key and value after the"
                         " projections: the products use L_k + " + str(int(self.add_bias_kv) + int(self.add_zero_attn)))
        if len(inputs) == 1:
            notes.append("self-attention: query, key and value are the one input")
        return notes

    def saved(self, context: Context) -> Backward:
        if not context.needs_grad:
            return NOTHING
        query, key, val = self._qkv(list(context.inputs))
        fused = not self.need_weights and _mha_fused(context, self.dropout)
        return Backward(tuple(_mha_saved(context, self, query, key, val, self._sharing(), fused, self.dropout,
                                         0, True)))

    def attention_heads(self, inputs: list[Shape]) -> AttentionHeads:
        """num_heads heads of embed_dim / num_heads after the projections; no mask is modelled (not causal)."""
        query, key, _ = self._qkv(inputs)
        head = query[-1] // self.num_heads
        return AttentionHeads(self.num_heads, self.num_heads, head, head, query[0], key[0], False)

    def _sharing(self) -> str:
        """Which of query, key and value are the same tensor: "qkv", "kv" or ""."""
        names = self.inputs or []
        if len(names) <= 1 or names[0] == names[1] == names[2]:
            return "qkv"
        return "kv" if names[1] == names[2] else ""

    def parameter_tensors(self) -> int:
        # PyTorch packs in_proj_weight when kdim and vdim equal embed_dim (a kdim given without embed_dim counts
        # as different)
        same = self.kdim in (None, self.embed_dim) and self.vdim in (None, self.embed_dim)
        return _mha_tensors(self.bias, self.add_bias_kv, same)


def _mha_tensors(bias: bool, add_bias_kv: bool, same: bool) -> int:
    return (1 if same else 3) + bias + 1 + bias + 2 * add_bias_kv


HALF = ("float16", "bfloat16")   # the dtypes CPU's math path computes (and keeps) in float32


def _mha_fused(context: Context, dropout: float) -> bool:
    """Whether nn.MultiheadAttention with need_weights false runs a fused kernel (which keeps no L×L matrix):
    CPU flash only without dropout (training), CUDA's flash / memory-efficient kernels always but for float64
    (which they do not support)."""
    if context.device == "cuda":
        return context.dtype != "float64"
    return dropout == 0


def _lse(context: Context, heads: int, l_q: int, prefix: str = "") -> Kept:
    """The log-sum-exp a fused kernel keeps, in float32: [N, H, L_q] (CPU flash, CUDA flash for float16 /
    bfloat16); CUDA's memory-efficient kernel (float32) pads L_q to a multiple of 32."""
    rows = l_q
    if context.device == "cuda" and context.dtype == "float32":
        rows = -(-l_q // 32) * 32
    # the accumulation type: float32, float64 for float64 inputs (CPU's flash kernel, measured)
    dtype = "float64" if context.dtype == "float64" else "float32"
    return Kept(f"{prefix}log-sum-exp", NEW, (BATCH, heads, rows), dtype)


def _mha_saved(context: Context, layer: Layer, query: Shape, key: Shape, val: Shape, sharing: str, fused: bool,
               dropout: float, q_source: int, copies: bool, prefix: str = "") -> list[Kept]:
    """What nn.MultiheadAttention keeps (batch_first layout, training), measured on CPU: the in-projection
    linears keep their inputs as [L·N, E] copies (the batch-first input is transposed), when the weights
    train; the packed q/k/v projection; the scaled query, keys, softmax (and dropout mask) of the products,
    or a fused kernel's output and log-sum-exp; the output projection's input."""
    embed, heads = query[-1], getattr(layer, "num_heads", getattr(layer, "nhead", 1))
    l_q, l_k = query[0], key[0]
    bias_kv = getattr(layer, "add_bias_kv", False)
    zero_attn = getattr(layer, "add_zero_attn", False)
    extra = int(bias_kv) + int(zero_attn)
    l_kk = l_k + extra
    d = embed // heads
    trainable = context.trainable
    kept: list[Kept] = []
    what = f"{prefix}query" if prefix else "query"
    half = context.dtype in HALF and context.device == "cpu"
    if trainable and copies:
        kept.append(Kept(f"{what} (a [L·N, E] copy)", NEW, (BATCH, query[0], query[1])))
        if sharing == "kv":
            kept.append(Kept(f"{prefix}key and value (a copy)", NEW, (BATCH, key[0], key[1])))
        elif sharing == "":
            kept.append(Kept(f"{prefix}key (a copy)", NEW, (BATCH, key[0], key[1])))
            kept.append(Kept(f"{prefix}value (a copy)", NEW, (BATCH, val[0], val[1])))
    same = key[-1] == val[-1] == embed
    # the projections: one packed storage for self-attention (3·E) or a shared key/value (2·E)
    if sharing == "qkv" and same:
        q_proj = k_proj = v_proj = Kept(f"{prefix}q, k, v projections", NEW, (BATCH, 3, l_q, embed))
    else:
        q_proj = Kept(f"{prefix}q projection", NEW, (BATCH, l_q, embed))
        if sharing in ("kv", "qkv") and same:
            k_proj = v_proj = Kept(f"{prefix}k, v projections", NEW, (BATCH, 2, l_k, embed))
        else:
            k_proj = Kept(f"{prefix}k projection", NEW, (BATCH, l_k, embed))
            v_proj = Kept(f"{prefix}v projection", NEW, (BATCH, l_k, embed))
    if extra:   # torch.cat of bias_k / zeros: new key and value tensors
        k_proj = Kept(f"{prefix}keys with the extra position", NEW, (BATCH, heads, l_kk, d))
        v_proj = Kept(f"{prefix}values with the extra position", NEW, (BATCH, heads, l_kk, d))
    scores = (BATCH, heads, l_q, l_kk)
    if fused:
        kept += [q_proj, k_proj, v_proj, _lse(context, heads, l_q, prefix),
                 Kept(f"{prefix}attention output (also the output projection's input)", NEW, (BATCH, l_q, embed))]
        return _unique(kept)
    needs_weights_path = getattr(layer, "need_weights", False) and not prefix
    dtype = "float32" if half and not needs_weights_path else ""
    kept.append(Kept(f"{prefix}query · scale", NEW, (BATCH, heads, l_q, d), dtype))
    if needs_weights_path:
        kept.append(k_proj)   # bmm(q·scale, kᵀ) keeps the keys as they are
    else:                     # the math path of scaled_dot_product_attention scales the keys too
        kept.append(Kept(f"{prefix}keys · scale", NEW, (BATCH, heads, d, l_kk), dtype))
    per_head = needs_weights_path and not getattr(layer, "average_attn_weights", True)
    kept.append(Kept(f"{prefix}attention weights (softmax; output 1)", output_source(1)) if per_head else
                Kept(f"{prefix}attention weights (softmax)", NEW, scores, dtype))
    if dropout > 0:
        mask = "bool" if context.device == "cuda" else dtype
        kept += [Kept(f"{prefix}dropout mask", NEW, scores, mask), Kept(f"{prefix}dropped weights", NEW, scores, dtype)]
    kept.append(Kept(f"{prefix}values (float32 copy)", NEW, (BATCH, heads, l_kk, d), "float32")
                if dtype else v_proj)
    if trainable:
        kept.append(Kept(f"{prefix}output projection's input", NEW, (BATCH, l_q, embed)))
    return _unique(kept)


def _unique(kept: list[Kept]) -> list[Kept]:
    out: list[Kept] = []
    for item in kept:
        if item not in out:
            out.append(item)
    return out


# ------------------------------------------------------------------------------------ scaled dot-product attention

BACKENDS = ("default", "math", "flash")
# (one string: the activations are not the layer types of those names, which tests/test_registry.py looks for
# as quoted words)
ACTIVATIONS = tuple("relu gelu".split())
RELU, GELU = ACTIVATIONS
DROPOUT = "dropout "[:-1]   # the argument (nn.MultiheadAttention's, nn.Transformer*Layer's), not the layer type


class ScaledDotProductAttention(Layer):
    """torch.nn.functional.scaled_dot_product_attention on [q, k, v] (no attn_mask)."""

    type: Literal["scaled_dot_product_attention"]
    arity: ClassVar[int | None] = 3
    default_call: ClassVar[str] = "function"
    is_causal: Flag = False
    scale: Real | None = None
    enable_gqa: Flag = False
    dropout_p: Real = 0.0
    backend: Literal[BACKENDS] = Field(  # type: ignore[valid-type]
        default="default", description="Training memory: math keeps the L_q×L_k probabilities, flash (the fused"
        " kernel) only output and log-sum-exp; default = what PyTorch picks on the device (docs/memory.md).")

    def _check(self, inputs: list[Shape]) -> tuple[Shape, Shape, Shape]:
        q, k, v = inputs
        if any(len(shape) != len(q) for shape in (k, v)) or len(q) < 2:
            raise LayerError(f"q, k and v must be [..., L, E] with the same number of axes (the batch axis is in front"
                             f" of each), got {_shapes_text([q, k, v])}", key="inputs", code="shape-mismatch")
        if k[-1] != q[-1]:
            raise LayerError(f"q and k must have the same last axis (the head size), got {q[-1]:,} and {k[-1]:,}",
                             key="inputs", code="shape-mismatch")
        if k[-2] != v[-2]:
            raise LayerError(f"k and v must have the same length (axis -2), got {k[-2]:,} and {v[-2]:,}",
                             key="inputs", code="shape-mismatch")
        lead_q, lead_k, lead_v = q[:-2], k[:-2], v[:-2]
        if lead_k != lead_v:
            raise LayerError(f"k and v must have the same leading axes, got {list(lead_k)} and {list(lead_v)}",
                             key="inputs", code="shape-mismatch")
        if self.enable_gqa and lead_q:
            if lead_q[:-1] != lead_k[:-1] or lead_q[-1] % lead_k[-1]:
                raise LayerError(f"enable_gqa: q's heads ({lead_q[-1]:,}) must be a multiple of k's and v's"
                                 f" ({lead_k[-1]:,}), other leading axes equal; got {_shapes_text([q, k, v])}",
                                 key="enable_gqa", code="shape-mismatch")
        elif lead_q != lead_k:
            hint = " (grouped-query attention needs enable_gqa: true)" if lead_q and lead_k and \
                lead_q[:-1] == lead_k[:-1] and lead_q[-1] % lead_k[-1] == 0 else ""
            raise LayerError(f"q's leading axes {list(lead_q)} and k's {list(lead_k)} differ{hint}", key="inputs",
                             code="shape-mismatch")
        return q, k, v

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        q, k, v = self._check(inputs)
        lead = [bind(f"A{i + 1}", size) for i, size in enumerate(q[:-2])]
        if len(lead) == 1:
            lead = [bind("H", q[0])]
        l_q, l_k, d, d_v = bind("L_q", q[-2]), bind("L_k", k[-2]), bind("D", q[-1]), bind("D_v", v[-1])
        b = product(lead)
        macs = b * l_q * l_k * d + b * l_q * l_k * d_v
        names = ("H",) if len(lead) == 1 else tuple(f"A{i + 1}" for i in range(len(lead)))
        return Outcome(shape=[*lead, l_q, d_v], macs=macs, axes=(*names, "L", "E"), layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        q, k, v = self._check(inputs)
        notes = ["softmax(q·kᵀ·scale)·v: two matrix products; scale, softmax and the mask are element-wise, not MACs"]
        if self.is_causal:
            notes.append("is_causal: the full L_q×L_k products are counted (PyTorch computes them, and"
                         " FlopCounterMode counts them); halving for the mask is a counting convention")
        if self.enable_gqa and q[:-2] != k[:-2]:
            notes.append(f"enable_gqa: each of k's and v's {k[-3]} heads serves {q[-3] // k[-3]} query heads")
        return notes

    def attention_heads(self, inputs: list[Shape]) -> AttentionHeads:
        """The head axis is the one before [L, E] (a single head without one)."""
        q, k, v = self._check(inputs)
        q_heads, kv_heads = (q[-3], k[-3]) if len(q) >= 3 else (1, 1)
        return AttentionHeads(q_heads, kv_heads, k[-1], v[-1], q[-2], k[-2], self.is_causal)

    def kernel(self, context: Context) -> str:
        """The backend that runs: math or flash (fused)."""
        q, k, v = context.inputs
        fits = len(q) == 3 and q[-1] == v[-1] and (self.dropout_p == 0 or context.device == "cuda") and \
            not (context.device == "cuda" and context.dtype == "float64")
        if self.backend == "flash" and not fits:
            raise LayerError("backend flash needs [H, L, E] inputs with the same head size for q, k and v"
                             " and, on CPU, dropout_p 0 (PyTorch: \"No available kernel\")", key="backend",
                             code="argument")
        if self.backend == "math" or not fits:
            return "math"
        return "flash"

    def saved(self, context: Context) -> Backward:
        """The math path keeps q·√scale, kᵀ·√scale, the softmax probabilities [.., L_q, L_k] (and with dropout its
        mask and the dropped probabilities) and v — in float32 for half-precision inputs on CPU, where it computes
        in float32; the fused kernels keep q, k, v, the output and the log-sum-exp [.., L_q] in float32."""
        if not context.needs_grad:
            return NOTHING
        q, k, v = self._check(list(context.inputs))
        if self.kernel(context) == "flash":
            # the fused CPU kernel writes its output as [N, L, H, D] and returns it transposed to [N, H, L, D]
            # (measured: a transpose(1, 2) + reshape after it is a view, no copy)
            layout = (0, 2, 1, 3) if len(context.output) == 3 and context.device == "cpu" else None
            return Backward((Kept("q", 0), Kept("k", 1), Kept("v", 2), Kept("output", OUTPUT),
                             _lse(context, q[0], q[-2])), permutation=layout)
        half = context.dtype in HALF and context.device == "cpu"
        dtype = "float32" if half else ""
        grouped = q[:-2] != k[:-2]
        scores = batched((*q[:-2], q[-2], k[-2]))
        kept = [Kept("q · √scale", NEW, batched((*q[:-2], q[-2], q[-1])), dtype),
                Kept("kᵀ · √scale", NEW, batched((*q[:-2], k[-1], k[-2])), dtype),
                Kept("attention probabilities (softmax)", NEW, scores, dtype)]
        if self.dropout_p > 0:
            # at::dropout: on CUDA the fused native_dropout keeps a bool mask; on CPU the mask is a model-dtype tensor
            mask = "bool" if context.device == "cuda" else dtype
            kept += [Kept("dropout mask", NEW, scores, mask), Kept("dropped probabilities", NEW, scores, dtype)]
        if half or grouped:
            kept.append(Kept("v (float32 copy)" if half else "v repeated for the query heads", NEW,
                             batched((*q[:-2], v[-2], v[-1])), dtype))
        else:
            kept.append(Kept("v", 2))
        return Backward(tuple(kept))


# ---------------------------------------------------------------------------------------- transformer layers

class _TransformerLayer(Layer):
    """torch.nn.TransformerEncoderLayer / TransformerDecoderLayer."""

    decoder: ClassVar[bool] = False
    d_model: Count | None = Field(default=None, description="Optional; must equal the input's last axis.")
    nhead: Count
    dim_feedforward: Count = 2048
    dropout: Real = 0.1
    activation: Literal[ACTIVATIONS] = RELU  # type: ignore[valid-type]
    layer_norm_eps: Real = 1e-5
    batch_first: Flag = Field(default=False, description="Accepted; per sample the sequence is [L, E] either way.")
    norm_first: Flag = False
    bias: Flag = True

    def _inputs(self, inputs: list[Shape]) -> tuple[Shape, Shape | None]:
        tgt = inputs[0]
        _sequence(self, tgt, "tgt" if self.decoder else "src")
        declared_matches("d_model", self.d_model, tgt[-1], "last axis")
        memory = None
        if self.decoder:
            memory = inputs[1]
            _sequence(self, memory, "memory")
            if memory[-1] != tgt[-1]:
                raise LayerError(f"memory has {memory[-1]:,} features but d_model is {tgt[-1]:,}", key="inputs",
                                 code="mismatch")
        return tgt, memory

    def attention_heads(self, inputs: list[Shape]) -> AttentionHeads:
        """The self-attention: nhead heads of d_model / nhead; a decoder layer's is causal (its tgt_mask), an
        encoder layer's sees every position. The decoder's cross-attention reads the fixed memory: no cache grows."""
        tgt, _ = self._inputs(inputs)
        head = tgt[-1] // self.nhead
        return AttentionHeads(self.nhead, self.nhead, head, head, tgt[0], tgt[0], self.decoder)

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        tgt, memory = self._inputs(inputs)
        embed, length = tgt[-1], tgt[0]
        own = attention_counts(self, embed, self.nhead, self.bias, False, False, length, length, embed, embed, bind)
        e, f, lq = bind("E", embed), bind("F", self.dim_feedforward), bind("L_q", length)
        params, macs = own.params, own.macs
        norms = 3 if self.decoder else 2
        if memory is not None:
            cross = attention_counts(self, embed, self.nhead, self.bias, False, False, length, memory[0], embed,
                                     embed, bind, "_m")
            params, macs = params + cross.params, macs + cross.macs
        params = params + (e * f + f + f * e + e if self.bias else e * f + f * e)
        params = params + norms * (2 * e if self.bias else e)
        macs = macs + lq * e * f + lq * f * e
        return Outcome(shape=[lq, e], params=params, macs=macs, axes=("L", "E"), layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        tgt, memory = self._inputs(inputs)
        notes = [f"self-attention: a multiheadattention of E = {tgt[-1]}, H = {self.nhead} on the input (L_q = L_k)"]
        if memory is not None:
            notes.append("cross-attention: a second multiheadattention, query the self-attention block's output,"
                         " key and value the memory (L_k = the memory's length)")
        notes.append(f"feed-forward: linear E → F, {self.activation}, linear F → E (F = dim_feedforward);"
                     f" {3 if self.decoder else 2} layer norms over E"
                     + (" (weight and bias each)" if self.bias else " (weight only: bias false)")
                     + (", applied before each block (norm_first)" if self.norm_first else ", after each residual sum"))
        return notes

    def saved(self, context: Context) -> Backward:
        """Measured on CPU (training, batch_first): each attention block as nn.MultiheadAttention with
        need_weights false (the fused flash kernel without dropout, the math path with it); every dropout keeps
        its mask; each layer norm its input, mean and 1/std; the feed-forward linears their inputs and the
        activation its output (relu) or input (gelu) — the same storage as linear2's input without dropout."""
        if not context.needs_grad:
            return NOTHING
        tgt, memory = self._inputs(list(context.inputs))
        embed, length, ff = tgt[-1], tgt[0], self.dim_feedforward
        drop = self.dropout > 0
        fused = _mha_fused(context, self.dropout)
        seq, stats = (BATCH, length, embed), (BATCH, length, 1)
        kept: list[Kept] = []
        number = [0]

        def norm(first: bool) -> None:
            number[0] += 1
            n = number[0]
            dtype = context.stats_dtype
            kept.extend([Kept(f"norm{n} input", 0, ()) if first else Kept(f"norm{n} input (the residual sum)", NEW, seq),
                         Kept(f"norm{n} mean", NEW, stats, dtype), Kept(f"norm{n} rstd", NEW, stats, dtype)])

        mask = "bool" if context.device == "cuda" else ""   # CUDA's fused dropout keeps a bool mask

        def dropout_mask(n: int) -> None:
            if drop:
                kept.append(Kept(f"dropout{n} mask", NEW, seq, mask))

        blocks = [("self-attention: ", tgt, "qkv")]
        if memory is not None:
            blocks.append(("cross-attention: ", memory, "kv"))
        for index, (prefix, keys, sharing) in enumerate(blocks):
            if self.norm_first:
                norm(index == 0)
            kept.extend(_mha_saved(context, self, tgt, keys, keys, sharing, fused, self.dropout, 0, True, prefix))
            dropout_mask(index + 1)
            if not self.norm_first:
                norm(False)
        if self.norm_first:
            norm(False)
        kept.append(Kept("linear1 input", NEW, seq))
        hidden = (BATCH, length, ff)
        kept.append(Kept(f"{self.activation} {'output' if self.activation == RELU else 'input'}", NEW, hidden))
        if self.activation == GELU and not drop:
            kept.append(Kept("linear2 input (gelu output)", NEW, hidden))
        if drop:
            kept += [Kept("dropout mask (feed-forward)", NEW, hidden, mask), Kept("linear2 input", NEW, hidden)]
        dropout_mask(len(blocks) + 1)
        if not self.norm_first:
            norm(False)
        if not context.trainable:   # a frozen linear keeps no input (linear's rule)
            kept = [item for item in kept if item.what not in ("linear1 input", "linear2 input")]
        return Backward(tuple(_unique(kept)))

    def parameter_tensors(self) -> int:
        attention = _mha_tensors(self.bias, False, True) * (2 if self.decoder else 1)
        return attention + 2 * (1 + self.bias) + (3 if self.decoder else 2) * (1 + self.bias)


class TransformerEncoderLayer(_TransformerLayer):
    """torch.nn.TransformerEncoderLayer."""

    type: Literal["transformerencoderlayer"]


class TransformerDecoderLayer(_TransformerLayer):
    """torch.nn.TransformerDecoderLayer: `inputs: [tgt, memory]`."""

    type: Literal["transformerdecoderlayer"]
    decoder: ClassVar[bool] = True
    arity: ClassVar[int | None] = 2


# ------------------------------------------------------------------------------------------------------- matmul

class MatMul(Layer):
    """torch.matmul(a, b) with the batch axis in front of both."""

    type: Literal["matmul"]
    arity: ClassVar[int | None] = 2
    default_call: ClassVar[str] = "function"

    def _shapes(self, inputs: list[Shape]) -> tuple[Shape, Shape, tuple[int, ...]]:
        a, b = inputs
        if len(a) < 2 or len(b) < 2:
            raise LayerError(f"matmul needs [..., n, m] and [..., m, p] per sample, got {_shapes_text([a, b])}: with"
                             " the batch axis in front, a per-sample vector [m] is an [N, m] matrix to torch.matmul,"
                             " multiplied across the batch (write it as [1, m] or [m, 1])", key="inputs", code="rank")
        if len(a) != len(b):
            raise LayerError(f"a and b must have the same number of axes, got {_shapes_text([a, b])} (with the batch"
                             " axis in front of both, PyTorch would broadcast the batch against a matrix-batch axis)",
                             key="inputs", code="shape-mismatch")
        if a[-1] != b[-2]:
            raise LayerError(f"a's last axis ({a[-1]:,}) must equal b's second-to-last ({b[-2]:,}):"
                             f" {_shapes_text([a, b])}", key="inputs", code="shape-mismatch")
        lead = _broadcast(a[:-2], b[:-2])
        if lead is None:
            raise LayerError(f"cannot broadcast the leading axes {list(a[:-2])} and {list(b[:-2])}: sizes must be"
                             " equal or 1 on each axis", key="inputs", code="shape-mismatch")
        return a, b, lead

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        a, b, lead = self._shapes(inputs)
        leading = [bind(f"A{i + 1}", size) for i, size in enumerate(lead)]
        n, m, p = bind("n", a[-2]), bind("m", a[-1]), bind("p", b[-1])
        return Outcome(shape=[*leading, n, p], macs=product(leading) * n * m * p,
                       axes=(*(f"A{i + 1}" for i in range(len(lead))), "n", "p"), layout=END)

    def notes(self, inputs: list[Shape]) -> list[str]:
        a, b, lead = self._shapes(inputs)
        notes = ["[..., n, m] @ [..., m, p] → [..., n, p]: n·m·p MACs per matrix product"]
        if lead and (a[:-2] != lead or b[:-2] != lead):
            notes.append(f"leading axes broadcast: {list(a[:-2])} and {list(b[:-2])} → {list(lead)}")
        return notes

    def saved(self, context: Context) -> Backward:
        """MatmulBackward / BmmBackward keep each operand whose partner needs a gradient, as [N·…, n, m] views of
        the input; an operand that broadcasts over the other's leading axes is kept expanded, as a copy."""
        a, b, lead = self._shapes(list(context.inputs))
        grads = context.grads
        kept = []
        for index, (shape, partner) in enumerate(((a, 1), (b, 0))):
            if not grads[partner]:
                continue
            if shape[:-2] == lead:
                kept.append(Kept("a" if index == 0 else "b", index))
            else:
                kept.append(Kept(f"{'a' if index == 0 else 'b'} expanded", NEW, batched((*lead, *shape[-2:]))))
        return Backward(tuple(kept))


# ---------------------------------------------------------------------------------------------- counting conventions
# (archcalc.layers.counting; measured against the real tools, docs/conventions.md)

LINEAR, LAYERNORM, SOFTMAX = "linear layernorm softmax".split()   # count categories (not the layer types of those names)


def _mha_shapes(v: View) -> tuple[Shape, Shape, Shape]:
    shapes = v.layer.input_shapes
    return (shapes[0],) * 3 if len(shapes) == 1 else tuple(shapes)


def _ptflops_mha_hook(embed: int, heads: int, bias: bool, query: Shape, key: Shape, val: Shape) -> int:
    """ptflops' multihead_attention_counter_hook (pytorch_ops.py), per sample: query scaling L_q·E; projections
    L_q·E² + L_k·k_dim² + L_v·v_dim² (k_dim², not k_dim·E); in_proj bias (L_q + L_k + L_v)·E; per head
    L_q·L_k·(E/H) + L_q·L_k + L_q·L_k·(v_dim/H); output projection L_q·v_dim·(v_dim + 1). L_k is the key's own length."""
    l_q, l_k, l_v, k_dim, v_dim = query[0], key[0], val[0], key[-1], val[-1]
    count = l_q * embed + l_q * embed * embed + l_k * k_dim * k_dim + l_v * v_dim * v_dim
    if bias:
        count += (l_q + l_k + l_v) * embed
    count += heads * (l_q * l_k * (embed // heads) + l_q * l_k + l_q * l_k * (v_dim // heads))
    return count + l_q * v_dim * (v_dim + 1)


def _ptflops_mha(v: View) -> dict[str, int]:
    """The module hook (divided by the batch, as ptflops does) plus, with count_functional and need_weights, the
    patched torch.bmm (N·L_q·L_k'·E, twice) and F.softmax (N·H·L_q·L_k') inside F.multi_head_attention_forward."""
    query, key, val = _mha_shapes(v)
    spec = v.spec
    count = {"attention": _ptflops_mha_hook(query[-1], spec.num_heads, spec.bias, query, key, val)}
    if v.functional and spec.need_weights:
        l_k = key[0] + spec.add_bias_kv + spec.add_zero_attn
        count["bmm, softmax"] = v.N * (2 * query[0] * l_k * query[-1] + spec.num_heads * query[0] * l_k)
    return count


def _transformer_parts(v: View) -> tuple[list[tuple[Shape, Shape]], int, int, int]:
    """(query, key) of each attention block, E, F, L of a transformer layer."""
    tgt = v.layer.input_shapes[0]
    blocks = [(tgt, tgt)] + ([(tgt, v.layer.input_shapes[1])] if v.spec.decoder else [])
    return blocks, tgt[-1], v.spec.dim_feedforward, tgt[0]


def _attention_params(embed: int, bias: bool) -> int:
    return 4 * embed * embed + (4 * embed if bias else 0)


def _fvcore_transformer(v: View) -> dict[str, int]:
    """fvcore counts the linears (the projections, as aten::linear) and layer norms (5 per element), not the
    scaled_dot_product_attention the layer's attention runs (need_weights false): no products."""
    blocks, e, f, length = _transformer_parts(v)
    linear = sum(2 * q[0] * e * e + 2 * k[0] * e * e for q, k in blocks) + 2 * length * e * f
    return {LINEAR: v.N * linear, LAYERNORM: v.N * len(blocks + [None]) * length * e * 5}


def _torchinfo_transformer(v: View) -> dict[str, int]:
    """torchinfo: N·params of the leaf modules it counts (Linear, LayerNorm); nn.MultiheadAttention counts 0."""
    blocks, e, _, _ = _transformer_parts(v)
    return {"linear, layernorm": v.N * (v.params - len(blocks) * _attention_params(e, v.spec.bias))}


def _torchinfo_rows_transformer(v: View) -> dict[str, int]:
    """torchinfo's current code (PR #318): as 1.8.0, but the feed-forward nn.Linear modules count their rows."""
    blocks, e, f, length = _transformer_parts(v)
    feed_forward = 2 * e * f + (f + e if v.spec.bias else 0)
    norms = v.params - len(blocks) * _attention_params(e, v.spec.bias) - feed_forward
    return {"linear, layernorm": v.N * (length * feed_forward + norms)}


def _thop_transformer(v: View) -> dict[str, int]:
    """thop: the feed-forward linears N·M and the layer norms 4 per element; nn.MultiheadAttention 0."""
    blocks, e, f, length = _transformer_parts(v)
    return {LINEAR: v.N * 2 * length * e * f, LAYERNORM: v.N * len(blocks + [None]) * length * e * 4}


def _ptflops_transformer(v: View) -> dict[str, int]:
    """ptflops, per sample: each attention block's module hook (need_weights false: no bmm is seen), the linears'
    hooks (M + bias·Y) and the layer norms' (X)."""
    blocks, e, f, length = _transformer_parts(v)
    bias = v.spec.bias
    count = sum(_ptflops_mha_hook(e, v.spec.nhead, bias, q, k, k) for q, k in blocks)
    count += 2 * length * e * f + (length * f + length * e if bias else 0) + len(blocks + [None]) * length * e
    return {"attention, linear, layernorm": count}


def _contiguous(v: View, length: int) -> bool:
    """Whether PyTorch's [L, N, ·] view of a batch_first input is contiguous (then aten.linear is one addmm with its
    bias; otherwise matmul's aten.mm, without it): batch_first false, N = 1 or L = 1."""
    return not v.spec.batch_first or v.N == 1 or length == 1


def _attention_products(v: View) -> int:
    """The two attention products L_q·L_k'·E each, per sample."""
    query, key, _ = _mha_shapes(v)
    return 2 * query[0] * (key[0] + v.spec.add_bias_kv + v.spec.add_zero_attn) * query[-1]


def _calflops_mha(v: View) -> dict[str, int]:
    """calflops patches F.linear (2·macs, no bias) and F.softmax (numel) — both reached from
    F.multi_head_attention_forward — but not torch.bmm: 2·N·(projection MACs) + N·H·L_q·L_k' for the softmax
    (need_weights; without it scaled_dot_product_attention, not patched, runs instead)."""
    query, key, _ = _mha_shapes(v)
    count = {LINEAR: 2 * v.N * (v.M - _attention_products(v))}
    if v.spec.need_weights:
        count[SOFTMAX] = v.N * v.spec.num_heads * query[0] * (key[0] + v.spec.add_bias_kv + v.spec.add_zero_attn)
    return count


def _ptflops_aten_mha(v: View) -> dict[str, int]:
    """aten.addmm / mm / bmm: N·M (need_weights false: no bmm, scaled_dot_product_attention is not counted), the
    output projection's bias N·L_q·E (an addmm), and each input projection's bias N·L·E when its input is
    contiguous (_contiguous)."""
    query, key, val = _mha_shapes(v)
    macs = v.M if v.spec.need_weights else v.M - _attention_products(v)
    count = {"attention": v.N * macs}
    if v.spec.bias:
        embed = query[-1]
        inputs = sum(shape[0] for shape in (query, key, val) if _contiguous(v, shape[0]))
        count["bias"] = v.N * embed * (query[0] + inputs)
    return count


def _transformer_linear_macs(v: View) -> int:
    blocks, e, f, length = _transformer_parts(v)
    return sum(2 * q[0] * e * e + 2 * k[0] * e * e for q, k in blocks) + 2 * length * e * f


def _calflops_transformer(v: View) -> dict[str, int]:
    """calflops: F.linear 2·macs (projections and feed-forward, no bias), F.layer_norm 5 per element; the
    activation (F.relu / F.gelu bound when the layer is built, before calflops patches F) and the attention's
    scaled_dot_product_attention are not counted."""
    blocks, e, _, length = _transformer_parts(v)
    return {LINEAR: 2 * v.N * _transformer_linear_macs(v), LAYERNORM: 5 * v.N * len(blocks + [None]) * length * e}


def _ptflops_aten_transformer(v: View) -> dict[str, int]:
    """aten.addmm / mm: N·(projections + feed-forward), with bias the output projections' N·L·E, the feed-forward's
    N·L·(F + E) and each input projection's N·L·E (self-attention 3, cross-attention L_q·E + 2·L_m·E) when that input
    is contiguous (_contiguous); scaled_dot_product_attention is not counted."""
    blocks, e, f, length = _transformer_parts(v)
    count = {"attention, linear": v.N * _transformer_linear_macs(v)}
    if v.spec.bias:
        bias = length * f + length * e
        for q, k in blocks:
            bias += q[0] * e + e * (q[0] * _contiguous(v, q[0]) + 2 * k[0] * _contiguous(v, k[0]))
        count["bias"] = v.N * bias
    return count


def _calflops_matmul(v: View) -> dict[str, int]:
    """calflops' patched torch.matmul: 2·input.numel()·other.shape[-1] — the left operand's elements (with the
    batch), not the broadcast result; the operator a @ b is not patched."""
    if v.call == "operator":
        return {}
    return {"matmul": 2 * v.N * v.X * v.layer.input_shapes[1][-1]}

MultiheadAttention.pytorch = "torch.nn.MultiheadAttention"
MultiheadAttention.inferred_argument = ("embed_dim", -1)
MultiheadAttention.convention_row = "multiheadattention"
MultiheadAttention.module_only = True
MultiheadAttention.counting = {
    "pytorch": Rule("N·M (with autograd on; the inference fast path counts 0; need_weights false on CPU: the"
                    " projections only, flash attention is not counted)", batch_macs("attention")),
    "fvcore": Rule("N·M (aten::linear and aten::bmm; need_weights false: the projections only)",
                   lambda v: {"attention": v.N * v.M} if v.spec.need_weights else
                   {"attention": v.N * (v.M - 2 * v.layer.output_shape[0] * (v.layer.output_shapes[0][-1]) * (
                       _mha_shapes(v)[1][0] + v.spec.add_bias_kv + v.spec.add_zero_attn))}),
    "ptflops": Rule(lambda options: "its hook, per sample: L_q·E + L_q·E² + L_k·k_dim² + L_k·v_dim² + bias·(L_q +"
                    " 2·L_k)·E + H·L_q·L_k·(E/H + 1 + v_dim/H) + L_q·v_dim·(v_dim + 1)" + (
                        "; + N·(2·L_q·L_k'·E + H·L_q·L_k') for the patched torch.bmm and F.softmax (need_weights)"
                        if options.get("functional") else ""), _ptflops_mha),
    "ptflops-aten": Rule("N·M (need_weights false: the projections only) + bias·N·(L_q·E + Σ L·E over query, key"
                         " and value when contiguous: batch_first false, N = 1 or L = 1)", _ptflops_aten_mha),
    "thop": Rule("0 (no rule for nn.MultiheadAttention)", lambda v: {}),
    "torchinfo": Rule("0 (nn.MultiheadAttention's projections are parameters, not Linear modules; the products"
                      " are not counted)", lambda v: {}),
    "calflops": Rule("2·N·(projection MACs) (the patched F.linear, no bias) + N·H·L_q·L_k' (F.softmax, need_weights);"
                     " the products (torch.bmm) are not counted", _calflops_mha),
}
ScaledDotProductAttention.pytorch = "torch.nn.functional.scaled_dot_product_attention"
ScaledDotProductAttention.convention_row = "scaled_dot_product_attention"
_SDPA_OPTIONS = ("is_causal", "scale", "enable_gqa", "dropout_p")   # written when not their defaults
ScaledDotProductAttention.pytorch_call = staticmethod(
    lambda args, inputs, batch: f"nn.functional.scaled_dot_product_attention({', '.join(inputs)}"
    + "".join(f", {key}={args[key]!r}" for key in _SDPA_OPTIONS if key in args and args[key] not in (None, False, 0.0))
    + ")")
ScaledDotProductAttention.counting = {
    "pytorch": Rule("N·M on the math path; CPU's flash kernel (the default there) counts 0", batch_macs("attention")),
    "calflops": Rule("0 (F.scaled_dot_product_attention is not patched), measured", lambda v: {}),
}   # fvcore, ptflops (both backends), thop and torchinfo: 0, measured (no rule for the function)
for _layer in (TransformerEncoderLayer, TransformerDecoderLayer):
    _layer.inferred_argument = ("d_model", -1)
    _layer.convention_row = "transformer layers"
    _layer.module_only = True
    _layer.counting = {
        "pytorch": Rule("N·M on the math path; CPU's default flash kernel: the linears only",
                        batch_macs("attention")),
        "fvcore": Rule("N·(projections + feed-forward) + 5·N·L·E per norm: the attention products run in"
                       " scaled_dot_product_attention, not counted", _fvcore_transformer),
        "ptflops": Rule("per sample: the attention hooks (multiheadattention's) + the linears (M + bias·Y) + L·E per"
                        " norm", _ptflops_transformer),
        "ptflops-aten": Rule("N·(projections + feed-forward) + bias·N·(L·E per attention's output projection + L·(F +"
                             " E) + each input projection's L·E when contiguous: batch_first false, N = 1 or L = 1)",
                             _ptflops_aten_transformer),
        "thop": Rule("N·2·L·E·F (the feed-forward linears) + 4·N·L·E per norm", _thop_transformer),
        "torchinfo": Rule("N·(L·(feed-forward params) + norm params): the linears' rows counted (PR #318);"
                          " nn.MultiheadAttention 0", _torchinfo_rows_transformer),
        "torchinfo-1.8": Rule("N·(params − the attention layers' params)", _torchinfo_transformer),
        "calflops": Rule("2·N·(projections + feed-forward) + 5·N·L·E per norm: the activation and the attention"
                         " products not counted", _calflops_transformer),
    }
TransformerEncoderLayer.pytorch = "torch.nn.TransformerEncoderLayer"
TransformerDecoderLayer.pytorch = "torch.nn.TransformerDecoderLayer"
MatMul.pytorch = "torch.matmul"
MatMul.pytorch_call = staticmethod(lambda args, inputs, batch: f"{inputs[0]} @ {inputs[1]}")
MatMul.convention_row = "matmul"
MatMul.counting = {
    "pytorch": Rule("N·M", batch_macs("matmul")),
    "fvcore": Rule("N·M (aten::matmul)", batch_macs("matmul")),
    "ptflops": Rule(lambda options: "N·M (the patched torch.matmul)" if options.get("functional") else "0",
                    lambda v: {"matmul": v.N * v.M} if v.functional and v.call != "operator" else {}),
    "ptflops-aten": Rule("N·M", batch_macs("matmul")),
    "calflops": Rule("torch.matmul: 2·N·X_a·p (X_a the left operand's elements, p the right's last axis: no"
                     " broadcast); the operator a @ b: 0", _calflops_matmul),
}   # thop and torchinfo: 0, measured
del _layer

TITLE = "Attention"  # the family in docs/formulas.md and docs/memory.md
ORDER = 13  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"mha": "multiheadattention", "attention": "multiheadattention", "sdpa": "scaled_dot_product_attention",
            "bmm": "matmul", "transformerencoder": "transformerencoderlayer"}

LAYERS = {
    "multiheadattention": MultiheadAttention,
    "scaled_dot_product_attention": ScaledDotProductAttention,
    "transformerencoderlayer": TransformerEncoderLayer,
    "transformerdecoderlayer": TransformerDecoderLayer,
    "matmul": MatMul,
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "multiheadattention": [("self-attention (ViT-B/16)", {"num_heads": 12}, [[197, 768]]),
                           ("cross-attention, kdim and vdim", {"num_heads": 2, "kdim": 12, "vdim": 6},
                            [[9, 16], [5, 12], [5, 6]]),
                           ("add_bias_kv, add_zero_attn, weights per head",
                            {"num_heads": 4, "add_bias_kv": True, "add_zero_attn": True, "average_attn_weights": False},
                            [[10, 64]])],
    "scaled_dot_product_attention": [("", {}, [[12, 197, 64], [12, 197, 64], [12, 197, 64]]),
                                     ("grouped-query, causal", {"enable_gqa": True, "is_causal": True},
                                      [[32, 128, 64], [8, 128, 64], [8, 128, 64]])],
    "transformerencoderlayer": [("", {"nhead": 8}, [[128, 512]]),
                                ("gelu, norm_first, no bias", {"nhead": 4, "dim_feedforward": 256, "activation": GELU,
                                                               "norm_first": True, "bias": False}, [[50, 64]])],
    "transformerdecoderlayer": [("", {"nhead": 8}, [[20, 512], [30, 512]])],
    "matmul": [("", {}, [[10, 20], [20, 30]]), ("broadcast", {}, [[1, 3, 7, 4], [2, 1, 4, 5]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
MEMORY_FACTS = {
    "multiheadattention": "Measured on CPU (torch 2.13, training, batch_first, inputs [2, 5, 8] and [3, 5, 8]): the"
        " batch-first input is transposed, so each in-projection linear keeps an [L·N, E] copy of its input (when the"
        " weights train; one copy for a key that is the value); self-attention keeps the packed q/k/v projection"
        " [3, L, N, E] (a shared key/value [2, L_k, N, E]; else separate projections), q·scale, and the softmax"
        " [N·H, L_q, L_k] (with average_attn_weights false it is output 1 itself; with dropout also its mask and"
        " the dropped weights), then the output projection's input. need_weights false runs"
        " scaled_dot_product_attention: without dropout CPU's flash kernel, which keeps the projections, the"
        " log-sum-exp [N, H, L_q] in float32 and the output (which is the output projection's input): no L×L"
        " matrix; with dropout its math path (q·√scale, kᵀ·√scale, softmax, mask, dropped weights). add_bias_kv /"
        " add_zero_attn concatenate new keys and values. Self-attention E 8, H 2, L 5 at N 2: 2,320 B; with"
        " need_weights false 1,680 B.",
    "scaled_dot_product_attention": "Backends measured on CPU with torch.nn.attention.sdpa_kernel (torch 2.13): the"
        " math path keeps q·√scale, kᵀ·√scale, the softmax probabilities [N, H, L_q, L_k] and v (with dropout_p also the mask and the dropped "
        "probabilities; with enable_gqa k and v repeated to the query heads; float16 and bfloat16 inputs are computed"
        " — and kept — in float32, float64 stays float64); the CPU flash kernel keeps q, k, v, the output and the "
        "log-sum-exp [N, H, L_q] in float32 (float64 for float64 inputs), nothing L×L. PyTorch's default on CPU, "
        "float32 (and half, float64), causal or not: flash when the inputs are [N, H, L, E] with one head size for q,"
        " k and v and dropout_p is 0, else math. On CUDA (PyTorch's sdp_utils.cpp priority, not measured here) flash "
        "for float16 / bfloat16, memory-efficient for float32, whose log-sum-exp rows are padded to a multiple of 32,"
        " math for float64; the philox seed and offset they keep are not counted. `backend: math | flash` chooses; "
        "measured q, k, v [2, 2, 5, 4] and [2, 2, 7, 4]: math 2,000 B (D_v 6), flash 2,336 B with GQA from 4 query "
        "heads.",
    "transformerencoderlayer": "Measured on CPU (training, batch_first): the self-attention as multiheadattention with"
        " need_weights false (flash without dropout, math with it), each dropout's mask (model dtype; bool on CUDA),"
        " each layer norm's input (the residual sum, or the layer input for the first norm with norm_first) and its"
        " mean and 1/std, linear1's input, the activation's output (relu) or input (gelu), linear2's input (relu's"
        " output itself without dropout). E 8, H 2, F 16, L 5, N 2: 7,120 B (dropout 0.1), 3,440 B (dropout 0).",
    "transformerdecoderlayer": "As the encoder layer, with a cross-attention block over the memory (one [L_m·N, E] copy"
        " of the memory serves as key and value, projected into one packed [2, L_m, N, E] storage) and a third norm."
        " E 8, H 2, F 16, L 5, L_m 7, N 2: 12,272 B (dropout 0.1), 6,224 B (dropout 0).",
    "matmul": "MmBackward / BmmBackward keep each operand whose partner needs a gradient, as a view of the input; an"
              " operand broadcast over leading axes is kept expanded, a new tensor. Measured: [3, 4] @ [4, 5] at N 2"
              " 256 B; [1, 3, 4] @ [5, 4, 6] 1,440 B.",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "multiheadattention": [
        ("", {"num_heads": 8}, [[197, 768]], None),
        ("need_weights false", {"num_heads": 8, "need_weights": False}, [[197, 768]], None),
        ("dropout 0.1", {"num_heads": 8, DROPOUT: 0.1}, [[197, 768]], None),
    ],
    "scaled_dot_product_attention": [
        ("", {}, [[12, 197, 64], [12, 197, 64], [12, 197, 64]], None),
        ("backend math", {"backend": "math"}, [[12, 197, 64], [12, 197, 64], [12, 197, 64]], None),
    ],
    "transformerencoderlayer": [
        ("", {"nhead": 8}, [[128, 512]], None),
        ("dropout 0", {"nhead": 8, DROPOUT: 0.0}, [[128, 512]], None),
    ],
    "transformerdecoderlayer": [
        ("", {"nhead": 8}, [[20, 512], [30, 512]], None),
    ],
    "matmul": [
        ("", {}, [[10, 20], [20, 30]], None),
    ],
}


# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
def _matmul_from_onnx(context: Any) -> list | None:
    """MatMul (or Gemm without transposes or bias) of two run-time tensors."""
    node = context.node
    if any(context.is_constant(name) for name in node.input[:2]):
        return None
    if context.attribute("transA", 0) or context.attribute("transB", 0) or context.input(2):
        raise context.unmapped("a product of two tensors with a transposed operand or a bias has no spec type")
    return [context.layer("matmul", {}, [context.ref(node.input[0]), context.ref(node.input[1])])]


ONNX_OPERATORS = {"MatMul": _matmul_from_onnx, "Gemm": _matmul_from_onnx}


def _scalar(context: Any, node: Any, tensor: str) -> float | None:
    """The constant scalar `node` multiplies `tensor` by (None when it is not a Mul of a scalar)."""
    if node is None or node.op_type != "Mul" or tensor not in node.input:
        return None
    others = [name for name in node.input if name != tensor]
    if len(others) != 1 or not context.is_constant(others[0]) or context.numel(others[0]) != 1:
        return None
    return float(context.value(others[0]).reshape(-1)[0])


def _is_causal_mask(context: Any, tensor: str, scores: tuple[int, ...]) -> bool:
    """A constant [..., L, S] of zeros on and below the diagonal and -inf (or below -1e30) above it: the mask
    PyTorch's exporter builds for is_causal (Where(Trilu(ones) == 0, -inf, 0)), broadcast over the heads."""
    if not context.is_constant(tensor):
        return False
    shape = context.constant_shape(tensor)
    if len(shape) < 2 or tuple(shape[-2:]) != tuple(scores[-2:]) or any(size != 1 for size in shape[:-2]):
        return False
    mask = context.value_or_none(tensor)
    if mask is None:
        return False
    mask = mask.reshape(shape[-2:])
    return all(not mask[row, :row + 1].any() and bool((mask[row, row + 1:] < -1e30).all()) for row in range(shape[-2]))


def _sdpa_from_onnx(context: Any) -> list | None:
    """F.scaled_dot_product_attention as PyTorch's exporter writes it (math attention): q · √s and kᵀ · √s
    (kᵀ a Transpose of k, or of k's [N, L, H, D] before its heads' transpose), MatMul, + the causal mask for
    is_causal, Softmax over the last axis, MatMul with v; every step the only reader of the one before. Fires on
    the chain's first node (the Transpose or q's Mul): the nodes become one scaled_dot_product_attention layer.
    None for any other Transpose or Mul."""
    node = context.node
    if node.op_type == "Transpose":
        key_scale = context.sole_consumer(node.output[0])
        scores = context.sole_consumer(key_scale.output[0]) if key_scale is not None else None
    else:
        scores = context.sole_consumer(node.output[0])
    if scores is None or scores.op_type != "MatMul":
        return None
    query_scale, key_scale = context.producer(scores.input[0]), context.producer(scores.input[1])
    transpose = context.producer(key_scale.input[0]) if key_scale is not None and key_scale.input else None
    if transpose is None or transpose.op_type != "Transpose" or node not in (transpose, query_scale):
        return None
    chain = [transpose, key_scale, query_scale, scores]
    q = next((name for name in query_scale.input if not context.is_constant(name)), None) \
        if query_scale is not None else None
    if q is None or any(step is not node and any(context.is_mapped(out) for out in step.output) for step in chain):
        return None
    scales = (_scalar(context, query_scale, q), _scalar(context, key_scale, transpose.output[0]))
    if None in scales or context.sole_consumer(transpose.output[0]) is not key_scale or \
            context.sole_consumer(query_scale.output[0]) is not scores:
        return None
    rank, perm = len(context.shape(transpose.input[0])), list(context.attributes_of(transpose).get("perm", []))
    if perm == [*range(rank - 2), rank - 1, rank - 2]:
        k = transpose.input[0]
    elif rank == 4 and perm == [0, 2, 3, 1]:   # k's [N, L, H, D] transposed to [N, H, D, L] in one step
        k = next((reader.output[0] for reader in context.graph.consumers.get(transpose.input[0], [])
                  if reader.op_type == "Transpose" and list(context.attributes_of(reader).get("perm", [])) == [0, 2, 1, 3]
                  and context.is_mapped(reader.output[0])), None)
    else:
        return None
    step, causal = context.sole_consumer(scores.output[0]), False
    if step is not None and step.op_type == "Add":
        mask = next((name for name in step.input if name != scores.output[0]), "")
        if not _is_causal_mask(context, mask, context.shape(scores.output[0])):
            return None
        chain, causal, step = [*chain, step], True, context.sole_consumer(step.output[0])
    if step is None or step.op_type != "Softmax" or \
            context.attributes_of(step).get("axis", -1) % rank != rank - 1:
        return None
    output = context.sole_consumer(step.output[0])
    if output is None or output.op_type != "MatMul" or output.input[0] != step.output[0]:
        return None
    v = output.input[1]
    if k is None or not all(context.is_mapped(name) for name in (q, k, v)):
        return None
    scale = scales[0] * scales[1]
    arguments: dict[str, Any] = {"is_causal": True} if causal else {}
    if abs(scale * context.shape(q)[-1] ** 0.5 - 1) > 1e-5:   # not the default 1 / √E
        arguments["scale"] = context.number(scale)
    for later in [*chain, step, output]:
        if later is not node:
            context.absorb(later)
    context.named_after = "attention"
    return [context.layer("scaled_dot_product_attention", arguments,
                          [context.ref(q), context.ref(k), context.ref(v)], shape_of=output.output[0])]


# what nn.MultiheadAttention's export is made of (the projections, the heads' reshapes, the math attention)
_MHA_OPS = {"Transpose", "MatMul", "Gemm", "Add", "Mul", "Div", "Reshape", "Unsqueeze", "Squeeze", "Gather",
            "Softmax", "Shape", "Concat", "Slice", "Sqrt", "Cast", "Identity", "Split", "ReduceMean", "Expand"}


def _scope_nodes(context: Any, node: Any) -> list | None:
    """The nodes of `node`'s module scope (`/layers.9/self_attn/` of `/layers.9/self_attn/Transpose`), in graph
    order, its inner scopes included; None for a node outside a module."""
    scope = node.name.rsplit("/", 1)[0] + "/" if node.name.count("/") >= 2 else None
    if scope is None:
        return None
    unique = {id(step): step for step in context.graph.producers.values()}
    return [step for step in unique.values() if step.name.startswith(scope)]


def _mha_from_onnx(context: Any) -> list | None:
    """nn.MultiheadAttention (batch-first self-attention, need_weights) as PyTorch's exporter writes it: its module
    scope opens with a Transpose [1, 0, 2] to [L, N, E] and closes with one back, the projections and the heads on
    [L, N·H, D] between them; the scope becomes one multiheadattention layer, batch_first. None for any other
    Transpose (one whose scope reads other tensors, or has other outputs, is not this module)."""
    node = context.node
    if list(context.attribute("perm") or []) != [1, 0, 2]:
        return None
    steps = _scope_nodes(context, node)
    if not steps or steps[0] is not node or any(step.op_type not in _MHA_OPS for step in steps):
        return None
    inside = {tensor for step in steps for tensor in step.output if tensor}
    entry = node.input[0]
    if any(name and name not in inside and name != entry and not context.is_constant(name)
           for step in steps for name in step.input):
        return None   # it reads another tensor: not self-attention on its one input
    exits = [tensor for tensor in inside if tensor in context.graph.outputs or any(
        reader.name not in {step.name for step in steps} for reader in context.graph.consumers.get(tensor, []))]
    softmaxes = [step for step in steps if step.op_type == "Softmax"]
    if len(exits) != 1 or len(softmaxes) != 1 or any(context.is_mapped(tensor) for tensor in inside):
        return None
    last = next(step for step in steps if exits[0] in step.output)
    if last.op_type != "Transpose" or list(context.attributes_of(last).get("perm", [])) != [1, 0, 2]:
        return None
    # the scores are [N·H, L, S] (or [N, H, L, S]) of a batch of N
    batch, scores = context.shape(entry)[0], context.shape(softmaxes[0].output[0])
    heads = scores[1] if len(scores) == 4 else scores[0] // batch
    if len(scores) not in (3, 4) or len(scores) == 3 and scores[0] % batch:
        return None
    weights = {name for step in steps if step.op_type in ("MatMul", "Gemm", "Add") for name in step.input
               if context.is_constant(name) and context.element_type(name) == 1 and context.numel(name) > 1}
    biases = [name for name in weights if len(context.constant_shape(name)) == 1]
    arguments: dict[str, Any] = {"num_heads": heads, "batch_first": True}
    if not biases:
        arguments["bias"] = False
    for step in steps[1:]:
        if step is not last:
            context.absorb(step)
    context.absorb(last)
    context.named_after = "multiheadattention"
    return [context.layer("multiheadattention", arguments, [context.ref(entry)], shape_of=exits[0],
                          params=sum(context.numel(name) for name in weights))]


def _attention_from_onnx(context: Any) -> list | None:
    """A Transpose opens either pattern: nn.MultiheadAttention's scope, or the math attention's kᵀ."""
    return _mha_from_onnx(context) or _sdpa_from_onnx(context)


ONNX_PATTERNS = {"Transpose": _attention_from_onnx, "Mul": _sdpa_from_onnx}


__all__ = ["LAYERS", "MatMul", "MultiheadAttention", "ScaledDotProductAttention", "TransformerDecoderLayer",
           "TransformerEncoderLayer", "attention_counts"]
