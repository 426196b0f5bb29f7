"""`archcalc llm` against real PyTorch and Hugging Face transformers (skipped without them): saved activation
bytes of a small LlamaForCausalLM (saved_tensors_hooks, each storage once, parameters excluded), the KV cache
of a real DynamicCache after a forward pass, parameters per block and without embeddings, and the published
estimators (DeepSpeed's, accelerate's) called themselves. Tiny models: the whole module runs in seconds."""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import archcalc
from archcalc.analysis.llm import (Settings, accelerate_training, deepspeed_zero2, deepspeed_zero3, llm_sizing,
                                   saved_activations)
from conftest import REPO

LLAMA = dict(vocab_size=1000, hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, rms_norm_eps=1e-5, max_position_embeddings=64)
LLAMA_SPEC = dict(n_layer=2, d_model=64, n_head=4, n_kv_head=2, d_ff=172, vocab_size=1000)
GPT2 = dict(n_layer=2, n_embd=64, n_head=4, vocab_size=1000, n_positions=32)
GPT2_SPEC = dict(n_layer=2, d_model=64, n_head=4, vocab_size=1000, n_positions=32)
TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def llama(dtype: str = "float32"):
    torch.manual_seed(0)
    config = transformers.LlamaConfig(**LLAMA, attn_implementation="sdpa")
    return transformers.LlamaForCausalLM(config).to(TORCH_DTYPES[dtype])


def gpt2(dtype: str = "float32", activation: str = "gelu_new"):
    """attn_pdrop 0: the spec's attention has no dropout (GPT-2's 0.1 would send PyTorch down the math path)."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = transformers.GPT2Config(**GPT2, attn_pdrop=0.0, activation_function=activation,
                                         attn_implementation="sdpa")
        return transformers.GPT2LMHeadModel(config).to(TORCH_DTYPES[dtype])


def spec(name: str, **variables) -> archcalc.Network:
    return archcalc.load(REPO / "specs" / f"{name}.yaml", variables=variables)


def saved_bytes(model, inputs) -> int:
    """Bytes of every storage autograd saves in one training forward pass, each once, parameters excluded."""
    excluded = {tensor.untyped_storage().data_ptr() for tensor in [*model.parameters(), *model.buffers()]}
    seen: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in excluded:
            seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(inputs, use_cache=False)
    return sum(seen.values())


@pytest.mark.parametrize("seq_len", [16, 24])
def test_llama_saved_activations_equal_pytorch_in_float32(seq_len):
    network = spec("llama_gqa_small", **LLAMA_SPEC, seq_len=seq_len)
    measured = saved_bytes(llama(), torch.zeros(1, seq_len, dtype=torch.long))
    assert saved_activations(network, "float32", "none", device="cpu").at(1) == measured


def test_llama_saved_activations_in_bfloat16_differ_by_the_rmsnorm_cast():
    """At bfloat16, Hugging Face's LlamaRMSNorm multiplies its weight by x·rstd cast back to bfloat16 (2 bytes an
    element kept) where torch.nn.RMSNorm, the spec's rmsnorm, keeps x·rstd in float32 (4 bytes): 2 bytes ×
    seq_len × d_model per norm (2 per layer and the final one) is the whole difference."""
    seq_len = 16
    network = spec("llama_gqa_small", **LLAMA_SPEC, seq_len=seq_len)
    measured = saved_bytes(llama("bfloat16"), torch.zeros(1, seq_len, dtype=torch.long))
    norms = 2 * LLAMA["num_hidden_layers"] + 1
    assert saved_activations(network, "bfloat16", "none", device="cpu").at(1) - norms * 2 * seq_len * 64 == measured


def test_llama_full_recomputation_against_gradient_checkpointing():
    """Hugging Face's gradient checkpointing (torch.utils.checkpoint, reentrant) runs each decoder layer without
    grad in the forward pass and saves its input: saved_tensors_hooks see the layers outside the blocks and each
    block's input. archcalc's full recomputation adds what is alive beside them in backward: the one block being
    rebuilt (its saved tensors but its input, the checkpoint's) and the rotary cos and sin, which the checkpoint
    holds in its closure rather than through autograd."""
    seq_len, hidden, head_dim = 16, 64, 16
    network = spec("llama_gqa_small", **LLAMA_SPEC, seq_len=seq_len)
    model = llama()
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": True})
    measured = saved_bytes(model, torch.zeros(1, seq_len, dtype=torch.long))
    block = saved_activations(network, "float32", "none", device="cpu").block_bytes
    rebuilt, rotary = block - seq_len * hidden * 4, 2 * seq_len * head_dim * 4
    assert saved_activations(network, "float32", "full", device="cpu").at(1) == measured + rebuilt + rotary


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("batch", [1, 2])
def test_gpt2_saved_activations_equal_pytorch(dtype, batch):
    """With HF's gelu_pytorch_tanh (torch's gelu(approximate="tanh"), the spec's gelu) every saved byte agrees;
    but HF builds position_ids once, [1, L] int64, broadcast over the batch, where the spec takes them as a
    per-sequence input: (batch − 1) · L · 8 bytes."""
    seq_len = 16
    network = spec("gpt2", **GPT2_SPEC, seq_len=seq_len)
    measured = saved_bytes(gpt2(dtype, "gelu_pytorch_tanh"), torch.zeros(batch, seq_len, dtype=torch.long))
    positions = (batch - 1) * seq_len * 8
    assert saved_activations(network, dtype, "none", device="cpu").at(batch) - positions == measured


def test_gpt2_gelu_new_keeps_three_more_tensors():
    """GPT-2's own activation, gelu_new, is HF's Python composite 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))):
    the same function as gelu(approximate="tanh"), but autograd keeps four L×d_ff tensors instead of one."""
    seq_len = 16
    network = spec("gpt2", **GPT2_SPEC, seq_len=seq_len)
    measured = saved_bytes(gpt2(), torch.zeros(1, seq_len, dtype=torch.long))
    extra = GPT2["n_layer"] * 3 * seq_len * 4 * GPT2["n_embd"] * 4
    assert saved_activations(network, "float32", "none", device="cpu").at(1) + extra == measured


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("batch", [1, 3])
def test_kv_cache_equals_a_real_dynamic_cache(dtype, batch):
    """Grouped-query attention: 2 key/value heads of 16 for 4 query heads, so the cache is half of 2·d_model."""
    seq_len = 16
    network = spec("llama_gqa_small", **LLAMA_SPEC, seq_len=seq_len)
    with torch.no_grad():
        output = llama(dtype).eval()(torch.zeros(batch, seq_len, dtype=torch.long), use_cache=True)
    cache = output.past_key_values
    assert isinstance(cache, transformers.DynamicCache)
    measured = sum(tensor.numel() * tensor.element_size() for layer in cache.layers
                   for tensor in (layer.keys, layer.values))
    sizing = llm_sizing(network, Settings(batch_size=batch, dtype=dtype))
    assert sizing.value("kv_cache", "bytes") == measured
    assert sizing.value("kv_cache", "bytes_per_token") * seq_len * batch == measured


@pytest.mark.parametrize("name, model, variables", [("llama_gqa_small", llama, LLAMA_SPEC), ("gpt2", gpt2, GPT2_SPEC)])
def test_parameters_per_block_and_without_embeddings_equal_hugging_face(name, model, variables):
    real = model()
    network = spec(name, **variables, seq_len=16)
    sizing = llm_sizing(network)
    layers = real.model.layers if name.startswith("llama") else real.transformer.h
    per_block = sizing.section("parameters").tables[0].rows
    assert [row[2] for row in per_block[:-1]] == [sum(p.numel() for p in layer.parameters()) for layer in layers]
    assert sizing.value("parameters", "total") == real.num_parameters()
    assert sizing.value("parameters", "non_embedding") == real.num_parameters(exclude_embeddings=True)


def test_deepspeed_estimators_are_reproduced():
    """deepspeed's own estimate_zero2/zero3_model_states_mem_needs (no offload), for LLaMA-2-7B's parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stage2 = pytest.importorskip("deepspeed.runtime.zero.stage_1_and_2")
        stage3 = pytest.importorskip("deepspeed.runtime.zero.stage3")
    total, largest = 6_738_415_616, 32000 * 4096
    for gpus in (1, 3, 8, 64):
        _, gpu = stage2.estimate_zero2_model_states_mem_needs(total, gpus, 1, cpu_offload=False)
        assert deepspeed_zero2(total, gpus) == gpu
        _, gpu, _ = stage3.estimate_zero3_model_states_mem_needs(total, largest, gpus, 1, cpu_offload=False)
        assert deepspeed_zero3(total, largest, gpus) == gpu


def test_accelerate_training_estimate_is_reproduced():
    """accelerate's estimate_training_usage and the max that `accelerate estimate-memory` prints."""
    estimate = pytest.importorskip("accelerate.commands.estimate")
    size = 4 * 6_738_415_616
    for dtype in ("float32", "float16", "bfloat16"):
        assert accelerate_training(size, dtype) == max(estimate.estimate_training_usage(size, dtype).values())
