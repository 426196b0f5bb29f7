"""`archcalc check` and `archcalc schema`: validating spec files in CI, and the schema editors use."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .common import EXIT_INVALID, EXIT_OK, UsageError, add_limit_arguments, add_set_option, limits_from


def add_parser(commands: Any) -> None:
    check = commands.add_parser("check", help="validate spec files and folders (for CI)",
                                description="Validate every spec: YAML, schema, shapes, budgets (`expect:`) and"
                                            " teaching warnings. Exit 0 when all are valid, 1 when any is invalid.")
    check.add_argument("paths", nargs="+", metavar="SPEC_OR_DIR",
                       help="spec files, or folders searched recursively for *.yaml and *.yml")
    check.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                       help="skip files whose path or name matches (repeatable), e.g. 'drafts/*'")
    check.add_argument("--format", choices=["text", "github", "json", "junit"], default=None,
                       help="text (default; github inside GitHub Actions), github, json or junit")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument("--ignore", action="append", default=[], metavar="CODE",
                       help="leave out warnings with this code (repeatable), e.g. skipped-input; a spec can say"
                            " `ignore: [CODE]` itself, on a layer, a block definition or the whole spec")
    add_set_option(check)
    add_limit_arguments(check)
    check.set_defaults(run=run_check)

    schema = commands.add_parser("schema", help="print the JSON Schema of the spec format (for editors)",
                                 description="Print the JSON Schema of archcalc specs, for the YAML language server"
                                             " (completion and inline errors in editors) and other validators.")
    schema.set_defaults(run=run_schema)


def run_check(args: argparse.Namespace) -> int:
    from ..check import check_paths
    from ..report.check_format import CHECK_FORMATS

    from ..problems import WARNING_CODES

    chosen = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    from ..spec.blocks import UnknownVariable

    for code in args.ignore:
        if code not in WARNING_CODES:
            print(f"archcalc check: warning: --ignore {code}: unknown warning code (known: {', '.join(WARNING_CODES)})",
                  file=sys.stderr)
    try:
        result = check_paths(args.paths, exclude=args.exclude, strict=args.strict, variables=dict(args.variables),
                             limits=limits_from(args), ignore=tuple(args.ignore))
    except UnknownVariable as error:
        raise UsageError(f"--set: {error}") from None
    out, err = CHECK_FORMATS[chosen](result)
    sys.stderr.write(err)
    sys.stdout.write(out)
    return EXIT_INVALID if result.invalid_files else EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
    import json

    from ..spec.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
    return EXIT_OK
