"""Contract §6 graph features with the layer types every release has: typed and named inputs, several
outputs (`NAME:INDEX`), `share` (a module called more than once), `tie` (one weight, two layers), `--set`.

Parameter counts and saved activations of share and tie come from real PyTorch when it is installed.
"""

import json

import pytest

import archcalc
from archcalc.cli import main

SIAMESE = """\
input: {left: [16], right: [16]}
layers:
  - {name: tower, type: linear, out_features: 8, inputs: [left]}
  - {name: tower_again, share: tower, inputs: [right]}
  - {name: joined, type: add, inputs: [tower, tower_again]}
"""

TIED = """\
input: [8]
layers:
  - {name: first, type: linear, out_features: 8, bias: false}
  - {name: act, type: relu}
  - {name: again, type: linear, out_features: 8, tie: first}
"""


def summary_json(spec, capsys, *extra):
    assert main(["summary", str(spec), "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_named_inputs_with_dtypes_are_listed(write_spec, capsys):
    spec = write_spec("input: {ids: {shape: [7], dtype: int64}, image: [3, 8, 8]}\n"
                      "layers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3, inputs: [image]}\n")
    document = summary_json(spec, capsys, "--dtype", "float16")
    assert document["input_shape"] == [7]
    assert document["inputs"] == [{"name": "ids", "shape": [7], "dtype": "int64"},
                                  {"name": "image", "shape": [3, 8, 8], "dtype": "float16"}]
    # torchsummary's input figure counts both inputs at their own element sizes: 7·8 + 192·2
    assert document["memory"]["input_bytes"] == 7 * 8 + 3 * 8 * 8 * 2


def test_a_shared_module_counts_its_parameters_once_and_its_work_at_every_call(write_spec, capsys):
    document = summary_json(write_spec(SIAMESE), capsys)
    rows = {layer["name"]: layer for layer in document["layers"]}
    assert (rows["tower"]["params"], rows["tower_again"]["params"]) == (136, 0)
    assert rows["tower_again"]["shared_with"] == "tower"
    assert (rows["tower"]["macs"], rows["tower_again"]["macs"]) == (128, 128)
    assert document["totals"]["params"] == 136


def test_a_tied_weight_counts_once(write_spec, capsys):
    rows = {layer["name"]: layer for layer in summary_json(write_spec(TIED), capsys)["layers"]}
    assert (rows["first"]["params"], rows["again"]["params"]) == (64, 8)   # again: its bias; the weight is first's
    assert rows["again"]["macs"] == 8 * 8


def test_set_replaces_variables_and_unknown_names_are_usage_errors(write_spec, capsys):
    spec = write_spec("variables: {seq_len: 4, width: 8}\ninput: ['${seq_len}', 16]\n"
                      "layers:\n  - {type: linear, out_features: '${width}'}\n")
    document = summary_json(spec, capsys, "--set", "seq_len=4096", "--set", "width=32")
    assert document["output_shape"] == [4096, 32]
    assert document["layers"][0]["macs"] == 4096 * 16 * 32
    for command in ("summary", "explain", "check", "memory", "compare"):
        assert main([command, str(spec), "--set", "depth=3"]) == 2, command
        assert "the spec has no variable 'depth'" in capsys.readouterr().err
    assert archcalc.load(spec, variables={"width": 3}).output_shape == (4, 3)


BAD = [
    pytest.param("input: [8]\nlayers:\n  - {name: a, type: linear, out_features: 4}\n"
                 "  - {name: b, type: linear, out_features: 2, tie: a}\n",
                 "4:46: error: linear 'b': tie 'a': its weight is [4, 8], this layer's is [2, 4]", id="tie-shapes"),
    pytest.param("input: [8]\nlayers:\n  - {name: a, type: linear, out_features: 4, tie: z}\n",
                 "3:46: error: linear 'a': tie 'z' is not an earlier layer", id="tie-unknown"),
    pytest.param("input: [8]\nlayers:\n  - {name: a, type: linear, out_features: 4}\n"
                 "  - {name: b, share: a, out_features: 5, inputs: [input]}\n",
                 "4:25: error: linear 'b': out_features is 5 but the shared module 'a' has 4: a shared module"
                 " has one set of arguments", id="share-arguments"),
    pytest.param("input: [8]\nlayers:\n  - {name: a, type: linear, out_features: 4}\n"
                 "  - {name: b, type: relu, share: a}\n",
                 "4:27: error: relu 'b': share 'a' is a linear, not a relu", id="share-type"),
    pytest.param("input: [8]\nlayers:\n  - {name: a, type: linear, out_features: 8}\n"
                 "  - {name: b, share: a}\n  - {name: c, share: b, inputs: [b]}\n",
                 None, id="share-of-a-share-is-the-owner"),
    pytest.param("input: {a: [8], b: [6]}\nlayers:\n  - {name: x, type: linear, out_features: 4, inputs: [a]}\n"
                 "  - {name: y, share: x, inputs: [b]}\n",
                 "4:15: error: linear 'y': this call's input is [6] but the shared module 'x' was built for [8]",
                 id="share-input-size"),
    pytest.param("input: [8]\nlayers:\n  - {name: a, type: relu}\n  - {name: b, type: relu, inputs: ['a:1']}\n",
                 "4:27: error: relu 'b': 'a' has 1 output, so there is no 'a:1'", id="output-index"),
    pytest.param("input: {shape: [8], dtype: int64}\nlayers:\n  - {type: relu}\n",
                 "3:5: error: relu 'relu-1': input 1 is an int64 tensor; a relu needs a floating-point input"
                 " (an embedding turns integer ids into vectors)", id="integer-input"),
    pytest.param("input: {shape: [8], dtype: int8}\nlayers:\n  - {type: relu}\n",
                 "1:21: error: input.dtype: expected 'float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32'"
                 " or 'bool', got the string 'int8'", id="input-dtype"),
]


@pytest.mark.parametrize("text, expected", BAD)
def test_graph_mistakes_are_located(text, expected, write_spec, capsys):
    spec = write_spec(text)
    code = main(["summary", str(spec)])
    err = capsys.readouterr().err
    if expected is None:
        assert code == 0, err
    else:
        assert (code, err.splitlines()) == (1, [f"{spec}:{expected}"])


def test_share_and_tie_equal_real_pytorch(write_spec):
    pytest.importorskip("torch")
    from torch import nn

    tower = nn.Linear(16, 8)
    siamese = archcalc.load(write_spec(SIAMESE))
    assert siamese.totals.params == sum(p.numel() for p in nn.ModuleList([tower, tower]).parameters())

    first, again = nn.Linear(8, 8, bias=False), nn.Linear(8, 8)
    again.weight = first.weight
    tied = archcalc.load(write_spec(TIED))
    assert tied.totals.params == sum(p.numel() for p in nn.ModuleList([first, nn.ReLU(), again]).parameters()) == 72


def test_a_shared_module_keeps_what_each_call_needs_for_backward(write_spec):
    """saved_tensors_hooks on a module called twice: each call keeps its own input (its weight needs a
    gradient), and the optimizer holds one state per parameter tensor."""
    torch = pytest.importorskip("torch")
    from torch import nn

    tower = nn.Linear(16, 8)
    saved = []
    left, right = torch.randn(2, 16), torch.randn(2, 16)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        (tower(left) + tower(right)).sum()
    kept = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in saved
            if not isinstance(t, nn.Parameter) and t.data_ptr() not in (p.data_ptr() for p in tower.parameters())}
    memory = archcalc.training_memory(archcalc.load(write_spec(SIAMESE)), batch_size=2, device="cpu")
    assert memory.totals.saved_activation_bytes == sum(kept.values()) == 2 * 2 * 16 * 4
    assert memory.totals.parameter_bytes == 136 * 4


def test_a_tied_linear_keeps_its_input_for_the_shared_weight(write_spec):
    """The LM head of GPT-2 has no bias and a tied weight: it still keeps its input, the weight's gradient
    needs it (measured: AddmmBackward / MmBackward keeps mat1)."""
    torch = pytest.importorskip("torch")
    from torch import nn

    first, again = nn.Linear(8, 8, bias=False), nn.Linear(8, 8, bias=False)
    again.weight = first.weight
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        again(torch.relu(first(torch.randn(2, 8)))).sum()
    activations = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in saved
                   if t.untyped_storage().data_ptr() != first.weight.untyped_storage().data_ptr()}
    spec = TIED.replace("out_features: 8, tie: first", "out_features: 8, bias: false, tie: first")
    memory = archcalc.training_memory(archcalc.load(write_spec(spec)), batch_size=2, device="cpu")
    assert memory.totals.saved_activation_bytes == sum(activations.values())
