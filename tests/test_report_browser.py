"""`archcalc report` pages in a real browser (headless Chromium, tests/browser.py; skipped without it): they load
from file:// with no console error and no request, hold every layer, sort and filter, show the totals of
`archcalc summary`, and draw something."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main
from archcalc.problems import printable

REPO = Path(__file__).resolve().parent.parent
ZOO = ["resnet50", "gpt2"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The report of each zoo spec, written by the command line with a 24 GiB budget."""
    folder = tmp_path_factory.mktemp("reports")
    written = {}
    for name in ZOO:
        written[name] = folder / f"{name}.html"
        assert main(["report", str(REPO / "specs" / f"{name}.yaml"), "-o", str(written[name]), "--budget", "24GiB"]) == 0
    return written


@pytest.mark.parametrize("name", ZOO)
def test_the_report_opens_offline_with_every_layer(name, reports, page):
    page.open(reports[name])
    network = archcalc.load(REPO / "specs" / f"{name}.yaml")
    names = page.evaluate("Array.from(document.querySelectorAll('#layer-table tbody tr')).map(r => r.dataset.name)")
    assert names == [layer.name for layer in network.layers]
    assert page.evaluate("document.querySelectorAll('svg.chart').length") == 6
    assert page.errors == [] and page.requests == []


@pytest.mark.parametrize("name", ZOO)
def test_the_table_totals_equal_archcalc_summary(name, reports, page, capsys):
    assert main(["summary", str(REPO / "specs" / f"{name}.yaml"), "--format", "json"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    page.open(reports[name])
    shown = page.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('#layer-table [data-total]'))"
                          ".map(e => [e.dataset.total, e.textContent]))")
    assert (shown["params"], shown["macs"], shown["buffers"]) == (
        f"{totals['params']:,}", f"{totals['macs']:,}", f"{totals['buffers']:,}")


COLUMN = "Array.from(document.querySelectorAll('#layer-table tbody tr')).map(r => r.cells[%d].dataset.v)"


def test_clicking_a_column_title_sorts_the_table(reports, page):
    page.open(reports["resnet50"])
    macs = 7   # the MACs column (archcalc.report.html_report.COLUMNS)
    page.click("#layer-table thead th:nth-child(8)")
    ascending = [int(value) for value in page.evaluate(COLUMN % macs)]
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    page.click("#layer-table thead th:nth-child(8)")
    descending = [int(value) for value in page.evaluate(COLUMN % macs)]
    assert descending == sorted(ascending, reverse=True)
    assert page.evaluate("document.querySelector('#layer-table tbody tr').dataset.name") == "conv1"   # 118,013,952
    page.click("#layer-table thead th:nth-child(1)")
    order = [int(value) for value in page.evaluate(COLUMN % 0)]
    assert order == list(range(len(order)))
    assert page.errors == []


def test_filtering_shows_the_matching_rows_and_their_sums(reports, page):
    network = archcalc.load(REPO / "specs/resnet50.yaml")
    page.open(reports["resnet50"])
    page.evaluate("(() => { const f = document.getElementById('filter'); f.value = 'downsample';"
                  " f.dispatchEvent(new Event('input')); })()")
    visible = page.evaluate("Array.from(document.querySelectorAll('#layer-table tbody tr')).filter(r => !r.hidden)"
                            ".map(r => r.dataset.name)")
    matching = [layer for layer in network.layers if "downsample" in layer.name]
    assert visible == [layer.name for layer in matching] and len(matching) == 8   # 4 stages × (conv, bn)
    assert page.evaluate("document.getElementById('shown-params').textContent") == \
        f"{sum(layer.params for layer in matching):,}"
    assert page.evaluate("document.getElementById('shown-macs').textContent") == \
        f"{sum(layer.macs for layer in matching):,}"
    assert page.evaluate("document.getElementById('filter-status').textContent") == "8 of 175 layers"


def test_a_warning_link_goes_to_its_row(tmp_path, page):
    spec = tmp_path / "warned.yaml"
    spec.write_text("input: [64, 8, 8]\nlayers:\n  - {type: relu}\n"
                    "  - {name: down, type: conv2d, out_channels: 4, kernel_size: 1, stride: 2}\n")
    assert main(["report", str(spec), "-o", str(tmp_path / "r.html")]) == 0
    page.open(tmp_path / "r.html")
    page.click("#warning-0 a")
    assert page.evaluate("document.querySelector('tr:target').dataset.name") == "down"
    assert page.errors == [] and page.requests == []


def test_the_screenshot_is_not_blank(reports, page, tmp_path):
    from browser import distinct_colors, inked_fraction

    page.open(reports["resnet50"])
    shot = page.screenshot(tmp_path / "report.png")
    inked, sampled = inked_fraction(shot)
    assert distinct_colors(shot) > 20 and inked > sampled // 20
    page.evaluate("location.hash = '#where'")
    charts = page.screenshot(tmp_path / "charts.png")
    assert distinct_colors(charts) > 20


def test_a_long_table_lays_out_its_first_rows_and_shows_all_on_demand(tmp_path, page):
    from archcalc.report.html_report import ROW_LIMIT

    layers = ROW_LIMIT + 200
    spec = tmp_path / "long.yaml"
    spec.write_text("input: [64, 8, 8]\nlayers:\n" + "  - {type: relu}\n" * (layers - 1)
                    + "  - {name: down, type: conv2d, out_channels: 4, kernel_size: 1, stride: 2}\n")
    assert main(["report", str(spec), "-o", str(tmp_path / "r.html")]) == 0
    page.open(tmp_path / "r.html")
    visible = "document.querySelectorAll('#layer-table tbody tr:not([hidden])').length"
    assert page.evaluate("document.querySelectorAll('#layer-table tbody tr').length") == layers
    assert page.evaluate(visible) == ROW_LIMIT
    page.click("#warning-0 a")                       # the warned layer is the last row: beyond the limit
    assert page.evaluate("document.querySelector('tr:target').dataset.name") == "down"
    page.wait_for(f"{visible} === {layers}")         # on hashchange, an event after the click
    page.open(tmp_path / "r.html")
    page.click("#show-all")
    assert page.evaluate(visible) == layers and page.evaluate("document.getElementById('show-all').hidden")
    assert page.errors == [] and page.requests == []


@pytest.mark.parametrize("name, blocks, first, inside", [
    ("resnet50", 16, "layer1.0", "layer1.0.conv1"),             # torchvision's 3 + 4 + 6 + 3 bottlenecks
    ("gpt2", 12, "transformer.h.0", "transformer.h.0.ln_1"),    # GPT-2 small's 12 blocks
])
def test_the_graph_shows_the_blocks_folded_and_unfolds_one(name, blocks, first, inside, reports, page):
    page.open(reports[name])
    boxes = "document.querySelectorAll('#report-graph .ag-box').length"
    page.wait_for(boxes)
    instances = "document.querySelectorAll('#report-graph .ag-box[data-kind=instance]').length"
    assert page.evaluate(instances) == blocks
    names = "Array.from(document.querySelectorAll('#report-graph .ag-box')).map(b => b.dataset.name)"
    assert first in page.evaluate(names) and inside not in page.evaluate(names)
    before = page.evaluate(boxes)
    page.click(f"#report-graph .ag-box[data-kind=instance][data-name='{first}']")
    page.wait_for(f"{boxes} > {before}")
    assert first not in page.evaluate(names) and inside in page.evaluate(names)
    assert page.errors == [] and page.requests == []


def test_show_in_a_notebook_runs_the_report_inside_its_frame_only(tmp_path, page):
    """What Jupyter does with archcalc.show(): its _repr_html_ in a notebook's page. The sandboxed srcdoc frame is
    a target of its own; DevTools attaches to it to look inside."""
    network = archcalc.load(REPO / "specs/resnet50.yaml")
    report = archcalc.show(network)
    notebook = tmp_path / "notebook.html"
    notebook.write_text("<!DOCTYPE html><html><head><style>h1{font-size:40px}</style></head><body><h1 id=cell>a cell"
                        f"</h1>{report._repr_html_()}</body></html>")
    frames, frame_errors = [], []

    def on_event(method, params):
        if method == "Target.attachedToTarget" and params["targetInfo"]["type"] == "iframe":
            session = params["sessionId"]
            frames.append(session)
            page.browser._listeners.setdefault(session, []).append(
                lambda inner, details: frame_errors.append(details) if inner == "Runtime.exceptionThrown" or (
                    inner == "Runtime.consoleAPICalled" and details.get("type") == "error") else None)
            # the frame waits (waitForDebuggerOnStart) until its errors are watched; post: this is the reader thread
            page.browser.post("Runtime.enable", {}, session)
            page.browser.post("Runtime.runIfWaitingForDebugger", {}, session)

    page.browser._listeners[page.session].append(on_event)
    page.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True})
    page.open(notebook)
    page.wait_for("true")

    def inside(expression):
        reply = page.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, frames[0])
        return reply["result"].get("value")

    deadline = 100
    while not inside("document.querySelectorAll('.ag-box').length") and deadline:   # the frame's script draws
        deadline -= 1
        page.evaluate("new Promise(r => setTimeout(r, 50))")
    assert inside("Array.from(document.querySelectorAll('#layer-table tbody tr')).map(r => r.dataset.name)") == \
        [layer.name for layer in network.layers]
    assert inside("document.querySelectorAll('.ag-box[data-kind=instance]').length") == 16   # its script ran
    assert page.evaluate("document.querySelectorAll('#layer-table, .ag-root').length") == 0    # nothing leaked
    assert page.evaluate("getComputedStyle(document.getElementById('cell')).fontSize") == "40px"
    assert page.evaluate("document.querySelector('iframe').contentDocument") is None   # no same-origin access
    assert page.errors == [] and page.requests == [] and frame_errors == []


HOSTILE = ['"><img src=x onerror=alert(1)>', "</script><script>alert(2)</script>", "<!--", "a&amp;b\u202e"]


def test_hostile_layer_names_stay_text(tmp_path, page):
    spec = tmp_path / "hostile.yaml"
    spec.write_text("input: [64, 8, 8]\nlayers:\n" + "".join(
        f"  - {{name: {json.dumps(name)}, type: relu}}\n" for name in HOSTILE)
        + "  - {name: '<b>down</b>', type: conv2d, out_channels: 4, kernel_size: 1, stride: 2}\n")
    assert main(["report", str(spec), "-o", str(tmp_path / "r.html")]) == 0
    page.open(tmp_path / "r.html")
    page.wait_for("document.querySelectorAll('#report-graph .ag-box').length")
    names = page.evaluate("Array.from(document.querySelectorAll('#layer-table tbody tr')).map(r => r.dataset.name)")
    # as text, with controls (the bidi override) written as escapes, as everywhere in archcalc's output
    assert names == [printable(layer.name) for layer in archcalc.load(spec).layers] and "a&amp;b\\u202e" in names
    assert page.evaluate("document.querySelectorAll('img, b').length") == 0
    scripts = page.evaluate("document.querySelectorAll('script').length")
    assert scripts == 4   # the graph's data, dagre, the graph's view and the table's: none from a name
    page.click("#warning-0 a")
    assert page.evaluate("document.querySelector('tr:target').dataset.name") == "<b>down</b>"
    assert page.errors == [] and page.requests == []


def test_the_readme_pictures_are_regenerated_by_the_tool(page, tmp_path):
    """tools/report_screenshot.py draws the README's three pictures again: each the size of the committed one
    (the README shows what the tool makes) and not blank. `page` makes this skip where Chromium is missing."""
    import subprocess
    import sys

    from browser import distinct_colors, inked_fraction, png_pixels

    done = subprocess.run([sys.executable, str(REPO / "tools" / "report_screenshot.py"), "--output-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    readme = (REPO / "README.md").read_text()
    for name in ("report.png", "report-table.png", "report-charts.png"):
        assert f"](docs/{name})" in readme, name
        fresh, committed = png_pixels(tmp_path / name), png_pixels(REPO / "docs" / name)
        assert fresh[:2] == committed[:2], name
        inked, sampled = inked_fraction(tmp_path / name)
        assert distinct_colors(tmp_path / name) > 20 and inked > sampled // 20, name
