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


# Bundled specs too large to build for real in the generic torch cross-checks (tests/test_torch_crosscheck.py,
# tests/test_memory_torch.py: every layer as a torch module, the whole graph at batch 2, training memory): they
# run there with these variables, the same layout at a small size. Their full size is compared with the real
# model in tests/test_zoo_transformers.py (on PyTorch's meta device: shapes, no storage). LLaMA-2-7B at full
# size would need 27 GB for its parameters alone, its attention at 4,096 tokens 2 GB per layer.
TORCH_SIZED_VARIABLES: dict[str, dict] = {
    "llama2_7b": {"n_layer": 1, "seq_len": 16, "vocab_size": 1000},
    "llama2_70b": {"n_layer": 1, "d_model": 512, "n_head": 8, "n_kv_head": 2, "d_ff": 1024, "seq_len": 16,
                   "vocab_size": 1000},
    "llama_gqa_small": {"seq_len": 32},
    "gpt2": {"n_layer": 2, "seq_len": 32},
    "bert_base": {"n_layer": 2, "seq_len": 32},
    "vit_b_16": {"n_layer": 2},
    "mixtral_8x7b": {"n_layer": 1, "d_model": 128, "n_head": 4, "n_kv_head": 2, "d_ff": 96, "seq_len": 16,
                     "vocab_size": 1000},
    "qwen_moe_a2_7b": {"n_layer": 1, "d_model": 128, "n_head": 4, "n_kv_head": 4, "d_ff": 32, "d_shared": 96,
                       "n_expert": 6, "seq_len": 16, "vocab_size": 1000},
}


def load_torch_sized(path):
    """archcalc.load(path), with TORCH_SIZED_VARIABLES for the bundled specs listed there."""
    import archcalc
    path = pathlib.Path(path)
    variables = TORCH_SIZED_VARIABLES.get(path.stem) if path.parent == REPO / "specs" else None
    return archcalc.load(path, variables=variables)


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (tests/browser.py); the test skips when none is installed."""
    from browser import Chromium, chromium_path, skip_reason

    if skip_reason():
        pytest.skip(skip_reason())
    browser = Chromium(chromium_path())
    # a first start on a fresh machine (font and shader caches) can take longer than a page ever should
    browser.new_page(timeout=180).close()
    yield browser
    browser.close()


@pytest.fixture
def page(chromium):
    """A fresh tab that records console errors and refuses (and records) every non-file request."""
    tab = chromium.new_page()
    yield tab
    tab.close()
