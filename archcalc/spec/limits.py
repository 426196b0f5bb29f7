"""The limits that bound the work any spec file can ask for, each with the command-line flag that raises it.

A limit is named in the message of the error it causes (`... the 100,000-layer limit (--max-layers)`),
so that the rare real spec that needs more knows which flag to give. With the defaults, any input of
up to 8 MiB is analysed within a few seconds of CPU and a few hundred MB of memory (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 8 * 1024 * 1024      # size of a spec file, refused unread beyond it
    max_layers: int = 20_000              # layer instances made by expansion, left-out (`if: false`) ones included
    max_values: int = 300_000             # YAML values, before parsing and once aliases are expanded
    max_depth: int = 100                  # nesting: YAML collections, blocks within blocks, expression operators
    max_axes: int = 64                    # axes of the input shape (PyTorch tensors have at most 64)
    max_expression_length: int = 1_000    # characters of one `${...}` expression
    max_string_length: int = 10_000       # characters of a string an expression makes
    max_number_bits: int = 256            # magnitude of numbers in expressions (and their operands): < 2**bits


DEFAULT_LIMITS = Limits()

# name → (flag, what it bounds), for the command line and the messages
FLAGS = {
    "max_bytes": ("--max-bytes", "refuse spec files larger than this, unread (default 8MiB; accepts 512KB, 16MiB, ...)"),
    "max_layers": ("--max-layers", "most layer instances a spec may expand to, left-out ones included (default 20000)"),
    "max_values": ("--max-values", "most YAML values, in the text and once aliases are expanded (default 300000)"),
    "max_depth": ("--max-depth", "deepest nesting of YAML collections, blocks in blocks and expression operators"
                                 " (default 100)"),
    "max_axes": ("--max-axes", "most axes of the input shape (default 64)"),
    "max_expression_length": ("--max-expression-length", "longest ${...} expression, in characters (default 1000)"),
    "max_string_length": ("--max-string-length", "longest string an expression may make (default 10000)"),
    "max_number_bits": ("--max-number-bits", "numbers in expressions stay below 2**BITS (default 256)"),
}


def flag(name: str) -> str:
    """`--max-layers`: how a message names the limit it hit."""
    return FLAGS[name][0]


def limit_names() -> list[str]:
    return [field.name for field in fields(Limits)]


__all__ = ["DEFAULT_LIMITS", "FLAGS", "Limits", "flag", "limit_names"]
