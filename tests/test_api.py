"""The Python API returns the same numbers as the command line, as objects."""

import pytest

import archcalc
from conftest import GOLDEN


def test_load_then_summary():
    network = archcalc.load(GOLDEN / "lenet32.yaml")
    assert network.name == "lenet5"
    assert network.output_shape == (10,)
    assert network.layer("fc1").params == 48120
    summary = network.summary(batch_size=4, dtype="bfloat16")
    assert summary.totals.params == 61706
    assert summary.memory.params_bytes == 61706 * 2
    assert summary.to_dict()["totals"]["macs"] == 416520


def test_analyze_accepts_a_dict_yaml_text_or_a_path():
    spec = {"input": [16], "layers": [{"type": "linear", "out_features": 4}, {"type": "Linear", "out_features": 2},
                                      {"type": "LINEAR", "out_features": 1}]}
    from_dict = archcalc.analyze(spec)
    from_text = archcalc.analyze("input: [16]\nlayers:\n  - {type: linear, out_features: 4}\n"
                                 "  - {type: linear, out_features: 2}\n  - {type: linear, out_features: 1}\n")
    from_path = archcalc.analyze(GOLDEN / "mlp_16_4_2_1.yaml")
    assert from_dict.totals.params == from_text.totals.params == from_path.totals.params == 81
    assert [layer.type for layer in from_dict.layers] == ["linear"] * 3


def test_bad_spec_raises_spec_error_with_problems():
    with pytest.raises(archcalc.SpecError) as raised:
        archcalc.analyze({"input": [8], "layers": [{"type": "linear", "out_features": 0}]})
    (problem,) = raised.value.problems
    assert (problem.message, problem.layer) == ("linear 'linear-1': out_features: must be at least 1, got 0", "linear-1")


def test_frozen_layer_counts_as_non_trainable():
    summary = archcalc.analyze({"input": [3, 8, 8], "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel": 3, "trainable": False},
        {"type": "batchnorm2d"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 2},
    ]})
    assert summary.totals.params == 112 + 8 + (4 * 6 * 6 + 1) * 2
    assert summary.totals.non_trainable_params == 112
    assert summary.totals.buffers == 2 * 4 + 1


def test_counts_stay_exact_python_ints_at_billions():
    summary = archcalc.analyze({"input": [65536], "layers": [{"type": "linear", "out_features": 65536}] * 4})
    assert summary.totals.params == 4 * (65536 * 65536 + 65536) == 17_180_131_328
    assert type(summary.totals.macs) is int


def test_bad_batch_size_or_dtype_is_a_value_error():
    network = archcalc.load(GOLDEN / "lenet32.yaml")
    with pytest.raises(ValueError, match="batch size"):
        network.summary(batch_size=0)
    with pytest.raises(ValueError, match="unknown dtype"):
        network.summary(dtype="float8")
