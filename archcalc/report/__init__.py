"""Formatters: each turns a `Summary` into text; the CLI picks one by name."""

from __future__ import annotations

from importlib import import_module

from ..network import Summary

# Format name → the module of this package whose `render(summary)` writes it. Named, not imported: a run
# imports the formatter it prints with (a table needs neither csv nor the Markdown writer).
SUMMARY_FORMATS: dict[str, str] = {
    "table": "table",
    "json": "json_format",
    "markdown": "markdown",
    "csv": "csv_format",
}


def render_summary(summary: Summary, form: str) -> str:
    """`summary` written in format `form` (a key of SUMMARY_FORMATS)."""
    return import_module(f"{__name__}.{SUMMARY_FORMATS[form]}").render(summary)


__all__ = ["SUMMARY_FORMATS", "render_summary"]
