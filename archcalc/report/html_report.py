"""`archcalc report`: one self-contained HTML page about a network.

The page holds everything it shows — styles, the small script that sorts and filters the table, the
charts as inline SVG (`archcalc.report.charts`) — and asks for nothing when it opens: it works from
file:// and offline. Every figure is an integer computed by the analyses (`Network.totals`,
`archcalc.analysis.breakdown`, `archcalc.analysis.memory`, `archcalc.analysis.conventions`); the
page only writes them down. Sections: the totals, the graph (when a graph view is available), the
layer table, where compute and parameters are (by layer type, by block), training memory (by
category, and against the batch size with the budget and the batch that fits), the counting
conventions side by side, and the warnings, each linked to its layer's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Callable, Sequence

from ..analysis.breakdown import Share, by_block, by_type, has_blocks
from ..analysis.conventions import CONVENTIONS, DEFAULT, Counts, count_all
from ..analysis.memory import TrainingMemory, plan_memory
from ..network import FLOAT, LayerResult, Network
from ..problems import Problem, printable
from ..version import __version__
from . import charts
from .memory_format import OPTIMIZER_NAMES, DEVICE_NAMES, size_text
from .numbers import grouped, readable, shape_text


@dataclass(frozen=True)
class ReportOptions:
    """What the page is computed at: the batch size and dtype of the memory figures, the optimizer and
    device of training memory, a memory budget (bytes) whose largest fitting batch is marked."""

    batch_size: int = 1
    dtype: str = "float32"
    optimizer: str = "adam"
    device: str = "cuda"
    budget: int | None = None
    conventions: Sequence[str] | None = None   # None: every convention


# A graph section: (network, bytes autograd keeps per layer name) -> HTML fragment.
GraphView = Callable[[Network, dict[str, int]], str]


def interactive_graph(network: Network, memory: dict[str, int]) -> str:
    """`archcalc graph --format html`'s view (archcalc.report.graph_html): blocks and repeats fold and unfold on
    click, shaded by MACs, parameters or the report's training memory."""
    from ..analysis.graph import network_graph
    from .graph_html import graph_fragment

    return (graph_fragment(network_graph(network, memory), "report-graph", height="640px")
            + '<p class="note">Click a block, a repeat (×N) or a frame\'s title to unfold or fold it; the'
            ' shading menu colours each box by its share of the MACs, the parameters or the memory kept for'
            ' backward (at the batch of the memory section). <code>archcalc graph SPEC --format svg|dot|mermaid</code>'
            ' draws it as a file.</p>')


def h(text: object) -> str:
    """Text of the spec (names may hold anything) made printable and escaped for HTML."""
    return escape(printable(str(text)), quote=True)


def row_id(index: int) -> str:
    return f"layer-{index}"


# ---------------------------------------------------------------------------------------------- sections

def _facts(network: Network, memory: TrainingMemory) -> str:
    totals = network.totals
    inputs = network.inputs or ()
    named = len(inputs) > 1 or any(item.name != "input" for item in inputs)
    shown_inputs = ", ".join((f"{h(item.name)} " if named else "") + shape_text(item.shape)
                             + ("" if item.dtype == FLOAT else f" {h(item.dtype)}") for item in inputs) \
        or shape_text(network.input_shape)
    cards = [
        ("Parameters", grouped(totals.params), readable(totals.params),
         f"{grouped(totals.trainable_params)} trainable, {grouped(totals.non_trainable_params)} frozen"),
        ("MACs per sample", grouped(totals.macs), readable(totals.macs), f"FLOPs {grouped(totals.flops)}"),
        ("Layers", grouped(len(network.layers)), "", f"output {shape_text(network.output_shape)}"),
        (f"Training memory, batch {grouped(memory.batch_size)}", grouped(memory.totals.total_bytes) + " B",
         size_text(memory.totals.total_bytes),
         f"{memory.dtype}, {OPTIMIZER_NAMES[memory.optimizer]}, {DEVICE_NAMES[memory.device]}"),
    ]
    if memory.fit is not None:
        fit = memory.fit
        cards.append(("Largest batch in budget", grouped(fit.batch_size), "",
                      f"budget {size_text(fit.budget_bytes)}"))
    cells = "".join(
        f'<div class="card"><div class="card-title">{escape(title)}</div>'
        f'<div class="card-value" data-total="{escape(title)}">{value}</div>'
        f'<div class="card-note">{escape(short)}{" · " if short and note else ""}{escape(note)}</div></div>'
        for title, value, short, note in cards)
    return (f'<p class="lead">Input {shown_inputs} · spec <code>{h(network.path)}</code></p>'
            f'<div class="cards">{cells}</div>')


# Rows laid out when the page opens; the others wait, hidden, for "show all" (a 10,000-layer table is slow to lay out).
ROW_LIMIT = 1000


def _layer_rows(network: Network, saved: dict[str, int], warned: dict[str, list[int]]) -> list[str]:
    rows = []
    previous = "input"
    types: dict[str, str] = {}      # each type's escaped text and whether it can be tied, once per type
    for index, layer in enumerate(network.layers):
        follows = layer.sources == (previous,)
        previous = layer.name
        name = h(layer.name)
        if layer.type not in types:
            types[layer.type] = h(layer.type)
        tag = types[layer.type]
        marks = "".join(f' <a class="warn-mark" href="#warning-{number}" title="warning {number + 1}">⚠</a>'
                        for number in warned.get(layer.name, ()))
        params_note = ""
        if layer.shared_with:
            params_note = f' <span class="note">(shares {h(layer.shared_with)})</span>'
        elif "tie" in type(layer.spec).model_fields and layer.spec.tie:
            params_note = f' <span class="note">(tied to {h(layer.spec.tie)})</span>'
        frozen = "" if not layer.params else "yes" if layer.spec.trainable else "frozen"
        kept = saved.get(layer.name, 0)
        rows.append(
            f'<tr id="{row_id(index)}" data-name="{name}" data-type="{tag}"{" hidden" if index >= ROW_LIMIT else ""}>'
            f'<td data-v="{index}">{index}</td><td class="name">{name}{marks}</td><td>{tag}</td>'
            f'<td class="from">{"" if follows else h(", ".join(layer.sources))}</td>'
            f'<td class="shape">{h(_shapes(layer))}</td>'
            f'<td data-v="{layer.params}">{grouped(layer.params)}{params_note}</td>'
            f'<td>{frozen}</td>'
            f'<td data-v="{layer.macs}">{grouped(layer.macs)}</td>'
            f'<td data-v="{layer.buffers}">{grouped(layer.buffers)}</td>'
            f'<td data-v="{kept}">{grouped(kept)}</td></tr>')
    return rows


def _shapes(layer: LayerResult) -> str:
    shapes = layer.output_shapes if len(layer.output_shapes) > 1 else (layer.output_shape,)
    return ", ".join(shape_text(shape) for shape in shapes)


COLUMNS = (("#", "num"), ("Layer", "text"), ("Type", "text"), ("Input from", "text"), ("Output shape", "text"),
           ("Params", "num"), ("Trainable", "text"), ("MACs", "num"), ("Buffers", "num"),
           ("Saved (B)", "num"))


COLUMN_TIPS = {"Saved (B)": "bytes autograd keeps from the layer for the backward pass (archcalc memory)",
               "Buffers": "batch-norm running statistics and counters: not parameters",
               "MACs": "multiply-accumulates for one sample (contract §2)"}


def _tip(title: str) -> str:
    return f' title="{escape(COLUMN_TIPS[title])}"' if title in COLUMN_TIPS else ""


def _table(network: Network, memory: TrainingMemory, warned: dict[str, list[int]]) -> str:
    totals = network.totals
    saved = {layer.name: layer.saved_activation_bytes for layer in memory.layers}
    head = "".join(f'<th data-kind="{kind}" tabindex="0" aria-sort="none"{_tip(title)}>{escape(title)}</th>'
                   for title, kind in COLUMNS)
    total_saved = sum(saved.values())
    foot = (f'<tr class="totals"><td></td><td>Total ({grouped(len(network.layers))} layers)</td><td></td><td></td>'
            f'<td></td><td data-total="params">{grouped(totals.params)}</td><td></td>'
            f'<td data-total="macs">{grouped(totals.macs)}</td><td data-total="buffers">{grouped(totals.buffers)}</td>'
            f'<td data-total="saved">{grouped(total_saved)}</td></tr>'
            '<tr class="shown" hidden><td></td><td id="shown-count"></td><td></td><td></td><td></td>'
            '<td id="shown-params"></td><td></td><td id="shown-macs"></td><td id="shown-buffers"></td>'
            '<td id="shown-saved"></td></tr>')
    return (
        '<div class="toolbar"><label>Filter <input id="filter" type="search" placeholder="name or type, e.g. conv"'
        ' autocomplete="off"></label> <span id="filter-status"></span></div>'
        f'<div class="table-wrap"><table id="layer-table" data-limit="{ROW_LIMIT}"><thead><tr>{head}</tr></thead>'
        f'<tbody>{"".join(_layer_rows(network, saved, warned))}</tbody><tfoot>{foot}</tfoot></table></div>'
        f'<button id="show-all" type="button"{"" if len(network.layers) > ROW_LIMIT else " hidden"}>Show all'
        f' {grouped(len(network.layers))} rows (the first {grouped(ROW_LIMIT)} are shown)</button>'
        f'<p class="note">Trainable {grouped(totals.trainable_params)}, non-trainable'
        f' {grouped(totals.non_trainable_params)} parameters; FLOPs = 2 × MACs = {grouped(totals.flops)}.'
         ' Buffers are batch-norm running statistics (not parameters). Saved: the bytes autograd keeps for'
        f' backward from the layer at batch {grouped(memory.batch_size)} ({memory.dtype}), each storage counted once.'
        ' Click a column title to sort.</p>')


def _share_bars(shares: list[Share], value: Callable[[Share], int], link: dict[str, int]) -> list[charts.Bar]:
    return [charts.Bar(share.label if share.kind == "layer type" else f"{share.label} ({share.kind})",
                       value(share), href=f"#{row_id(link[share.first])}",
                       note=f"{share.layers:,} layer{'s' * (share.layers != 1)}")
            for share in shares if value(share)]


def _where(network: Network) -> str:
    link = {layer.name: index for index, layer in enumerate(network.layers)}
    types, blocks = by_type(network), by_block(network)
    totals = network.totals
    block_word = "block" if has_blocks(network) else "top-level layer (the spec has no blocks)"
    figures = []
    for what, value, total in (("MACs", lambda s: s.macs, totals.macs), ("Parameters", lambda s: s.params,
                                                                           totals.params)):
        for split, shares in (("layer type", types), (block_word, blocks)):
            bars = _share_bars(shares, value, link)
            if bars:
                figures.append(charts.bar_chart(bars, f"{what} by {split}", charts.SI, total=total))
            else:
                figures.append(f'<p class="note">No {escape(what)}: every layer counts 0.</p>')
    return (f'<div class="grid">{"".join(f"<figure>{figure}</figure>" for figure in figures)}</div>'
            '<p class="note">Each chart adds up to the network\'s total; bars with 0 are left out, and beyond 20 bars'
            ' the smallest are added into one. A block with <code>repeat</code> counts all its instances.'
            ' Click a label to go to its first layer.</p>')


def _batch_range(plan_fit: int | None, batch_size: int) -> int:
    """The largest batch size the memory line reaches: past the batch that fits and the chosen batch."""
    return max(8, 2 * batch_size, (plan_fit or 0) * 5 // 4 + 1)


def _memory(memory: TrainingMemory, options: ReportOptions) -> str:
    totals = memory.totals
    rows = [("Saved activations", totals.saved_activation_bytes), ("Parameters", totals.parameter_bytes),
            ("Gradients", totals.gradient_bytes), (f"Optimizer state ({memory.optimizer})", totals.optimizer_state_bytes),
            ("Buffers", totals.buffer_bytes)]
    # network inputs that no layer keeps are held beside the saved activations (those kept are among them)
    unkept_input = totals.total_bytes - sum(size for _, size in rows)
    if unkept_input:
        rows.append(("Input batch (not kept by a layer)", unkept_input))
    bars = [charts.Bar(label, size) for label, size in rows if size]
    category_chart = charts.bar_chart(bars, f"Training memory by category, batch {memory.batch_size:,}",
                                      charts.BINARY, total=totals.total_bytes, color=charts.PALETTE[1])
    table_rows = "".join(f"<tr><td>{escape(label)}</td><td data-bytes>{grouped(size)}</td><td>{size_text(size)}</td></tr>"
                         for label, size in rows)
    table = (f'<table class="small"><thead><tr><th>Category</th><th>Bytes</th><th></th></tr></thead>'
             f'<tbody>{table_rows}</tbody><tfoot><tr class="totals"><td>Total</td>'
             f'<td data-total="memory">{grouped(totals.total_bytes)}</td><td>{size_text(totals.total_bytes)}</td></tr>'
             '</tfoot></table>')
    fixed, per_sample = memory.fixed_bytes, memory.per_sample_bytes
    fit = memory.fit
    last = _batch_range(fit.batch_size if fit else None, options.batch_size)
    line = charts.Series("total", [(1, fixed + per_sample), (last, fixed + last * per_sample)], charts.PALETTE[0])
    levels, marks = [], []
    if fit is not None:
        levels.append(charts.Level(f"budget {size_text(fit.budget_bytes)}", fit.budget_bytes))
        if fit.batch_size:
            marks.append(charts.Mark(f"fits: batch {fit.batch_size:,}", fit.batch_size,
                                     fixed + fit.batch_size * per_sample))
    if memory.fit is None or memory.fit.batch_size != memory.batch_size:
        marks.append(charts.Mark(f"batch {memory.batch_size:,}", memory.batch_size, totals.total_bytes,
                                 charts.PALETTE[1]))
    line_chart = charts.line_chart([line], "Total training memory against batch size", "batch size",
                                   "total memory", charts.SI, charts.BINARY, levels, marks)
    formula = (f"total = fixed + batch × per sample = {grouped(fixed)} B + batch × {grouped(per_sample)} B")
    fit_text = ""
    if fit is not None:
        if fit.batch_size:
            fit_text = (f"<p>Budget {grouped(fit.budget_bytes)} B ({size_text(fit.budget_bytes)}): the largest batch"
                        f" that fits is <strong data-fit>{fit.batch_size:,}</strong> = ⌊({grouped(fit.budget_bytes)}"
                        f" − {grouped(fixed)}) / {grouped(per_sample)}⌋.</p>")
        else:
            fit_text = (f"<p>Budget {grouped(fit.budget_bytes)} B ({size_text(fit.budget_bytes)}): even batch size 1"
                        f" needs {grouped(fixed + per_sample)} B, more than the budget.</p>")
    left_out = "".join(f"<li>{escape(item)}</li>" for item in memory.not_modelled)
    return (f'<p>{memory.dtype}, {OPTIMIZER_NAMES[memory.optimizer]}, {DEVICE_NAMES[memory.device]}, batch'
            f' {memory.batch_size:,} (<code>archcalc memory</code>): what training holds between the forward and the'
            ' backward pass.</p>'
            f'<div class="grid"><figure>{category_chart}{table}</figure><figure>{line_chart}'
            f'<p class="note">{escape(formula)}</p>{fit_text}</figure></div>'
            f'<details><summary>Not modelled</summary><ul>{left_out}</ul></details>')


def _conventions(all_counts: list[Counts]) -> str:
    memory_keys = ("input_bytes", "forward_backward_bytes", "params_bytes", "total_bytes")
    rows = []
    base = all_counts[0]
    for counts in all_counts:
        c = counts.convention
        macs = "—" if counts.macs is None else grouped(counts.macs)
        delta = ""
        if counts.macs is not None and base.macs is not None and counts is not base:
            delta = f"{counts.macs - base.macs:+,}"
        memory = ""
        if counts.memory:
            unit = counts.memory.get("unit", "MiB")
            memory = " / ".join(f"{counts.memory['printed'][key]}" for key in memory_keys) + f" {escape(unit)}"
        rows.append(f'<tr><td><code>{escape(c.name)}</code></td><td class="tool">{escape(c.tool)}</td><td>{escape(c.quantity)}</td>'
                    f'<td data-v="{counts.macs if counts.macs is not None else ""}">{macs}</td><td>{delta}</td>'
                    f'<td>{escape(counts.printed or "")}</td><td>{grouped(counts.params)}</td>'
                    f'<td>{grouped(counts.non_trainable_params)}</td><td>{memory}</td></tr>')
    return ('<div class="table-wrap"><table class="small" id="convention-table"><thead><tr><th>Convention</th><th>Tool</th>'
            '<th>Counts</th><th>Count</th><th>− pytorch</th><th>As the tool prints it</th><th>Params</th>'
            '<th>Non-trainable</th><th>Memory: input / forward-backward / params / total</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>'
            f'<p class="note">The same network counted as each tool counts it, batch {base.batch_size:,}, {base.dtype}'
            ' (<code>archcalc compare</code>, <code>archcalc summary --convention NAME</code>; the rules:'
            ' docs/conventions.md). <code>pytorch</code> is archcalc\'s own count (contract §2).</p>')


def _warnings(network: Network, link: dict[str, int]) -> str:
    if not network.warnings:
        return '<p class="note" id="no-warnings">No warnings.</p>'
    items = []
    for number, warning in enumerate(network.warnings):
        target = link.get(warning.layer) if warning.layer else None
        where = f'<a href="#{row_id(target)}">{h(warning.layer)}</a>' if target is not None else \
            (h(warning.layer) if warning.layer else "the spec")
        items.append(f'<li id="warning-{number}"><span class="where">{where}</span>'
                     f' <code>{h(warning.path)}:{warning.line}:{warning.column}</code> {h(warning.message)}'
                     f' <code>[{h(warning.code)}]</code></li>')
    return f'<ol class="warnings">{"".join(items)}</ol>'


def _warned_layers(warnings: tuple[Problem, ...]) -> dict[str, list[int]]:
    warned: dict[str, list[int]] = {}
    for number, warning in enumerate(warnings):
        if warning.layer:
            warned.setdefault(warning.layer, []).append(number)
    return warned


# ---------------------------------------------------------------------------------------------- the page

def render_report(network: Network, options: ReportOptions = ReportOptions(),
                  graph: GraphView | None = interactive_graph) -> str:
    """The HTML page (a str). `graph` draws the graph section (None: a page without one)."""
    plan = plan_memory(network, options.dtype, options.device)
    memory = plan.fit(options.budget, options.optimizer) if options.budget is not None else \
        plan.at(options.batch_size, options.optimizer)
    names = list(CONVENTIONS) if options.conventions is None else list(options.conventions)
    all_counts = count_all(network, list(dict.fromkeys([DEFAULT, *names])), options.batch_size, options.dtype)
    link = {layer.name: index for index, layer in enumerate(network.layers)}
    title = printable(network.name or network.path)
    sections = [("summary", "Summary", _facts(network, memory))]
    if graph is not None:
        sections.append(("graph", "Graph", graph(network, {layer.name: layer.saved_activation_bytes
                                                             for layer in memory.layers})))
    sections += [
        ("layers", "Layers", _table(network, memory, _warned_layers(network.warnings))),
        ("where", "Where the compute and the parameters are", _where(network)),
        ("memory", "Training memory", _memory(memory, options)),
        ("conventions", "Counting conventions", _conventions(all_counts)),
        ("warnings", f"Warnings ({len(network.warnings)})", _warnings(network, link)),
    ]
    nav = "".join(f'<a href="#{anchor}">{escape(heading)}</a>' for anchor, heading, _ in sections)
    body = "".join(f'<section id="{anchor}"><h2>{escape(heading)}</h2>{content}</section>'
                   for anchor, heading, content in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Nothing may be fetched: no network access from the page, whatever the browser's settings.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline';"
        " script-src 'unsafe-inline'; img-src data:\">"
        f'<meta name="generator" content="archcalc {escape(__version__)}">'
        f'<title>{escape(title)} — archcalc report</title><style>{STYLE}</style></head><body>'
        f'<header><h1>{escape(title)}</h1><nav>{nav}</nav></header><main>{body}</main>'
        f'<footer>archcalc {escape(__version__)} · every figure is an exact integer computed from the spec</footer>'
        f'<script>{SCRIPT}</script></body></html>\n')


STYLE = """
:root{--ink:#222;--muted:#666;--line:#ddd;--accent:#4e79a7;--bg:#fff;--soft:#f5f7fa}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--line);padding:8px 20px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
nav a{margin-right:14px;color:var(--accent);text-decoration:none;font-size:13px}main{padding:0 20px 30px;max-width:1400px}
section{scroll-margin-top:70px}.lead{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:200px;background:var(--soft)}
.card-title{font-size:12px;color:var(--muted)}.card-value{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}.card-note{font-size:12px;color:var(--muted)}
.toolbar{margin:6px 0}#filter{width:280px;padding:4px 6px}#filter-status{color:var(--muted);margin-left:8px}
.table-wrap{max-height:70vh;overflow:auto;border:1px solid var(--line)}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;width:100%;font-size:13px}th,td{padding:2px 7px;border-bottom:1px solid #eee;white-space:nowrap}
td.from{white-space:normal;min-width:120px;max-width:260px;color:var(--muted)}
td.tool{white-space:normal;overflow-wrap:anywhere;min-width:240px;max-width:380px;font-size:12px;color:var(--muted)}
th{position:sticky;top:0;background:var(--soft);text-align:left;cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td[data-v],td[data-bytes]{text-align:right}tfoot td{position:sticky;bottom:0;background:var(--soft);font-weight:600;text-align:right}
tr.shown td{bottom:0;font-weight:400;color:var(--muted)}tr:target td{background:#fff3c4}
table.small{width:auto}table.small th{cursor:default}.name{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.note{color:var(--muted);font-size:12px}.warn-mark{color:#c0392b;text-decoration:none}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}figure{margin:0}
svg.chart{max-width:100%;height:auto}.chart a text{fill:var(--accent)}
ol.warnings li{margin:4px 0}ol.warnings li:target{background:#fff3c4}.where{font-weight:600}
footer{color:var(--muted);font-size:12px;padding:10px 20px;border-top:1px solid var(--line)}
"""

# Sorting and filtering the layer table. Numbers sort as BigInt from data-v (counts beyond 2**53 stay exact);
# the filtered sums are BigInt too. Only the first ROW_LIMIT matching rows are laid out (the rest are in the
# DOM, hidden, until "show all" or a link to one of them): a 10,000-row table opens fast.
SCRIPT = """
(function(){
  var table=document.getElementById('layer-table');if(!table)return;
  var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
  var heads=table.tHead.rows[0].cells,limit=Number(table.getAttribute('data-limit'));
  var input=document.getElementById('filter'),status=document.getElementById('filter-status');
  var more=document.getElementById('show-all'),shown=table.querySelector('tr.shown');
  function key(row,i,num){var c=row.cells[i];return num?BigInt(c.getAttribute('data-v')||'0'):c.textContent.toLowerCase();}
  function group(n){return n.toString().replace(/\\B(?=(\\d{3})+(?!\\d))/g,',');}
  function apply(){
    var q=input.value.trim().toLowerCase(),n=0,sums=[0n,0n,0n,0n],cols=[5,7,8,9];
    rows.forEach(function(r){
      var hit=!q||r.getAttribute('data-name').toLowerCase().indexOf(q)>=0||r.getAttribute('data-type').toLowerCase().indexOf(q)>=0;
      if(hit){n++;cols.forEach(function(c,k){sums[k]+=BigInt(r.cells[c].getAttribute('data-v'));});}
      r.hidden=!hit||n>limit;
    });
    shown.hidden=!q;status.textContent=q?n+' of '+rows.length+' layers':'';
    document.getElementById('shown-count').textContent='Shown ('+n+' layers)';
    ['params','macs','buffers','saved'].forEach(function(k,i){document.getElementById('shown-'+k).textContent=group(sums[i]);});
    more.hidden=n<=limit;more.textContent='Show all '+group(n)+' rows (the first '+group(limit)+' are shown)';
  }
  Array.prototype.forEach.call(heads,function(th,i){
    function sort(){
      var num=th.getAttribute('data-kind')==='num';
      var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
      Array.prototype.forEach.call(heads,function(o){o.setAttribute('aria-sort','none');});
      th.setAttribute('aria-sort',dir>0?'ascending':'descending');
      rows.sort(function(a,b){var x=key(a,i,num),y=key(b,i,num);
        if(x<y)return -dir;if(x>y)return dir;return Number(a.cells[0].getAttribute('data-v'))-Number(b.cells[0].getAttribute('data-v'));});
      var f=document.createDocumentFragment();rows.forEach(function(r){f.appendChild(r);});body.appendChild(f);
      apply();
    }
    th.addEventListener('click',sort);
    th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();sort();}});
  });
  function reveal(){   // a link to a row beyond the limit (a warning's) shows every row first
    var target=location.hash&&document.getElementById(location.hash.slice(1));
    if(target&&target.parentNode===body&&target.hidden){input.value='';limit=Infinity;apply();target.scrollIntoView();}
  }
  input.addEventListener('input',apply);
  more.addEventListener('click',function(){limit=Infinity;apply();});
  window.addEventListener('hashchange',reveal);
  apply();reveal();
})();
"""


__all__ = ["GraphView", "ReportOptions", "render_report"]
