"""Teaching warnings: legal specs that are often a mistake, each located and with its numbers."""

import pytest

from archcalc.cli import main

ROWS = [
    pytest.param("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3, stride: 2}\n",
                 ["3:53: warning: conv2d 'conv2d-1': stride 2 does not tile the input along H and W: (I + 2·P −"
                  " D·(K − 1) − 1) mod S = (8 + 2·0 − 1·(3 − 1) − 1) mod 2 = 1, so the last 1 row and column of the"
                  " input is never seen [stride-tiling]"], id="stride-does-not-tile"),
    pytest.param("input: [3, 7, 7]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3, stride: 2}\n",
                 [], id="stride-tiles"),
    pytest.param("input: [3, 224, 224]\nlayers:\n"
                 "  - {type: conv2d, out_channels: 4, kernel_size: 7, stride: 2, padding: 3}\n",
                 [], id="floor-drops-only-padding"),
    pytest.param("input: [64, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 1, stride: 2}\n",
                 ["3:53: warning: conv2d 'conv2d-1': 4 of the 8 input rows and columns along H and W are never seen:"
                  " the kernel spans 1, less than the stride 2 (3 fall between windows; the floor also drops the"
                  " last 1) [skipped-input]"],
                 id="kernel-narrower-than-stride"),
    pytest.param("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 1, padding: 1}\n",
                 ["3:53: warning: conv2d 'conv2d-1': the first kernel window along H and W sees only padding"
                  " (padding 1 is more than dilation·(kernel − 1) = 0) [padding-only-window]",
                  "3:53: warning: conv2d 'conv2d-1': the last kernel window along H and W starts at 8, past the"
                  " input's last index 7: it sees only padding [padding-only-window]"], id="padding-only-windows"),
    pytest.param("input: [16, 5, 5]\nlayers:\n  - {type: linear, out_features: 10}\n",
                 ["3:5: warning: linear 'linear-1': applied to the last axis of a [16, 5, 5] tensor, separately for"
                  " each of the 80 positions of the other axes: a flatten before it is often what was meant"
                  " [linear-not-flattened]"], id="linear-not-flattened"),
]


@pytest.mark.parametrize("text, expected", ROWS)
def test_summary_prints_warnings_and_still_succeeds(text, expected, write_spec, capsys):
    spec = write_spec(text)
    assert main(["summary", str(spec)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [f"{line.removeprefix(f'{spec}:')} [{code}]" for line, code in zip(lines, codes(spec))] == expected


def codes(spec):
    import archcalc

    return [warning.code for warning in archcalc.load(spec).warnings]


def test_explain_shows_warnings_under_their_layer(write_spec, capsys):
    spec = write_spec("input: [16, 5, 5]\nlayers:\n  - {type: linear, out_features: 10}\n")
    assert main(["explain", str(spec)]) == 0
    assert "  warning: applied to the last axis of a [16, 5, 5] tensor" in capsys.readouterr().out
