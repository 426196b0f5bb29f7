"""The interactive graph: one self-contained piece of HTML (no CDN, no request, works from file://) in which
block instances and repeats fold and unfold on click, laid out in the browser by the vendored dagre.

    render_page(graph)                 # a whole page (`archcalc graph --format html`)
    graph_fragment(graph, "g1")        # a <div> with its data and script, to embed in a report or a notebook

The layout library is @dagrejs/dagre 3.1.3 (MIT), vendored unmodified as vendor/dagre-3.1.3.min.js with its
licence; `VENDORED_SHA256` pins the file. dagre's layering recurses once per rank and takes about a second for
1,000 boxes, so a level of more than SEGMENT boxes is split into segments that unfold on click too, and a view
is never drawn with more than MAX_BOXES boxes.
"""

from __future__ import annotations

import hashlib
import html
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..analysis.graph import Graph
from .graph_text import DARK_LEVELS, GROUP_FILL, FRAME_COLOR, PALETTE, box_lines, frame_title, shape_text

VENDORED = Path(__file__).resolve().parent / "vendor" / "dagre-3.1.3.min.js"
VENDORED_SHA256 = "9ef4be5f2842728d605104bfb723b9217fc5df809d070c2b4c98395c06e9e31e"
DAGRE_VERSION = "3.1.3"
SEGMENT = 100
MAX_BOXES = 1500
# JavaScript numbers are exact up to 2**53; larger figures travel as decimal strings (the page reads all of
# them with BigInt, so shares and sums stay integer arithmetic).
_EXACT_LIMIT = 2**53


@lru_cache(maxsize=1)
def dagre_source() -> str:
    """The vendored dagre, without its source-map comment (the map is not shipped)."""
    text = VENDORED.read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("//# sourceMappingURL="))


def _number(value: int) -> int | str:
    return value if -_EXACT_LIMIT < value < _EXACT_LIMIT else str(value)


def payload(graph: Graph, collapse: bool | None = None, color: str | None = None) -> dict[str, Any]:
    """What the page's script reads: every node and group with its box text and exact figures, the edges with
    their shape text, the groups open at first, the shading."""
    segmented = graph.segmented(SEGMENT)
    opened = _open_segments(segmented, segmented.default_open(collapse))
    nodes = []
    for node in segmented.nodes.values():
        lines = box_lines(segmented, node.id)
        nodes.append([node.id, node.name, node.type, lines[1:], _number(node.params), _number(node.macs),
                      _number(node.memory), node.parent])
    groups = []
    for group in segmented.groups.values():
        lines = box_lines(segmented, group.id)
        groups.append([group.id, group.kind, lines[0], lines[1:], frame_title(group), group.parent, group.children,
                       _number(group.params), _number(group.macs), _number(group.memory), group.layers])
    return {
        "name": graph.name or "network",
        "totals": {key: _number(value) for key, value in graph.totals.items()},
        "top": segmented.top,
        "nodes": nodes,
        "groups": groups,
        "edges": [[edge.source, edge.target, shape_text(edge.shape) if edge.shape else ""] for edge in graph.edges],
        "open": opened,
        "color": color or "",
        "palette": list(PALETTE),
        "dark": DARK_LEVELS,
        "groupFill": GROUP_FILL,
        "frameColor": FRAME_COLOR,
        "maxBoxes": MAX_BOXES,
    }


def _open_segments(graph: Graph, opened: set[str]) -> list[str]:
    """The first view's open groups: the default, and then the outermost segments, a level at a time, while
    the view keeps at most 2 × SEGMENT boxes (a 10,000-layer chain opens at about a hundred segments)."""
    while True:
        shown = graph.view(opened).items
        closed = [item for item in shown if item in graph.groups and graph.groups[item].kind == "segment"]
        if not closed:
            return sorted(opened)
        trial = opened | set(closed)
        if len(graph.view(trial).items) > 2 * SEGMENT:
            return sorted(opened)
        opened = trial


def _script_json(data: Any) -> str:
    """JSON safe inside <script>: no `</script>`, `<!--` or line separators can end or confuse it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


GRAPH_CSS = """
.ag-root{font:13px system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d2330;
  border:1px solid #d5dae3;border-radius:6px;background:#fff;display:flex;flex-direction:column}
.ag-bar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;padding:6px 8px;border-bottom:1px solid #e3e7ee;
  background:#f6f8fb;border-radius:6px 6px 0 0}
.ag-bar button,.ag-bar select,.ag-bar input{font:inherit;padding:2px 8px;border:1px solid #c3cad6;border-radius:4px;
  background:#fff;color:inherit}
.ag-bar button:hover{background:#eef3fb}
.ag-bar .ag-count,.ag-bar .ag-note{color:#5a6478}
.ag-bar .ag-note:empty{display:none}
.ag-bar .ag-note{color:#a04000}
.ag-canvas{overflow:auto;flex:1 1 auto;min-height:200px}
.ag-canvas svg{display:block;margin:0 auto}
.ag-box{cursor:default}
.ag-box.ag-group{cursor:pointer}
.ag-box rect{stroke:#3b4252;stroke-width:1}
.ag-box.ag-group rect{stroke-width:2}
.ag-box text{font-size:11px;fill:#1d2330}
.ag-box text.ag-name{font-weight:600;font-size:12px}
.ag-box.ag-dark text{fill:#fff}
.ag-box.ag-found rect{stroke:#d62728;stroke-width:3}
.ag-frame rect{fill:none;stroke-dasharray:5 3}
.ag-frame text{font-size:11px;cursor:pointer}
.ag-edge path{fill:none;stroke:#6b7280;stroke-width:1.2}
.ag-edge text{font-size:10px;fill:#4b5563}
"""

GRAPH_JS = r"""
(function () {
  "use strict";
  function startPending() {      // every fragment on the page not yet started (one script run may serve many)
    window.archcalcGraphs = window.archcalcGraphs || {};
    document.querySelectorAll(".ag-root[data-pending]").forEach(function (root) {
      root.removeAttribute("data-pending");
      window.archcalcGraphs[root.id] = new window.ArchcalcGraph(root);
    });
  }
  if (window.ArchcalcGraph) { startPending(); return; }
  var FONT = "11px system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif";
  var NAME_FONT = "600 12px system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif";
  var LINE = 15, PAD = 8;
  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function big(value) { return BigInt(value); }
  function grouped(value) { return big(value).toLocaleString("en-US"); }
  function share(value, total) {           // one decimal, rounded to the nearest tenth, in integers
    value = big(value); total = big(total);
    if (total <= 0n) return "0.0%";
    var tenths = (value * 2000n + total) / (2n * total);
    return (tenths / 10n).toString() + "." + (tenths % 10n).toString() + "%";
  }
  function level(value, total, levels) {   // as archcalc.analysis.graph.shade: a square-root scale
    value = big(value); total = big(total);
    if (value <= 0n || total <= 0n) return 0;
    var k = 1, n = BigInt(levels);
    while (k < levels && value * n * n >= total * BigInt(k) * BigInt(k)) k += 1;
    return k;
  }
  var measure = document.createElement("canvas").getContext("2d");
  function width(text, font) { measure.font = font; return measure.measureText(text).width; }

  function ArchcalcGraph(root) {
    var self = this;
    this.root = root;
    this.data = JSON.parse(root.querySelector("script.ag-data").textContent);
    var data = this.data;
    this.items = {};
    data.nodes.forEach(function (n) {
      self.items[n[0]] = {id: n[0], kind: "layer", name: n[1], type: n[2], lines: n[3], params: n[4], macs: n[5],
                          memory: n[6], parent: n[7]};
    });
    data.groups.forEach(function (g) {
      self.items[g[0]] = {id: g[0], kind: g[1], name: g[2], lines: g[3], frame: g[4], parent: g[5], children: g[6],
                          params: g[7], macs: g[8], memory: g[9], layers: g[10]};
    });
    this.initial = data.open.slice();
    this.opened = new Set(data.open);
    this.color = data.color;
    this.scale = 1;
    this.canvas = root.querySelector(".ag-canvas");
    this.note = root.querySelector(".ag-note");
    this.count = root.querySelector(".ag-count");
    var list = root.querySelector("datalist"), options = [];
    data.nodes.forEach(function (n) { options.push('<option value="' + esc(n[1]) + '"></option>'); });
    list.innerHTML = options.join("");
    this.byName = {};
    data.nodes.forEach(function (n) { self.byName[n[1]] = n[0]; });
    root.querySelector(".ag-color").value = this.color;
    root.addEventListener("click", function (event) { self.onClick(event); });
    root.addEventListener("keydown", function (event) {   // folded boxes and frames are buttons for the keyboard
      if ((event.key === "Enter" || event.key === " ") && event.target.closest(".ag-box.ag-group, .ag-frame")) {
        event.preventDefault();
        var id = event.target.closest("[data-id]").getAttribute("data-id");
        self.onClick(event);
        var again = self.root.querySelector('[data-id="' + CSS.escape(id) + '"]');   // the box became a frame, or back
        if (again && again.focus) again.focus();
      }
    });
    root.querySelector(".ag-color").addEventListener("change", function (event) {
      self.color = event.target.value; self.render();
    });
    root.querySelector(".ag-find").addEventListener("change", function (event) { self.find(event.target.value); });
    this.render();
  }

  ArchcalcGraph.prototype.shownOf = function (id, opened) {   // the outermost closed group, or the node
    var shown = id, item = this.items[id].parent;
    while (item) { if (!opened.has(item)) shown = item; item = this.items[item].parent; }
    return shown;
  };

  ArchcalcGraph.prototype.view = function (opened) {
    var self = this, shown = {}, items = [], seen = new Set(), frames = new Set(), edges = [], pairs = new Set();
    this.data.nodes.forEach(function (n) {
      var box = self.shownOf(n[0], opened);
      shown[n[0]] = box;
      if (!seen.has(box)) {
        seen.add(box); items.push(box);
        for (var p = self.items[box].parent; p && !frames.has(p); p = self.items[p].parent) frames.add(p);
      }
    });
    this.data.edges.forEach(function (e) {
      var s = shown[e[0]], t = shown[e[1]], key = s + "\u0000" + t;
      if (s !== t && !pairs.has(key)) { pairs.add(key); edges.push([s, t, e[2]]); }
    });
    return {items: items, frames: Array.from(frames), edges: edges};
  };

  ArchcalcGraph.prototype.setOpened = function (opened) {
    var view = this.view(opened);
    if (view.items.length > this.data.maxBoxes) {
      this.note.textContent = "That view has " + view.items.length.toLocaleString("en-US") + " boxes, more than the "
        + this.data.maxBoxes.toLocaleString("en-US") + " this page lays out: unfold one block at a time.";
      return false;
    }
    this.opened = opened;
    this.note.textContent = "";
    this.render(view);
    return true;
  };

  ArchcalcGraph.prototype.onClick = function (event) {
    var target = event.target.closest("[data-action], .ag-box.ag-group, .ag-frame");
    if (!target || !this.root.contains(target)) return;
    var action = target.getAttribute("data-action"), opened = new Set(this.opened), self = this;
    if (action === "fold") opened = new Set();
    else if (action === "unfold") {
      opened = new Set();
      this.data.groups.forEach(function (g) { opened.add(g[0]); });
    } else if (action === "reset") opened = new Set(this.initial);
    else if (action === "zoom-in") { this.zoom(this.scale * 1.25); return; }
    else if (action === "zoom-out") { this.zoom(this.scale / 1.25); return; }
    else if (action === "fit") { this.fit(); return; }
    else if (target.classList.contains("ag-frame")) opened.delete(target.getAttribute("data-id"));
    else opened.add(target.getAttribute("data-id"));
    if (!this.setOpened(opened) && action === "unfold") {   // too many: open what fits, level by level
      opened = new Set(this.opened);
      var level = this.data.top.slice();
      while (level.length) {
        var next = [];
        level.forEach(function (id) {
          var item = self.items[id];
          if (item.children) { opened.add(id); next = next.concat(item.children); }
        });
        if (this.view(opened).items.length > this.data.maxBoxes) break;
        this.opened = new Set(opened);
        level = next;
      }
      this.render();
    }
  };

  ArchcalcGraph.prototype.find = function (name) {
    var id = this.byName[name];
    if (!id) { this.note.textContent = "No layer named " + name; return; }
    var opened = new Set(this.opened);
    for (var p = this.items[id].parent; p; p = this.items[p].parent) opened.add(p);
    if (this.setOpened(opened)) {
      var box = this.root.querySelector('.ag-box[data-id="' + CSS.escape(id) + '"]');
      if (box) { box.classList.add("ag-found"); box.scrollIntoView({block: "center", inline: "center"}); }
    }
  };

  ArchcalcGraph.prototype.zoom = function (scale) {
    this.scale = Math.max(0.1, Math.min(4, scale));
    var svg = this.canvas.querySelector("svg");
    if (svg) {
      svg.setAttribute("width", Math.ceil(this.width * this.scale));
      svg.setAttribute("height", Math.ceil(this.height * this.scale));
    }
  };

  ArchcalcGraph.prototype.fit = function () {
    var room = this.canvas.clientWidth - 16;
    if (room > 0 && this.width) this.zoom(Math.min(1, room / this.width));
  };

  ArchcalcGraph.prototype.title = function (item) {
    var t = this.data.totals, lines = [item.kind === "layer" ? item.name + " (" + item.type + ")" : item.name];
    if (item.kind !== "layer") lines.push(item.layers.toLocaleString("en-US") + " layers (click to unfold)");
    lines.push("params " + grouped(item.params) + " (" + share(item.params, t.params) + ")");
    lines.push("MACs " + grouped(item.macs) + " (" + share(item.macs, t.macs) + ")");
    lines.push("training memory " + grouped(item.memory) + " B (" + share(item.memory, t.memory) + ")");
    return lines.join("\n");
  };

  ArchcalcGraph.prototype.render = function (view) {
    var self = this, data = this.data;
    view = view || this.view(this.opened);
    var g = new dagre.graphlib.Graph({compound: true});
    g.setGraph({rankdir: "TB", nodesep: 24, ranksep: 30, edgesep: 12, marginx: 16, marginy: 16});
    g.setDefaultEdgeLabel(function () { return {}; });
    var frames = new Set(view.frames);
    view.frames.forEach(function (id) { g.setNode(id, {}); });
    view.items.forEach(function (id) {
      var item = self.items[id], w = width((item.kind === "layer" ? "" : "⊞ ") + item.name, NAME_FONT) + 2;
      item.lines.forEach(function (line) { w = Math.max(w, width(line, FONT)); });
      g.setNode(id, {width: Math.ceil(w) + 2 * PAD, height: (1 + item.lines.length) * LINE + PAD});
    });
    view.items.concat(view.frames).forEach(function (id) {
      var parent = self.items[id].parent;
      if (parent && frames.has(parent)) g.setParent(id, parent);
    });
    view.edges.forEach(function (e) {
      g.setEdge(e[0], e[1], {label: e[2], width: e[2] ? Math.ceil(width(e[2], FONT)) + 6 : 0,
                             height: e[2] ? 14 : 0, labelpos: "c"});
    });
    dagre.layout(g);
    var out = [], graph = g.graph(), arrow = this.root.id + "-arrow";
    this.width = Math.ceil(graph.width || 100); this.height = Math.ceil(graph.height || 100);
    out.push('<defs><marker id="' + arrow + '" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ' +
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#6b7280"/></marker></defs>');
    view.frames.forEach(function (id) {
      var box = g.node(id), item = self.items[id];
      if (!box || box.width === undefined) return;
      var x = box.x - box.width / 2 - 6, y = box.y - box.height / 2 - 14;
      out.push('<g class="ag-frame" tabindex="0" role="button" data-id="' + esc(id) + '"><title>' + esc(item.frame) + ' (click to fold)</title>' +
               '<rect x="' + x + '" y="' + y + '" width="' + (box.width + 12) + '" height="' + (box.height + 20) +
               '" rx="8" stroke="' + data.frameColor + '"/><text x="' + (x + 8) + '" y="' + (y + 11) + '" fill="' +
               data.frameColor + '">⊟ ' + esc(item.frame) + '</text></g>');
    });
    view.edges.forEach(function (e) {
      var edge = g.edge(e[0], e[1]), points = edge.points || [];
      var d = points.map(function (p, i) { return (i ? "L" : "M") + p.x.toFixed(1) + "," + p.y.toFixed(1); }).join("");
      out.push('<g class="ag-edge"><path d="' + d + '" marker-end="url(#' + arrow + ')"/>' +
               (e[2] && edge.x !== undefined ? '<text x="' + edge.x.toFixed(1) + '" y="' + (edge.y + 3).toFixed(1) +
                '" text-anchor="middle">' + esc(e[2]) + '</text>' : "") + '</g>');
    });
    var totals = data.totals;
    view.items.forEach(function (id) {
      var box = g.node(id), item = self.items[id], x = box.x - box.width / 2, y = box.y - box.height / 2;
      var shade = self.color ? level(item[self.color], totals[self.color], 8) : 0;
      var fill = shade ? data.palette[shade] : (item.kind === "layer" ? "#ffffff" : data.groupFill);
      var classes = "ag-box" + (item.kind === "layer" ? "" : " ag-group") + (shade >= data.dark ? " ag-dark" : "");
      var round = item.type === "input" ? box.height / 2 : 6;
      var text = ['<text class="ag-name" x="' + (x + PAD) + '" y="' + (y + LINE) + '">' +
                  (item.kind === "layer" ? "" : "⊞ ") + esc(item.name) + '</text>'];
      item.lines.forEach(function (line, i) {
        text.push('<text x="' + (x + PAD) + '" y="' + (y + LINE * (i + 2)) + '">' + esc(line) + '</text>');
      });
      out.push('<g class="' + classes + '"' + (item.kind === "layer" ? "" : ' tabindex="0" role="button"') +
               ' data-id="' + esc(id) + '" data-kind="' + item.kind + '" data-name="' +
               esc(item.name) + '"><title>' + esc(self.title(item)) + '</title><rect x="' + x + '" y="' + y +
               '" width="' + box.width + '" height="' + box.height + '" rx="' + round + '" fill="' + fill + '"' +
               (item.kind === "layer" ? "" : ' stroke="' + data.frameColor + '"') + '/>' + text.join("") + '</g>');
    });
    this.canvas.innerHTML = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + this.width + ' ' + this.height +
      '" width="' + Math.ceil(this.width * this.scale) + '" height="' + Math.ceil(this.height * this.scale) + '">' +
      out.join("") + '</svg>';
    var layers = view.items.reduce(function (sum, id) {
      var item = self.items[id]; return sum + (item.kind === "layer" ? 1 : item.layers);
    }, 0);
    this.count.textContent = view.items.length.toLocaleString("en-US") + " boxes · " +
      view.frames.length.toLocaleString("en-US") + " open blocks";
    this.root.setAttribute("data-boxes", String(view.items.length));
    this.root.setAttribute("data-layers-shown", String(layers));
  };

  window.ArchcalcGraph = ArchcalcGraph;
  startPending();
})();
"""


def graph_fragment(graph: Graph, element_id: str = "archcalc-graph", collapse: bool | None = None,
                   color: str | None = None, height: str = "720px", include_library: bool = True) -> str:
    """A <div> holding the interactive graph, its data and (with `include_library`) dagre and the view's
    script; several fragments may share a page (each with its own `element_id`; the scripts run once)."""
    identifier = html.escape(element_id, quote=True)
    choices = "".join(f'<option value="{value}">{label}</option>' for value, label in
                      (("", "no shading"), ("macs", "shade by MACs"), ("params", "shade by parameters"),
                       ("memory", "shade by training memory")))
    parts = [
        f'<div class="ag-root" id="{identifier}" data-pending="1" style="height:{html.escape(height, quote=True)}">',
        '<div class="ag-bar">',
        '<button type="button" data-action="fold" title="fold every block and repeat">fold all</button>',
        '<button type="button" data-action="unfold" title="unfold every block">unfold all</button>',
        '<button type="button" data-action="reset" title="the first view">reset</button>',
        '<button type="button" data-action="zoom-out" title="zoom out">−</button>',
        '<button type="button" data-action="fit" title="fit the width">fit</button>',
        '<button type="button" data-action="zoom-in" title="zoom in">+</button>',
        f'<select class="ag-color" aria-label="shading">{choices}</select>',
        f'<input class="ag-find" list="{identifier}-layers" placeholder="find a layer" aria-label="find a layer">',
        f'<datalist id="{identifier}-layers"></datalist>',
        '<span class="ag-count"></span><span class="ag-note"></span>',
        '</div>',
        '<div class="ag-canvas"></div>',
        f'<script type="application/json" class="ag-data">{_script_json(payload(graph, collapse, color))}</script>',
        '</div>',
    ]
    if include_library:
        parts.append(library_html())
    return "\n".join(parts)


def library_html(css: bool = True) -> str:
    """The view's style, dagre and the view's script, which starts every fragment on the page not yet
    started: put it after the fragments (once per page is enough; again is harmless)."""
    style = f"<style>{GRAPH_CSS}</style>\n" if css else ""
    return f"{style}<script>\n{dagre_source()}\n</script>\n<script>{GRAPH_JS}</script>"


def render_page(graph: Graph, collapse: bool | None = None, color: str | None = None) -> str:
    """A whole HTML page: the graph filling the window."""
    title = html.escape(f"{graph.name or 'network'} — archcalc graph")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<style>\nhtml,body{{margin:0;height:100%}}body{{padding:8px;box-sizing:border-box}}{GRAPH_CSS}</style>\n"
            "</head>\n<body>\n"
            + graph_fragment(graph, "archcalc-graph", collapse, color, height="calc(100vh - 16px)",
                             include_library=False)
            + "\n" + library_html(css=False) + "\n</body>\n</html>\n")


def vendored_digest() -> str:
    return hashlib.sha256(VENDORED.read_bytes()).hexdigest()


__all__ = ["DAGRE_VERSION", "GRAPH_CSS", "GRAPH_JS", "MAX_BOXES", "SEGMENT", "VENDORED", "VENDORED_SHA256",
           "graph_fragment", "library_html", "payload", "render_page", "vendored_digest"]
