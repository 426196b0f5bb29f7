"""Design-space sweeps (`archcalc sweep`, `archcalc.sweep`): a spec over a grid of its variables, one row per
point, filtered (`where`), reduced to a Pareto front, sorted.

    grid.py    the grid's text (`32,64`, `2..8`, `160..320:32`), its points, the point limit
    where.py   the `--where` condition: its own small parser, never `eval`
    engine.py  the spec parsed once, one row per point, the rows chosen (where, Pareto front, sort), processes

Nothing is imported here, so that the command line can read the grid module without the engine.
"""
