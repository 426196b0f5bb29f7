"""What every command shares: exit codes, argument types, loading a spec or printing its problems."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any, Iterable

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


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return number


def size_in_bytes(text: str) -> int:
    from ..spec.budgets import BYTE_SUFFIXES, parse_amount

    try:
        number = parse_amount(text, BYTE_SUFFIXES, "size in bytes")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive size, got {text!r}")
    return number


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


__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "UsageError", "add_limit_arguments", "add_set_option", "assignment",
           "limits_from", "load_or_report", "positive_int", "print_problems",
           "size_in_bytes", "usage_error"]
