"""Golden specs: the tutorial networks this project grew from, with numbers from PyTorch.

tests/golden/ holds copies of ../shared/examples (expected JSON computed with PyTorch 2.14:
parameters from model.parameters(), shapes from a forward pass, MACs from FlopCounterMode / 2;
parameter totals also match the tutorials named in each spec's header). When the shared folder
is present, its current files are checked too.
"""

import json
import subprocess
import sys

import pytest

from archcalc.cli import main
from conftest import GOLDEN, shared_example_params

LAYER_KEYS = ("name", "type", "output_shape", "params", "trainable_params", "macs")
TOTAL_KEYS = ("params", "trainable_params", "non_trainable_params", "macs", "flops")


def example_specs():
    specs = sorted(GOLDEN.glob("*.yaml"))
    return [pytest.param(spec, id=f"{spec.parent.name}/{spec.stem}") for spec in specs] + shared_example_params()


def summary_json(spec, capsys, *extra):
    assert main(["summary", str(spec), "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("spec", example_specs())
def test_summary_json_matches_expected(spec, capsys):
    expected = json.loads(spec.with_suffix(".expected.json").read_text())
    actual = summary_json(spec, capsys)
    assert actual["name"] == expected["name"]
    assert actual["input_shape"] == expected["input_shape"]
    assert [{key: layer[key] for key in LAYER_KEYS} for layer in actual["layers"]] == \
           [{key: layer[key] for key in LAYER_KEYS} for layer in expected["layers"]]
    assert {key: actual["totals"][key] for key in TOTAL_KEYS} == expected["totals"]


@pytest.mark.parametrize("spec", example_specs())
def test_torchsummary_memory_estimate(spec, capsys):
    expected = json.loads(spec.with_suffix(".expected.json").read_text())["memory_estimate_torchsummary"]
    memory = summary_json(spec, capsys, "--batch-size", str(expected["batch_size"]), "--dtype", expected["dtype"])["memory"]
    megabytes = {key: round(memory[f"{key}_bytes"] / 2**20, 2)
                 for key in ("input", "forward_backward", "params", "total")}
    assert megabytes == {key: expected[f"{key}_mb"] for key in ("input", "forward_backward", "params", "total")}


def test_lenet_rgb_sees_every_layer():
    """The tutorial's torchsummary printed 0.12 MB forward/backward: it could not see the functional ReLU
    and max-pool calls. archcalc lists every layer, so the same formula gives 0.27 MB."""
    import archcalc

    memory = archcalc.load(GOLDEN / "lenet_rgb.yaml").summary().memory
    only_modules = {"conv1", "conv2", "fc1", "dropout1", "fc2"}
    seen = archcalc.load(GOLDEN / "lenet_rgb.yaml").layers
    module_outputs = sum(layer.output_elements for layer in seen if layer.name in only_modules)
    assert round(2 * module_outputs * 4 / 2**20, 2) == 0.12
    assert round(memory.forward_backward_bytes / 2**20, 2) == 0.27


def test_console_script_runs_as_a_process():
    run = subprocess.run([sys.executable, "-m", "archcalc", "summary", str(GOLDEN / "lenet32.yaml"), "--format", "json"],
                         capture_output=True, text=True, check=True)
    assert json.loads(run.stdout)["totals"]["params"] == 61706
