"""Each limit is named in its error and raised by its flag on every command; a folder check cannot read is an
error; special files are refused unread; the Python API refuses what it cannot read without a traceback."""

from __future__ import annotations

import os

import pytest

import archcalc
from archcalc.cli import main
from archcalc.spec.limits import FLAGS

# flag, spec text that breaks the default, a value of the flag that lets it pass
LIMITS = [
    ("--max-layers", "input: [3]\nlayers:\n" + "  - {type: relu}\n" * 20_001, "20001"),
    ("--max-layers", "input: [3]\nblocks: {u: [{type: relu, if: false}]}\nlayers:\n  - {block: u, repeat: 30000}\n"
                     "  - {type: relu}\n", "60002"),
    ("--max-values", "input: [3]\nlayers:\n  - {type: relu, name: '" + "a" * 10 + "'}\n" + "# x\n" * 10,
     "300000"),
    ("--max-depth", "input: [3]\nlayers: [{type: linear, out_features: '${" + "-" * 150 + "4}'}]\n", "200"),
    ("--max-axes", "input: [" + ", ".join(["1"] * 70) + "]\nlayers: [{type: relu}]\n", "70"),
    ("--max-expression-length", "input: [3]\nlayers: [{type: relu, name: \"${'" + "a" * 1200 + "'}\"}]\n", "2000"),
    ("--max-string-length", "input: [3]\nvariables: {s: '" + "a" * 6000 + "'}\nlayers: [{type: relu, name: '${s + s}'}]\n",
     "20000"),
    ("--max-number-bits", "input: [3]\nlayers: [{type: relu, if: '${2 ** 300 > 1}'}]\n", "400"),
    ("--max-bytes", "input: [3]\nlayers: [{type: relu}]\n" + "#" * 9_000_000 + "\n", "10MiB"),
]


@pytest.mark.parametrize("flag, text, enough", LIMITS, ids=[case[0] for case in LIMITS])
@pytest.mark.parametrize("command", ["summary", "check", "explain", "memory", "compare"])
def test_each_limit_is_named_in_its_error_and_raised_by_its_flag(flag, text, enough, command, tmp_path, capsys):
    if flag == "--max-values":  # the default is far above this small file: lower the limit to reach it
        text, enough, lowered = text, "300000", ["--max-values", "5"]
    else:
        lowered = []
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    assert main([command, str(spec), *lowered]) == 1
    assert flag in capsys.readouterr().err
    assert main([command, str(spec), flag, enough]) == 0, capsys.readouterr().err


def test_every_limit_has_a_flag_on_every_command():
    from archcalc.cli import build_parser

    parser = build_parser()
    for command in ("summary", "check", "explain", "memory", "compare"):
        for option, _ in FLAGS.values():
            assert parser.parse_args([command, "x.yaml", option, "5"]) is not None


def test_an_unreadable_folder_is_an_error(tmp_path, monkeypatch, capsys):
    import archcalc.check

    def walk(top, onerror=None, **_):
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "secret")))
        yield str(top), [], []

    (tmp_path / "secret").mkdir()
    monkeypatch.setattr(archcalc.check.os, "walk", walk)
    assert main(["check", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "1 file checked, 1 with errors, 1 error, 0 warnings\n"
    assert captured.err == f"{tmp_path / 'secret'}:1:1: error: cannot read folder: Permission denied [file]\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_are_refused_unread_given_or_found(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.yaml")
    assert main(["check", str(tmp_path)]) == 1
    assert "is a FIFO (named pipe), not a regular file: refused unread" in capsys.readouterr().err
    assert main(["summary", str(tmp_path / "pipe.yaml")]) == 1


@pytest.mark.parametrize("size", ["100GB", "9223372036854775807"])
def test_huge_max_bytes_reads_only_the_file(size, capsys):
    assert main(["check", "specs/lenet5.yaml", "--max-bytes", size]) == 0


@pytest.mark.parametrize("call", [lambda: archcalc.load(5), lambda: archcalc.loads("input: [3]\nname: \ud800\n"),
                                  lambda: archcalc.loads(b"input: [3]"), lambda: archcalc.analyze(3.5)])
def test_the_api_refuses_what_it_cannot_read_with_a_spec_error(call):
    with pytest.raises(archcalc.SpecError):
        call()


def test_a_dict_that_contains_itself_is_refused():
    spec = {"input": [3]}
    spec["layers"] = [spec]
    with pytest.raises(archcalc.SpecError, match="contains itself"):
        archcalc.analyze(spec)


@pytest.mark.parametrize("command", [["summary"], ["summary", "--format", "markdown"], ["memory"], ["compare"],
                                     ["summary", "--convention", "torchinfo"], ["summary", "--convention", "torchsummary"],
                                     ["summary", "--convention", "thop-readme"]])
def test_enormous_batch_sizes_print_exact_figures(command, capsys):
    assert main([command[0], "specs/lenet5.yaml", *command[1:], "--batch-size", str(10**400)]) == 0
    assert "Traceback" not in capsys.readouterr().err
