"""The graph as text for other tools: Graphviz DOT and Mermaid (a `flowchart TD` that GitHub renders).

Both draw the same view (`archcalc.analysis.graph.Graph.view`): one box per shown layer or folded block,
edges labelled with tensor shapes, open repeats and blocks as clusters / subgraphs.
"""

from __future__ import annotations

from functools import lru_cache

from ..analysis.graph import Graph, GraphGroup, GraphView, box_figures, shade
from .numbers import readable
from .numbers import shape_text as _shape_text

# A network repeats few shapes many times: a 10,000-layer spec's boxes and edges name a handful.
shape_text = lru_cache(maxsize=4096)(_shape_text)

# Fill colours of the shading levels 0 … 8 (ColorBrewer's sequential "Oranges", 9 classes; 0 is white).
PALETTE = ("#ffffff", "#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04")
# Levels whose fill is dark enough to need white text.
DARK_LEVELS = 6
GROUP_FILL = "#eef3fb"
FRAME_COLOR = "#5b7fb8"
# Mermaid's own defaults (mermaid.initialize maxTextSize, maxEdges), which GitHub keeps: past them the
# diagram is refused with "Maximum text size in diagram exceeded".
MERMAID_MAX_TEXT = 50_000
MERMAID_MAX_EDGES = 500


def box_lines(graph: Graph, item: str) -> list[str]:
    """The text of a shown box: a layer's name, type, output shape and figures; a folded group's name,
    block, size and sums."""
    params, macs, _ = box_figures(graph, item)
    if item in graph.nodes:
        node = graph.nodes[item]
        shapes = " ".join(shape_text(shape) for shape in node.output_shapes)
        if node.type == "input":
            return [node.name, shapes]
        lines = [node.name, f"{node.type} {shapes}"]
        if node.shared_with:
            return lines + [f"shares {node.shared_with} · MACs {readable(macs)}"]
        return lines + ([f"params {readable(params)} · MACs {readable(macs)}"] if params or macs else [])
    group = graph.groups[item]
    title = f"{group.label} ×{group.count}" if group.kind == "repeat" else group.label
    what = f"{group.block} · {group.layers:,} layers" if group.block else f"{group.layers:,} layers"
    return [title, what, f"params {readable(params)} · MACs {readable(macs)}"]


def _children_tree(graph: Graph, view: GraphView) -> dict[str | None, list[str]]:
    """For each open frame (None: the top), the shown items and frames directly inside it, in spec order."""
    frames = set(view.frames)
    inside: dict[str | None, list[str]] = {None: [], **{frame: [] for frame in view.frames}}
    for item in (*view.frames, *view.items):
        parent = graph.parent(item)
        while parent is not None and parent not in frames:
            parent = graph.groups[parent].parent
        inside[parent].append(item)
    order = {item: position for position, item in enumerate(graph.top_order())}
    for members in inside.values():
        members.sort(key=order.__getitem__)
    return inside


def frame_title(group: GraphGroup) -> str:
    """A frame's caption, in every format: `layer1 ×3 (bottleneck)`, `stem (conv_bn)`."""
    if group.kind == "repeat":
        return f"{group.label} ×{group.count} ({group.block})"
    if group.kind == "instance":
        return f"{group.label} ({group.block})"
    return group.label


# --- DOT -------------------------------------------------------------------------------------------

def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(graph: Graph, view: GraphView, color: str | None = None) -> str:
    """Graphviz DOT: `dot -Tsvg` draws it (clusters for open blocks and repeats)."""
    name = graph.name or "network"
    lines = [f"digraph {_dot_string(name)} {{",
             '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.35];',
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9, color="#555555"];']
    inside = _children_tree(graph, view)
    frames = set(view.frames)

    def emit(container: str | None, indent: str) -> None:
        for item in inside[container]:
            if item in frames:
                lines.append(f"{indent}subgraph {_dot_string('cluster_' + item)} {{")
                lines.append(f'{indent}  label={_dot_string(frame_title(graph.groups[item]))}; style="rounded,dashed";'
                             f' color="{FRAME_COLOR}"; fontcolor="{FRAME_COLOR}";')
                emit(item, indent + "  ")
                lines.append(f"{indent}}}")
            else:
                lines.append(f"{indent}{_dot_string(item)} [{_dot_attributes(graph, item, color)}];")

    emit(None, "  ")
    for edge in view.edges:
        label = shape_text(edge.shape) if edge.shape else ""
        lines.append(f"  {_dot_string(edge.source)} -> {_dot_string(edge.target)} [label={_dot_string(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_attributes(graph: Graph, item: str, color: str | None) -> str:
    attributes = [f"label={_dot_string(chr(10).join(box_lines(graph, item)))}"]
    level = shade(graph, item, color)
    if level:
        attributes.append(f'fillcolor="{PALETTE[level]}"')
        if level >= DARK_LEVELS:
            attributes.append('fontcolor="#ffffff"')
    elif item in graph.groups:
        attributes.append(f'fillcolor="{GROUP_FILL}"')
    if item in graph.groups:
        attributes.append('penwidth=2')
    if item in graph.nodes and graph.nodes[item].type == "input":
        attributes.append('shape=ellipse')
    return ", ".join(attributes)


# --- Mermaid ---------------------------------------------------------------------------------------

# HTML's named character references: Mermaid passes them to its HTML labels, which the browser decodes (node
# labels, edge labels and subgraph titles alike). Mermaid's own `#quot;` codes are avoided: Mermaid 11 prints
# them as placeholder characters. `#` is escaped too, since `#name;` would be read as such a code; the
# backtick, since a label in backticks is Markdown.
_MERMAID_ENTITIES = {"&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;", "#": "&num;", "`": "&grave;"}


def mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: what its parser or the HTML label would read, as entities."""
    return "".join(_MERMAID_ENTITIES.get(character, character) for character in text)


def render_mermaid(graph: Graph, view: GraphView, color: str | None = None) -> str:
    """A Mermaid flowchart; ids are m0, m1, ... so that no layer name can break the syntax."""
    ids = {item: f"m{position}" for position, item in enumerate((*view.frames, *view.items))}
    lines = ["flowchart TD"]
    inside = _children_tree(graph, view)
    frames = set(view.frames)

    def emit(container: str | None, indent: str) -> None:
        for item in inside[container]:
            if item in frames:
                lines.append(f'{indent}subgraph {ids[item]}["{mermaid_text(frame_title(graph.groups[item]))}"]')
                emit(item, indent + "  ")
                lines.append(f"{indent}end")
            else:
                label = "<br/>".join(mermaid_text(line) for line in box_lines(graph, item))
                opening, closing = ("([", "])") if item in graph.nodes and graph.nodes[item].type == "input" else \
                    ('[', ']')
                lines.append(f'{indent}{ids[item]}{opening}"{label}"{closing}')

    emit(None, "  ")
    for edge in view.edges:
        label = f'|"{mermaid_text(shape_text(edge.shape))}"|' if edge.shape else ""
        lines.append(f"  {ids[edge.source]} -->{label} {ids[edge.target]}")
    classes: dict[str, list[str]] = {}
    for item in view.items:
        level = shade(graph, item, color)
        name = f"level{level}" if level else ("block" if item in graph.groups else "")
        if name:
            classes.setdefault(name, []).append(ids[item])
    for name, members in classes.items():
        if name == "block":
            lines.append(f"  classDef block fill:{GROUP_FILL},stroke:{FRAME_COLOR},stroke-width:2px")
        else:
            level = int(name[5:])
            text = ",color:#ffffff" if level >= DARK_LEVELS else ""
            lines.append(f"  classDef {name} fill:{PALETTE[level]},stroke:#555555{text}")
        lines.append(f"  class {','.join(members)} {name}")
    for frame in view.frames:
        lines.append(f"  style {ids[frame]} fill:none,stroke:{FRAME_COLOR},stroke-dasharray:4 3")
    return "\n".join(lines) + "\n"


def mermaid_limits(text: str) -> str | None:
    """Why GitHub's Mermaid would refuse `text` (its default size limits), or None."""
    edges = sum(1 for line in text.splitlines() if " -->" in line)
    if len(text) > MERMAID_MAX_TEXT:
        return (f"the diagram has {len(text):,} characters, more than Mermaid's default limit of {MERMAID_MAX_TEXT:,}"
                " (GitHub refuses it): fold it with --collapse or use --format svg")
    if edges > MERMAID_MAX_EDGES:
        return (f"the diagram has {edges:,} edges, more than Mermaid's default limit of {MERMAID_MAX_EDGES}"
                " (GitHub refuses it): fold it with --collapse or use --format svg")
    return None


__all__ = ["DARK_LEVELS", "PALETTE", "box_lines", "frame_title", "mermaid_limits",
           "mermaid_text", "render_dot", "render_mermaid"]
