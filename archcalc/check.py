"""`archcalc check`: validate many spec files, collecting every problem of each, printing nothing.

A file's problems are its load errors (YAML, schema, expansion and shape errors, each with its
position) or, when it loads, its teaching warnings and the budgets and expectations it breaks.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .api import load
from .analysis.budgets import check_budgets
from .problems import Problem, SpecError
from .spec.limits import DEFAULT_LIMITS, Limits

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class FileReport:
    path: str
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> int:
        return sum(problem.severity == "error" for problem in self.problems)

    @property
    def warnings(self) -> int:
        return sum(problem.severity == "warning" for problem in self.problems)

    @property
    def valid(self) -> bool:
        return self.errors == 0


@dataclass(frozen=True)
class CheckResult:
    files: tuple[FileReport, ...]

    @property
    def invalid_files(self) -> int:
        return sum(not report.valid for report in self.files)

    @property
    def errors(self) -> int:
        return sum(report.errors for report in self.files)

    @property
    def warnings(self) -> int:
        return sum(report.warnings for report in self.files)

    def summary_line(self) -> str:
        def count(number: int, word: str) -> str:
            return f"{number} {word}{'s' * (number != 1)}"
        return (f"{count(len(self.files), 'file')} checked, {self.invalid_files} with errors,"
                f" {count(self.errors, 'error')}, {count(self.warnings, 'warning')}")


def _excluded(path: Path, patterns: Sequence[str]) -> bool:
    text = path.as_posix()
    return any(fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern)
               or fnmatch.fnmatch(text, f"*/{pattern}") for pattern in patterns)


def spec_files(paths: Iterable[str], exclude: Sequence[str] = (),
               unreadable: list[tuple[str, str]] | None = None) -> list[str]:
    """Files as given; folders searched recursively for *.yaml / *.yml (hidden folders skipped), sorted.

    A folder that cannot be listed (permission denied) is not skipped silently: it is appended to
    `unreadable` as (path, reason), and `check` reports it as an error."""
    found: list[str] = []

    def refused(error: OSError) -> None:
        if unreadable is not None:
            unreadable.append((os.fsdecode(error.filename or ""), error.strerror or str(error)))

    for given in paths:
        if not os.path.isdir(given):
            if not _excluded(Path(given), exclude):
                found.append(given)
            continue
        for folder, subfolders, files in os.walk(given, onerror=refused):
            subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
            for name in sorted(files):
                path = Path(folder) / name
                if path.suffix in SPEC_SUFFIXES and not _excluded(path, exclude):
                    found.append(str(path))
    return found


def check_file(path: str, max_bytes: int | None = None, strict: bool = False,
               variables: dict[str, Any] | None = None, limits: Limits = DEFAULT_LIMITS,
               ignore: Sequence[str] = ()) -> FileReport:
    """One file's problems; `variables` override spec variables (UnknownVariable when the spec has none);
    warnings whose code is in `ignore` (`check --ignore CODE`) are left out."""
    try:
        network = load(path, max_bytes, variables, limits)
    except SpecError as error:
        problems = list(error.problems)
    else:
        problems = sorted([*network.warnings, *check_budgets(network)])
    problems = [problem for problem in problems if problem.severity != "warning" or problem.code not in ignore]
    if strict:
        problems = [dataclasses.replace(problem, severity="error") for problem in problems]
    return FileReport(path, tuple(problems))


def check_paths(paths: Iterable[str], exclude: Sequence[str] = (), max_bytes: int | None = None,
                strict: bool = False, variables: dict[str, Any] | None = None,
                limits: Limits = DEFAULT_LIMITS, ignore: Sequence[str] = ()) -> CheckResult:
    unreadable: list[tuple[str, str]] = []
    reports = [check_file(path, max_bytes, strict, variables, limits, ignore)
               for path in spec_files(paths, exclude, unreadable)]
    reports += [FileReport(folder, (Problem(folder, 1, 1, f"cannot read folder: {reason}", code="file"),))
                for folder, reason in unreadable]
    return CheckResult(tuple(reports))


__all__ = ["CheckResult", "FileReport", "check_file", "check_paths", "spec_files"]
