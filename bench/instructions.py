#!/usr/bin/env python3
"""Count the instructions whole processes execute (valgrind's "I refs"): start-up compared without the
noise of a shared machine, where wall-clock ratios of 0.2 s processes swing by a third from run to run.

    python bench/instructions.py        # needs valgrind (apt-get install valgrind); about a minute

Each command runs once first, so that its bytecode is compiled, then once under cachegrind (no cache
simulation). Prints the count and its ratio to the floor `import yaml; from pydantic import BaseModel`.
The references: the floor with pydantic's `Field` imported (every model with a field imports it); one
pydantic model with one field defined and validated, with and without pydantic's plugin loader (archcalc
replaces the loader when plugins are disabled); issue #19's 30 models in a discriminated union.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ONE_MODEL = "import yaml\nfrom pydantic import BaseModel\nclass A(BaseModel):\n    x: int\nA(x=1)"
NO_PLUGIN_LOADER = ("import sys, types\nloader = types.ModuleType('pydantic.plugin._loader')\n"
                    "loader.get_plugins = lambda: ()\nsys.modules['pydantic.plugin._loader'] = loader\n")


def commands() -> dict[str, list[str]]:
    python = sys.executable
    archcalc = [python, "-m", "archcalc"]
    return {
        "floor: import yaml + pydantic.BaseModel": [python, "-c", "import yaml; from pydantic import BaseModel"],
        "the floor and pydantic's Field": [python, "-c", "import yaml; from pydantic import BaseModel, Field"],
        "one pydantic model validated": [python, "-c", ONE_MODEL],
        "one pydantic model validated, without the plugin loader": [python, "-c", NO_PLUGIN_LOADER + ONE_MODEL],
        "30 pydantic layer models in a discriminated union validate specs/lenet5.yaml":
            [python, str(REPO / "bench" / "startup_reference.py"), str(REPO / "specs" / "lenet5.yaml")],
        "summary specs/lenet5.yaml": [*archcalc, "summary", str(REPO / "specs" / "lenet5.yaml")],
        "summary specs/resnet50.yaml": [*archcalc, "summary", str(REPO / "specs" / "resnet50.yaml")],
    }


def instructions(command: list[str]) -> int:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, capture_output=True, env=environment, check=True)
    run = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          *command], capture_output=True, text=True, env=environment, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{run.stderr}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    counts = {name: instructions(command) for name, command in commands().items()}
    floor = counts["floor: import yaml + pydantic.BaseModel"]
    print("| process | instructions | × floor |\n|---|---:|---:|")
    for name, count in counts.items():
        print(f"| {name} | {count / 1e6:,.0f} M | {count / floor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
