"""The PyTorch bridges, against real PyTorch: `archcalc export --to pytorch` and `archcalc import torch`.

* Every zoo spec, exported, is a module with exactly the spec's parameters and, module by module (a forward
  hook on each module named as a spec layer), the spec's output shapes; imported back, the same totals and
  the same numbers at every module layer.
* torchvision's ResNet-50 and MobileNetV2 (written out in tests/torchvision_models.py), imported, equal the
  zoo specs layer by layer (name, type, output shape, parameters, MACs) and read as blocks with `repeat`.
* The ResNet-50 exported from the zoo spec loads the reference model's state_dict with strict=True.
* `share`, `tie` and `parameter` come from a module called twice, a tied weight and an nn.Parameter; an op
  with no spec type is refused, naming the op, its module and its source line.

Models are built on the meta device where only shapes and counts matter (LLaMA 2 70B needs no memory), and
the largest specs run with fewer layers (`--set n_layer=2`), so the module stays fast.

Run: python -m pytest tests/test_pytorch_bridge.py -q   (in an environment with torch)
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch = pytest.importorskip("torch")
    from torch import nn

import archcalc
from archcalc.bridges import ImportFailure
from archcalc.bridges.pytorch_export import export_pytorch
from archcalc.bridges.torch_import import import_torch
from archcalc.cli import main
from conftest import REPO
from torchvision_models import Bottleneck, MobileNetV2, ResNet

ZOO = sorted(path.stem for path in (REPO / "specs").glob("*.yaml"))
# fewer layers or a shorter sequence for the specs whose full size would only make the test slow
SMALLER = {"llama2_70b": {"n_layer": 2}, "llama2_7b": {"n_layer": 2}, "llama_gqa_small": {"n_layer": 2},
           "gpt2": {"n_layer": 2}, "bert_base": {"n_layer": 2}, "vit_b_16": {"n_layer": 2},
           "lstm_classifier": {"seq_len": 16}, "densenet121": {"n3": 4, "n4": 4},
           "mixtral_8x7b": {"n_layer": 2, "d_model": 64, "n_head": 4, "n_kv_head": 2, "d_ff": 96, "vocab_size": 128,
                            "seq_len": 8},
           "qwen_moe_a2_7b": {"n_layer": 2, "d_model": 64, "n_head": 4, "n_kv_head": 4, "d_ff": 32, "d_shared": 96,
                              "vocab_size": 128, "seq_len": 8}}
# a mixture of experts routes by values (torch.where gathers each expert's tokens), which a meta tensor has not (there
# the block only gives its input's shape): these run on the CPU at the small sizes above, so that the routing runs
ON_CPU = {"mixtral_8x7b", "qwen_moe_a2_7b"}


def exported_class(network: archcalc.Network, name: str = "exported") -> type[nn.Module]:
    namespace = {"__name__": name}
    exec(compile(export_pytorch(network, "spec.yaml"), f"{name}.py", "exec"), namespace)   # the file as Python runs it
    classes = [value for value in namespace.values()
               if isinstance(value, type) and issubclass(value, nn.Module) and value.__module__ == name]
    return classes[-1]   # the network's class comes after its blocks'


def example_inputs(network: archcalc.Network, device: str = "meta") -> list[torch.Tensor]:
    items = [(item.shape, item.dtype) for item in network.inputs] or [(network.input_shape, network.input_dtype)]
    return [torch.zeros(1, *shape, dtype=getattr(torch, dtype) if dtype != "float" else torch.float32, device=device)
            for shape, dtype in items]


def first_tensor(output):
    while isinstance(output, (tuple, list)):
        output = output[0]
    return output


def module_shapes(model: nn.Module, names: set[str], inputs: list[torch.Tensor]) -> dict[str, list[tuple]]:
    """Every call's output shape (batch axis dropped) of each module named in `names`, in call order."""
    seen: dict[str, list[tuple]] = {}
    handles = [module.register_forward_hook(
        lambda module, args, output, name=name: seen.setdefault(name, []).append(tuple(first_tensor(output).shape[1:])))
        for name, module in model.named_modules() if name in names]
    with torch.no_grad():
        model(*inputs)
    for handle in handles:
        handle.remove()
    return seen


def module_layers(network: archcalc.Network) -> list[archcalc.LayerResult]:
    from archcalc.bridges.pytorch_export import _is_module

    return [layer for layer in network.layers if _is_module(layer.type)]


def numbers(layer) -> tuple:
    return layer.type, layer.output_shape, layer.params, layer.macs


@pytest.mark.parametrize("spec", ZOO)
def test_an_exported_zoo_spec_has_its_parameters_and_shapes_and_imports_back(spec):
    network = archcalc.load(REPO / "specs" / f"{spec}.yaml", variables=SMALLER.get(spec))
    device = "cpu" if spec in ON_CPU else "meta"
    with torch.device(device):
        model = exported_class(network)().eval()
    assert sum(parameter.numel() for parameter in model.parameters()) == network.totals.params

    layers = module_layers(network)
    seen = module_shapes(model, {layer.shared_with or layer.name for layer in layers}, example_inputs(network, device))
    calls: dict[str, int] = {}
    for layer in layers:   # a shared module's later calls are its `share:` layers, in order
        owner = layer.shared_with or layer.name
        assert seen[owner][calls.get(owner, 0)] == tuple(layer.output_shape), layer.name
        calls[owner] = calls.get(owner, 0) + 1

    items = [(item.shape, item.dtype) for item in network.inputs] or [(network.input_shape, network.input_dtype)]
    text = import_torch(f"model.py:{type(model).__name__}", [list(shape) for shape, _ in items],
                        [dtype if dtype != "float" else "float32" for _, dtype in items], model=model)
    back = archcalc.loads(text)
    assert (back.totals.params, back.totals.macs) == (network.totals.params, network.totals.macs)
    imported = {layer.name: layer for layer in back.layers}
    assert {layer.name: numbers(layer) for layer in layers} == \
        {layer.name: numbers(imported[layer.name]) for layer in layers}


# ---------------------------------------------------------------------------------------------------
# a mixture of experts against Hugging Face's


SWIGLU = [{"name": "gate_proj", "type": "linear", "out_features": "WIDTH", "bias": False},
          {"name": "act_fn", "type": "silu"},
          {"name": "up_proj", "type": "linear", "out_features": "WIDTH", "bias": False, "inputs": ["input"]},
          {"name": "mul", "type": "mul", "inputs": ["act_fn", "up_proj"]},
          {"name": "down_proj", "type": "linear", "out_features": 16, "bias": False}]


def swiglu(width: int) -> list[dict]:
    return [{key: width if value == "WIDTH" else value for key, value in layer.items()} for layer in SWIGLU]


HF_MOE = [
    # (HF class, its config, the moe layer's arguments): hidden size 16, 10 tokens
    ("mixtral.modeling_mixtral.MixtralSparseMoeBlock", "MixtralConfig",
     dict(hidden_size=16, intermediate_size=24, num_local_experts=4, num_experts_per_tok=2),
     dict(experts=4, top_k=2, expert=swiglu(24))),
    ("qwen2_moe.modeling_qwen2_moe.Qwen2MoeSparseMoeBlock", "Qwen2MoeConfig",
     dict(hidden_size=16, moe_intermediate_size=24, shared_expert_intermediate_size=40, num_experts=6,
          num_experts_per_tok=2, norm_topk_prob=False),
     dict(experts=6, top_k=2, expert=swiglu(24), shared_experts=1, shared_expert=swiglu(40), shared_expert_gate=True,
          normalize_top_k=False)),
]


@pytest.mark.parametrize("block, config, settings, arguments", HF_MOE, ids=[row[0].rpartition(".")[2] for row in HF_MOE])
def test_the_exported_moe_computes_what_hugging_face_computes(block, config, settings, arguments):
    """transformers 5.24's eager block, loaded with the exported module's weights (its experts fused: gate_up_proj
    [E, 2·width, d] is each expert's gate_proj and up_proj stacked, down_proj [E, d, width]), gives the same output;
    every other state_dict key is HF's own (gate.weight, shared_expert.gate_proj.weight, shared_expert_gate.weight)."""
    transformers = pytest.importorskip("transformers")
    network = archcalc.analyze({"input": [10, 16], "layers": [{"name": "mlp", "type": "moe", **arguments}]}).network
    torch.manual_seed(0)
    exported = exported_class(network)().eval()
    for parameter in exported.parameters():
        nn.init.normal_(parameter)
    module, _, name = block.rpartition(".")
    kind = getattr(importlib.import_module(f"transformers.models.{module}"), name)
    reference = kind(getattr(transformers, config)(**settings)).eval()
    state = {key.removeprefix("mlp."): value for key, value in exported.state_dict().items()
             if ".experts." not in key}
    experts = exported.mlp.experts
    state["experts.gate_up_proj"] = torch.stack([torch.cat([expert.gate_proj.weight, expert.up_proj.weight])
                                                 for expert in experts])
    state["experts.down_proj"] = torch.stack([expert.down_proj.weight for expert in experts])
    reference.load_state_dict(state, strict=True)
    x = torch.randn(1, 10, 16)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), reference(x))
    assert sum(parameter.numel() for parameter in reference.parameters()) == network.totals.params


@pytest.mark.parametrize("spec", ["mixtral_8x7b", "qwen_moe_a2_7b"])
def test_a_full_width_moe_model_on_the_meta_device_imports_back(spec):
    """At full width (two layers) the model is built on the meta device, where the routing has no values to route
    by: the block gives its input's shape, and the import reads the same parameters and MACs."""
    network = archcalc.load(REPO / "specs" / f"{spec}.yaml", variables={"n_layer": 2})
    with torch.device("meta"):
        model = exported_class(network)().eval()
    items = [(item.shape, item.dtype) for item in network.inputs]
    text = import_torch("model.py:Model", [list(shape) for shape, _ in items],
                        [dtype if dtype != "float" else "float32" for _, dtype in items], model=model)
    assert archcalc.loads(text).totals == network.totals


def test_moe_layers_that_differ_get_classes_of_their_own():
    """Two mixtures of experts of different expert widths: two block classes and two expert classes, each imported
    back as its own layer."""
    layers = [{"name": "moe1", "type": "moe", "experts": 4, "top_k": 2, "expert": swiglu(24)},
              {"name": "moe2", "type": "moe", "experts": 3, "top_k": 1, "expert": swiglu(8), "router_bias": True,
               "shared_experts": 2}]
    network = archcalc.analyze({"input": [10, 16], "layers": layers}).network
    source = export_pytorch(network)
    assert [line for line in source.splitlines() if line.startswith("class ")] == \
        ["class Expert(nn.Module):", "class SparseMoeBlock(nn.Module):", "class Expert2(nn.Module):",
         "class SparseMoeBlock2(nn.Module):", "class Model(nn.Module):"]
    assert "        self.shared_experts = nn.ModuleList([Expert2() for _ in range(2)])" in source.splitlines()
    model = exported_class(network)().eval()
    text = import_torch("model.py:Model", [[10, 16]], model=model)
    back = archcalc.loads(text)
    assert [numbers(layer) for layer in back.layers] == [numbers(layer) for layer in network.layers]
    assert "  - {name: moe2, type: moe, experts: 3, top_k: 1, expert: expert_2, shared_experts: 2, router_bias: true}" \
        in text.splitlines()


# ---------------------------------------------------------------------------------------------------
# torchvision's models → the zoo


REFERENCES = [
    # (zoo spec, the model, the block uses the import writes: name and repeat)
    ("resnet50", lambda: ResNet(Bottleneck, (3, 4, 6, 3)), [("layer1", 3), ("layer2", 4), ("layer3", 6), ("layer4", 3)]),
    ("mobilenet_v2", MobileNetV2, [("features.${i + 2}", 2), ("features.${i + 4}", 3), ("features.${i + 7}", 4),
                                   ("features.${i + 11}", 3), ("features.${i + 14}", 3),
                                   ("features.17.conv.${i}", 2)]),
]


@pytest.mark.parametrize("spec, build, uses", REFERENCES, ids=[row[0] for row in REFERENCES])
def test_an_imported_torchvision_model_equals_the_zoo_spec_layer_by_layer(spec, build, uses):
    with torch.device("meta"):
        model = build().eval()
    text = import_torch(f"torchvision.models:{spec}", [[3, 224, 224]], model=model)
    imported = archcalc.loads(text)
    zoo = archcalc.load(REPO / "specs" / f"{spec}.yaml")
    # by name: torchvision's forward computes the shortcut before the residual branch, the zoo lists it after
    assert {layer.name: numbers(layer) for layer in imported.layers} == {layer.name: numbers(layer) for layer in zoo.layers}
    found = re.findall(r"\{block: [^,]+, name: ([^,]+), repeat: (\d+)", text)
    assert [(name.strip('"'), int(count)) for name, count in found] == uses


def test_an_imported_convnext_has_the_zoo_totals_and_its_stages_as_repeats():
    """torchvision's ConvNeXt-Tiny (tests/test_zoo_references.py): LayerNorm2d's F.layer_norm with the module's own
    weights is that module's layernorm, CNBlock's layer_scale [C, 1, 1] a `parameter` broadcast over the batch."""
    from test_zoo_references import ConvNeXt

    with torch.device("meta"):
        model = ConvNeXt().eval()
    text = import_torch("torchvision.models:convnext_tiny", [[3, 224, 224]], model=model)
    zoo = archcalc.load(REPO / "specs" / "convnext_tiny.yaml")
    assert archcalc.loads(text).totals == zoo.totals
    found = re.findall(r"\{block: cn_block, name: ([^,]+), repeat: (\d+)", text)
    assert found == [("features.1", "3"), ("features.3", "3"), ("features.5", "9"), ("features.7", "3")]


def test_the_exported_resnet50_loads_the_reference_state_dict_strictly():
    reference = ResNet(Bottleneck, (3, 4, 6, 3)).eval()
    exported = exported_class(archcalc.load(REPO / "specs" / "resnet50.yaml"))().eval()
    exported.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(exported(x), reference(x))   # the same weights, the same computation


# ---------------------------------------------------------------------------------------------------
# share, tie, parameter; refused ops


class Siamese(nn.Module):
    """One tower called on both halves of the input, a learned offset, and a head tied to the tower."""

    def __init__(self):
        super().__init__()
        self.tower = nn.Linear(16, 16)
        self.offset = nn.Parameter(torch.zeros(1, 16))
        self.head = nn.Linear(16, 16, bias=False)
        self.head.weight = self.tower.weight

    def forward(self, x):
        left, right = torch.chunk(x, 2, dim=1)
        return self.head(self.tower(left) + self.tower(right) + self.offset)


def test_a_module_called_twice_shares_a_tied_weight_ties_a_parameter_is_a_layer():
    text = import_torch("tests:Siamese", [[32]], model=Siamese())
    assert '{name: tower_1, type: linear, inputs: ["chunk:1"], out_features: 16, share: tower}' in text
    assert "{name: head, type: linear, out_features: 16, bias: false, tie: tower}" in text
    assert "{name: offset, type: parameter, shape: [16]}" in text
    assert archcalc.loads(text).totals.params == sum(parameter.numel() for parameter in Siamese().parameters())


class CumulativeSum(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(8, 8))

    def forward(self, x):
        return torch.cumsum(self.block(x), dim=1).sort(dim=1).values


def test_an_op_without_a_spec_type_is_refused_with_its_module_and_line():
    with pytest.raises(ImportFailure) as error:
        import_torch("tests:CumulativeSum", [[8]], model=CumulativeSum())
    line = next(number for number, text in enumerate(open(__file__, encoding="utf-8"), 1) if "torch.cumsum(" in text)
    message = str(error.value)
    assert message.startswith("2 ops of CumulativeSum have no archcalc layer type:\n")
    assert f"torch.cumsum at the top level ({__file__}:{line}: return torch.cumsum(" in message
    assert "the tensor method .sort() at the top level" in message


# ---------------------------------------------------------------------------------------------------
# the commands


def test_archcalc_import_torch_writes_a_spec(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    output = tmp_path / "siamese.yaml"
    assert main(["import", "torch", "test_pytorch_bridge:Siamese", "--input-shape", "32", "-o", str(output)]) == 0
    assert archcalc.load(output).totals.params == 16 * 16 + 16 + 16
    assert main(["import", "torch", "test_pytorch_bridge:CumulativeSum", "--input-shape", "8"]) == 1
    assert "archcalc import torch: error: 2 ops of CumulativeSum have no archcalc layer type:" in capsys.readouterr().err
    assert main(["import", "torch", "no_such_module:Net", "--input-shape", "8"]) == 1
    assert "cannot import no_such_module: ModuleNotFoundError" in capsys.readouterr().err
    assert main(["import", "torch", "test_pytorch_bridge:Siamese", "--input-shape", "16"]) == 1   # 16 is half of it
    assert capsys.readouterr().err.count("\n") == 1   # one line, no traceback
    with pytest.raises(SystemExit) as usage:
        main(["import", "torch", "test_pytorch_bridge", "--input-shape", "8"])
    assert usage.value.code == 2
    assert "expected MODULE:CALLABLE" in capsys.readouterr().err


def test_archcalc_export_writes_a_runnable_model_py(tmp_path):
    """A newcomer's one command: the zoo's ResNet-18 at half width, as a file `python model.py` runs."""
    output = tmp_path / "model.py"
    assert main(["export", str(REPO / "specs" / "resnet18.yaml"), "--set", "width=32", "-o", str(output)]) == 0
    ran = subprocess.run([sys.executable, str(output)], capture_output=True, text=True, check=True)
    params = archcalc.load(REPO / "specs" / "resnet18.yaml", variables={"width": 32}).totals.params
    assert ran.stdout == f"{params:,} parameters; output shape (1, 1000)\n"
    assert "import torch\nfrom torch import nn\n" in output.read_text()


# A spec from a pull request is exported and run: its names and path are data in the file, never code.
HOSTILE_SPEC = """\
name: "x\\"\\"\\" + __import__('pathlib').Path('SENTINEL').write_text('ran') + \\"\\"\\" \\\\"
input: [3, 8, 8]
layers:
  - {name: "a; __import__('pathlib').Path('SENTINEL').write_text('ran')", type: conv2d, out_channels: 4,
     kernel_size: 3}
  - {name: "b')\\n__import__('pathlib').Path('SENTINEL').write_text('ran')#", type: relu}
"""


def test_hostile_names_export_to_a_file_that_runs_nothing_of_theirs(tmp_path):
    spec = tmp_path / 'evil """ name.yaml'
    spec.write_text(HOSTILE_SPEC)
    model = tmp_path / "model.py"
    assert main(["export", str(spec), "-o", str(model)]) == 0
    done = subprocess.run([sys.executable, str(model)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "SENTINEL").exists()
    assert "112 parameters" in done.stdout
    docstring = importlib.import_module("ast").get_docstring(importlib.import_module("ast").parse(model.read_text()))
    assert docstring.startswith(archcalc.load(spec).name + " as a PyTorch module")


@pytest.mark.parametrize("name, line, column", [("forward", 4, 6), ("blocks.training", 4, 6), ("__class__", 4, 6)])
def test_a_layer_name_pytorch_refuses_is_a_located_error(name, line, column, tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"input: [4]\nlayers:\n  - {{type: relu}}\n  - {{name: {name}, type: linear, out_features: 2}}\n")
    assert main(["export", str(spec)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"{spec}:{line}:{column}: error: linear '{name}': ")
    assert "cannot name a PyTorch module" in err and err.count("\n") == 1


def test_the_exporter_knows_every_public_attribute_of_nn_module():
    """A layer named like one of nn.Module's attributes (`forward`, `to`, `training`) is added by name, not assigned:
    the exporter's list must hold every public attribute of the installed torch's nn.Module."""
    from archcalc.bridges.pytorch_export import MODULE_ATTRIBUTES

    # in a fresh process with torch alone, as model.py runs (other packages patch nn.Module: transformers adds one)
    probe = "import torch; m = torch.nn.Module(); print(' '.join(sorted({*dir(type(m)), *vars(m)})))"
    names = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert {name for name in names if not name.startswith("_")} <= MODULE_ATTRIBUTES
