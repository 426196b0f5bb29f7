"""`archcalc memory`: training memory from the spec alone (contract §5), without PyTorch.

The golden examples carry `training_memory` measured with real PyTorch (CPU, float32, batch 2, Adam):
per layer and in total, and the saved bytes at batch 1, 2 and 3. These tests reproduce them, check the
JSON contract, `--fit`'s closed form, the command's usage errors, the text and Markdown reports, and
that docs/memory.md is what `render_memory_doc()` generates. tests/test_memory_torch.py measures
PyTorch itself (when installed).
"""

from __future__ import annotations

import json
import pathlib

import pytest

import archcalc
from archcalc.layers import FAMILIES, TYPE_NAMES
from archcalc.analysis.memory import DEVICES, DTYPES, OPTIMIZERS, parse_budget, plan_memory, training_memory
from archcalc.report.memory_reference import cases, render_memory_doc
from archcalc.report.memory_format import render_json, render_markdown, render_text
from conftest import GOLDEN, REPO, shared_example_params


def examples() -> list:
    def trains(path):
        return "training_memory" in json.loads(path.with_suffix(".expected.json").read_text())
    specs = [path for path in sorted(GOLDEN.glob("*.yaml")) if trains(path)]
    return [pytest.param(path, id=f"{path.parent.name}/{path.stem}") for path in specs] + shared_example_params(trains)


def run_cli(argv: list[str]) -> int:
    from archcalc import cli

    return cli.main(argv)


def memory_json(capsys, *argv: str) -> dict:
    code = run_cli(["memory", *argv, "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


# --------------------------------------------------------------------------------------------
# The measured examples
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", examples())
def test_training_memory_matches_pytorch(spec: pathlib.Path, capsys) -> None:
    expected = json.loads(spec.with_suffix(".expected.json").read_text())["training_memory"]
    actual = memory_json(capsys, str(spec), "--batch-size", str(expected["batch_size"]), "--device",
                         expected["device"], "--dtype", expected["dtype"], "--optimizer", expected["optimizer"])
    assert {layer["name"]: layer["saved_activation_bytes"] for layer in actual["layers"]} == expected["layers"]
    assert {key: actual["totals"][key] for key in expected["totals"]} == expected["totals"]
    for key in ("batch_size", "dtype", "device", "optimizer"):
        assert actual[key] == expected[key]


@pytest.mark.parametrize("spec", examples())
def test_saved_bytes_at_each_batch_size(spec: pathlib.Path) -> None:
    expected = json.loads(spec.with_suffix(".expected.json").read_text())["training_memory"]
    network = archcalc.load(spec)
    got = {batch: archcalc.training_memory(network, batch_size=int(batch), device="cpu").totals.saved_activation_bytes
           for batch in expected["saved_activation_bytes_at_batch"]}
    assert got == expected["saved_activation_bytes_at_batch"]


def test_contract_example_lenet_rgb(capsys) -> None:
    """The two layers contract §5 shows, entry by entry."""
    document = memory_json(capsys, str(GOLDEN / "lenet_rgb.yaml"), "--batch-size", "2", "--device", "cpu")
    conv1, _, pool = document["layers"][:3]
    assert conv1["saved"] == [{"what": "input", "shape": [2, 3, 28, 28], "dtype": "float32", "bytes": 18816,
                               "from": "input"}]
    assert conv1["saved_activation_bytes"] == 18816
    assert pool["saved_activation_bytes"] == 46080
    assert [{key: entry[key] for key in ("what", "shape", "dtype", "bytes") + (("first_saved_by",) * (i == 0))}
            for i, entry in enumerate(pool["saved"])] == [
        {"what": "input", "shape": [2, 20, 24, 24], "dtype": "float32", "bytes": 92160, "first_saved_by": "relu-2"},
        {"what": "indices", "shape": [2, 20, 12, 12], "dtype": "int64", "bytes": 46080}]
    assert document["totals"] == {"saved_activation_bytes": 236896, "parameter_bytes": 1728320,
                                  "gradient_bytes": 1728320, "optimizer_state_bytes": 3456672, "buffer_bytes": 0,
                                  "input_bytes": 18816, "total_bytes": 7150208, "optimizer_host_bytes": 0}
    assert "fit" not in document


# --------------------------------------------------------------------------------------------
# The contract's invariants on every bundled spec
# --------------------------------------------------------------------------------------------

BUNDLED = sorted((REPO / "specs").glob("*.yaml"))


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda path: path.stem)
@pytest.mark.parametrize(("dtype", "device", "optimizer"), [("float32", "cpu", "adam"), ("float16", "cuda", "adamw"),
                                                            ("bfloat16", "cuda", "momentum")])
def test_layers_sum_to_the_totals(spec: pathlib.Path, dtype: str, device: str, optimizer: str) -> None:
    memory = archcalc.training_memory(archcalc.load(spec), batch_size=3, dtype=dtype, optimizer=optimizer, device=device)
    document = memory.to_dict()
    totals = document["totals"]
    assert sum(layer["saved_activation_bytes"] for layer in document["layers"]) == totals["saved_activation_bytes"]
    for layer in document["layers"]:
        counted = [entry["bytes"] for entry in layer["saved"] if "first_saved_by" not in entry]
        assert sum(counted) == layer["saved_activation_bytes"]
        for entry in layer["saved"]:
            assert entry["shape"] == [] or entry["shape"][0] == 3 or entry["what"] in ("mean", "invstd")
    names = [layer["name"] for layer in document["layers"]]
    for position, layer in enumerate(document["layers"]):
        for entry in layer["saved"]:
            if "first_saved_by" in entry:   # an earlier layer (or this one, for x·x) counts it
                assert names.index(entry["first_saved_by"]) <= position
    input_counted = memory.input_kept
    assert totals["total_bytes"] == (totals["saved_activation_bytes"] + totals["parameter_bytes"]
                                     + totals["gradient_bytes"] + totals["optimizer_state_bytes"]
                                     + totals["buffer_bytes"] + (0 if input_counted else totals["input_bytes"]))
    assert totals["total_bytes"] == document["fixed_bytes"] + 3 * document["per_sample_bytes"]
    assert json.loads(render_json(memory)) == document


def test_buffers_parameters_and_optimizers() -> None:
    network = archcalc.load(GOLDEN / "cifar_vgg_bn.yaml")   # 3 batch norms: 64, 128, 256 channels
    params, trainable = network.totals.params, network.totals.trainable_params
    state = {optimizer: archcalc.training_memory(network, device="cpu", optimizer=optimizer).totals.optimizer_state_bytes
             for optimizer in OPTIMIZERS}
    assert state == {"none": 0, "sgd": 0, "momentum": 4 * trainable, "adam": 8 * trainable + 4 * 24,
                     "adamw": 8 * trainable + 4 * 24}
    cuda = archcalc.training_memory(network, device="cuda", optimizer="adam").totals
    assert (cuda.optimizer_state_bytes, cuda.optimizer_host_bytes) == (8 * trainable, 4 * 24)
    half = archcalc.training_memory(network, dtype="float16", device="cpu").totals
    assert (half.parameter_bytes, half.gradient_bytes) == (2 * params, 2 * trainable)
    assert half.buffer_bytes == 2 * 2 * (64 + 128 + 256) + 3 * 8    # running stats in float16, int64 counters
    assert archcalc.training_memory(network, device="cpu").totals.buffer_bytes == 3608


def test_frozen_layers_change_what_is_kept() -> None:
    network = archcalc.loads("""
input: [3, 8, 8]
layers:
  - {name: frozen_conv, type: conv2d, out_channels: 4, kernel_size: 3, trainable: false}
  - {name: relu, type: relu}
  - {name: conv, type: conv2d, out_channels: 4, kernel_size: 1}
  - {name: flat, type: flatten}
  - {name: frozen_fc, type: linear, out_features: 5, trainable: false}
""")
    memory = archcalc.training_memory(network, batch_size=2, device="cpu")
    assert {layer.name: layer.saved_activation_bytes for layer in memory.layers} == {
        "frozen_conv": 0, "relu": 0, "conv": 2 * 4 * 6 * 6 * 4, "flat": 0, "frozen_fc": 0}
    assert [layer.requires_grad for layer in memory.layers] == [False, False, True, True, True]
    assert not memory.input_kept and memory.totals.total_bytes == (
        memory.totals.saved_activation_bytes + memory.totals.input_bytes + memory.totals.parameter_bytes
        + memory.totals.gradient_bytes + memory.totals.optimizer_state_bytes)
    assert memory.totals.gradient_bytes == 4 * (4 * 4 + 4)


def test_cuda_dropout_mask_is_bool_and_in_place_dropout_is_not_fused() -> None:
    network = archcalc.loads("""
input: [10]
layers:
  - {type: linear, out_features: 100}
  - {name: fused, type: dropout}
  - {type: linear, out_features: 100}
  - {name: unfused, type: dropout, inplace: true}
""")
    cpu, cuda = (archcalc.training_memory(network, batch_size=4, device=device) for device in ("cpu", "cuda"))
    assert cpu.layer("fused").saved[0][1:4] == ((4, 100), "float32", 1600)
    assert cuda.layer("fused").saved[0][1:4] == ((4, 100), "bool", 400)
    assert cuda.layer("unfused").saved[0][1:4] == cpu.layer("unfused").saved[0][1:4] == ((4, 100), "float32", 1600)


def test_half_precision_statistics_depend_on_the_device() -> None:
    network = archcalc.loads("input: [8, 4, 4]\nlayers:\n  - {type: conv2d, out_channels: 8, kernel_size: 1}\n"
                             "  - {name: bn, type: batchnorm2d}\n  - {name: ln, type: layernorm, normalized_shape: 4}\n")
    for dtype in ("float16", "bfloat16"):
        cpu, cuda = (archcalc.training_memory(network, batch_size=2, dtype=dtype, device=device) for device in ("cpu", "cuda"))
        assert [entry.dtype for entry in cpu.layer("bn").saved] == [dtype, dtype, dtype]
        assert [entry.dtype for entry in cuda.layer("bn").saved] == [dtype, "float32", "float32"]
        assert [entry.bytes for entry in cuda.layer("ln").saved[1:]] == [2 * 8 * 4 * 4] * 2


def test_in_place_after_a_kept_output_is_flagged() -> None:
    network = archcalc.loads("input: [3, 6, 6]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3}\n"
                             "  - {name: r, type: relu}\n  - {name: r2, type: relu, inplace: true}\n")
    memory = archcalc.training_memory(network, device="cpu")
    assert len(memory.warnings) == 1 and memory.warnings[0].startswith("r2 (relu) overwrites in place")
    assert "warning: r2 (relu) overwrites" in render_text(memory)


def test_layers_off_the_output_path_are_flagged() -> None:
    network = archcalc.loads("input: [3, 6, 6]\nlayers:\n  - {name: side, type: conv2d, out_channels: 4,"
                             " kernel_size: 3}\n  - {name: main, type: conv2d, out_channels: 4, kernel_size: 3,"
                             " inputs: [input]}\n")
    memory = archcalc.training_memory(network, device="cpu")
    assert memory.layer("side").saved_activation_bytes == 3 * 6 * 6 * 4   # counted, as the hooks see it
    assert len(memory.warnings) == 1 and memory.warnings[0].startswith("side keep tensors for backward but")


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda path: path.stem)
def test_bundled_specs_train_without_memory_warnings(spec: pathlib.Path) -> None:
    for device in DEVICES:
        assert plan_memory(archcalc.load(spec), device=device).warnings == []


# --------------------------------------------------------------------------------------------
# --fit: the closed form
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [GOLDEN / "cifar_vgg_bn.yaml", GOLDEN / "lenet_rgb.yaml", *BUNDLED[:4]],
                         ids=lambda path: path.stem)
@pytest.mark.parametrize("budget", ["512MiB", "8GB", "24GiB", "123456789"])
@pytest.mark.parametrize(("dtype", "optimizer", "device"), [("float32", "adam", "cuda"), ("bfloat16", "sgd", "cpu")])
def test_fit_is_self_consistent(spec, budget, dtype, optimizer, device) -> None:
    network = archcalc.load(spec)
    fitted = archcalc.training_memory(network, dtype=dtype, optimizer=optimizer, device=device, fit=budget)
    fit, budget_bytes = fitted.fit, parse_budget(budget)
    assert fit.budget_bytes == budget_bytes
    assert (fit.fixed_bytes, fit.per_sample_bytes) == (fitted.fixed_bytes, fitted.per_sample_bytes)
    if fit.batch_size == 0:
        assert fitted.batch_size == 1 and fitted.totals.total_bytes > budget_bytes
        return
    assert fitted.batch_size == fit.batch_size
    for batch in (fit.batch_size, fit.batch_size + 1):
        total = archcalc.training_memory(network, batch_size=batch, dtype=dtype, optimizer=optimizer, device=device).totals.total_bytes
        assert total == fit.fixed_bytes + batch * fit.per_sample_bytes
        assert (total <= budget_bytes) == (batch == fit.batch_size)


def test_fit_when_nothing_fits(capsys) -> None:
    document = memory_json(capsys, str(REPO / "specs" / "resnet50.yaml"), "--fit", "100MB")
    assert document["fit"]["batch_size"] == 0 and document["batch_size"] == 1
    assert document["fit"]["budget_bytes"] == 100 * 10**6
    assert document["totals"]["total_bytes"] == document["fit"]["fixed_bytes"] + document["fit"]["per_sample_bytes"]
    assert run_cli(["memory", str(REPO / "specs" / "resnet50.yaml"), "--fit", "100MB"]) == 0
    assert "even batch size 1 needs" in capsys.readouterr().out


def test_fit_json_follows_the_contract(capsys) -> None:
    document = memory_json(capsys, str(REPO / "specs" / "resnet50.yaml"), "--fit", "24GiB", "--batch-size", "7")
    fit = document["fit"]
    assert set(fit) == {"budget_bytes", "batch_size", "fixed_bytes", "per_sample_bytes"}
    assert fit["budget_bytes"] == 24 * 2**30 and document["batch_size"] == fit["batch_size"] > 7
    assert document["totals"]["total_bytes"] == fit["fixed_bytes"] + fit["batch_size"] * fit["per_sample_bytes"]
    assert document["totals"]["total_bytes"] <= fit["budget_bytes"] < document["totals"]["total_bytes"] + \
        fit["per_sample_bytes"]


@pytest.mark.parametrize(("text", "expected"), [
    ("24GiB", 24 * 2**30), ("8GB", 8 * 10**9), ("512MiB", 512 * 2**20), ("1000000", 10**6), ("1.5 GiB", 3 * 2**29),
    ("64KiB", 64 * 1024), ("2TB", 2 * 10**12), ("7B", 7), ("0.5KB", 500)])
def test_budget_units(text: str, expected: int) -> None:
    assert parse_budget(text) == expected


@pytest.mark.parametrize("text", ["0", "0GB", "-1GB", "-5", "", "GB", "12XB", "1e9", "nan", "inf", "0.1B", "1,000", "24gib"])
def test_bad_budgets(text: str) -> None:
    with pytest.raises(ValueError):
        parse_budget(text)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["--batch-size", "0"], ["--batch-size", "-1"], ["--batch-size", "2.5"], ["--batch-size", "two"],
    ["--dtype", "float8"], ["--optimizer", "rmsprop"], ["--device", "tpu"],
    ["--format", "csv"], ["--fit", "0"], ["--fit=-8GB"], ["--fit", "lots"], ["--fit", "0.5B"], ["--fit"],
])
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["memory", str(GOLDEN / "lenet_rgb.yaml"), *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_dtypes_are_summarys_floating_ones(capsys) -> None:
    """memory --dtype offers summary's floating-point dtypes, float64 included; int8 (summary only: no gradients to
    train with) is a usage error that says why (issue #15, item 7)."""
    from archcalc.network import DTYPE_BYTES

    assert set(DTYPES) == set(DTYPE_BYTES) - {"int8"}
    assert run_cli(["memory", str(GOLDEN / "lenet_rgb.yaml"), "--dtype", "float64", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["parameter_bytes"] == 8 * 432080
    assert run_cli(["memory", str(GOLDEN / "lenet_rgb.yaml"), "--dtype", "int8"]) == 2
    assert "PyTorch trains floating-point tensors only" in capsys.readouterr().err


def test_invalid_spec_exits_1(write_spec, capsys) -> None:
    path = write_spec("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernal_size: 3}\n")
    assert run_cli(["memory", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3:" in err and "kernal_size" in err
    assert run_cli(["memory", str(path.parent / "missing.yaml")]) == 1


def test_defaults_are_batch_1_float32_adam_cuda(capsys) -> None:
    document = memory_json(capsys, str(GOLDEN / "lenet_rgb.yaml"))
    assert (document["batch_size"], document["dtype"], document["optimizer"], document["device"]) == \
           (1, "float32", "adam", "cuda")
    assert document == json.loads(render_json(archcalc.training_memory(archcalc.load(GOLDEN / "lenet_rgb.yaml"))))


def test_text_report(capsys) -> None:
    assert run_cli(["memory", str(GOLDEN / "lenet_rgb.yaml"), "--batch-size", "2", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    for expected in ("conv1 (conv2d)", "input 2×3×28×28 float32", "indices 2×20×12×12 int64",
                     "output 2×20×24×24 float32 (shared with maxpool2d-3's input)", "input (kept by relu-2)",
                     "Saved activations", "236,896 B", "Total", "7,150,208 B", "6.82 MiB", "per sample",
                     "floor of the training peak", "Not modelled"):
        assert expected in out
    rows = [line for line in out.splitlines() if line.startswith(("conv", "relu", "maxpool", "flatten", "fc",
                                                                  "dropout"))]
    assert len(rows) == 11


def test_text_report_names_the_cuda_caveats() -> None:
    text = render_text(archcalc.training_memory(archcalc.load(REPO / "specs" / "resnet50.yaml"), fit="24GiB"))
    assert "cuDNN" in text and "allocator" in text and "GiB" in text and "largest batch size that fits" in text
    assert "host memory" in text


def test_markdown_report() -> None:
    memory = archcalc.training_memory(archcalc.load(GOLDEN / "cifar_vgg_bn.yaml"), batch_size=2, device="cpu")
    markdown = render_markdown(memory)
    assert "| Layer | Type | Keeps for backward | Bytes |" in markdown
    assert "| batchnorm2d-6 | batchnorm2d | input 2×64×16×16 float32; mean 64 float32; invstd 64 float32 | 131,584 |" \
        in markdown
    assert "| **Total** | **96,170,264** |" in markdown


# --------------------------------------------------------------------------------------------
# Rules, API, docs
# --------------------------------------------------------------------------------------------

def test_every_type_has_a_memory_rule_and_its_facts() -> None:
    from importlib import import_module

    facts = {}
    for family in FAMILIES:
        facts.update(import_module(f"archcalc.layers.{family}").MEMORY_FACTS)
    assert sorted(facts) == sorted(TYPE_NAMES)
    assert sorted(cases()) == sorted(TYPE_NAMES)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_api_objects_and_plan(dtype: str, device: str) -> None:
    network = archcalc.load(REPO / "specs" / "mobilenet_v2.yaml")
    plan = plan_memory(network, dtype, device)
    for batch in (1, 5):
        memory = plan.at(batch, "adam")
        assert memory == training_memory(network, batch, dtype, "adam", device)
        assert memory.totals.total_bytes == plan.fixed_bytes("adam") + batch * plan.per_sample_bytes
        assert memory.input_shape == (batch, *network.input_shape)
        assert isinstance(memory.totals.total_bytes, int)


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"batch_size": True}, {"batch_size": 1.0}, {"dtype": "int8"},
                                 {"optimizer": "rmsprop"}, {"device": "tpu"}, {"fit": 0}, {"fit": "x"}])
def test_api_rejects_bad_arguments(bad: dict) -> None:
    with pytest.raises(ValueError):
        archcalc.training_memory(archcalc.load(GOLDEN / "lenet_rgb.yaml"), **bad)


def test_docs_memory_md_is_generated() -> None:
    path = REPO / "docs" / "memory.md"
    assert path.read_text(encoding="utf-8") == render_memory_doc(), \
        "docs/memory.md is stale: regenerate it with archcalc.memory_doc.render_memory_doc()"
