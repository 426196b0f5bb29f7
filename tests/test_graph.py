"""`archcalc graph`: the graph model (every layer once, the blocks and repeats of the spec, figures that add up),
DOT rendered by Graphviz, Mermaid checked against the grammar of the subset it emits."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import archcalc
from archcalc.analysis.graph import network_graph, share_text
from archcalc.cli import main
from archcalc.report.graph_text import mermaid_text, render_dot, render_mermaid
from conftest import REPO

SPECS = REPO / "specs"


def graph_of(name: str):
    return network_graph(archcalc.load(SPECS / f"{name}.yaml"))


# spec → (layers, boxes shown folded, repeat frames as (name, ×N), block instances shown), counted from the
# real models: torchvision's ResNet-50 has 3 + 4 + 6 + 3 Bottleneck modules, GPT-2 small 12 GPT2Block.
FOLDED = [
    ("resnet50", 175, [("layer1", 3), ("layer2", 4), ("layer3", 6), ("layer4", 3)], 16),
    ("resnet18", 69, [("layer1", 2), ("layer2", 2), ("layer3", 2), ("layer4", 2)], 8),
    ("gpt2", 258, [("transformer.h", 12)], 12),
    ("densenet121", 431, [], 7),      # 4 dense blocks and 3 transitions, each one block instance
    ("unet", 67, [], 9),              # inc, down1-4, up1-4 (outc is a plain layer)
]


@pytest.mark.parametrize("spec, layers, repeats, instances", FOLDED)
def test_folded_view_shows_block_instances_in_their_repeats(spec, layers, repeats, instances):
    graph = graph_of(spec)
    view = graph.view(graph.default_open(True))
    assert graph.layer_count == layers
    assert [(graph.groups[frame].label, graph.groups[frame].count) for frame in view.frames] == repeats
    shown = [item for item in view.items if item in graph.groups]
    assert len(shown) == instances and all(graph.groups[item].kind == "instance" for item in shown)


@pytest.mark.parametrize("spec", ["resnet50", "gpt2", "densenet121", "unet", "lenet5", "llama_gqa_small"])
@pytest.mark.parametrize("collapse", [True, False])
def test_every_layer_is_in_exactly_one_box_and_the_sums_are_the_totals(spec, collapse):
    network = archcalc.load(SPECS / f"{spec}.yaml")
    graph = network_graph(network)
    view = graph.view(graph.default_open(collapse))
    covered = []
    for item in view.items:
        if item in graph.nodes:
            covered.append(graph.nodes[item].name)
        else:
            group = graph.groups[item]
            covered += [layer.name for layer in network.layers[group.first:group.last + 1]]
    assert sorted(covered) == sorted([layer.name for layer in network.layers] + [i.name for i in network.inputs])
    params = sum(graph.groups[i].params if i in graph.groups else graph.nodes[i].params for i in view.items)
    macs = sum(graph.groups[i].macs if i in graph.groups else graph.nodes[i].macs for i in view.items)
    assert (params, macs) == (network.totals.params, network.totals.macs)


def test_unfolded_view_has_a_box_per_layer_and_an_edge_per_input():
    network = archcalc.load(SPECS / "resnet50.yaml")
    graph = network_graph(network)
    view = graph.view(graph.default_open(False))
    assert len(view.items) == len(network.layers) + 1
    assert len(view.edges) == sum(len(layer.sources) for layer in network.layers)
    # frames: 4 repeats and their 16 instances
    assert len(view.frames) == 4 + 16


def test_edges_carry_the_shape_of_the_output_they_read():
    graph = graph_of("gpt2")
    by_name = {node.name: key for key, node in graph.nodes.items()}
    edges = {(graph.nodes[e.source].name, graph.nodes[e.target].name): e.shape for e in graph.edges}
    # the attention's query is output 0 of the split of c_attn's [1024, 2304] into three [1024, 768]
    assert edges[("transformer.h.0.attn.split", "transformer.h.0.attn.query.view")] == (1024, 768)
    assert edges[("input_ids", "transformer.wte")] == (1024,)
    assert "lm_head" in by_name


def test_a_repeat_beyond_the_open_limit_starts_folded_as_one_box(write_spec):
    path = write_spec("input: [8]\nblocks:\n  unit: [{type: linear, out_features: 8}, {type: relu}]\n"
                      "layers:\n  - {block: unit, name: body, repeat: 40}\n  - {type: linear, out_features: 2}\n")
    graph = network_graph(archcalc.load(path))
    view = graph.view(graph.default_open(True))
    assert [graph.groups[item].label for item in view.items if item in graph.groups] == ["body"]
    assert graph.groups["r:body"].count == 40 and graph.groups["r:body"].layers == 80
    assert len(graph.view(graph.default_open(False)).items) == 1 + 80 + 1     # --no-collapse: every layer


def test_segments_split_a_long_level_and_keep_every_layer(write_spec):
    path = write_spec("input: [4]\nlayers:\n" + "".join("  - {type: relu}\n" for _ in range(250)))
    graph = network_graph(archcalc.load(path)).segmented(100)
    # the input and 250 layers: 251 items at the top, in segments of 100, 100 and 51
    assert [len(graph.groups[key].children) for key in graph.top] == [100, 100, 51]
    assert [graph.groups[key].label for key in graph.top] == ["input … relu-99", "relu-100 … relu-199",
                                                              "relu-200 … relu-250"]
    view = graph.view(set())
    assert len(view.items) == 3 and len(view.edges) == 2


@pytest.mark.parametrize("value, total, text", [(1, 3, "33.3%"), (2, 3, "66.7%"), (0, 5, "0.0%"), (5, 5, "100.0%"),
                                                (1, 2000, "0.1%"), (1, 2001, "0.0%")])
def test_share_text_rounds_to_a_tenth_with_integers(value, total, text):
    assert share_text(value, total) == text


# --- DOT, rendered by Graphviz ---------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed (Debian: apt-get install graphviz)")
@pytest.mark.parametrize("spec", ["resnet50", "gpt2", "unet", "lenet5", "lstm_classifier"])
@pytest.mark.parametrize("collapse", [True, False])
def test_graphviz_renders_the_dot_output(spec, collapse, tmp_path):
    graph = graph_of(spec)
    text = render_dot(graph, graph.view(graph.default_open(collapse)), "macs")
    result = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stderr, result.stderr
    shown = graph.view(graph.default_open(collapse)).items
    assert result.stdout.count('class="node"') == len(shown)


def test_dot_escapes_quotes_and_backslashes_in_names(write_spec):
    path = write_spec('input: [4]\nlayers:\n  - {name: \'a "quoted" \\ name\', type: relu}\n')
    graph = network_graph(archcalc.load(path))
    text = render_dot(graph, graph.view(set()))
    assert r'"a \"quoted\" \\ name' in text


# --- Mermaid, checked against the grammar of what it emits -----------------------------------------

LABEL = r'(?:[^"#<>&`]|&(?:quot|lt|gt|amp|num|grave);|<br/>)*'
ID = r"m\d+"
MERMAID_LINES = [re.compile(pattern) for pattern in (
    r"flowchart TD",
    rf"\s*{ID}\[\"{LABEL}\"\]",                          # a box
    rf"\s*{ID}\(\[\"{LABEL}\"\]\)",                      # a network input (stadium)
    rf"\s*subgraph {ID}\[\"{LABEL}\"\]",
    r"\s*end",
    rf"\s*{ID} -->(?:\|\"{LABEL}\"\|)? {ID}",
    r"\s*classDef (?:level[1-8]|block) fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}(?:,stroke-width:2px)?(?:,color:#ffffff)?",
    rf"\s*class {ID}(?:,{ID})* (?:level[1-8]|block)",
    rf"\s*style {ID} fill:none,stroke:#[0-9a-f]{{6}},stroke-dasharray:4 3",
)]


def check_mermaid(text: str) -> None:
    """Every line is one of the forms above; subgraphs balance; every id is defined once before an edge uses it."""
    depth, defined = 0, set()
    for number, line in enumerate(text.splitlines(), 1):
        assert any(pattern.fullmatch(line) for pattern in MERMAID_LINES), f"line {number}: {line!r}"
        if line.strip().startswith("subgraph "):
            depth += 1
        elif line.strip() == "end":
            depth -= 1
            assert depth >= 0, f"line {number}: end without subgraph"
        definition = re.match(rf"\s*(?:subgraph )?({ID})[\[(]", line)
        if definition:
            assert definition.group(1) not in defined, f"line {number}: {definition.group(1)} defined twice"
            defined.add(definition.group(1))
        for used in re.findall(rf"({ID}) -->(?:\|.*?\|)? ({ID})$", line):
            assert set(used) <= defined, f"line {number}: edge to an undefined box"
    assert depth == 0, "unclosed subgraph"


@pytest.mark.parametrize("spec", ["resnet18", "resnet50", "gpt2", "unet", "densenet121", "lenet5"])
@pytest.mark.parametrize("color", [None, "macs", "params", "memory"])
def test_mermaid_output_is_in_the_flowchart_grammar(spec, color):
    graph = graph_of(spec)
    check_mermaid(render_mermaid(graph, graph.view(graph.default_open()), color))


@pytest.mark.parametrize("text, escaped", [('a "b"', "a &quot;b&quot;"), ("x<y>z", "x&lt;y&gt;z"),
                                           ("#1 & 2", "&num;1 &amp; 2"), ("`md`", "&grave;md&grave;"),
                                           ("layer1 ×3", "layer1 ×3")])
def test_mermaid_labels_escape_what_its_parser_reads(text, escaped):
    assert mermaid_text(text) == escaped


def test_hostile_names_stay_inside_their_mermaid_labels(write_spec):
    path = write_spec("input: [4]\nlayers:\n  - {name: 'x\"]; click m0 call alert(1) %%', type: relu}\n"
                      "  - {name: '<b>#quot;</b>', type: relu}\n")
    graph = network_graph(archcalc.load(path))
    check_mermaid(render_mermaid(graph, graph.view(set())))


# --- the command ------------------------------------------------------------------------------------

def test_graph_command_writes_mermaid_for_github(capsys):
    assert main(["graph", str(SPECS / "resnet18.yaml"), "--format", "mermaid"]) == 0
    out, err = capsys.readouterr()
    check_mermaid(out)
    assert out.startswith("flowchart TD\n") and "layer1 ×2 (basic)" in out and not err


def test_graph_format_follows_the_output_suffix(tmp_path, capsys):
    target = tmp_path / "lenet.dot"
    assert main(["graph", str(SPECS / "lenet5.yaml"), "-o", str(target)]) == 0
    assert target.read_text().startswith('digraph "lenet5" {')


def test_graph_of_an_invalid_spec_is_a_located_error(write_spec, capsys):
    path = write_spec("input: [4]\nlayers:\n  - {type: rleu}\n")
    assert main(["graph", str(path)]) == 1
    assert ":3:" in capsys.readouterr().err


def test_mermaid_past_githubs_size_limit_warns(write_spec, capsys):
    path = write_spec("input: [4]\nlayers:\n" + "".join("  - {type: relu}\n" for _ in range(600)))
    assert main(["graph", str(path), "--format", "mermaid", "--no-collapse"]) == 0
    assert "Mermaid's default limit" in capsys.readouterr().err


def test_the_vendored_layout_library_is_the_pinned_file_with_its_licence():
    from archcalc.report.graph_html import DAGRE_VERSION, VENDORED, VENDORED_SHA256, dagre_source, vendored_digest

    assert vendored_digest() == VENDORED_SHA256          # sha256 of the header + npm's dist/dagre.min.js
    head = VENDORED.read_text(encoding="utf-8")[:1200]
    assert f"@dagrejs/dagre {DAGRE_VERSION}" in head and "MIT licence" in head and "Chris Pettitt" in head
    assert "sourceMappingURL" not in dagre_source()       # the page asks for no map file


def test_the_html_page_holds_everything_it_needs(tmp_path):
    from archcalc.report.graph_html import render_page

    text = render_page(graph_of("resnet50"))
    # nothing the page could load: no src/href to a URL, no stylesheet or font import, no fetch
    # (the browser tests also refuse and record every request)
    for loader in ("src=", "href=", "@import", "fetch(", "XMLHttpRequest", "<link", "<iframe"):
        assert loader not in text, loader
    assert not re.search(r"url\((?!#)", text)          # only references inside the page (an arrowhead marker)
    assert len(text.encode()) < 2 * 2**20


def test_expansion_records_the_block_instances_of_every_layer(write_spec):
    """The provenance the graph folds by (spec/blocks.py `scopes`): outermost first, with each repeat's name,
    place and count; a templated name's repeat is named by its block and the place of its use."""
    from archcalc.spec.blocks import Scope

    path = write_spec("input: [4]\nblocks:\n  inner: [{type: relu}]\n  outer:\n    layers:\n"
                      "      - {block: inner, name: 'part${i}', repeat: 2}\n      - {name: tail, type: relu}\n"
                      "layers:\n  - {name: stem, type: relu}\n  - {block: outer, name: body, repeat: 2}\n")
    network = archcalc.load(path)
    scopes = {layer.name: network.source["layers"].scopes[layer.index] for layer in network.layers}
    assert scopes["stem"] == ()
    assert scopes["body.1.part0.relu-1"] == (Scope("body.1", "outer", "body", 1, 2),
                                              Scope("body.1.part0", "inner", "body.1.inner@6:9", 0, 2))
    assert scopes["body.0.tail"] == (Scope("body.0", "outer", "body", 0, 2),)
    graph = network_graph(network)
    assert [graph.groups[key].label for key in graph.groups] == [
        "body", "body.0", "body.0.inner", "body.0.part0", "body.0.part1", "body.1", "body.1.inner", "body.1.part0",
        "body.1.part1"]
