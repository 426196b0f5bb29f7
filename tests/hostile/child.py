"""Run every command and format of archcalc on one spec in this process; print one JSON line per run.

Used by tests/hostile (as a child process, so that CPU time and peak memory are its own):
    python tests/hostile/child.py SPEC [--only COMMAND] [EXTRA ARGS...]
Each line: {"argv", "code", "out", "err", "cpu", "traceback"}; the last line {"peak_kb": VmHWM}.
"""

import contextlib
import io
import json
import resource
import sys
import traceback

RUNS = [
    ["summary", "--format", "table"], ["summary", "--format", "json"], ["summary", "--format", "markdown"],
    ["summary", "--format", "csv"], ["summary", "--receptive-field"], ["summary", "--convention", "torchinfo"],
    ["explain"], ["explain", "--format", "markdown"], ["explain", "--format", "json"],
    ["memory"], ["memory", "--format", "json"], ["memory", "--format", "markdown"],
    ["compare"], ["compare", "--format", "json"],
    ["check"], ["check", "--format", "github"], ["check", "--format", "json"], ["check", "--format", "junit"],
]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str]) -> dict:
    from archcalc.cli import main

    out, err = io.StringIO(), io.StringIO()
    start = cpu()
    crashed = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 2
        except BaseException:  # noqa: BLE001 - what the test is looking for
            code, crashed = -1, traceback.format_exc()
    return {"argv": argv, "code": code, "out": out.getvalue(), "err": err.getvalue(), "cpu": cpu() - start,
            "traceback": crashed}


def main() -> None:
    spec, rest = sys.argv[1], sys.argv[2:]
    only = None
    if rest[:1] == ["--only"]:
        only, rest = rest[1], rest[2:]
    for argv in RUNS:
        if only is None or argv[0] == only:
            command = [argv[0], spec, *argv[1:], *rest]
            print(json.dumps(run(command), ensure_ascii=True), flush=True)
    peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(json.dumps({"peak_kb": int(peak.split()[1])}), flush=True)


if __name__ == "__main__":
    main()
