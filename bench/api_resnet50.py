#!/usr/bin/env python3
"""Time one ResNet-50 analysis through the Python API, in-process and warm.

    python bench/api_resnet50.py [--calls N] [--spec specs/resnet50.yaml]

What is timed: `archcalc.analyze(data)`, where `data` is the spec as `yaml.safe_load` gives it (a dict
read once, as a NAS loop or a notebook holds it): block expansion of the spec's variables and blocks,
validation, propagation and the summary's totals and memory estimate — everything but reading the
file. The first call (which builds the pydantic model of the spec's layer types) is not timed; the
garbage collector stays on, as in a user's process. Prints the median and the best per-call time
(wall clock, and CPU time, which other processes on a shared machine disturb less), the median of
each stage, then `RESULT <median ms>` for bench/run.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

import archcalc  # noqa: E402
from archcalc.analysis.propagate import propagate  # noqa: E402
from archcalc.spec.blocks import expand  # noqa: E402
from archcalc.spec.model import validate  # noqa: E402
from archcalc.spec.yaml_source import as_source  # noqa: E402


def per_call(function, calls: int, clock=time.perf_counter) -> list[float]:
    times = []
    for _ in range(calls):
        start = clock()
        function()
        times.append(clock() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="timed calls (default 300)")
    parser.add_argument("--spec", default=str(REPO / "specs" / "resnet50.yaml"))
    args = parser.parse_args()
    data = yaml.safe_load(Path(args.spec).read_text(encoding="utf-8"))

    def analysis() -> None:
        summary = archcalc.analyze(data)
        summary.totals, summary.memory  # noqa: B018 - the figures a caller reads

    analysis()  # warm: the spec model of these layer types is built once per process
    times = per_call(analysis, args.calls)
    cpu = per_call(analysis, args.calls, time.process_time)  # less sensitive to other processes on the machine
    source = as_source(data)
    flat, _ = expand(source, "<dict>")
    spec, _ = validate(flat, "<dict>")
    stages = {"expand (variables, blocks)": lambda: expand(source, "<dict>"),
              "validate (pydantic)": lambda: validate(flat, "<dict>"),
              "propagate (shapes, params, MACs)": lambda: propagate(spec, flat, "<dict>")}
    layers = len(archcalc.analyze(data).layers)
    print(f"archcalc.analyze(dict) of {Path(args.spec).name} ({layers} layers), warm, {args.calls} calls:")
    print(f"  median {statistics.median(times) * 1000:.2f} ms, best {min(times) * 1000:.2f} ms,"
          f" {statistics.median(times) / layers * 1e6:.1f} µs per layer; CPU time median"
          f" {statistics.median(cpu) * 1000:.2f} ms")
    for name, stage in stages.items():
        print(f"  {name}: median {statistics.median(per_call(stage, args.calls)) * 1000:.2f} ms")
    print(f"RESULT {statistics.median(times) * 1000:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
