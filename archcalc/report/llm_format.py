"""`archcalc llm` output: text (each figure's formula, then the numbers substituted, as `explain` writes them),
Markdown and JSON (documented key by key in the README, "LLM sizing")."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from ..analysis.llm import Figure, LLMSizing, Table
from ..numbers import fixed
from ..problems import printable
from .numbers import readable

GIB = 2**30


def value_text(value: int | Fraction, unit: str = "") -> str:
    """12,345 B (11.50 KiB …), an exact fraction as a two-decimal number."""
    if unit == "bool":
        return "yes" if value else "no"
    value = Fraction(value)
    number = f"{value.numerator:,}" if value.denominator == 1 else _decimal(value)
    if unit == "B":
        return f"{number} B ({_binary(value)})"
    if unit == "FLOP":
        return f"{number} FLOP ({_scientific(value) if value >= 10**15 else readable(int(value))})"
    return f"{number} {unit}".rstrip()


def _binary(value: Fraction) -> str:
    for scale, name in ((2**40, "TiB"), (GIB, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= scale:
            return f"{fixed(value.numerator, value.denominator * scale, 2)} {name}"
    return f"{_decimal(value)} B"


def _scientific(value: Fraction) -> str:
    """1.23 × 10^23, from integers."""
    exponent = len(str(int(value))) - 1
    return f"{fixed(value.numerator, value.denominator * 10**exponent, 2)} × 10^{exponent}"


def _decimal(value: Fraction) -> str:
    """Two decimals (a whole number as it is): for ratios computed exactly."""
    if value.denominator == 1:
        return f"{value.numerator:,}"
    whole = fixed(value.numerator, value.denominator, 2)
    integer, _, decimals = whole.partition(".")
    return f"{int(integer):,}.{decimals}" if integer.lstrip("-").isdigit() else whole


def figure_line(figure: Figure) -> str:
    parts = [figure.label]
    if figure.formula:
        parts.append(figure.formula)
    if figure.substituted and figure.substituted != figure.formula:
        parts.append(figure.substituted)
    line = " = ".join(parts + [value_text(figure.value, figure.unit)])
    return f"{line}   ({printable(figure.note)})" if figure.note else line


def _collapsed(table: Table) -> list[tuple[str, tuple[Any, ...]]]:
    """Runs of rows equal but for their first cell become one line: `first … last (N rows)`."""
    runs: list[list[tuple[Any, ...]]] = []
    for row in table.rows:
        if runs and runs[-1][0][1:] == row[1:]:
            runs[-1].append(row)
        else:
            runs.append([row])
    out = []
    for run in runs:
        name = str(run[0][0]) if len(run) == 1 else f"{run[0][0]} … {run[-1][0]} ({len(run)})"
        out.append((name, run[0][1:]))
    return out


def _cell(value: Any, column: str) -> str:
    if isinstance(value, (int, Fraction)) and not isinstance(value, bool):
        value = Fraction(value)
        return _decimal(value)
    return printable(str(value))


def _table_lines(table: Table, indent: str = "  ") -> list[str]:
    rows = _collapsed(table) if table.collapse else [(row[0], row[1:]) for row in table.rows]
    cells = [[printable(name), *(_cell(value, column) for value, column in zip(rest, table.columns[1:]))]
             for name, rest in rows]
    header = list(table.columns)
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    lines = [f"{indent}{table.title}:"]
    for row in [header, *cells]:
        lines.append(indent + "  " + "  ".join(cell.ljust(width) if i == 0 or not cell[:1].isdigit()
                                               else cell.rjust(width) for i, (cell, width)
                                               in enumerate(zip(row, widths))).rstrip())
    return lines


def text(sizing: LLMSizing) -> str:
    settings = sizing.settings
    head = (f"{printable(sizing.name or 'network')}: batch {settings['batch_size']}, weights {settings['dtype']},"
            f" KV cache {settings['kv_dtype']}, compute {settings['compute_dtype']}, {settings['optimizer']},"
            f" recompute {settings['recompute']}, ZeRO-{settings['zero']}, tp {settings['tp']} pp {settings['pp']}"
            f" dp {settings['dp']}" + (f", {settings['gpu']}" if settings["gpu"] else "")
            + (f", {settings['memory_bytes']:,} B per GPU" if settings["memory_bytes"] else ""))
    blocks = [head]
    for section in sizing.sections:
        lines = [section.title, "-" * len(section.title)]
        lines += [f"  {figure_line(figure)}" for figure in section.figures]
        for table in section.tables:
            lines += _table_lines(table)
        lines += [f"  note: {printable(note)}" for note in section.notes]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _markdown_cell(text_: str) -> str:
    return text_.replace("|", "\\|")


def markdown(sizing: LLMSizing) -> str:
    out = [f"# {printable(sizing.name or 'network')}: LLM sizing", "",
           "| setting | value |", "|---|---|"]
    out += [f"| {key} | {_markdown_cell(str(value))} |" for key, value in sizing.settings.items()]
    for section in sizing.sections:
        out += ["", f"## {section.title}", "", "| figure | formula | substituted | value | note |", "|---|---|---|---|---|"]
        out += [f"| {_markdown_cell(item.label)} | {_markdown_cell(item.formula)} | {_markdown_cell(item.substituted)}"
                f" | {_markdown_cell(value_text(item.value, item.unit))} | {_markdown_cell(printable(item.note))} |"
                for item in section.figures]
        for table in section.tables:
            rows = _collapsed(table) if table.collapse else [(row[0], row[1:]) for row in table.rows]
            out += ["", f"**{table.title}**", "", "| " + " | ".join(table.columns) + " |",
                    "|" + "---|" * len(table.columns)]
            out += ["| " + " | ".join([_markdown_cell(printable(name))]
                                      + [_markdown_cell(_cell(value, column))
                                         for value, column in zip(rest, table.columns[1:])]) + " |"
                    for name, rest in rows]
        if section.notes:
            out += [""] + [f"- {printable(note)}" for note in section.notes]
    return "\n".join(out) + "\n"


def json_text(sizing: LLMSizing) -> str:
    return json.dumps(sizing.to_dict(), indent=2, ensure_ascii=False) + "\n"


def fit_context_lines(fits: list[Any]) -> str:
    lines = ["", "Longest context that fits", "-------------------------"]
    for fit in fits:
        line = (f"  {fit.what}: seq_len {fit.seq_len:,} ({value_text(fit.total_bytes, 'B')}),"
                f" {fit.evaluations} exact evaluations")
        lines.append(line + (f"; {fit.limit}" if fit.limit else ""))
    return "\n".join(lines) + "\n"


LLM_FORMATS = {"text": text, "markdown": markdown, "json": json_text}

__all__ = ["LLM_FORMATS", "figure_line", "fit_context_lines", "json_text", "markdown", "text", "value_text"]
