"""Property-based adversarial specs (hypothesis): random expressions and variable graphs, nested blocks with
repeats and conditions, huge and odd numbers, odd YAML (tags, merges, anchors, 1.1-style scalars) and hostile
file names. Each generated spec goes through commands and formats in this process and must keep the promises
of promises.check_output within the time limit; a sample runs in child processes that measure CPU time and
peak memory. An input that ever fails here belongs in tests/hostile/corpus/ with a row in test_corpus.CASES.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.cli import main
from promises import check_output

HERE = Path(__file__).parent
FAST = settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
WALL_SECONDS = 5

# ------------------------------------------------------------------------------------------- generators

NAMES = ["x", "y", "width", "n", "i", "input", "ｘ", "ﬁ", "true", "_", "widht"]
odd_ints = st.one_of(st.integers(-3, 70), st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, 10**18, 2**255,
                                                          2**256, 10**80, 100000000000000001]),
                     st.integers(-2**300, 2**300))
odd_floats = st.one_of(st.sampled_from([0.5, 1.0, 0.1, 1e-5, 1e308, -0.0, 1.5]), st.floats(allow_nan=True))


def expression_source():
    leaves = st.one_of(odd_ints.map(str), odd_floats.map(repr), st.sampled_from(NAMES),
                       st.sampled_from(["'ab'", "'x' * 3", "true", "null", "1e400", "-2**255"]))

    def extend(inner):
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", "==", "and", "or"]),
                           inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        unary = st.tuples(st.sampled_from(["-", "not ", "+", "-" * 120]), inner).map(lambda t: f"{t[0]}{t[1]}")
        call = st.tuples(st.sampled_from(["round", "min", "max", "make_divisible", "int", "str", "floor", "ceil",
                                          "abs", "open", "__import__"]),
                         st.lists(inner, min_size=0, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})")
        conditional = st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})")
        attribute = inner.map(lambda s: f"({s}).__class__")
        return st.one_of(binary, unary, call, conditional, attribute)
    return st.recursive(leaves, extend, max_leaves=12)


expressions = expression_source().map(lambda text: "${" + text + "}")
values = st.one_of(odd_ints, odd_floats, expressions, st.sampled_from(["same", "valid", "x${i}y${i}", "", None,
                                                                      True, [3, 4], {"a": 1}]))


@st.composite
def variable_graphs(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=6, unique=True))
    return {name: draw(values) for name in names}


LAYER_TYPES = ["relu", "conv1d", "conv2d", "linear", "maxpool2d", "adaptiveavgpool2d", "flatten", "concat", "add",
               "batchnorm2d", "identity", "rleu"]


@st.composite
def layers(draw, depth, blocks):
    entries = []
    for index in range(draw(st.integers(1, 4))):
        if blocks and draw(st.booleans()):
            entry = {"block": draw(st.sampled_from(blocks + ["nope"])),
                     "repeat": draw(st.one_of(st.integers(0, 40), expressions, st.sampled_from(["${n}", 10**9])))}
            if draw(st.booleans()):
                entry["with"] = {"n": draw(st.one_of(st.integers(0, 60), expressions))}
        else:
            kind = draw(st.sampled_from(LAYER_TYPES))
            entry = {"type": kind}
            for key in draw(st.lists(st.sampled_from(["out_channels", "kernel_size", "stride", "padding",
                                                      "dilation", "out_features", "output_size", "groups"]),
                                     max_size=3, unique=True)):
                entry[key] = draw(st.one_of(st.integers(1, 5), values))
            if kind in ("concat", "add"):
                entry["inputs"] = draw(st.lists(st.sampled_from(["input", "a", "b", "layer-1"]), max_size=3))
        if draw(st.booleans()):
            entry["name"] = draw(st.sampled_from(["a", "b", "a\nb", "=x|y", "\x1b[31m", "${x}", "l${i}"]))
        if draw(st.integers(0, 3)) == 0:
            entry["if"] = draw(st.one_of(st.booleans(), expressions, st.just("${n > 2}")))
        entries.append(entry)
    return entries


@st.composite
def documents(draw):
    count = draw(st.integers(0, 4))
    names = [f"b{i}" for i in range(count)]
    blocks = {}
    for position, name in enumerate(names):
        blocks[name] = {"params": {"n": draw(st.one_of(st.integers(1, 50), st.none()))},
                        "layers": draw(layers(1, names[position + 1:] if draw(st.booleans()) else names))}
        if draw(st.integers(0, 4)) == 0:
            blocks[name]["output"] = draw(st.one_of(st.just("a"), st.just(["a"]), st.just({"a": 1})))
    document = {"input": draw(st.one_of(st.just([3, 16, 16]), st.just([4, 32]), st.lists(odd_ints, max_size=4)))}
    variables = draw(variable_graphs())
    if variables:
        document["variables"] = variables
    if blocks:
        document["blocks"] = blocks
    document["layers"] = draw(layers(0, names))
    return document


YAML_ODDITIES = [
    "input: !!set {3: null, 1: null}\nlayers: [{type: relu}]\n",
    "input: [3]\nlayers: [{type: linear, out_features: 010}]\n",
    "input: [3]\nlayers: [{type: linear, out_features: 1:30}]\n",
    "input: [3]\nlayers: [{type: linear, out_features: 0x10, bias: yes}]\n",
    "input: [3]\nlayers: [{type: linear, out_features: !!int '1_000'}]\n",
    "input: [3]\nlayers: [{type: linear, out_features: !!float 4}]\n",
    "input: [3]\nlayers: [{type: relu, name: !!binary aGVsbG8=}]\n",
    "input: [3]\nlayers: [{type: relu, name: 2001-12-14}]\n",
    "input: [3]\nlayers: [{type: relu, name: !foo bar}]\n",
    "input: [3, 8, 8]\nlayers:\n  - &b {type: conv2d, out_channels: 4, kernel_size: 3}\n  - {<<: *b, kernel_size: 1, name: c}\n",
    "input: [3, 8, 8]\nlayers:\n  - &b {type: conv2d, out_channels: 4, kernel_size: 3}\n  - {<<: [*b, *b], name: c, name: d}\n",
    "input: [3]\nlayers:\n  - &a {type: relu, <<: *a}\n",
    "input: [3]\nlayers:\n  - {<<: 5, type: relu}\n",
    "input: &i [3]\nlayers: [{type: relu, inputs: *i}]\n",
    "input: [3]\nlayers: [{type: linear, out_features: .inf}, {type: linear, out_features: .nan}]\n",
    "input: [3]\nlayers: [{type: relu, inputs: []}]\n",
]


@st.composite
def odd_yaml(draw):
    text = draw(st.sampled_from(YAML_ODDITIES))
    cut = draw(st.integers(0, len(text)))
    return draw(st.sampled_from([text, text[:cut], text.replace("3", draw(odd_ints.map(str)))]))


COMMANDS = [["summary"], ["summary", "--format", "json"], ["summary", "--format", "csv"],
            ["summary", "--format", "markdown"], ["summary", "--receptive-field"], ["explain"],
            ["explain", "--format", "json"], ["memory", "--format", "json"], ["memory"], ["compare"],
            ["check"], ["check", "--format", "json"], ["check", "--format", "junit"], ["check", "--format", "github"]]


def run_in_process(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code
    elapsed = time.perf_counter() - start
    check_output(argv, code, out.getvalue(), err.getvalue())
    assert elapsed < WALL_SECONDS, f"{argv}: {elapsed:.1f} s"


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


def as_yaml(document: dict) -> str:
    import yaml

    return yaml.safe_dump(document, allow_unicode=True, default_flow_style=None, width=10**6)


# ------------------------------------------------------------------------------------------- properties

@settings(FAST, max_examples=1400)
@given(document=documents(), command=st.sampled_from(COMMANDS))
def test_generated_specs_keep_the_promises(document, command, tmp_path_factory):
    spec = write(tmp_path_factory.mktemp("spec"), as_yaml(document))
    run_in_process([command[0], str(spec), *command[1:]])


@settings(FAST, max_examples=1000)
@given(expression=expressions, variables=variable_graphs())
def test_random_expressions_are_exact_or_refused(expression, variables):
    import archcalc

    text = as_yaml({"input": [3], "variables": variables, "layers": [{"type": "linear", "out_features": expression}]})
    start = time.perf_counter()
    try:
        network = archcalc.loads(text)
    except archcalc.SpecError as error:
        assert all(problem.line >= 1 for problem in error.problems)
    else:
        assert isinstance(network.layers[0].spec.out_features, int)
    assert time.perf_counter() - start < WALL_SECONDS


@settings(FAST, max_examples=400)
@given(text=odd_yaml(), command=st.sampled_from(COMMANDS))
def test_odd_yaml_keeps_the_promises(text, command, tmp_path_factory):
    spec = write(tmp_path_factory.mktemp("yaml"), text)
    run_in_process([command[0], str(spec), *command[1:]])


HOSTILE_NAMES = ["a\nb.yaml", "x.yaml:1:1: error: forged.yaml", "\x1b[2J\x07.yaml", "caf\udce9.yaml", "\u202eevil.yaml",
                 "\t.yaml", "a,b:c%0A.yaml", "<x>&'\".yaml"]


@settings(FAST, max_examples=300)
@given(name=st.one_of(st.sampled_from(HOSTILE_NAMES),
                      st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\0"), min_size=1,
                              max_size=12).map(lambda s: s + ".yaml")),
       valid=st.booleans(), form=st.sampled_from(["text", "json", "junit", "github"]))
def test_hostile_file_names_cannot_forge_or_break_reports(name, valid, form, tmp_path_factory):
    folder = tmp_path_factory.mktemp("names")
    try:
        path = folder / name
        with open(os.fsencode(str(path)), "wb") as handle:
            handle.write(b"input: [3]\nlayers: [{type: relu}]\n" if valid else b"input: [3]\nlayers: [{type: rleu}]\n")
    except (OSError, ValueError, UnicodeEncodeError):
        return
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(folder), "--format", form])
    check_output(["check", str(folder), "--format", form], code, out.getvalue(), err.getvalue())
    assert code == (0 if valid else 1)
    if form == "text":
        assert len(err.getvalue().splitlines()) == (0 if valid else 1)  # one problem, one line: nothing forged


@settings(FAST, max_examples=12)
@given(document=documents())
def test_cpu_and_memory_stay_within_the_limits_in_a_child_process(document, tmp_path_factory):
    spec = write(tmp_path_factory.mktemp("child"), as_yaml(document))
    run = subprocess.run([sys.executable, str(HERE / "child.py"), str(spec)], capture_output=True, text=True,
                         timeout=120)
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    for result in lines[:-1]:
        assert result["traceback"] is None, result["traceback"]
        assert result["cpu"] < 5, (result["argv"], result["cpu"])
    assert lines[-1]["peak_kb"] * 1024 < 500 * 2**20
