"""archcalc.bridges.spec_writer: a flat list of layers → a readable spec with blocks and `repeat`.

Every zoo spec, flattened to records (`records_of`) and written again, reads back to the same layers —
names, types, output shapes, parameters and MACs, layer by layer — and its repeated instances fold into
the block uses the zoo spells out by hand (the `repeat:` counts are the papers' stage depths).
"""

from __future__ import annotations

import re

import pytest

import archcalc
from archcalc.bridges.spec_writer import LayerRecord, input_spec_of, records_of, write_spec, yaml_value
from conftest import REPO

ZOO = sorted(path.stem for path in (REPO / "specs").glob("*.yaml"))


def layer_rows(network):
    return [(layer.name, layer.type, layer.output_shapes or (layer.output_shape,), layer.params, layer.macs)
            for layer in network.layers]


def rewritten(network, flat=False):
    return write_spec(records_of(network), input_spec_of(network), network.name, flat=flat)


@pytest.mark.parametrize("spec", ZOO)
@pytest.mark.parametrize("flat", [False, True], ids=["folded", "flat"])
def test_a_rewritten_zoo_spec_has_the_same_layers(spec, flat):
    network = archcalc.load(REPO / "specs" / f"{spec}.yaml")
    assert layer_rows(archcalc.loads(rewritten(network, flat))) == layer_rows(network)


# (spec, the block uses written: name and repeat) — the stage depths of each paper
FOLDS = [
    ("resnet18", [("layer1", 2), ("layer2", 2), ("layer3", 2), ("layer4", 2)]),
    ("resnet50", [("layer1", 3), ("layer2", 4), ("layer3", 6), ("layer4", 3)]),
    ("vit_b_16", [("encoder.layers.encoder_layer_${i}", 12)]),
    ("gpt2", [("transformer.h", 12)]),
    ("llama2_7b", [("model.layers", 32)]),
    ("densenet121", [("features.denseblock1.denselayer${i + 1}", 6), ("features.denseblock2.denselayer${i + 1}", 12),
                     ("features.denseblock3.denselayer${i + 1}", 24), ("features.denseblock4.denselayer${i + 1}", 16)]),
]


@pytest.mark.parametrize("spec, uses", FOLDS, ids=[row[0] for row in FOLDS])
def test_repeated_instances_fold_into_block_uses(spec, uses):
    text = rewritten(archcalc.load(REPO / "specs" / f"{spec}.yaml"))
    found = re.findall(r"\{block: [^,]+, name: ([^,]+), repeat: (\d+)", text)
    assert [(name.strip('"'), int(count)) for name, count in found] == uses


def test_resnet50_reads_like_the_zoo_spec():
    """One bottleneck definition; the widths are `with:` per stage, the stride and the shortcut `first:`."""
    text = rewritten(archcalc.load(REPO / "specs" / "resnet50.yaml"))
    assert text.count("    layers:") == 1
    assert "{block: layer1, name: layer2, repeat: 4, with: {conv1_out_channels: 128, conv3_out_channels: 512}," \
           " first: {stride: 2, downsample: true}}" in text
    assert '{name: downsample.0, type: conv2d, inputs: [input], out_channels: "${conv3_out_channels}",' \
           ' kernel_size: 1, stride: "${stride}", bias: false, if: "${downsample}"}' in text
    assert len(text.splitlines()) == 32


def test_module_classes_name_the_blocks():
    records = [LayerRecord("stem", "linear", {"out_features": 8}, ["input"])]
    for index in range(3):
        records += [LayerRecord(f"blocks.{index}.fc", "linear", {"out_features": 8, "bias": True},
                                ["stem" if index == 0 else f"blocks.{index - 1}.act"]),
                    LayerRecord(f"blocks.{index}.act", "relu", {"inplace": False}, [f"blocks.{index}.fc"])]
    text = write_spec(records, [8], module_classes={f"blocks.{index}": "MLPBlock" for index in range(3)})
    assert "  mlp_block:\n    module: true\n    layers:\n" in text
    assert "  - {block: mlp_block, name: blocks, repeat: 3}" in text
    assert archcalc.loads(text).totals.params == 4 * (8 * 8 + 8)


def test_an_expert_network_is_written_as_a_block_of_its_own():
    """Qwen1.5-MoE's routed and shared experts (SwiGLU MLPs 1408 and 5632 wide): one block each, named by the key."""
    text = rewritten(archcalc.load(REPO / "specs" / "qwen_moe_a2_7b.yaml"))
    assert "  expert:\n    - {name: gate_proj, type: linear, out_features: 1408, bias: false}\n" \
           "    - {name: act_fn, type: silu}\n" in text
    assert "  shared_expert:\n    - {name: gate_proj, type: linear, out_features: 5632, bias: false}\n" in text
    assert "{name: mlp, type: moe, experts: 60, top_k: 4, expert: expert, shared_experts: 1," \
           " shared_expert: shared_expert, shared_expert_gate: true, normalize_top_k: false}" in text
    assert "share" not in text.replace("shared", "")


@pytest.mark.parametrize("value, text", [
    (1e-05, "1.0e-05"), (0.1, "0.1"), (True, "true"), (None, "null"), ("0", '"0"'), ("conv.0", "conv.0"),
    ("${i}", '"${i}"'), ("true", '"true"'), ([1, 2], "[1, 2]"), ({"a": 1}, "{a: 1}"),
])
def test_yaml_values_read_back_as_themselves(value, text):
    import yaml

    assert yaml_value(value) == text
    assert yaml.safe_load(text) == value
