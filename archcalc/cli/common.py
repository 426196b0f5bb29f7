"""What every command shares: exit codes, argument types, loading a spec or printing its problems."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any, Callable, Iterable

from ..api import load
from ..problems import Problem, SpecError
from ..network import Network
from ..spec.limits import DEFAULT_LIMITS, FLAGS, Limits

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line mistake found after parsing (an unknown `--set` name): exit 2."""


def assignment(text: str) -> tuple[str, Any]:
    """`--set NAME=VALUE`: VALUE read as a YAML scalar (int, float, bool or string)."""
    import yaml

    name, equals, raw = text.partition("=")
    if not equals or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    if value is None or isinstance(value, (list, dict)):
        value = raw
    return name.strip(), value


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="variables", action="append", type=assignment, default=[],
                        metavar="NAME=VALUE", help="replace the spec's variable NAME (repeatable), e.g. seq_len=4096")


def argument_type(parse: Callable[[str], Any], refusal: str | None = None,
                  accept: Callable[[Any], bool] = lambda value: value >= 1,
                  invalid: str | None = None) -> Callable[[str], Any]:
    """An argparse `type=`: `parse(text)`, whose ValueError (or ArithmeticError: `1/0`) becomes a usage error
    with its own message (or `invalid`), and, given a `refusal`, whose value `accept` refuses (by default one
    below 1) becomes one too; our messages end with the text given (`expected a positive integer, got '0'`)."""

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except (ValueError, ArithmeticError) as error:
            message = str(error) if invalid is None else f"{invalid}, got {text!r}"
            raise argparse.ArgumentTypeError(message) from None
        if refusal is not None and not accept(value):
            raise argparse.ArgumentTypeError(f"{refusal}, got {text!r}")
        return value

    return convert


def amount(kind: str, what: str) -> Callable[[str], int]:
    """The parser of an amount with units (archcalc.spec.budgets): `kind` "bytes" (512MiB) or "count" (25.6M)."""

    def parse(text: str) -> int:
        from ..spec.budgets import BYTE_SUFFIXES, COUNT_SUFFIXES, parse_amount

        return parse_amount(text, BYTE_SUFFIXES if kind == "bytes" else COUNT_SUFFIXES, what)

    return parse


def _budget(text: str) -> int:
    from ..analysis.memory import parse_budget   # refuses zero and negative budgets with its own words

    return parse_budget(text)


positive_int = argument_type(int, "expected a positive integer", invalid="expected a positive integer")
size_in_bytes = argument_type(amount("bytes", "size in bytes"), "expected a positive size")
token_count = argument_type(amount("count", "token count"), "expected a positive token count")
budget = argument_type(_budget)   # --fit, --budget: `24GiB`, `1.5GiB`


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """--max-bytes, --max-layers, ...: every limit on the work a spec may ask for (archcalc.spec.limits)."""
    group = parser.add_argument_group("limits", "bounds on the work a spec file can ask for; raise one for the rare"
                                                " real spec that needs more (docs/security.md)")
    for name, (option, description) in FLAGS.items():
        group.add_argument(option, dest=name, type=size_in_bytes if name == "max_bytes" else positive_int,
                           default=None, metavar="SIZE" if name == "max_bytes" else "N", help=description)


def limits_from(args: argparse.Namespace) -> Limits:
    given = {name: getattr(args, name) for name in FLAGS if getattr(args, name, None) is not None}
    return dataclasses.replace(DEFAULT_LIMITS, **given)


def print_problems(problems: Iterable[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def load_or_report(path: str, variables: Iterable[tuple[str, Any]] = (),
                   limits: Limits = DEFAULT_LIMITS) -> Network | None:
    """The spec's network, or None after printing its problems; UsageError for an unknown `--set` name."""
    from ..spec.blocks import UnknownVariable

    try:
        return load(path, variables=dict(variables), limits=limits)
    except SpecError as error:
        print_problems(error.problems)
        return None
    except UnknownVariable as error:
        raise UsageError(f"--set: {path}: {error}") from None


def usage_error(command: str, message: str) -> int:
    print(f"archcalc {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def write_output(command: str, path: str | None, text: str) -> int:
    """`text` into the file `path` (`-o`), or onto standard output for None or `-`: EXIT_OK, or a usage error
    naming the file that cannot be written (never a traceback)."""
    import os

    if path is None or path == "-":
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        return usage_error(command, f"cannot write {os.fsdecode(path)}: {error.strerror or error}")
    return EXIT_OK


__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "UsageError", "add_limit_arguments", "add_set_option", "amount",
           "argument_type", "assignment", "budget", "limits_from", "load_or_report", "positive_int", "print_problems",
           "size_in_bytes", "token_count", "usage_error", "write_output"]
