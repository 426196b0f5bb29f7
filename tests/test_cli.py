"""The command line: formats, options, exit codes (0 ok, 1 invalid spec, 2 usage)."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from archcalc.cli import main
from conftest import GOLDEN

LENET = str(GOLDEN / "lenet32.yaml")


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_table_has_every_layer_and_the_totals(capsys):
    code, out, err = run(capsys, "summary", LENET)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "lenet5: input [1, 32, 32]"
    assert "conv1 (conv2d)           [6, 28, 28]      156  117,600" in lines
    assert "fc1 (linear)             [120]         48,120   48,000" in lines
    for total in ("Total params: 61,706 (61.71 K)", "Trainable params: 61,706", "Non-trainable params: 0",
                  "Total MACs: 416,520 (416.52 K)", "Total FLOPs: 833,040 (833.04 K)",
                  "Input size (MB): 0.00", "Forward/backward pass size (MB): 0.11", "Params size (MB): 0.24",
                  "Estimated total size (MB): 0.35"):
        assert total in lines


def test_table_column_sums_equal_printed_totals(capsys):
    """torchinfo's invariant: what the rows add up to is what the totals say."""
    _, out, _ = run(capsys, "summary", str(GOLDEN / "cifar_vgg_bn.yaml"))
    lines = out.splitlines()
    rules = [i for i, line in enumerate(lines) if set(line) == {"="}]
    rows = lines[rules[1] + 1:rules[2]]
    assert len(rows) == 24
    params = sum(int(row.split()[-2].replace(",", "")) for row in rows)
    macs = sum(int(row.split()[-1].replace(",", "")) for row in rows)
    assert f"Total params: {params:,} (5.85 M)" in out
    assert f"Total MACs: {macs:,} (137.73 M)" in out


def test_json_batch_size_scales_memory_not_counts(capsys):
    _, one, _ = run(capsys, "summary", LENET, "--format", "json")
    _, eight, _ = run(capsys, "summary", LENET, "--format", "json", "--batch-size", "8", "--dtype", "float16")
    one, eight = json.loads(one), json.loads(eight)
    assert one["totals"] == eight["totals"]
    assert eight["memory"]["input_bytes"] == 8 * 1 * 32 * 32 * 2
    assert eight["memory"]["forward_backward_bytes"] == one["memory"]["forward_backward_bytes"] * 8 // 2
    assert eight["memory"]["params_bytes"] == 61706 * 2


def test_markdown_table(capsys):
    _, out, _ = run(capsys, "summary", LENET, "--format", "markdown")
    assert "| Layer (type) | Output shape | Params | MACs |" in out
    assert "|---|---|---:|---:|" in out
    assert "| conv1 (conv2d) | [6, 28, 28] | 156 | 117,600 |" in out
    assert "| Params | 61,706 (61.71 K) |" in out


def test_csv_rows_are_plain_integers(capsys):
    _, out, _ = run(capsys, "summary", LENET, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 12
    assert rows[0] == {"name": "conv1", "type": "conv2d", "inputs": "input", "output_shape": "6x28x28",
                       "params": "156", "trainable_params": "156", "macs": "117600", "flops": "235200",
                       "buffers": "0"}
    assert sum(int(row["params"]) for row in rows) == 61706


def test_frozen_layers_and_graph_inputs_get_their_columns(write_spec, capsys):
    spec = write_spec("input: [8]\nlayers:\n"
                      "  - {name: a, type: linear, out_features: 4, trainable: false}\n"
                      "  - {name: b, type: linear, out_features: 4, inputs: [input]}\n")
    code, out, _ = run(capsys, "summary", str(spec))
    assert code == 0
    assert "Input from" in out and "Trainable" in out
    assert any(line.startswith("b (linear)") and " input " in line for line in out.splitlines())
    assert "Non-trainable params: 36" in out


@pytest.mark.parametrize("argv", [
    ["summary", LENET, "--batch-size", "0"],
    ["summary", LENET, "--batch-size", "-3"],
    ["summary", LENET, "--batch-size", "two"],
    ["summary", LENET, "--format", "yaml"],
    ["summary", LENET, "--dtype", "float8"],
    ["summary"],
    ["frobnicate", LENET],
    [],
], ids=["batch-zero", "batch-negative", "batch-word", "format", "dtype", "no-spec", "command", "nothing"])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["summary", "--convention", "torchinfo"], ["check"], ["memory"]])
def test_a_function_call_of_a_layer_with_parameters_is_a_located_spec_error(write_spec, capsys, argv):
    """`call: function` on a linear: exit 1 with the position of `call`, from every command (issue #15, item 5)."""
    spec = write_spec("input: [16]\nlayers:\n  - {name: fc, type: linear, out_features: 4, call: function}\n")
    code, out, err = run(capsys, argv[0], str(spec), *argv[1:])
    assert code == 1
    assert f"{spec}:3:47: error: linear 'fc': call 'function' of a linear is not modelled" in err + out


@pytest.mark.parametrize("command", [["export"], ["graph"], ["report"], ["graph", "--format", "svg"]])
def test_an_output_file_that_cannot_be_written_is_a_one_line_usage_error(command, capsys, tmp_path):
    missing = tmp_path / "no-such-dir" / "out.txt"
    code, out, err = run(capsys, command[0], LENET, *command[1:], "-o", str(missing))
    assert (code, out) == (2, "")
    assert err == f"archcalc {command[0]}: error: cannot write {missing}: No such file or directory\n"


@pytest.mark.parametrize("command", [["export"], ["graph"], ["report"]])
def test_dash_as_output_is_standard_output(command, capsys, tmp_path):
    code, to_dash, _ = run(capsys, *command, LENET, "-o", "-")
    assert code == 0 and to_dash == run(capsys, *command, LENET)[1] and to_dash


def test_a_summary_imports_no_package_metadata():
    """pydantic's plugin loader imports importlib.metadata (with email and zipfile) only to find no plugins
    when they are disabled, as the command line disables them: a summary does without all three."""
    probe = ("import sys; from archcalc.cli import main; main(sys.argv[1:]); "
             "print(sorted({'importlib.metadata', 'email', 'zipfile'} & set(sys.modules)), file=sys.stderr)")
    environment = {key: value for key, value in os.environ.items() if key != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run([sys.executable, "-c", probe, "summary", LENET], capture_output=True, text=True,
                          env=environment)
    assert (done.returncode, done.stderr.strip()) == (0, "[]")


def test_the_plugin_loader_stand_in_gives_way_to_the_real_one():
    """Whatever else a pydantic release asks of its plugin loader than `get_plugins`, the real loader answers
    (it replaces the stand-in), so the stand-in can never break validation."""
    probe = ("import sys; import archcalc.cli; name = 'pydantic.plugin._loader'; stand_in = sys.modules[name]; "
             "assert stand_in.get_plugins() == () and not hasattr(stand_in, '__file__'); "
             "getattr(stand_in, 'get_plugins_from_entry_points', None); "
             "print(hasattr(sys.modules[name], '__file__'))")
    environment = {key: value for key, value in os.environ.items() if key != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment)
    assert (done.returncode, done.stdout.strip()) == (0, "True"), done.stderr
