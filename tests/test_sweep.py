"""`archcalc sweep` and `archcalc.sweep`: the grid, `--where`, the Pareto front, and every row equal to a single
run of the same point (`archcalc.load(variables=...)`, `archcalc summary --set ...`)."""

import csv
import io
import json
import xml.etree.ElementTree as ElementTree
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

import archcalc
from archcalc.analysis.memory import training_memory
from archcalc.cli import main
from archcalc.cli.sweep import FORMATS
from archcalc.report.scatter import axis_for
from archcalc.report.sweep_format import SWEEP_FORMATS
from archcalc.sweeps.engine import Options, PreparedSpec, Row, choose, pareto_front
from archcalc.sweeps.grid import MAX_POINTS, GridError, as_grid, parse_values
from archcalc.sweeps.where import WhereError, parse_condition
from conftest import REPO

RESNET50 = str(REPO / "specs" / "resnet50.yaml")


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the grid ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, values", [
    ("32,48,64,96", [32, 48, 64, 96]),
    ("2..8", [2, 3, 4, 5, 6, 7, 8]),
    ("160..320:32", [160, 192, 224, 256, 288, 320]),
    ("1..10:4", [1, 5, 9]),                      # the end is kept only when the step reaches it
    ("5", [5]),                                   # `--set x=5` still works
    ("3,5..9:2", [3, 5, 7, 9]),
    ("-2..2", [-2, -1, 0, 1, 2]),
    (" 1 .. 3 ", [1, 2, 3]),
    ("64,32..64:32", [64, 32]),                   # a repeated value is kept once, first seen first
    ("0.5,relu,true", [0.5, "relu", True]),       # each item read as --set reads a value
    ("1,1.0,true", [1, 1.0, True]),               # equal in Python, different values of a variable
])
def test_grid_values(text, values):
    assert parse_values(text) == values
    assert [type(value) for value in parse_values(text)] == [type(value) for value in values]


@pytest.mark.parametrize("text, message", [
    ("8..2", "an empty range (the end is below the start; write 2..8)"),
    ("1..5:0", "the step must be a positive integer, got 0"),
    ("1..5:-1", "the step must be a positive integer, got -1"),
    ("1..", "a range is START..END or START..END:STEP, with integers"),
    ("1.5..3", "a range is START..END"),
    ("a..b", "a range is START..END"),
    ("1,,2", "an empty item"),
    ("32,", "an empty item"),
    ("0..1000000000000", "makes 1,000,000,000,001 values, more than the 10,000-point limit (--max-points)"),
    ("1..1" + "0" * 200, "a range bound of more than 100 digits"),
    (",".join(map(str, range(10_001))), "10,001 values, more than the 10,000-point limit (--max-points)"),
    ("32,.nan", "'.nan': nan is not a number a spec can use"),
    (".inf", "inf is not a number a spec can use"),
])
def test_grid_errors(text, message):
    with pytest.raises(GridError, match=None) as error:
        parse_values(text)
    assert message in str(error.value)


def test_a_huge_grid_is_refused_by_arithmetic_not_by_running_out_of_memory():
    with pytest.raises(GridError) as error:
        as_grid({"a": "1..10000", "b": "1..10000", "c": "1..10000"}, max_points=10_000_000)
    assert "10,000 a × 10,000 b × 10,000 c" in str(error.value) and "(--max-points)" in str(error.value)
    with pytest.raises(GridError, match="makes 10,000,000,000,000,000,000 values"):
        as_grid({"a": "1..10" + "0" * 18})


def test_max_points_raises_the_limit():
    assert len(as_grid({"a": "1..200", "b": "1..60"}, max_points=12_000)["a"]) == 200
    with pytest.raises(GridError, match="12,000 points"):
        as_grid({"a": "1..200", "b": "1..60"})


# --- --where ----------------------------------------------------------------------------------------

ROW = {"params": 25_557_032, "macs": 4_089_184_256, "training_memory": 495_247_400, "width": 64, "act": "relu",
       "residual": True}


@pytest.mark.parametrize("condition, expected", [
    ("params <= 20M", False),
    ("params <= 25.6M", True),                     # exact decimals: 25,600,000
    ("params < 25.557032M", False),                # equal, not below
    ("params <= 25.557032M", True),
    ("params == 25557032", True),
    ("params = 25557032", True),
    ("params != 25557032", False),
    ("macs <= 5G and params <= 30M", True),
    ("macs <= 4G or params <= 30M", True),
    ("macs <= 4G or params <= 20M", False),
    ("not macs <= 4G", True),
    ("macs <= 4G or params <= 30M and width > 100", False),   # and binds tighter than or
    ("(macs <= 4G or params <= 30M) and width > 32", True),
    ("training_memory < 0.5GB", True),             # 10^9 bytes
    ("training_memory < 472MiB", False),           # 494,927,872
    ("training_memory < 473MiB", True),
    ("training_memory >= 1GiB", False),
    ("4.1G > macs", True),                         # the constant may come first
    ("width >= 64 AND width <= 64", True),         # keywords in any case
    ("act == 'relu'", True),
    ('act != "gelu"', True),
    ("act == 5", False),                           # a text is never equal to a number
    ("residual == true", True),
    ("2K < width", False),
    ("params > 25k", True),
])
def test_where(condition, expected):
    assert parse_condition(condition, ROW).matches(ROW) is expected


@pytest.mark.parametrize("condition, message", [
    ("", "an empty condition"),
    ("params <=", "column 10: expected a name or a value, got the end"),
    ("params 5", "column 8: expected a comparison"),
    ("parms < 5M", "column 1: unknown name 'parms' (did you mean 'params'?)"),
    ("5 < 6", "compares two constants"),
    ("params < 7B", "'7B' is ambiguous (a billion or bytes?)"),
    ("params < 5X", "unknown unit 'X'"),
    ("params < 5M and", "expected a name or a value, got the end"),
    ("params < 5M macs < 1", "expected 'and', 'or' or the end, got 'macs'"),
    ("(params < 5M", "expected ')', got the end"),
    ("__import__('os')", "column 1: unknown name '__import__'"),
    ("__import__('os').system('true')", "column 17: unexpected '.'"),
    ("params < 5M; rm -rf /", "column 12: unexpected ';'"),
    ("params.real > 0", "unexpected '.'"),
    ("(" * 60 + "params < 1" + ")" * 60, "nested more than 50 levels deep"),
    ("not " * 60 + "params < 1", "nested more than 50 levels deep"),
    ("params < 1 or " * 100 + "params < 1", "more than 1,000"),
    ("params < 1e9", "unknown unit 'e'"),
])
def test_where_errors(condition, message):
    with pytest.raises(WhereError) as error:
        parse_condition(condition, ROW)
    assert message in str(error.value)


@pytest.mark.parametrize("condition, message", [
    ("act < 5", "cannot order a text ('relu') and a number (5)"),
    ("act < 'z'", "a text ('relu') and a text ('z') can only be compared with == and !="),
])
def test_where_errors_found_on_a_row(condition, message):
    with pytest.raises(WhereError, match=None) as error:
        parse_condition(condition, ROW).matches(ROW)
    assert message in str(error.value)


# --- the Pareto front and sorting ------------------------------------------------------------------

def _rows(*pairs):
    return [Row({"i": i}, params=p, macs=m) for i, (p, m) in enumerate(pairs)]


@pytest.mark.parametrize("pairs, objectives, front", [
    ([(1, 5), (2, 4), (3, 3), (2, 6), (4, 4)], [("params", False), ("macs", False)], [0, 1, 2]),
    ([(1, 1), (1, 1), (2, 2)], [("params", False), ("macs", False)], [0, 1]),        # ties: neither dominates
    ([(1, 5), (1, 4)], [("params", False), ("macs", False)], [1]),                   # equal on one, better on one
    ([(1, 5), (2, 4), (3, 3)], [("params", False), ("macs", True)], [0]),            # -macs: maximized
    ([(3, 1), (1, 3), (2, 2)], [("params", False)], [1]),
])
def test_pareto_front(pairs, objectives, front):
    assert [row.variables["i"] for row in pareto_front(_rows(*pairs), objectives)] == front


def test_sort_is_stable_and_puts_invalid_points_last():
    rows = _rows((2, 1), (1, 1), (2, 0), (1, 2)) + [Row({"i": 4}, problems=(archcalc.Problem("x", 1, 1, "bad"),))]
    ordered = choose(rows, order=[("params", False), ("macs", True)])
    assert [row.variables["i"] for row in ordered] == [3, 1, 0, 2, 4]
    assert [row.variables["i"] for row in choose(rows, order=[("params", True)], valid_only=True)] == [0, 2, 1, 3]


# --- the rows are single runs ----------------------------------------------------------------------

def single_run(variables, batch_size=1, fit=None):
    """The figures of one point, computed the ordinary way: load with variables, summary, training memory."""
    network = archcalc.load(RESNET50, variables=variables)
    memory = training_memory(network, batch_size=batch_size, fit=fit)
    return {"params": network.totals.params, "trainable_params": network.totals.trainable_params,
            "macs": network.totals.macs, "flops": network.totals.flops, "layers": len(network.layers),
            "output_shape": "x".join(map(str, network.output_shape)),
            "memory": network.summary(batch_size).memory.total_bytes,
            "training_memory": memory.totals.total_bytes if fit is None else
            training_memory(network, batch_size=batch_size).totals.total_bytes,
            **({"fit_batch": memory.fit.batch_size} if fit else {})}


def test_the_issue_sweep_returns_the_points_under_6g_each_equal_to_a_single_run(capsys):
    code, out, err = run(capsys, "sweep", RESNET50, "--set", "width=32,64,128", "--set", "resolution=160..320:32",
                         "--where", "macs <= 6G", "--format", "csv")
    assert (code, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    expected = []
    for width in (32, 64, 128):
        for resolution in range(160, 321, 32):
            figures = single_run({"width": width, "resolution": resolution})
            if figures["macs"] <= 6 * 10**9:
                expected.append({"width": str(width), "resolution": str(resolution), "valid": "true",
                                 **{key: str(value) for key, value in figures.items()}, "problem": ""})
    assert rows == expected
    # the widths and resolutions that fit: all of width 32, width 64 up to 256, none of width 128
    assert [(row["width"], row["resolution"]) for row in rows] == [
        *(("32", str(r)) for r in range(160, 321, 32)), *(("64", str(r)) for r in range(160, 257, 32))]
    # the defaults are torchvision's ResNet-50 (tests/test_zoo.py)
    assert {"width": "64", "resolution": "224"}.items() <= rows[8].items()
    assert (rows[8]["params"], rows[8]["macs"]) == ("25557032", "4089184256")


@pytest.mark.parametrize("width, resolution", [(32, 288), (64, 256)])
def test_a_row_equals_archcalc_summary_with_the_same_set(capsys, width, resolution):
    point = ["--set", f"width={width}", "--set", f"resolution={resolution}"]
    _, out, _ = run(capsys, "sweep", RESNET50, *point, "--format", "json")
    row = json.loads(out)["rows"][0]
    _, out, _ = run(capsys, "summary", RESNET50, *point, "--format", "json")
    summary = json.loads(out)
    assert row["variables"] == {"width": width, "resolution": resolution}
    assert {key: row[key] for key in ("params", "trainable_params", "macs", "flops")} == \
        {key: summary["totals"][key] for key in ("params", "trainable_params", "macs", "flops")}
    assert (row["output_shape"], row["memory"], row["layers"]) == \
        (summary["output_shape"], summary["memory"]["total_bytes"], len(summary["layers"]))
    _, out, _ = run(capsys, "memory", RESNET50, *point, "--format", "json")
    assert row["training_memory"] == json.loads(out)["totals"]["total_bytes"]


def test_batch_size_and_fit_match_archcalc_memory():
    rows = archcalc.sweep(RESNET50, {"width": [16, 48], "resolution": [96, 224]}, batch_size=8, fit="24GiB")
    for row in rows:
        figures = single_run(row.variables, batch_size=8, fit="24GiB")
        assert {key: getattr(row, key) for key in figures if key != "output_shape"} == \
            {key: value for key, value in figures.items() if key != "output_shape"}
    # torchvision's ResNet-50: the README's `archcalc memory specs/resnet50.yaml --fit 24GiB`
    assert archcalc.sweep(RESNET50, {"width": 64}, fit="24GiB")[0].fit_batch == 295


def test_one_parse_serves_every_point_and_is_never_changed():
    prepared = PreparedSpec(RESNET50)
    options = Options()
    first = prepared.row({"width": 8, "resolution": 64}, options)
    prepared.row({"width": 128, "resolution": 320}, options)
    assert prepared.row({"width": 8, "resolution": 64}, options) == first
    assert prepared.row({}, options).macs == archcalc.load(RESNET50).totals.macs == 4_089_184_256


def test_jobs_give_the_same_rows_in_the_same_order():
    grid = {"width": "0..40:8", "resolution": "32..96:32"}   # width 0: invalid rows, their problems' path too
    rows = archcalc.sweep(RESNET50, grid)
    assert archcalc.sweep(RESNET50, grid, jobs=2) == rows and rows[0].problems[0].path == RESNET50


def test_the_api_takes_text_and_dicts_too():
    text = "variables: {n: 4}\ninput: [8]\nlayers:\n  - {type: linear, out_features: '${n}'}\n"
    assert [row.params for row in archcalc.sweep(text, {"n": [1, 2]})] == [9, 18]
    spec = {"variables": {"n": 4}, "input": [8], "layers": [{"type": "linear", "out_features": "${n}"}]}
    assert [row.params for row in archcalc.sweep(spec, {"n": range(1, 4)}, sort="-params")] == [27, 18, 9]


# --- invalid points, usage errors -----------------------------------------------------------------

def test_an_invalid_point_is_a_row_with_its_problem_never_the_end_of_the_sweep(capsys):
    code, out, err = run(capsys, "sweep", RESNET50, "--set", "width=0,32", "--set", "resolution=224", "--format", "csv")
    assert (code, err) == (0, "")
    invalid, valid = list(csv.DictReader(io.StringIO(out)))
    assert (invalid["valid"], invalid["params"], valid["valid"], valid["params"]) == ("false", "", "true", "6917640")
    assert invalid["problem"] == (f"{RESNET50}:28:37: error: conv2d 'layer1.0.conv1': out_channels: must be at least"
                                  " 1, got 0 (in block 'bottleneck', instance 'layer1.0', used at line 53)")
    code, out, _ = run(capsys, "sweep", RESNET50, "--set", "width=0,32", "--set", "resolution=224")
    assert out.splitlines()[5] == ("    0         224  invalid: 28:37: conv2d 'layer1.0.conv1': out_channels: must be at"
                                   " least 1, got 0 (in block 'bottleneck', instance 'layer1.0', used at line 53)"
                                   " (+52 more)")   # once, across the figure columns
    assert "2 points (2 width × 1 resolution); 1 invalid" in out
    # where, pareto and sort choose among valid points; invalid ones stay listed unless --valid-only
    code, out, _ = run(capsys, "sweep", RESNET50, "--set", "width=0,32,64", "--set", "resolution=224",
                       "--where", "params > 10M", "--format", "csv")
    assert [row["width"] for row in csv.DictReader(io.StringIO(out))] == ["0", "64"]
    code, out, _ = run(capsys, "sweep", RESNET50, "--set", "width=0,32,64", "--set", "resolution=224",
                       "--pareto", "params,macs", "--valid-only", "--format", "csv")
    assert [row["width"] for row in csv.DictReader(io.StringIO(out))] == ["32"]


def test_every_point_invalid_exits_1(capsys):
    code, out, _ = run(capsys, "sweep", RESNET50, "--set", "width=0", "--set", "resolution=224", "--format", "csv")
    assert code == 1 and out.count("\n") == 2


@pytest.mark.parametrize("argv, message", [
    (["--set", "depth=2..8"], "--set: %s: the spec has no variable 'depth' (did you mean 'width'?) (its variables: resolution, width, groups,"
                              " width_per_group, expansion)"),
    (["--set", "widht=32"], "the spec has no variable 'widht' (did you mean 'width'?)"),
    (["--set", "width=8..2"], "--set: '8..2': an empty range"),
    (["--set", "width=1..100000", "--set", "resolution=1..100000"], "--set: '1..100000' makes 100,000 values"),
    (["--set", "width=1..200", "--set", "resolution=1..100"], "the grid has 20,000 points (200 width × 100"
                                                              " resolution), more than the 10,000-point limit"),
    (["--set", "width=32", "--where", "params <"], "--where: column 9: expected a name or a value, got the end"),
    (["--set", "width=32", "--where", "fit_batch > 3"], "--where: column 1: unknown name 'fit_batch'"),
    (["--set", "width=32", "--pareto", "parms"], "--pareto: unknown name 'parms' (did you mean 'params'?)"),
    (["--set", "width=32", "--sort=-mac"], "--sort: unknown name 'mac' (did you mean 'macs'?)"),
    (["--set", "width=32", "--set", "width=64"], "--set: width is given twice"),
    (["--set", "width=32", "--format", "svg", "--x", "output_shape"], "--x: 'output_shape' is not a numeric column"),
    ([], "--set: give at least one variable's values"),
])
def test_usage_errors_name_the_flag(capsys, argv, message):
    code, out, err = run(capsys, "sweep", RESNET50, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("archcalc sweep: error: ") and message.replace("%s", RESNET50) in err, err


def test_max_points_flag_raises_the_limit(capsys):
    code, out, _ = run(capsys, "sweep", RESNET50, "--set", "width=1..3", "--set", "resolution=1..4", "--max-points",
                       "12", "--format", "csv")
    assert code == 0 and out.count("\n") == 13
    code, _, err = run(capsys, "sweep", RESNET50, "--set", "width=1..3", "--set", "resolution=1..4", "--max-points",
                       "11")
    assert code == 2 and "more than the 11-point limit (--max-points)" in err


def test_an_unreadable_spec_exits_1(capsys, write_spec):
    code, out, err = run(capsys, "sweep", str(write_spec("variables: {n: 1}\nlayers: [\n")), "--set", "n=1,2")
    assert (code, out) == (1, "") and ":3:1: error:" in err


# --- formats ---------------------------------------------------------------------------------------

def test_the_format_names_are_the_formatters_and_the_help_says_the_point_limit(capsys):
    assert FORMATS == tuple(SWEEP_FORMATS)
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    assert f"(default {MAX_POINTS})" in " ".join(capsys.readouterr().out.split())


def test_json_keys(capsys):
    code, out, _ = run(capsys, "sweep", RESNET50, "--set", "width=0,64", "--set", "resolution=224", "--fit", "24GiB",
                       "--format", "json")
    document = json.loads(out)
    assert list(document) == ["spec", "grid", "points", "shown", "invalid", "batch_size", "dtype", "optimizer",
                              "device", "fit_budget_bytes", "where", "pareto", "sort", "metrics", "rows"]
    assert (document["grid"], document["points"], document["invalid"], document["fit_budget_bytes"]) == \
        ({"width": [0, 64], "resolution": [224]}, 2, 1, 24 * 2**30)
    invalid, valid = document["rows"]
    assert list(invalid) == ["variables", "valid", "warnings", "problems"]
    assert list(valid) == ["variables", "valid", "params", "trainable_params", "macs", "flops", "layers", "memory",
                           "training_memory", "output_shape", "fit_batch", "warnings", "problems"]
    assert (valid["params"], valid["fit_batch"], valid["output_shape"]) == (25_557_032, 295, [1000])
    assert invalid["problems"][0]["layer"] == "layer1.0.conv1" and invalid["problems"][0]["line"] == 28


def test_a_long_value_is_shortened_in_the_table_and_kept_whole_in_csv(capsys):
    huge = "1" + "0" * 300
    _, out, _ = run(capsys, "sweep", RESNET50, "--set", f"width={huge}", "--set", "resolution=224")
    assert out.splitlines()[5].startswith("1" + "0" * 38 + "…         224  invalid: 48:33: out_channels: expression"
                                          " gives a number too large")
    _, out, _ = run(capsys, "sweep", RESNET50, "--set", f"width={huge}", "--set", "resolution=224", "--format", "csv")
    assert out.splitlines()[1].startswith(f"{huge},224,false,")


def test_table_and_markdown(capsys):
    _, out, _ = run(capsys, "sweep", RESNET50, "--set", "width=32,64", "--set", "resolution=224", "--sort=-params")
    assert out.splitlines()[0] == f"{RESNET50}: 2 points (2 width × 1 resolution); 2 shown (sorted by -params)"
    assert "   64         224  25.56 M  4.09 G  8.18 G  [1000]  384.64 MiB       472.30 MiB" in out
    _, out, _ = run(capsys, "sweep", RESNET50, "--set", "width=32,64", "--set", "resolution=224", "--format", "markdown")
    assert "| width | resolution | params | MACs | FLOPs | output | memory | training memory |" in out
    assert "| 64 | 224 | 25.56 M | 4.09 G | 8.18 G | [1000] | 384.64 MiB | 472.30 MiB |" in out


def test_html_and_svg_scatter_draw_every_point_the_front_and_the_labels(capsys):
    argv = ["sweep", RESNET50, "--set", "width=16,32,64", "--set", "resolution=96,160,224", "--x", "macs", "--y",
            "training_memory"]
    code, svg, _ = run(capsys, *argv, "--format", "svg")
    assert code == 0
    root = ElementTree.fromstring(svg)
    namespace = "{http://www.w3.org/2000/svg}"
    circles = root.findall(f"{namespace}circle")
    assert len(circles) == 9
    labels = [text.text for text in root.findall(f"{namespace}text")]
    assert "width=64 resolution=224" in labels and "macs" in labels and "training_memory (bytes)" in labels
    ticks = [text.text for text in root.findall(f"{namespace}text") if text.get("class") == "chart-tick"]
    assert ticks == ["0", "100 MiB", "200 MiB", "300 MiB", "400 MiB", "500 MiB", "0", "1 G", "2 G", "3 G", "4 G", "5 G"]
    # the front of (macs, training memory), both minimized: the thinnest network at each resolution beats the rest
    front = [circle.find(f"{namespace}title").text.split(":")[0] for circle in circles if circle.get("r") == "4"]
    assert front == ["width=16 resolution=96"]
    code, html, _ = run(capsys, *argv, "--format", "html")
    assert code == 0 and html.startswith("<!DOCTYPE html>") and "<svg" in html and html.count("<tr>") == 10


def test_the_front_follows_the_pareto_directions_when_they_name_the_axes(capsys):
    code, svg, _ = run(capsys, "sweep", RESNET50, "--set", "width=16,32,64", "--set", "resolution=96,160,224",
                       "--x", "macs", "--y", "resolution", "--pareto", "macs,-resolution", "--format", "svg")
    root = ElementTree.fromstring(svg)
    namespace = "{http://www.w3.org/2000/svg}"
    front = [circle.find(f"{namespace}title").text.split(":")[0] for circle in root.findall(f"{namespace}circle")]
    assert front == ["width=16 resolution=96", "width=16 resolution=160", "width=16 resolution=224"]
    assert len(root.find(f"{namespace}polyline").get("points").split()) == 3
    assert "— Pareto front (min macs, max resolution)" in svg


@pytest.mark.parametrize("name, values, labels", [
    # the report's axes (tests/test_report.py): round ticks in the unit of the largest, bytes in binary units
    ("macs", [537_395_200, 5_340_348_416], ["0", "1 G", "2 G", "3 G", "4 G", "5 G", "6 G"]),
    ("training_memory", [39_000_000, 480_000_000], ["0", "100 MiB", "200 MiB", "300 MiB", "400 MiB", "500 MiB"]),
    ("fit_batch", [0, 1100], ["0", "200", "400", "600", "800", "1000", "1200"]),     # a batch size: plain
    ("resolution", [101, 149], ["100", "110", "120", "130", "140", "150"]),
    ("params", [6_918_120, 6_918_120], ["0", "2 M", "4 M", "6 M", "8 M"]),      # one value: an axis from 0
    ("width", [0, 0], ["0", "1"]),
])
def test_scatter_axes(name, values, labels):
    axis = axis_for(name, values, 90, 730)
    assert [axis.label(value) for value in axis.tick_values] == labels
    assert axis.position(axis.tick_values[0]) == 90 and axis.position(axis.tick_values[-1]) == 730


def test_where_numbers_are_exact_fractions():
    assert parse_condition("params <= 0.1K", ROW).tree[3] == ("value", Fraction(100))


def test_the_readme_example_is_what_the_command_prints(capsys, monkeypatch):
    monkeypatch.chdir(REPO)   # the README's path, as printed
    readme = (REPO / "README.md").read_text()
    command = "$ archcalc sweep specs/resnet50.yaml --set width=32,64,128 --set resolution=160..320:32 --where 'macs <= 6G' --sort=-macs --fit 24GiB\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    code, out, _ = run(capsys, "sweep", "specs/resnet50.yaml", "--set", "width=32,64,128", "--set",
                       "resolution=160..320:32", "--where", "macs <= 6G", "--sort=-macs", "--fit", "24GiB")
    assert (code, out) == (0, shown)


def test_text_values_are_escaped_in_every_format(capsys, write_spec):
    spec = str(write_spec("variables: {act: relu}\ninput: [8]\nlayers:\n  - {type: linear, out_features: 4}\n"
                          "  - {type: '${act}'}\n"))
    grid = ["--set", "act=relu,<b>x|y</b>,=cmd"]
    _, html, _ = run(capsys, "sweep", spec, *grid, "--format", "html")
    assert "&lt;b&gt;x|y&lt;/b&gt;" in html and "<b>" not in html
    _, markdown, _ = run(capsys, "sweep", spec, *grid, "--format", "markdown")
    assert "| <b>x\\|y</b> | invalid: 5:5: " in markdown
    _, out, _ = run(capsys, "sweep", spec, *grid, "--format", "csv")
    assert [row["act"] for row in csv.DictReader(io.StringIO(out))] == ["relu", "<b>x|y</b>", "'=cmd"]
    code, out, _ = run(capsys, "sweep", spec, *grid, "--where", "act == 'relu'", "--format", "json")
    assert code == 0 and [row["variables"]["act"] for row in json.loads(out)["rows"]] == ["relu", "<b>x|y</b>", "=cmd"]


def test_in_a_browser_every_label_is_inside_the_chart_and_none_covers_another(capsys, tmp_path, page):
    """Chromium lays the page out: the labels' real boxes (getBBox), not the estimate the layout used."""
    _, html, _ = run(capsys, "sweep", RESNET50, "--set", "width=16..64:16", "--set", "resolution=96..288:64",
                     "--x", "macs", "--y", "training_memory", "--format", "html")
    path = tmp_path / "sweep.html"
    path.write_text(html, encoding="utf-8")
    page.open(path)
    boxes = page.evaluate("""Array.from(document.querySelectorAll('svg text[fill="#333"]')).map(t => {
        const b = t.getBBox(); return [b.x, b.y, b.width, b.height]; })""")
    assert len(boxes) >= 12 and page.evaluate("document.querySelectorAll('svg circle').length") == 16
    for x, y, width, height in boxes:
        assert 0 <= x and x + width <= 760 and 0 <= y and y + height <= 480
    overlapping = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                   if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]]
    assert not overlapping and not page.errors and not page.requests


# --- any text: a value or a usage error, nothing else ------------------------------------------------

WHERE_PIECES = st.sampled_from(["params", "macs", "width", "act", "and", "or", "not", "(", ")", "<", "<=", "==",
                                "!=", ">", "5", "2.5M", "1GiB", "'relu'", "true", "7B", "__import__", ".", ";", " "])
GRID_PIECES = st.sampled_from(["1", "32", "..", ":", ",", "-", "8", "0", "relu", " ", "1e5", ".5", "999999999999"])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(WHERE_PIECES, max_size=12), raw=st.text(max_size=40))
def test_any_condition_is_read_or_refused_with_a_where_error(pieces, raw):
    for text in (" ".join(pieces), raw):
        try:
            condition = parse_condition(text, ROW)
        except WhereError:
            continue
        try:
            assert condition.matches(ROW) in (True, False)
        except WhereError:
            pass


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(GRID_PIECES, max_size=10), raw=st.text(max_size=40))
def test_any_grid_text_is_values_or_a_grid_error_within_the_limit(pieces, raw):
    for text in ("".join(pieces), raw):
        try:
            values = parse_values(text, max_points=1_000)
        except GridError:
            continue
        assert 1 <= len(values) <= 1_000


# --- the layer cache: a point reuses an expansion only where it reads the same values ---------------

# Every way a variable reaches the layers: `${...}` in a field, a derived variable (half), an `if:` (deep),
# a branch of `a if c else b` that is evaluated only when the layer is kept (pick, a, b), a repeat count (n),
# a block parameter's default (kernel); and the input (res), read apart from the layers.
CACHED_SPEC = """\
variables:
  res: 16
  width: 8
  deep: false
  n: 1
  kernel: 3
  pick: true
  a: 4
  b: 6
  half: "${width // 2}"
input: [3, "${res}", "${res}"]
blocks:
  unit:
    params: {c: null, k: "${kernel}"}
    layers:
      - {type: conv2d, out_channels: "${c}", kernel_size: "${k}", padding: "${k // 2}"}
      - {type: relu}
layers:
  - {type: conv2d, out_channels: "${width}", kernel_size: 1, stride: 2}
  - {block: unit, repeat: "${n}", with: {c: "${half}"}}
  - {type: conv2d, out_channels: "${a if pick else b}", kernel_size: 3, padding: 1, if: "${deep}"}
  - {type: maxpool2d, kernel_size: 4}
  - {type: flatten}
  - {type: linear, out_features: 10}
"""
BLOCK_NAMES = {"c", "k"}   # block parameters are read by name too: a spec variable of that name would be keyed


@pytest.mark.parametrize("variables, layers, network_input", [
    ({}, {"width", "half", "n", "kernel", "deep"}, {"res"}),
    ({"deep": True}, {"width", "half", "n", "kernel", "deep", "pick", "a"}, {"res"}),
    ({"deep": True, "pick": False}, {"width", "half", "n", "kernel", "deep", "pick", "b"}, {"res"}),
    ({"half": 3}, {"width", "half", "n", "kernel", "deep"}, {"res"}),   # width is still read: by half's definition
])
def test_expansion_records_the_names_it_read(variables, layers, network_input):
    from archcalc.api import parse
    from archcalc.spec.blocks import expand_recorded

    data = parse(CACHED_SPEC, "<string>")
    _, problems, reads = expand_recorded(data, "<string>", variables)
    assert problems == [] and (reads.layers - BLOCK_NAMES, reads.input) == (layers, network_input)


def uncached_rows(text, grid, options=Options()):
    """The rows as a sweep without the cache makes them: `build` for every point."""
    from archcalc.api import build
    from archcalc.sweeps.engine import measure
    from archcalc.problems import SpecError
    from archcalc.sweeps.grid import points

    prepared = PreparedSpec(text, path="cached.yaml")
    rows = []
    for point in points(as_grid(grid)):
        try:
            rows.append(measure(build(prepared.data, prepared.path, point, prepared.limits), point, options))
        except SpecError as error:
            rows.append(Row(variables=point, problems=tuple(error.problems)))
    return rows


def cached_rows(text, grid, options=Options()):
    from archcalc.sweeps.engine import run as run_points

    prepared = PreparedSpec(text, path="cached.yaml")
    return run_points(prepared, as_grid(grid), options), prepared.layers.hits


@pytest.mark.parametrize("grid, hits", [
    ({"res": [4, 8, 9, 16, 32]}, 4),                          # the input only: one expansion, four reuses
    ({"width": [4, 8], "res": [8, 16]}, 2),
    ({"deep": [False, True], "a": [1, 4], "res": [8, 16]}, 5),  # a is read only when deep: 3 expansions of 8
    ({"deep": [True], "pick": [False], "a": [1, 4, 9]}, 2),   # a is never read when pick is false
    ({"kernel": [0, 1, 3], "res": [8, 16]}, 2),                # kernel 0 is invalid: never kept, built each time
    ({"n": [0, 2], "res": [8, 16]}, 1),                        # repeat 0 is an expansion error: never kept
    ({"half": [1, 3], "width": [2, 6]}, 0),                    # a derived variable set: 4 layer lists
    ({"deep": [False, 0, True, 1]}, 0),                        # equal as keys (0 == False), not as values
])
def test_cached_rows_are_the_rows_of_a_sweep_without_the_cache(grid, hits):
    rows, reused = cached_rows(CACHED_SPEC, grid)
    assert rows == uncached_rows(CACHED_SPEC, grid) and reused == hits
    assert [row.to_dict() for row in rows] == [row.to_dict() for row in uncached_rows(CACHED_SPEC, grid)]


def test_reused_layers_keep_each_points_warnings_and_input_problems():
    rows, reused = cached_rows(CACHED_SPEC, {"res": [16, 9, 4, "x"]})
    assert reused == 2 and rows == uncached_rows(CACHED_SPEC, {"res": [16, 9, 4, "x"]})
    assert [[warning.code for warning in row.warnings] for row in rows[:2]] == [
        ["skipped-input"], ["skipped-input", "stride-tiling"]]
    assert "pooling window spans 4" in rows[2].problems[0].message and not rows[3].valid   # a text resolution


CACHED_DOMAINS = {"res": [4, 8, 9, 16, "x"], "width": [0, 2, 8], "deep": [False, True, 0, 1], "n": [0, 1, 2],
                  "kernel": [0, 1, 3], "pick": [True, False], "a": [1, 4, 1.0], "b": [2, 6], "half": [1, 3]}


@st.composite
def small_grids(draw):
    names = draw(st.lists(st.sampled_from(sorted(CACHED_DOMAINS)), min_size=1, max_size=4, unique=True))
    return {name: draw(st.lists(st.sampled_from(CACHED_DOMAINS[name]), min_size=1, max_size=3, unique_by=repr))
            for name in names}


@settings(max_examples=150, deadline=None)
@given(small_grids())
def test_any_small_grid_gives_the_rows_of_a_sweep_without_the_cache(grid):
    rows, _ = cached_rows(CACHED_SPEC, grid, Options(fit=10**6))
    assert rows == uncached_rows(CACHED_SPEC, grid, Options(fit=10**6))


def test_the_cache_holds_a_bounded_number_of_layers_and_an_evicted_entry_is_built_again(monkeypatch):
    from archcalc.sweeps import engine

    monkeypatch.setattr(engine, "MAX_CACHED_LAYERS", 12)   # CACHED_SPEC's default point: 6 layers
    grid = {"width": [2, 4, 8], "res": [8, 16]}
    rows, reused = cached_rows(CACHED_SPEC, grid)
    assert rows == uncached_rows(CACHED_SPEC, grid) and reused == 3
    prepared = PreparedSpec(CACHED_SPEC)
    for width in (2, 4, 8, 2):   # width 2 is evicted by width 8: built again, and reuse is counted only on hits
        prepared.row({"width": width}, Options())
    assert (prepared.layers.hits, prepared.layers.held, len(prepared.layers.used)) == (0, 12, 2)
    prepared.row({"width": 2}, Options())
    assert prepared.layers.hits == 1
