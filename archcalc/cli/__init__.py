"""The command line: one module per command (argument parsing and exit codes only), wired here.

Exit codes: 0 success, 1 an invalid spec, 2 a usage error (argparse's own convention).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from importlib import import_module
from types import ModuleType
from typing import Sequence

# pydantic looks for observability plugins through every installed package's entry points the
# first time it builds a schema; a command-line run has no use for them and pays for the scan.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def _skip_plugin_loader() -> None:
    """With plugins disabled, pydantic's plugin loader finds none, but importing it imports importlib.metadata
    (with email, zipfile, csv and socket: a fifth of a small spec's start-up) before its `get_plugins` returns
    nothing: a stand-in module that returns nothing takes its place, unless plugins are wanted after all
    (PYDANTIC_DISABLE_PLUGINS set otherwise) or the real loader is already imported."""
    name = "pydantic.plugin._loader"
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] in ("__all__", "1", "true") and name not in sys.modules:
        loader = ModuleType(name, "Stands in for pydantic's plugin loader while plugins are disabled.")
        loader.get_plugins = lambda: ()
        # anything else a pydantic release asks of its loader is the real loader's: it replaces the stand-in
        loader.__getattr__ = lambda attribute: _from_real_module(name, attribute)
        sys.modules[name] = loader


def _from_real_module(name: str, attribute: str) -> object:
    if attribute.startswith("__"):  # a module's dunder probes (`__file__`, `__path__`) are no request of pydantic's
        raise AttributeError(attribute)
    import importlib

    sys.modules.pop(name, None)
    return getattr(importlib.import_module(name), attribute)


_skip_plugin_loader()

from ..version import __version__
from .common import EXIT_OK, EXIT_USAGE, UsageError

# The commands, each a module of this package with `add_parser(commands)`, in the order `archcalc --help`
# lists them (a module named after a Python keyword ends in `_`). Named, not imported: a run imports and
# builds the parser of its own command only.
COMMANDS = ("summary", "compare", "explain", "check", "memory", "graph", "report", "llm", "sweep", "import_",
            "export")


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command an argument list runs: its first word when that is a command (top-level options such as
    `--help` come before it), else None (`--help`, `--version`, a typo: argparse then needs every command)."""
    by_word = {name.rstrip("_"): name for name in COMMANDS}
    return by_word.get(argv[0]) if argv else None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command-line parser; given `argv`, with only the subcommand that `argv` runs (when it names one)."""
    parser = argparse.ArgumentParser(
        prog="archcalc",
        description="Shapes, parameters, MACs and memory of a neural-network architecture declared in YAML,"
                    " computed analytically (no deep-learning framework needed).")
    parser.add_argument("--version", action="version", version=f"archcalc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = chosen_command(argv) if argv is not None else None
    for name in COMMANDS if chosen is None else (chosen,):
        import_module(f"{__name__}.{name}").add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A run is short and builds no reference cycles worth collecting; the cyclic collector would only
    # walk the many small objects of a large spec again and again (a third of a 100,000-layer run).
    gc.disable()
    for stream in (sys.stdout, sys.stderr):  # a character the terminal cannot show is escaped, never a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot be reconfigured
                pass
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"archcalc {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `archcalc summary big.yaml | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


__all__ = ["build_parser", "main"]
