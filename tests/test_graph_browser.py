"""The graph pictures in a real browser (headless Chromium, tests/browser.py): the HTML view loads offline with
no console error and no request, holds every layer, folds and unfolds, finds a layer, shades; the SVG opens too.
Screenshots are checked to be drawn (not blank) and kept in the test's folder to look at."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

import archcalc
from archcalc.analysis.graph import network_graph
from archcalc.report.graph_html import SEGMENT, render_page
from archcalc.report.graph_svg import layout, render_svg
from browser import distinct_colors, inked_fraction
from conftest import REPO

SPECS = REPO / "specs"


def write_page(tmp_path, spec, **options):
    network = archcalc.load(spec)
    path = tmp_path / "graph.html"
    path.write_text(render_page(network_graph(network), **options), encoding="utf-8")
    return network, path


def boxes(page) -> int:
    return int(page.evaluate("document.querySelector('.ag-root').dataset.boxes"))


def kinds(page, kind: str) -> int:
    return page.evaluate(f"document.querySelectorAll('.ag-box[data-kind=\"{kind}\"]').length")


def assert_drawn(page, path) -> None:
    """A full screenshot for people, and a small one checked to hold a drawing: several colours, and ink on
    between 1 % and 90 % of it."""
    page.screenshot(path)
    small = page.screenshot(path.with_name(path.stem + "-small.png"), scale=0.25)
    inked, sampled = inked_fraction(small, step=1)
    assert distinct_colors(small, step=1) > 5
    assert sampled // 100 < inked < sampled * 9 // 10


# spec → boxes first shown, block instances among them, open repeats (torchvision's ResNet-50: 16 Bottleneck
# modules in 4 stages; Hugging Face's GPT-2: 12 GPT2Block), the instance to unfold
FIRST_VIEWS = [
    ("resnet50", 24, 16, 4, "i:layer1.0"),
    ("gpt2", 20, 12, 1, "i:transformer.h.0"),
]


@pytest.mark.parametrize("spec, shown, instances, repeats, unfold", FIRST_VIEWS)
def test_html_graph_loads_offline_folds_and_unfolds(page, tmp_path, spec, shown, instances, repeats, unfold):
    network, path = write_page(tmp_path, SPECS / f"{spec}.yaml", color="macs")
    page.open(path)
    page.wait_for("document.querySelector('.ag-root').dataset.boxes")
    assert boxes(page) == shown and kinds(page, "instance") == instances
    assert page.evaluate("document.querySelectorAll('.ag-frame').length") == repeats
    names = page.evaluate("Array.from(document.querySelectorAll('.ag-root datalist option'), o => o.value)")
    assert sorted(names) == sorted([layer.name for layer in network.layers] + [item.name for item in network.inputs])
    page.click(f'.ag-box[data-id="{unfold}"]')                       # unfold one block instance: its parts show
    inside = network_graph(network).groups[unfold].children
    assert len(inside) > 1 and boxes(page) == shown - 1 + len(inside)
    assert page.evaluate(f"!!document.querySelector('.ag-frame[data-id=\"{unfold}\"]')")
    assert_drawn(page, tmp_path / f"{spec}-unfolded.png")
    page.click(f'.ag-frame[data-id="{unfold}"] text')                 # fold it again from its frame's title
    assert boxes(page) == shown
    page.click('button[data-action="fold"]')                          # every repeat as one ×N box
    assert kinds(page, "repeat") == repeats and kinds(page, "instance") == 0
    page.click('button[data-action="unfold"]')
    assert boxes(page) == len(network.layers) + len(network.inputs)
    assert page.errors == [] and page.requests == []


def test_first_view_is_drawn_and_has_no_errors(page, tmp_path):
    _, path = write_page(tmp_path, SPECS / "resnet50.yaml", color="macs")
    page.open(path)
    assert_drawn(page, tmp_path / "resnet50.png")
    shaded = page.evaluate("Array.from(document.querySelectorAll('.ag-box rect'), r => r.getAttribute('fill'))")
    assert len(set(shaded)) > 2        # shaded by MACs: several levels of orange
    page.evaluate("const s = document.querySelector('.ag-color'); s.value = ''; s.dispatchEvent(new Event('change'))")
    plain = page.evaluate("Array.from(document.querySelectorAll('.ag-box rect'), r => r.getAttribute('fill'))")
    assert set(plain) <= {"#ffffff", "#eef3fb"}
    assert page.errors == [] and page.requests == []


def test_finding_a_layer_unfolds_its_blocks_and_marks_it(page, tmp_path):
    _, path = write_page(tmp_path, SPECS / "gpt2.yaml")
    page.open(path)
    page.evaluate("const f = document.querySelector('.ag-find'); f.value = 'transformer.h.7.attn.attention';"
                  " f.dispatchEvent(new Event('change'))")
    assert page.evaluate("document.querySelector('.ag-box.ag-found').dataset.name") == \
        "transformer.h.7.attn.attention"
    assert page.evaluate("!!document.querySelector('.ag-frame[data-id=\"i:transformer.h.7.attn\"]')")
    assert page.errors == []


def test_a_10000_layer_spec_opens_in_segments(page, tmp_path):
    lines = ["input: [3, 32, 32]", "layers:"] + ["  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}",
                                                  "  - {type: relu}"] * 5_000
    spec = tmp_path / "deep.yaml"
    spec.write_text("\n".join(lines) + "\n")
    network, path = write_page(tmp_path, spec)
    page.open(path, timeout=60)
    shown = boxes(page)
    assert SEGMENT // 2 < shown <= 2 * SEGMENT                       # segments of ≤ 100 layers, unfoldable
    assert page.evaluate("document.querySelectorAll('.ag-root datalist option').length") == 10_001
    page.click('.ag-box[data-kind="segment"]')
    assert boxes(page) > shown
    page.click('button[data-action="unfold"]')                        # too many to lay out: it says so
    assert "more than the 1,500" in page.evaluate("document.querySelector('.ag-note').textContent")
    assert page.errors == [] and page.requests == []


def test_hostile_layer_names_stay_text(page, tmp_path, write_spec):
    spec = write_spec("input: [4]\nlayers:\n  - {name: '</script><script>console.error(1)</script>', type: relu}\n"
                      "  - {name: '<img src=x onerror=console.error(2)>', type: relu}\n")
    _, path = write_page(tmp_path, spec)
    page.open(path)
    names = page.evaluate("Array.from(document.querySelectorAll('.ag-box'), b => b.dataset.name)")
    assert "</script><script>console.error(1)</script>" in names and "<img src=x onerror=console.error(2)>" in names
    assert page.errors == [] and page.requests == []


# --- the SVG picture ---------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["resnet50", "unet", "gpt2", "densenet121", "lenet5"])
@pytest.mark.parametrize("collapse", [True, False])
def test_svg_is_xml_with_a_box_per_shown_item_and_no_overlaps(spec, collapse):
    graph = network_graph(archcalc.load(SPECS / f"{spec}.yaml"), measure_memory=False)
    view = graph.view(graph.default_open(collapse))
    root = ElementTree.fromstring(render_svg(graph, view, "macs"))
    drawn = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") in ("layer", "group")]
    assert len(drawn) == len(view.items)
    placed, _, _, _ = layout(graph, view)
    by_rank: dict[int, list] = {}
    for box in placed.values():
        by_rank.setdefault(box.rank, []).append(box)
    for rank in by_rank.values():
        rank.sort(key=lambda box: box.x)
        for left, right in zip(rank, rank[1:]):
            assert left.x + left.width / 2 < right.x - right.width / 2, (left.key, right.key)


def test_svg_opens_in_the_browser(page, tmp_path):
    graph = network_graph(archcalc.load(SPECS / "unet.yaml"))
    path = tmp_path / "unet.svg"
    path.write_text(render_svg(graph, graph.view(graph.default_open(False)), "memory"), encoding="utf-8")
    page.open(path)
    assert page.evaluate("document.querySelectorAll('g.layer').length") == graph.layer_count + 1
    assert_drawn(page, tmp_path / "unet-svg.png")
    assert page.errors == [] and page.requests == []


# --- Mermaid's own parser and renderer, where its bundle is at hand ----------------------------------

def mermaid_bundle():
    """Mermaid's browser bundle (`npm pack mermaid`, then package/dist/mermaid.min.js) from $ARCHCALC_MERMAID_JS;
    the grammar test in test_graph.py runs everywhere, this one where the bundle is given."""
    import os
    from pathlib import Path

    path = os.environ.get("ARCHCALC_MERMAID_JS")
    return Path(path) if path and Path(path).is_file() else None


@pytest.mark.skipif(mermaid_bundle() is None, reason="set ARCHCALC_MERMAID_JS to mermaid.min.js (npm pack mermaid)")
@pytest.mark.parametrize("spec", ["resnet18", "resnet50", "gpt2", "unet", "densenet121"])
def test_mermaid_parses_and_renders_the_output(page, tmp_path, spec, write_spec):
    import json

    from archcalc.report.graph_text import render_mermaid

    host = tmp_path / "mermaid.html"
    host.write_text(f'<!DOCTYPE html><html><body><div id="out"></div><script src="{mermaid_bundle().as_uri()}">'
                    "</script></body></html>")
    page.open(host)
    page.evaluate("mermaid.initialize({startOnLoad: false, securityLevel: 'strict'})")
    graph = network_graph(archcalc.load(SPECS / f"{spec}.yaml"))
    text = render_mermaid(graph, graph.view(graph.default_open()), "macs")
    rendered = page.evaluate(f"mermaid.render('g', {json.dumps(text)}).then(r => {{"
                             " document.getElementById('out').innerHTML = r.svg;"
                             " return Array.from(document.querySelectorAll('#out .nodeLabel'), e => e.innerText); },"
                             " e => 'error: ' + e.message)")
    assert isinstance(rendered, list), rendered
    view = graph.view(graph.default_open())
    assert len(rendered) == len(view.items) + len(view.frames)     # Mermaid's labels: boxes and subgraph titles
    assert page.errors == []


@pytest.mark.skipif(mermaid_bundle() is None, reason="set ARCHCALC_MERMAID_JS to mermaid.min.js (npm pack mermaid)")
def test_mermaid_shows_hostile_names_as_written(page, tmp_path, write_spec):
    import json

    from archcalc.report.graph_text import render_mermaid

    names = ['x"]; click m0 call alert(1) %%', "<b>#quot;</b> & [a|b] `md`"]
    spec = write_spec("input: [4]\nlayers:\n" + "".join(f"  - {{name: {json.dumps(name)}, type: relu}}\n"
                                                        for name in names))
    host = tmp_path / "mermaid.html"
    host.write_text(f'<!DOCTYPE html><html><body><div id="out"></div><script src="{mermaid_bundle().as_uri()}">'
                    "</script></body></html>")
    page.open(host)
    page.evaluate("mermaid.initialize({startOnLoad: false, securityLevel: 'strict'})")
    graph = network_graph(archcalc.load(spec))
    text = render_mermaid(graph, graph.view(set()))
    shown = page.evaluate(f"mermaid.render('g', {json.dumps(text)}).then(r => {{"
                          " document.getElementById('out').innerHTML = r.svg;"
                          " return Array.from(document.querySelectorAll('#out .nodeLabel'), e => e.innerText); })")
    assert [label.split("\n")[0] for label in shown[1:]] == names


def test_two_fragments_on_one_page_each_start(page, tmp_path):
    """As in a report with a notebook-sized graph beside it, or two notebook outputs: each fragment brings the
    scripts, and each graph starts once."""
    from archcalc.report.graph_html import graph_fragment

    first = graph_fragment(network_graph(archcalc.load(SPECS / "resnet18.yaml")), "first", height="400px")
    second = graph_fragment(network_graph(archcalc.load(SPECS / "lenet5.yaml")), "second", height="400px")
    path = tmp_path / "two.html"
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{first}{second}</body></html>",
                    encoding="utf-8")
    page.open(path)
    counts = page.evaluate("Array.from(document.querySelectorAll('.ag-root'), r => r.dataset.boxes)")
    assert counts == ["16", "13"]       # ResNet-18: 8 blocks in 4 frames; LeNet-5: input and 12 layers
    page.click('#first .ag-box[data-id="i:layer1.0"]')
    assert page.evaluate("Array.from(document.querySelectorAll('.ag-root'), r => r.dataset.boxes)") == ["22", "13"]
    assert page.errors == [] and page.requests == []


def test_the_keyboard_unfolds_and_folds(page, tmp_path):
    _, path = write_page(tmp_path, SPECS / "resnet18.yaml")
    page.open(path)
    enter = "el.focus(); el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));"
    page.evaluate(f"(() => {{ const el = document.querySelector('.ag-box[data-id=\"i:layer2.0\"]'); {enter} }})()")
    assert boxes(page) == 16 - 1 + 9                                   # layer2.0: 9 layers (with the downsample)
    assert page.evaluate("document.activeElement.getAttribute('data-id')") == "i:layer2.0"   # now its frame
    page.evaluate(f"(() => {{ const el = document.activeElement; {enter} }})()")
    assert boxes(page) == 16 and page.errors == []


def test_a_block_with_quotes_in_its_name_is_found_and_folded(page, tmp_path, write_spec):
    spec = write_spec("input: [4]\nblocks:\n  unit: [{type: relu}, {type: relu}]\n"
                      "layers:\n  - {block: unit, name: 'a\"b]\\\\c'}\n  - {type: relu}\n")
    network, path = write_page(tmp_path, spec, collapse=True)
    inner = network.layers[1].name
    page.open(path)
    assert boxes(page) == 3                                            # input, the folded block, the last relu
    page.evaluate(f"const f = document.querySelector('.ag-find'); f.value = {json.dumps(inner)};"
                  " f.dispatchEvent(new Event('change'))")
    assert page.evaluate("document.querySelector('.ag-box.ag-found').dataset.name") == inner
    assert boxes(page) == 4
    enter = "el.focus(); el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));"
    page.evaluate(f"(() => {{ const el = document.querySelector('.ag-frame'); {enter} }})()")   # fold it again
    assert boxes(page) == 3 and page.evaluate("document.activeElement.dataset.kind") == "instance"
    assert page.errors == []
