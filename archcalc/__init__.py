"""archcalc: analytical shapes, parameters, MACs and memory of neural-network architectures.

    >>> import archcalc
    >>> summary = archcalc.load("specs/lenet5.yaml").summary()
    >>> summary.totals.params
    61706
"""

from .api import analyze, load, loads
from .problems import Problem, SpecError
from .results import LayerResult, MemoryEstimate, Network, Summary, Totals

__version__ = "0.1.0"

__all__ = [
    "LayerResult", "MemoryEstimate", "Network", "Problem", "SpecError", "Summary", "Totals", "analyze", "load",
    "loads", "__version__",
]
