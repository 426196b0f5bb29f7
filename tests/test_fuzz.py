"""Fuzzing: mutated specs (types, keys, values, structure, raw bytes) always end in exit 0 or 1 with located
messages — never a traceback."""

import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.cli import main
from conftest import GOLDEN, REPO

SEEDS = [yaml.safe_load(path.read_text()) for path in [
    REPO / "specs" / "lenet5.yaml", REPO / "specs" / "resnet18.yaml", GOLDEN / "cifar_vgg_bn.yaml",
    GOLDEN / "mlp_16_4_2_1.yaml", REPO / "tests" / "specs" / "receptive" / "vgg_16.yaml"]]
LINE = re.compile(r"^.+:\d+:\d+: (error|warning): .+$")

values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
              st.sampled_from(["conv2d", "Linear", "relu", "same", "valid", "${width * 2}", "${nope}", "${1/0}",
                               "${2 ** 999}", "input", "add", "concat", "block", "1e-5", "25.6M", "0x10", "[1, 2]"])),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8)
keys = st.sampled_from(["type", "name", "inputs", "kernel_size", "kernel", "stride", "padding", "dilation",
                        "groups", "out_channels", "in_channels", "out_features", "in_features", "bias", "trainable",
                        "ceil_mode", "output_size", "start_dim", "end_dim", "dim", "p", "block", "repeat", "with",
                        "first", "if", "input", "layers", "blocks", "variables", "expect", "max_params", "weird"])


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


@st.composite
def mutated(draw):
    document = yaml.safe_load(yaml.safe_dump(draw(st.sampled_from(SEEDS))))
    for _ in range(draw(st.integers(1, 4))):
        every = list(paths(document))
        target = draw(st.sampled_from(every))
        parent = document
        for part in target[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add-key", "duplicate"]))
        if not target:
            document = draw(values) if action == "replace" else document
            continue
        last = target[-1]
        if action == "replace":
            parent[last] = draw(values)
        elif action == "delete":
            del parent[last]
        elif action == "add-key" and isinstance(parent[last], dict):
            parent[last][draw(keys)] = draw(values)
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(last, parent[last])
    return document


def assert_clean_exit(spec, capsys):
    code = main(["check", str(spec)])
    err = capsys.readouterr().err
    assert code in (0, 1)
    assert all(LINE.match(line) for line in err.splitlines()), err
    assert (code == 1) == any(": error: " in line for line in err.splitlines())


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(document=mutated())
def test_mutated_documents(document, tmp_path, capsys):
    spec = tmp_path / "fuzz.yaml"
    spec.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    assert_clean_exit(spec, capsys)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from([REPO / "specs" / "lenet5.yaml", REPO / "specs" / "resnet18.yaml"]),
       edits=st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=3)), min_size=1, max_size=4))
def test_mutated_bytes(seed, edits, tmp_path, capsys):
    content = bytearray(seed.read_bytes())
    for where, replacement in edits:
        position = int(where * len(content))
        content[position:position + len(replacement)] = replacement
    spec = tmp_path / "fuzz.yaml"
    spec.write_bytes(bytes(content))
    assert_clean_exit(spec, capsys)
