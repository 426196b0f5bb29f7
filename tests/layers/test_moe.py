"""The `moe` layer beyond its formula rows: how the expert is written (a block, a block with arguments, inline
layers, variables), active parameters, the JSON key, explain's notes, and refused specs (one located line each).

Figures by hand from the formulas of archcalc/layers/moe.py, which tests/layers/test_formula_table.py and
tests/test_zoo_transformers.py check against real PyTorch and Hugging Face: a SwiGLU expert 16 -> 32 -> 16 has
3·16·32 = 1,536 parameters and, on T tokens, 1,536·T MACs; the router 16·E.
"""

import json

import pytest

import archcalc
from archcalc.cli import main

SWIGLU_BLOCK = """
variables: {d: 16, f: 32}
blocks:
  swiglu:
    params: {width: "${f}"}
    layers:
      - {name: gate_proj, type: linear, out_features: "${width}", bias: false}
      - {name: act_fn, type: silu}
      - {name: up_proj, type: linear, out_features: "${width}", bias: false, inputs: [input]}
      - {name: mul, type: mul, inputs: [act_fn, up_proj]}
      - {name: down_proj, type: linear, out_features: "${d}", bias: false}
"""
INLINE = ("[{type: linear, out_features: 32, bias: false}, {type: silu},"
          " {type: linear, out_features: 16, bias: false}]")


def spec(layer: str, input_shape: str = "[10, 16]") -> str:
    return f"input: {input_shape}\n{SWIGLU_BLOCK}layers:\n  - {layer}\n"


# (the moe entry, params, MACs, inactive params) on [10, 16]: T = 10, d = 16
FORMS = [
    pytest.param("{name: mlp, type: moe, experts: 8, top_k: 2, expert: swiglu}",
                 16 * 8 + 8 * 1536, 10 * 16 * 8 + 2 * 1536 * 10, 6 * 1536, id="block-name"),
    pytest.param("{name: mlp, type: moe, experts: 8, top_k: 2, expert: {block: swiglu, with: {width: 8}}}",
                 16 * 8 + 8 * 384, 10 * 16 * 8 + 2 * 384 * 10, 6 * 384, id="block-with-arguments"),
    pytest.param(f"{{name: mlp, type: moe, experts: 4, top_k: 1, expert: {INLINE}}}",
                 16 * 4 + 4 * 1024, 10 * 16 * 4 + 1024 * 10, 3 * 1024, id="inline-layers"),
    pytest.param("{name: mlp, type: moe, experts: '${d // 2}', top_k: 2, expert: swiglu}",
                 16 * 8 + 8 * 1536, 10 * 16 * 8 + 2 * 1536 * 10, 6 * 1536, id="expressions"),
    pytest.param("{name: mlp, type: moe, experts: 8, top_k: 2, expert: swiglu, shared_experts: 2}",
                 16 * 8 + 10 * 1536, 10 * 16 * 8 + 4 * 1536 * 10, 6 * 1536, id="shared-experts"),
    pytest.param("{name: mlp, type: moe, experts: 8, top_k: 2, expert: swiglu, shared_experts: 1,"
                 " shared_expert: {block: swiglu, with: {width: 64}}, shared_expert_gate: true}",
                 16 * 8 + 8 * 1536 + 3072 + 16, 10 * 16 * 8 + 2 * 15360 + 30720 + 10 * 16, 6 * 1536,
                 id="gated-shared-expert"),
    pytest.param("{name: mlp, type: moe, experts: 8, top_k: 8, expert: swiglu, router_bias: true}",
                 16 * 8 + 8 + 8 * 1536, 10 * 16 * 8 + 8 * 1536 * 10, 0, id="every-expert-active"),
]


@pytest.mark.parametrize("layer, params, macs, inactive", FORMS)
def test_expert_forms(layer, params, macs, inactive):
    moe = archcalc.loads(spec(layer)).layer("mlp")
    assert (moe.output_shape, moe.params, moe.macs, moe.inactive_params) == ((10, 16), params, macs, inactive)


def test_inactive_params_is_zero_elsewhere_and_shared_calls_count_none():
    network = archcalc.loads(spec("{name: mlp, type: moe, experts: 4, top_k: 1, expert: swiglu}\n"
                                  "  - {name: again, share: mlp}\n  - {name: head, type: linear, out_features: 3}"))
    assert [layer.inactive_params for layer in network.layers] == [3 * 1536, 0, 0]
    assert network.layer("again").params == 0


def test_json_has_inactive_params_on_moe_layers(tmp_path, capsys):
    path = tmp_path / "moe.yaml"
    path.write_text(spec("{name: mlp, type: moe, experts: 4, top_k: 1, expert: swiglu}\n"
                         "  - {name: head, type: linear, out_features: 3}"))
    assert main(["summary", str(path), "--format", "json"]) == 0
    layers = json.loads(capsys.readouterr().out)["layers"]
    assert layers[0]["inactive_params"] == 3 * 1536 and "inactive_params" not in layers[1]


def test_explain_lists_the_expert_and_states_the_routing_assumption():
    from archcalc.analysis.explain import explain

    network = archcalc.loads(spec("{name: mlp, type: moe, experts: 8, top_k: 2, expert: swiglu}"))
    (explanation,) = explain(network, ["mlp"])
    notes = " ".join(explanation.notes)
    assert "gate_proj (linear) 512 params" in notes and "exactly k = 2 of the E = 8 experts" in notes
    assert "(E − k)·P_e = 9,216" in notes


REFUSED = [
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 3, expert: swiglu}", "top_k (3) cannot exceed experts (2)",
                 id="top-k-above-experts"),
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 1, expert: swiglo}",
                 "unknown block 'swiglo' (did you mean 'swiglu'?)", id="unknown-block"),
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 1, expert: [{type: linear, out_features: 8}]}",
                 "the expert returns [10, 8] for an input [10, 16]: an expert must return its input's shape",
                 id="expert-changes-the-shape"),
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 1, expert: [{type: linear, out_feature: 16}]}",
                 "expert layer 'linear-1': unknown key 'out_feature' for linear", id="unknown-key-inside"),
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 1, expert: [{type: linaer, out_features: 16}]}",
                 "unknown layer type 'linaer'", id="unknown-type-inside"),
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 1, expert: [{type: add, inputs: [input, nowhere]}]}",
                 "unknown input 'nowhere'", id="bad-reference-inside"),
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 1, expert: [{type: linear, out_features: 16, tie: x}]}",
                 "'tie' is not available inside an expert", id="tie-inside"),
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 1, expert: swiglu, shared_expert_gate: true}",
                 "shared_expert_gate needs shared_experts ≥ 1", id="gate-without-shared-experts"),
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 1, expert: [{type: moe, experts: 2, top_k: 1,"
                 " expert: swiglu}]}", "an expert cannot itself be a mixture of experts", id="nested"),
    pytest.param("{name: mlp, type: moe, experts: 2, top_k: 1, expert: {block: swiglu, repeat: 2}}",
                 "expert: unknown key 'repeat'", id="repeat-in-a-sub-network"),
    pytest.param("{name: mlp, type: moe, experts: 0, top_k: 1, expert: swiglu}", "experts: must be at least 1",
                 id="no-experts"),
]


@pytest.mark.parametrize("layer, message", REFUSED)
def test_refused_specs_say_why_on_one_located_line(layer, message):
    with pytest.raises(archcalc.SpecError) as refused:
        archcalc.loads(spec(layer), "moe.yaml")
    problems = refused.value.problems
    assert len(problems) == 1 and message in problems[0].message, problems
    assert problems[0].line == 14   # the moe layer's line (its `expert:` key)


def test_the_expert_sees_the_token_axis_only_through_its_input():
    """An expert of rank-3 tokens: T is the product of the leading axes."""
    moe = archcalc.loads(spec("{name: mlp, type: moe, experts: 4, top_k: 2, expert: swiglu}", "[2, 5, 16]")).layer("mlp")
    assert (moe.output_shape, moe.macs) == ((2, 5, 16), 2 * 5 * 16 * 4 + 2 * 1536 * 10)
