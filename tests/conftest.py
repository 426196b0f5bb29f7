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


# Bundled specs too large to build for real in the generic torch cross-checks (tests/test_torch_crosscheck.py,
# tests/test_memory_torch.py: every layer as a torch module, the whole graph at batch 2, training memory): they
# run there with these variables, the same layout at a small size. Their full size is compared with the real
# model in tests/test_zoo_transformers.py (on PyTorch's meta device: shapes, no storage). LLaMA-2-7B at full
# size would need 27 GB for its parameters alone, its attention at 4,096 tokens 2 GB per layer.
TORCH_SIZED_VARIABLES: dict[str, dict] = {
    "llama2_7b": {"n_layer": 1, "seq_len": 16, "vocab_size": 1000},
    "llama_gqa_small": {"seq_len": 32},
    "gpt2": {"n_layer": 2, "seq_len": 32},
    "bert_base": {"n_layer": 2, "seq_len": 32},
    "vit_b_16": {"n_layer": 2},
}


def load_torch_sized(path):
    """archcalc.load(path), with TORCH_SIZED_VARIABLES for the bundled specs listed there."""
    import archcalc
    path = pathlib.Path(path)
    variables = TORCH_SIZED_VARIABLES.get(path.stem) if path.parent == REPO / "specs" else None
    return archcalc.load(path, variables=variables)
