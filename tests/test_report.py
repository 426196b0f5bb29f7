"""`archcalc report` (issue 17, part 2), its SVG charts and the notebook displays (part 3), without a browser;
tests/test_report_browser.py opens the pages in Chromium."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import pytest

import archcalc
from archcalc.analysis.breakdown import by_block, by_type
from archcalc.cli import main
from archcalc.report import charts
from archcalc.report.html_report import ReportOptions, render_report

REPO = Path(__file__).resolve().parent.parent
SPECS = sorted((REPO / "specs").glob("*.yaml"))
GiB = 2**30


# ---------------------------------------------------------------------------------------------- numbers on axes

@pytest.mark.parametrize("low, high, units, labels", [
    (0, 4_089_184_256, charts.SI, ["0", "1 G", "2 G", "3 G", "4 G", "5 G"]),       # ResNet-50's MACs
    (0, 25 * GiB + 5, charts.BINARY, ["0", "5 GiB", "10 GiB", "15 GiB", "20 GiB", "25 GiB", "30 GiB"]),
    (0, 1500 * 2**20, charts.BINARY, ["0", "0.5 GiB", "1 GiB", "1.5 GiB"]),
    (1, 300, charts.PLAIN, ["0", "50", "100", "150", "200", "250", "300"]),
    (0, 3, charts.PLAIN, ["0", "1", "2", "3"]),                                      # never a tick between ints
    (0, 1, charts.SI, ["0", "1"]),
    (0, 980, charts.SI, ["0", "0.2 K", "0.4 K", "0.6 K", "0.8 K", "1 K"]),         # in the largest tick's unit
])
def test_axis_ticks_are_round_numbers_in_the_axis_unit(low, high, units, labels):
    axis = charts.Axis(low, high, 0, 500, units)
    assert [axis.label(value) for value in axis.tick_values] == labels
    assert axis.position(axis.tick_values[0]) == 0 and axis.position(axis.tick_values[-1]) == 500


@pytest.mark.parametrize("value, units, text", [
    (980, charts.SI, "980"), (4_089_184_256, charts.SI, "4.09 G"), (25_557_032, charts.SI, "25.56 M"),
    (1536, charts.BINARY, "1.5 KiB"), (24 * GiB, charts.BINARY, "24 GiB"), (512, charts.BINARY, "512 B"),
    (10**30, charts.SI, "1000000000000 E"),   # beyond the last prefix, still exact: no float anywhere
])
def test_unit_text(value, units, text):
    assert units.text(value) == text


@pytest.mark.parametrize("part, whole, text", [
    (1, 3, "33.3 %"), (2, 25, "8.0 %"), (128, 25_557_032, "<0.1 %"), (0, 7, "0.0 %"), (7, 7, "100.0 %"),
    (1, 2000, "<0.1 %"), (3, 2000, "0.2 %"),   # 0.05 % and 0.15 %: half to even, 0 and 0.2
])
def test_percent_text(part, whole, text):
    assert charts.percent_text(part, whole) == text


def test_decimal_text_is_exact_where_floats_are_not():
    assert charts.decimal_text(Fraction(10**400 + 5, 10), 1) == str(10**399) + ".5"


# ---------------------------------------------------------------------------------------------- charts

class Elements(HTMLParser):
    """Every start tag with its attributes, and all text, of an HTML or SVG document."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def of(self, tag: str, **having: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag
                and all(attrs.get(key.rstrip("_")) == value for key, value in having.items())]


def test_bar_lengths_are_proportional_to_the_values():
    svg = charts.bar_chart([charts.Bar("a", 300), charts.Bar("b", 100), charts.Bar("c", 200)], "t")
    bars = Elements(svg).of("rect", class_="chart-bar")
    widths = [int(bar["width"]) for bar in bars]     # largest first: a (300), c (200), b (100)
    assert widths[0] == 3 * widths[2] and widths[1] == 2 * widths[2]


def test_bars_beyond_the_most_are_added_into_one_so_the_chart_keeps_its_total():
    bars = [charts.Bar(f"layer{i}", i + 1) for i in range(30)]
    svg = charts.bar_chart(bars, "t", most=5)
    parsed = Elements(svg)
    assert len(parsed.of("rect", class_="chart-bar")) == 5
    assert "26 others" in "".join(parsed.text)
    others = sum(range(1, 27))
    assert f"26 others: {others:,}" in svg


def test_chart_text_is_escaped():
    hostile = '</text><script>alert(1)</script>&"'
    svg = charts.bar_chart([charts.Bar(hostile, 5, href="#x\"onclick=\"alert(1)")], hostile)
    svg += charts.line_chart([charts.Series(hostile, [(1, 2), (3, 4)])], hostile, hostile, hostile,
                             levels=[charts.Level(hostile, 3)], marks=[charts.Mark(hostile, 2, 3)])
    assert "<script>" not in svg and "onclick=\"" not in svg
    assert all(name != "script" for name, _ in Elements(svg).tags)


def test_line_chart_draws_the_budget_and_the_fit():
    svg = charts.line_chart([charts.Series("total", [(1, 10 * GiB), (100, 40 * GiB)])], "t", "batch", "bytes",
                            levels=[charts.Level("budget", 24 * GiB)], marks=[charts.Mark("fits: 48", 48, 24 * GiB)])
    parsed = Elements(svg)
    level = parsed.of("line", class_="chart-level")[0]
    mark = parsed.of("circle", class_="chart-mark")[0]
    assert level["y1"] == level["y2"] == mark["cy"]     # the fitting batch sits on the budget line
    assert len(parsed.of("polyline")) == 1


# ---------------------------------------------------------------------------------------------- shares

@pytest.mark.parametrize("spec", SPECS, ids=[path.stem for path in SPECS])
def test_shares_by_type_and_by_block_add_up_to_the_totals(spec):
    network = archcalc.load(spec)
    for shares in (by_type(network), by_block(network)):
        assert sum(share.macs for share in shares) == network.totals.macs
        assert sum(share.params for share in shares) == network.totals.params
        assert sum(share.layers for share in shares) == len(network.layers)


def test_resnet50_by_block_is_the_stem_four_stages_and_the_head():
    shares = {share.label: share for share in by_block(archcalc.load(REPO / "specs/resnet50.yaml"))}
    assert [(label, shares[label].kind) for label in ("layer1", "layer2", "layer3", "layer4")] == [
        ("layer1", "bottleneck ×3"), ("layer2", "bottleneck ×4"), ("layer3", "bottleneck ×6"),
        ("layer4", "bottleneck ×3")]                      # torchvision's resnet50: [3, 4, 6, 3]
    assert shares["fc"].params == 2048 * 1000 + 1000
    assert shares["conv1"].macs == 64 * 3 * 7 * 7 * 112 * 112


def test_gpt2_by_block_puts_the_twelve_blocks_in_one_share():
    shares = {share.label: share for share in by_block(archcalc.load(REPO / "specs/gpt2.yaml"))}
    assert shares["transformer.h"].kind == "block ×12"
    assert shares["transformer.h"].params == 12 * 7_087_872   # GPT-2 small: 7,087,872 parameters per block


# ---------------------------------------------------------------------------------------------- the page

def totals_on_page(page: str) -> dict[str, str]:
    """The text of every element marked `data-total` (the table's totals, the memory total, the cards)."""
    return {match.group(1): match.group(2) for match in re.finditer(r'data-total="([^"]+)">([^<]*)<', page)}


def external_references(page: str) -> list[str]:
    """Every attribute that could make the browser fetch something, other than an in-page `#anchor`."""
    found = []
    for _, attrs in Elements(page).tags:
        for key in ("src", "href", "xlink:href", "action", "poster", "data", "srcset"):
            value = attrs.get(key)
            if value is not None and not value.startswith("#"):
                found.append(f"{key}={value}")
    # CSS and SVG `url(...)` other than an in-page `url(#marker)`; a URL in text (an install line) fetches nothing
    return found + re.findall(r"url\(\s*['\"]?(?!#)|@import", page)


@pytest.fixture(scope="module")
def resnet50():
    return archcalc.load(REPO / "specs/resnet50.yaml")


@pytest.mark.parametrize("name", ["resnet50", "gpt2", "lenet5"])
def test_the_page_is_self_contained_small_and_holds_every_layer(name):
    network = archcalc.load(REPO / "specs" / f"{name}.yaml")
    page = render_report(network, ReportOptions(budget=24 * GiB))
    assert len(page.encode()) < 2_000_000
    assert external_references(page) == []
    ids = [attrs["id"] for _, attrs in Elements(page).tags if "id" in attrs]
    assert len(ids) == len(set(ids))                  # anchors and the script's getElementById find one element
    rows = [attrs for tag, attrs in Elements(page).tags if tag == "tr" and attrs.get("id", "").startswith("layer-")]
    assert [row["data-name"] for row in rows] == [layer.name for layer in network.layers]


@pytest.mark.parametrize("name", ["resnet50", "gpt2"])
def test_the_page_totals_equal_archcalc_summary(name, tmp_path, capsys):
    spec = str(REPO / "specs" / f"{name}.yaml")
    assert main(["summary", spec, "--format", "json"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert main(["report", spec, "-o", str(tmp_path / "r.html")]) == 0
    shown = totals_on_page((tmp_path / "r.html").read_text())
    assert (shown["params"], shown["macs"], shown["buffers"]) == (
        f"{totals['params']:,}", f"{totals['macs']:,}", f"{totals['buffers']:,}")


def test_the_budget_marks_the_batch_archcalc_memory_fits(tmp_path, capsys):
    spec = str(REPO / "specs/resnet50.yaml")
    assert main(["memory", spec, "--fit", "24GiB", "--format", "json"]) == 0
    memory = json.loads(capsys.readouterr().out)
    assert main(["report", spec, "-o", str(tmp_path / "r.html"), "--budget", "24GiB"]) == 0
    page = (tmp_path / "r.html").read_text()
    fit = memory["fit"]["batch_size"]
    assert re.search(r"<strong data-fit>([\d,]+)</strong>", page).group(1) == f"{fit:,}"
    assert f"fits: batch {fit:,}" in page
    assert totals_on_page(page)["memory"] == f"{memory['totals']['total_bytes']:,}"


def test_the_memory_categories_add_up_to_the_total(resnet50):
    page = render_report(resnet50, ReportOptions(batch_size=32))
    memory = re.search(r'<table class="small"><thead><tr><th>Category.*?</table>', page).group(0)
    parts = [int(cell.replace(",", "")) for cell in re.findall(r"<td data-bytes>([\d,]+)</td>", memory)]
    total = archcalc.training_memory(resnet50, 32).totals.total_bytes
    assert sum(parts) == total and totals_on_page(page)["memory"] == f"{total:,}"


def test_every_convention_is_side_by_side(resnet50):
    from archcalc.analysis.conventions import CONVENTIONS

    page = render_report(resnet50)
    table = re.search(r'<table class="small" id="convention-table">.*?</table>', page).group(0)
    assert re.findall(r"<tr><td><code>([^<]+)</code>", table) == list(CONVENTIONS)
    assert "<td>4.12 GMac</td>" in table           # ptflops' own print of ResNet-50 (docs/conventions.md)


WARNED = ("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, name: '<b>x&amp;</b>', out_channels: 4, kernel_size: 3,"
          " stride: 2}\n  - {type: relu}\n")


def test_every_warning_links_to_its_row_and_back_and_names_are_escaped():
    network = archcalc.loads(WARNED)
    page = render_report(network)
    parsed = Elements(page)
    assert len(network.warnings) == 1
    item = parsed.of("li", id="warning-0")
    assert item and parsed.of("a", href="#layer-0")
    assert parsed.of("a", href="#warning-0", class_="warn-mark")
    assert "<b>x" not in page and "&lt;b&gt;x&amp;amp;&lt;/b&gt;" in page


def test_a_spec_without_warnings_says_so(resnet50):
    assert 'id="no-warnings"' in render_report(resnet50)


# ---------------------------------------------------------------------------------------------- command line

def test_report_writes_to_standard_output_without_o(capsys):
    assert main(["report", str(REPO / "specs/lenet5.yaml")]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("argv, code, message", [
    (["report", "missing.yaml", "-o", "x.html"], 1, "missing.yaml:1:1: error: no such file"),
    (["report", "specs/lenet5.yaml", "-o", "/nonexistent-dir/r.html"], 2,
     "archcalc report: error: cannot write /nonexistent-dir/r.html: No such file or directory"),
    (["report", "specs/lenet5.yaml", "--budget", "12XB"], 2, "argument --budget/--fit: unknown unit 'XB'"),
])
def test_report_errors(argv, code, message, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    try:
        result = main(argv)
    except SystemExit as exit:   # argparse's own usage errors
        result = exit.code
    assert result == code
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- notebooks

def test_network_and_summary_show_their_table_in_a_notebook(resnet50):
    summary = resnet50.summary(batch_size=8)
    for shown in (resnet50._repr_html_(), summary._repr_html_()):
        assert all(layer.name in shown for layer in resnet50.layers)
        assert "Total params 25,557,032" in shown and "<script" not in shown
        picture = re.search(r'<div class="graph"><svg.*?</svg>\s*</div>', shown, re.S).group(0)   # the folded graph
        assert all(f">layer{stage}.0<" in picture for stage in (1, 2, 3, 4))
        assert ">layer1.0.conv1<" not in picture
    assert summary._repr_markdown_() == archcalc.report.markdown.render(summary)
    assert resnet50._repr_markdown_() == archcalc.report.markdown.render(resnet50.summary())


def test_a_long_network_shows_its_ends_in_a_notebook():
    text = "input: [8]\nlayers:\n" + "  - {type: relu}\n" * 1000
    shown = archcalc.loads(text)._repr_html_()
    assert "relu-1 (relu)" in shown and "relu-1000 (relu)" in shown and "relu-401 (relu)" not in shown
    assert "… 550 more layers" in shown


@pytest.mark.parametrize("spec", [str(REPO / "specs/lenet5.yaml"), REPO / "specs/lenet5.yaml",
                                  (REPO / "specs/lenet5.yaml").read_text()])
def test_show_puts_the_report_in_an_iframe(spec):
    report = archcalc.show(spec, budget="1GiB")
    frame = report._repr_html_()
    assert frame.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') and 'sandbox="allow-scripts"' in frame
    assert "<script" not in frame                       # the page's script is inside srcdoc, escaped
    assert report.html.startswith("<!DOCTYPE html>") and "Largest batch in budget" in report.html


def test_show_takes_a_network_a_summary_and_a_dict(resnet50, tmp_path):
    assert archcalc.show(resnet50).html == archcalc.show(resnet50.summary()).html
    small = archcalc.show({"input": [4], "layers": [{"type": "linear", "out_features": 2}]})
    assert small.save(tmp_path / "r.html").read_text() == small.html
    with pytest.raises(TypeError, match="not int"):
        archcalc.show(3)


def test_a_network_without_macs_says_so_instead_of_drawing_empty_charts():
    page = render_report(archcalc.loads("input: [8]\nlayers:\n  - {type: relu}\n"))
    assert page.count("No MACs: every layer counts 0.") == 2          # by layer type and by top-level layer
    assert "MACs by layer type" not in page and "Parameters by layer type" not in page


def test_a_huge_budget_marks_a_huge_batch_on_an_si_axis():
    network = archcalc.loads("input: [8]\nlayers:\n  - {type: linear, out_features: 4}\n")
    page = render_report(network, ReportOptions(budget=2**40))
    fit = archcalc.training_memory(network, fit=2**40).fit.batch_size
    assert fit > 10**9 and f"fits: batch {fit:,}" in page
    assert re.search(r'class="chart-tick">\d+(\.\d+)? G</text>', page)   # batch sizes in G, not 10 digits


def test_show_takes_the_spec_variables():
    report = archcalc.show(str(REPO / "specs/gpt2.yaml"), variables={"n_layer": 2})
    rows = Elements(report.html).of("tr")
    assert {row["data-name"] for row in rows if "data-name" in row} >= {"transformer.h.1.ln_1"}
    assert not any(row.get("data-name", "").startswith("transformer.h.2.") for row in rows)


def test_the_conventions_are_counted_in_the_reports_dtype(resnet50):
    from archcalc.analysis.conventions import count

    page = render_report(resnet50, ReportOptions(dtype="float16", batch_size=2))
    torchinfo = count(resnet50, "torchinfo", 2, "float16").memory["printed"]
    row = re.search(r"<tr><td><code>torchinfo</code>.*?</tr>", page).group(0)
    assert torchinfo["params_bytes"] in row and "batch 2, float16" in page
    assert torchinfo["params_bytes"] != count(resnet50, "torchinfo", 2).memory["printed"]["params_bytes"]


@pytest.mark.parametrize("text, unkept", [
    ("input: [8]\nlayers:\n  - {type: relu}\n  - {type: linear, out_features: 3}\n", 8 * 4 * 3),   # relu: no grad yet
    ("input: {a: [8], b: [8]}\nlayers:\n  - {type: linear, inputs: [a], out_features: 8}\n"
     "  - {type: add, inputs: [linear-1, b]}\n", 8 * 4 * 3),                                       # a kept, b not
    ("input: [8]\nlayers:\n  - {type: linear, out_features: 3}\n", 0),                             # kept by linear
])
def test_an_input_no_layer_keeps_is_its_own_memory_category(text, unkept):
    network = archcalc.loads(text)
    page = render_report(network, ReportOptions(batch_size=3))
    memory = re.search(r'<table class="small"><thead><tr><th>Category.*?</table>', page).group(0)
    parts = dict((label, int(size.replace(",", ""))) for label, size in
                 re.findall(r"<tr><td>([^<]+)</td><td data-bytes>([\d,]+)</td>", memory))
    assert parts.get("Input batch (not kept by a layer)", 0) == unkept
    assert sum(parts.values()) == archcalc.training_memory(network, 3).totals.total_bytes
