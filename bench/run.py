#!/usr/bin/env python3
"""Benchmark archcalc as users run it: whole processes, side by side with the import floor.

    python bench/run.py [--runs N] [--torch-python PATH]

Times `archcalc summary` on every bundled spec and on generated plain CNN specs of 1,000 /
10,000 / 100,000 layers, next to the floor `python -c "import yaml; from pydantic import BaseModel"`
measured in the same run (runs are interleaved so that machine noise hits all commands alike),
and the peak resident memory of each process; `archcalc check` on a folder of 1,000 generated specs;
and, when a Python with torch and torchinfo is given (or is this one), torchinfo's summary of the
same ResNet-50 as a whole process (bench/torchinfo_resnet50.py). Prints a table and checks the targets:
  LeNet-5 ≤ 1.5 × floor · every zoo spec ≤ 1.7 × floor · 10,000 layers < 1 s
  · GPT-2 < 1 s · LLaMA-2-7B (--set seq_len=4096) < 1 s and < 100 MB · 100k/10k time ratio ≤ 12
  · 100k peak < 500 MB · check of 1,000 specs < 5 s · memory of 10,000 layers < 1 s
  · ResNet-50 ≥ 25 × faster than torchinfo · a 1,000-point sweep of ResNet-50 < 5 s
and issue #19's: LeNet-5 ≤ 1.3 × floor · 10,000 layers < 0.3 s · one ResNet-50 analysis through the
Python API < 3 ms (bench/api_resnet50.py: `archcalc.analyze(dict)`, warm, in-process). The start-up
reference bench/startup_reference.py (30 pydantic layer models in a discriminated union validating LeNet-5,
no archcalc module) is timed beside the floor: what pydantic itself costs a program of archcalc's shape;
so are the floor with pydantic's Field imported (any model with a field needs it) and the floor with PyYAML's
C loader reading the 10,000-layer spec (yaml.load, and yaml.compose: the nodes with their positions), the
least those two targets can take with the libraries archcalc is built on.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FLOOR = [sys.executable, "-c", "import yaml; from pydantic import BaseModel"]
# For context: the least a program that validates with pydantic pays (one model, one validation).
ONE_MODEL = [sys.executable, "-c",
             "import yaml\nfrom pydantic import BaseModel\nclass A(BaseModel):\n    x: int\nA(x=1)"]

# What importing pydantic's Field costs (pydantic.fields, pydantic.types, annotated_types): every model with a
# field needs it, and the floor above does not import it.
WITH_FIELD = [sys.executable, "-c", "import yaml; from pydantic import BaseModel, Field"]
WITH_FIELD_ROW = "reference: the floor and pydantic's Field"


def yaml_floor(path: Path, function: str) -> list[str]:
    """The floor and PyYAML's C loader applied to the file: what reading it costs before archcalc does anything."""
    return [sys.executable, "-c", f"import yaml; from pydantic import BaseModel\nwith open({str(path)!r}) as stream:\n"
                                  f"    yaml.{function}(stream, Loader=yaml.CSafeLoader)"]


# issue #19's start-up reference: pydantic's cost for a program of archcalc's shape (bench/startup_reference.py)
STARTUP_REFERENCE = "reference: 30 pydantic layer models in a discriminated union validate specs/lenet5.yaml"

# PyYAML's C loader on the 10,000-layer spec, plain data and nodes with positions (floor included)
YAML_LOAD = "floor + yaml.load(CSafeLoader) of the 10,000-layer spec"
YAML_COMPOSE = "floor + yaml.compose(CSafeLoader) of the 10,000-layer spec (the nodes, with positions)"

# issue #19: 25 widths × 40 resolutions of ResNet-50, one process, one core (--jobs 1)
SWEEP = "sweep specs/resnet50.yaml, 1,000 points (25 widths × 40 resolutions)"
SWEEP_GRID = ["--set", "width=8..200:8", "--set", "resolution=64..688:16"]


def archcalc_command() -> list[str]:
    found = shutil.which("archcalc")
    return [found] if found else [sys.executable, "-m", "archcalc"]


def plain_cnn(layers: int) -> str:
    """conv → batchnorm → relu, repeated, on 3×32×32, then a classifier head: `layers` layers in all."""
    body = ["  - {type: conv2d, out_channels: 16, kernel_size: 3, padding: 1}",
            "  - {type: batchnorm2d}", "  - {type: relu}"]
    lines = [f"name: plain-cnn-{layers}", "input: [3, 32, 32]", "layers:"]
    lines += [body[i % 3] for i in range(layers - 3)]
    lines += ["  - {type: adaptiveavgpool2d, output_size: 1}", "  - {type: flatten}",
              "  - {type: linear, out_features: 10}"]
    return "\n".join(lines) + "\n"


def check_folder(folder: Path, count: int = 1_000) -> None:
    """`count` small specs: plain CNNs of varied depth and width, a tenth of them invalid."""
    for number in range(count):
        depth, width = 3 + number % 7, 8 * (1 + number % 5)
        lines = [f"name: generated-{number}", "input: [3, 32, 32]", "layers:"]
        for _ in range(depth):
            lines += [f"  - {{type: conv2d, out_channels: {width}, kernel_size: 3, padding: 1}}",
                      "  - {type: batchnorm2d}", "  - {type: relu}"]
        lines += ["  - {type: adaptiveavgpool2d, output_size: 1}", "  - {type: flatten}",
                  f"  - {{type: linear, {'in_features: 7, ' if number % 10 == 0 else ''}out_features: 10}}"]
        (folder / f"spec_{number:04d}.yaml").write_text("\n".join(lines) + "\n")


def torch_python(given: str | None) -> str | None:
    """A Python that imports torch, torchinfo and numpy, or None."""
    for candidate in ([given] if given else [sys.executable]):
        probe = subprocess.run([candidate, "-c", "import torch, torchinfo, numpy"], capture_output=True)
        if probe.returncode == 0:
            return candidate
    return None


def run_once(command: list[str], expect: int = 0) -> tuple[float, int]:
    """Wall time in seconds and peak resident memory in bytes of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != expect:
        raise SystemExit(f"{' '.join(command)} exited {os.waitstatus_to_exitcode(status)}, expected {expect}")
    return elapsed, usage.ru_maxrss * 1024


def measure(commands: dict[str, list[str]], runs: int, expect: int = 0) -> dict[str, tuple[float, int]]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, int] = {name: 0 for name in commands}
    for command in commands.values():  # warm-up: file cache, bytecode
        run_once(command, expect)
    for _ in range(runs):
        for name, command in commands.items():
            elapsed, peak = run_once(command, expect)
            times[name].append(elapsed)
            peaks[name] = max(peaks[name], peak)
    return {name: (statistics.median(times[name]), peaks[name]) for name in commands}


def open_in_chromium(page: Path, runs: int = 3) -> float | None:
    """The median time headless Chromium takes to load `page` to its load event (tests/browser.py), or None."""
    sys.path.insert(0, str(REPO / "tests"))
    from browser import chromium_page, chromium_path

    if chromium_path() is None:
        return None
    times = []
    with chromium_page() as tab:
        for _ in range(runs):
            times.append(tab.open(page))
            tab.open("about:blank")
    return statistics.median(times)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def print_checks(checks: list[tuple[str, bool]]) -> int:
    """The PASS / FAIL lines of the speed targets, after a blank line; the exit code: 0 when all pass."""
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (median reported)")
    parser.add_argument("--large-runs", type=int, default=3, help="timed runs for the 100,000-layer spec")
    parser.add_argument("--torch-python", help="a Python with torch, torchinfo and numpy, for the comparison")
    args = parser.parse_args()
    archcalc = archcalc_command()
    with tempfile.TemporaryDirectory() as scratch:
        generated = {}
        for layers in (1_000, 10_000, 100_000):
            path = Path(scratch) / f"plain_{layers}.yaml"
            path.write_text(plain_cnn(layers))
            generated[layers] = path
        small = {"floor: import yaml + pydantic.BaseModel": FLOOR,
                 WITH_FIELD_ROW: WITH_FIELD,
                 "reference: define and validate one pydantic model": ONE_MODEL,
                 STARTUP_REFERENCE: [sys.executable, str(REPO / "bench" / "startup_reference.py"),
                                     str(REPO / "specs" / "lenet5.yaml")]}
        for spec in sorted((REPO / "specs").glob("*.yaml")):
            small[f"summary specs/{spec.name}"] = [*archcalc, "summary", str(spec)]
        # the transformer zoo at full context: 1,091 layers, 6.7 B parameters counted, none allocated
        small["summary specs/llama2_7b.yaml --set seq_len=4096"] = [
            *archcalc, "summary", str(REPO / "specs" / "llama2_7b.yaml"), "--set", "seq_len=4096"]
        small["summary specs/llama2_70b.yaml"] = [*archcalc, "summary", str(REPO / "specs" / "llama2_70b.yaml")]
        for layers in (1_000, 10_000):
            small[f"summary plain CNN, {layers:,} layers"] = [*archcalc, "summary", str(generated[layers])]
        small[YAML_LOAD] = yaml_floor(generated[10_000], "load")
        small[YAML_COMPOSE] = yaml_floor(generated[10_000], "compose")
        small["memory plain CNN, 10,000 layers"] = [*archcalc, "memory", str(generated[10_000]), "--batch-size", "32"]
        report_page = Path(scratch) / "report_10000.html"
        small["report plain CNN, 10,000 layers"] = [*archcalc, "report", str(generated[10_000]), "-o", str(report_page)]
        results = measure(small, args.runs)
        results.update(measure({"summary plain CNN, 100,000 layers":
                                [*archcalc, "summary", str(generated[100_000]),  # above the default limits
                                 "--max-layers", "100000", "--max-values", "2000000"]}, args.large_runs))
        results.update(measure({SWEEP: [*archcalc, "sweep", str(REPO / "specs" / "resnet50.yaml"), *SWEEP_GRID,
                                        "--format", "csv"]}, args.large_runs))
        folder = Path(scratch) / "many"
        folder.mkdir()
        check_folder(folder)
        results.update(measure({"check, 1,000 specs in one process": [*archcalc, "check", str(folder)]},
                               args.large_runs, expect=1))
        opened = open_in_chromium(report_page)
        other = torch_python(args.torch_python)
        if other:
            results.update(measure({"torchinfo.summary, ResNet-50 (torch + torchinfo process)":
                                    [other, str(REPO / "bench" / "torchinfo_resnet50.py")]}, args.large_runs))
    floor = results["floor: import yaml + pydantic.BaseModel"][0]
    print(f"Machine: {machine()}")
    print(f"Median of {args.runs} runs ({args.large_runs} for 100,000 layers), whole processes.\n")
    print("| command | time | × floor | peak memory |")
    print("|---|---:|---:|---:|")
    for name, (seconds, peak) in results.items():
        print(f"| {name} | {seconds * 1000:,.0f} ms | {seconds / floor:.2f} | {peak / 2**20:,.0f} MB |")
    zoo = [seconds / floor for name, (seconds, _) in results.items() if name.startswith("summary specs/")]
    gpt2 = results["summary specs/gpt2.yaml"][0]
    llama, llama_peak = results["summary specs/llama2_7b.yaml --set seq_len=4096"]
    lenet = results["summary specs/lenet5.yaml"][0] / floor
    t10k = results["summary plain CNN, 10,000 layers"][0]
    t100k, peak100k = results["summary plain CNN, 100,000 layers"]
    checked = results["check, 1,000 specs in one process"][0]
    checks = [
        (f"LeNet-5 {lenet:.2f} × floor ≤ 1.5", lenet <= 1.5),
        (f"slowest zoo spec {max(zoo):.2f} × floor ≤ 1.7", max(zoo) <= 1.7),
        (f"check of 1,000 specs {checked:.2f} s < 5 s", checked < 5),
        (f"memory, 10,000 layers {results['memory plain CNN, 10,000 layers'][0]:.2f} s < 1 s",
         results["memory plain CNN, 10,000 layers"][0] < 1),
        (f"10,000 layers {t10k:.2f} s < 1 s", t10k < 1.0),
        (f"report, 10,000 layers {results['report plain CNN, 10,000 layers'][0]:.2f} s < 2 s",
         results["report plain CNN, 10,000 layers"][0] < 2),
        (f"GPT-2 {gpt2:.2f} s < 1 s", gpt2 < 1.0),
        (f"LLaMA-2-7B at 4,096 tokens {llama:.2f} s < 1 s, peak {llama_peak / 2**20:.0f} MB < 100 MB (nothing per parameter)",
         llama < 1.0 and llama_peak < 100 * 2**20),
        (f"100k/10k time ratio {t100k / t10k:.1f} ≤ 12", t100k / t10k <= 12),
        (f"100,000-layer peak memory {peak100k / 2**20:.0f} MB < 500 MB", peak100k < 500 * 2**20),
        (f"1,000-point sweep of ResNet-50 {results[SWEEP][0]:.2f} s < 5 s", results[SWEEP][0] < 5),
    ]
    if opened is not None:
        checks.append((f"the 10,000-layer report opens in Chromium in {opened:.2f} s < 5 s", opened < 5))
    else:
        print("\n(no Chromium: the report's opening time is not measured)")
    # issue #19's targets: a small spec's start-up, 10,000 layers, one ResNet-50 analysis through the API
    api = subprocess.run([sys.executable, str(REPO / "bench" / "api_resnet50.py")], capture_output=True, text=True,
                         check=True).stdout
    print("\n" + "\n".join(line for line in api.splitlines() if not line.startswith("RESULT")))
    api_ms = float(api.rsplit("RESULT", 1)[1])
    checks += [
        (f"LeNet-5 {lenet:.2f} × floor ≤ 1.3 (importing pydantic's Field alone:"
         f" {results[WITH_FIELD_ROW][0] / floor:.2f} × floor)", lenet <= 1.3),
        (f"10,000 layers {t10k:.2f} s < 0.3 s (yaml.load of the file alone: {results[YAML_LOAD][0]:.2f} s)",
         t10k < 0.3),
        (f"ResNet-50 through archcalc.analyze(dict), warm, in-process: {api_ms:.2f} ms < 3 ms", api_ms < 3),
    ]
    torchinfo = results.get("torchinfo.summary, ResNet-50 (torch + torchinfo process)")
    if torchinfo:
        ratio = torchinfo[0] / results["summary specs/resnet50.yaml"][0]
        checks.append((f"ResNet-50: archcalc {ratio:.0f} × faster than torchinfo ≥ 25", ratio >= 25))
    else:
        print("\n(no Python with torch + torchinfo: give --torch-python for the torchinfo comparison)")
    return print_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
