"""The graph as a standalone SVG picture, laid out here in pure Python (no Graphviz, no browser).

The layout is the layered (Sugiyama) scheme that Graphviz's dot and dagre follow, in its simplest
deterministic form, which suits the graphs a spec makes (its layer order is already topological, branches are
short): ranks by longest path, a dummy point per rank crossed by a long edge (so that skip connections go
around boxes, not through them), barycentre ordering sweeps, then x positions pulled towards the neighbours'
mean with a minimum gap. It is linear in the number of boxes and edges (sorting aside): a 10,000-layer spec is
drawn in well under a second. The interactive HTML view uses dagre itself (graph_html.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from ..analysis.graph import Graph, GraphView, box_figures, shade, share_text
from .graph_text import DARK_LEVELS, FRAME_COLOR, GROUP_FILL, PALETTE, box_lines, frame_title, shape_text
from .numbers import grouped

FONT = "DejaVu Sans Mono,Menlo,Consolas,monospace"
CHAR = 6.7          # advance of one character of the 11 px monospace font
LINE = 15
PAD = 8
GAP = 24            # between boxes of a rank
RANK_GAP = 44       # between ranks: the edge label below the source, then a frame's title above the target
DUMMY_WIDTH = 12
SWEEPS = 4


@dataclass
class _Box:
    key: str
    rank: int
    width: float
    height: float
    dummy: bool = False
    order: float = 0
    x: float = 0
    y: float = 0


def layout(graph: Graph, view: GraphView) -> tuple[dict[str, _Box], list[tuple[str, list[str], str]], float, float]:
    """Boxes with centre coordinates, each edge as (label, the box keys it passes through), width, height."""
    boxes: dict[str, _Box] = {}
    incoming: dict[str, list[str]] = {item: [] for item in view.items}
    for edge in view.edges:
        incoming[edge.target].append(edge.source)
    for item in view.items:
        lines = box_lines(graph, item)
        rank = max((boxes[source].rank + 1 for source in incoming[item]), default=0)
        boxes[item] = _Box(item, rank, max(len(line) for line in lines) * CHAR + 2 * PAD, len(lines) * LINE + PAD)
    routes: list[tuple[str, list[str], str]] = []
    for number, edge in enumerate(view.edges):
        path = [edge.source]
        for rank in range(boxes[edge.source].rank + 1, boxes[edge.target].rank):
            key = f"d{number}:{rank}"
            boxes[key] = _Box(key, rank, DUMMY_WIDTH, LINE, dummy=True)
            path.append(key)
        path.append(edge.target)
        routes.append((shape_text(edge.shape) if edge.shape else "", path, edge.target))
    ranks: list[list[_Box]] = [[] for _ in range(1 + max((box.rank for box in boxes.values()), default=0))]
    for box in boxes.values():     # items in spec order, then dummies in edge order
        ranks[box.rank].append(box)
    above: dict[str, list[str]] = {key: [] for key in boxes}
    below: dict[str, list[str]] = {key: [] for key in boxes}
    for _, path, _ in routes:
        for upper, lower in zip(path, path[1:]):
            above[lower].append(upper)
            below[upper].append(lower)
    _order(ranks, above, below)
    _place_x(ranks, boxes, above, below)
    y = float(PAD * 3)
    for rank in ranks:
        tallest = max(box.height for box in rank) if rank else LINE
        for box in rank:
            box.y = y + tallest / 2
        y += tallest + RANK_GAP
    left = min(box.x - box.width / 2 for box in boxes.values())
    for box in boxes.values():
        box.x += PAD * 3 - left
    width = max(box.x + box.width / 2 for box in boxes.values()) + PAD * 3
    return boxes, routes, width, y


def _order(ranks: list[list[_Box]], above: dict[str, list[str]], below: dict[str, list[str]]) -> None:
    """Barycentre sweeps: each box moves to the mean place of its neighbours in the rank before."""
    for rank in ranks:
        for position, box in enumerate(rank):
            box.order = position
    place = {box.key: box for rank in ranks for box in rank}
    for sweep in range(SWEEPS):
        downwards = sweep % 2 == 0
        sequence = ranks[1:] if downwards else list(reversed(ranks[:-1]))
        for rank in sequence:
            for box in rank:
                neighbours = above[box.key] if downwards else below[box.key]
                if neighbours:
                    box.order = sum(place[key].order for key in neighbours) / len(neighbours)
            rank.sort(key=lambda box: box.order)   # stable: ties keep the spec order
            for position, box in enumerate(rank):
                box.order = position


def _place_x(ranks: list[list[_Box]], boxes: dict[str, _Box], above: dict[str, list[str]],
             below: dict[str, list[str]]) -> None:
    for rank in ranks:
        x = 0.0
        for box in rank:
            box.x = x + box.width / 2
            x += box.width + GAP
        _centre(rank)
    for sweep in range(SWEEPS):
        downwards = sweep % 2 == 0
        for rank in (ranks[1:] if downwards else list(reversed(ranks[:-1]))):
            wanted = []
            for box in rank:
                neighbours = above[box.key] if downwards else below[box.key]
                wanted.append(sum(boxes[key].x for key in neighbours) / len(neighbours) if neighbours else box.x)
            _pack(rank, wanted)


def _centre(rank: list[_Box]) -> None:
    if rank:
        middle = (rank[0].x - rank[0].width / 2 + rank[-1].x + rank[-1].width / 2) / 2
        for box in rank:
            box.x -= middle


def _pack(rank: list[_Box], wanted: list[float]) -> None:
    """Put each box at its wanted x, pushed right only as far as the gap needs; then shift the rank so that the
    boxes are on average where they want to be."""
    previous = None
    for box, x in zip(rank, wanted):
        if previous is not None:
            x = max(x, previous.x + previous.width / 2 + GAP + box.width / 2)
        box.x = x
        previous = box
    shift = sum(want - box.x for box, want in zip(rank, wanted)) / len(rank)
    for box in rank:
        box.x += shift


def render_svg(graph: Graph, view: GraphView, color: str | None = None) -> str:
    boxes, routes, width, height = layout(graph, view)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}"'
           f' viewBox="0 0 {width:.0f} {height:.0f}" font-family={quoteattr(FONT)} font-size="11">',
           f"<title>{escape(graph.name or 'network')} — archcalc graph</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
           ' orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#6b7280"/></marker></defs>',
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>']
    out += _frames(graph, view, boxes)
    for label, path, _ in routes:
        points = [(boxes[key].x, boxes[key].y) for key in path]
        start, end = boxes[path[0]], boxes[path[-1]]
        points[0] = (start.x, start.y + start.height / 2)
        points[-1] = (end.x, end.y - end.height / 2)
        data = "".join(f"{'L' if i else 'M'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
        out.append(f'<g class="edge"><path d="{data}" fill="none" stroke="#6b7280" stroke-width="1.2"'
                   ' marker-end="url(#arrow)"/>')
        if label:
            x, y = points[0]
            out.append(f'<text x="{x + 5:.1f}" y="{y + 12:.1f}" font-size="10" fill="#4b5563">{escape(label)}</text>')
        out.append("</g>")
    for item in view.items:
        out.append(_box(graph, item, boxes[item], color))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _frames(graph: Graph, view: GraphView, boxes: dict[str, _Box]) -> list[str]:
    """A dashed frame around the boxes of each open block or repeat, outer frames a little wider."""
    members: dict[str, list[_Box]] = {frame: [] for frame in view.frames}
    depth: dict[str, int] = {}
    for frame in view.frames:
        level, parent = 0, graph.groups[frame].parent
        while parent is not None:
            level, parent = level + 1, graph.groups[parent].parent
        depth[frame] = level
    for item in view.items:
        parent = graph.parent(item)
        while parent is not None:
            if parent in members:
                members[parent].append(boxes[item])
            parent = graph.groups[parent].parent
    deepest = max(depth.values(), default=0)
    out = []
    for frame in view.frames:
        inside = members[frame]
        if not inside:
            continue
        margin = 6 + 6 * (deepest - depth[frame])
        left = min(box.x - box.width / 2 for box in inside) - margin
        right = max(box.x + box.width / 2 for box in inside) + margin
        top = min(box.y - box.height / 2 for box in inside) - margin - 12
        bottom = max(box.y + box.height / 2 for box in inside) + margin
        out.append(f'<g class="frame"><rect x="{left:.1f}" y="{top:.1f}" width="{right - left:.1f}"'
                   f' height="{bottom - top:.1f}" rx="8" fill="none" stroke="{FRAME_COLOR}" stroke-dasharray="5 3"/>'
                   f'<text x="{left + 8:.1f}" y="{top + 11:.1f}" fill="{FRAME_COLOR}">'
                   f'{escape(frame_title(graph.groups[frame]))}</text></g>')
    return out


def _box(graph: Graph, item: str, box: _Box, color: str | None) -> str:
    level = shade(graph, item, color)
    group = item in graph.groups
    fill = PALETTE[level] if level else (GROUP_FILL if group else "#ffffff")
    ink = "#ffffff" if level >= DARK_LEVELS else "#1d2330"
    is_input = item in graph.nodes and graph.nodes[item].type == "input"
    left, top = box.x - box.width / 2, box.y - box.height / 2
    params, macs, memory = box_figures(graph, item)
    totals = graph.totals
    tip = f"params {grouped(params)} ({share_text(params, totals['params'])}) · MACs {grouped(macs)}" \
          f" ({share_text(macs, totals['macs'])})"
    if graph.has_memory:
        tip += f" · training memory {grouped(memory)} B ({share_text(memory, totals['memory'])})"
    lines = box_lines(graph, item)
    text = "".join(f'<text x="{left + PAD:.1f}" y="{top + LINE * (number + 1):.1f}" fill="{ink}"'
                   f'{" font-weight=" + quoteattr("bold") if number == 0 else ""}>{escape(line)}</text>'
                   for number, line in enumerate(lines))
    return (f'<g class="{"group" if group else "layer"}" data-name={quoteattr(lines[0])}>'
            f"<title>{escape(lines[0])}: {escape(tip)}</title>"
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{box.width:.1f}" height="{box.height:.1f}"'
            f' rx="{box.height / 2 if is_input else 6:.1f}" fill="{fill}"'
            f' stroke="{FRAME_COLOR if group else "#3b4252"}" stroke-width="{2 if group else 1}"/>{text}</g>')


__all__ = ["layout", "render_svg"]
