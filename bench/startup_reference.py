"""The start-up reference of issue #19: what a pydantic program of archcalc's shape costs, and nothing more.

    python bench/startup_reference.py [SPEC]        # default specs/lenet5.yaml

A throwaway schema built the way archcalc's is: 30 layer models (a `type` literal each, a few integer,
per-axis, flag and optional fields on a shared base with eight fields) in a discriminated union, a spec
model holding a name, an input shape and the list of layers; the spec file is read with PyYAML's C
loader and validated once, and the number of layers printed. No archcalc module is imported. Its whole
process, timed by bench/run.py beside the floor (`import yaml; from pydantic import BaseModel`), is
what pydantic itself costs a validating program: archcalc's start-up beyond it is archcalc's own.
"""

import sys
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field

PerAxis = Union[int, tuple[int, ...]]


class Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    inputs: list[str] | None = None
    share: str | None = None
    trainable: bool = True
    expect_output_shape: list[int] | None = None
    call: Literal["module", "function", "operator"] | None = None
    ignore: list[str] | None = None


def layer_model(type_name: str, fields: dict) -> type[BaseModel]:
    """A model named after `type_name` with a `type` literal and `fields` (name → (annotation, default))."""
    annotations = {"type": Literal[type_name]}
    namespace = {"__annotations__": annotations}
    for field_name, (annotation, default) in fields.items():
        annotations[field_name] = annotation
        if default is not ...:
            namespace[field_name] = default
    return type(type_name.capitalize(), (Base,), namespace)


CONV = {"out_channels": (int, ...), "in_channels": (int | None, None), "kernel_size": (PerAxis, ...),
        "stride": (PerAxis, 1), "padding": (PerAxis | str, 0), "dilation": (PerAxis, 1), "groups": (int, 1),
        "bias": (bool, True)}
POOL = {"kernel_size": (PerAxis, ...), "stride": (PerAxis | None, None), "padding": (PerAxis, 0),
        "ceil_mode": (bool, False)}
NORM = {"num_features": (int | None, None), "eps": (float, 1e-5), "affine": (bool, True)}
LINEAR = {"out_features": (int, ...), "in_features": (int | None, None), "bias": (bool, True)}
NONE: dict = {}

FAMILIES = {
    "conv1d": CONV, "conv2d": CONV, "conv3d": CONV, "convtranspose2d": CONV,
    "maxpool1d": POOL, "maxpool2d": POOL, "avgpool2d": POOL, "adaptiveavgpool2d": {"output_size": (PerAxis, ...)},
    "batchnorm1d": NORM, "batchnorm2d": NORM, "layernorm": NORM, "groupnorm": {"num_groups": (int, ...), **NORM},
    "linear": LINEAR, "bilinear": LINEAR, "embedding": {"num_embeddings": (int, ...), "embedding_dim": (int, ...)},
    "relu": NONE, "gelu": {"approximate": (str, "none")}, "silu": NONE, "sigmoid": NONE, "tanh": NONE,
    "softmax": {"dim": (int, -1)}, "dropout": {"p": (float, 0.5)}, "identity": NONE,
    "flatten": {"start_dim": (int, 1), "end_dim": (int, -1)}, "reshape": {"shape": (list[int], ...)},
    "add": NONE, "mul": NONE, "concat": {"dim": (int, 0)},
    "lstm": {"hidden_size": (int, ...), "num_layers": (int, 1), "bidirectional": (bool, False)},
    "multiheadattention": {"embed_dim": (int | None, None), "num_heads": (int, ...)},
}
assert len(FAMILIES) == 30
LAYERS = [layer_model(type_name, fields) for type_name, fields in FAMILIES.items()]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    input: list[int]
    layers: list[Annotated[Union[tuple(LAYERS)], Field(discriminator="type")]]


def main(path: str) -> int:
    with open(path, encoding="utf-8") as stream:
        data = yaml.load(stream, Loader=yaml.CSafeLoader)
    spec = Spec.model_validate(data)
    print(f"{spec.name}: {len(spec.layers)} layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "specs/lenet5.yaml"))
