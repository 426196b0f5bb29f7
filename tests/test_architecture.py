"""The house, drawn from its imports: every `import` in archcalc/, module-level or inside a function,
is an edge; the graph must have no cycle, and the layers below must never import the layers above."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "archcalc"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found.update(candidate for candidate in candidates if candidate in modules and candidate != name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imports_of(path, set(paths)) for name, path in paths.items()}


def test_there_are_no_import_cycles():
    graph = import_graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(" → ".join(cycle) for cycle in cycles)


# Lower layers never import higher ones: a layer type knows nothing of the analyses that read it.
LEVELS = {"archcalc.version": 0, "archcalc.problems": 0, "archcalc.formula": 0, "archcalc.numbers": 0,
          "archcalc.layers": 1, "archcalc.spec": 2,
          "archcalc.network": 2, "archcalc.analysis": 3, "archcalc.api": 4, "archcalc.check": 5, "archcalc.sweeps": 5,
          "archcalc.report": 6, "archcalc.bridges": 6, "archcalc.cli": 7, "archcalc": 8}


def level(module: str) -> int:
    while module not in LEVELS:
        module = module.rpartition(".")[0]
    return LEVELS[module]


def test_lower_layers_never_import_higher_ones():
    wrong = [f"{source} imports {target}" for source, targets in import_graph().items() for target in targets
             if level(target) > level(source)]
    assert not wrong, "\n".join(sorted(wrong))
