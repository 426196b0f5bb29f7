"""`archcalc schema`: the JSON Schema of the spec format accepts every bundled spec and rejects what archcalc
rejects (validated with the `jsonschema` package, a test dependency only)."""

import json

import jsonschema
import pytest
import yaml

import archcalc
from archcalc.cli import main
from archcalc.spec.schema import json_schema
from conftest import GOLDEN, REPO

VALIDATOR = jsonschema.Draft202012Validator(json_schema())
BUNDLED = sorted((REPO / "specs").glob("*.yaml")) + sorted(GOLDEN.glob("*.yaml")) + sorted(
    path for path in (REPO / "tests" / "specs").rglob("*.yaml") if "check" not in path.parts) + sorted(
    (REPO / "tests" / "specs" / "check" / "valid").glob("*.yaml"))


def test_schema_is_valid_draft_2020_12(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(printed)
    assert printed == json_schema()


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_bundled_specs_are_valid_under_the_schema(spec):
    assert list(VALIDATOR.iter_errors(yaml.safe_load(spec.read_text()))) == []


INVALID = [
    ("unknown-type", {"input": [8], "layers": [{"type": "rleu"}]}),
    ("unknown-key", {"input": [3, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4, "kernal_size": 3}]}),
    ("missing-kernel", {"input": [3, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4}]}),
    ("kernel-and-alias", {"input": [3, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4, "kernel": 3,
                                                           "kernel_size": 3}]}),
    ("negative-kernel", {"input": [3, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": -3}]}),
    ("string-for-int", {"input": [8], "layers": [{"type": "linear", "out_features": "ten"}]}),
    ("boolean-for-int", {"input": [8], "layers": [{"type": "linear", "out_features": True}]}),
    ("beyond-int64", {"input": [8], "layers": [{"type": "linear", "out_features": 2**63}]}),
    ("empty-layers", {"input": [8], "layers": []}),
    ("missing-input", {"layers": [{"type": "relu"}]}),
    ("zero-input", {"input": [0], "layers": [{"type": "relu"}]}),
    ("bad-padding-word", {"input": [3, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3,
                                                           "padding": "full"}]}),
    ("unknown-top-level-key", {"input": [8], "layer": [{"type": "relu"}]}),
    ("block-use-unknown-key", {"input": [8], "blocks": {"b": [{"type": "relu"}]},
                               "layers": [{"block": "b", "times": 2}]}),
    ("bad-budget", {"input": [8], "expect": {"max_params": "lots"}, "layers": [{"type": "relu"}]}),
]


@pytest.mark.parametrize("name, spec", INVALID, ids=[name for name, _ in INVALID])
def test_invalid_specs_are_rejected_by_both(name, spec):
    assert list(VALIDATOR.iter_errors(spec)) != []
    with pytest.raises(archcalc.SpecError):
        archcalc.analyze(spec)


def test_case_insensitive_types_and_expressions_are_schema_valid():
    spec = {"input": [3, "${size}", "${size}"], "variables": {"size": 32},
            "layers": [{"type": "Conv2d", "out_channels": "${size * 2}", "kernel": 3, "if": "${size > 8}"}]}
    assert list(VALIDATOR.iter_errors(spec)) == []
    assert archcalc.analyze(spec).layers[0].output_shape == (64, 30, 30)
