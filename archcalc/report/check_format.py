"""`archcalc check` reports: text (PATH:LINE:COL lines), GitHub workflow commands, JSON and JUnit XML.

Each reporter returns (stdout text, stderr text).
"""

from __future__ import annotations

import json
from typing import Callable
from xml.sax.saxutils import escape, quoteattr

from ..check import CheckResult
from ..problems import Problem, json_printable, printable


def _line(problem: Problem) -> str:
    return f"{problem} [{problem.code}]"


def text(result: CheckResult) -> tuple[str, str]:
    problems = "".join(f"{_line(problem)}\n" for report in result.files for problem in report.problems)
    return f"{result.summary_line()}\n", problems


def _github_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(value: str) -> str:
    return _github_data(value).replace(":", "%3A").replace(",", "%2C")


def github(result: CheckResult) -> tuple[str, str]:
    """GitHub Actions workflow commands: each problem becomes an annotation on the pull request's diff."""
    lines = []
    for report in result.files:
        for problem in report.problems:
            properties = ",".join([f"file={_github_property(printable(problem.path))}", f"line={problem.line}",
                                   f"col={problem.column}", f"title={_github_property(f'archcalc {problem.code}')}"])
            lines.append(f"::{problem.severity} {properties}::{_github_data(problem.message)}")
    lines.append(result.summary_line())
    return "\n".join(lines) + "\n", ""


def json_report(result: CheckResult) -> tuple[str, str]:
    document = {
        "files": [
            {"path": _json_path(report.path), "valid": report.valid, "problems": [
                {"line": problem.line, "column": problem.column, "severity": problem.severity, "code": problem.code,
                 "layer": problem.layer, "message": problem.message} for problem in report.problems]}
            for report in result.files
        ],
        "summary": {"files": len(result.files), "invalid_files": result.invalid_files, "errors": result.errors,
                    "warnings": result.warnings},
    }
    return json_printable(json.dumps(document, indent=2, ensure_ascii=False)) + "\n", ""


def _json_path(path: str) -> str:
    """The path as JSON can carry it: a byte of a file name that is not UTF-8 becomes `\\xNN`."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def junit(result: CheckResult) -> tuple[str, str]:
    """JUnit XML (GitLab, Jenkins): one test case per file, failing when the file has errors."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name="archcalc check" tests="{len(result.files)}" failures="{result.invalid_files}"'
             f' errors="0">',
             f'  <testsuite name="archcalc check" tests="{len(result.files)}" failures="{result.invalid_files}"'
             f' errors="0" skipped="0">']
    for report in result.files:
        lines.append(f'    <testcase classname="archcalc.check" name={quoteattr(printable(report.path))}>')
        errors = [problem for problem in report.problems if problem.severity == "error"]
        warnings = [problem for problem in report.problems if problem.severity == "warning"]
        if errors:
            first = errors[0]
            body = "\n".join(_line(problem) for problem in errors)
            lines.append(f"      <failure message={quoteattr(f'{first.line}:{first.column}: {first.message}')}"
                         f" type={quoteattr(first.code)}>{escape(body)}</failure>")
        if warnings:
            lines.append(f"      <system-out>{escape(chr(10).join(_line(problem) for problem in warnings))}</system-out>")
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n", ""


CHECK_FORMATS: dict[str, Callable[[CheckResult], tuple[str, str]]] = {
    "text": text, "github": github, "json": json_report, "junit": junit,
}

__all__ = ["CHECK_FORMATS"]
