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
from . import network as _network


def show(spec, **options):
    """The `archcalc report` page of `spec` (a path, YAML text, a dict, a Network or a Summary), shown inline by
    Jupyter; options: batch_size, dtype, optimizer, device, budget ("24GiB"), variables. See
    `archcalc.report.notebook.show`."""
    from .report.notebook import show as report

    return report(spec, **options)


def _notebook_html(value):
    from .report.notebook import html

    return html(value)


def _notebook_markdown(value):
    from .report.notebook import markdown_text

    return markdown_text(value)


# network.py sits below the formatters and may not import them: the package hands them down.
_network.DISPLAYS.update(html=_notebook_html, markdown=_notebook_markdown)


def __getattr__(name: str):
    # `archcalc.sweep` is imported on first use: a summary's start-up does not pay for the sweep engine
    if name == "sweep":
        from .sweeps.engine import sweep

        return sweep
    raise AttributeError(f"module 'archcalc' has no attribute {name!r}")


__all__ = [
    "LayerResult", "MemoryEstimate", "Network", "Problem", "SpecError", "Summary", "Totals", "UnknownVariable", "analyze", "load",
    "loads", "count", "llm_sizing", "network_graph", "receptive_fields", "show", "summarize", "sweep",
    "training_memory", "__version__",
]
