#!/usr/bin/env python3
"""Flat archcalc spec of a torchvision model, generated from its torch.fx graph.

    python tools/fx_to_spec.py resnet18 -o tests/specs/flat/resnet18_flat.yaml   (needs torch + torchvision)

One layer per node of `torch.fx.symbolic_trace(model)`: every call_module node becomes a layer with
the module's constructor arguments, `operator.add` / `torch.add` / `operator.iadd` an `add` layer,
`torch.flatten` a `flatten` layer, `torch.cat` a `concat` layer (`torch.cat([x])`, DenseNet's first
concatenation in each dense block, a one-input `concat`), `F.relu` a `relu` layer and
`F.adaptive_avg_pool2d` an `adaptiveavgpool2d` layer. Every layer names its `inputs` explicitly (the
fx node's tensor arguments; the placeholder is `input`). No blocks, no variables.

Names: a call_module layer is named by the module's qualified name (`layer1.0.conv1`); a module
called again gets `_1`, `_2`, ... (`layer1.0.relu_1`, torch.fx's own suffix). A function node is
named `<innermost module>.<op>` from the node's nn_module_stack (`layer1.0.add`, `features.3.cat`),
or just `<op>` at the top level (`flatten`), with the same suffix if repeated.
"""

from __future__ import annotations

import argparse
import operator
import sys

import torch
import torch.fx
import torch.nn.functional as F
import torchvision

FUNCTIONS = {
    operator.add: "add", operator.iadd: "add", torch.add: "add",
    torch.flatten: "flatten",
    torch.cat: "concat", torch.concat: "concat",
    F.relu: "relu",
    F.adaptive_avg_pool2d: "adaptiveavgpool2d",
}
# a function layer is named <innermost module>.<short name>, or just <short name> at the top level
SHORT = {"add": "add", "flatten": "flatten", "concat": "cat", "relu": "relu",
         "adaptiveavgpool2d": "adaptive_avg_pool2d"}


def _size(value):
    return list(value) if isinstance(value, (tuple, list)) else value


def module_arguments(module: torch.nn.Module) -> tuple[str, dict]:
    """archcalc type and arguments of one leaf module (every argument explicit)."""
    kind = type(module).__name__.lower()
    if isinstance(module, torch.nn.Conv2d):
        padding = module.padding if isinstance(module.padding, str) else _size(module.padding)
        return kind, {"in_channels": module.in_channels, "out_channels": module.out_channels,
                      "kernel_size": _size(module.kernel_size), "stride": _size(module.stride),
                      "padding": padding, "dilation": _size(module.dilation), "groups": module.groups,
                      "bias": module.bias is not None}
    if isinstance(module, torch.nn.BatchNorm2d):
        return kind, {"num_features": module.num_features, "eps": module.eps, "momentum": module.momentum,
                      "affine": module.affine, "track_running_stats": module.track_running_stats}
    if isinstance(module, torch.nn.Linear):
        return kind, {"in_features": module.in_features, "out_features": module.out_features,
                      "bias": module.bias is not None}
    if isinstance(module, torch.nn.MaxPool2d):
        return kind, {"kernel_size": _size(module.kernel_size), "stride": _size(module.stride),
                      "padding": _size(module.padding), "dilation": _size(module.dilation),
                      "ceil_mode": module.ceil_mode}
    if isinstance(module, torch.nn.AvgPool2d):
        return kind, {"kernel_size": _size(module.kernel_size), "stride": _size(module.stride),
                      "padding": _size(module.padding), "ceil_mode": module.ceil_mode,
                      "count_include_pad": module.count_include_pad}
    if isinstance(module, (torch.nn.AdaptiveAvgPool2d, torch.nn.AdaptiveMaxPool2d)):
        return kind, {"output_size": _size(module.output_size)}
    if isinstance(module, (torch.nn.ReLU, torch.nn.ReLU6)):
        return kind, {"inplace": module.inplace}
    if isinstance(module, torch.nn.Dropout):
        return kind, {"p": module.p, "inplace": module.inplace}
    if isinstance(module, torch.nn.Identity):
        return kind, {}
    raise NotImplementedError(f"no archcalc mapping for module {type(module).__name__}")


def _argument(node: torch.fx.Node, position: int, keyword: str, default):
    if len(node.args) > position:
        return node.args[position]
    return node.kwargs.get(keyword, default)


def flat_layers(model: torch.nn.Module) -> list[dict]:
    """One dict per fx node (name, type, inputs, arguments), in graph order."""
    graph = torch.fx.symbolic_trace(model).graph
    modules = dict(model.named_modules())
    names: dict[torch.fx.Node, str] = {}
    seen: dict[str, int] = {}
    layers = []

    def unique(base: str) -> str:
        count = seen.get(base, 0)
        seen[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def source(node) -> str:
        if not isinstance(node, torch.fx.Node):
            raise NotImplementedError(f"non-tensor input {node!r}")
        return names[node]

    for node in graph.nodes:
        if node.op == "placeholder":
            names[node] = "input"
            continue
        if node.op == "output":
            continue
        if node.op == "call_module":
            kind, arguments = module_arguments(modules[node.target])
            name = unique(node.target)
            inputs = [source(node.args[0])]
        elif node.op == "call_function" and node.target in FUNCTIONS:
            kind = FUNCTIONS[node.target]
            stack = node.meta.get("nn_module_stack") or {}
            scope = next(reversed(stack.values()))[0] if stack else ""
            name = unique(f"{scope}.{SHORT[kind]}" if scope else SHORT[kind])
            if kind == "add":
                inputs, arguments = [source(a) for a in node.args], {}
            elif kind == "flatten":
                inputs = [source(node.args[0])]
                arguments = {"start_dim": _argument(node, 1, "start_dim", 0),
                             "end_dim": _argument(node, 2, "end_dim", -1)}
            elif kind == "relu":
                inputs = [source(node.args[0])]
                arguments = {"inplace": bool(_argument(node, 1, "inplace", False))}
            elif kind == "adaptiveavgpool2d":
                inputs = [source(node.args[0])]
                arguments = {"output_size": _size(_argument(node, 1, "output_size", None))}
            else:  # concat: torch.cat([x]) is a one-input concat, a copy of x
                inputs = [source(a) for a in node.args[0]]
                arguments = {"dim": _argument(node, 1, "dim", 0)}
        else:
            raise NotImplementedError(f"fx node {node.op} {node.target} has no archcalc layer")
        names[node] = name
        layers.append({"name": name, "type": kind, "inputs": inputs, **arguments})
    return layers


def _yaml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(item) for item in value) + "]"
    if isinstance(value, str):
        return value if value.replace(".", "").replace("_", "").isalnum() and not value[0].isdigit() else repr(value)
    if isinstance(value, float):
        # YAML 1.1 (PyYAML, archcalc's loader) reads `1e-05` as a string: a float needs a dot.
        mantissa, _, exponent = repr(value).partition("e")
        if exponent and "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{exponent}" if exponent else mantissa
    return repr(value)


def spec_text(model_name: str, input_shape: list[int]) -> str:
    model = getattr(torchvision.models, model_name)().eval()
    lines = [f"# Generated by tools/fx_to_spec.py from torch.fx.symbolic_trace(torchvision.models.{model_name}()):",
             f"# torch {torch.__version__}, torchvision {torchvision.__version__}. One layer per fx node, inputs explicit.",
             f"name: {model_name}_flat",
             f"input: {_yaml_value(input_shape)}",
             "layers:"]
    for layer in flat_layers(model):
        fields = ", ".join(f"{key}: {_yaml_value(value)}" for key, value in layer.items())
        lines.append(f"  - {{{fields}}}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="torchvision.models function name, e.g. resnet18")
    parser.add_argument("--input", default="3,224,224", help="per-sample input shape (default 3,224,224)")
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = spec_text(args.model, [int(size) for size in args.input.split(",")])
    if args.output:
        with open(args.output, "w") as file:
            file.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
