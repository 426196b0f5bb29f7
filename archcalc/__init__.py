"""archcalc: analytical shapes, parameters, MACs and memory of neural-network architectures.

    >>> import archcalc
    >>> summary = archcalc.load("specs/lenet5.yaml").summary()
    >>> summary.totals.params
    44426
"""

from .api import analyze, count, llm_sizing, load, loads, network_graph, receptive_fields, summarize, training_memory
from .problems import Problem, SpecError
from .spec.blocks import UnknownVariable
from .network import LayerResult, MemoryEstimate, Network, Summary, Totals

from .version import __version__


def __getattr__(name: str):
    # `archcalc.sweep` is imported on first use: a summary's start-up does not pay for the sweep engine
    if name == "sweep":
        from .sweeps.engine import sweep

        return sweep
    raise AttributeError(f"module 'archcalc' has no attribute {name!r}")


__all__ = [
    "LayerResult", "MemoryEstimate", "Network", "Problem", "SpecError", "Summary", "Totals", "UnknownVariable", "analyze", "load",
    "loads", "count", "llm_sizing", "network_graph", "receptive_fields", "summarize", "sweep", "training_memory",
    "__version__",
]
