#!/usr/bin/env python3
"""Benchmark the pictures of a big spec: `archcalc graph` (and `archcalc report`, where the command exists)
on 10,000-layer specs, as whole processes, and the time headless Chromium takes to open the page and draw its
first view (tests/browser.py, Debian's chromium).

    python bench/graph.py [--runs N]

Targets (issue 17): the page of a 10,000-layer spec is written in < 2 s and opens in Chromium in < 5 s.
Two specs: a plain chain of 10,000 layers (no blocks: the page folds it into segments) and 10,000 layers made
by one block repeated (folded into one ×N box).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from run import archcalc_command, machine, plain_cnn, print_checks  # noqa: E402 - after the path


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) in seconds of one process: on a busy machine the CPU time is what
    the command costs, the wall time what it would take alone only when the machine is idle."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} exited {os.waitstatus_to_exitcode(status)}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def repeated_blocks(layers: int) -> str:
    """conv → batchnorm → relu as a block, repeated to `layers` layers, then a classifier head."""
    count = (layers - 3) // 3
    return "\n".join([
        f"name: repeated-{layers}", "input: [3, 32, 32]", "blocks:", "  unit:", "    layers:",
        "      - {type: conv2d, out_channels: 16, kernel_size: 3, padding: 1}", "      - {type: batchnorm2d}",
        "      - {type: relu}", "layers:", f"  - {{block: unit, name: body, repeat: {count}}}",
        "  - {type: adaptiveavgpool2d, output_size: 1}", "  - {type: flatten}", "  - {type: linear, out_features: 10}",
    ]) + "\n"


def has_report_command(archcalc: list[str]) -> bool:
    probe = subprocess.run([*archcalc, "report", "--help"], capture_output=True)
    return probe.returncode == 0


def open_time(page, path: Path) -> float:
    """Seconds from navigation to the first view drawn (the graph's box count set by its script)."""
    start = time.perf_counter()
    page.open(path, timeout=60)
    page.wait_for("document.querySelector('.ag-root') && document.querySelector('.ag-root').dataset.boxes", 60)
    elapsed = time.perf_counter() - start
    if page.errors or page.requests:
        raise SystemExit(f"{path}: errors {page.errors}, requests {page.requests}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (median reported)")
    args = parser.parse_args()
    archcalc = archcalc_command()
    rows, checks = [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        specs = {"plain chain": plain_cnn(10_000), "one block ×3,332": repeated_blocks(10_000)}
        pages: dict[str, Path] = {}
        for label, text in specs.items():
            spec = folder / f"{label.split()[0]}.yaml"
            spec.write_text(text)
            commands = {f"summary (for comparison), {label}": ([*archcalc, "summary", str(spec)], None),
                        f"graph --format html, {label}": ([*archcalc, "graph", str(spec), "-o"], ".html"),
                        f"graph --format svg, {label}": ([*archcalc, "graph", str(spec), "-o"], ".svg")}
            if has_report_command(archcalc):
                commands[f"report, {label}"] = ([*archcalc, "report", str(spec), "-o"], ".report.html")
            for name, (command, suffix) in commands.items():
                target = folder / f"{spec.stem}{suffix}" if suffix else None
                full = [*command, str(target)] if target else command
                run_once(full)                                  # warm-up
                measured = [run_once(full) for _ in range(args.runs)]
                seconds = statistics.median(wall for wall, _ in measured)
                cpu = statistics.median(used for _, used in measured)
                rows.append((name, seconds, cpu, target.stat().st_size if target else None))
                if suffix in (".html", ".report.html"):
                    pages[name] = target
                    checks.append((f"{name}: written in {seconds:.2f} s (CPU {cpu:.2f} s) < 2 s", seconds < 2))
        try:
            from browser import chromium_page, skip_reason
        except ImportError:
            skip_reason = lambda: "tests/browser.py not found"  # noqa: E731
        reason = skip_reason()
        if reason:
            print(f"(no browser timing: {reason})")
        else:
            with chromium_page() as page:
                for name, path in pages.items():
                    open_time(page, path)                 # warm-up
                    seconds = statistics.median(open_time(page, path) for _ in range(args.runs))
                    rows.append((f"open in Chromium: {name}", seconds, None, path.stat().st_size))
                    checks.append((f"{name}: opens in Chromium in {seconds:.2f} s < 5 s", seconds < 5))
    print(f"Machine: {machine()}")
    print(f"Median of {args.runs} runs; load average before: {os.getloadavg()[0]:.1f}.\n")
    print("| what | time | CPU time | file |")
    print("|---|---:|---:|---:|")
    for name, seconds, cpu, size in rows:
        used = f"{cpu * 1000:,.0f} ms" if cpu is not None else ""
        written = f"{size / 2**20:.2f} MB" if size is not None else ""
        print(f"| {name} | {seconds * 1000:,.0f} ms | {used} | {written} |")
    return print_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
