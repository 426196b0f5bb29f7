"""Bad input: every kind gets one located line `PATH:LINE:COL: error: MESSAGE` naming the layer, exit 1.

Rows: (what is wrong, spec text, expected line after the path). Lines and columns are 1-based and
point at the offending key, or at the layer when no single key is to blame.
"""

import pytest

from archcalc.cli import main

ROWS = [
    pytest.param(
        "input: [1, 28, 28]\nlayers:\n  - {type: relu\n",
        "4:1: error: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 3, column 5)",
        id="bad-yaml"),
    pytest.param(
        "input: [8]\nlayers:\n\t- {type: relu}\n",
        "3:1: error: invalid YAML: a tab character; YAML indents with spaces",
        id="tab-indent"),
    pytest.param(
        "input: [8]\nlayers:\n  - type: linear\n    out_features: 3\n    out_features: 4\n",
        "5:5: error: duplicate key 'out_features' (first defined at line 4)",
        id="duplicate-key"),
    pytest.param(
        "input: [1, 28, 28]\nlayers:\n  - {type: conv2d, out_channels: 6, kernel_size: 5}\n  - {type: rleu}\n",
        "4:5: error: layer 2: unknown layer type 'rleu' (did you mean 'relu'?)",
        id="unknown-type"),
    pytest.param(
        "input: [8]\nlayers:\n  - {type: dense, out_features: 3}\n",
        "3:5: error: layer 1: unknown layer type 'dense' (did you mean 'linear'?)",
        id="keras-name-for-a-type"),
    pytest.param(
        "input: [8]\nlayers:\n  - {type: ReLUU}\n",
        "3:5: error: layer 1: unknown layer type 'ReLUU' (did you mean 'relu'?)",
        id="unknown-type-as-written"),
    pytest.param(
        "input: [8]\nlayers:\n  - {type: Dense, out_features: 3}\n",
        "3:5: error: layer 1: unknown layer type 'Dense' (did you mean 'linear'?)",
        id="keras-name-as-written"),
    pytest.param(
        "input: [1, 28, 28]\nlayers:\n  - {name: conv1, type: conv2d, out_channels: 6, kernal_size: 5}\n",
        "3:50: error: conv2d 'conv1': unknown key 'kernal_size' for conv2d (did you mean 'kernel_size'?)",
        id="typo-key"),
    pytest.param(
        "input: [8]\nlayer:\n  - {type: relu}\n",
        "2:1: error: unknown key 'layer' for the spec (did you mean 'layers'?)",
        id="typo-top-level-key"),
    pytest.param(
        "input: [1, 28, 28]\nlayers:\n  - name: conv1\n    type: conv2d\n    out_channels: 6\n    kernel_size: -5\n",
        "6:5: error: conv2d 'conv1': kernel_size: must be at least 1, got -5",
        id="negative-kernel"),
    pytest.param(
        "input: [1, 28, 28]\nlayers:\n  - {type: conv2d, out_channels: six, kernel_size: 5}\n",
        "3:20: error: conv2d 'conv2d-1': out_channels: expected an integer, got the string 'six'",
        id="string-for-int"),
    pytest.param(
        "input: [1, 28, 28]\nlayers:\n  - {type: maxpool2d, kernel_size: 2, stride: true}\n",
        "3:39: error: maxpool2d 'maxpool2d-1': stride: expected an integer or a list of integers (one per axis),"
        " got the boolean true",
        id="boolean-for-int"),
    pytest.param(
        "input: [1, 28, 28]\nlayers:\n  - {type: conv2d, out_channels: 9223372036854775808, kernel_size: 1}\n",
        "3:20: error: conv2d 'conv2d-1': out_channels: 9,223,372,036,854,775,808 is beyond the int64 range PyTorch"
        " can hold (at most 9,223,372,036,854,775,807)",
        id="beyond-int64"),
    pytest.param(
        "input: [1, 28, 28]\nlayers:\n  - {name: conv1, type: conv2d, out_channels: 16, kernel_size: 5}\n"
        "  - {type: maxpool2d, kernel_size: 2}\n  - {type: flatten}\n"
        "  - {name: fc1, type: linear, in_features: 400, out_features: 120}\n",
        "6:31: error: linear 'fc1': in_features is 400 but the incoming shape [2304] has 2,304 features on its"
        " last axis",
        id="mismatched-in-features"),
    pytest.param(
        "input: [16, 5, 5]\nlayers:\n  - {name: fc1, type: linear, in_features: 400, out_features: 120}\n",
        "3:31: error: linear 'fc1': in_features is 400 but the incoming shape [16, 5, 5] has 5 features on its last"
        " axis (the input is [16, 5, 5]: flatten it first?)",
        id="linear-before-flatten"),
    pytest.param(
        "input: [3, 32, 32]\nlayers:\n  - {type: conv2d, in_channels: 1, out_channels: 8, kernel_size: 3}\n",
        "3:20: error: conv2d 'conv2d-1': in_channels is 1 but the incoming channel count is 3",
        id="mismatched-in-channels"),
    pytest.param(
        "input: [3, 4, 4]\nlayers:\n  - {name: stem, type: conv2d, out_channels: 8, kernel_size: 5}\n",
        "3:49: error: conv2d 'stem': kernel spans 5 along H (dilation included) but the padded input is only 4"
        " (input 4)",
        id="kernel-bigger-than-input"),
    pytest.param(
        "input: [3, 32, 32]\nlayers:\n  - {name: dw, type: conv2d, out_channels: 8, kernel_size: 3, groups: 2}\n",
        "3:63: error: conv2d 'dw': in_channels (3) is not divisible by groups (2)",
        id="groups-not-dividing-channels"),
    pytest.param(
        "input: [3, 32, 32]\nlayers: []\n",
        "2:1: error: 'layers' is empty: a spec needs at least one layer",
        id="empty-layers"),
    pytest.param(
        "name: x\nlayers:\n  - {type: relu}\n",
        "1:1: error: missing required key 'input'",
        id="missing-input"),
    pytest.param(
        "input: [3, 0, 32]\nlayers:\n  - {type: relu}\n",
        "1:12: error: input[1]: must be at least 1, got 0",
        id="zero-input-size"),
    pytest.param(
        "",
        "1:1: error: a spec must be a mapping with 'input' and 'layers' keys, got null",
        id="empty-file"),
    pytest.param(
        "- a list\n- not a spec\n",
        "1:1: error: a spec must be a mapping with 'input' and 'layers' keys, got a list",
        id="list-instead-of-mapping"),
    pytest.param(
        "input: [8]\nlayers:\n  - {name: a, type: relu}\n  - {name: a, type: relu}\n",
        "4:6: error: relu 'a': name 'a' is already an earlier layer's name",
        id="duplicate-name"),
    pytest.param(
        "input: [784]\nlayers:\n  - {type: conv2d, out_channels: 8, kernel_size: 3}\n",
        "3:5: error: conv2d 'conv2d-1': conv2d expects a [C, H, W] input per sample, got shape [784] (1 axis)",
        id="wrong-rank"),
    pytest.param(
        "input: [3, 32, 32]\nlayers:\n  - {type: conv2d, out_channels: 8, kernel_size: 3, stride: 2, padding: same}\n",
        "3:64: error: conv2d 'conv2d-1': padding 'same' needs stride 1 (PyTorch: not supported for strided"
        " convolutions)",
        id="same-padding-with-stride"),
    pytest.param(
        "input: [3, 32, 32]\nlayers:\n  - {type: maxpool2d, kernel_size: 2, padding: 2}\n",
        "3:39: error: maxpool2d 'maxpool2d-1': padding 2 is more than half the kernel size 2 along H (PyTorch"
        " requires padding ≤ kernel_size / 2)",
        id="pool-padding-over-half-kernel"),
    pytest.param(
        "input: [3, 32, 32]\nlayers:\n  - {type: conv2d, out_channels: 8, kernel: [3, 3, 3]}\n",
        "3:37: error: conv2d 'conv2d-1': kernel_size has 3 values but conv2d has 2 spatial axes",
        id="per-axis-list-too-long-via-alias"),
    pytest.param(
        "input: [3, 32, 32]\nlayers:\n  - {type: flatten, start_dim: 0}\n",
        "3:21: error: flatten 'flatten-1': start_dim 0 would merge the batch axis into the features; per-sample"
        " counts need it kept (use start_dim 1)",
        id="flatten-batch-axis"),
    pytest.param(
        "input: [16]\nlayers:\n  - {name: fc, type: linear, out_features: 4, call: function}\n",
        "3:47: error: linear 'fc': call 'function' of a linear is not modelled: a type that holds parameters is"
        " called as an nn.Module (call: module, the default)",
        id="function-call-of-a-layer-with-parameters"),
    pytest.param(
        "input: [8]\nlayers:\n  - {type: dropout, p: 1.5}\n",
        "3:21: error: dropout 'dropout-1': p: dropout probability has to be between 0 and 1, got 1.5",
        id="dropout-probability"),
    pytest.param(
        "input: [8]\nlayers:\n  - {name: ab, type: relu}\n  - {type: relu, inputs: [abc]}\n",
        "4:18: error: relu 'relu-2': unknown input 'abc' (did you mean 'ab'?)",
        id="unknown-input-reference"),
    pytest.param(
        "input: [3, 100000, 100000]\nlayers:\n  - {type: conv2d, out_channels: 1000000000, kernel_size: 1}\n",
        "3:5: error: conv2d 'conv2d-1': output shape [1000000000, 100000, 100000] has more elements than int64 can"
        " count",
        id="output-beyond-int64"),
    pytest.param(
        "input: [10, 16]\nlayers:\n  - {type: layernorm, normalized_shape: [8]}\n",
        "3:23: error: layernorm 'layernorm-1': normalized_shape [8] does not match the trailing axes of the"
        " incoming shape [10, 16]",
        id="layernorm-shape"),
]


@pytest.mark.parametrize("text, expected", ROWS)
def test_bad_spec_gives_one_located_error(text, expected, write_spec, capsys):
    spec = write_spec(text)
    assert main(["summary", str(spec)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [f"{spec}:{expected}"]


def test_every_problem_of_a_file_is_reported(write_spec, capsys):
    spec = write_spec("input: [1, 28, 28]\nlayers:\n"
                      "  - {type: conv2d, out_channels: -1, kernel_size: 5}\n"
                      "  - {type: rleu}\n"
                      "  - {type: linear, out_features: 10, bias: 1}\n")
    assert main(["summary", str(spec)]) == 1
    assert [line.split(": error: ")[0] for line in capsys.readouterr().err.splitlines()] == \
           [f"{spec}:3:20", f"{spec}:4:5", f"{spec}:5:38"]


def test_shape_errors_in_independent_layers_are_all_reported(write_spec, capsys):
    spec = write_spec("input: [3, 8, 8]\nlayers:\n"
                      "  - {name: a, type: conv2d, out_channels: 4, kernel_size: 9}\n"
                      "  - {name: b, type: conv2d, out_channels: 4, kernel_size: 3, inputs: [input]}\n"
                      "  - {name: c, type: linear, in_features: 5, out_features: 2, inputs: [b]}\n")
    assert main(["summary", str(spec)]) == 1
    assert [line.split(": error: ")[1].split(":")[0] for line in capsys.readouterr().err.splitlines()] == \
           ["conv2d 'a'", "linear 'c'"]


@pytest.mark.parametrize("content, expected", [
    (b"input: [8]\x00", "1:1: error: binary file (contains NUL bytes), not a YAML spec"),
    (b"input: [8]\nlayers:\n  - {type: relu, name: \"\xff\"}\n", "3:25: error: file is not valid UTF-8"),
], ids=["binary", "not-utf8"])
def test_unreadable_content(content, expected, tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(content)
    assert main(["summary", str(spec)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"{spec}:{expected}"]


def test_missing_file(tmp_path, capsys):
    spec = tmp_path / "nowhere.yaml"
    assert main(["summary", str(spec)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"{spec}:1:1: error: no such file"]


@pytest.mark.parametrize("text, expected", [
    ("input: [1, 2, 8, 8]\nlayers:\n  - {type: avgpool3d, kernel_size: 3, padding: 1}\n",
     "3:23: error: avgpool3d 'avgpool3d-1': input size 2 along D is smaller than kernel size 3 (PyTorch's avgpool3d"
     " checks the unpadded input)"),
    ("input: [2, 3]\nlayers:\n  - {type: conv1d, out_channels: 3, kernel_size: 3, padding: 3, padding_mode: reflect}\n",
     "3:53: error: conv1d 'conv1d-1': padding_mode reflect needs padding smaller than the input along L, got padding 3"
     " for size 3"),
    ("input: [4, 10]\nlayers:\n  - {type: adaptiveavgpool1d, output_size: [null]}\n",
     "3:31: error: adaptiveavgpool1d 'adaptiveavgpool1d-1': output_size of a 1d adaptive pooling must be an integer"
     " (PyTorch takes no null there)"),
    ("input: [4, 8, 8]\nlayers:\n  - {type: dropout1d}\n",
     "3:5: error: dropout1d 'dropout1d-1': dropout1d expects a [C, L] input per sample, got shape [4, 8, 8] (3 axes)"),
], ids=["avgpool3d-unpadded", "reflect-padding", "adaptive1d-null", "dropout1d-rank"])
def test_inputs_pytorch_refuses(text, expected, write_spec, capsys):
    """Found by running thousands of random layers through PyTorch (tests/test_torch_crosscheck.py's builder)."""
    spec = write_spec(text)
    assert main(["summary", str(spec)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"{spec}:{expected}"]


def test_ceil_mode_window_may_be_larger_than_the_input():
    import archcalc

    summary = archcalc.analyze({"input": [1, 2, 2], "layers": [{"type": "maxpool2d", "kernel_size": 3, "stride": 2,
                                                                 "ceil_mode": True}]})
    assert summary.layers[0].output_shape == (1, 1, 1)  # torch.nn.MaxPool2d(3, 2, ceil_mode=True) on 1x1x2x2
