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


# Silencing intended warnings, as linters do (issue #15, item 6): `ignore:` on a layer, on a block definition,
# on the spec, and `check --ignore CODE`; an unknown code is itself a warning.

DOWNSAMPLE = "{type: conv2d, out_channels: 4, kernel_size: 1, stride: 2%s}"


def warning_codes(text):
    import archcalc

    return [(warning.line, warning.code) for warning in archcalc.loads(text).warnings]


@pytest.mark.parametrize("text, expected", [
    pytest.param(f"input: [64, 8, 8]\nlayers:\n  - {DOWNSAMPLE % ''}\n", [(3, "skipped-input")], id="warned"),
    pytest.param(f"input: [64, 8, 8]\nlayers:\n  - {DOWNSAMPLE % ', ignore: [skipped-input]'}\n", [], id="layer"),
    pytest.param(f"input: [64, 8, 8]\nlayers:\n  - {DOWNSAMPLE % ', ignore: [stride-tiling]'}\n",
                 [(3, "skipped-input")], id="layer-other-code"),
    pytest.param(f"ignore: [skipped-input]\ninput: [64, 8, 8]\nlayers:\n  - {DOWNSAMPLE % ''}\n  - {DOWNSAMPLE % ''}\n",
                 [], id="spec"),
    pytest.param("input: [64, 16, 16]\nblocks:\n  down:\n    ignore: [skipped-input]\n    layers:\n"
                 f"      - {DOWNSAMPLE % ''}\nlayers:\n  - {{block: down, repeat: 2}}\n  - {DOWNSAMPLE % ''}\n",
                 [(9, "skipped-input")], id="block-definition"),
    pytest.param("input: [64, 32, 32]\nblocks:\n  inner:\n    ignore: [skipped-input]\n    layers:\n"
                 f"      - {DOWNSAMPLE % ''}\n  outer:\n    layers:\n      - {DOWNSAMPLE % ''}\n"
                 "      - {block: inner}\nlayers:\n  - {block: outer}\n",
                 [(9, "skipped-input")], id="nested-blocks-silence-their-own-layers"),
    pytest.param(f"input: [64, 8, 8]\nlayers:\n  - {DOWNSAMPLE % ', ignore: [skiped-input]'}\n",
                 [(3, "skipped-input"), (3, "unknown-ignore")], id="unknown-code-on-layer"),
    pytest.param("ignore: [nonsense]\ninput: [64, 8, 8]\nlayers:\n  - {type: relu}\n",
                 [(1, "unknown-ignore")], id="unknown-code-on-spec"),
    pytest.param("input: [64, 8, 8]\nblocks:\n  down:\n    ignore: [nonsense]\n    layers:\n"
                 "      - {type: relu}\nlayers:\n  - {block: down, repeat: 3}\n",
                 [(4, "unknown-ignore")], id="unknown-code-on-block-told-once"),
])
def test_ignore_silences_exactly_the_named_codes(text, expected):
    assert sorted(warning_codes(text)) == expected


def test_unknown_code_message_suggests_the_known_one():
    import archcalc

    (warning,) = archcalc.loads(f"input: [64, 8, 8]\nlayers:\n  - {DOWNSAMPLE % ', ignore: [skiped-input]'}\n"
                                ).warnings[1:]
    assert str(warning) == ("<string>:3:73: warning: conv2d 'conv2d-1': ignore: unknown warning code 'skiped-input'"
                            " (did you mean 'skipped-input'?)")


def test_check_ignore_option(write_spec, capsys):
    spec = write_spec(f"input: [64, 8, 8]\nlayers:\n  - {DOWNSAMPLE % ''}\n")
    assert main(["check", "--strict", str(spec)]) == 1
    capsys.readouterr()
    assert main(["check", "--strict", "--ignore", "skipped-input", str(spec)]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out
    assert main(["check", "--ignore", "skiped-input", str(spec)]) == 0
    err = capsys.readouterr().err
    assert "archcalc check: warning: --ignore skiped-input: unknown warning code" in err
    assert "[skipped-input]" in err


def test_zoo_passes_strict_check_and_a_resnet_without_its_ignores_warns_three_times(capsys):
    from conftest import REPO

    assert main(["check", "--strict", str(REPO / "specs")]) == 0
    capsys.readouterr()
    import archcalc

    text = (REPO / "specs" / "resnet18.yaml").read_text().replace("ignore: [skipped-input]", "")
    assert [w.layer for w in archcalc.loads(text).warnings] == [
        "layer2.0.downsample.0", "layer3.0.downsample.0", "layer4.0.downsample.0"]


@pytest.mark.parametrize("text, expected", ROWS)
def test_every_warning_code_is_listed(text, expected):
    """`ignore:` validates codes against WARNING_CODES: every code a layer warns with must be there."""
    import archcalc
    from archcalc.problems import WARNING_CODES

    assert {warning.code for warning in archcalc.loads(text).warnings} <= set(WARNING_CODES)
