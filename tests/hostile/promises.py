"""The promises of issue #14, as one assertion over a finished command run: exit 0/1/2, no traceback, a
located error for exit 1, and output that parses in its format. Shared by the corpus and the properties."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ElementTree

LOCATED = re.compile(r"^.+:\d+:\d+: (error|warning): .+$")
UNESCAPED_PIPE = re.compile(r"(?<!\\)(?:\\\\)*\|")


def option(argv: list[str], name: str, default: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else default


def check_output(argv: list[str], code: int, out: str, err: str) -> None:
    """Raise AssertionError when a run broke a promise."""
    command = argv[0]
    assert code in (0, 1, 2), f"exit {code}"
    assert "Traceback" not in err, err[-2000:]
    for text in (out, err):
        assert not any(ord(c) < 32 and c not in "\n\t" or c in "\x7f\x9b" for c in text), "raw control character"
    form = option(argv, "--format", {"summary": "table", "check": "text"}.get(command, "text"))
    if code == 1 and (command != "check" or form == "text"):
        first = err.splitlines()[0] if err.strip() else ""
        assert LOCATED.match(first) and ": error: " in err, f"exit 1 without a located error: {err[:500]!r}"
    if code == 2 or (code == 1 and command != "check"):
        return
    if form == "json":
        document = json.loads(out)
        if command == "check":
            problems = [p for f in document["files"] for p in f["problems"]]
            assert all(p["line"] >= 1 and p["column"] >= 1 for p in problems)
            assert (code == 1) == any(p["severity"] == "error" for p in problems)
    elif command == "check" and form == "junit":
        suite = ElementTree.fromstring(out).find("testsuite")
        assert (code == 1) == (suite.get("failures") != "0")
    elif command == "check" and form == "text":
        assert all(LOCATED.match(line) for line in err.splitlines()), err[:1000]
        assert re.fullmatch(r"\d+ files? checked, \d+ with errors, \d+ errors?, \d+ warnings?\n", out), out
    elif command == "check" and form == "github":
        lines = out.splitlines()
        assert all(re.match(r"::(error|warning) file=[^,]*,line=\d+,col=\d+,title=[^:]*::", line) for line in lines[:-1])
        assert (code == 1) == any(line.startswith("::error ") for line in lines[:-1]), out[:1000]
    elif command == "summary" and form == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert rows and all(len(row) == len(rows[0]) for row in rows)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        assert buffer.getvalue() == out  # round trip
        assert not any(cell[:1] in "=+-@" for row in rows[1:] for cell in row[:3]), "a cell a spreadsheet runs"
    elif command == "summary" and form == "markdown":
        table = [line for line in out.split("\n\n")[2].splitlines()]
        widths = {len(UNESCAPED_PIPE.findall(line)) for line in table}
        assert len(widths) == 1, "a Markdown row split"


__all__ = ["LOCATED", "check_output"]
