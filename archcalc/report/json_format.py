"""JSON output (contract §4): one object, one layer per line.

Each piece is encoded by the C encoder (json.dumps without indent); `indent=` would switch the
whole document to the pure-Python encoder, several times slower on 100,000-layer specs.
"""

from __future__ import annotations

from ..network import Summary


def render(summary: Summary) -> str:
    import json  # here, not at import: the other formats never need it

    document = summary.to_dict()
    layers = ",\n    ".join(map(json.dumps, document.pop("layers")))
    fields = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in document.items()]
    fields.insert(3, f'  "layers": [\n    {layers}\n  ]')
    return "{\n" + ",\n".join(fields) + "\n}\n"


__all__ = ["render"]
