"""Write every command's output for every bundled spec to a folder, to prove a refactoring changes none.

    python tools/snapshot_outputs.py before/        # on the old code
    python tools/snapshot_outputs.py after/         # on the new code
    diff -r before/ after/                          # no output: byte-identical

Runs in-process through `archcalc.cli.main` (stdout and stderr captured per command), so the whole
zoo takes seconds. The commands: summary in every format (also at batch 2, float16, with receptive
fields and under every convention), memory (text, json, markdown; cpu and cuda; --fit), compare
(text, markdown, json), explain (text, markdown, json), plus formulas, conventions and schema.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archcalc.cli import main  # noqa: E402

CONVENTIONS = ("pytorch", "torchvision", "fvcore", "fvcore-train", "ptflops-pytorch", "ptflops-modules",
               "ptflops-aten", "thop", "thop-readme", "torchinfo", "torchinfo-1.8", "calflops", "torchsummary", "keras")


def commands(spec: str) -> list[list[str]]:
    runs = [["summary", spec, "--format", form] for form in ("table", "json", "markdown", "csv")]
    runs += [["summary", spec, "--batch-size", "2", "--dtype", "float16"],
             ["summary", spec, "--receptive-field", "--format", "json"],
             ["summary", spec, "--receptive-field"]]
    runs += [["summary", spec, "--convention", name, "--batch-size", "2", "--format", "json"] for name in CONVENTIONS]
    runs += [["memory", spec, "--format", form, "--batch-size", "2"] for form in ("text", "json", "markdown")]
    runs += [["memory", spec, "--device", "cpu", "--format", "json"], ["memory", spec, "--fit", "8GiB"]]
    runs += [["compare", spec, "--format", form, "--batch-size", "2"] for form in ("text", "markdown", "json")]
    runs += [["explain", spec, "--format", form] for form in ("text", "markdown", "json")]
    return runs


def run(argv: list[str]) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return f"$ archcalc {' '.join(argv)}\n[exit {code}]\n{out.getvalue()}\n[stderr]\n{err.getvalue()}"


def main_(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    specs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*.yaml"))
    specs += sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "golden").glob("*.yaml"))
    for spec in specs:
        stem = spec.replace("/", "_").removesuffix(".yaml")
        (target / f"{stem}.txt").write_text("".join(run(argv) for argv in commands(spec)))
    extras = [["formulas"], ["formulas", "--format", "markdown"], ["conventions"], ["schema"],
              ["check", "specs", "tests/golden"], ["check", "--format", "json", "specs"]]
    (target / "_global.txt").write_text("".join(run(argv) for argv in extras))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    import os

    os.chdir(ROOT)
    main_(Path(sys.argv[1]))
