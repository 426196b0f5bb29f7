"""Every input that ever broke one of issue #14's promises (tests/hostile/corpus/), run through every command
and format in a child process that reports its CPU time and peak memory (VmHWM).

CASES gives what `check` must say of each file: its exit code and the code of its first problem (None: valid).
A new hostile input is a new file and a new row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from promises import check_output

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
CPU_SECONDS, PEAK_BYTES = 5, 500 * 2**20

CASES = {
    # 1. tracebacks
    "var-typo.yaml": (1, "expression"),
    "var-forward.yaml": (1, "expression"),
    "var-div-zero.yaml": (1, "expression"),
    "make-divisible-zero.yaml": (1, "expression"),
    "block-output-list.yaml": (1, "block"),
    "block-output-map.yaml": (1, "block"),
    "unary-minus.yaml": (1, "expression"),
    "unary-not.yaml": (1, "expression"),
    "parens.yaml": (0, None),
    "nested-blocks-500.yaml": (1, "too-deep"),
    "concat-500.yaml": (0, None),
    "huge-strides.yaml": (0, "stride-tiling"),
    # 2. unbounded time and memory
    "repeat-param-nest.yaml": (1, "too-large"),
    "if-false-bomb.yaml": (1, "too-large"),
    "repeat-999999.yaml": (1, "too-large"),
    "round-huge.yaml": (1, "expression"),
    "pow-chain.yaml": (1, "expression"),
    "string-doubling.yaml": (1, "expression"),
    "string-doubling-parts.yaml": (1, "expression"),
    "unknown-inputs-1000.yaml": (1, "bad-reference"),
    "unknown-keys-3000.yaml": (1, "unknown-key"),
    "unknown-types-3000.yaml": (1, "unknown-type"),
    "conv1d-wide.yaml": (0, None),
    "adaptive-huge.yaml": (0, None),
    "input-many-axes.yaml": (1, "too-large"),  # 2 M axes took 13 s and 850 MB
    # 3. silently wrong readings
    "float-exact.yaml": (0, None),
    "nfkc-collision.yaml": (1, "invalid-name"),
    "set-input.yaml": (1, "yaml-tag"),
    "set-inputs.yaml": (1, "yaml-tag"),
    "yaml11-sexagesimal.yaml": (1, "invalid-value"),
    "yaml11-octal.yaml": (0, None),
    "inputs-empty.yaml": (1, "arity"),
    "inputs-empty-block.yaml": (1, "block"),
    # 4. merge keys
    "merge-override.yaml": (0, None),
    "merge-self.yaml": (1, "merge"),
    # 5. output injection
    "csv-formula.yaml": (0, None),
}


def run_child(spec: Path, *extra: str) -> tuple[list[dict], int]:
    run = subprocess.run([sys.executable, str(HERE / "child.py"), str(spec), *extra], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    return lines[:-1], lines[-1]["peak_kb"] * 1024


def test_every_corpus_file_has_a_row():
    assert sorted(path.name for path in CORPUS.glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file_keeps_every_promise_in_every_command_and_format(name):
    runs, peak = run_child(CORPUS / name)
    expected_code, expected_problem = CASES[name]
    for run in runs:
        assert run["traceback"] is None, f"{run['argv']}: {run['traceback']}"
        assert run["cpu"] < CPU_SECONDS, f"{run['argv']}: {run['cpu']:.1f} s CPU"
        check_output(run["argv"], run["code"], run["out"], run["err"])
        if run["argv"][0] == "check":
            assert run["code"] == expected_code, (run["argv"], run["err"][:500])
        elif expected_code == 1:
            assert run["code"] == 1, (run["argv"], run["err"][:500])
    assert peak < PEAK_BYTES, f"peak {peak / 2**20:.0f} MB"
    check = next(run for run in runs if run["argv"][0] == "check" and len(run["argv"]) == 2)
    codes = [line.rsplit("[", 1)[-1].rstrip("]") for line in check["err"].splitlines()]
    assert (codes[0] if codes else None) == expected_problem, check["err"][:500]


def test_exact_readings_and_merges():
    import archcalc

    assert archcalc.load(CORPUS / "float-exact.yaml").layers[0].spec.out_features == 100000000000000001
    assert archcalc.load(CORPUS / "yaml11-octal.yaml").layers[0].spec.out_features == 10
    network = archcalc.load(CORPUS / "merge-override.yaml")
    assert [(layer.name, layer.spec.kernel_size, layer.spec.padding) for layer in network.layers] == [
        ("c1", 3, 1), ("c2", 5, 2), ("c3", 3, 1)]
