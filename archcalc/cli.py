"""The command line: parses arguments, calls the core, prints, and owns the exit code.

Exit codes: 0 success, 1 an invalid spec, 2 a usage error (argparse's own convention).
"""

from __future__ import annotations

import argparse
import difflib
import gc
import os
import sys

# pydantic looks for observability plugins through every installed package's entry points the
# first time it builds a schema; a command-line run has no use for them and pays for the scan.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
from typing import Iterable, Sequence

from . import __version__
from .api import load
from .problems import Problem, SpecError
from .results import DTYPE_BYTES, Network

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    from .report import SUMMARY_FORMATS

    parser = argparse.ArgumentParser(
        prog="archcalc",
        description="Shapes, parameters, MACs and memory of a neural-network architecture declared in YAML,"
                    " computed analytically (no deep-learning framework needed).")
    parser.add_argument("--version", action="version", version=f"archcalc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    summary = commands.add_parser("summary", help="per-layer output shapes, parameters, MACs and totals",
                                  description="Print every layer's output shape, parameters and MACs, the totals,"
                                              " and torchsummary's memory estimate.")
    summary.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    summary.add_argument("--format", choices=sorted(SUMMARY_FORMATS), default="table")
    summary.add_argument("--batch-size", type=positive_int, default=1, metavar="N",
                         help="batch size of the memory estimate (default 1); counts stay per sample")
    summary.add_argument("--dtype", choices=list(DTYPE_BYTES), default="float32",
                         help="element type of the memory estimate (default float32)")
    summary.add_argument("--receptive-field", action="store_true",
                         help="add receptive-field columns: size, effective stride (jump), centre of the first output")
    summary.add_argument("--convention", metavar="NAME", default=None,
                         help="also report MACs, parameters and memory as this tool counts them, at --batch-size"
                              " (pytorch, torchvision, fvcore, ptflops-pytorch, thop, torchinfo, keras, ...;"
                              " docs/conventions.md)")
    summary.set_defaults(run=run_summary)

    compare = commands.add_parser("compare", help="totals under every counting convention, differences itemized",
                                  description="Count the network as popular tools do (docs/conventions.md) and"
                                              " itemize each difference from the default by layer type.")
    compare.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    compare.add_argument("--conventions", metavar="A,B,...", default=None,
                         help="comma-separated conventions (default: all)")
    compare.add_argument("--batch-size", type=positive_int, default=1, metavar="N")
    compare.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    compare.set_defaults(run=run_compare)

    conventions = commands.add_parser("conventions", help="the counting conventions' rule tables (docs/conventions.md)",
                                      description="Print docs/conventions.md: every convention's per-layer rules,"
                                                  " and the reconciliation of an example spec.")
    conventions.add_argument("--example", metavar="SPEC", default="specs/resnet50.yaml",
                             help="spec of the worked example (default specs/resnet50.yaml)")
    conventions.set_defaults(run=run_conventions)

    explain = commands.add_parser("explain", help="every number as formula, substituted formula and value",
                                  description="Explain every layer's output shape, parameters and MACs: the general"
                                              " formula, the same formula with the layer's numbers, and the result.")
    explain.add_argument("spec", metavar="SPEC", help="a YAML spec file")
    explain.add_argument("--layer", action="append", metavar="NAME", default=[],
                         help="explain only this layer (repeatable)")
    explain.add_argument("--format", choices=["text", "markdown", "json"], default="text",
                         help="text (Unicode), markdown (with LaTeX math) or json")
    explain.set_defaults(run=run_explain)

    formulas = commands.add_parser("formulas", help="the formula reference of every layer type",
                                   description="Print the formulas of every layer type, with a worked example each"
                                               " (docs/formulas.md is this command's markdown output).")
    formulas.add_argument("--format", choices=["text", "markdown"], default="text")
    formulas.set_defaults(run=run_formulas)

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
    check.add_argument("--max-bytes", type=size_in_bytes, default=None, metavar="SIZE",
                       help="refuse files larger than this, unread (default 8MiB; accepts 512KB, 16MiB, ...)")
    check.set_defaults(run=run_check)

    schema = commands.add_parser("schema", help="print the JSON Schema of the spec format (for editors)",
                                 description="Print the JSON Schema of archcalc specs, for the YAML language server"
                                             " (completion and inline errors in editors) and other validators.")
    schema.set_defaults(run=run_schema)

    from .memory_cli import add_parser as add_memory_parser

    add_memory_parser(commands)
    return parser


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


def run_summary(args: argparse.Namespace) -> int:
    from .report import SUMMARY_FORMATS

    network = load_or_report(args.spec)
    if network is None:
        return EXIT_INVALID
    summary = network.summary(batch_size=args.batch_size, dtype=args.dtype, receptive_field=args.receptive_field)
    output = SUMMARY_FORMATS[args.format](summary)
    if args.convention is not None:
        from .report.compare_format import with_convention

        if args.format == "csv":
            print("archcalc summary: error: --convention is not available with --format csv", file=sys.stderr)
            return EXIT_USAGE
        try:
            output = with_convention(output, args.format, network.counts(args.convention, args.batch_size))
        except ValueError as error:
            print(f"archcalc summary: error: {error}", file=sys.stderr)
            return EXIT_USAGE
    sys.stdout.write(output)
    print_problems(network.warnings)
    return EXIT_OK


def run_compare(args: argparse.Namespace) -> int:
    from .conventions import CONVENTIONS
    from .report.compare_format import render_compare

    names = list(CONVENTIONS) if args.conventions is None else [n.strip() for n in args.conventions.split(",") if n.strip()]
    network = load_or_report(args.spec)
    if network is None:
        return EXIT_INVALID
    try:
        sys.stdout.write(render_compare(network, names, args.batch_size, args.format))
    except ValueError as error:
        print(f"archcalc compare: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def run_conventions(args: argparse.Namespace) -> int:
    from .report.compare_format import render_docs

    network = load_or_report(args.example)
    if network is None:
        return EXIT_INVALID
    sys.stdout.write(render_docs(network, args.example))
    return EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    from .explain import explain
    from .report.explain_format import EXPLAIN_FORMATS

    network = load_or_report(args.spec)
    if network is None:
        return EXIT_INVALID
    known = [layer.name for layer in network.layers]
    for name in args.layer:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            print(f"archcalc explain: error: {args.spec} has no layer named {name!r}{hint}", file=sys.stderr)
            return EXIT_USAGE
    sys.stdout.write(EXPLAIN_FORMATS[args.format](explain(network, args.layer)))
    return EXIT_OK


def run_formulas(args: argparse.Namespace) -> int:
    from .reference import render_reference

    sys.stdout.write(render_reference(args.format))
    return EXIT_OK


def size_in_bytes(text: str) -> int:
    from .budgets import BYTE_SUFFIXES, parse_amount

    try:
        number = parse_amount(text, BYTE_SUFFIXES, "size in bytes")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive size, got {text!r}")
    return number


def run_check(args: argparse.Namespace) -> int:
    from .api import MAX_SPEC_BYTES
    from .check import check_paths
    from .report.check_format import CHECK_FORMATS

    chosen = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    result = check_paths(args.paths, exclude=args.exclude, max_bytes=args.max_bytes or MAX_SPEC_BYTES,
                         strict=args.strict)
    out, err = CHECK_FORMATS[chosen](result)
    sys.stderr.write(err)
    sys.stdout.write(out)
    return EXIT_INVALID if result.invalid_files else EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
    import json

    from .schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    # A run is short and builds no reference cycles worth collecting; the cyclic collector would only
    # walk the many small objects of a large spec again and again (a third of a 100,000-layer run).
    gc.disable()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # e.g. `archcalc summary big.yaml | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


__all__ = ["build_parser", "main"]
