"""The network as a graph to draw: a node per layer and per network input, edges labelled with the tensor
they carry, and the block hierarchy of the spec (block instances, `repeat` groups) so that views can fold it.

    graph = network_graph(network)               # every layer, its figures and its place in the blocks
    view = graph.view(graph.default_open())      # what is drawn: visible nodes, folded groups, edges

A `view` is the graph with some groups open: a closed group is drawn as one node carrying the sums of its
layers (a block instance, or a repeat marked ×N); an open group is a frame around what it holds. The HTML
view (report/graph_html.py) does the same folding in the browser. The hierarchy comes from the expansion
(`archcalc.spec.blocks.Scope`, kept per flat layer in the expanded document the Network holds as `source`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..network import Network
from .propagate import split_reference

# Over this many layers a spec is drawn folded unless asked otherwise (`--collapse` is the default).
COLLAPSE_ABOVE = 40
# A repeat of more instances than this starts closed even when blocks are open: ×N, expandable.
OPEN_REPEAT_LIMIT = 32
COLORINGS = ("macs", "params", "memory")


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One layer (or network input): its figures for one sample, float32, and the group it sits in."""

    id: str
    name: str
    type: str                        # the layer type; "input" for a network input
    output_shapes: tuple[tuple[int, ...], ...]
    params: int
    macs: int
    memory: int                      # bytes autograd keeps for the backward pass (archcalc memory), batch 1
    parent: str | None               # the innermost group holding it; None at the top
    index: int                       # place in the spec's layer order (inputs: -1)
    shared_with: str | None = None


@dataclass(frozen=True, slots=True)
class GraphEdge:
    source: str                      # node ids
    target: str
    shape: tuple[int, ...]


@dataclass(slots=True)
class GraphGroup:
    """A block instance (`kind` "instance"), a `repeat` of instances ("repeat", `count` of them) or, in big
    views, a run of consecutive items ("segment") so that no level holds too many to lay out."""

    id: str
    kind: str
    label: str
    block: str
    count: int
    parent: str | None
    children: list[str] = field(default_factory=list)   # node and group ids, in spec order
    params: int = 0
    macs: int = 0
    memory: int = 0
    layers: int = 0                                     # layers inside, at any depth
    first: int = 0                                      # the first and last layer index inside
    last: int = 0


@dataclass(frozen=True, slots=True)
class GraphView:
    """What a static picture draws: `items` are node or group ids shown as boxes, in spec order (so every
    edge points forward); `frames` the open groups around them; `edges` between shown boxes."""

    items: tuple[str, ...]
    frames: tuple[str, ...]
    edges: tuple[GraphEdge, ...]


@dataclass
class Graph:
    name: str | None
    nodes: dict[str, GraphNode]
    edges: list[GraphEdge]
    groups: dict[str, GraphGroup]
    top: list[str]                                      # the top level's node and group ids, in spec order
    totals: dict[str, int]                              # params, macs, memory of the whole network
    has_memory: bool = True                             # whether memory was measured (else it is 0 throughout)

    @property
    def layer_count(self) -> int:
        return sum(1 for node in self.nodes.values() if node.index >= 0)

    def parent(self, item: str) -> str | None:
        return self.nodes[item].parent if item in self.nodes else self.groups[item].parent

    def default_open(self, collapse: bool | None = None) -> set[str]:
        """The groups open in the first view. With `collapse` (default: for specs over COLLAPSE_ABOVE layers)
        every block instance is one box and each repeat of up to OPEN_REPEAT_LIMIT instances an open frame
        (a longer one is one ×N box); without it every block group is open. Segments always start closed."""
        if collapse is None:
            collapse = self.layer_count > COLLAPSE_ABOVE
        opened = set()
        for group in self.groups.values():
            if group.kind == "segment":
                continue
            if collapse and (group.kind == "instance" or group.count > OPEN_REPEAT_LIMIT):
                continue
            opened.add(group.id)
        return opened

    def representative(self, node_id: str, opened: set[str]) -> str:
        """The box that shows `node_id`: its outermost closed group, or the node itself."""
        shown, item = node_id, self.parent(node_id)
        while item is not None:
            if item not in opened:
                shown = item
            item = self.groups[item].parent
        return shown

    def view(self, opened: Iterable[str]) -> GraphView:
        opened = set(opened)
        shown = {node: self.representative(node, opened) for node in self.nodes}
        items = list(dict.fromkeys(shown[node] for node in self.nodes))
        frames = []
        for item in items:
            parent = self.parent(item)
            while parent is not None and parent not in frames:
                frames.append(parent)
                parent = self.groups[parent].parent
        edges, seen = [], set()
        for edge in self.edges:
            source, target = shown[edge.source], shown[edge.target]
            if source != target and (source, target) not in seen:
                seen.add((source, target))
                edges.append(GraphEdge(source, target, edge.shape))
        order = {item: position for position, item in enumerate(self.top_order())}
        frames.sort(key=order.__getitem__)
        return GraphView(tuple(items), tuple(frames), tuple(edges))

    def top_order(self) -> list[str]:
        """Every node and group id, depth first in spec order (a group before what it holds)."""
        order: list[str] = []
        stack = list(reversed(self.top))
        while stack:
            item = stack.pop()
            order.append(item)
            if item in self.groups:
                stack.extend(reversed(self.groups[item].children))
        return order

    def segmented(self, size: int) -> Graph:
        """The graph with every level of more than `size` items split into segments of at most `size`
        (nested when needed), so that an interactive view never lays out more than `size` boxes per
        level. The groups are new objects; nodes and edges are shared."""
        groups = {key: GraphGroup(**{name: getattr(group, name) for name in GraphGroup.__slots__})
                  for key, group in self.groups.items()}
        for group in groups.values():
            group.children = list(group.children)
        parents = {key: node.parent for key, node in self.nodes.items()}
        nodes = dict(self.nodes)
        top = _split(list(self.top), None, size, groups, parents, self.nodes)
        for key in list(self.groups):
            groups[key].children = _split(groups[key].children, key, size, groups, parents, self.nodes)
        for key, parent in parents.items():
            if key in nodes and nodes[key].parent != parent:
                node = nodes[key]
                nodes[key] = GraphNode(node.id, node.name, node.type, node.output_shapes, node.params, node.macs,
                                       node.memory, parent, node.index, node.shared_with)
        return Graph(self.name, nodes, self.edges, groups, top, self.totals, self.has_memory)

    def to_dict(self) -> dict[str, Any]:
        """The graph as plain JSON-ready data: nodes, groups (the hierarchy, with sums) and edges."""
        return {
            "name": self.name,
            "totals": self.totals,
            "top": self.top,
            "nodes": [[node.id, node.name, node.type, [list(shape) for shape in node.output_shapes], node.params,
                       node.macs, node.memory, node.parent, node.shared_with] for node in self.nodes.values()],
            "groups": [[group.id, group.kind, group.label, group.block, group.count, group.parent, group.children,
                        group.params, group.macs, group.memory, group.layers] for group in self.groups.values()],
            "edges": [[edge.source, edge.target, list(edge.shape)] for edge in self.edges],
        }


def _split(children: list[str], parent: str | None, size: int, groups: dict[str, GraphGroup],
           parents: dict[str, str | None], nodes: dict[str, GraphNode]) -> list[str]:
    """`children` as at most `size` items: consecutive runs folded into segments, level by level."""
    level = 0
    while len(children) > size:
        level += 1
        runs = [children[start:start + size] for start in range(0, len(children), size)]
        children = []
        for run in runs:
            key = f"s:{parent or ''}:{level}:{run[0]}"
            segment = GraphGroup(key, "segment", "", "", len(run), parent, run)
            for item in run:
                _figures_into(segment, item, groups, nodes)
                if item in groups:
                    groups[item].parent = key
                else:
                    parents[item] = key
            segment.label = f"{_first_name(run[0], groups, nodes)} … {_last_name(run[-1], groups, nodes)}"
            groups[key] = segment
            children.append(key)
    return children


def _first_name(item: str, groups: dict[str, GraphGroup], nodes: dict[str, GraphNode]) -> str:
    while item in groups:
        item = groups[item].children[0]
    return nodes[item].name


def _last_name(item: str, groups: dict[str, GraphGroup], nodes: dict[str, GraphNode]) -> str:
    while item in groups:
        item = groups[item].children[-1]
    return nodes[item].name


def _figures_into(group: GraphGroup, item: str, groups: dict[str, GraphGroup], nodes: dict[str, GraphNode]) -> None:
    if item in groups:
        inner = groups[item]
        params, macs, memory, layers, first, last = (inner.params, inner.macs, inner.memory, inner.layers,
                                                     inner.first, inner.last)
    else:
        node = nodes[item]
        params, macs, memory, layers, first, last = node.params, node.macs, node.memory, int(node.index >= 0), \
            node.index, node.index
    if group.layers == 0:
        group.first = first
    group.params += params
    group.macs += macs
    group.memory += memory
    group.layers += layers
    group.last = last


def network_graph(network: Network, memory: dict[str, int] | None = None, measure_memory: bool = True) -> Graph:
    """The graph of `network`. `memory`: bytes per layer name to shade by (default: what autograd keeps for
    one sample in float32 on CPU, `archcalc memory`'s per-layer figure; a report that has measured it passes
    its own). With `measure_memory=False` and no `memory`, memory is not measured (`Graph.has_memory`)."""
    has_memory = memory is not None or measure_memory
    if memory is None and not measure_memory:
        memory = {}
    elif memory is None:
        from .memory import training_memory

        memory = {layer.name: layer.saved_activation_bytes
                  for layer in training_memory(network, 1, "float32", "none", "cpu").layers}
    scopes = getattr(network.source.get("layers") if isinstance(network.source, dict) else None, "scopes", None) or []
    nodes: dict[str, GraphNode] = {}
    groups: dict[str, GraphGroup] = {}
    top: list[str] = []
    ids: dict[str, str] = {}
    for position, item in enumerate(network.inputs):
        key = f"in{position}"
        ids[item.name] = key
        nodes[key] = GraphNode(key, item.name, "input", (item.shape,), 0, 0, 0, None, -1)
        top.append(key)
    if "input" not in ids and network.inputs:
        ids["input"] = "in0"
    outputs: dict[str, tuple[tuple[int, ...], ...]] = {item.name: (item.shape,) for item in network.inputs}
    outputs.setdefault("input", (network.input_shape,))
    edges: list[GraphEdge] = []
    for layer in network.layers:
        key = f"n{layer.index}"
        parent = None
        for scope in scopes[layer.index] if layer.index < len(scopes) else ():
            if scope.repeat is not None:
                parent = _group(groups, top, f"r:{scope.repeat}", "repeat", scope.repeat.rpartition("@")[0]
                                if "@" in scope.repeat else scope.repeat, scope.block, scope.count, parent)
            parent = _group(groups, top, f"i:{scope.instance}", "instance", scope.instance, scope.block, 1, parent)
        node = GraphNode(key, layer.name, layer.type, layer.output_shapes or (layer.output_shape,), layer.params,
                         layer.macs, memory.get(layer.name, 0), parent, layer.index, layer.shared_with)
        nodes[key] = node
        (groups[parent].children if parent else top).append(key)
        while parent is not None:
            _figures_into(groups[parent], key, {}, nodes)
            parent = groups[parent].parent
        for source in layer.sources:
            name, output = split_reference(source)
            found = ids.get(source) or ids.get(name)
            shapes = outputs.get(source) or outputs.get(name) or ()
            shape = shapes[output or 0] if output is not None and output < len(shapes) else (shapes[0] if shapes else ())
            if found is not None:
                edges.append(GraphEdge(found, key, tuple(shape)))
        ids[layer.name] = key
        outputs[layer.name] = node.output_shapes
    totals = {"params": network.totals.params, "macs": network.totals.macs,
              "memory": sum(node.memory for node in nodes.values())}
    return Graph(network.name, nodes, edges, groups, top, totals, has_memory)


def _group(groups: dict[str, GraphGroup], top: list[str], key: str, kind: str, label: str, block: str, count: int,
           parent: str | None) -> str:
    if key not in groups:
        groups[key] = GraphGroup(key, kind, label, block, count, parent)
        (groups[parent].children if parent else top).append(key)
    return key


def box_figures(graph: Graph, item: str) -> tuple[int, int, int]:
    """(params, MACs, memory bytes) of a shown box: a node's own, a group's sums."""
    if item in graph.nodes:
        node = graph.nodes[item]
        return node.params, node.macs, node.memory
    group = graph.groups[item]
    return group.params, group.macs, group.memory


def shade(graph: Graph, item: str, color: str | None, levels: int = 8) -> int:
    """The shading level 0 … levels of a box by its share of the network's total `color` figure
    (integer arithmetic: ⌈levels · value / total⌉ on a square-root scale, so that small shares still show)."""
    if color is None:
        return 0
    params, macs, memory = box_figures(graph, item)
    value = {"params": params, "macs": macs, "memory": memory}[color]
    total = graph.totals[color]
    if value <= 0 or total <= 0:
        return 0
    # level k when value / total ≥ ((k − 1) / levels)²: the square root spreads the many small shares
    level = 1
    while level < levels and value * levels * levels >= total * level * level:
        level += 1
    return level


def share_text(value: int, total: int) -> str:
    """A share as a percentage with one decimal, from integers (the rounding is to the nearest tenth)."""
    if total <= 0:
        return "0.0%"
    tenths = (value * 2000 + total) // (2 * total)
    return f"{tenths // 10}.{tenths % 10}%"


__all__ = ["COLLAPSE_ABOVE", "COLORINGS", "Graph", "GraphEdge", "GraphGroup", "GraphNode", "GraphView",
           "OPEN_REPEAT_LIMIT", "box_figures", "network_graph", "shade", "share_text"]
