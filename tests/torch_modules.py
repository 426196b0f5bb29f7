"""Real PyTorch modules for archcalc specs, shared by the cross-check test modules.

Import it only after `pytest.importorskip("torch")`: it imports torch.
"""

from __future__ import annotations

import functools
import inspect
import operator
from importlib import import_module
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

import archcalc
from archcalc.layers import TYPE_NAMES, Layer, layer_class
from archcalc.network import NetworkInput


class Arithmetic(nn.Module):
    """The `add`, `sub`, `mul`, `div` layers: a op b op ... with broadcasting, or x op scalar."""

    operation: Callable = operator.add

    def __init__(self, scalar: float | None = None):
        super().__init__()
        self.scalar = scalar

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        operands = (*xs, self.scalar) if self.scalar is not None else xs
        return functools.reduce(type(self).operation, operands)


class Add(Arithmetic):
    operation = operator.add


class Mul(Arithmetic):
    operation = operator.mul


class Sub(Arithmetic):
    operation = operator.sub


class Div(Arithmetic):
    operation = operator.truediv


class Function(nn.Module):
    """A torch function a layer type stands for (torch.permute, torch.exp, ...), called with the layer's
    arguments as keywords: torch.permute(x, dims=...), torch.split(x, split_size_or_sections=..., dim=...)."""

    function: Callable = staticmethod(lambda *xs, **arguments: xs[0])

    def __init__(self, **arguments):
        super().__init__()
        self.arguments = arguments

    def forward(self, *xs: torch.Tensor):
        return type(self).function(*xs, **self.arguments)


def function_module(name: str) -> type[nn.Module]:
    """The module standing for the torch function `name` ("torch.exp")."""
    target = getattr(torch, name.rpartition(".")[2])
    if name == "torch.reshape":   # the per-sample shape: the batch axis in front
        def target(x, shape):
            return torch.reshape(x, (x.shape[0], *shape))
    return type(name.rpartition(".")[2].title(), (Function,), {"function": staticmethod(target)})


class Concat(nn.Module):
    """The `concat` merge layer: torch.cat along `dim` (batch axis 0)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


class LearnedTensor(nn.Module):
    """The `parameter` type: an nn.Parameter [1, *shape] expanded over the batch (a view), as ViT's class token."""

    def __init__(self, shape: list[int]):
        super().__init__()
        self.value = nn.Parameter(torch.randn(1, *shape))

    def forward(self, batch: int) -> torch.Tensor:
        # under no_grad an expanded view of a parameter would still claim requires_grad, without a grad_fn
        # (FlopCounterMode's module tracker refuses that): detach it there
        value = self.value if torch.is_grad_enabled() else self.value.detach()
        return value.expand(batch, *value.shape[1:])


class BatchFirstRecurrent(nn.Module):
    """nn.LSTM / GRU / RNN on [N, L, H_in] (batch_first), its h_n and c_n batch-first too ([N, D·layers, H]), run
    with oneDNN off as contract §6 says (the unfused path, whose saved tensors archcalc models)."""

    def __init__(self, kind: type[nn.Module], **kwargs):
        super().__init__()
        self.rnn = kind(**{**kwargs, "batch_first": True})

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        with torch.backends.mkldnn.flags(enabled=False):
            output, states = self.rnn(x)
        states = states if isinstance(states, tuple) else (states,)
        return (output, *(state.transpose(0, 1) for state in states))


class ScaledDotProductAttention(nn.Module):
    """The `scaled_dot_product_attention` layer: F.scaled_dot_product_attention(q, k, v, ...), on the backend the
    spec names (`default`: PyTorch's choice)."""

    def __init__(self, is_causal: bool = False, scale: float | None = None, enable_gqa: bool = False,
                 dropout_p: float = 0.0, backend: str = "default"):
        super().__init__()
        self.options = {"is_causal": is_causal, "scale": scale, "enable_gqa": enable_gqa, "dropout_p": dropout_p}
        self.backend = backend

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        from torch.nn.attention import SDPBackend, sdpa_kernel
        if self.backend == "default":
            return F.scaled_dot_product_attention(q, k, v, **self.options)
        kernel = {"math": SDPBackend.MATH, "flash": SDPBackend.FLASH_ATTENTION}[self.backend]
        with sdpa_kernel(kernel):
            return F.scaled_dot_product_attention(q, k, v, **self.options)


class MultiheadAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention called as archcalc's layer: one input is self-attention (query = key = value, the
    same tensor), and need_weights / average_attn_weights are forward arguments."""

    def __init__(self, *args, need_weights: bool = True, average_attn_weights: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.call_options = {"need_weights": need_weights, "average_attn_weights": average_attn_weights}

    def forward(self, *xs: torch.Tensor):  # type: ignore[override]
        query, key, value = xs if len(xs) == 3 else (xs[0],) * 3
        out, weights = super().forward(query, key, value, **self.call_options)
        return (out,) if weights is None else (out, weights)


class MixtureOfExperts(nn.Module):
    """The `moe` layer as Hugging Face transformers 5.24 runs MixtralSparseMoeBlock (and Qwen2MoeSparseMoeBlock's
    shared expert): a router linear without bias, softmax in float32, top-k renormalised, then for each expert that
    some token picked: gather its tokens, run it, weight it, index_add_ into the output. Each expert is the spec's
    expert network built as a GraphModule (HF fuses gate and up projections into one 3-D tensor; the counts are
    the same)."""

    def __init__(self, hidden_size: int, experts: int, top_k: int, expert: list, shared_experts: int = 0,
                 shared_expert: list | None = None, shared_expert_gate: bool = False, router_bias: bool = False,
                 normalize_top_k: bool = True):
        super().__init__()
        self.top_k, self.normalize_top_k = top_k, normalize_top_k
        self.gate = nn.Linear(hidden_size, experts, bias=router_bias)
        self.experts = nn.ModuleList(self.network(expert, hidden_size) for _ in range(experts))
        self.shared_experts = nn.ModuleList(self.network(shared_expert or expert, hidden_size)
                                            for _ in range(shared_experts))
        self.shared_expert_gate = nn.Linear(hidden_size, 1, bias=False) if shared_expert_gate else None

    @staticmethod
    def network(layers: list, hidden_size: int) -> nn.Module:
        return GraphModule(archcalc.analyze({"input": [hidden_size], "layers": list(layers)}).network)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(-1, x.shape[-1])
        probabilities = F.softmax(self.gate(h).float(), dim=-1)
        top_values, top_indices = torch.topk(probabilities, self.top_k, dim=-1)
        if self.normalize_top_k:   # Mixtral; Qwen2-MoE's norm_topk_prob
            top_values /= top_values.sum(dim=-1, keepdim=True)
        weights = top_values.to(h.dtype)
        out = torch.zeros_like(h)
        for index, expert in enumerate(self.experts):
            token, position = torch.where(top_indices == index)
            if token.numel():
                out.index_add_(0, token, expert(h[token]) * weights[token, position, None])
        if len(self.shared_experts):
            shared = functools.reduce(operator.add, (expert(h) for expert in self.shared_experts))
            if self.shared_expert_gate is not None:
                shared = torch.sigmoid(self.shared_expert_gate(h)) * shared
            out = out + shared
        return out.reshape(x.shape)


# Functions archcalc types stand for, as modules a GraphModule can hold; and classes called in archcalc's way.
FUNCTION_MODULES: dict[str, type[nn.Module]] = {"torch.add": Add, "torch.mul": Mul, "torch.sub": Sub,
                                                "torch.div": Div, "torch.cat": Concat,
                                                "torch.nn.Parameter": LearnedTensor,
                                                "torch.nn.functional.scaled_dot_product_attention":
                                                    ScaledDotProductAttention,
                                                "torch.nn.MultiheadAttention": MultiheadAttention,
                                                "torch.nn.Module": MixtureOfExperts}


def torch_class(tag: str) -> type[nn.Module]:
    """The PyTorch class a layer type names (its `pytorch`), or the module standing for its function."""
    name = layer_class(tag).pytorch
    if name in FUNCTION_MODULES:
        return FUNCTION_MODULES[name]
    if name.count(".") == 1:   # a torch function, not a torch.nn class
        return function_module(name)
    module, _, attribute = name.rpartition(".")
    return getattr(import_module(module), attribute)


TORCH_CLASS: dict[str, type[nn.Module]] = {tag: torch_class(tag) for tag in TYPE_NAMES}

# archcalc's own layer fields (type, name, inputs, trainable, expect_output_shape, call), not PyTorch's
NOT_ARGUMENTS = set(Layer.model_fields)


def first_tensor(out: object) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out  # maxpool with return_indices


def store(values: dict[str, torch.Tensor], name: str, out: object) -> None:
    """A layer's result under its name (output 0) and, for several outputs (split), NAME:0, NAME:1, ..."""
    values[name] = first_tensor(out)
    if isinstance(out, (tuple, list)):
        values.update({f"{name}:{index}": tensor for index, tensor in enumerate(out)})


def build_module(layer: archcalc.LayerResult, inplace: bool = True) -> nn.Module:
    """The torch module of one layer: the arguments the spec set, torch's defaults for the others.
    `inplace=False` turns in-place layers into ordinary ones (when other branches still read the input)."""
    kwargs = layer.spec.model_dump(exclude_unset=True, exclude=NOT_ARGUMENTS | {"tie"})
    inferred = type(layer.spec).inferred_argument
    if inferred is not None:
        argument, axis = inferred
        kwargs.setdefault(argument, layer.input_shapes[0][axis])
    if not inplace and kwargs.get("inplace"):
        kwargs["inplace"] = False
    kind = TORCH_CLASS[layer.type]
    if not issubclass(kind, nn.RNNBase) and any("batch_first" in inspect.signature(base.__init__).parameters
                                                for base in kind.__mro__ if "__init__" in vars(base)):
        kwargs["batch_first"] = True   # attention and transformer layers: per sample [L, E], the batch in front
    module = BatchFirstRecurrent(kind, **kwargs) if issubclass(kind, nn.RNNBase) else kind(**kwargs)
    if not layer.spec.trainable:
        module.requires_grad_(False)
    return module


class GraphModule(nn.Module):
    """A whole spec as one nn.Module: the layers' modules, wired by their `sources`."""

    def __init__(self, network: archcalc.Network, inplace: bool = True):
        super().__init__()
        self.wiring = [(layer.name, layer.sources) for layer in network.layers]
        self.layers = nn.ModuleList(build_module(layer, inplace) for layer in network.layers)
        index = {layer.name: number for number, layer in enumerate(network.layers)}
        for layer, module in zip(network.layers, self.layers):
            if getattr(layer.spec, "tie", None):   # the LM head's weight is the embedding's tensor
                module.weight = self.layers[index[layer.spec.tie]].weight

        self.input_names = [item.name for item in network.inputs] or ["input"]

    def forward(self, *xs: torch.Tensor, on_layer: Callable[[str], None] | None = None) -> torch.Tensor:
        values = dict(zip(self.input_names, xs))
        values.setdefault("input", xs[0])
        for (name, sources), module in zip(self.wiring, self.layers):
            if on_layer is not None:
                on_layer(name)
            if sources:
                store(values, name, module(*(values[source] for source in sources)))
            else:   # a learned tensor: no input, broadcast over the batch
                store(values, name, module(xs[0].shape[0]))
        return values[self.wiring[-1][0]]


TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
                "float64": torch.float64, "int64": torch.int64, "int32": torch.int32, "bool": torch.bool}


def network_inputs(network: archcalc.Network, batch: int, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """A batch for each network input: random floats in `dtype`, token ids below the smallest embedding table."""
    ids = min((layer.spec.num_embeddings for layer in network.layers if hasattr(layer.spec, "num_embeddings")),
              default=2)
    made = []
    for item in network.inputs or [NetworkInput("input", network.input_shape, network.input_dtype)]:
        if item.dtype in ("int64", "int32"):
            made.append(torch.randint(0, ids, (batch, *item.shape), dtype=TORCH_DTYPES[item.dtype]))
        elif item.dtype == "bool":
            made.append(torch.rand(batch, *item.shape) > 0.5)
        else:
            made.append(torch.randn(batch, *item.shape).to(dtype))
    return made


__all__ = ["Add", "Arithmetic", "BatchFirstRecurrent", "Concat", "Div", "Function", "GraphModule", "LearnedTensor", "MixtureOfExperts",
           "Mul", "MultiheadAttention", "ScaledDotProductAttention", "Sub", "TORCH_CLASS", "TORCH_DTYPES", "build_module",
           "first_tensor", "network_inputs", "store", "torch_class"]
