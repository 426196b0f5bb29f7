"""`archcalc check` for CI: every output format on a fixture folder, exit codes, options, hostile input.

tests/specs/check/ holds valid specs, one with a warning, one with several errors and one that breaks its
budgets; drafts/ holds a broken file that --exclude skips. The expected outputs are golden files in
tests/golden/check/; ARCHCALC_REGENERATE=1 rewrites them (then read the diff).
"""

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import pytest

from archcalc.cli import main
from conftest import GOLDEN, REPO, TESTS

FIXTURES = TESTS / "specs"
EXPECTED = GOLDEN / "check"


def run(capsys, monkeypatch, *argv):
    monkeypatch.chdir(FIXTURES)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("form", ["text", "github", "json", "junit"])
def test_every_format_matches_its_golden_file(form, capsys, monkeypatch):
    code, out, err = run(capsys, monkeypatch, "check", "--exclude", "drafts/*", "--format", form)
    assert code == 1
    for stream, text in (("out", out), ("err", err)):
        golden = EXPECTED / f"{form}.{stream}"
        if os.environ.get("ARCHCALC_REGENERATE"):
            golden.write_text(text, encoding="utf-8")
        assert text == golden.read_text(encoding="utf-8"), f"{golden} differs"


def test_junit_is_well_formed_xml(capsys, monkeypatch):
    _, out, _ = run(capsys, monkeypatch, "check", "--exclude", "drafts/*", "--format", "junit")
    suite = ElementTree.fromstring(out).find("testsuite")
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == [
        "check/invalid/budget.yaml", "check/invalid/several.yaml", "check/valid/lenet5.yaml", "check/valid/warned.yaml"]
    assert [case.find("failure") is not None for case in cases] == [True, True, False, False]
    assert suite.get("failures") == "2"


def test_valid_folder_exits_0_and_strict_turns_warnings_into_errors(capsys, monkeypatch):
    assert run(capsys, monkeypatch, "check/valid") == (
        0, "2 files checked, 0 with errors, 0 errors, 1 warning\n",
        "check/valid/warned.yaml:4:5: warning: linear 'head': applied to the last axis of a [16, 5, 5] tensor,"
        " separately for each of the 80 positions of the other axes: a flatten before it is often what was meant"
        " [linear-not-flattened]\n")
    code, out, err = run(capsys, monkeypatch, "check/valid", "--strict")
    assert (code, out) == (1, "2 files checked, 1 with errors, 1 error, 0 warnings\n")
    assert ": error: linear 'head'" in err


def test_exclude_and_explicit_files(capsys, monkeypatch):
    code, out, err = run(capsys, monkeypatch, "check/drafts")
    assert (code, out) == (1, "1 file checked, 1 with errors, 1 error, 0 warnings\n")
    assert err.startswith("check/drafts/unfinished.yaml:3:1: error: invalid YAML")
    assert run(capsys, monkeypatch, "check", "--exclude", "*.yaml")[1] == \
        "0 files checked, 0 with errors, 0 errors, 0 warnings\n"
    assert run(capsys, monkeypatch, "check/valid/lenet5.yaml", "receptive/vgg_16.yaml")[:2] == \
        (0, "2 files checked, 0 with errors, 0 errors, 0 warnings\n")


def test_github_format_is_chosen_inside_github_actions(capsys, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["check", "check/valid"]) == 0
    assert capsys.readouterr().out.startswith("::warning file=check/valid/warned.yaml,line=4,col=5,")


def test_max_bytes_refuses_large_files_unread(capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, "check/valid/lenet5.yaml", "--max-bytes", "0.5KB")
    assert code == 1
    assert err == "check/valid/lenet5.yaml:1:1: error: file is larger than the 500-byte limit (--max-bytes) [file]\n"


@pytest.mark.parametrize("argv", [["check"], ["check", "x.yaml", "--format", "sarif"],
                                  ["check", "x.yaml", "--max-bytes", "lots"], ["check", "x.yaml", "--max-bytes", "0"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2


HOSTILE = {
    "empty.yaml": b"",
    "binary.yaml": bytes(range(256)) * 4,
    "latin1.yaml": "input: [3]\nname: caf\xe9\n".encode("latin-1"),
    "list.yaml": b"- input: [3]\n- layers: []\n",
    "deep-flow.yaml": b"input: " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
    "deep-block.yaml": b"input: [3]\nlayers:\n  - " + b"- " * 5_000 + b"x\n",
    "alias-bomb.yaml": b"\n".join([b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] + [
        b"%c: &%c [%s]" % (98 + i, 98 + i, b",".join([b"*%c" % (97 + i)] * 9)) for i in range(9)]
        + [b"input: [3]", b"layers: [{type: relu, name: *j}]"]),
    "huge-kernel.yaml": b"input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 1000000000000000000000000000000}\n",
    "huge-channels.yaml": b"input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 99999999999999999999, kernel_size: 1}\n",
    "repeat-bomb.yaml": b"input: [3]\nblocks:\n  unit: [{type: relu}]\nlayers:\n  - {block: unit, repeat: 10000000}\n",
    "nested-repeat.yaml": b"input: [3]\nblocks:\n  a: [{type: relu}]\n  b: [{block: a, repeat: 1000}]\n"
                          b"  c: [{block: b, repeat: 1000}]\nlayers:\n  - {block: c, repeat: 1000}\n",
    "too-large.yaml": b"input: [3]\nlayers:\n" + b"  - {type: relu}\n" * 600_000,
}


# Runs `archcalc check` and then reports the process's own peak memory. VmHWM is the high-water mark of
# the memory map exec() gave it; ru_maxrss would also count what a big parent (pytest with torch
# loaded) had when it forked.
PEAK_REPORTING_RUN = (
    "import sys\n"
    "from archcalc.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "peak = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
    "print('peak-kB', peak.split()[1])\n"
    "sys.exit(code)\n"
)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_gets_a_located_error_quickly(name, tmp_path):
    """Each runs as its own process: clear located error, exit 1, no traceback, < 5 s and < 500 MB."""
    spec = tmp_path / name
    spec.write_bytes(HOSTILE[name])
    before = sorted(tmp_path.iterdir())
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", PEAK_REPORTING_RUN, "check", str(spec)], capture_output=True,
                         text=True, cwd=tmp_path)
    elapsed = time.perf_counter() - start
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith(f"{spec}:") and ": error: " in run.stderr.splitlines()[0], run.stderr
    assert elapsed < 5, f"{elapsed:.1f} s"
    peak_kb = int(run.stdout.split("peak-kB")[1])
    assert peak_kb * 1024 < 500 * 2**20, f"{peak_kb / 1024:.0f} MB"
    assert sorted(tmp_path.iterdir()) == before  # check writes nothing


def test_pre_commit_hook_entry_checks_the_files_it_is_given(tmp_path):
    """.pre-commit-hooks.yaml: pre-commit runs `entry` with the staged files as arguments."""
    import yaml

    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "archcalc-check" and hook["language"] == "python"
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text((REPO / "specs" / "lenet5.yaml").read_text())
    bad.write_text("input: [8]\nlayers:\n  - {type: rleu}\n")
    entry = hook["entry"].split()
    command = [sys.executable, "-m", "archcalc", *entry[1:]] if entry[0] == "archcalc" else entry
    run = subprocess.run([*command, *hook.get("args", []), str(good), str(bad)], capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr == f"{bad}:3:5: error: layer 1: unknown layer type 'rleu' (did you mean 'relu'?) [unknown-type]\n"
    assert run.stdout == "2 files checked, 1 with errors, 1 error, 0 warnings\n"
