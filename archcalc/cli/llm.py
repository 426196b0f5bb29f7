"""`archcalc llm`: LLM sizing (`archcalc.analysis.llm`).

`add_parser(commands)` adds the subcommand; `run` prints the report and returns the exit code: 0 success,
1 an invalid spec (PATH:LINE:COL problems on stderr), 2 a usage error (a bad dtype, GPU, budget or degree, a
spec without attention layers, --fit-context without a budget or a seq_len variable; never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from typing import Any

from .common import (EXIT_INVALID, EXIT_OK, UsageError, add_limit_arguments, add_set_option, argument_type,
                     limits_from, load_or_report, positive_int, print_problems, size_in_bytes, token_count, usage_error)

FORMATS = ("text", "json", "markdown")
WEIGHT_DTYPES = ("bfloat16", "float16", "float32", "fp8", "int8", "int4")


# --mfu: a share of the peak, 0.4 or 2/5
utilization = argument_type(lambda text: Fraction(text.strip()), "expected a utilization in (0, 1]",
                            accept=lambda value: 0 < value <= 1, invalid="expected a number such as 0.4")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `llm` subcommand to `archcalc`'s subparsers."""
    from ..analysis.llm import COMPUTE_DTYPES, OPTIMIZER_STATE_BYTES, RECOMPUTE

    llm = subparsers.add_parser(
        "llm", help="LLM sizing: parameters, FLOPs per token, KV cache, inference and training memory per GPU",
        description="Parameters (embedding / non-embedding, per block, active per token), FLOPs per token and per"
                    " training run, the KV cache, inference memory and training memory per GPU (ZeRO, tensor /"
                    " pipeline / data parallel, recomputation) of a spec with attention layers, each figure with its"
                    " formula and beside the rules of thumb (Kaplan, 6ND, nanoGPT, Korthikanti, DeepSpeed,"
                    " accelerate). With --fit, the largest batch; with --fit-context, the longest context.")
    llm.add_argument("spec", metavar="SPEC", nargs="?", help="a YAML spec file (not with --list-gpus)")
    llm.add_argument("--batch-size", type=positive_int, default=1, metavar="N",
                     help="sequences per GPU (the micro-batch; default 1)")
    llm.add_argument("--dtype", choices=WEIGHT_DTYPES, default="bfloat16",
                     help="inference weights (default bfloat16); int4 is half a byte")
    llm.add_argument("--kv-dtype", choices=WEIGHT_DTYPES, default=None, help="KV cache elements (default --dtype)")
    llm.add_argument("--compute-dtype", choices=COMPUTE_DTYPES, default="bfloat16",
                     help="activations and training's mixed precision (default bfloat16; float32: no master copy)")
    llm.add_argument("--optimizer", choices=list(OPTIMIZER_STATE_BYTES), default="adamw")
    llm.add_argument("--recompute", choices=RECOMPUTE, default="none",
                     help="activation recomputation: none, selective (the attention's L×L tensors), full (each"
                          " block's input only)")
    llm.add_argument("--zero", type=int, choices=(0, 1, 2, 3), default=0,
                     help="ZeRO stage: 1 shards optimizer state, 2 also gradients, 3 also weights, over --dp")
    for name, what in (("tp", "tensor"), ("pp", "pipeline")):
        llm.add_argument(f"--{name}", type=positive_int, default=1, metavar="N", help=f"{what} parallel degree")
    llm.add_argument("--dp", type=positive_int, default=None, metavar="N",
                     help="data parallel degree (ZeRO shards over it); default --gpus / (tp × pp), else 1")
    llm.add_argument("--tokens", type=token_count, metavar="D", help="training tokens (2T, 300B): the run's FLOPs")
    llm.add_argument("--gpu", metavar="NAME", help="a GPU of the table (--list-gpus): its memory and peak TFLOPS")
    llm.add_argument("--gpus", type=positive_int, metavar="N", help="GPUs of the run (default tp × pp × dp)")
    llm.add_argument("--mfu", type=utilization, default=Fraction(2, 5), metavar="U",
                     help="model FLOPs utilization for GPU-hours (default 0.4)")
    llm.add_argument("--gpu-memory", type=size_in_bytes, metavar="SIZE", help="memory per GPU (80GiB), for --fit")
    llm.add_argument("--fit", metavar="GPU_OR_BUDGET",
                     help="the largest batch that fits a GPU of the table or a memory budget (80GiB)")
    llm.add_argument("--fit-context", action="store_true",
                     help="also the longest seq_len that fits (at --batch-size), by exact evaluation; needs a budget")
    llm.add_argument("--list-gpus", action="store_true", help="print the GPU table and exit")
    llm.add_argument("--format", choices=list(FORMATS), default="text")
    add_set_option(llm)
    add_limit_arguments(llm)
    llm.set_defaults(run=run)
    return llm


def _settings(args: argparse.Namespace) -> Any:
    from ..analysis.llm import Settings, SizingError, find_gpu
    from ..analysis.memory import parse_budget

    gpu, memory = None, args.gpu_memory
    try:
        if args.gpu is not None:
            gpu = find_gpu(args.gpu)
        if args.fit is not None:
            try:
                memory = parse_budget(args.fit)
            except ValueError:
                fitted = find_gpu(args.fit)
                memory = fitted.memory_bytes
                gpu = gpu or fitted
        dp = args.dp
        if dp is None:
            model_parallel = args.tp * args.pp
            if args.gpus is not None and args.gpus % model_parallel:
                raise SizingError(f"--gpus {args.gpus} is not a multiple of tp × pp = {model_parallel}; give --dp")
            dp = args.gpus // model_parallel if args.gpus is not None else 1
        return Settings(batch_size=args.batch_size, dtype=args.dtype, kv_dtype=args.kv_dtype,
                        compute_dtype=args.compute_dtype, optimizer=args.optimizer, recompute=args.recompute,
                        zero=args.zero, tp=args.tp, pp=args.pp, dp=dp, tokens=args.tokens, gpu=gpu,
                        gpus=args.gpus, mfu=args.mfu, memory_bytes=memory)
    except SizingError as error:
        raise UsageError(str(error)) from None


def _list_gpus() -> int:
    from ..analysis.llm import decimal_text, gpu_table

    for gpu in gpu_table().values():
        peaks = ", ".join(f"{dtype} {decimal_text(value)}" for dtype, value in gpu.tflops.items() if value is not None)
        print(f"{gpu.name}: {gpu.memory_bytes:,} B ({gpu.memory_bytes // 2**30} GiB); dense TFLOPS {peaks};"
              f" {gpu.source}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from ..analysis.llm import SizingError, fit_context, inference_fits, llm_sizing, training_fits
    from ..report.llm_format import LLM_FORMATS, fit_context_lines

    if args.list_gpus:
        return _list_gpus()
    if args.spec is None:
        return usage_error("llm", "the following arguments are required: SPEC")
    settings = _settings(args)
    if args.fit_context and settings.budget is None:
        return usage_error("llm", "--fit-context needs a memory budget: --fit GPU_OR_BUDGET, --gpu NAME or"
                                  " --gpu-memory SIZE")
    network = load_or_report(args.spec, args.variables, limits_from(args))
    if network is None:
        return EXIT_INVALID
    try:
        sizing = llm_sizing(network, settings)
    except SizingError as error:
        return usage_error("llm", str(error))
    fits = []
    if args.fit_context:
        fits = _fit_contexts(args, settings, network, fit_context, training_fits, inference_fits)
    if args.format == "json":
        document = sizing.to_dict()
        if fits:
            document["fit_context"] = [{"what": fit.what, "seq_len": fit.seq_len, "total_bytes": fit.total_bytes,
                                        "evaluations": fit.evaluations, "limit": fit.limit} for fit in fits]
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(LLM_FORMATS[args.format](sizing))
        if fits:
            sys.stdout.write(fit_context_lines(fits))
    print_problems(network.warnings)
    return EXIT_OK


def _fit_contexts(args: argparse.Namespace, settings: Any, network: Any, fit_context: Any, training_fits: Any,
                  inference_fits: Any) -> list[Any]:
    from ..api import load
    from ..problems import SpecError
    from ..spec.blocks import UnknownVariable

    variables = dict(args.variables)
    start = variables.get("seq_len")
    limits = limits_from(args)

    built: dict[int, Any] = {}

    def build(length: int) -> Any:
        if length not in built:
            built[length] = load_at(length)
        return built[length]

    def load_at(length: int) -> Any:
        try:
            return load(args.spec, variables={**variables, "seq_len": length}, limits=limits)
        except SpecError:
            return None
        except UnknownVariable:
            raise UsageError(f"--fit-context: {args.spec} declares no variable seq_len to vary") from None

    if not isinstance(start, int):
        build(1)    # a spec without seq_len is a usage error
        from ..analysis.llm import attention_layers

        start = attention_layers(network)[0].heads.query_length
    return [fit_context(build, start, training_fits(settings), "training"),
            fit_context(build, start, inference_fits(settings), "inference")]
