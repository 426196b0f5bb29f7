"""Formatters: each turns a `Summary` into text; the CLI picks one by name."""

from __future__ import annotations

from typing import Callable

from ..network import Summary
from . import csv_format, json_format, markdown, table

SUMMARY_FORMATS: dict[str, Callable[[Summary], str]] = {
    "table": table.render,
    "json": json_format.render,
    "markdown": markdown.render,
    "csv": csv_format.render,
}

__all__ = ["SUMMARY_FORMATS"]
