"""Teaching mode: explanations, their agreement with the computation, warnings and the formula reference."""

import json
import re

import pytest

import archcalc
from archcalc.cli import main
from archcalc.analysis.explain import check_consistency, explain
from archcalc.report.formula_reference import render_reference
from conftest import GOLDEN, REPO

SPECS = sorted((REPO / "specs").glob("*.yaml")) + sorted(GOLDEN.glob("*.yaml")) + \
    sorted(path for path in (REPO / "tests" / "specs").rglob("*.yaml") if "check" not in path.parts)


def evaluate_substituted(text: str) -> int:
    """Evaluate a substituted formula independently of archcalc's expression objects: rewrite the
    printed notation as Python (⌊a / b⌋ → fl(a, b), ⌈a / b⌉ → ce(a, b), a/b → exact division)."""
    python = (text.replace("·", "*").replace("−", "-").replace("⌊", "fl(").replace("⌈", "ce(")
              .replace("⌋", ")").replace("⌉", ")").replace(" / ", ", "))
    python = re.sub(r"(?<=[\d)])/(?=[\d(])", "//", python)
    assert re.fullmatch(r"[\d\s+\-*/(),a-z]*", python), python
    return eval(python, {"__builtins__": {}},  # noqa: S307 - digits, operators and four known names only
                {"fl": lambda a, b: a // b, "ce": lambda a, b: -(-a // b), "min": min, "max": max})


@pytest.mark.parametrize("spec", SPECS, ids=lambda path: path.stem)
def test_every_substituted_formula_recomputes_its_value(spec):
    """The drift test: for every layer of every bundled spec, each printed substitution evaluates to the
    printed value, and the printed values are the numbers the summary reports."""
    network = archcalc.load(spec)
    checked = 0
    for explanation in explain(network):
        assert check_consistency(explanation) == []
        for quantity in explanation.quantities:
            substituted = quantity.substituted()
            if substituted is not None:
                assert evaluate_substituted(substituted) == quantity.value, (explanation.layer.name, substituted)
                checked += 1
    assert checked >= len(network.layers) // 2


def test_lenet_explained_step_by_step(capsys):
    assert main(["explain", str(REPO / "specs" / "lenet5.yaml")]) == 0
    out = capsys.readouterr().out
    for line in [
        "conv1 (conv2d): [1, 28, 28] from input → [6, 24, 24]",
        "  H_out = ⌊(H_in + 2·P_h − D_h·(K_h − 1) − 1) / S_h⌋ + 1 = ⌊(28 + 2·0 − 1·(5 − 1) − 1) / 1⌋ + 1 = 24",
        "  params = (K_h·K_w·C_in/groups + 1)·C_out = (5·5·1/1 + 1)·6 = 156",
        "  MACs = K_h·K_w·C_in/groups·C_out·H_out·W_out = 5·5·1/1·6·24·24 = 86,400",
        "pool1 (maxpool2d): [6, 24, 24] from relu1 → [6, 12, 12]",
        "  note: stride not given: it defaults to kernel_size, as in PyTorch",
        "flatten (flatten): [16, 4, 4] from pool2 → [256]",
        "  F_out = C·H·W = 16·4·4 = 256",
        "  params = (F_in + 1)·F_out = (256 + 1)·120 = 30,840",
        "fc3 (linear): [84] from relu4 → [10]",
        "  MACs = F_in·F_out = 84·10 = 840",
    ]:
        assert line in out.splitlines()


def test_explain_named_layers_markdown_and_json(capsys):
    spec = str(REPO / "specs" / "lenet5.yaml")
    assert main(["explain", spec, "--layer", "conv2", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### `conv2` (conv2d)")
    assert ("- $H_{\\mathrm{out}} = \\left\\lfloor \\frac{H_{\\mathrm{in}} + 2 \\cdot P_{\\mathrm{h}} - D_{\\mathrm{h}}"
            " \\cdot \\left(K_{\\mathrm{h}} - 1\\right) - 1}{S_{\\mathrm{h}}} \\right\\rfloor + 1 = \\left\\lfloor"
            " \\frac{12 + 2 \\cdot 0 - 1 \\cdot \\left(5 - 1\\right) - 1}{1} \\right\\rfloor + 1 = 8$") in out
    assert main(["explain", spec, "--layer", "fc1", "--layer", "conv1", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [layer["name"] for layer in document["layers"]] == ["conv1", "fc1"]
    params = next(q for q in document["layers"][1]["quantities"] if q["quantity"] == "params")
    assert params == {"quantity": "params", "formula": "(F_in + 1)·F_out", "substituted": "(256 + 1)·120",
                      "latex": "\\left(F_{\\mathrm{in}} + 1\\right) \\cdot F_{\\mathrm{out}}", "value": 30840,
                      "note": None}


def test_explain_unknown_layer_is_a_usage_error(capsys):
    assert main(["explain", str(REPO / "specs" / "lenet5.yaml"), "--layer", "fc4"]) == 2
    assert "has no layer named 'fc4' (did you mean 'fc3'?)" in capsys.readouterr().err


@pytest.mark.parametrize("layer, input_shape, needle", [
    ({"type": "maxpool2d", "kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, [8, 5, 5],
     "H_out = min(⌈(H_in + 2·P_h − D_h·(K_h − 1) − 1) / S_h⌉ + 1, ⌈(H_in + P_h) / S_h⌉)"
     " = min(⌈(5 + 2·1 − 1·(2 − 1) − 1) / 2⌉ + 1, ⌈(5 + 1) / 2⌉) = 3"),
    ({"type": "conv2d", "out_channels": 8, "kernel_size": 4, "padding": "same"}, [3, 10, 10],
     "note: padding 'same' along H: D·(K − 1) = 1·(4 − 1) = 3 padded in all, 1 before and 2 after"),
    ({"type": "convtranspose2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
     [16, 8, 8], "H_out = (H_in − 1)·S_h − 2·P_h + D_h·(K_h − 1) + OP_h + 1 = (8 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 16"),
    ({"type": "adaptiveavgpool2d", "output_size": [3, 2]}, [8, 7, 5],
     "note: along H, output i pools input [⌊i·I/O⌋, ⌈(i + 1)·I/O⌉) with I = 7, O = 3: [0, 3), [2, 5), [4, 7)"),
    ({"type": "batchnorm2d"}, [64, 8, 8],
     "buffers = 2·C + 1 = 2·64 + 1 = 129   (running statistics: kept in the state, not parameters)"),
    ({"type": "linear", "out_features": 3, "trainable": False}, [8],
     "params = (F_in + 1)·F_out = (8 + 1)·3 = 27   (frozen (trainable: false): all non-trainable)"),
])
def test_explanations_of_special_cases(layer, input_shape, needle, write_spec, capsys):
    spec = write_spec(json.dumps({"input": input_shape, "layers": [layer]}))
    assert main(["explain", str(spec)]) == 0
    assert needle in capsys.readouterr().out


def test_concat_add_mul_are_explained():
    network = archcalc.loads("input: [4, 8, 8]\nlayers:\n"
                             "  - {name: a, type: conv2d, out_channels: 6, kernel_size: 1}\n"
                             "  - {name: g, type: adaptiveavgpool2d, output_size: 1}\n"
                             "  - {name: m, type: mul, inputs: [a, g]}\n"
                             "  - {name: s, type: add, inputs: [a, m]}\n"
                             "  - {name: c, type: concat, inputs: [s, input]}\n")
    by_name = {e.layer.name: e for e in explain(network)}
    concat = by_name["c"].quantities[0]
    assert (concat.label, concat.formula(), concat.substituted(), concat.value) == ("C_out", "C_1 + C_2", "6 + 4", 10)
    assert "[6, 8, 8] · [6, 1, 1] → [6, 8, 8]" in by_name["m"].notes[0]
    assert by_name["s"].notes == ("element-wise sum of 2 inputs of equal shape: no parameters, no MACs",)


def test_formula_reference_is_up_to_date():
    committed = (REPO / "docs" / "formulas.md").read_text(encoding="utf-8")
    assert committed == render_reference("markdown"), "regenerate: archcalc formulas --format markdown > docs/formulas.md"


def test_formula_reference_covers_every_type():
    from archcalc.layers import TYPE_NAMES

    reference = render_reference("markdown")
    assert [tag for tag in TYPE_NAMES if f"### `{tag}`" not in reference] == []
