"""Bridges between archcalc specs and other representations of a model.

* `spec_writer`: a readable spec (blocks, `repeat`, `first:`) from a flat list of layers — shared by the
  importers;
* `torch_import`: a spec from a PyTorch module, traced with torch.fx (`archcalc import torch`);
* `export_import`: the same from torch.export's ATen graph where torch.fx cannot trace (Hugging Face's
  GPT-2 and LLaMA); `import_torch_model` tries torch.fx first;
* `pytorch_export`: a PyTorch module's source code from a spec (`archcalc export --to pytorch`);
* `onnx_import`: a spec from an ONNX model (`archcalc import onnx`), each node mapped by the layer family
  whose type stands for it (`ONNX_OPERATORS` in archcalc/layers/<family>.py).

torch and onnx are imported lazily, inside the functions that need it; without it they raise `MissingDependency`
naming what to install.
"""

from __future__ import annotations


class MissingDependency(RuntimeError):
    """An optional package a bridge needs is not installed; the message says what to install."""


class ImportFailure(RuntimeError):
    """A model could not be turned into a spec; the message says why (every unmapped op, its line)."""


__all__ = ["ImportFailure", "MissingDependency"]
