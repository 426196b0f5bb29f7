"""`archcalc export --to pytorch` as text, without torch: the file reads as torchvision's code reads.

(tests/test_pytorch_bridge.py runs the files with real PyTorch.)
"""

from __future__ import annotations

import ast

import pytest

import archcalc
from archcalc.bridges.pytorch_export import export_pytorch
from archcalc.cli import main
from conftest import REPO

ZOO = sorted(path.stem for path in (REPO / "specs").glob("*.yaml"))


@pytest.mark.parametrize("spec", ZOO)
def test_the_export_is_python_that_imports_only_torch(spec):
    tree = ast.parse(export_pytorch(archcalc.load(REPO / "specs" / f"{spec}.yaml"), f"specs/{spec}.yaml"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names} | {node.module for node in ast.walk(tree)
                                            if isinstance(node, ast.ImportFrom) and node.module}
    assert imported == {"torch", "nn"}


# (spec, lines the file has): a class per block, torchvision's nn.Sequential stages, the shortcut as one call
READS = [
    ("resnet50", ["class Bottleneck(nn.Module):",
                  "    def __init__(self, in_channels, conv1_out_channels, conv3_out_channels, stride=1,"
                  " downsample=False):",
                  "        ) if downsample else None",
                  "        if self.downsample is not None:",
                  "            downsample = self.downsample(x)",
                  "        layer2 = self.layer2(layer1)",
                  "        self.fc = nn.Linear(in_features=2048, out_features=1000)"]),
    ("gpt2", ["        self.lm_head.weight = self.transformer.wte.weight   # tied: one tensor"]),
    ("vit_b_16", ["        self.class_token = nn.Parameter(torch.zeros(1, 1, 768))"]),
    ("lstm_classifier", ["        states = self.states(lstm[1][0].transpose(0, 1))"]),
    # Hugging Face's eager MixtralSparseMoeBlock with the experts unfused (mlp.experts.0.gate_proj.weight, ...)
    ("mixtral_8x7b", ["class SparseMoeBlock(nn.Module):",
                      "    archcalc_type = 'moe'   # `archcalc import torch` reads this module as one layer of that type",
                      "        self.gate = nn.Linear(4096, 8, bias=False)",
                      "        self.experts = nn.ModuleList([Expert() for _ in range(8)])",
                      "        self.gate_proj = nn.Linear(in_features=4096, out_features=14336, bias=False)",
                      "            token, position = torch.where(selected_experts == index)   # the tokens that picked it",
                      "        self.mlp = SparseMoeBlock()"]),
    ("qwen_moe_a2_7b", ["        self.norm_topk_prob = False",
                        "        self.experts = nn.ModuleList([Expert() for _ in range(60)])",
                        "        self.shared_expert = SharedExpert()",
                        "        self.shared_expert_gate = nn.Linear(2048, 1, bias=False)",
                        "        shared_output = torch.sigmoid(self.shared_expert_gate(hidden_states)) * shared_output",
                        "        self.gate_proj = nn.Linear(in_features=2048, out_features=5632, bias=False)"]),
]


@pytest.mark.parametrize("spec, lines", READS, ids=[row[0] for row in READS])
def test_the_export_reads_like_torchvision(spec, lines):
    text = export_pytorch(archcalc.load(REPO / "specs" / f"{spec}.yaml"), f"specs/{spec}.yaml")
    for line in lines:
        assert line in text.splitlines(), line


def test_export_prints_to_stdout_and_reports_an_invalid_spec(write_spec, capsys):
    assert main(["export", str(REPO / "specs" / "lenet5.yaml")]) == 0
    assert capsys.readouterr().out.startswith('"""lenet5 as a PyTorch module')
    bad = write_spec("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernal_size: 3}\n")
    assert main(["export", str(bad)]) == 1
    assert "unknown key 'kernal_size'" in capsys.readouterr().err
