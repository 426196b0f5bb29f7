"""The registry: families are discovered from their modules, every type builds and answers every pass,
and a layer type is named in its family module only."""

import inspect
import re
from pathlib import Path

import pytest

from archcalc.analysis.conventions import CONVENTIONS
from archcalc.layers import FAMILIES, TYPE_NAMES, family_module, layer_class, synonyms, type_tag
from archcalc.spec.model import spec_model

PACKAGE = Path(__file__).resolve().parent.parent / "archcalc"
CONTRACT_TYPES = (
    "conv1d conv2d conv3d convtranspose2d linear batchnorm1d batchnorm2d layernorm maxpool2d avgpool2d"
    " adaptiveavgpool2d flatten dropout identity relu relu6 leakyrelu gelu silu sigmoid tanh hardswish"
    " hardsigmoid softmax add mul concat").split()
RULE_NAMES = {name for convention in CONVENTIONS.values() if convention.rules is not None
              for name in ((convention.rules,) if isinstance(convention.rules, str) else convention.rules)}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_index_read_from_source_equals_the_imported_table(family):
    assert tuple(family_module(family).LAYERS) == FAMILIES[family]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_module_documents_each_of_its_types(family):
    module = family_module(family)
    assert module.TITLE and isinstance(module.ORDER, int)
    for table in ("EXAMPLES", "MEMORY_FACTS", "MEMORY_CASES"):
        assert sorted(getattr(module, table)) == sorted(FAMILIES[family]), table


@pytest.mark.parametrize("tag", TYPE_NAMES)
def test_every_type_builds_and_answers_every_pass(tag):
    layer = layer_class(tag)
    assert type_tag(layer) == tag
    assert layer.pytorch.startswith(("torch.nn.", "torch.")), "the PyTorch class or function it stands for"
    assert layer.convention_row, "its row in docs/conventions.md"
    assert set(layer.counting) <= RULE_NAMES, f"rules under unknown conventions: {set(layer.counting) - RULE_NAMES}"
    assert layer.default_call in ("module", "function", "operator")
    # propagation keys a layer's outcome on the fields after these three (archcalc.analysis.propagate), so
    # the rules it keeps read neither a layer's name nor its input names
    assert list(layer.model_fields)[:3] == ["type", "name", "inputs"]
    for rule in ("evaluate", "check_inputs", "output_dtype"):
        source = inspect.getsource(getattr(layer, rule))
        assert "self.name" not in source and "self.inputs" not in source, f"{tag}.{rule} reads a name"


def test_synonyms_point_at_known_types():
    assert set(synonyms().values()) <= set(TYPE_NAMES)
    assert not set(synonyms()) & set(TYPE_NAMES)


def test_full_schema_model_builds():
    schema = spec_model().model_json_schema()
    assert schema["properties"]["layers"]["items"]["discriminator"]["propertyName"] == "type"


def test_contract_types_are_known():
    assert sorted(set(CONTRACT_TYPES) - set(TYPE_NAMES)) == []


def test_a_type_is_named_in_its_family_module_only():
    """`grep` for a layer type's name across archcalc/ finds it in its family module only (as a quoted
    tag); the vocabulary modules and every pass reach types through the registry."""
    sources = {path: path.read_text() for path in PACKAGE.rglob("*.py")}
    misplaced = []
    for family, tags in FAMILIES.items():
        home = PACKAGE / "layers" / f"{family}.py"
        for tag in tags:
            pattern = re.compile(rf"""["']{re.escape(tag)}["']""")
            misplaced += [f"{tag!r} in {path.relative_to(PACKAGE)}" for path, text in sources.items()
                          if path != home and pattern.search(text)]
    assert not misplaced, "\n".join(misplaced)



def test_modules_that_define_pydantic_models_keep_annotations_evaluated():
    """pydantic evaluates a model's string annotations, and its bases' again for every subclass (a compile()
    each), when the class is made: a module that defines models (every family, base.py, the spec models)
    leaves out `from __future__ import annotations`, which made a LeNet-5 run pay several milliseconds."""
    from importlib import import_module

    from pydantic import BaseModel

    modules = [family_module(family) for family in FAMILIES]
    modules += [import_module(f"archcalc.{name}") for name in ("layers.base", "spec.model", "spec.budgets")]
    defining = [module for module in modules if any(
        isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__
        for value in vars(module).values())]
    assert len(defining) == len(modules)
    postponed = [module.__name__ for module in defining
                 if re.search(r"^from __future__ import annotations", Path(module.__file__).read_text(), re.MULTILINE)]
    assert postponed == []

def test_the_readme_lists_every_layer_type():
    from archcalc.report.formula_reference import render_type_table

    readme = (PACKAGE.parent / "README.md").read_text()
    assert render_type_table() in readme, "regenerate the README's layer table: render_type_table()"


def test_every_family_has_its_own_place_in_the_references():
    orders = [family_module(family).ORDER for family in FAMILIES]
    assert len(set(orders)) == len(orders), "two families share an ORDER: their place would depend on their names"
