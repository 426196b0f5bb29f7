"""Graphs, blocks, repeats, variables and conditions (docs/spec-format.md)."""

import textwrap

import pytest

import archcalc
from archcalc.cli import main

BASIC = """\
name: tiny-resnet
input: [3, 32, 32]
variables:
  width: 16
blocks:
  basic:
    params: {planes: null, stride: 1, downsample: false}
    layers:
      - {name: conv1, type: conv2d, out_channels: "${planes}", kernel_size: 3, stride: "${stride}", padding: 1, bias: false}
      - {name: bn1, type: batchnorm2d}
      - {name: relu1, type: relu}
      - {name: conv2, type: conv2d, out_channels: "${planes}", kernel_size: 3, padding: 1, bias: false}
      - {name: bn2, type: batchnorm2d}
      - {name: downsample.0, type: conv2d, inputs: [input], out_channels: "${planes}", kernel_size: 1, stride: "${stride}", bias: false, if: "${downsample}"}
      - {name: downsample.1, type: batchnorm2d, if: "${downsample}"}
      - {name: add, type: add, inputs: [bn2, downsample.1]}
      - {name: relu, type: relu}
layers:
  - {name: stem, type: conv2d, out_channels: "${width}", kernel_size: 3, padding: 1}
  - {block: basic, name: layer1, repeat: 2, with: {planes: "${width}"}}
  - {block: basic, name: layer2, repeat: 2, with: {planes: "${width * 2}"}, first: {stride: 2, downsample: true}}
  - {type: adaptiveavgpool2d, output_size: 1, inputs: [layer2]}
  - {type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""


def test_block_instances_are_named_and_wired():
    network = archcalc.loads(BASIC)
    names = [layer.name for layer in network.layers]
    assert names[:4] == ["stem", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu1"]
    assert "layer1.0.downsample.0" not in names and "layer2.0.downsample.0" in names
    assert "layer2.1.downsample.0" not in names
    # without downsampling, the residual takes the block input; the second instance follows the first
    assert network.layer("layer1.0.add").sources == ("layer1.0.bn2", "stem")
    assert network.layer("layer1.1.conv1").sources == ("layer1.0.relu",)
    assert network.layer("layer2.0.add").sources == ("layer2.0.bn2", "layer2.0.downsample.1")
    assert network.layer("layer2.0.downsample.0").sources == ("layer1.1.relu",)
    assert network.layer("layer2.1.conv1").output_shape == (32, 16, 16)
    # a repeat group's name stands for its last instance's output
    assert network.layer("adaptiveavgpool2d-4").sources == ("layer2.1.relu",)
    assert names[-3:] == ["adaptiveavgpool2d-4", "flatten-5", "fc"]


def test_block_spec_counts_equal_the_flat_spec():
    flat = archcalc.loads(textwrap.dedent("""\
        input: [3, 32, 32]
        layers:
          - {name: stem, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1}
          - {name: a1, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
          - {type: batchnorm2d}
          - {type: relu}
          - {type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
          - {name: a5, type: batchnorm2d}
          - {name: a6, type: add, inputs: [a5, stem]}
          - {name: a7, type: relu}
          - {type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
          - {type: batchnorm2d}
          - {type: relu}
          - {type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
          - {name: b5, type: batchnorm2d}
          - {name: b6, type: add, inputs: [b5, a7]}
          - {name: b7, type: relu}
          - {type: conv2d, out_channels: 32, kernel_size: 3, stride: 2, padding: 1, bias: false}
          - {type: batchnorm2d}
          - {type: relu}
          - {type: conv2d, out_channels: 32, kernel_size: 3, padding: 1, bias: false}
          - {name: c5, type: batchnorm2d}
          - {name: c6, type: conv2d, out_channels: 32, kernel_size: 1, stride: 2, bias: false, inputs: [b7]}
          - {name: c7, type: batchnorm2d}
          - {name: c8, type: add, inputs: [c5, c7]}
          - {name: c9, type: relu}
          - {type: conv2d, out_channels: 32, kernel_size: 3, padding: 1, bias: false}
          - {type: batchnorm2d}
          - {type: relu}
          - {type: conv2d, out_channels: 32, kernel_size: 3, padding: 1, bias: false}
          - {name: d5, type: batchnorm2d}
          - {name: d6, type: add, inputs: [d5, c9]}
          - {type: relu}
          - {type: adaptiveavgpool2d, output_size: 1}
          - {type: flatten}
          - {type: linear, out_features: 10}
        """))
    blocks = archcalc.loads(BASIC)
    assert blocks.totals == flat.totals
    assert [layer.output_shape for layer in blocks.layers] == [layer.output_shape for layer in flat.layers]


def test_index_variable_nested_blocks_and_output():
    network = archcalc.loads(textwrap.dedent("""\
        input: [4, 16]
        blocks:
          unit:
            params: {dilation: 1}
            layers:
              - {name: conv, type: conv1d, out_channels: 4, kernel_size: 3, dilation: "${dilation}", padding: "${dilation}"}
              - {name: act, type: relu}
          pair:
            - {block: unit, name: first}
            - {block: unit, name: second, with: {dilation: 2}}
            - {name: skip, type: add, inputs: [input, first]}
        layers:
          - {block: unit, name: stack, repeat: 3, with: {dilation: "${2 ** i}"}}
          - {block: pair, name: p}
        """))
    assert [layer.spec.dilation for layer in network.layers if layer.type == "conv1d"] == [1, 2, 4, 1, 2]
    assert [layer.name for layer in network.layers][-5:] == ["p.first.conv", "p.first.act", "p.second.conv",
                                                              "p.second.act", "p.skip"]
    assert network.layer("p.skip").sources == ("stack.2.act", "p.first.act")


def test_expression_interpolation_in_names_and_float_sizes():
    network = archcalc.loads(textwrap.dedent("""\
        input: [3, 8, 8]
        variables: {k: 3, multiplier: 0.5}
        layers:
          - {name: "conv${k}x${k}", type: conv2d, out_channels: "${make_divisible(64 * multiplier, 8)}", kernel_size: "${k}"}
        """))
    assert network.layers[0].name == "conv3x3" and network.layers[0].output_shape == (32, 6, 6)


def run_check(write_spec, capsys, text):
    spec = write_spec(textwrap.dedent(text))
    code = main(["summary", str(spec)])
    err = capsys.readouterr().err
    return code, [line.removeprefix(f"{spec}:") for line in err.splitlines()]


ERRORS = [
    pytest.param("""\
        input: [8]
        layers:
          - {name: a, type: relu, inputs: [b]}
          - {name: b, type: relu}
        """, "3:27: error: relu 'a': input 'b' is a later layer (a layer can only take earlier outputs)",
        id="forward-reference"),
    pytest.param("""\
        input: [8]
        layers:
          - {name: a, type: relu}
          - {name: b, type: relu, inputs: [c]}
        """, "4:27: error: relu 'b': unknown input 'c'", id="unknown-reference"),
    pytest.param("""\
        input: [3, 8, 8]
        layers:
          - {name: a, type: conv2d, out_channels: 4, kernel_size: 3}
          - {name: b, type: add, inputs: [a, input]}
        """, "4:26: error: add 'b': inputs must have equal shapes, got [4, 6, 6], [3, 8, 8]", id="add-unequal"),
    pytest.param("""\
        input: [3, 8, 8]
        layers:
          - {name: a, type: conv2d, out_channels: 4, kernel_size: 3}
          - {name: b, type: concat, inputs: [a, input]}
        """, "4:29: error: concat 'b': concat along dim 1 needs every other axis equal, got [4, 6, 6], [3, 8, 8]",
        id="concat-mismatch"),
    pytest.param("""\
        input: [3, 8, 8]
        layers:
          - {name: a, type: conv2d, out_channels: 4, kernel_size: 1}
          - {name: b, type: mul, inputs: [a, input]}
        """, "4:26: error: mul 'b': cannot broadcast [4, 8, 8], [3, 8, 8]: sizes must be equal or 1 on each axis,"
             " aligned from the last", id="mul-broadcast"),
    pytest.param("""\
        input: [3, 8, 8]
        layers:
          - {name: b, type: add}
        """, "3:5: error: add 'b': takes at least 2 inputs, got 1", id="merge-one-input"),
    pytest.param("""\
        input: [8]
        blocks:
          a:
            - {block: b}
          b:
            - {block: a}
        layers:
          - {block: a}
        """, "6:8: error: block 'a' uses itself (a → b → a)", id="recursive-blocks"),
    pytest.param("""\
        input: [8]
        variables: {width: 4}
        layers:
          - {type: linear, out_features: "${widht * 2}"}
        """, "4:20: error: out_features: unknown variable 'widht' (did you mean 'width'?)", id="bad-variable"),
    pytest.param("""\
        input: [8]
        variables: {width: 4}
        layers:
          - {type: linear, out_features: "${width ** }"}
        """, "4:20: error: out_features: invalid expression 'width **': invalid syntax", id="bad-expression"),
    pytest.param("""\
        input: [8]
        variables: {width: 4}
        layers:
          - {type: linear, out_features: "${open('x')}"}
        """, "4:20: error: out_features: only these functions can be called: abs, ceil, floor, int,"
             " make_divisible, max, min, round, str", id="call-not-allowed"),
    pytest.param("""\
        input: [8]
        blocks:
          unit: [{type: relu}]
        layers:
          - {block: unti}
        """, "5:6: error: unknown block 'unti' (did you mean 'unit'?)", id="unknown-block"),
    pytest.param("""\
        input: [8]
        blocks:
          unit:
            params: {width: null}
            layers: [{type: linear, out_features: "${width}"}]
        layers:
          - {block: unit, with: {widht: 3}}
        """, "7:26: error: block 'unit' has no parameter 'widht' (did you mean 'width'?)", id="unknown-parameter"),
    pytest.param("""\
        input: [8]
        blocks:
          unit:
            params: {width: null}
            layers: [{type: linear, out_features: "${width}"}]
        layers:
          - {block: unit}
        """, "7:6: error: block 'unit' needs parameter 'width' (in 'with')", id="missing-parameter"),
    pytest.param("""\
        input: [3, 8, 8]
        blocks:
          unit:
            params: {width: null}
            layers:
              - {name: conv, type: conv2d, out_channels: "${width}", kernel_size: 3, padding: 1}
        layers:
          - {block: unit, name: stage, repeat: 3, with: {width: "${4 - 2 * i}"}}
        """, "6:36: error: conv2d 'stage.2.conv': out_channels: must be at least 1, got 0 (in block 'unit',"
             " instance 'stage.2', used at line 8)", id="error-inside-block-instance"),
    pytest.param("""\
        input: [8]
        blocks:
          unit: [{type: relu}]
        layers:
          - {block: unit, repeat: 10000000}
        """, "5:19: error: repeat: 10,000,000 instances of block 'unit' make 10,000,000 layers, more than the"
             " 20,000-layer limit (--max-layers)", id="repeat-limit"),
]


@pytest.mark.parametrize("text, expected", ERRORS)
def test_graph_and_block_errors(text, expected, write_spec, capsys):
    assert run_check(write_spec, capsys, text) == (1, [expected])


def test_left_out_merge_stands_for_its_first_input():
    network = archcalc.loads(textwrap.dedent("""\
        input: [8, 4, 4]
        blocks:
          inverted:
            params: {residual: true}
            layers:
              - {name: conv, type: conv2d, out_channels: 8, kernel_size: 1}
              - {name: add, type: add, inputs: [conv, input], if: "${residual}"}
              - {name: out, type: relu}
        layers:
          - {block: inverted, name: a}
          - {block: inverted, name: b, with: {residual: false}}
        """))
    assert network.layer("a.out").sources == ("a.add",)
    assert network.layer("b.out").sources == ("b.conv",)


@pytest.mark.parametrize("text, expected", [
    ("input: [4]\nvariables: {a: 1}\nlayers:\n  - {name: 5, type: relu}\n",
     "4:6: error: name: expected a non-empty name, got 5"),
    ("input: [4]\nvariables: {k: 3}\nlayers:\n  - {name: \"${k}\", type: relu}\n",
     "4:6: error: name: expected a non-empty name, got 3"),
], ids=["number", "expression-giving-a-number"])
def test_names_must_be_text_with_blocks_too(text, expected, write_spec, capsys):
    assert run_check(write_spec, capsys, text) == (1, [expected])


def test_str_builds_names_and_exponent_floats_parse():
    network = archcalc.loads("input: [4, 8, 8]\nvariables: {k: 7}\nlayers:\n"
                             "  - {name: \"${'features.' + str(k)}\", type: batchnorm2d, eps: 1e-5}\n")
    assert network.layers[0].name == "features.7" and network.layers[0].spec.eps == 1e-5


def test_name_templates_outer_references_and_single_input_concat():
    network = archcalc.loads(textwrap.dedent("""\
        input: [4, 16, 16]
        blocks:
          dense:
            layers:
              - {name: conv, type: conv2d, out_channels: 2, kernel_size: 3, padding: 1}
              - {name: cat, type: concat, inputs: [input, conv]}
          up:
            params: {skip: null}
            layers:
              - {name: up, type: convtranspose2d, out_channels: 4, kernel_size: 2, stride: 2}
              - {name: cat, type: concat, inputs: ["${skip}", up]}
        layers:
          - {name: stem, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
          - {name: only, type: concat, inputs: [stem]}
          - {block: dense, name: "denselayer${i + 1}", repeat: 3}
          - {name: down, type: maxpool2d, kernel_size: 2}
          - {block: up, name: up1, with: {skip: denselayer3}}
        """))
    names = [layer.name for layer in network.layers]
    assert names[2:8] == ["denselayer1.conv", "denselayer1.cat", "denselayer2.conv", "denselayer2.cat",
                          "denselayer3.conv", "denselayer3.cat"]
    assert network.layer("only").output_shape == (4, 16, 16)
    # the block was handed an outer layer by name: the skip connection of a U-Net
    assert network.layer("up1.cat").sources == ("denselayer3.cat", "up1.up")
    assert network.layer("up1.cat").output_shape == (14, 16, 16)


def test_a_blocks_own_layers_shadow_outer_names_even_when_defined_later(write_spec, capsys):
    code, lines = run_check(write_spec, capsys, """\
        input: [4, 8, 8]
        blocks:
          b:
            - {name: merge, type: add, inputs: [input, later]}
            - {name: later, type: relu}
        layers:
          - {name: later, type: conv2d, out_channels: 4, kernel_size: 1}
          - {block: b, name: blk}
        """)
    assert (code, lines) == (1, ["4:32: error: add 'blk.merge': input 'blk.later' is a later layer (a layer can only"
                                 " take earlier outputs) (in block 'b', instance 'blk', used at line 8)"])


def test_a_left_out_layer_does_not_hide_a_kept_one_of_the_same_name():
    network = archcalc.loads(textwrap.dedent("""\
        input: [4, 8, 8]
        blocks:
          b:
            params: {one: false}
            layers:
              - {name: cat, type: concat, inputs: [input], if: "${one}"}
              - {name: cat, type: concat, inputs: [input, input], if: "${not one}"}
              - {name: out, type: relu, inputs: [cat]}
        layers:
          - {block: b, name: x, with: {one: true}}
          - {block: b, name: y}
        """))
    assert network.layer("x.out").sources == ("x.cat",) and network.layer("x.out").output_shape == (4, 8, 8)
    assert network.layer("y.out").sources == ("y.cat",) and network.layer("y.out").output_shape == (8, 8, 8)


def test_variables_reach_named_inputs_with_a_dtype():
    """`input` is evaluated with the variables also inside mappings: several inputs, `{shape, dtype}`."""
    text = textwrap.dedent("""\
        variables: {seq_len: 16, width: 8}
        input:
          tokens: {shape: ["${seq_len}", "${width}"], dtype: float32}
          other: ["${seq_len}", "${width * 2}"]
        layers:
          - {type: linear, out_features: 4, inputs: [tokens]}
    """)
    assert archcalc.loads(text).layers[0].output_shape == (16, 4)
    assert archcalc.loads(text, variables={"seq_len": 5}).layers[0].output_shape == (5, 4)
