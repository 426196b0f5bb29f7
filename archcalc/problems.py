"""Problems are values until the edge of the program prints them."""

from __future__ import annotations

from dataclasses import dataclass, field


def printable(text: str) -> str:
    """Text that prints as one line and cannot act on a terminal or a report: every character that is not
    printable (newline, ESC, BEL, bidirectional controls, ...) is written as its Python escape (`\\n`,
    `\\x1b`), and a byte of a file name that is not UTF-8 (a surrogate escape) as `\\xNN`."""
    if text.isprintable():
        return text
    shown = []
    for character in text:
        if character.isprintable():
            shown.append(character)
        elif 0xDC80 <= ord(character) <= 0xDCFF:  # os.fsdecode's escape of a byte that is not UTF-8
            shown.append(f"\\x{ord(character) - 0xDC00:02x}")
        else:
            shown.append(repr(character)[1:-1] if character != "'" else character)
    return "".join(shown)


def json_printable(document: str) -> str:
    """JSON text (from json.dumps with ensure_ascii=False) with every non-printable character inside its strings
    written as a \\u escape: json.dumps leaves DEL, C1 controls and bidi overrides raw. Outside strings,
    JSON text has only printable characters and its line breaks."""
    if document.replace("\n", "").isprintable():
        return document
    import json  # here, not at import: a text summary never needs it

    return "".join(character if character.isprintable() or character == "\n" else json.dumps(character)[1:-1]
                   for character in document)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or worth a warning) in a spec, with its place in the YAML source.

    `line` and `column` are 1-based; a problem with the file as a whole (missing, unreadable) is at 1:1.
    """

    path: str
    line: int
    column: int
    message: str = field(compare=False)
    layer: str | None = field(default=None, compare=False)
    code: str = field(default="invalid", compare=False)
    severity: str = field(default="error", compare=False)

    def __post_init__(self) -> None:
        # One problem, one line: CI tools read these line by line. Whitespace runs become one space and
        # other unprintable characters (from the spec's own text) are escaped, as `\x1e`.
        if not self.message.isprintable():
            folded = " ".join(self.message.split())
            object.__setattr__(self, "message", "".join(
                character if character.isprintable() else repr(character)[1:-1] for character in folded))

    def __str__(self) -> str:
        return f"{printable(self.path)}:{self.line}:{self.column}: {self.severity}: {self.message}"


# The warnings archcalc gives (legal but suspicious specs) by code: what `ignore:` in a spec, on a layer or on a
# block definition, and `archcalc check --ignore CODE` may silence. A layer family that warns adds its codes.
WARNING_CODES = {
    "skipped-input": "input positions that fall between windows (a kernel narrower than its stride, or dilation)",
    "stride-tiling": "a stride that does not tile the input: the last rows are never seen",
    "padding-only-window": "a window that sees only padding",
    "linear-not-flattened": "a linear layer applied to the last axis of an unflattened tensor",
    "unknown-ignore": "an `ignore` of a code archcalc does not know",
}


class SpecError(Exception):
    """A spec that cannot be analyzed; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class LayerError(Exception):
    """Raised by a layer rule; the propagator turns it into a located `Problem`.

    `key` names the spec key to point at (e.g. "kernel_size"); None points at the layer itself.
    """

    def __init__(self, message: str, key: str | None = None, code: str = "shape"):
        super().__init__(message)
        self.message = message
        self.key = key
        self.code = code


__all__ = ["LayerError", "Problem", "SpecError", "WARNING_CODES", "json_printable", "printable"]
