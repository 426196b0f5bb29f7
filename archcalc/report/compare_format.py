"""Counting conventions for people: `archcalc compare`, `summary --convention` and docs/conventions.md."""

from __future__ import annotations

import json

from ..analysis.conventions import CONVENTIONS, DEFAULT, Counts, count, differences, rows
from ..network import Network
from ..problems import printable
from .numbers import grouped, shape_text

MEMORY_KEYS = ("input_bytes", "forward_backward_bytes", "params_bytes", "total_bytes")
MEMORY_LABELS = ("input", "forward/backward", "params", "total")


def _signed(number: int) -> str:
    return f"{number:+,}"


def _cell(number: int | None) -> str:
    return "—" if number is None else grouped(number)


def _totals_rows(all_counts: list[Counts]) -> list[list[str]]:
    return [[c.convention.name, _cell(c.macs), c.printed or "", grouped(c.params), grouped(c.non_trainable_params)]
            for c in all_counts]


def _memory_rows(all_counts: list[Counts]) -> list[list[str]]:
    rows = []
    for c in all_counts:
        if c.memory:
            unit = c.memory.get("unit", "MiB")   # torchinfo's say theirs; torchsummary's MiB
            rows.append([c.convention.name, unit] + [f"{grouped(c.memory[key])} B ({c.memory['printed'][key]})"
                                                     for key in MEMORY_KEYS])
    return rows


def _difference_rows(base: Counts, other: Counts) -> list[list[str]]:
    return [[_signed(d.amount), d.quantity if d.quantity == "params" else d.category, f"{d.type} ×{d.layers}", d.rule]
            for d in differences(base, other)]


def _closing(base: Counts, other: Counts) -> str:
    parts = []
    if base.macs is not None and other.macs is not None:
        if other.convention.quantity == base.convention.quantity:
            parts.append(f"{base.convention.quantity} {grouped(other.macs)} − {grouped(base.macs)}"
                         f" = {_signed(other.macs - base.macs)}")
        else:
            parts.append(f"{other.convention.quantity} {grouped(other.macs)} − {base.convention.quantity}"
                         f" {grouped(base.macs)} = {_signed(other.macs - base.macs)}")
    parts.append(f"params {grouped(other.params)} − {grouped(base.params)} = {_signed(other.params - base.params)}")
    return "; ".join(parts)


def _text_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
    return out


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows])


TOTALS_HEADER = ["convention", "MACs (calflops: FLOPs)", "printed by the tool", "params", "non-trainable"]
MEMORY_HEADER = ["convention", "unit", *MEMORY_LABELS]
DIFF_HEADER = ["difference", "category", "layers", "rule"]


def compare(network: Network, names: list[str], batch_size: int = 1) -> list[Counts]:
    return [count(network, name, batch_size) for name in dict.fromkeys([DEFAULT, *names])]


def render_compare(network: Network, names: list[str], batch_size: int, fmt: str) -> str:
    all_counts = compare(network, names, batch_size)
    base, others = all_counts[0], all_counts[1:]
    title = f"{printable(network.name or network.path)}: input {shape_text(network.input_shape)}, batch size {batch_size}"
    if fmt == "json":
        return json.dumps({
            "name": network.name, "input_shape": list(network.input_shape), "batch_size": batch_size,
            "conventions": {c.convention.name: {k: v for k, v in c.to_dict().items() if k != "layers"}
                            for c in all_counts},
            "differences": {c.convention.name: [d.__dict__ for d in differences(base, c)] for c in others},
        }, indent=2) + "\n"
    lines = []
    if fmt == "markdown":
        lines += [f"**{title}**", "", *_md_table(TOTALS_HEADER, _totals_rows(all_counts)), ""]
        memory = _memory_rows(all_counts)
        if memory:
            lines += ["Memory (float32):", "", *_md_table(MEMORY_HEADER, memory), ""]
        for other in others:
            lines += [f"`{other.convention.name}` − `{base.convention.name}`: {_closing(base, other)}", ""]
            rows = _difference_rows(base, other)
            if rows:
                lines += [*_md_table(DIFF_HEADER, rows), ""]
        return "\n".join(lines)
    lines += [title, "", *_text_table(TOTALS_HEADER, _totals_rows(all_counts), {1, 3, 4})]
    memory = _memory_rows(all_counts)
    if memory:
        lines += ["", "Memory (float32):", *_text_table(MEMORY_HEADER, memory, set())]
    for other in others:
        lines += ["", f"{other.convention.name} − {base.convention.name}: {_closing(base, other)}"]
        lines += ["  " + line for line in _text_table(DIFF_HEADER, _difference_rows(base, other), {0})][1:]
    return "\n".join(lines) + "\n"


def convention_section(counts: Counts, fmt: str) -> str:
    """What `summary --convention` adds below the summary (table and markdown formats)."""
    c = counts.convention
    lines = [f"Convention {c.name} ({c.tool}), batch size {counts.batch_size}:"]
    if counts.macs is not None:
        lines.append(f"{c.quantity}: {grouped(counts.macs)}" + (f" (printed: {counts.printed})" if counts.printed else ""))
    lines.append(f"Params: {grouped(counts.params)} ({grouped(counts.trainable_params)} trainable,"
                 f" {grouped(counts.non_trainable_params)} non-trainable)")
    if counts.memory:
        lines += [f"Memory {label}: {grouped(counts.memory[key])} B ({counts.memory['printed'][key]})"
                  for key, label in zip(MEMORY_KEYS, MEMORY_LABELS)]
    if c.name in ("torchinfo", "torchinfo-1.8"):
        from ..analysis.conventions import torchinfo_footer

        lines += ["As torchinfo prints it:", *torchinfo_footer(counts)]
    if fmt == "markdown":
        return "\n" + "\n".join(f"- {line}" if i else f"**{line}**\n" for i, line in enumerate(lines)) + "\n"
    return "\n" + "\n".join(lines) + "\n"


def with_convention(output: str, fmt: str, counts: Counts) -> str:
    """A summary's output with the convention's figures: the JSON document gets a `convention` object
    (contract §4 keys unchanged); table and markdown get a section at the end."""
    if fmt == "json":
        body = output.rstrip()
        assert body.endswith("}")
        document = {k: v for k, v in counts.to_dict().items() if k != "layers"}
        return body[:-1].rstrip() + ',\n  "convention": ' + json.dumps(document) + "\n}\n"
    return output + convention_section(counts, fmt)


def render_rules() -> str:
    """The rule table: one row per group of layer types, one column per convention (markdown)."""
    names = list(CONVENTIONS)
    header = ["layer types", *[f"`{name}`" for name in names]]
    table = [[", ".join(f"`{tag}`" for tag in tags), *[CONVENTIONS[name].rule_text(tags[0]) for name in names]]
             for tags in rows().values()]
    table.append(["**parameters**", *[CONVENTIONS[name].params_text for name in names]])
    return "\n".join(_md_table(header, table)) + "\n"


def render_docs(example: Network, example_path: str) -> str:
    """docs/conventions.md: the conventions, their rule table and a worked example."""
    out = [
        "# Counting conventions",
        "",
        "<!-- Generated by `archcalc conventions --example specs/resnet50.yaml`; tests/test_conventions.py"
        " checks that it is up to date. Do not edit by hand: edit the layers' `counting` rules (archcalc/layers/) or the conventions (archcalc/analysis/conventions.py). -->",
        "",
        "Counters disagree because each counts different things. archcalc's default (`pytorch`, contract §2) counts"
        " the multiply-accumulates of conv, transposed-conv and linear layers. Each other convention reproduces one"
        " tool's figures exactly, from the spec alone: `archcalc summary SPEC --convention NAME [--batch-size N]`,"
        " `archcalc compare SPEC [--conventions a,b] [--batch-size N] [--format text|markdown|json]` and"
        " `archcalc.count(network, convention, batch_size)` in Python. tests/test_conventions_tools.py runs the real tools"
        " on the same networks written in PyTorch and asserts equality to the integer.",
        "",
        "## Conventions",
        "",
    ]
    for c in CONVENTIONS.values():
        out += [f"- **`{c.name}`** — {c.tool}. {c.notes}"]
    out += [
        "",
        "## Rules",
        "",
        "Notation, per sample: N batch size, X input elements, Y output elements, M archcalc's MACs"
        " (K·C_in/g·C_out·P_out for conv, K·C_in·C_out/g·P_in for transposed conv, R·F_in·F_out for linear), K"
        " kernel elements, C channels, P_out output positions, R = X / F_in rows; a conv's or linear layer's bias"
        " additions are Y. Rows not listed count 0; \"—\": the tool reports no operation count. Under `ptflops-*`"
        " module counts are for one sample whatever N is (the tool divides them by the batch), terms with N are"
        " for the whole batch.",
        "",
        "How the PyTorch model calls a layer matters to hook-based tools; a layer's optional `call` says it:"
        " `module` (an nn.Module: the default), `function` (`torch.nn.functional.relu`, `torch.add`, ...) or"
        " `operator` (`x + y`, `out += identity`, `x.relu()`; the default for `add`, `mul`, `concat`)."
        " Example: `{name: adaptive_avg_pool2d, type: adaptiveavgpool2d, output_size: 1, call: function}` for"
        " MobileNetV2's `F.adaptive_avg_pool2d`.",
        "",
        render_rules().rstrip(),
        "",
        "Memory: `torchinfo`, `torchinfo-1.8` — input N·X·e + 64 bytes per input tensor, forward/backward 2·N·Y·e"
        " for every call of a module with parameters, params e·params, with e each tensor's element size (4 in"
        " float32, 2 with `--dtype float16`); `torchinfo` prints each line in its own unit (kB, MB, GB of 10^3"
        " bytes, PR #363), `torchinfo-1.8` in MB (10^6 bytes). The 64 is `sys.getsizeof` of the input's storage"
        " beyond its bytes, which depends on the versions: basicsize(torch.UntypedStorage) + the GC pre-header ="
        " sizeof(THPStorage) (24 in torch 2.13) + 40 on Python 3.11, + 32 on Python 3.8-3.10 and 3.12-3.14: 64"
        " with the pinned torch 2.13 + Python 3.11, 56 on Python 3.10 or 3.12+ (torchinfo's own golden files:"
        " Python 3.14, torch 2.11), 72 or 80 with torch releases whose THPStorage was 40 bytes;"
        " `archcalc.count(..., input_overhead=56)` sets it. `torchsummary` — input N·X·4, forward/backward"
        " 2·N·4·ΣY over module calls and over the instances of blocks marked `module: true` (container modules"
        " that are not nn.Sequential: ResNet's Bottleneck, MobileNetV2's InvertedResidual; Y of the block's"
        " output), params 4·Σ params; printed in MiB.",
        "",
        "`calflops` counts FLOPs (its headline figure), so compare itemizes FLOPs − `pytorch`'s MACs: the conv"
        " and linear rows add N·M (2·N·M − N·M), the other rows add what calflops counts on top.",
        "",
        "What changes between torchinfo versions (all say `__version__ == \"1.8.0\"`): PyPI's 1.8.0 (tag v1.8.0,"
        " 73ed568, 2023-05-14; `pip install torchinfo==1.8.0`) is `torchinfo-1.8`. After it, on main: PR #318"
        " (38ab72b, 2024-11-04) counts a Linear's rows, params × prod(output[:-1]) (`pip install \"torchinfo @"
        " git+https://github.com/TylerYep/torchinfo.git@38ab72b7ab5d32c09cbf0f47c183728b466992e2\"` gives these"
        " counts with 1.8.0's printing); c74784c (#276) prints \"(M)\" instead of \"(Units.MEGABYTES)\" on"
        " Python 3.11+; PR #363 (e67e748, 2025-05-17) picks units per line (k, M, G, T; kB, MB, GB, TB; none below"
        " 1,000) and renames params_units to params_count_units / params_size_units; 67159e9, a9c8e93, 0283dca take"
        " Params size from the root module with shared parameters once (equal for specs); 91d6a8f drops a dict"
        " input's non-tensor values from Input size. `torchinfo` is main at 5c4164f. The Input size overhead"
        " depends on torch and Python, not on torchinfo (above).",
        "",
        "Not reproduced: thop-readme's float32 accumulation (the exact integer sum is given).",
        "",
        f"## Worked example: `archcalc compare {example_path}`",
        "",
        "ResNet-50 at 224×224 is quoted as 4.09 G (torchvision), 4.12 or 4.13 G (ptflops: 4.12 with"
        " `count_functional=False` or ptflops ≤ 0.7.0, 4.13 by default since 0.7.1), 4.14 G (thop's README, made"
        " with thop 0.0.31: today's thop 0.1.1 gives 4.134G), 8.18 G (torchinfo at batch 2), 8.21 GFLOPS (calflops,"
        " FLOPs), with 25,557,032"
        " parameters (25,610,152 in Keras's way of counting the same layers). Every difference, itemized:",
        "",
        render_compare(example, [name for name in CONVENTIONS if name != DEFAULT], 1, "markdown").rstrip(),
        "",
        "The `torchsummary` memory above includes the rows torchsummary prints for container modules that are"
        " not nn.Sequential: specs/resnet50.yaml marks its `bottleneck` block `module: true`, so its 16 instances"
        " add their outputs, 5,519,360 elements per sample (the tool prints 286.56 MiB forward/backward, 384.62"
        " MiB in total, as here).",
        "",
        f"At batch 2 (`archcalc compare {example_path} --conventions torchinfo --batch-size 2`):",
        "",
        render_compare(example, ["torchinfo"], 2, "markdown").rstrip(),
        "",
    ]
    return "\n".join(out)


__all__ = ["compare", "convention_section", "render_compare", "render_docs", "render_rules", "with_convention"]
