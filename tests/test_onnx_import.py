"""`archcalc import onnx`: ONNX models → specs.

Round trips: zoo specs built as PyTorch modules (tests/torch_modules.py), exported by torch.onnx.export
(the TorchScript exporter, `dynamo=False`: the dynamo exporter needs onnxscript) and imported, give the
spec's totals and every layer's output shape. One handcrafted ONNX model (onnx.helper) per mapped operator:
(nodes, input) → (the spec layer, its output shape, its parameters). Unmapped nodes are each named.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
numpy = pytest.importorskip("numpy")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import archcalc  # noqa: E402
from archcalc.bridges.onnx_import import layer_name, onnx_model_to_records, spec_text, verify  # noqa: E402
from archcalc.cli import main  # noqa: E402
from archcalc.problems import SpecError  # noqa: E402

OPSET = 20


def imported_network(model, name: str = "model", flat: bool = True) -> tuple[list, archcalc.Network]:
    imported = onnx_model_to_records(model, "model.onnx", name)
    return imported.layers, verify(imported, spec_text(imported, flat=flat))


# --- round trips through torch.onnx.export ---------------------------------------------------------------------

# Every zoo spec, built as a GraphModule (tests/torch_modules.py), exported and imported. The transformers and the
# large CNNs run at small sizes (the counts' formulas do not depend on them); the module is built on the meta
# device and exported without its weights (`export_params=False`), which become initializers holding only their
# shapes, as in a model whose weights are stored outside the file (external data): the import reads shapes only.
SMALL = {"bert_base": {"n_layer": 2, "d_model": 64, "n_head": 4, "d_ff": 128, "vocab_size": 500, "max_positions": 64,
                       "seq_len": 32},
         "gpt2": {"n_layer": 2, "d_model": 64, "n_head": 4, "vocab_size": 500, "n_positions": 64, "seq_len": 32},
         "vit_b_16": {"n_layer": 2, "image_size": 32, "d_model": 64, "n_head": 4, "d_ff": 128, "num_classes": 10},
         "transformer_encoder": {"seq_len": 16, "d_model": 32, "nhead": 4, "dim_feedforward": 64},
         "lstm_classifier": {"seq_len": 16, "vocab": 200, "embed": 16, "hidden": 32},
         **{spec: {"n_layer": 2, "d_model": 64, "n_head": 8, "n_kv_head": 2, "d_ff": 96, "vocab_size": 128,
                   "seq_len": 16} for spec in ("llama2_70b", "llama_gqa_small")},
         "llama2_7b": {"n_layer": 2, "d_model": 64, "n_head": 8, "n_kv_head": 8, "d_ff": 96, "vocab_size": 128,
                       "seq_len": 16},
         "mixtral_8x7b": {"n_layer": 2, "d_model": 64, "n_head": 4, "n_kv_head": 2, "d_ff": 96, "vocab_size": 128,
                          "seq_len": 8},
         "qwen_moe_a2_7b": {"n_layer": 2, "d_model": 64, "n_head": 4, "n_kv_head": 4, "d_ff": 32, "d_shared": 96,
                            "vocab_size": 128, "seq_len": 8},
         "densenet121": {"n1": 2, "n2": 2, "n3": 2, "n4": 2}, "espcn": {"height": 36, "width": 64},
         "convnext_tiny": {"width": 32, "depth3": 3}, "resnet50": {"resolution": 64, "width": 32},
         "resnet18": {"width": 32}, "efficientnet_b0": {"width_mult": 0.5}}
# What PyTorch's exporter cannot write, or writes with no spec type: (spec, the exception, why).
GQA = ("torch.onnx.export (TorchScript) cannot convert F.scaled_dot_product_attention with enable_gqa=True (its"
       " opset-14 symbolic asserts), so there is no model of grouped-query attention to import")
NOT_IMPORTED = {
    **{spec: (AssertionError, GQA) for spec in ("llama2_70b", "llama_gqa_small", "mixtral_8x7b")},
    "qwen_moe_a2_7b": (SpecError, "the mixture of experts routes by value: a Reshape of [N, L, E] to [N·L, E] (the"
                                  " batch axis merged), TopK of the router's softmax, then per expert Equal, NonZero,"
                                  " Gather of its tokens and ScatterElements (index_add_) into the output, whose sizes"
                                  " depend on the data; no spec type stands for these nodes"),
}
# GPT-2 with its weights: its LM head's weight is an initializer of its own, the embedding table's transpose, found
# by value (a tie); without weights the import counts it twice
WITH_WEIGHTS = {"gpt2"}
# BERT and GPT-2 at opset 17, where the exporter writes GELU as Div, Erf, Add, Mul, Mul and the tanh GELU as
# Mul, Mul, Mul, Add, Mul, Tanh, Add, Mul, Mul (from opset 20 each is one Gelu node)
OPSETS = {"bert_base": 17, "gpt2": 17}
ZOO = sorted(path.stem for path in (Path(__file__).resolve().parent.parent / "specs").glob("*.yaml"))


def zoo_row(spec: str):
    if spec not in NOT_IMPORTED:
        return spec
    raises, reason = NOT_IMPORTED[spec]
    return pytest.param(spec, marks=pytest.mark.xfail(raises=raises, strict=True, reason=reason))


def exported_without_weights(module, inputs, opset: int = OPSET, weights: bool = False):
    """torch.onnx.export's model of `module`, its weights initializers with shapes and no data (external data);
    `weights`: with their values."""
    torch = pytest.importorskip("torch")
    exported = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # PRESERVE keeps batch norm: in eval mode the exporter folds it into the convolution before it.
        torch.onnx.export(module, tuple(inputs), exported, dynamo=False, opset_version=opset, export_params=weights,
                          training=torch.onnx.TrainingMode.PRESERVE)
    built = onnx.load_from_string(exported.getvalue())
    runtime = [value for value in built.graph.input][:len(inputs)]
    for value in built.graph.input[len(inputs):]:
        tensor_type = value.type.tensor_type
        weight_ = TensorProto(name=value.name, data_type=tensor_type.elem_type,
                              dims=[dim.dim_value for dim in tensor_type.shape.dim],
                              data_location=TensorProto.EXTERNAL)
        weight_.external_data.add(key="location", value="weights.bin")
        built.graph.initializer.append(weight_)
    del built.graph.input[:]
    built.graph.input.extend(runtime)
    return built


def hugging_face_rms_norms(module):
    """`module` with each nn.RMSNorm written as Hugging Face's LlamaRMSNorm computes it (x · rsqrt(mean(x²) + eps),
    times γ; the same γ): the TorchScript exporter has no aten::rms_norm up to opset 20, and this is the form in
    which Hugging Face's models export."""
    from torch import nn

    class RMSNorm(nn.Module):
        def __init__(self, norm: nn.RMSNorm):
            super().__init__()
            self.weight, self.eps = norm.weight, norm.eps

        def forward(self, x):
            return self.weight * (x * (x.pow(2).mean(-1, keepdim=True) + self.eps).rsqrt())

    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.RMSNorm):
                setattr(parent, name, RMSNorm(child))
    return module


@pytest.mark.parametrize("spec", [zoo_row(spec) for spec in ZOO])
def test_every_exported_zoo_spec_imports_to_the_same_numbers(spec):
    torch = pytest.importorskip("torch")
    from torch_modules import GraphModule, network_inputs

    network = archcalc.load(f"specs/{spec}.yaml", variables=SMALL.get(spec))
    if spec in WITH_WEIGHTS:
        module = GraphModule(network).eval()
    else:
        with torch.device("meta"):
            module = GraphModule(network).eval().to_empty(device="cpu")
    model_ = exported_without_weights(hugging_face_rms_norms(module), network_inputs(network, 1), OPSETS.get(spec, OPSET),
                                      spec in WITH_WEIGHTS)
    records, imported = imported_network(model_, spec)
    assert (imported.totals.params, imported.totals.macs) == (network.totals.params, network.totals.macs)
    assert imported.output_shape == network.output_shape
    # GraphModule's modules are `layers.N`, which become the imported layers' names (`layers.N.self_attn`, ... for
    # a module imported as several layers): the last of them is layer N's output
    last = {}
    for layer in imported.layers:
        if layer.name.startswith("layers.") and layer.name[7:].split(".")[0].isdigit():
            last[int(layer.name[7:].split(".")[0])] = layer
    for index, layer in last.items():
        assert layer.output_shape == network.layers[index].output_shape, layer.name
    assert len(last) > len(network.layers) // 3


def test_an_exported_gpt2_reads_as_causal_attention_and_a_tied_head():
    # the exporter writes F.scaled_dot_product_attention(is_causal=True) as q·√s, kᵀ·√s, MatMul, + a constant
    # triangular mask, Softmax, MatMul; and the tied head as MatMul with the table's transpose (its own initializer)
    pytest.importorskip("torch")
    from torch_modules import GraphModule, network_inputs

    network = archcalc.load("specs/gpt2.yaml", variables={**SMALL["gpt2"], "n_layer": 1})
    model_ = exported_without_weights(GraphModule(network).eval(), network_inputs(network, 1), weights=True)
    imported = onnx_model_to_records(model_, "gpt2.onnx", "gpt2")
    layers = {record.name: (record.type, record.arguments, record.inputs) for record in imported.layers}
    attention = next(index for index, layer in enumerate(network.layers) if layer.type == "scaled_dot_product_attention")
    assert layers[f"layers.{attention}"] == ("scaled_dot_product_attention", {"is_causal": True},
                                             tuple(f"layers.{attention - n}" for n in (5, 3, 1)))
    assert layers[f"layers.{len(network.layers) - 1}"][:2] == ("linear", {"out_features": 500, "bias": False,
                                                                          "tie": "layers.0"})
    assert verify(imported, spec_text(imported)).totals.params == network.totals.params


def test_an_exported_multihead_attention_is_one_layer():
    # nn.MultiheadAttention (batch_first) exports on [L, N, E] between two Transposes [1, 0, 2]: its module scope
    # becomes one multiheadattention layer; nn.TransformerEncoderLayer's parts are the layers of its scope
    pytest.importorskip("torch")
    from torch_modules import GraphModule, network_inputs

    network = archcalc.load("specs/transformer_encoder.yaml", variables=SMALL["transformer_encoder"])
    model_ = exported_without_weights(GraphModule(network).eval(), network_inputs(network, 1), weights=True)
    imported = onnx_model_to_records(model_, "encoder.onnx", "encoder")
    first = [(record.name, record.type, record.arguments) for record in imported.layers if
             record.name.startswith("layers.0.")]
    assert first == [("layers.0.self_attn", "multiheadattention", {"num_heads": 4, "batch_first": True}),
                     ("layers.0.add", "add", {}), ("layers.0.norm1", "layernorm", {"normalized_shape": 32}),
                     ("layers.0.linear1", "linear", {"out_features": 64}), ("layers.0.relu", "relu", {}),
                     ("layers.0.linear2", "linear", {"out_features": 32}), ("layers.0.add_1", "add", {}),
                     ("layers.0.norm2", "layernorm", {"normalized_shape": 32})]


@pytest.mark.parametrize("kind, arguments", [("GRU", {"num_layers": 2, "bidirectional": True}),
                                              ("LSTM", {}), ("RNN", {"nonlinearity": "relu", "bias": False})])
def test_an_exported_batch_first_recurrent_module_is_one_layer(kind, arguments):
    # nn.LSTM / GRU / RNN(batch_first=True) exports on [L, N, E] between Transposes [1, 0, 2], one node per layer
    torch = pytest.importorskip("torch")
    from torch import nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, kind)(6, 5, batch_first=True, **arguments)
            self.head = nn.Linear(5 * (1 + arguments.get("bidirectional", False)), 3)

        def forward(self, x):
            return self.head(self.rnn(x)[0])

    tagger = Tagger().eval()
    imported = onnx_model_to_records(exported_without_weights(tagger, [torch.randn(1, 7, 6)], weights=True), "t")
    assert [(record.name, record.type, record.arguments) for record in imported.layers] == [
        ("rnn", kind.lower(), {"hidden_size": 5, **arguments, "batch_first": True}), ("head", "linear", {"out_features": 3})]
    network = verify(imported, spec_text(imported))
    assert (network.output_shape, network.totals.params) == ((7, 3), sum(p.numel() for p in tagger.parameters()))


# torchvision's models with their module names (tests/torchvision_models.py), exported and imported, against the
# zoo layer by layer; what PyTorch's exporter changes is listed: it drops an eval-mode Dropout, and a functional
# call is named by its ONNX op (`globalaveragepool`) where torch.fx names it by its function.
TORCHVISION = [
    ("resnet50", lambda models: models.ResNet(models.Bottleneck, (3, 4, 6, 3)), {}, "repeat: 6"),
    ("mobilenet_v2", lambda models: models.MobileNetV2(),
     {"classifier.0": None, "adaptive_avg_pool2d": "globalaveragepool"}, "repeat: 4"),
]


@pytest.mark.parametrize("spec, build, renamed, folded", TORCHVISION, ids=[row[0] for row in TORCHVISION])
def test_an_exported_torchvision_model_is_the_zoo_spec_layer_by_layer(spec, build, renamed, folded):
    torch = pytest.importorskip("torch")
    import torchvision_models

    module = build(torchvision_models).eval()
    exported = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(1, 3, 224, 224),), exported, dynamo=False,
                          opset_version=OPSET, training=torch.onnx.TrainingMode.PRESERVE)
    imported = onnx_model_to_records(onnx.load_from_string(exported.getvalue()), f"{spec}.onnx", spec)
    text = spec_text(imported)
    assert folded in text   # repeated blocks fold
    network, zoo = verify(imported, text), archcalc.load(f"specs/{spec}.yaml")
    got = {layer.name: (layer.type, layer.output_shape, layer.params, layer.macs) for layer in network.layers}
    expected = {renamed.get(layer.name, layer.name): (layer.type, layer.output_shape, layer.params, layer.macs)
                for layer in zoo.layers if renamed.get(layer.name, layer.name) is not None}
    assert got == expected
    assert network.totals.params == zoo.totals.params == sum(parameter.numel() for parameter in module.parameters())


def test_repeated_modules_fold_into_a_block_with_repeat():
    torch = pytest.importorskip("torch")
    from torch import nn

    class Unit(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)

        def forward(self, x):
            return torch.relu(self.bn(self.conv(x))) + x

    model_ = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Sequential(*[Unit() for _ in range(3)])).eval()
    exported = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model_, (torch.randn(1, 3, 16, 16),), exported, dynamo=False, opset_version=OPSET,
                          training=torch.onnx.TrainingMode.PRESERVE)
    imported = onnx_model_to_records(onnx.load_from_string(exported.getvalue()), "units.onnx", "units")
    text = spec_text(imported)
    assert "repeat: 3" in text
    network = verify(imported, text)
    assert [layer.name for layer in network.layers][:5] == ["0", "1.0.conv", "1.0.bn", "1.0.relu", "1.0.add"]
    assert network.totals.params == sum(parameter.numel() for parameter in model_.parameters())


# --- one handcrafted model per operator --------------------------------------------------------------------------

def tensor(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def weight(name, shape, values=None):
    array = numpy.asarray(values, dtype=numpy.float32).reshape(shape) if values is not None \
        else numpy.zeros(shape, dtype=numpy.float32)
    return numpy_helper.from_array(array, name)


def ints(name, values):
    return numpy_helper.from_array(numpy.asarray(values, dtype=numpy.int64), name)


def model(nodes, input_shape, initializers=(), dtype=TensorProto.FLOAT, opset=OPSET):
    """A graph with input `x` (batch axis first) and output `y`, `y` the last node's first output."""
    nodes = [helper.make_node(op, inputs, outputs, name=name, **attributes)
             for name, op, inputs, outputs, attributes in nodes]
    graph = helper.make_graph(nodes, "g", [tensor("x", [1, *input_shape], dtype)],
                              [tensor(nodes[-1].output[0], None)], list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def one(op, inputs=("x",), attributes=None, name="node"):
    return (name, op, list(inputs), ["y"], attributes or {})


# (id, nodes, input shape, initializers) → (type, arguments, output shape, params) of the last layer; the spec's
# output shape and parameter total equal PyTorch's for that layer (and ONNX's shape inference, checked by verify).
ROWS = [
    ("conv2d", [one("Conv", ["x", "w", "b"], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]})],
     [3, 32, 32], [weight("w", [16, 3, 3, 3]), weight("b", [16])],
     "conv2d", {"out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1}, (16, 16, 16), 448),
    ("conv2d depthwise, no bias", [one("Conv", ["x", "w"], {"group": 8, "pads": [0, 1, 0, 1]})],
     [8, 10, 10], [weight("w", [8, 1, 3, 3])],
     "conv2d", {"out_channels": 8, "kernel_size": 3, "padding": [0, 1], "groups": 8, "bias": False}, (8, 8, 10), 72),
    ("conv2d asymmetric pads: a zeropad2d before it", [one("Conv", ["x", "w"], {"pads": [0, 0, 1, 1]})],
     [3, 8, 8], [weight("w", [4, 3, 2, 2])],
     "conv2d", {"out_channels": 4, "kernel_size": 2, "bias": False}, (4, 8, 8), 48),
    ("conv2d auto_pad SAME_UPPER", [one("Conv", ["x", "w"], {"auto_pad": "SAME_UPPER", "strides": [2, 2]})],
     [3, 9, 9], [weight("w", [4, 3, 3, 3])],
     "conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "bias": False}, (4, 5, 5), 108),
    ("conv1d dilated", [one("Conv", ["x", "w", "b"], {"dilations": [2]})], [4, 20], [weight("w", [6, 4, 3]),
                                                                                    weight("b", [6])],
     "conv1d", {"out_channels": 6, "kernel_size": 3, "dilation": 2}, (6, 16), 78),
    ("convtranspose2d", [one("ConvTranspose", ["x", "w", "b"], {"strides": [2, 2], "pads": [1, 1, 1, 1],
                                                                "output_padding": [1, 1]})],
     [8, 7, 7], [weight("w", [8, 4, 3, 3]), weight("b", [4])],
     "convtranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
     (4, 14, 14), 292),
    ("gemm transB (nn.Linear)", [one("Gemm", ["x", "w", "b"], {"transB": 1})], [20],
     [weight("w", [10, 20]), weight("b", [10])], "linear", {"out_features": 10}, (10,), 210),
    ("gemm without bias", [one("Gemm", ["x", "w"])], [20], [weight("w", [20, 5])],
     "linear", {"out_features": 5, "bias": False}, (5,), 100),
    ("matmul + add bias (nn.Linear on [L, E])", [("mm", "MatMul", ["x", "w"], ["t"], {}),
                                                 ("add", "Add", ["b", "t"], ["y"], {})],
     [7, 16], [weight("w", [16, 8]), weight("b", [8])], "linear", {"out_features": 8}, (7, 8), 136),
    ("matmul of two activations", [("t", "Transpose", ["x"], ["xt"], {"perm": [0, 2, 1]}),
                                   ("mm", "MatMul", ["x", "xt"], ["y"], {})],
     [5, 3], [], "matmul", {}, (5, 5), 0),
    ("batchnorm2d", [one("BatchNormalization", ["x", "s", "b", "m", "v"], {"epsilon": 1e-3})], [6, 4, 4],
     [weight("s", [6]), weight("b", [6]), weight("m", [6]), weight("v", [6])],
     "batchnorm2d", {"eps": 0.001}, (6, 4, 4), 12),
    ("batchnorm1d", [one("BatchNormalization", ["x", "s", "b", "m", "v"])], [6],
     [weight("s", [6]), weight("b", [6]), weight("m", [6]), weight("v", [6])], "batchnorm1d", {}, (6,), 12),
    ("layernorm without bias", [one("LayerNormalization", ["x", "s"], {"axis": -1})], [10, 32],
     [weight("s", [32])], "layernorm", {"normalized_shape": 32, "bias": False}, (10, 32), 32),
    ("layernorm over two axes", [one("LayerNormalization", ["x", "s", "b"], {"axis": 2})], [3, 4, 5],
     [weight("s", [4, 5]), weight("b", [4, 5])], "layernorm", {"normalized_shape": [4, 5]}, (3, 4, 5), 40),
    ("instancenorm2d", [one("InstanceNormalization", ["x", "s", "b"])], [3, 8, 8],
     [weight("s", [3]), weight("b", [3])], "instancenorm2d", {"affine": True}, (3, 8, 8), 6),
    ("relu", [one("Relu")], [5], [], "relu", {}, (5,), 0),
    ("sigmoid", [one("Sigmoid")], [5], [], "sigmoid", {}, (5,), 0),
    ("tanh", [one("Tanh")], [5], [], "tanh", {}, (5,), 0),
    ("leakyrelu", [one("LeakyRelu", attributes={"alpha": 0.2})], [5], [], "leakyrelu", {"negative_slope": 0.2},
     (5,), 0),
    ("elu", [one("Elu", attributes={"alpha": 0.5})], [5], [], "elu", {"alpha": 0.5}, (5,), 0),
    ("celu", [one("Celu")], [5], [], "celu", {}, (5,), 0),
    ("selu", [one("Selu")], [5], [], "selu", {}, (5,), 0),
    ("gelu before opset 20: x / √2 → Erf → + 1 → x · → · 0.5",
     [("div", "Div", ["x", "sqrt2"], ["d"], {}), ("erf", "Erf", ["d"], ["e"], {}),
      ("add", "Add", ["e", "one"], ["a"], {}), ("mul", "Mul", ["x", "a"], ["m"], {}),
      ("half", "Mul", ["m", "half"], ["y"], {})],
     [5], [weight("sqrt2", [], [2 ** 0.5]), weight("one", [], [1.0]), weight("half", [], [0.5])], "gelu", {}, (5,), 0),
    ("gelu tanh before opset 20: x · x → · x → · 0.044715 → x + → · √(2/π) → Tanh → 1 + → x · → · 0.5",
     [("sq", "Mul", ["x", "x"], ["s"], {}), ("cube", "Mul", ["x", "s"], ["c"], {}),
      ("k", "Mul", ["c", "k"], ["kc"], {}), ("inner", "Add", ["x", "kc"], ["i"], {}),
      ("r", "Mul", ["r", "i"], ["ri"], {}), ("tanh", "Tanh", ["ri"], ["t"], {}), ("add", "Add", ["one", "t"], ["a"], {}),
      ("mul", "Mul", ["x", "a"], ["m"], {}), ("half", "Mul", ["half", "m"], ["y"], {})],
     [5], [weight("k", [], [0.044715]), weight("r", [], [(2 / 3.141592653589793) ** 0.5]), weight("one", [], [1.0]),
           weight("half", [], [0.5])], "gelu", {"approximate": "tanh"}, (5,), 0),
    ("gelu tanh", [one("Gelu", attributes={"approximate": "tanh"})], [5], [], "gelu", {"approximate": "tanh"},
     (5,), 0),
    ("hardsigmoid", [one("HardSigmoid", attributes={"alpha": 1 / 6})], [5], [], "hardsigmoid", {}, (5,), 0),
    ("hardswish", [one("HardSwish")], [5], [], "hardswish", {}, (5,), 0),
    ("softplus", [one("Softplus")], [5], [], "softplus", {}, (5,), 0),
    ("silu: x · sigmoid(x)", [("sig", "Sigmoid", ["x"], ["s"], {}), ("mul", "Mul", ["x", "s"], ["y"], {})],
     [5], [], "silu", {}, (5,), 0),
    ("clip 0..6: relu6", [one("Clip", ["x", "lo", "hi"])], [5],
     [weight("lo", [], [0.0]), weight("hi", [], [6.0])], "relu6", {}, (5,), 0),
    ("clip -1..1: hardtanh", [one("Clip", ["x", "lo", "hi"])], [5],
     [weight("lo", [], [-1.0]), weight("hi", [], [1.0])], "hardtanh", {"min_val": -1.0, "max_val": 1.0}, (5,), 0),
    ("clip below only: clamp", [one("Clip", ["x", "lo"])], [5], [weight("lo", [], [0.5])],
     "clamp", {"min": 0.5}, (5,), 0),
    ("prelu per channel", [one("PRelu", ["x", "slope"])], [4, 3, 3], [weight("slope", [4, 1, 1])],
     "prelu", {"num_parameters": 4}, (4, 3, 3), 4),
    ("exp", [one("Exp")], [5], [], "exp", {}, (5,), 0),
    ("log", [one("Log")], [5], [], "log", {}, (5,), 0),
    ("sqrt", [one("Sqrt")], [5], [], "sqrt", {}, (5,), 0),
    ("abs", [one("Abs")], [5], [], "abs", {}, (5,), 0),
    ("neg", [one("Neg")], [5], [], "neg", {}, (5,), 0),
    ("softsign", [one("Softsign")], [5], [], "softsign", {}, (5,), 0),
    ("mish", [one("Mish")], [5], [], "mish", {}, (5,), 0),
    ("cast to its own type: identity", [one("Cast", attributes={"to": TensorProto.FLOAT})], [5], [],
     "identity", {}, (5,), 0),
    ("pow", [one("Pow", ["x", "e"])], [5], [weight("e", [], [2.0])], "pow", {"exponent": 2.0}, (5,), 0),
    ("maxpool2d", [one("MaxPool", attributes={"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]})],
     [4, 16, 16], [], "maxpool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, (4, 8, 8), 0),
    ("maxpool1d ceil_mode", [one("MaxPool", attributes={"kernel_shape": [2], "strides": [2], "ceil_mode": 1})],
     [4, 9], [], "maxpool1d", {"kernel_size": 2, "stride": 2, "ceil_mode": True}, (4, 5), 0),
    ("avgpool2d", [one("AveragePool", attributes={"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 1, 1, 1],
                                                  "count_include_pad": 1})],
     [4, 6, 6], [], "avgpool2d", {"kernel_size": 2, "stride": 2, "padding": 1, "count_include_pad": True},
     (4, 4, 4), 0),
    ("global average pool", [one("GlobalAveragePool")], [8, 7, 7], [], "adaptiveavgpool2d", {"output_size": 1},
     (8, 1, 1), 0),
    ("global max pool", [one("GlobalMaxPool")], [8, 7, 7], [], "adaptivemaxpool2d", {"output_size": 1},
     (8, 1, 1), 0),
    ("flatten", [one("Flatten", attributes={"axis": 1})], [8, 2, 2], [], "flatten", {}, (32,), 0),
    ("reshape, 0 copies an axis", [one("Reshape", ["x", "shape"])], [6, 4], [ints("shape", [0, 3, -1])],
     "reshape", {"shape": [3, -1]}, (3, 8), 0),
    ("reshape to [N, -1]: flatten", [one("Reshape", ["x", "shape"])], [6, 4, 2], [ints("shape", [1, -1])],
     "flatten", {}, (48,), 0),
    ("reshape from folded constants",
     [("shape", "Shape", ["x"], ["s"], {}), ("take", "Gather", ["s", "zero"], ["n"], {"axis": 0}),
      ("unsqueeze", "Unsqueeze", ["n", "zeros"], ["n1"], {}), ("cat", "Concat", ["n1", "rest"], ["target"], {"axis": 0}),
      ("reshape", "Reshape", ["x", "target"], ["y"], {})],
     [6, 4], [ints("zero", 0), ints("zeros", [0]), ints("rest", [4, 6])], "reshape", {"shape": [4, 6]}, (4, 6), 0),
    ("squeeze", [one("Squeeze", ["x", "axes"])], [6, 1, 4], [ints("axes", [2])], "reshape", {"shape": [6, 4]},
     (6, 4), 0),
    ("unsqueeze", [one("Unsqueeze", ["x", "axes"])], [6, 4], [ints("axes", [1])], "reshape", {"shape": [1, 6, 4]},
     (1, 6, 4), 0),
    ("transpose of two axes", [one("Transpose", attributes={"perm": [0, 2, 1]})], [3, 5], [],
     "transpose", {"dim0": 1, "dim1": 2}, (5, 3), 0),
    ("permute", [one("Transpose", attributes={"perm": [0, 2, 3, 1]})], [3, 4, 5], [],
     "permute", {"dims": [0, 2, 3, 1]}, (4, 5, 3), 0),
    ("add of two tensors", [("r", "Relu", ["x"], ["r"], {}), ("add", "Add", ["x", "r"], ["y"], {})], [5], [],
     "add", {}, (5,), 0),
    ("add a scalar", [one("Add", ["x", "c"])], [5], [weight("c", [], [1.5])], "add", {"scalar": 1.5}, (5,), 0),
    ("mul by a learned [C, 1, 1] tensor: a parameter", [one("Mul", ["x", "scale"])], [4, 3, 3],
     [weight("scale", [4, 1, 1])], "mul", {}, (4, 3, 3), 0),
    ("sub a scalar", [one("Sub", ["x", "c"])], [5], [weight("c", [], [0.5])], "sub", {"scalar": 0.5}, (5,), 0),
    ("sum of three tensors", [("r", "Relu", ["x"], ["r"], {}), ("t", "Tanh", ["x"], ["t"], {}),
                              ("sum", "Sum", ["x", "r", "t"], ["y"], {})], [5], [], "add", {}, (5,), 0),
    ("div by a scalar", [one("Div", ["x", "c"])], [5], [weight("c", [], [8.0])], "div", {"scalar": 8.0}, (5,), 0),
    ("concat with a learned class token", [one("Concat", ["token", "x"], {"axis": 1})], [4, 8],
     [weight("token", [1, 1, 8])], "concat", {"dim": 1}, (5, 8), 0),
    ("split", [("split", "Split", ["x", "sizes"], ["a", "b"], {"axis": 1}), ("mul", "Mul", ["a", "b"], ["y"], {})],
     [4, 6], [ints("sizes", [2, 2])], "mul", {}, (2, 6), 0),
    ("softmax", [one("Softmax", attributes={"axis": -1})], [3, 7], [], "softmax", {"dim": -1}, (3, 7), 0),
    ("logsoftmax", [one("LogSoftmax", attributes={"axis": 1})], [3, 7], [], "logsoftmax", {"dim": 1}, (3, 7), 0),
    ("resize by scales", [one("Resize", ["x", "", "scales"], {"mode": "nearest"})], [2, 4, 4],
     [weight("scales", [4], [1, 1, 2, 2])], "upsample", {"scale_factor": 2, "mode": "nearest"}, (2, 8, 8), 0),
    ("resize to sizes, bilinear, align_corners",
     [one("Resize", ["x", "", "", "sizes"], {"mode": "linear", "coordinate_transformation_mode": "align_corners"})],
     [2, 4, 4], [ints("sizes", [1, 2, 7, 9])],
     "upsample", {"size": [7, 9], "mode": "bilinear", "align_corners": True}, (2, 7, 9), 0),
    ("pad with zeros", [one("Pad", ["x", "pads"])], [2, 4, 4], [ints("pads", [0, 0, 1, 2, 0, 0, 3, 4])],
     "zeropad2d", {"padding": [2, 4, 1, 3]}, (2, 8, 10), 0),
    ("pad with a constant", [one("Pad", ["x", "pads", "v"])], [2, 4], [ints("pads", [0, 0, 1, 0, 0, 2]),
                                                                    weight("v", [], [0.5])],
     "constantpad1d", {"padding": [1, 2], "value": 0.5}, (2, 7), 0),
    ("reflection pad", [one("Pad", ["x", "pads"], {"mode": "reflect"})], [2, 4, 4],
     [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])], "reflectionpad2d", {"padding": [1, 1, 1, 1]}, (2, 6, 6), 0),
    ("select x[:, 0]", [one("Gather", ["x", "index"], {"axis": 1})], [5, 8], [ints("index", 0)],
     "select", {"dim": 1, "index": 0}, (8,), 0),
    ("reduce mean keepdim", [one("ReduceMean", ["x", "axes"])], [4, 3, 3], [ints("axes", [2, 3])],
     "mean", {"dim": [2, 3], "keepdim": True}, (4, 1, 1), 0),
    ("dropout", [one("Dropout", ["x", "ratio"])], [5], [weight("ratio", [], [0.1])], "dropout", {"p": 0.1}, (5,), 0),
    ("identity", [one("Identity")], [5], [], "identity", {}, (5,), 0),
    ("rmsnorm as Hugging Face writes it: x² → mean → + eps → √ → 1 / → x · → γ ·",
     [("pow", "Pow", ["x", "two"], ["p"], {}), ("mean", "ReduceMean", ["p", "axes"], ["m"], {"keepdims": 1}),
      ("add", "Add", ["m", "eps"], ["a"], {}), ("sqrt", "Sqrt", ["a"], ["r"], {}), ("div", "Div", ["one", "r"], ["i"], {}),
      ("mul", "Mul", ["x", "i"], ["n"], {}), ("gamma", "Mul", ["w", "n"], ["y"], {})],
     [6, 8], [weight("two", [], [2.0]), ints("axes", [-1]), weight("eps", [], [1e-5]), weight("one", [], [1.0]),
              weight("w", [8])], "rmsnorm", {"normalized_shape": 8, "eps": 1e-05}, (6, 8), 8),
    ("two Slices halving an axis: chunk (x.chunk(2, -1))",
     [("lo", "Slice", ["x", "zero", "half", "last"], ["a"], {}), ("hi", "Slice", ["x", "half", "end", "last"], ["y"], {})],
     [3, 8], [ints("zero", [0]), ints("half", [4]), ints("end", [2 ** 63 - 1]), ints("last", [-1])],
     "chunk", {"chunks": 2, "dim": 2}, (3, 4), 0),
    ("pixel shuffle: DepthToSpace CRD", [one("DepthToSpace", attributes={"blocksize": 2, "mode": "CRD"})],
     [8, 3, 3], [], "pixelshuffle", {"upscale_factor": 2}, (2, 6, 6), 0),
]


@pytest.mark.parametrize("nodes, input_shape, initializers, type_, arguments, shape, params",
                         [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_each_operator_maps_to_its_layer(nodes, input_shape, initializers, type_, arguments, shape, params):
    records, network = imported_network(model(nodes, input_shape, initializers))
    last = records[-1]
    assert (last.type, last.arguments) == (type_, arguments)
    assert network.output_shape == shape
    assert network.totals.params == params + sum(record.expected_params or 0 for record in records[:-1])


def test_one_slice_is_its_piece_of_a_split():
    # x.narrow(-1, 2, 3) of [3, 8]: split [2, 3, 3], its piece 1 read by the next layer
    records, network = imported_network(model([("cut", "Slice", ["x", "start", "end", "last"], ["s"], {}),
                                               ("act", "Relu", ["s"], ["y"], {})], [3, 8],
                                              [ints("start", [2]), ints("end", [5]), ints("last", [-1])]))
    assert [(record.type, record.arguments, record.inputs) for record in records] == [
        ("split", {"split_size_or_sections": [2, 3, 3], "dim": 2}, ("input",)), ("relu", {}, ("cut:1",))]
    assert network.output_shape == (3, 3)


def attention_nodes(mask: bool):
    """F.scaled_dot_product_attention(x, x, x) on [H 2, L 4, D 8] as the exporter writes it: kᵀ, q·√s, kᵀ·√s,
    MatMul, (+ mask), Softmax, MatMul."""
    scores = [("add", "Add", ["sc", "mask"], ["m"], {})] if mask else []
    return [("kt", "Transpose", ["x"], ["kt"], {"perm": [0, 1, 3, 2]}), ("qs", "Mul", ["x", "s"], ["qs"], {}),
            ("ks", "Mul", ["kt", "s"], ["ks"], {}), ("sc", "MatMul", ["qs", "ks"], ["sc"], {}), *scores,
            ("sm", "Softmax", ["m" if mask else "sc"], ["p"], {"axis": -1}), ("out", "MatMul", ["p", "x"], ["y"], {})]


CAUSAL = numpy.triu(numpy.full((4, 4), -numpy.inf, dtype=numpy.float32), 1)   # what the exporter's Where(Trilu) gives


@pytest.mark.parametrize("mask, arguments", [(None, {}), (CAUSAL, {"is_causal": True})])
def test_the_exporters_math_attention_is_one_layer(mask, arguments):
    initializers = [weight("s", [], [8 ** -0.25])] + ([numpy_helper.from_array(mask, "mask")] if mask is not None else [])
    records, network = imported_network(model(attention_nodes(mask is not None), [2, 4, 8], initializers))
    assert [(record.type, record.arguments, record.inputs) for record in records] == [
        ("scaled_dot_product_attention", arguments, ("input", "input", "input"))]
    assert (network.output_shape, network.totals.macs) == ((2, 4, 8), 2 * 2 * 4 * 4 * 8)


def test_a_mask_that_is_not_causal_is_named_not_dropped():
    # the transpose of the causal mask (each position sees the later ones) is no is_causal: the Add is reported
    mask = numpy_helper.from_array(numpy.ascontiguousarray(CAUSAL.T), "mask")
    with pytest.raises(SpecError, match=r"node 'add' \(Add\): operands of shapes \[\[1, 2, 4, 4\], \[4, 4\]\] broadcast"):
        onnx_model_to_records(model(attention_nodes(True), [2, 4, 8], [weight("s", [], [8 ** -0.25]), mask]), "m.onnx")


def test_upsample_of_opsets_before_10():
    records, network = imported_network(model([one("Upsample", ["x", "scales"], {"mode": "nearest"})], [2, 4, 4],
                                               [weight("scales", [4], [1, 1, 2, 3])], opset=9))
    assert (records[-1].type, records[-1].arguments) == ("upsample", {"scale_factor": [2, 3], "mode": "nearest"})
    assert network.output_shape == (2, 8, 12)


def test_every_mapped_operator_has_a_row():
    from archcalc.bridges.onnx_import import supported_operators

    covered = {node[1] for row in ROWS for node in row[1]} | {"Upsample"}   # Upsample: the test above
    assert set(supported_operators()) - covered == set()


def test_an_embedding_lookup_takes_int64_ids():
    graph = helper.make_graph([helper.make_node("Gather", ["table", "ids"], ["y"], name="/wte/Gather")], "g",
                              [tensor("ids", [1, 12], TensorProto.INT64)], [tensor("y", None)],
                              [weight("table", [100, 16])])
    records, network = imported_network(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]))
    assert [(record.name, record.type, record.arguments) for record in records] == \
        [("wte", "embedding", {"num_embeddings": 100, "embedding_dim": 16})]
    assert (network.output_shape, network.totals.params, network.inputs[0].dtype) == ((12, 16), 1600, "int64")


def test_several_graph_inputs_are_named_spec_inputs():
    graph = helper.make_graph([helper.make_node("Gather", ["table", "input_ids"], ["e"], name="/wte/Gather"),
                               helper.make_node("Mul", ["e", "mask.1"], ["y"], name="/Mul")], "g",
                              [tensor("input_ids", [1, 6], TensorProto.INT64), tensor("mask.1", [1, 6, 1])],
                              [tensor("y", None)], [weight("table", [50, 4])])
    imported = onnx_model_to_records(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), "m")
    assert imported.inputs == [("input_ids", [6], "int64"), ("mask_1", [6, 1], "float32")]
    assert [(record.name, record.inputs) for record in imported.layers] == [("wte", ("input_ids",)),
                                                                           ("mul", ("wte", "mask_1"))]
    network = verify(imported, spec_text(imported))
    assert (network.output_shape, network.totals.params) == ((6, 4), 200)


def test_a_learned_tensor_is_a_parameter_layer_and_its_count():
    records, network = imported_network(model([one("Mul", ["x", "scale"])], [4, 3, 3], [weight("scale", [4, 1, 1])]))
    assert [(record.type, record.arguments) for record in records] == [("parameter", {"shape": [4, 1, 1]}), ("mul", {})]
    assert network.totals.params == 4


def test_asymmetric_convolution_padding_becomes_a_pad_layer():
    records, network = imported_network(model([one("Conv", ["x", "w"], {"pads": [0, 0, 1, 1]})], [3, 8, 8],
                                              [weight("w", [4, 3, 2, 2])]))
    assert [(record.type, record.arguments) for record in records][0] == ("zeropad2d", {"padding": [0, 1, 0, 1]})


def test_a_huge_constant_is_never_computed():
    # ConstantOfShape of 2**32 elements (16 GiB of float32): its shape is inferred, its value never made
    fill = helper.make_tensor("fill", TensorProto.FLOAT, [1], [0.5])
    records, network = imported_network(model([("big", "ConstantOfShape", ["shape"], ["c"], {"value": fill}),
                                               ("mul", "Mul", ["x", "c"], ["y"], {})], [1024, 1024, 4096],
                                              [ints("shape", [1, 1024, 1024, 4096])]))
    assert [(record.type, record.arguments) for record in records] == [("parameter", {"shape": [1024, 1024, 4096]}),
                                                                       ("mul", {})]
    assert network.totals.params == 2 ** 32


# --- names ----------------------------------------------------------------------------------------------------

NAMES = [
    ("/layer1/layer1.0/conv1/Conv", {"layer1.0.conv1": 1}, None, "layer1.0.conv1"),   # a leaf module
    ("/features/features.0/Conv", {"features.0": 1}, None, "features.0"),
    ("/layer2/layer2.0/downsample/downsample.0/Conv", {"layer2.0.downsample.0": 1}, None, "layer2.0.downsample.0"),
    ("/layer1/layer1.0/Add_1", {"layer1.0": 3}, None, "layer1.0.add_1"),          # a call inside a block
    ("/layer1/layer1.0/Add", {"layer1.0": 7}, None, "layer1.0.add"),              # ... beside its modules' layers
    ("/1/1.0/Sigmoid_2", {"1.0": 4}, "silu", "1.0.silu_2"),                           # a fused pattern
    ("/Flatten", {"": 2}, None, "flatten"),                                           # a call in the top forward
    ("conv_0", {}, None, "conv_0"),                                                    # not the exporter's form
]


@pytest.mark.parametrize("node, scope_sizes, fused, expected", NAMES)
def test_layer_names_are_module_paths(node, scope_sizes, fused, expected):
    assert layer_name(node, scope_sizes, fused) == expected


# --- what has no spec type -------------------------------------------------------------------------------------

def test_every_unmapped_node_is_named_with_its_op_and_domain():
    nodes = [("nms", "NonMaxSuppression", ["x", "x"], ["keep"], {}),
             ("custom", "FancyOp", ["x"], ["f"], {"domain": "com.example"}),
             ("swap", "Transpose", ["x"], ["t"], {"perm": [1, 0, 2]}),
             ("relu", "Relu", ["x"], ["y"], {})]
    built = model(nodes, [4, 4])
    built.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(SpecError) as caught:
        onnx_model_to_records(built, "model.onnx")
    messages = [str(problem) for problem in caught.value.problems]
    assert messages == [
        "model.onnx:1:1: error: node 'nms' (NonMaxSuppression): no archcalc layer type stands for this operator",
        "model.onnx:2:1: error: node 'custom' (FancyOp, domain 'com.example'): the operator set 'com.example' has no"
        " spec types",
        "model.onnx:3:1: error: node 'swap' (Transpose): permutation [1, 0, 2] moves the batch axis"]


def test_a_second_output_that_is_used_is_named():
    nodes = [("drop", "Dropout", ["x"], ["d", "mask"], {}), ("cast", "Cast", ["mask"], ["y"], {"to": 1})]
    with pytest.raises(SpecError, match=r"node 'drop' \(Dropout\): its output 1 \('mask'\) is used"):
        onnx_model_to_records(model(nodes, [4]), "model.onnx")


def test_a_reshape_into_the_batch_axis_is_named():
    # x.view(-1, E) of [N, L, E] (Hugging Face's Conv1D) folds L into the batch axis
    with pytest.raises(SpecError, match=r"reshape of \[1, 7, 16\] to \[-1, 16\] does not keep the batch axis"):
        onnx_model_to_records(model([one("Reshape", ["x", "shape"])], [7, 16], [ints("shape", [-1, 16])]), "m.onnx")


def test_a_model_shape_inference_rejects_is_one_error():
    broken = model([one("MatMul", ["x", "w"])], [3, 5], [weight("w", [4, 2])])   # [3, 5] @ [4, 2]
    with pytest.raises(SpecError) as caught:
        onnx_model_to_records(broken, "model.onnx")
    assert [problem.code for problem in caught.value.problems] == ["onnx-invalid"]
    assert "shape inference fails" in str(caught.value)


def test_a_layer_whose_count_differs_from_its_initializers_is_an_error():
    # shape inference lets a weight with 5 input channels meet 3 channels; the check after it does not
    imported = onnx_model_to_records(model([one("Conv", ["x", "w"])], [3, 8, 8], [weight("w", [4, 5, 3, 3])]), "m")
    with pytest.raises(SpecError, match=r"layer 'node' \(node 'node'\): 108 parameters, the node's initializers"
                                        r" hold 180"):
        verify(imported, spec_text(imported))


def test_an_add_that_broadcasts_is_named_not_imported_wrongly():
    with pytest.raises(SpecError, match=r"node 'node' \(Add\): operands of shapes \[\[1, 4, 4\], \[4\]\] broadcast"):
        onnx_model_to_records(model([one("Add", ["x", "b"])], [4, 4], [weight("b", [4])]), "model.onnx")


# --- the command ------------------------------------------------------------------------------------------------

def test_the_command_writes_a_spec_that_summary_reads(tmp_path, capsys):
    path = tmp_path / "small.onnx"
    onnx.save(model([("/fc/Gemm", "Gemm", ["x", "w", "b"], ["h"], {"transB": 1}),
                     ("/act/Relu", "Relu", ["h"], ["y"], {})], [20], [weight("w", [10, 20]), weight("b", [10])]),
              str(path))
    assert main(["import", "onnx", str(path), "-o", str(tmp_path / "small.yaml")]) == 0
    assert (tmp_path / "small.yaml").read_text() == (
        "# imported from small.onnx by archcalc import onnx\nname: small\ninput: [20]\n\nlayers:\n"
        "  - {name: fc, type: linear, out_features: 10}\n  - {name: act, type: relu}\n")
    assert archcalc.load(tmp_path / "small.yaml").totals.params == 210
    capsys.readouterr()
    assert main(["import", "onnx", str(tmp_path / "small.yaml")]) == 1
    assert "not an ONNX model" in capsys.readouterr().err


def test_the_readme_lists_every_mapped_operator():
    from pathlib import Path

    from archcalc.bridges.onnx_import import supported_operators

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    marker = "<!-- onnx operators: archcalc.bridges.onnx_import.supported_operators() -->\n"
    listed = readme.split(marker, 1)[1].split("\n", 1)[0]
    assert listed == " ".join(f"`{op}`" for op in supported_operators())


def test_without_onnx_the_command_names_the_install(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)   # import onnx raises ImportError
    assert main(["import", "onnx", str(tmp_path / "any.onnx")]) == 2
    assert "pip install 'archcalc[onnx]'" in capsys.readouterr().err
