"""What every command shares: exit codes, argument types, loading a spec or printing its problems."""

from __future__ import annotations

import argparse
import sys
from typing import Iterable

from ..api import load
from ..problems import Problem, SpecError
from ..network import Network

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


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


def print_problems(problems: Iterable[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def load_or_report(path: str) -> Network | None:
    """The spec's network, or None after printing its problems."""
    try:
        return load(path)
    except SpecError as error:
        print_problems(error.problems)
        return None


def usage_error(command: str, message: str) -> int:
    print(f"archcalc {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "load_or_report", "positive_int", "print_problems",
           "size_in_bytes", "usage_error"]
