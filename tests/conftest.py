import pathlib

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
REPO = TESTS.parent
GOLDEN = TESTS / "golden"
SHARED_EXAMPLES = REPO.parent / "shared" / "examples"


@pytest.fixture
def write_spec(tmp_path):
    """Write YAML text to a spec file and return its path."""
    def write(text: str, name: str = "spec.yaml") -> pathlib.Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write
