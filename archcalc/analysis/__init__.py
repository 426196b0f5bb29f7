"""Functions of a propagated `Network`: propagation itself, training memory, counting conventions,
receptive fields, budgets, explanations and file checks. Nothing here is imported by `archcalc.network`."""
