"""Design-space sweeps (`archcalc sweep`, `archcalc.sweep`): a spec over a grid of its variables, one row per
point, filtered (`where`), reduced to a Pareto front, sorted."""

from .engine import METRICS, Options, PreparedSpec, Row, SweepResult, sweep, sweep_result
from .grid import MAX_POINTS, GridError, parse_values
from .where import WhereError, parse_condition

__all__ = ["GridError", "MAX_POINTS", "METRICS", "Options", "PreparedSpec", "Row", "SweepResult", "WhereError",
           "parse_condition", "parse_values", "sweep", "sweep_result"]
