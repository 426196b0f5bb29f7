"""torchinfo's own test suite: its golden outputs (tests/test_output/*.out in TylerYep/torchinfo) on every test the
spec format can express (34 tests, 45 summaries), reprinted line for line from our specs (tests/peers/torchinfo/).

tests/peers/torchinfo/golden.json names each golden file, the torchinfo test that printed it, the call, batch
size and dtype, and keeps three printings of its footer: HEAD's golden (torchinfo main, 5c4164f), the v1.8.0 tag's
golden, and what PyPI's torchinfo 1.8.0 prints here (torch 2.13.0, Python 3.11.7). Where torch and torchinfo are
installed, the real torchinfo also runs on each spec built as a torch model (tests/torch_modules.py).
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest

import archcalc
from archcalc.analysis.conventions import torchinfo_footer

PEERS = pathlib.Path(__file__).resolve().parent / "peers" / "torchinfo"
CASES = json.loads((PEERS / "golden.json").read_text(encoding="utf-8"))["cases"]
KEYS = ("total_params", "trainable_params", "non_trainable_params", "mult_adds", "input_size", "forward_backward",
        "params_size", "total_size")
# HEAD's golden files were made on Python 3.14 + torch 2.11 (CI since 6ac918f): 56 bytes of storage object per
# input tensor, as torch 2.13 gives on Python 3.12+, which torchinfo's current code requires: the `torchinfo`
# convention's default. torchinfo 1.8.0 on the pinned torch 2.13 + Python 3.11 gives 64 (measured).
HEAD_OVERHEAD = 56


def test_the_current_torchinfo_convention_defaults_to_its_golden_overhead():
    from archcalc.analysis.conventions import CONVENTIONS

    assert CONVENTIONS["torchinfo"].options["input_overhead"] == HEAD_OVERHEAD
# formatting_options forces "Total mult-adds" into no unit (a summary() option, not a counting convention)
FORCED_UNITS = {("formatting_options", "mult_adds")}
# torchinfo 1.8.0 bugs a spec cannot (and should not) reproduce: shared modules in nested lists counted twice
# (#327, fixed in 67159e9), crashes on 0-d outputs and distributions (#355, #329)
BUGS_18 = {"shared_module_in_nested_list"}


def case_id(case: dict) -> str:
    return f"{case['test']}#{case['summary']}"


def footer(case: dict, convention: str, overhead: int | None = None, enum_labels: bool = True) -> dict[str, str]:
    network = archcalc.load(PEERS / case["spec"])
    counts = archcalc.count(network, convention, case["batch_size"] or 1, case["dtype"], input_overhead=overhead)
    return dict(zip(KEYS, torchinfo_footer(counts, enum_labels)))


def compared(printed: dict[str, str], case: dict) -> dict[str, str]:
    return {key: line for key, line in printed.items() if (case["test"], key) not in FORCED_UNITS}


def test_the_cases_are_all_there():
    assert len(CASES) == 45 and len({case["test"] for case in CASES}) == 34
    assert all((PEERS / case["spec"]).is_file() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_head_golden_under_torchinfo(case):
    """HEAD's golden under `torchinfo` (its current code); the golden files CI never regenerates (half precision,
    GPU) keep 1.8.0's printing and are reprinted by `torchinfo-1.8` with Python <= 3.10's labels."""
    expected = compared(case["printed_head"], case)
    if case["stale_format"]:
        got = footer(case, "torchinfo-1.8", HEAD_OVERHEAD, enum_labels=False)
    else:
        got = footer(case, "torchinfo", HEAD_OVERHEAD)
    assert {key: got[key] for key in expected} == expected


@pytest.mark.parametrize("case", [case for case in CASES if case["printed_v1.8.0_tag"]], ids=case_id)
def test_v18_tag_golden_under_torchinfo_18(case):
    """The v1.8.0 tag's golden (its CI: Python <= 3.10, so "(M)") under `torchinfo-1.8`."""
    expected = compared(case["printed_v1.8.0_tag"], case)
    got = footer(case, "torchinfo-1.8", enum_labels=False)
    assert {key: got[key] for key in expected} == expected


def printed_here(case: dict) -> dict[str, str] | None:
    """1.8.0's footer on this machine: None where 1.8.0 crashed (the message is kept instead); of several printings
    (formatting_options' unit overrides) the first, whose only forced line is the mult-adds."""
    printed = case["printed_by_torchinfo_1.8.0_here"]
    printed = printed[0] if isinstance(printed, list) else printed
    return printed if isinstance(printed, dict) else None


@pytest.mark.parametrize("case", [case for case in CASES if printed_here(case) and case["test"] not in BUGS_18],
                         ids=case_id)
def test_pypi_18_printing_here_under_torchinfo_18(case):
    """What PyPI's 1.8.0 printed on the real fixtures with torch 2.13 + Python 3.11 ("(Units.MEGABYTES)", #350):
    `torchinfo-1.8` at its default overhead (64)."""
    expected = compared(printed_here(case), case)
    got = footer(case, "torchinfo-1.8")
    assert {key: got[key] for key in expected} == expected


# ---------------------------------------------------------------------------------------- the real torchinfo

# where 1.8.0 crashes on the fixture it crashes on the spec's model too (0-d outputs, #355; distributions, #329)
LIVE = [case for case in CASES if case["batch_size"] and case["test"] not in BUGS_18 and printed_here(case)]


@pytest.mark.parametrize("case", LIVE, ids=case_id)
def test_real_torchinfo_on_the_spec_as_a_torch_model(case):
    """The installed torchinfo (PyPI 1.8.0) on GraphModule(spec), at the test's batch size and dtype: every footer
    line equals `torchinfo-1.8`'s (here, at the overhead this machine's torch and Python give)."""
    torch = pytest.importorskip("torch")
    torchinfo = pytest.importorskip("torchinfo")
    from torch_modules import GraphModule

    network = archcalc.load(PEERS / case["spec"])
    dtype = {"float32": torch.float32, "float16": torch.float16}[case["dtype"]]
    model = GraphModule(network).to(dtype)
    stats = torchinfo.summary(model, input_size=(case["batch_size"], *network.input_shape), dtypes=[dtype],
                              verbose=0, device="cpu")
    printed = [line for line in str(stats).splitlines()
               if re.match(r"(Total|Trainable|Non-trainable) params|Total mult-adds|Input size|Forward/backward"
                           r"|Params size|Estimated Total Size", line)]
    overhead = stats.total_input - case["batch_size"] * _elements(network) * (2 if case["dtype"] == "float16" else 4)
    assert printed == list(footer(case, "torchinfo-1.8", overhead).values())
    assert overhead == 64   # torch 2.13 + Python 3.11, the crosscheck pins (56 on Python 3.10 or 3.12+)


def _elements(network) -> int:
    from math import prod

    return prod(network.input_shape)
