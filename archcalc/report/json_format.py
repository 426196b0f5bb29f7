"""JSON output (contract §4)."""

from __future__ import annotations

import json

from ..results import Summary


def render(summary: Summary) -> str:
    return json.dumps(summary.to_dict(), indent=2) + "\n"


__all__ = ["render"]
