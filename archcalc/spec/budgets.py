"""The `expect:` section of a spec: budgets and expectations it declares about itself (checked by
`archcalc.analysis.budgets`).

    expect:
      max_params: 25.6M              # K M G T = 10^3 … 10^12; a plain integer works too
      max_trainable_params: 10M
      max_macs: 4.1G
      max_activation_memory: 512MB   # KB MB GB = 10^3, 10^6, 10^9 bytes; KiB MiB GiB = 2^10, 2^20, 2^30
      batch_size: 32                 # for max_activation_memory (default 1)
      dtype: float16                 # for max_activation_memory (default float32)
      output_shape: [1000]
    layers:
      - {name: stem, type: conv2d, ..., expect_output_shape: [64, 112, 112]}

`max_activation_memory` bounds torchsummary's forward/backward figure: every layer's output,
twice (value and gradient), at that batch size and dtype.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from ..layers.base import INT64_MAX, Count, describe

COUNT_SUFFIXES = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "T": 10**12}
BYTE_SUFFIXES = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
                 "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_amount(raw: Any, suffixes: dict[str, int], what: str) -> int:
    """25.6M → 25600000; 512MiB → 536870912. Exact: the result must be a whole number."""
    if isinstance(raw, bool):
        raise ValueError(f"expected a {what}, got {describe(raw)}")
    if isinstance(raw, int):
        number, unit = Decimal(raw), ""
    elif isinstance(raw, float):
        number, unit = Decimal(str(raw)), ""
    elif isinstance(raw, str) and (match := _NUMBER.match(raw)):
        number, unit = Decimal(match.group(1)), match.group(2)
    else:
        raise ValueError(f"expected a {what} such as {'25.6M' if suffixes is COUNT_SUFFIXES else '512MiB'},"
                         f" got {describe(raw)}")
    if unit not in suffixes:
        raise ValueError(f"unknown unit {unit!r}; use one of {', '.join(sorted(filter(None, suffixes)))}")
    try:
        value = number * suffixes[unit]
    except InvalidOperation:  # pragma: no cover - Decimal of a matched literal cannot fail
        raise ValueError(f"cannot read {raw!r}") from None
    if value != value.to_integral_value():
        raise ValueError(f"{raw} is not a whole number ({value})")
    if not 0 <= value <= INT64_MAX:
        raise ValueError(f"{raw} is outside 0 … {INT64_MAX:,}")
    return int(value)


def _count(raw: Any) -> int:
    return parse_amount(raw, COUNT_SUFFIXES, "count")


def _bytes(raw: Any) -> int:
    return parse_amount(raw, BYTE_SUFFIXES, "size in bytes")


_amount_schema = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*[A-Za-z]*\s*$"}]}
CountBudget = Annotated[int, PlainValidator(_count), WithJsonSchema(_amount_schema)]
ByteBudget = Annotated[int, PlainValidator(_bytes), WithJsonSchema(_amount_schema)]


class Expect(BaseModel):
    """Budgets and expectations (`expect:`), checked by `archcalc check`."""

    model_config = ConfigDict(extra="forbid", defer_build=True, frozen=True)

    max_params: CountBudget | None = Field(default=None, description="At most this many parameters (25.6M).")
    max_trainable_params: CountBudget | None = None
    max_macs: CountBudget | None = Field(default=None, description="At most this many MACs per sample (4.1G).")
    max_activation_memory: ByteBudget | None = Field(
        default=None, description="torchsummary's forward/backward bytes at batch_size and dtype (512MB, 2GiB).")
    batch_size: Count = 1
    dtype: Literal["float32", "float16", "bfloat16", "int8"] = "float32"
    output_shape: list[Count] | None = Field(default=None, description="The network's per-sample output shape.")


__all__ = ["BYTE_SUFFIXES", "COUNT_SUFFIXES", "ByteBudget", "CountBudget", "Expect", "parse_amount"]
