"""Regenerate the README's pictures of `archcalc report`: docs/report.png (the top of the page: the totals and
the graph, shaded by MACs), docs/report-table.png (the layer table sorted by MACs) and docs/report-charts.png
(where the compute and the parameters are, training memory), from specs/resnet50.yaml with a 24 GiB budget,
in headless Chromium (tests/browser.py).

    python tools/report_screenshot.py [--output-dir docs]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from archcalc.cli import main as archcalc  # noqa: E402
from browser import chromium_page, distinct_colors  # noqa: E402

# (file, section to scroll to, what to do first)
SHOTS = (
    ("report.png", None, "const s = document.querySelector('#report-graph .ag-color'); s.value = 'macs';"
                         " s.dispatchEvent(new Event('change'))"),
    ("report-table.png", "layers", "const th = document.querySelectorAll('#layer-table th')[7]; th.click(); th.click()"),
    ("report-charts.png", "where", ""),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    args.output_dir = args.output_dir.resolve()
    with tempfile.TemporaryDirectory() as folder:
        page_path = Path(folder) / "resnet50.html"
        os.chdir(REPO)   # the page names its spec as given: specs/resnet50.yaml
        if archcalc(["report", "specs/resnet50.yaml", "-o", str(page_path), "--budget", "24GiB"]):
            return 1
        with chromium_page(1200, 820) as page:
            page.open(page_path)
            if page.errors or page.requests:
                print("the page logged errors or asked for the network:", page.errors, page.requests, file=sys.stderr)
                return 1
            page.wait_for("document.querySelectorAll('#report-graph .ag-box').length")
            for name, anchor, action in SHOTS:
                if action:
                    page.evaluate(f"(() => {{ {action}; }})()")
                page.evaluate(f"document.getElementById({anchor!r}).scrollIntoView()" if anchor else "scrollTo(0, 0)")
                shot = page.screenshot(args.output_dir / name)
                if distinct_colors(shot) < 20:
                    print(f"{shot}: blank", file=sys.stderr)
                    return 1
                print(shot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
