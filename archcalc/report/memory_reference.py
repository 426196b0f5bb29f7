"""The training-memory reference (docs/memory.md), generated from the layers' own rules.

Every row of the per-type tables is the answer of that type's `saved()` rule, run here on an
example layer in each situation (a gradient flows in; first layer, nothing needs a gradient yet;
frozen), on CPU and on CUDA; the text under each type is its `MEMORY_FACTS` entry, the measurement
behind the rule. A test keeps the committed file equal to `render_memory_doc()`.
"""

from __future__ import annotations

from importlib import import_module

from ..layers import FAMILIES
from ..layers.autograd import BATCH, MODEL, OUTPUT, Backward, Context
from ..analysis.memory import ADAM_STEP_BYTES, NOT_MODELLED, NOT_MODELLED_CUDA, training_memory
from .formula_reference import TITLES, example_network

# Example cases per type: (case, arguments, per-sample input shapes, input gradients or None for "all").
# The first case of a type is its plain form; the others are the variants whose memory differs.
_IMAGE, _SMALL = [[64, 28, 28]], [[16, 4, 8, 8]]
CASES: dict[str, list[tuple[str, dict, list[list[int]], tuple[bool, ...] | None]]] = {
    "conv1d": [("", {"out_channels": 32, "kernel_size": 3}, [[16, 100]], None)],
    "conv2d": [("", {"out_channels": 64, "kernel_size": 3, "padding": 1}, _IMAGE, None),
               ("trainable: false", {"out_channels": 64, "kernel_size": 3, "padding": 1, "trainable": False}, _IMAGE,
                None)],
    "conv3d": [("", {"out_channels": 16, "kernel_size": 3, "padding": 1}, _SMALL, None)],
    "convtranspose1d": [("", {"out_channels": 8, "kernel_size": 2, "stride": 2}, [[16, 100]], None)],
    "convtranspose2d": [("", {"out_channels": 32, "kernel_size": 2, "stride": 2}, _IMAGE, None)],
    "convtranspose3d": [("", {"out_channels": 8, "kernel_size": 2, "stride": 2}, _SMALL, None)],
    "linear": [("", {"out_features": 10}, [[512]], None),
               ("trainable: false", {"out_features": 10, "trainable": False}, [[512]], None),
               ("on a sequence", {"out_features": 64}, [[49, 512]], None)],
    "batchnorm1d": [("", {}, [[512]], None)],
    "batchnorm2d": [("", {}, _IMAGE, None), ("affine: false", {"affine": False}, _IMAGE, None),
                    ("trainable: false", {"trainable": False}, _IMAGE, None)],
    "batchnorm3d": [("", {}, _SMALL, None)],
    "layernorm": [("", {"normalized_shape": 512}, [[49, 512]], None),
                  ("elementwise_affine: false", {"normalized_shape": 512, "elementwise_affine": False}, [[49, 512]],
                   None)],
    "maxpool1d": [("", {"kernel_size": 2}, [[16, 100]], None)],
    "maxpool2d": [("", {"kernel_size": 2}, _IMAGE, None)],
    "maxpool3d": [("", {"kernel_size": 2}, _SMALL, None)],
    "avgpool1d": [("", {"kernel_size": 2}, [[16, 100]], None)],
    "avgpool2d": [("", {"kernel_size": 2}, _IMAGE, None)],
    "avgpool3d": [("", {"kernel_size": 2}, _SMALL, None)],
    "adaptiveavgpool1d": [("", {"output_size": 4}, [[16, 100]], None),
                          ("output 1", {"output_size": 1}, [[16, 100]], None)],
    "adaptiveavgpool2d": [("", {"output_size": 7}, _IMAGE, None),
                          ("output 1 (global)", {"output_size": 1}, _IMAGE, None)],
    "adaptiveavgpool3d": [("", {"output_size": 2}, _SMALL, None), ("output 1", {"output_size": 1}, _SMALL, None)],
    "adaptivemaxpool2d": [("", {"output_size": 7}, _IMAGE, None), ("output 1", {"output_size": 1}, _IMAGE, None)],
    "flatten": [("", {}, [[64, 7, 7]], None)],
    "add": [("", {}, [[64, 28, 28], [64, 28, 28]], None)],
    "mul": [("", {}, [[64, 28, 28], [64, 1, 1]], None),
            ("only input 2 needs a gradient", {}, [[64, 28, 28], [64, 1, 1]], (False, True)),
            ("three factors", {}, [[64, 28, 28], [64, 1, 1], [64, 28, 28]], None)],
    "concat": [("", {}, [[64, 28, 28], [32, 28, 28]], None)],
    "identity": [("", {}, _IMAGE, None)],
    "dropout": [("", {"p": 0.5}, _IMAGE, None), ("inplace: true", {"p": 0.5, "inplace": True}, _IMAGE, None),
                ("p: 0", {"p": 0.0}, _IMAGE, None), ("p: 1", {"p": 1.0}, _IMAGE, None)],
    "dropout1d": [("", {}, [[64, 100]], None)],
    "dropout2d": [("", {}, _IMAGE, None), ("inplace: true", {"inplace": True}, _IMAGE, None)],
    "dropout3d": [("", {}, _SMALL, None)],
    "prelu": [("", {"num_parameters": 64}, _IMAGE, None)],
    "softmax": [("", {"dim": 1}, [[10]], None)],
    "logsoftmax": [("", {"dim": 1}, [[10]], None)],
}
for _tag in ("relu", "relu6", "leakyrelu", "elu", "silu", "mish", "hardswish", "hardsigmoid"):
    CASES[_tag] = [("", {}, _IMAGE, None), ("inplace: true", {"inplace": True}, _IMAGE, None)]
for _tag in ("gelu", "sigmoid", "tanh"):
    CASES[_tag] = [("", {}, _IMAGE, None)]


def _shape(template: tuple[int, ...]) -> str:
    return "×".join("N" if axis == BATCH else str(axis) for axis in template) if template else "scalar"


def _kept_text(rule: Backward, layer) -> str:
    parts = []
    for kept in rule.kept:
        if kept.source >= 0:
            label = kept.what if kept.what != "input" or len(layer.input_shapes) == 1 else f"input {kept.source + 1}"
            parts.append(f"{label} ({_shape((BATCH, *layer.input_shapes[kept.source]))})")
        elif kept.source == OUTPUT:
            parts.append(f"{kept.what} ({_shape((BATCH, *layer.output_shape))})")
        else:
            dtype = "model dtype" if kept.dtype == MODEL else kept.dtype
            parts.append(f"{kept.what} {_shape(kept.shape)} {dtype}")
    return ", ".join(parts) or "nothing"


def _answer(layer, grads: tuple[bool, ...], trainable: bool) -> tuple[str, Backward]:
    """What the rule keeps for a float32 model, on CPU and on CUDA (shown once when equal)."""
    answers = {}
    for device in ("cpu", "cuda"):
        rule = layer.spec.saved(Context(layer.input_shapes, layer.output_shape, grads, trainable, "float32", device))
        answers[device] = (_kept_text(rule, layer), rule)
    if answers["cpu"][0] == answers["cuda"][0]:
        return answers["cpu"]
    return f"CPU: {answers['cpu'][0]}; CUDA: {answers['cuda'][0]}", answers["cpu"][1]


def _output_text(rule: Backward) -> str:
    if rule.alias is None:
        return "new"
    return "input's storage, in place" if rule.in_place else "input's storage"


def type_rows(tag: str) -> list[str]:
    lines = []
    for case, arguments, shapes, grads in CASES[tag]:
        layer = example_network(tag, arguments, shapes).layer(tag)
        trainable = layer.trainable_params > 0
        flowing, rule = _answer(layer, grads or (True,) * len(shapes), trainable)
        first, _ = _answer(layer, (False,) * len(shapes), trainable)
        label = f"{tag}" + (f", {case}" if case else "")
        inputs = " · ".join(_shape((BATCH, *shape)) for shape in layer.input_shapes)
        lines.append(f"| {label} | {inputs} | {flowing} | {first} | {_output_text(rule)} |")
    return lines


def _facts() -> dict[str, str]:
    facts: dict[str, str] = {}
    for family in FAMILIES:
        facts.update(import_module(f"archcalc.layers.{family}").MEMORY_FACTS)
    return facts


def _example() -> str:
    from ..api import analyze
    from .memory_format import render_text

    spec = {"name": "lenet-rgb", "input": [3, 28, 28], "layers": [
        {"name": "conv1", "type": "conv2d", "out_channels": 20, "kernel_size": 5},
        {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
        {"name": "conv2", "type": "conv2d", "out_channels": 50, "kernel_size": 5},
        {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
        {"name": "fc1", "type": "linear", "out_features": 500}, {"type": "relu"},
        {"name": "dropout1", "type": "dropout", "p": 0.5}, {"name": "fc2", "type": "linear", "out_features": 10}]}
    network = analyze(spec).network
    return render_text(training_memory(network, batch_size=2, device="cpu"))


def render_memory_doc() -> str:
    facts = _facts()
    lines = [
        "# Training memory",
        "",
        "Generated by `archcalc.memory_doc.render_memory_doc()` from the layers' own rules (`saved()` in each"
        " family module of `archcalc/layers/`, the measured facts in its `MEMORY_FACTS`); a test keeps this file"
        " equal to it. `archcalc memory SPEC` applies these rules to a spec.",
        "",
        "## What the figure is",
        "",
        "The memory a training step holds between the end of the forward pass and the start of the backward pass,"
        " in bytes:",
        "",
        "- **saved activations**: every tensor PyTorch's autograd keeps for backward, each storage counted once,"
        " in the first layer (in spec order) that keeps it;",
        "- **parameters**, all of them, in the model's dtype, and their **gradients** (trainable parameters only);",
        "- **optimizer state** after the first `step()`: none for `sgd`; one momentum buffer per parameter for"
        " `momentum`; for `adam` and `adamw` the two moments `exp_avg` and `exp_avg_sq` plus a"
        f" {ADAM_STEP_BYTES}-byte float32 `step` tensor per trainable parameter tensor (measured after one real"
        " `torch.optim.Adam` step; frozen parameters get no state);",
        "- **buffers**: batch-norm `running_mean` and `running_var` in the model's dtype and an int64"
        " `num_batches_tracked` (8 B) per batch norm with `track_running_stats`;",
        "- **the input batch**, once — inside the saved activations when a layer keeps it.",
        "",
        "`total_bytes` = `fixed_bytes` + batch size × `per_sample_bytes`: everything except batch-norm statistics"
        " (and `p: 1` dropout's zero scalar) grows linearly with the batch, so `--fit BUDGET` finds the largest"
        " batch size in closed form: ⌊(budget − fixed) / per sample⌋.",
        "",
        "It is the floor of the training peak, not the peak. Not modelled: "
        + "; ".join(NOT_MODELLED) + "; on CUDA also " + "; ".join(NOT_MODELLED_CUDA) + ".",
        "",
        "## How the rules were found",
        "",
        "Each rule was measured with PyTorch 2.13 on CPU, in training mode: one forward pass under"
        " `torch.autograd.graph.saved_tensors_hooks`, every saved tensor attributed to the layer running at that"
        " moment, each storage (`untyped_storage().data_ptr()`) counted once, parameter and buffer storages"
        " excluded — the method of the shared examples' `training_memory`. Every layer type was run alone and after"
        " a trainable layer, in place and not, frozen and not, with and without bias, with 1×1 adaptive pooling,"
        " at several batch sizes and in float32, float16 and bfloat16. `tests/test_memory_torch.py` repeats the"
        " measurement on specs using every type and variant, branching blocks and every bundled architecture,"
        " and requires equal bytes per layer and in total, at two batch sizes.",
        "",
        "## Rules of the graph",
        "",
        "1. **Gradients start at the first trainable parameter.** The network input needs no gradient; a layer's"
        " output needs one when one of its inputs does or it has trainable parameters. A layer records nothing,"
        " and keeps nothing, when neither is true: every layer before the first trainable parameter, and frozen"
        " layers there (`trainable: false`), keep nothing. A frozen layer after a trainable one does keep what it"
        " needs to pass the gradient on.",
        "2. **Frozen parameters change what is kept.** A linear layer keeps its input only for its weight's"
        " gradient, so a frozen linear layer keeps nothing; a convolution keeps its input whenever anything needs"
        " a gradient. `mul` keeps each factor whose partner needs a gradient.",
        "3. **Storages, not tensors.** A view (`flatten`), the input itself (`identity`, dropout with `p: 0`) and"
        " an in-place result share their input's storage. A ReLU keeps its output, which is the very tensor the"
        " next convolution keeps as its input: one storage, counted once, in the ReLU. `flatten`, `identity`,"
        " `add` and `concat` keep nothing of their own.",
        "4. **In place is not always free.** An in-place ReLU, LeakyReLU or ELU keeps its result, which is its"
        " input's storage. In-place ReLU6, SiLU, Mish, Hardswish and Hardsigmoid must keep the input they"
        " overwrite, so autograd keeps a copy: `inplace: true` saves nothing for them in training.",
        "5. **In place may be refused.** An in-place layer that overwrites a tensor an earlier layer keeps (after"
        " a ReLU, a sigmoid or another in-place ReLU, or the network input a convolution keeps) makes PyTorch's"
        " backward fail. The forward pass, and so these bytes, are well defined; `archcalc memory` warns.",
        "6. **Dead branches.** A layer whose output never reaches the network output keeps its tensors only until"
        " the forward pass ends. They are counted, as `saved_tensors_hooks` see them, and `archcalc memory` warns.",
        "",
        "## Per layer type",
        "",
        "Each row is the rule's answer for the example layer, shapes with the batch axis N: what it keeps when a"
        " gradient flows in, what it keeps as the first layer (its input needs no gradient; only its own"
        " trainable parameters can make it record), and where its output lives. \"input\" and \"output\" are the"
        " layer's input and output storages (counted in the first layer keeping them); other tensors are its own,"
        " in the model's dtype unless stated. The rows are for a float32 model; where CPU and CUDA differ, both"
        " are shown (float16/bfloat16 differences: see Devices).",
        "",
    ]
    for family, tags in FAMILIES.items():
        lines += [f"### {TITLES[family]}", "",
                  "| type | input | gradient flows in | first layer | output |", "|---|---|---|---|---|"]
        for tag in tags:
            lines += type_rows(tag)
        lines.append("")
        tags_of: dict[str, list[str]] = {}
        for tag in tags:
            tags_of.setdefault(facts[tag], []).append(tag)
        for fact, same in tags_of.items():
            lines.append(f"- {', '.join(f'**`{tag}`**' for tag in same)}: {fact}")
        lines.append("")
    lines += [
        "## Devices",
        "",
        "- **CPU** is measured exactly (PyTorch 2.13).",
        "- **CUDA** differs where PyTorch's CUDA kernels keep other tensors; these come from PyTorch's sources,"
        " not from a measurement (no GPU was available):",
        "  - out-of-place `dropout` with 0 < p < 1 runs the fused `native_dropout` kernel, whose mask is bool, 1 B"
        " per element (CPU: the input's dtype). In-place dropout is never fused, on any device; channel dropout"
        " (`dropout1d/2d/3d`) neither;",
        "  - batch-norm and layer-norm statistics are float32 for float16/bfloat16 models (the accumulation type;"
        " CPU keeps them in the model's dtype);",
        "  - float32 batch norm with γ and β on [N, C, ...] inputs runs in cuDNN, which also keeps a reserve buffer"
        " whose size cuDNN decides: not modelled;",
        "  - Adam's and AdamW's `step` tensors stay in host memory (neither capturable nor fused): they are"
        " reported as `optimizer_host_bytes`, outside `total_bytes`.",
        "- Not modelled on CUDA: " + "; ".join(NOT_MODELLED_CUDA) + ". Real device memory is larger than these"
        " storage bytes.",
        "- PyTorch 2.13 has no float16/bfloat16 `avg_pool3d` on CPU: the figure is what the layer would keep.",
        "",
        "## Example",
        "",
        "`archcalc memory` on LeNet with 20/50 filters on 3×28×28 (`tests/golden/lenet_rgb.yaml`), batch size 2,"
        " CPU — the bytes PyTorch measures:",
        "",
        "```text",
        _example().rstrip("\n"),
        "```",
    ]
    return "\n".join(lines) + "\n"


__all__ = ["CASES", "render_memory_doc"]
