"""Sequence models against real PyTorch: the zoo's LSTM classifier (params, every layer's output shapes, MACs,
also with --set seq_len=512), a GPT-style head tied to its token embedding, and the embedding's dtype check.

Optional: skipped when torch is not installed. MACs = FlopCounterMode / 2 with oneDNN off (contract §6).
"""

from __future__ import annotations

import pathlib
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archcalc  # noqa: E402
from archcalc.problems import SpecError  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN:UserWarning")


class LSTMClassifier(nn.Module):
    """specs/lstm_classifier.yaml by hand: the final hidden states of both layers and directions → 2 classes."""

    def __init__(self, vocab: int = 20000, embed: int = 128, hidden: int = 256):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.classifier = nn.Linear(4 * hidden, 2)

    def forward(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.embedding(ids)
        output, (h_n, c_n) = self.lstm(x)
        states = h_n.transpose(0, 1).flatten(1)          # [N, 4, hidden] → [N, 4·hidden]
        return {"embedding": x, "lstm": output, "lstm:1": h_n.transpose(0, 1), "lstm:2": c_n.transpose(0, 1),
                "states": states, "classifier": self.classifier(states)}


@pytest.mark.parametrize("seq_len", [256, 512])
def test_lstm_classifier_matches_torch(seq_len: int) -> None:
    network = archcalc.load(REPO / "specs" / "lstm_classifier.yaml", variables={"seq_len": seq_len})
    model = LSTMClassifier().eval()
    ids = torch.randint(0, 20000, (1, seq_len))
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False), FlopCounterMode(display=False) as counter:
        outputs = model(ids)
    assert network.totals.params == sum(p.numel() for p in model.parameters())
    assert network.totals.macs == counter.get_total_flops() // 2
    shapes = {f"{layer.name}:{index}" if index else layer.name: shape
              for layer in network.layers for index, shape in enumerate(layer.output_shapes)}
    assert shapes == {name: tuple(tensor.shape[1:]) for name, tensor in outputs.items()}
    lstm = network.layer("lstm")
    assert lstm.params == sum(p.numel() for p in model.lstm.parameters())


def test_oneDNN_lstm_is_counted_nothing_by_flop_counter() -> None:
    """Why the contract says oneDNN off: on CPU the fused nn.LSTM kernel is invisible to FlopCounterMode."""
    model = nn.LSTM(6, 4, batch_first=True)
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=True), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 5, 6))
    assert counter.get_total_flops() == 0


GPT = """
name: tiny-gpt-head
variables: {vocab: 1000, d: 64, ctx: 32}
input: {shape: ["${ctx}"], dtype: int64}
layers:
  - {name: wte, type: embedding, num_embeddings: "${vocab}", embedding_dim: "${d}"}
  - {name: wpe, type: parameter, shape: ["${ctx}", "${d}"]}
  - {name: x, type: add, inputs: [wte, wpe]}
  - {name: ln_f, type: layernorm, normalized_shape: "${d}"}
  - {name: lm_head, type: linear, out_features: "${vocab}", tie: wte}
"""


class TinyGPTHead(nn.Module):
    def __init__(self, vocab: int = 1000, d: int = 64, ctx: int = 32):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Parameter(torch.zeros(1, ctx, d))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab)
        self.lm_head.weight = self.wte.weight            # tied, as GPT-2

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.ln_f(self.wte(ids) + self.wpe))


def test_tied_gpt_head_counts_the_shared_weight_once() -> None:
    network = archcalc.loads(GPT, "gpt.yaml")
    model = TinyGPTHead()
    assert network.layer("lm_head").params == 1000           # its bias alone
    assert network.totals.params == sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.randint(0, 1000, (1, 32)))
    assert tuple(out.shape[1:]) == network.output_shape
    assert network.totals.macs == counter.get_total_flops() // 2


def test_float_input_to_an_embedding_is_a_located_error() -> None:
    spec = "input: [12]\nlayers:\n  - {type: embedding, num_embeddings: 10, embedding_dim: 4}\n"
    with pytest.raises(SpecError) as raised:
        archcalc.loads(spec, "bad.yaml")
    problem = raised.value.problems[0]
    assert (problem.line, problem.code) == (3, "dtype")
    assert "integer ids" in problem.message and "floating-point" in problem.message
