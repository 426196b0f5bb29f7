"""`archcalc import torch` through torch.export, where torch.fx cannot trace: Hugging Face's models.

* GPT2LMHeadModel and LlamaForCausalLM (transformers, tiny configs, random weights, no hub), imported, equal
  the zoo specs (specs/gpt2.yaml, specs/llama_gqa_small.yaml) at the same dimensions: the totals (parameters
  with the tied head counted once, MACs), every module layer by name, every layer's numbers (type, output
  shape, parameters, MACs) as a multiset, and the decoder blocks as one block with `repeat`.
* A model fx cannot trace and whose op has no spec type is refused, naming the ATen op, its module and the
  model's source line; `archcalc import torch` on it exits 1 with that one error.

Run: python -m pytest tests/test_torch_export_import.py -q   (with torch and transformers installed)
"""

from __future__ import annotations

import collections
import re
import warnings
from functools import lru_cache

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    import torch.nn.functional as F
    from torch import nn

import archcalc
from archcalc.bridges import ImportFailure
from archcalc.bridges.export_import import import_torch_model
from archcalc.cli import main
from conftest import REPO

transformers.logging.set_verbosity_error()
SEQ_LEN = 8


def gpt2() -> nn.Module:
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=100, n_positions=32,
                                     bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(config)


def llama() -> nn.Module:
    config = transformers.LlamaConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                                      num_key_value_heads=2, intermediate_size=128, vocab_size=100,
                                      max_position_embeddings=64, rms_norm_eps=1e-6, bos_token_id=0,
                                      eos_token_id=0, pad_token_id=0)
    return transformers.LlamaForCausalLM(config)


MODELS = {
    # zoo spec: (the model, the zoo's variables at the model's dimensions, the block use the import writes)
    "gpt2": (gpt2, {"n_layer": 2, "d_model": 64, "n_head": 4, "vocab_size": 100, "n_positions": 32,
                    "seq_len": SEQ_LEN}, ("transformer.h", 2)),
    "llama_gqa_small": (llama, {"n_layer": 2, "d_model": 64, "n_head": 4, "n_kv_head": 2, "d_ff": 128,
                                "vocab_size": 100, "eps": 1e-6, "seq_len": SEQ_LEN}, ("model.layers", 2)),
}


@lru_cache(maxsize=None)
def imported(spec: str) -> tuple[str, int]:
    """The spec text of the model, and the model's own parameter count."""
    torch.manual_seed(0)
    model = MODELS[spec][0]().eval()
    text = import_torch_model(f"transformers:{type(model).__name__}", [[SEQ_LEN]], ["int64"], model=model)
    return text, sum(parameter.numel() for parameter in model.parameters())


def numbers(layer) -> tuple:
    return layer.type, layer.output_shape, layer.params, layer.macs


@pytest.mark.parametrize("spec", MODELS)
def test_a_hugging_face_model_imports_through_torch_export_equal_to_the_zoo_spec(spec):
    text, model_params = imported(spec)
    assert "torch.export (torch.fx cannot trace it:" in text   # the fallback, not fx, read it
    network = archcalc.loads(text)
    zoo = archcalc.load(REPO / "specs" / f"{spec}.yaml", variables=MODELS[spec][1])
    assert (network.totals.params, network.totals.macs) == (zoo.totals.params, zoo.totals.macs)
    assert network.totals.params == model_params   # sum(p.numel()): a tied weight once
    ours = {layer.name: numbers(layer) for layer in network.layers}
    theirs = {layer.name: numbers(layer) for layer in zoo.layers}
    # the module layers by name; the functions HF calls (views, the rotary half-turn) by their numbers, as the
    # zoo names them after what they are (`query.view`) and the import after the op (`view`, `view_1`)
    modules = {name for name in theirs if re.search(r"(_proj|_fc|c_attn|norm|ln_\w+|embed_tokens|wte|wpe|lm_head"
                                                    r"|dropout|drop|act(_fn)?)$", name)}
    assert len(modules) >= 10
    assert {name: ours.get(name) for name in modules} == {name: theirs[name] for name in modules}
    assert collections.Counter(ours.values()) == collections.Counter(theirs.values())
    name, repeat = MODELS[spec][2]
    assert re.search(rf"\{{block: \w+, name: {re.escape(name)}, repeat: {repeat}\}}", text)


def test_the_imported_gpt2_ties_its_head_and_reads_the_constant_mask_as_causal():
    text, _ = imported("gpt2")
    assert "{name: lm_head, type: linear, out_features: 100, bias: false, tie: transformer.wte}" in text
    assert "type: scaled_dot_product_attention, inputs: [attn.transpose_2, attn.transpose, attn.transpose_1]," \
           " is_causal: true}" in text
    # HF's positions torch.arange(seq_len) are an input, as in the zoo spec
    assert "input: {input_ids: {shape: [8], dtype: int64}, position_ids: {shape: [8], dtype: int64}}" in text


def test_the_imported_llama_takes_rotary_tables_and_grouped_query_attention():
    text, _ = imported("llama_gqa_small")
    assert "input: {input_ids: {shape: [8], dtype: int64}, cos: [1, 8, 16], sin: [1, 8, 16]}" in text
    assert "is_causal: true, enable_gqa: true}" in text   # repeat_kv's expand left to the attention
    assert "{name: self_attn.chunk, type: chunk, inputs: [self_attn.transpose], chunks: 2, dim: 3}" in text


class Untraceable(nn.Module):
    """fx cannot branch on a traced size; torch.export, tracing one shape, can. torch.cumsum has no type."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        if x.shape[-1] > 4:
            x = self.proj(x)
        return torch.cumsum(x, dim=1)


def test_an_op_without_a_spec_type_is_refused_with_its_aten_name_module_and_line():
    with pytest.raises(ImportFailure) as error:
        import_torch_model("tests:Untraceable", [[8]], model=Untraceable())
    line = next(number for number, text in enumerate(open(__file__, encoding="utf-8"), 1)
                if "return torch.cumsum(x, dim=1)" in text)
    assert str(error.value) == ("1 op of Untraceable (read with torch.export) has no archcalc layer type:\n"
                                f"  aten.cumsum.default at the top level ({__file__}:{line}:"
                                " return torch.cumsum(x, dim=1))")


class Banded(nn.Module):
    """Attention under a band mask (|i - j| <= 1, not causal), plus a constant with no batch axis."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(16, 48)

    def forward(self, x):
        if x.shape[-1] > 4:   # fx cannot follow this; torch.export can
            x = x * 2
        q, k, v = self.qkv(x).split(16, dim=-1)
        positions = torch.arange(x.shape[1])
        mask = (positions[:, None] - positions[None, :]).abs() <= 1
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask) + torch.ones(x.shape[1], 16)


def test_a_mask_that_is_not_causal_and_an_unbatched_constant_are_refused():
    with pytest.raises(ImportFailure) as error:
        import_torch_model("tests:Banded", [[8, 16]], model=Banded())
    line = next(number for number, text in enumerate(open(__file__, encoding="utf-8"), 1)
                if "attn_mask=mask) + torch.ones(" in text)
    where = f"at the top level ({__file__}:{line}: return F.scaled_dot_product_attention("
    lines = str(error.value).splitlines()
    assert lines[0] == "2 ops of Banded (read with torch.export) have no archcalc layer type:"
    assert lines[1].startswith("  aten.scaled_dot_product_attention.default with a mask that is not causal (the"
                               f" spec's attention takes none or is_causal) {where}")
    assert lines[2].startswith("  aten.add.Tensor reading a constant computed in forward, shape [8, 16] (no batch"
                               f" axis of one: it cannot be an input of the spec) {where}")


class ValueBranch(nn.Module):
    """A branch on a tensor's value: neither tracer can follow it."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        return self.proj(x) if x.sum() > 0 else x


def test_archcalc_import_torch_falls_back_in_one_command(capsys, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    output = tmp_path / "gpt2.yaml"
    assert main(["import", "torch", "test_torch_export_import:gpt2", "--input-shape", str(SEQ_LEN), "--dtype", "int64",
                 "-o", str(output)]) == 0
    zoo = archcalc.load(REPO / "specs" / "gpt2.yaml", variables=MODELS["gpt2"][1])
    assert (archcalc.load(output).totals.params, archcalc.load(output).totals.macs) == \
        (zoo.totals.params, zoo.totals.macs)
    assert main(["import", "torch", "test_torch_export_import:Untraceable", "--input-shape", "8"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("archcalc import torch: error: 1 op of Untraceable (read with torch.export)")
    assert "Traceback" not in err
    assert main(["import", "torch", "test_torch_export_import:ValueBranch", "--input-shape", "8"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("archcalc import torch: error: neither torch.fx nor torch.export can trace ValueBranch:"
                          " torch.fx: TraceError: ")
    assert "; torch.export: GuardOnDataDependentSymNode: " in err
    assert err.count("\n") == 1   # one line: not the graph torch.export stopped in


def test_a_model_on_the_meta_device_is_refused_by_the_fallback_with_what_to_do():
    with torch.device("meta"):
        model = gpt2().eval()
    with pytest.raises(ImportFailure) as error:
        import_torch_model("transformers:GPT2LMHeadModel", [[SEQ_LEN]], ["int64"], model=model)
    assert str(error.value).startswith("torch.fx cannot trace GPT2LMHeadModel (ValueError: ")
    assert str(error.value).endswith("build the model on the CPU, not the meta device")
