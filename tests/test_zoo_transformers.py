"""The transformer zoo (issue #13) against the real models and their published figures.

Each spec is compared with the model itself — Hugging Face transformers' GPT2LMHeadModel(GPT2Config()),
BertModel(BertConfig()) and LlamaForCausalLM(LlamaConfig(...)) with random weights (no hub access), and
torchvision's ViT-B/16 rebuilt below in plain torch (torchvision is not a dependency) — by:

* parameters: in total, and at every spec layer: the parameters HF/torch names under that layer's name
  (model.named_parameters(), which yields a tied weight once, at its owner) — and every parameter of the
  model belongs to exactly one spec layer;
* MACs: FlopCounterMode / 2 in total and for every module of the model: the sum of the spec layers named
  under the module equals what FlopCounterMode attributes to it (function calls count at the module
  that makes them, hence the spec's names for them);
* output shapes: of every module whose name is a spec layer (forward hooks), and of the model.

Attention runs on PyTorch's math path (sdpa_kernel(SDPBackend.MATH)): there it is two batched matrix
products that FlopCounterMode counts. FlopCounterMode counts nothing for: embedding lookups, layer and
RMS norms, activations, dropout, additions, the rotary embedding (HF 5.24 computes position * inv_freq
and cos/sin element-wise), views and transposes; and nothing for nn.MultiheadAttention's inference fast
path, which is why the ViT runs with autograd on (contract §6).

The big models run on the meta device: modules with shapes and no storage, so counting LLaMA-2-7B
allocates nothing (its 6.7 B parameters are never materialized); FlopCounterMode and forward hooks work
on meta tensors as on real ones. The small models (GPT-2 at a short sequence, the small LLaMA) also run
for real on the CPU, which shows that meta and real give the same counts.
"""

from __future__ import annotations

import collections
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

import archcalc
from conftest import REPO

SPECS = REPO / "specs"


def load(spec: str, **variables) -> archcalc.Network:
    return archcalc.load(SPECS / f"{spec}.yaml", variables=variables)


def hf():
    return pytest.importorskip("transformers")


# --------------------------------------------------------------------------------------------
# Measuring a torch model: parameters per name, MACs per module, output shapes per module
# --------------------------------------------------------------------------------------------

class Measured:
    def __init__(self, model: nn.Module, inputs: tuple, grad: bool = False):
        self.model = model
        self.params = {name: p.numel() for name, p in model.named_parameters()}   # a tied weight once
        self.shapes: dict[str, tuple[int, ...]] = {}
        hooks = [module.register_forward_hook(self._hook(name)) for name, module in model.named_modules() if name]
        try:
            with torch.set_grad_enabled(grad), sdpa_kernel(SDPBackend.MATH), \
                    FlopCounterMode(display=False) as counter:
                self.output = model(*inputs)
        finally:
            for hook in hooks:
                hook.remove()
        root = type(model).__name__
        self.macs = collections.Counter()
        for key, counts in counter.get_flop_counts().items():
            if key == "Global":
                continue
            name = "" if key == root else key.removeprefix(root + ".")
            self.macs[name] = sum(counts.values()) // 2
        self.total_macs = counter.get_total_flops() // 2

    def _hook(self, name):
        def hook(module, args, output):
            while isinstance(output, (tuple, list)) or hasattr(output, "to_tuple"):
                output = output[0]
            if name not in self.shapes:              # the first call
                self.shapes[name] = tuple(output.shape[1:])
        return hook


def under(name: str, prefix: str) -> bool:
    return not prefix or name == prefix or name.startswith(prefix + ".")


def parameter_problems(network: archcalc.Network, params: dict[str, int]) -> list[str]:
    """Each torch parameter belongs to one spec layer, and each layer's count is its parameters'."""
    layers = {layer.name: layer for layer in network.layers}
    problems = []
    owner: dict[str, str] = {}
    for pname in params:
        owners = [name for name in layers if under(pname, name)]
        if len(owners) != 1:
            problems.append(f"parameter {pname}: spec layers {owners}")
        else:
            owner[pname] = owners[0]
    for name, layer in layers.items():
        theirs = sum(n for pname, n in params.items() if owner.get(pname) == name)
        if layer.params != theirs:
            problems.append(f"{name}: params archcalc {layer.params:,}, torch {theirs:,}")
    return problems


def compare(network: archcalc.Network, measured: Measured) -> None:
    """Every check of the module docstring; raises with all the differences at once."""
    layers = {layer.name: layer for layer in network.layers}
    problems = parameter_problems(network, measured.params)
    # MACs: every module of the model, as the sum of the spec layers named under it
    # (modules that are never called, such as an nn.ModuleList, have no count of their own; the modules inside
    # one spec layer — a mixture of experts' router and experts — count as part of that layer)
    inside = lambda module: any(module != name and under(module, name) for name in layers)  # noqa: E731
    modules = [name for name, _ in measured.model.named_modules()
               if (not name or name in measured.shapes) and not inside(name)]
    for module in modules:
        ours = sum(layer.macs for name, layer in layers.items() if under(name, module))
        if ours != measured.macs.get(module, 0):
            problems.append(f"module {module or '<model>'}: MACs archcalc {ours:,}, torch {measured.macs.get(module, 0):,}")
    # output shapes of the modules that are spec layers
    matched = [name for name in layers if name in measured.shapes]
    for name in matched:
        if tuple(layers[name].output_shape) != measured.shapes[name]:
            problems.append(f"{name}: output archcalc {list(layers[name].output_shape)}, "
                            f"torch {list(measured.shapes[name])}")
    assert not problems, "\n".join(problems)
    assert network.totals.params == sum(measured.params.values())
    assert network.totals.macs == measured.total_macs
    # the comparison is not vacuous: every spec layer with parameters is a torch module or parameter
    assert all(name in measured.shapes or name in measured.params for name, layer in layers.items() if layer.params)
    return matched


def ids(length: int, device: str = "cpu") -> torch.Tensor:
    return torch.zeros(1, length, dtype=torch.long, device=device)


# --------------------------------------------------------------------------------------------
# GPT-2 small
# --------------------------------------------------------------------------------------------

def test_gpt2_published_figures():
    """124,439,808 parameters: the "124M" GPT-2 (OpenAI's model card; HF's gpt2 checkpoint), the LM head tied
    to the token embedding; the head itself owns no parameter."""
    network = load("gpt2")
    assert network.totals.params == 124_439_808
    assert network.layer("lm_head").params == 0
    assert network.output_shape == (1024, 50257)
    assert network.totals.macs == 145_824_153_600   # FlopCounterMode / 2 at 1024 tokens, measured below


@pytest.mark.parametrize("device, seq_len", [("meta", 1024), ("cpu", 64)])
def test_gpt2_matches_hugging_face(device, seq_len):
    transformers = hf()
    with torch.device(device):
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config(attn_implementation="sdpa")).eval()
    measured = Measured(model, (ids(seq_len, device),))
    network = load("gpt2", seq_len=seq_len)
    matched = compare(network, measured)
    assert len(matched) >= 12 * 8
    assert network.output_shape == tuple(measured.output.logits.shape[1:])


# --------------------------------------------------------------------------------------------
# BERT-base
# --------------------------------------------------------------------------------------------

def test_bert_base_published_figures():
    """BERT-base: "Total Parameters=110M" (Devlin et al., 2019, Section 3); exactly 109,482,240 with the pooler
    (HF's bert-base-uncased)."""
    network = load("bert_base")
    assert round(network.totals.params, -7) == 110_000_000     # "110M", two significant digits
    assert network.totals.params == 109_482_240
    assert network.output_shape == (768,)
    assert network.layer("encoder.layer.11.output.LayerNorm").output_shape == (512, 768)


def test_bert_base_matches_hugging_face():
    transformers = hf()
    with torch.device("meta"):
        model = transformers.BertModel(transformers.BertConfig(attn_implementation="sdpa")).eval()
    measured = Measured(model, (ids(512, "meta"),))
    network = load("bert_base")
    compare(network, measured)
    assert network.output_shape == tuple(measured.output.pooler_output.shape[1:])
    assert network.totals.macs == 48_318_971_904


# --------------------------------------------------------------------------------------------
# ViT-B/16: torchvision's layout in plain torch
# --------------------------------------------------------------------------------------------

class MLPBlock(nn.Sequential):
    """torchvision.models.vision_transformer.MLPBlock: Linear, GELU, Dropout, Linear, Dropout."""

    def __init__(self, dim: int, mlp_dim: int):
        super().__init__(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp_dim, dim), nn.Dropout(0.0))


class EncoderBlock(nn.Module):
    """torchvision's EncoderBlock."""

    def __init__(self, heads: int, dim: int, mlp_dim: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, dropout=0.0, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, mlp_dim)

    def forward(self, input):
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x)
        x = x + input
        y = self.ln_2(x)
        y = self.mlp(y)
        return x + y


class Encoder(nn.Module):
    """torchvision's Encoder."""

    def __init__(self, seq_length: int, layers: int, heads: int, dim: int, mlp_dim: int):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, dim).normal_(std=0.02))
        self.dropout = nn.Dropout(0.0)
        self.layers = nn.Sequential(collections.OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(heads, dim, mlp_dim)) for i in range(layers)))
        self.ln = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, input):
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """torchvision.models.VisionTransformer, classification head `heads.head` (no representation layer)."""

    def __init__(self, image_size=224, patch_size=16, layers=12, heads=12, dim=768, mlp_dim=3072, classes=1000):
        super().__init__()
        self.patch_size, self.dim = patch_size, dim
        self.conv_proj = nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        seq_length = (image_size // patch_size) ** 2 + 1
        self.encoder = Encoder(seq_length, layers, heads, dim, mlp_dim)
        self.heads = nn.Sequential(collections.OrderedDict([("head", nn.Linear(dim, classes))]))

    def forward(self, x):
        n, _, h, w = x.shape
        x = self.conv_proj(x)
        x = x.reshape(n, self.dim, (h // self.patch_size) * (w // self.patch_size)).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = self.encoder(x)
        return self.heads(x[:, 0])


def test_vit_b_16_matches_torchvision_layout_and_table():
    """torchvision's model table (https://pytorch.org/vision/stable/models.html, ViT_B_16_Weights.IMAGENET1K_V1
    meta "num_params" and "_ops"): 86,567,656 parameters, 17.56 GFLOPS (multiply-accumulates)."""
    with torch.device("meta"):
        model = VisionTransformer().eval()
    # autograd on: nn.MultiheadAttention's inference fast path (no grad, eval) is one fused op that
    # FlopCounterMode does not count
    measured = Measured(model, (torch.zeros(1, 3, 224, 224, device="meta"),), grad=True)
    network = load("vit_b_16")
    compare(network, measured)
    assert sum(measured.params.values()) == network.totals.params == 86_567_656
    assert round(measured.total_macs / 1e9, 2) == round(network.totals.macs / 1e9, 2) == 17.56
    assert network.totals.macs == 17_563_828_224
    assert network.output_shape == (1000,)


# --------------------------------------------------------------------------------------------
# LLaMA: LLaMA-2-7B (meta device only) and a small grouped-query one (for real)
# --------------------------------------------------------------------------------------------

LLAMA2_7B = dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=32, rms_norm_eps=1e-5, max_position_embeddings=4096)
LLAMA2_70B = dict(vocab_size=32000, hidden_size=8192, intermediate_size=28672, num_hidden_layers=80,
                  num_attention_heads=64, num_key_value_heads=8, rms_norm_eps=1e-5, max_position_embeddings=4096)
SMALL = dict(vocab_size=32000, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
             num_attention_heads=8, num_key_value_heads=2, rms_norm_eps=1e-5, max_position_embeddings=512)


def llama_parameters(vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
                     num_key_value_heads, **_):
    """LlamaForCausalLM's parameters by formula: embedding, per layer q/o (d x d), k/v (d x kv_heads * head_dim),
    the SwiGLU MLP's three d x d_ff, two RMSNorm weights; the final norm; the untied head."""
    d, head_dim = hidden_size, hidden_size // num_attention_heads
    layer = 2 * d * d + 2 * d * num_key_value_heads * head_dim + 3 * d * intermediate_size + 2 * d
    return 2 * vocab_size * d + num_hidden_layers * layer + d


def test_llama2_7b_published_figures():
    """LLaMA-2-7B: "7B" (Touvron et al., 2023, Table 1); exactly 6,738,415,616 parameters (meta-llama/Llama-2-7b-hf)."""
    network = load("llama2_7b")
    assert network.totals.params == llama_parameters(**LLAMA2_7B) == 6_738_415_616
    assert round(network.totals.params / 1e9) == 7
    assert network.output_shape == (4096, 32000)
    assert network.totals.macs == 31_460_635_443_200
    assert load("llama2_7b", seq_len=2048).totals.params == 6_738_415_616    # positions carry no parameters


def test_llama2_7b_matches_hugging_face_on_the_meta_device():
    """The whole 7B model on the meta device (shapes, no storage: ~350 MB resident), at its full context."""
    transformers = hf()
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**LLAMA2_7B, attn_implementation="sdpa")).eval()
    measured = Measured(model, (ids(4096, "meta"),))
    compare(load("llama2_7b"), measured)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_llama_gqa_small_matches_hugging_face(device):
    transformers = hf()
    with torch.device(device):
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**SMALL, attn_implementation="sdpa")).eval()
    seq_len = 512 if device == "meta" else 64
    network = load("llama_gqa_small", seq_len=seq_len)
    compare(network, Measured(model, (ids(seq_len, device),)))
    assert sum(p.numel() for p in model.parameters()) == llama_parameters(**SMALL) == network.totals.params
    if device == "meta":
        assert (network.totals.params, network.totals.macs) == (19_155_200, 6_148_849_664)
    # the grouped-query attention: k and v projections to 2 heads of 32, queries in 8 heads
    assert network.layer("model.layers.0.self_attn.k_proj").output_shape == (seq_len, 64)


def test_llama_gqa_small_is_llama2_7b_with_other_variables():
    """The two LLaMA specs share their text below `variables`, so checking the small one against HF checks the
    7B layout too."""
    big = (SPECS / "llama2_7b.yaml").read_text().split("\nvariables:\n", 1)[1]
    small = (SPECS / "llama_gqa_small.yaml").read_text().split("\nvariables:\n", 1)[1]
    strip = lambda text: text.split("\nblocks:\n", 1)[1]  # noqa: E731
    assert strip(big) == strip(small)
    variables = dict(n_layer=4, d_model=256, n_head=8, n_kv_head=2, d_ff=688, seq_len=512)
    ours, theirs = load("llama2_7b", **variables), load("llama_gqa_small")
    assert ours.totals == theirs.totals
    assert [(layer.name, layer.output_shape, layer.params, layer.macs) for layer in ours.layers] == \
           [(layer.name, layer.output_shape, layer.params, layer.macs) for layer in theirs.layers]


def test_llama2_70b_published_figures_and_layout():
    """LLaMA-2-70B: "70B" (Touvron et al., 2023, Table 1); exactly 68,976,648,192 parameters (meta-llama/Llama-2-70b-hf),
    grouped-query attention with 8 key/value heads; the same text as the 7B spec below `blocks:`."""
    network = load("llama2_70b")
    assert network.totals.params == llama_parameters(**LLAMA2_70B) == 68_976_648_192
    assert network.layer("model.layers.0.self_attn.k_proj").output_shape == (4096, 1024)
    assert (SPECS / "llama2_70b.yaml").read_text().split("\nblocks:\n", 1)[1] == \
        (SPECS / "llama2_7b.yaml").read_text().split("\nblocks:\n", 1)[1]


def test_llama2_70b_matches_hugging_face_on_the_meta_device():
    """The 70B model on the meta device at a short context (every module, no storage), layer by layer."""
    transformers = hf()
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**LLAMA2_70B, attn_implementation="sdpa")).eval()
    compare(load("llama2_70b", seq_len=128), Measured(model, (ids(128, "meta"),)))


# --------------------------------------------------------------------------------------------
# Mixtures of experts: Mixtral-8x7B (meta device), Qwen1.5-MoE-A2.7B (meta device) and tiny ones (for real)
# --------------------------------------------------------------------------------------------

MIXTRAL_8X7B = dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                    num_attention_heads=32, num_key_value_heads=8, rms_norm_eps=1e-5, max_position_embeddings=32768,
                    num_local_experts=8, num_experts_per_tok=2)
QWEN_MOE_A2_7B = dict(vocab_size=151936, hidden_size=2048, intermediate_size=5632, num_hidden_layers=24,
                      num_attention_heads=16, num_key_value_heads=16, rms_norm_eps=1e-6, max_position_embeddings=8192,
                      num_experts=60, num_experts_per_tok=4, moe_intermediate_size=1408,
                      shared_expert_intermediate_size=5632)
# the spec variables of a tiny model, and its HF config (random weights, no hub access)
TINY_MOE = dict(n_layer=2, d_model=64, n_head=4, n_kv_head=2, d_ff=48, n_expert=4, top_k=2, vocab_size=1000)
TINY_MIXTRAL = dict(vocab_size=1000, hidden_size=64, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, rms_norm_eps=1e-5, max_position_embeddings=64, num_local_experts=4,
                    num_experts_per_tok=2)
TINY_QWEN_MOE = dict(vocab_size=1000, hidden_size=64, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=2, rms_norm_eps=1e-6, max_position_embeddings=64, num_experts=4,
                     num_experts_per_tok=2, moe_intermediate_size=48, shared_expert_intermediate_size=80)


def active_params(network: archcalc.Network) -> int:
    return network.totals.params - sum(layer.inactive_params for layer in network.layers)


def hf_params(model: nn.Module) -> dict[str, int]:
    return {name: p.numel() for name, p in model.named_parameters()}


def test_mixtral_8x7b_published_figures():
    """Mixtral-8x7B: "46.7B total parameters", "12.9B active" per token (Jiang et al., 2024; Mistral AI);
    exactly 46,702,792,704 and 12,879,925,248 (measured below on the meta device)."""
    network = load("mixtral_8x7b")
    assert network.totals.params == 46_702_792_704
    assert active_params(network) == 12_879_925_248
    assert (round(network.totals.params / 1e8), round(active_params(network) / 1e8)) == (467, 129)
    moe = network.layer("model.layers.0.mlp")
    expert = 3 * 4096 * 14336
    assert (moe.params, moe.inactive_params) == (4096 * 8 + 8 * expert, 6 * expert)
    # MACs per token of one moe layer: the router and two experts
    assert moe.macs == 32768 * (4096 * 8 + 2 * expert)


@pytest.mark.parametrize("model_class, config_class, config, spec", [
    ("MixtralForCausalLM", "MixtralConfig", MIXTRAL_8X7B, "mixtral_8x7b"),
    ("Qwen2MoeForCausalLM", "Qwen2MoeConfig", QWEN_MOE_A2_7B, "qwen_moe_a2_7b"),
])
def test_moe_models_match_hugging_face_parameters_on_the_meta_device(model_class, config_class, config, spec):
    """Every parameter of the full-size model (meta device: shapes, no storage) belongs to one spec layer, and
    each layer's count is its parameters'; active = total − the idle experts' share of the experts' tensors.
    (HF's experts loop picks its experts with nonzero(), which the meta device cannot run: the MACs are measured
    on the tiny models below.)"""
    transformers = hf()
    with torch.device("meta"):
        model = getattr(transformers, model_class)(getattr(transformers, config_class)(**config))
    params = hf_params(model)
    network = load(spec)
    assert parameter_problems(network, params) == []
    assert network.totals.params == sum(params.values())
    experts = config.get("num_local_experts", config.get("num_experts"))
    idle = sum(n for name, n in params.items() if ".mlp.experts." in name) * (experts - config["num_experts_per_tok"])
    assert active_params(network) == network.totals.params - idle // experts


def test_qwen_moe_a2_7b_published_figures():
    """Qwen1.5-MoE-A2.7B: "14.3B parameters in total and 2.7B activated" (its model card): 14,315,784,192 and
    2,689,173,504 (with the embedding and the LM head, as the card counts)."""
    network = load("qwen_moe_a2_7b")
    assert network.totals.params == 14_315_784_192
    assert active_params(network) == 2_689_173_504
    assert (round(network.totals.params / 1e8), round(active_params(network) / 1e8)) == (143, 27)
    moe = network.layer("model.layers.0.mlp")
    # router 2048 x 60, 60 experts of 3 x 2048 x 1408, the shared expert 3 x 2048 x 5632 and its gate 2048 x 1
    assert moe.params == 2048 * 60 + 60 * 3 * 2048 * 1408 + 3 * 2048 * 5632 + 2048


@pytest.mark.parametrize("model_class, config_class, config, spec", [
    ("MixtralForCausalLM", "MixtralConfig", TINY_MIXTRAL, "mixtral_8x7b"),
    ("Qwen2MoeForCausalLM", "Qwen2MoeConfig", TINY_QWEN_MOE, "qwen_moe_a2_7b"),
])
def test_tiny_moe_models_match_hugging_face(model_class, config_class, config, spec):
    """Tiny Mixtral and Qwen2-MoE models run for real on the CPU with HF's eager experts loop: parameters per
    spec layer, MACs per module (FlopCounterMode / 2: the router, each token's top_k experts, the shared expert and
    its gate — on whatever routing the random weights give), output shapes."""
    transformers = hf()
    torch.manual_seed(0)
    model = getattr(transformers, model_class)(getattr(transformers, config_class)(
        **config, attn_implementation="sdpa", experts_implementation="eager")).eval()
    variables = dict(TINY_MOE, seq_len=16, **({"d_shared": 80} if spec == "qwen_moe_a2_7b" else {}))
    network = load(spec, **variables)
    measured = Measured(model, (ids(16),))
    compare(network, measured)
    moe = network.layer("model.layers.0.mlp")
    assert measured.macs["model.layers.0.mlp"] == moe.macs > 0
    assert measured.macs["model.layers.0.mlp.experts"] == 16 * 2 * 3 * 64 * 48   # T·k·(3·d·d_ff)


def test_moe_specs_are_llama_with_a_mixture_of_experts():
    """Mixtral is LLaMA-2-7B's spec with the MLP replaced by the moe layer and its expert block, and Qwen1.5-MoE
    is Mixtral's with q/k/v biases, an expert block with a width parameter and the shared expert: checking the
    tiny ones against HF checks the layout of all."""
    yaml = pytest.importorskip("yaml")
    llama, mixtral, qwen = (yaml.safe_load((SPECS / f"{spec}.yaml").read_text())
                            for spec in ("llama2_7b", "mixtral_8x7b", "qwen_moe_a2_7b"))
    assert mixtral["layers"] == llama["layers"] == qwen["layers"]
    for block in ("heads", "rotary", "attention"):
        assert mixtral["blocks"][block] == llama["blocks"][block]
    llama_decoder = llama["blocks"]["decoder_layer"]["layers"]
    mixtral_decoder = mixtral["blocks"]["decoder_layer"]["layers"]
    mlp = [layer for layer in llama_decoder if layer["name"].startswith("mlp.")]
    moe = {"name": "mlp", "type": "moe", "experts": "${n_expert}", "top_k": "${top_k}", "expert": "expert"}
    assert mixtral_decoder == [*llama_decoder[:llama_decoder.index(mlp[0])], moe,
                               {"name": "add_1", "type": "add", "inputs": ["mlp", "add"]}]
    assert mixtral["blocks"]["expert"] == [{**layer, "name": layer["name"].removeprefix("mlp."),
                                            **({"inputs": ["input"]} if layer["name"] == "mlp.up_proj" else {}),
                                            **({"inputs": ["act_fn", "up_proj"]} if layer["type"] == "mul" else {})}
                                           for layer in mlp]
    qwen_attention = [{**layer, "bias": False} if layer.get("bias") else layer
                      for layer in qwen["blocks"]["attention"]["layers"]]
    assert qwen_attention == mixtral["blocks"]["attention"]["layers"]
    assert qwen["blocks"]["decoder_layer"]["layers"] == [
        {**layer, "shared_experts": 1, "shared_expert": {"block": "expert", "with": {"width": "${d_shared}"}},
         "shared_expert_gate": True, "normalize_top_k": False} if layer.get("type") == "moe" else layer
        for layer in mixtral_decoder]
    assert qwen["blocks"]["expert"] == {"params": {"width": "${d_ff}"}, "layers": [
        {**layer, "out_features": "${width}"} if layer.get("out_features") == "${d_ff}" else layer
        for layer in mixtral["blocks"]["expert"]]}
