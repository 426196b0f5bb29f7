"""`archcalc llm`: every figure against its published source — LLaMA-2-7B's parameter count and KV cache, the 6ND
rule, Kaplan et al. 2020, nanoGPT's estimate_mfu, Korthikanti et al. 2022, DeepSpeed's and accelerate's
estimators (transcribed; tests/test_llm_torch.py calls the real ones) — and the fits, exact at the boundary."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

import archcalc
from archcalc.analysis.llm import (Settings, SizingError, accelerate_training, deepspeed_zero2, deepspeed_zero3,
                                   find_gpu, fit_context, gpu_table, inference_fits, llm_sizing, saved_activations,
                                   training_fits)
from archcalc.cli import main
from conftest import REPO

SPECS = REPO / "specs"
LLAMA2_7B = 6_738_415_616


def load(name: str, **variables) -> archcalc.Network:
    return archcalc.load(SPECS / f"{name}.yaml", variables=variables)


@pytest.fixture(scope="module")
def llama7b() -> archcalc.Network:
    return load("llama2_7b")


@pytest.fixture(scope="module")
def gpt2() -> archcalc.Network:
    return load("gpt2")


# ----------------------------------------------------------------------------------- parameters and FLOPs

def test_llama2_7b_parameters(llama7b):
    """meta-llama/Llama-2-7b-hf: 6,738,415,616 parameters; the embedding 32000 × 4096; 32 equal blocks."""
    sizing = llm_sizing(llama7b)
    assert sizing.value("parameters", "total") == LLAMA2_7B
    assert sizing.value("parameters", "embeddings") == 32000 * 4096
    assert sizing.value("parameters", "non_embedding") == LLAMA2_7B - 32000 * 4096
    rows = sizing.section("parameters").tables[0].rows
    assert len(rows) == 33 and {row[2] for row in rows[:-1]} == {4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096}
    assert sizing.value("parameters", "active_per_token") == LLAMA2_7B


def test_gpt2_tied_head_counts_once_and_the_non_embedding_count_is_kaplans(gpt2):
    """GPT-2 small: 124,439,808 parameters, the head tied to wte; 85,056,000 without the token and position
    embeddings (the "85M" of Kaplan et al. 2020's N)."""
    sizing = llm_sizing(gpt2)
    assert sizing.value("parameters", "total") == 124_439_808
    assert sizing.value("parameters", "non_embedding") == 124_439_808 - 50257 * 768 - 1024 * 768 == 85_056_000
    assert any("tie" in note for note in sizing.section("parameters").notes)


def test_inactive_expert_parameters_leave_the_per_token_rules():
    """Mixtral-8x7B (specs/mixtral_8x7b.yaml; Hugging Face's MixtralForCausalLM on the meta device:
    46,702,792,704 parameters, 12,879,925,248 used per token at top-2 of 8): the per-token rules take the
    active count, the model states every stored expert."""
    sizing = llm_sizing(load("mixtral_8x7b"), Settings(tokens=10**9))
    total, active, embeddings = 46_702_792_704, 12_879_925_248, 32000 * 4096   # the untied head is no embedding
    assert sizing.value("parameters", "total") == total
    assert sizing.value("parameters", "active_per_token") == active
    assert sizing.value("flops", "six_n_per_token") == 6 * (active - embeddings)
    assert sizing.value("flops", "six_nd") == 6 * active * 10**9   # 6ND counts every parameter a token uses
    assert sizing.value("training", "model_states") == (2 + 2 + 12) * total   # bf16 weights and grads, fp32 Adam


@pytest.mark.parametrize("spec, kaplan, nanogpt", [
    # 2N + 2·n_layer·n_ctx·d_attn (Kaplan et al. 2020, Table 1, N non-embedding)
    # 6N + 12·L·H·Q·T (karpathy/nanoGPT model.py, GPT.estimate_mfu; N less the position embeddings)
    ("gpt2", 2 * 85_056_000 + 2 * 12 * 1024 * 768, 6 * (124_439_808 - 1024 * 768) + 12 * 12 * 12 * 64 * 1024),
    ("llama2_7b", 2 * (LLAMA2_7B - 32000 * 4096) + 2 * 32 * 4096 * 4096, 6 * LLAMA2_7B + 12 * 32 * 32 * 128 * 4096),
])
def test_rules_of_thumb_per_token(spec, kaplan, nanogpt):
    sizing = llm_sizing(load(spec))
    assert sizing.value("flops", "kaplan_forward_per_token") == kaplan
    assert sizing.value("flops", "nanogpt_per_token") == nanogpt


def test_forward_flops_per_token_are_the_graphs_macs_over_the_context(llama7b):
    """LLaMA-2-7B at 4096: 31,460,635,443,200 MACs (transformers' FlopCounterMode, specs/llama2_7b.yaml)."""
    sizing = llm_sizing(llama7b)
    forward = sizing.value("flops", "forward_per_token")
    assert forward == Fraction(2 * 31_460_635_443_200, 4096)
    assert sizing.value("flops", "training_per_token") == 3 * forward
    full = llm_sizing(llama7b, Settings(recompute="full"))
    assert full.value("flops", "training_per_token") == 4 * forward
    # CUDA's fused attention keeps no L×L tensor: selective recomputation has nothing to recompute
    assert llm_sizing(llama7b, Settings(recompute="selective")).value("flops", "training_per_token") == 3 * forward
    math = archcalc.loads(MATH_ATTENTION)
    math_forward = llm_sizing(math).value("flops", "forward_per_token")
    selective = llm_sizing(math, Settings(recompute="selective")).value("flops", "training_per_token")
    assert selective == 3 * math_forward + Fraction(2 * 4 * 64 * 64 * 16, 64)   # q·kᵀ and p·v again


def test_six_nd_for_two_trillion_tokens_and_gpu_hours(llama7b):
    """6ND = 6 · 6,738,415,616 · 2·10¹² (Transformer Math 101's C = 6PD); GPU-hours at an A100's 312 TFLOPS
    (bf16, datasheet) and 40 % MFU."""
    sizing = llm_sizing(llama7b, Settings(tokens=2 * 10**12, gpu=find_gpu("A100-80GB"), gpus=8))
    assert sizing.value("flops", "six_nd") == 6 * LLAMA2_7B * 2 * 10**12 == 80_860_987_392_000_000_000_000
    hours = sizing.value("flops", "gpu_hours_six_nd")
    assert hours == Fraction(6 * LLAMA2_7B * 2 * 10**12) / (312 * 10**12 * Fraction(2, 5)) / 3600
    assert round(hours) == 179_979
    assert sizing.value("flops", "wall_clock_hours") * 8 == sizing.value("flops", "gpu_hours")


# ----------------------------------------------------------------------------------- KV cache

@pytest.mark.parametrize("kv_dtype, per_token", [("float16", 512 * 1024), ("bfloat16", 512 * 1024),
                                                 ("float32", 1024 * 1024), ("fp8", 256 * 1024),
                                                 ("int8", 256 * 1024), ("int4", 128 * 1024)])
def test_llama2_7b_kv_cache(llama7b, kv_dtype, per_token):
    """2 · n_layer · n_kv_head · d_head · bytes = 2 · 32 · 32 · 128 · 2 = 512 KiB a token in fp16; 2 GiB at 4,096."""
    sizing = llm_sizing(llama7b, Settings(kv_dtype=kv_dtype))
    assert sizing.value("kv_cache", "bytes_per_token") == per_token
    assert sizing.value("kv_cache", "bytes") == per_token * 4096
    if kv_dtype == "float16":
        assert sizing.value("kv_cache", "bytes") == 2 * 2**30


def test_grouped_query_attention_caches_the_key_value_heads_only():
    """llama_gqa_small: 8 query heads share 2 key/value heads of 32: 2 · 4 · 2 · 32 · 2 bytes a token."""
    sizing = llm_sizing(load("llama_gqa_small"), Settings(batch_size=3))
    assert sizing.value("kv_cache", "bytes_per_token") == 2 * 4 * 2 * 32 * 2
    assert sizing.value("kv_cache", "bytes") == 2 * 4 * 2 * 32 * 2 * 512 * 3
    assert any("grouped-query" in note for note in sizing.section("kv_cache").notes)


def test_an_encoder_caches_nothing():
    sizing = llm_sizing(load("bert_base"))
    assert sizing.value("kv_cache", "bytes_per_token") == 0
    assert any("encoder" in note for note in sizing.section("kv_cache").notes)


def test_a_network_without_attention_is_refused():
    with pytest.raises(SizingError, match="no attention layer"):
        llm_sizing(load("lenet5"))


# ----------------------------------------------------------------------------------- memory

@pytest.mark.parametrize("dtype, bytes_per_param", [("float32", 4), ("float16", 2), ("bfloat16", 2), ("int8", 1),
                                                     ("fp8", 1), ("int4", Fraction(1, 2))])
def test_inference_weights_are_transformer_math_101s_model_memory(llama7b, dtype, bytes_per_param):
    """Transformer Math 101, inference: model memory = bytes per parameter × N (4 fp32, 2 fp16/bf16, 1 int8,
    0.5 int4)."""
    assert llm_sizing(llama7b, Settings(dtype=dtype)).value("inference", "weights") == bytes_per_param * LLAMA2_7B


GPT3_STYLE = """
name: gpt3_style
input: {shape: ["${s}", "${h}"]}
variables: {s: 128, h: 256, a: 4, n_layer: 2}
blocks:
  heads:
    - {name: view, type: reshape, shape: ["${s}", "${a}", "${h // a}"]}
    - {name: transpose, type: transpose, dim0: 1, dim1: 2}
  layer:
    module: true
    layers:
      - {name: ln_1, type: layernorm, normalized_shape: "${h}"}
      - {name: qkv, type: linear, out_features: "${3 * h}"}
      - {name: split, type: split, split_size_or_sections: "${h}", dim: 2}
      - {block: heads, name: q, inputs: ["split:0"]}
      - {block: heads, name: k, inputs: ["split:1"]}
      - {block: heads, name: v, inputs: ["split:2"]}
      - {name: attention, type: scaled_dot_product_attention, inputs: [q, k, v], is_causal: true, dropout_p: 0.1,
         backend: math}
      - {name: merge, type: transpose, dim0: 1, dim1: 2}
      - {name: reshape, type: reshape, shape: ["${s}", "${h}"]}
      - {name: proj, type: linear, out_features: "${h}"}
      - {name: attn_dropout, type: dropout, p: 0.1}
      - {name: add, type: add, inputs: [attn_dropout, input]}
      - {name: ln_2, type: layernorm, normalized_shape: "${h}"}
      - {name: fc, type: linear, out_features: "${4 * h}"}
      - {name: gelu, type: gelu}
      - {name: fc2, type: linear, out_features: "${h}"}
      - {name: mlp_dropout, type: dropout, p: 0.1}
      - {name: add_1, type: add, inputs: [mlp_dropout, add]}
layers:
  - {name: embed, type: linear, out_features: "${h}"}
  - {block: layer, name: layers, repeat: "${n_layer}"}
"""


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_a_gpt3_style_layer_is_korthikantis_formula_plus_the_norm_statistics(dtype):
    """The layer Korthikanti et al. 2022 (§4.1) count — unfused attention with dropout on the probabilities,
    GeLU MLP of 4h, two layer norms, dropout after each block, 16-bit on CUDA — keeps exactly s·b·h·(34 + 5·a·s/h)
    bytes plus what the formula leaves out: each layer norm's float32 mean and 1/std, 2 · 2 · s · b · 4 bytes."""
    s, h, a = 128, 256, 4
    gap = llm_sizing(archcalc.loads(GPT3_STYLE), Settings(compute_dtype=dtype)).section("activations_gap")
    assert gap.figure("korthikanti_per_layer").value == s * h * (34 + 5 * a * s // h)
    assert gap.figure("exact_per_block").value == s * h * (34 + 5 * a * s // h) + 2 * 2 * s * 4


def test_full_recomputation_keeps_block_inputs_and_rebuilds_one_block():
    """GPT-3-style, 2 layers, float16: the first linear keeps the network input (s·h·2), each block its input
    (s·h·2), and the block rebuilt in backward its saved tensors but the input, which is the checkpoint's."""
    s, h = 128, 256
    network = archcalc.loads(GPT3_STYLE)
    block = saved_activations(network, "float16", "none").block_bytes
    assert block == s * h * (34 + 5 * 4 * s // h) + 2 * 2 * s * 4
    assert saved_activations(network, "float16", "full").at(1) == 2 * s * h + 2 * (2 * s * h) + block - 2 * s * h


def test_the_gap_to_korthikanti_in_bytes_per_element(llama7b):
    """LLaMA-2-7B at 4096 with CUDA's fused attention: 34 + 5·32·4096/4096 = 194 bytes per s·h element by the
    formula, about 52 exact (no L×L tensor kept)."""
    gap = llm_sizing(llama7b).section("activations_gap")
    assert gap.figure("korthikanti_coefficient").value == 194
    exact = gap.figure("exact_coefficient").value
    assert exact == Fraction(gap.figure("exact_per_block").value, 4096 * 4096) and 34 < exact < 194


def test_inference_memory_and_its_fit(llama7b):
    """int4 weights are half a byte a parameter; the fitted batch fits and one more does not."""
    sizing = llm_sizing(llama7b, Settings(dtype="int4", kv_dtype="float16", memory_bytes=24 * 2**30))
    assert sizing.value("inference", "weights") == LLAMA2_7B // 2
    batch = sizing.value("inference", "fit_batch")
    assert batch >= 1
    for size, fits in ((batch, True), (batch + 1, False)):
        total = llm_sizing(llama7b, Settings(dtype="int4", kv_dtype="float16", batch_size=size))
        assert (total.value("inference", "total") <= 24 * 2**30) is fits


@pytest.mark.parametrize("zero, per_gpu", [
    # bf16 weights 2, bf16 gradients 2, fp32 master 4, Adam m and v 8: the ZeRO paper's 2Ψ + 2Ψ + 12Ψ over N_d
    (0, 16 * LLAMA2_7B), (1, 4 * LLAMA2_7B + 12 * LLAMA2_7B // 8), (2, 2 * LLAMA2_7B + 14 * LLAMA2_7B // 8),
    (3, 16 * LLAMA2_7B // 8 + 4 * 32000 * 4096)])
def test_model_states_per_gpu_by_zero_stage(llama7b, zero, per_gpu):
    sizing = llm_sizing(llama7b, Settings(zero=zero, dp=8))
    assert sizing.value("training", "model_states") == per_gpu


def test_tensor_and_pipeline_parallelism_divide_the_states(llama7b):
    one = llm_sizing(llama7b).value("training", "model_states")
    assert llm_sizing(llama7b, Settings(tp=2, pp=2)).value("training", "model_states") == one // 4


def test_recomputation_keeps_less(llama7b):
    """Full recomputation keeps each block's input; with CUDA's fused attention there is no L×L tensor, so
    selective recomputation saves nothing; on the math path (CPU float32 here) it drops the probabilities."""
    none, selective, full = (saved_activations(llama7b, "bfloat16", mode) for mode in ("none", "selective", "full"))
    assert selective.per_sample == none.per_sample > full.per_sample
    math = archcalc.loads(MATH_ATTENTION)
    math_none, math_selective = (saved_activations(math, "float32", mode) for mode in ("none", "selective"))
    assert math_none.per_sample - math_selective.per_sample == 4 * 64 * 64 * 4   # 4 heads' probabilities


MATH_ATTENTION = """
input: [64, 32]
layers:
  - {name: qkv, type: linear, out_features: 96}
  - {name: split, type: split, split_size_or_sections: 32, dim: 2}
  - {name: q, type: reshape, shape: [64, 4, 8], inputs: ["split:0"]}
  - {name: qt, type: transpose, dim0: 1, dim1: 2}
  - {name: k, type: reshape, shape: [64, 4, 8], inputs: ["split:1"]}
  - {name: kt, type: transpose, dim0: 1, dim1: 2}
  - {name: v, type: reshape, shape: [64, 4, 8], inputs: ["split:2"]}
  - {name: vt, type: transpose, dim0: 1, dim1: 2}
  - {name: attention, type: scaled_dot_product_attention, inputs: [qt, kt, vt], is_causal: true, backend: math}
"""


def test_korthikanti_formula(gpt2):
    """s·b·h·(34 + 5·a·s/h) bytes per layer (Korthikanti et al. 2022, eq. 1); 34·s·b·h with selective, 2·s·b·h
    with full recomputation; GPT-2 small: s 1024, h 768, a 12."""
    per_layer = 1024 * 768 * (34 + 5 * 12 * 1024 // 768)
    assert llm_sizing(gpt2).value("activations_gap", "korthikanti") == 12 * per_layer == 1_075_838_976
    assert llm_sizing(gpt2, Settings(recompute="selective")).value("activations_gap", "korthikanti") == \
        12 * 34 * 1024 * 768
    assert llm_sizing(gpt2, Settings(recompute="full", tp=2)).value("activations_gap", "korthikanti") == \
        12 * 2 * 1024 * 768 // 2


def test_training_fit_is_exact_at_the_boundary(llama7b):
    settings = dict(zero=2, dp=8, recompute="full", memory_bytes=80 * 2**30)
    batch = llm_sizing(llama7b, Settings(**settings)).value("training", "fit_batch")
    assert batch > 1
    for size, fits in ((batch, True), (batch + 1, False)):
        total = llm_sizing(llama7b, Settings(**settings, batch_size=size)).value("training", "total")
        assert (total <= 80 * 2**30) is fits


def test_fit_context_is_exact_at_the_boundary():
    settings = Settings(memory_bytes=512 * 2**20)

    def build(length):
        return load("llama_gqa_small", seq_len=length)

    for fits in (training_fits(settings), inference_fits(settings)):
        found = fit_context(build, 512, fits, "x")
        assert found.seq_len > 1
        assert fits(build(found.seq_len))[0] and not fits(build(found.seq_len + 1))[0]
        assert fit_context(build, 10**6, fits, "x").seq_len == found.seq_len   # from above: the same answer
        assert fit_context(build, 1, fits, "x").seq_len == found.seq_len


# ----------------------------------------------------------------------------------- transcribed estimators

def test_deepspeed_and_accelerate_transcriptions():
    """deepspeed 0.19.8 (runtime/zero/stage_1_and_2.py:4031, stage3.py:4046), at 8 GPUs without offload, gives
    28,638,266,368 and 15,685,723,136 bytes for LLaMA-2-7B (its largest layer the 32000 × 4096 embedding);
    accelerate 1.15.0 prints 4× the float32 size for float32 Adam, 2× for half precision."""
    assert deepspeed_zero2(LLAMA2_7B, 8) == 28_638_266_368
    assert deepspeed_zero3(LLAMA2_7B, 32000 * 4096, 8) == 15_685_723_136
    assert accelerate_training(4 * LLAMA2_7B, "float32") == 16 * LLAMA2_7B
    assert accelerate_training(4 * LLAMA2_7B, "bfloat16") == 8 * LLAMA2_7B


def test_gpu_table_rows_name_their_datasheets():
    table = gpu_table()
    assert {"H100-SXM", "H100-PCIe", "A100-80GB", "A100-40GB", "L40S", "RTX-4090", "RTX-3090", "MI300X"} <= set(table)
    for gpu in table.values():
        assert "datasheet" in gpu.source or "whitepaper" in gpu.source
        assert gpu.memory_bytes % 2**30 == 0
    assert find_gpu("a100").name == "A100-80GB"
    with pytest.raises(SizingError, match="unknown GPU"):
        find_gpu("Z9000")


def test_python_api(llama7b):
    sizing = archcalc.llm_sizing(llama7b, gpu="H100", memory="80GiB", zero=3, dp=8, recompute="full")
    assert sizing.settings["gpu"] == "H100-SXM" and sizing.value("verdict", "training_batch") >= 1
    assert sizing.to_dict()["verdict"]["training_fits"] is True


# ----------------------------------------------------------------------------------- command line

def run(capsys, *args):
    code = main(["llm", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_acceptance_question(capsys):
    """"Does LLaMA-2-7B fine-tune on 8×80 GB with ZeRO-2 at 4k context, and at what batch?" — one command."""
    code, out, _ = run(capsys, SPECS / "llama2_7b.yaml", "--gpus", 8, "--zero", 2, "--fit", "A100-80GB",
                       "--recompute", "full", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["training"]["fit_batch"] >= 1
    assert document["kv_cache"]["bytes_per_token"] == 512 * 1024
    assert document["parameters"]["total"] == LLAMA2_7B
    assert document["settings"]["memory_bytes"] == 80 * 2**30 and document["settings"]["dp"] == 8
    assert document["verdict"]["global_batch"] == 8 * document["verdict"]["training_batch"]


def test_the_readme_shows_the_real_output(capsys):
    """Every line of the README's `archcalc llm` example (but the elisions) is in the command's output."""
    readme = (REPO / "README.md").read_text()
    command = "$ archcalc llm specs/llama2_7b.yaml --gpus 8 --zero 2 --fit A100-80GB"
    shown = readme.split(command, 1)[1].split("```", 1)[0].strip("\n").splitlines()
    code, out, _ = run(capsys, SPECS / "llama2_7b.yaml", "--gpus", 8, "--zero", 2, "--fit", "A100-80GB")
    lines = out.splitlines()
    assert code == 0 and len(shown) > 20
    missing = [line for line in shown if line != "..." and line not in lines]
    assert not missing, missing


@pytest.mark.parametrize("form", ["text", "markdown"])
def test_text_and_markdown_show_formulas(capsys, form):
    code, out, _ = run(capsys, SPECS / "llama_gqa_small.yaml", "--format", form, "--tokens", "1B", "--gpu", "H100")
    assert code == 0
    assert "2 · n_layer · n_kv_head · d_head · bytes" in out and "GPU-hours" in out


def test_fit_context_on_the_command_line(capsys):
    code, out, _ = run(capsys, SPECS / "llama_gqa_small.yaml", "--gpu-memory", "512MiB", "--fit-context",
                       "--format", "json")
    assert code == 0
    fits = json.loads(out)["fit_context"]
    assert [fit["what"] for fit in fits] == ["training", "inference"] and all(fit["seq_len"] > 1 for fit in fits)


def test_list_gpus(capsys):
    code, out, _ = run(capsys, "--list-gpus")
    assert code == 0 and "H100-SXM: 85,899,345,920 B (80 GiB); dense TFLOPS bfloat16 989.5" in out
    code, _, err = run(capsys)
    assert code == 2 and "SPEC" in err


@pytest.mark.parametrize("args, message", [
    (["lenet5.yaml"], "no attention layer"),
    (["gpt2.yaml", "--gpu", "Z9000"], "unknown GPU"),
    (["gpt2.yaml", "--fit-context"], "needs a memory budget"),
    (["gpt2.yaml", "--gpu", "V100", "--tokens", "1T"], "no bfloat16"),
    (["gpt2.yaml", "--set", "nonsense=1"], "nonsense"),
    (["gpt2.yaml", "--gpus", "6", "--tp", "4"], "not a multiple"),
])
def test_usage_errors(capsys, args, message):
    code, _, err = run(capsys, SPECS / args[0], *args[1:])
    assert code == 2 and message in err and "Traceback" not in err
