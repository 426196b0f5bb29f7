"""The type table in archcalc.layers agrees with the family modules, and every type builds."""

from importlib import import_module

import pytest

from archcalc.layers import FAMILIES, TYPE_NAMES, layer_class, type_tag
from archcalc.spec.model import spec_model

CONTRACT_TYPES = (
    "conv1d conv2d conv3d convtranspose2d linear batchnorm1d batchnorm2d layernorm maxpool2d avgpool2d"
    " adaptiveavgpool2d flatten dropout identity relu relu6 leakyrelu gelu silu sigmoid tanh hardswish"
    " hardsigmoid softmax add mul concat").split()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_table_matches_module(family):
    assert set(FAMILIES[family]) == set(import_module(f"archcalc.layers.{family}").LAYERS)


@pytest.mark.parametrize("tag", TYPE_NAMES)
def test_every_type_builds_with_its_own_tag(tag):
    assert type_tag(layer_class(tag)) == tag


def test_full_schema_model_builds():
    schema = spec_model().model_json_schema()
    assert schema["properties"]["layers"]["items"]["discriminator"]["propertyName"] == "type"


def test_contract_types_are_known():
    assert sorted(set(CONTRACT_TYPES) - set(TYPE_NAMES)) == []
