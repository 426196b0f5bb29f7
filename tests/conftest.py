import os
import pathlib

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
REPO = TESTS.parent
GOLDEN = TESTS / "golden"
# The examples shared with the other implementations, beside the project's checkout (../shared/examples), or where
# ARCHCALC_SHARED_EXAMPLES points. A copy of the project elsewhere has none: their tests skip, saying so.
SHARED_EXAMPLES = pathlib.Path(os.environ.get("ARCHCALC_SHARED_EXAMPLES", REPO.parent / "shared" / "examples"))


def shared_example_params(keep=lambda path: True) -> list:
    """The shared example specs as pytest params; when the folder is missing, one skipped param that says where
    it was looked for (never silently none)."""
    if not SHARED_EXAMPLES.is_dir():
        return [pytest.param(None, id="shared-examples-missing", marks=pytest.mark.skip(
            reason=f"shared examples not found at {SHARED_EXAMPLES}: set ARCHCALC_SHARED_EXAMPLES to their folder"))]
    found = [path for path in sorted(SHARED_EXAMPLES.glob("*.yaml")) if keep(path)]
    assert found, f"no *.yaml in the shared examples folder {SHARED_EXAMPLES}"
    return [pytest.param(path, id=f"{path.parent.name}/{path.stem}") for path in found]


@pytest.fixture
def write_spec(tmp_path):
    """Write YAML text to a spec file and return its path."""
    def write(text: str, name: str = "spec.yaml") -> pathlib.Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write
