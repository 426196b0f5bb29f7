"""Recurrent layers: lstm, gru, rnn (torch.nn.LSTM, GRU, RNN) over a sequence [L, H_in] per sample.

G gates (lstm 4, gru 3, rnn 1), hidden size H, D directions (2 when bidirectional), H_r = proj_size P when
set (lstm only), else H; layer 1 reads H_in, every later layer D·H_r. Outputs, as PyTorch orders them:
    output [L, D·H_r],  h_n [D·num_layers, H_r],  c_n [D·num_layers, H] (lstm only)
(h_n and c_n have PyTorch's batch axis, dim 1 there, removed; `batch_first` changes no count.)
Parameters per layer and direction, exactly PyTorch's tensors:
    weight_ih G·H × H_in,l   weight_hh G·H × H_r   bias_ih, bias_hh G·H each (bias)   weight_hr P × H (proj)
MACs per time step, layer and direction: G·H·(H_in,l + H_r) + H·P (projection), times L (contract §6; the
element-wise gate arithmetic is not MACs). FlopCounterMode counts this with oneDNN off on CPU.
"""

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..formula import Bind, Number
from ..problems import LayerError
from .autograd import BATCH, NEW, NOTHING, Backward, Context, Kept
from .base import END, Count, Flag, Layer, Outcome, Real, Shape, Size, declared_matches
from .counting import Rule, View, batch_macs

# (split strings: dropout, tanh and relu are also layer types, which tests/test_registry.py looks for as quoted
# words outside their family modules)
NONLINEARITIES = tuple("tanh relu".split())
DROPOUT = "dropout between layers".split()[0]


class _Recurrent(Layer):
    """torch.nn.LSTM / GRU / RNN: `gates` gate blocks per layer and direction."""

    gates: ClassVar[int]
    input_size: Count | None = Field(default=None, description="Optional; must equal the input's last axis.")
    hidden_size: Count
    num_layers: Count = 1
    bias: Flag = True
    batch_first: Flag = Field(default=False, description="Accepted; changes no count (per sample the sequence is"
                              " [L, H_in] either way).")
    dropout: Real = Field(default=0.0, description="Between layers (not after the last), in training.")
    bidirectional: Flag = False

    def _proj(self) -> int:
        return 0

    def _check(self, shape: Shape) -> None:
        if len(shape) != 2:
            raise LayerError(f"{self.type} expects a sequence [L, H_in] per sample (PyTorch: [N, L, H_in] with"
                             f" batch_first), got shape {list(shape)}", code="rank")
        declared_matches("input_size", self.input_size, shape[-1], "feature count (last axis)")
        if not 0 <= self.dropout <= 1:
            raise LayerError(f"dropout must be between 0 and 1, got {self.dropout:g}", key=DROPOUT, code="argument")

    def _outputs(self, length: Number, directions: Number, layers: Number, h_r: Number, hidden: Number) -> list:
        return [[length, directions * h_r], [directions * layers, h_r]]

    def evaluate(self, inputs: list[Shape], bind: Bind) -> Outcome:
        shape = inputs[0]
        self._check(shape)
        length, h_in = bind("L", shape[0]), bind("H_in", shape[1])
        hidden, gates = bind("H", self.hidden_size), bind("G", self.gates)
        directions = bind("D", 2 if self.bidirectional else 1)
        proj = bind("P", self._proj()) if self._proj() else None
        h_r = proj if proj is not None else hidden

        def per_direction(reads: Number) -> tuple[Number, Number]:
            """(parameters, MACs per time step) of one layer and direction reading `reads` features."""
            weights = gates * hidden * (reads + h_r)
            params = weights + 2 * gates * hidden if self.bias else weights
            macs = weights
            if proj is not None:
                params, macs = params + proj * hidden, macs + hidden * proj
            return params, macs

        params, step = per_direction(h_in)
        params, macs = directions * params, length * directions * step
        if self.num_layers > 1:
            upper = bind("layers", self.num_layers) - 1
            params_up, step_up = per_direction(directions * h_r)
            params, macs = params + upper * directions * params_up, macs + length * upper * directions * step_up
        layers = bind("layers", self.num_layers)
        output, *more = self._outputs(length, directions, layers, h_r, hidden)
        warnings = []
        if self.dropout > 0 and self.num_layers == 1:
            warnings.append((f"dropout {self.dropout:g} with num_layers 1 does nothing: PyTorch applies it between"
                             " layers only (it warns too)", DROPOUT, "dropout-unused"))
        return Outcome(shape=output, params=params, macs=macs, axes=("L", "F"), layout=END, warnings=warnings,
                       more_outputs=more)

    def notes(self, inputs: list[Shape]) -> list[str]:
        kind = {4: "input, forget, cell and output gates", 3: "reset, update and new gates", 1: "one tanh or relu"
                " step"}[self.gates]
        notes = [f"G = {self.gates} ({kind}); each layer and direction holds weight_ih, weight_hh"
                 + (", bias_ih and bias_hh" if self.bias else " (bias: false)")
                 + (" and weight_hr (the projection P × H)" if self._proj() else ""),
                 "MACs: G·H·(H_in + H_r) per time step, layer and direction (+ H·P for the projection); the gates'"
                 " element-wise arithmetic is not counted"]
        if self.num_layers > 1:
            notes.append("layers 2 … num_layers read the D·H_r features of the layer below")
        notes.append("outputs: output (0), h_n (1)" + (", c_n (2)" if self.gates == 4 else "")
                     + "; h_n and c_n per sample are [D·num_layers, H], PyTorch's batch axis (dim 1) removed")
        return notes

    def saved(self, context: Context) -> Backward:
        """The unfused path (GRU and RNN on CPU; LSTM with proj_size, or with oneDNN off), measured at batch 2 and
        3 with batch_first: per layer and direction, per time step, LSTM/GRU keep 7·H (+ P) elements when the
        weights are trainable (gates, states and h_{t-1} for the weight gradients) and 6·H when frozen; RNN keeps
        its step outputs H (and, trainable, the zero h_0). Trainable layers keep their input: layer 1 one copy
        per direction ([N, L, H_in] made contiguous), each later layer the stacked output of the one below;
        dropout between layers keeps a mask of that size. Not modelled: when layer 1's input is itself a
        batch_first recurrent layer's output (a transposed view of a contiguous [L, N, ·] tensor), PyTorch keeps
        that storage once instead of the copies; at batch 1 the input is a view, not a copy."""
        if not context.needs_grad:
            return NOTHING
        length, h_in = context.inputs[0]
        hidden, proj, trainable = self.hidden_size, self._proj(), context.trainable
        directions = 2 if self.bidirectional else 1
        h_r = proj or hidden
        if self.gates == 1:
            per_step = hidden
        else:
            per_step = (7 * hidden + proj) if trainable else 6 * hidden
        kept = []
        for layer in range(1, self.num_layers + 1):
            reads = h_in if layer == 1 else directions * h_r
            if trainable:
                copies = directions if layer == 1 else 1
                for copy in range(copies):
                    label = f"copy {copy + 1}" if copies > 1 else "copy" if layer == 1 else "output below"
                    kept.append(Kept(f"layer {layer} input ({label})", NEW, (BATCH, length, reads)))
            if layer > 1 and self.dropout > 0:
                kept.append(Kept(f"dropout mask before layer {layer}", NEW, (BATCH, length, directions * h_r)))
            for direction in range(directions):
                where = f"layer {layer}" + (f" {'forward' if direction == 0 else 'reverse'}" if directions > 1 else "")
                kept.append(Kept(f"{where} time steps", NEW, (BATCH, length, per_step)))
        if self.gates == 1 and trainable:
            kept.append(Kept("h_0 (zeros)", NEW, (BATCH, directions * self.num_layers, hidden)))
        notes: tuple[str, ...] = ()
        if context.device == "cuda":
            notes = ("on CUDA, cuDNN's fused kernels keep a reserve space instead, whose size cuDNN decides: not"
                     " modelled; these are the tensors of PyTorch's unfused CPU path",)
        elif self.gates == 4 and not proj:
            notes = ("with oneDNN on (PyTorch's CPU default for float32 LSTM without proj_size) the fused kernel keeps"
                     " an opaque oneDNN workspace instead (measured: 28,672 B for L = 5, H = 4): not modelled; these"
                     " are the unfused path's tensors (torch.backends.mkldnn.flags(enabled=False))",)
        return Backward(tuple(kept), notes=notes)

    def parameter_tensors(self) -> int:
        per_direction = 2 + 2 * self.bias + (self._proj() > 0)
        return per_direction * self.num_layers * (2 if self.bidirectional else 1)


class LSTM(_Recurrent):
    """torch.nn.LSTM."""

    type: Literal["lstm"]
    proj_size: Size = Field(default=0, description="0: none; else h is projected to P < hidden_size features.")
    gates = 4

    def _proj(self) -> int:
        return self.proj_size

    def _check(self, shape: Shape) -> None:
        super()._check(shape)
        if self.proj_size >= self.hidden_size:
            raise LayerError(f"proj_size ({self.proj_size:,}) has to be smaller than hidden_size"
                             f" ({self.hidden_size:,})", key="proj_size", code="argument")

    def _outputs(self, length: Number, directions: Number, layers: Number, h_r: Number, hidden: Number) -> list:
        return [*super()._outputs(length, directions, layers, h_r, hidden), [directions * layers, hidden]]


class GRU(_Recurrent):
    """torch.nn.GRU."""

    type: Literal["gru"]
    gates = 3


class RNN(_Recurrent):
    """torch.nn.RNN (Elman)."""

    type: Literal["rnn"]
    nonlinearity: Literal[NONLINEARITIES] = NONLINEARITIES[0]  # type: ignore[valid-type]
    gates = 1


# ---------------------------------------------------------------------------------------------- counting conventions
# (archcalc.layers.counting; measured against the real tools, docs/conventions.md)

# Element-wise work per hidden unit and time step that the hook-based tools add (measured, 1 layer and 2
# bidirectional layers, with and without bias): ptflops' and thop's RNN hooks.
_PTFLOPS_CELL = {4: 10, 3: 7, 1: 1}
_THOP_CELL = {4: 8, 3: 7, 1: 1}


def _hook_count(v: View, cell: dict[int, int], recurrent_width: int, upper_width: int) -> int:
    """L·Σ over layers and directions of G·H·(H_in + W_r) + bias·2·G·H + e·H, per sample: the RNN hooks'
    formula, with the tool's width W_r of h_{t-1} and H_in of the layers above the first."""
    spec = v.spec
    length, h_in = v.layer.input_shapes[0]
    hidden, gates, directions = spec.hidden_size, spec.gates, 2 if spec.bidirectional else 1
    total = 0
    for layer in range(spec.num_layers):
        reads = h_in if layer == 0 else upper_width
        total += directions * (gates * hidden * (reads + recurrent_width) + spec.bias * 2 * gates * hidden
                               + cell[gates] * hidden)
    return length * total


def _ptflops_recurrent(v: View) -> dict[str, int]:
    """ptflops' RNN hooks (pytorch_ops.py): one sample; the projection's MACs are not counted, h_{t-1} is P wide."""
    spec = v.spec
    width = spec._proj() or spec.hidden_size
    directions = 2 if spec.bidirectional else 1
    return {"recurrent": _hook_count(v, _PTFLOPS_CELL, width, directions * width)}


def _thop_recurrent(v: View) -> dict[str, int]:
    """thop's RNN hooks (rnn_hooks.py): the whole batch; proj_size is ignored (h_{t-1} counted H wide)."""
    spec = v.spec
    directions = 2 if spec.bidirectional else 1
    return {"recurrent": v.N * _hook_count(v, _THOP_CELL, spec.hidden_size, directions * spec.hidden_size)}


_CALFLOPS_CELL = {4: 10, 3: 7, 1: 1}


def _calflops_recurrent(v: View) -> dict[str, int]:
    """calflops' _rnn_forward_hook (pytorch_ops.py): per layer 2·G·H·(in + H_r) − 2·G·H from weight_ih_l{i} and
    weight_hh_l{i}'s shapes, + bias_ih + bias_hh, + e·H (_rnn_flops), times batch·sequence (input.shape[0]·[1]) and
    times 2 when bidirectional; weight_hr (the projection) is not counted."""
    spec = v.spec
    length, h_in = v.layer.input_shapes[0]
    hidden, gates, directions = spec.hidden_size, spec.gates, 2 if spec.bidirectional else 1
    width = spec._proj() or hidden
    total = 0
    for layer in range(spec.num_layers):
        reads = h_in if layer == 0 else directions * width
        total += (2 * gates * hidden * (reads + width) - 2 * gates * hidden + spec.bias * 2 * gates * hidden
                  + _CALFLOPS_CELL[gates] * hidden)
    return {"recurrent": v.N * length * directions * total}


def _ptflops_aten_recurrent(v: View) -> dict[str, int]:
    """ptflops' aten backend sees the unfused path's aten.addmm / aten.mm: per layer and direction the input
    projection over the sequence (its bias only when that [L, N, in] input is contiguous: layer 1 with batch_first
    at N = 1 or L = 1, every later layer), per time step h_{t-1} @ weight_hh with its bias (addmm), and the
    projection (mm). An LSTM without proj_size runs the fused oneDNN kernel on CPU, which it does not count."""
    spec = v.spec
    if spec.gates == 4 and not spec._proj():
        return {}
    length, h_in = v.layer.input_shapes[0]
    n, hidden, gates, directions = v.N, spec.hidden_size, spec.gates, 2 if spec.bidirectional else 1
    proj = spec._proj()
    width = proj or hidden
    total = 0
    for layer in range(spec.num_layers):
        reads = h_in if layer == 0 else directions * width
        contiguous = layer > 0 or not spec.batch_first or n == 1 or length == 1
        per_direction = n * length * gates * hidden * (reads + width) + n * length * hidden * proj
        per_direction += spec.bias * n * length * gates * hidden * (1 + contiguous)
        total += directions * per_direction
    return {"recurrent": total}


for _class, _name in ((LSTM, "LSTM"), (GRU, "GRU"), (RNN, "RNN")):
    _class.pytorch = f"torch.nn.{_name}"
    _class.inferred_argument = ("input_size", -1)
    _class.convention_row = "recurrent"
    _class.module_only = True
    _class.counting = {
        "pytorch": Rule("N·M (FlopCounterMode with oneDNN off; with oneDNN on, the CPU default, it counts 0 for an"
                        " LSTM without proj_size)", batch_macs("recurrent")),
        "fvcore": Rule("0 (aten::lstm, aten::gru, aten::rnn_tanh / rnn_relu are unsupported ops)", lambda v: {}),
        "ptflops": Rule("L·Σ_layers,directions (G·H·(H_in + H_r) + bias·2·G·H + e·H), one sample; e = 10 lstm, 7 gru,"
                        " 1 rnn; the projection's H·P not counted", _ptflops_recurrent),
        "ptflops-aten": Rule("lstm without proj_size: 0 (CPU's fused oneDNN kernel); else Σ_layers,directions N·L·(G·H·(H_in"
                             " + H_r) + H·P + bias·G·H·(1 + c)), c = 1 when the layer's input is contiguous (layers"
                             " 2 …, batch_first false, or N = 1 or L = 1), else 0 (layer 1's input projection is"
                             " then aten.mm, without its bias)", _ptflops_aten_recurrent),
        "thop": Rule("N·L·Σ_layers,directions (G·H·(H_in + H) + bias·2·G·H + e·H); e = 8 lstm, 7 gru, 1 rnn;"
                     " proj_size ignored", _thop_recurrent),
        "torchinfo": Rule("N·L·params (every weight_* and bias_* times the first two output sizes)",
                          lambda v: {"recurrent": v.N * v.layer.input_shapes[0][0] * v.params}),
        "calflops": Rule("N·L·D·Σ_layers (2·G·H·(H_in + H_r) − 2·G·H + bias·2·G·H + e·H), e = 10 lstm, 7 gru, 1 rnn;"
                         " the projection's H·P not counted (its module hook, _rnn_forward_hook)", _calflops_recurrent),
    }


TITLE = "Recurrent layers"  # the family in docs/formulas.md and docs/memory.md
ORDER = 12  # its place there
# Names people reach for that PyTorch spells differently ("did you mean ...?").
SYNONYMS = {"simplernn": "rnn", "elman": "rnn", "cudnnlstm": "lstm", "cudnngru": "gru"}

LAYERS = {
    "lstm": LSTM,
    "gru": GRU,
    "rnn": RNN,
}

# Worked examples for the formula reference (docs/formulas.md): (case, arguments, input shapes).
EXAMPLES = {
    "lstm": [("", {"hidden_size": 256}, [[100, 128]]),
             ("2 layers, bidirectional", {"hidden_size": 256, "num_layers": 2, "bidirectional": True}, [[100, 128]]),
             ("projection", {"hidden_size": 64, "proj_size": 16}, [[20, 32]])],
    "gru": [("", {"hidden_size": 64, "num_layers": 2}, [[50, 32]])],
    "rnn": [("", {"hidden_size": 32, "bidirectional": True, "bias": False}, [[10, 8]])],
}

# Training memory (docs/memory.md): the measured facts behind the `saved` rules above.
MEMORY_FACTS = {
    "lstm": "Measured on CPU at batch 2 and 3 (batch_first), float32. The unfused path (always with proj_size; without"
            " it when oneDNN is off) keeps per layer and direction L·(7·H + P) elements per sample when trainable"
            " (L = 5, H = 4: 560 B per sample), 6·H·L when frozen with a gradient flowing in; a trainable layer 1 keeps"
            " one contiguous copy of its input per direction, later layers the output of the layer below; dropout"
            " between layers adds a mask of that output's size. The fused oneDNN kernel (CPU default, float32,"
            " no proj_size) instead keeps the input, the output, the states and an opaque workspace (28,672 B per"
            " layer and direction for small sizes; 270,336 B for L = 16, N = 4, H_in = 32, H = 64): not modelled."
            " At batch 1 with batch_first the input is a view, not a copy, and both directions share it; when the"
            " input is another batch_first recurrent layer's output, PyTorch keeps that storage once instead of the"
            " copies (archcalc counts the copies: not modelled). CUDA (cuDNN reserve space): not modelled.",
    "gru": "Measured on CPU at batch 2 and 3 (batch_first), float32: always the unfused path. Per layer and"
           " direction L·7·H elements per sample when trainable, 6·H·L when frozen with a gradient flowing in; inputs"
           " as for lstm (layer 1: one copy per direction; later layers: the output below; dropout: a mask)."
           " Measured: L = 5, H_in = 6, H = 4 at batch 2 → 1,360 B; 2 layers bidirectional → 5,280 B.",
    "rnn": "Measured on CPU at batch 2 and 3 (batch_first), float32, tanh and relu alike: per layer and direction"
           " the L step outputs [N, H]; trainable, also the zero h_0 [D·num_layers, N, H] and the inputs as for"
           " lstm. Measured: L = 5, H_in = 6, H = 4 at batch 2 → 432 B (frozen: 160 B).",
}

# Memory reference cases (docs/memory.md): (case, arguments, per-sample input shapes, input gradients or
# None for all). The first case of a type is its plain form; the others are variants whose memory differs.
MEMORY_CASES = {
    "lstm": [
        ("", {"hidden_size": 256}, [[100, 128]], None),
        ("2 layers, bidirectional, dropout", {"hidden_size": 256, "num_layers": 2, "bidirectional": True,
                                              DROPOUT: 0.1}, [[100, 128]], None),
        ("proj_size", {"hidden_size": 256, "proj_size": 64}, [[100, 128]], None),
        ("trainable: false", {"hidden_size": 256, "trainable": False}, [[100, 128]], None),
    ],
    "gru": [
        ("", {"hidden_size": 256}, [[100, 128]], None),
    ],
    "rnn": [
        ("", {"hidden_size": 256}, [[100, 128]], None),
    ],
}

# ONNX import (archcalc.bridges.onnx_import): the nodes these types stand for; `context` reads the node.
_ONNX_RECURRENT = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
# what a batch-first nn.LSTM / GRU / RNN's export is made of: the recurrent nodes, the [L, N, E] transposes and the
# reshapes and concatenations of each layer's output and states
_SCOPE_OPS = {*_ONNX_RECURRENT, "Transpose", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape",
              "Expand", "Slice", "Cast", "Identity", "ConstantOfShape"}


def _perm(context: Any, node: Any) -> list[int]:
    return list(context.attributes_of(node).get("perm", [])) if node.op_type == "Transpose" else []


def _state_index(context: Any, tensor: str, recurrent: set[int]) -> int | None:
    """Which state a [D·layers, N, H] tensor is (1: h_n, 2: c_n): the output index of the recurrent nodes it
    comes from, directly or through the Concat of the layers' states."""
    node = context.producer(tensor)
    if node is None:
        return None
    if id(node) in recurrent:
        return list(node.output).index(tensor) or None
    if node.op_type == "Concat":
        indices = {_state_index(context, name, recurrent) for name in node.input}
        return indices.pop() if len(indices) == 1 else None
    return None


def _recurrent_from_onnx(context: Any) -> list | None:
    """A batch-first nn.LSTM / GRU / RNN as PyTorch's exporter writes it: its module scope opens with a Transpose
    [1, 0, 2] to [L, N, E], runs one LSTM (GRU, RNN) node per layer, and gives the output back batch-first and the
    states [D·layers, N, H], each read only by a Transpose [1, 0, 2] to the batch-first [N, D·layers, H] that the
    spec's `NAME:1` (h_n) and `NAME:2` (c_n) are. The scope becomes one layer. None for any other Transpose."""
    node = context.node
    if _perm(context, node) != [1, 0, 2] or node.name.count("/") < 2:
        return None
    scope = node.name.rsplit("/", 1)[0] + "/"
    steps = [step for step in {id(step): step for step in context.graph.producers.values()}.values()
             if step.name.startswith(scope)]
    cells = [step for step in steps if step.op_type in _ONNX_RECURRENT]
    if not steps or steps[0] is not node or not cells or len({cell.op_type for cell in cells}) != 1 or \
            any(step.op_type not in _SCOPE_OPS for step in steps):
        return None
    names = {step.name for step in steps}
    inside = {tensor for step in steps for tensor in step.output if tensor}
    if any(name and name not in inside and name != node.input[0] and not context.is_constant(name)
           for step in steps for name in step.input) or any(context.is_mapped(tensor) for tensor in inside):
        return None
    recurrent, later, indices = {id(cell) for cell in cells}, [], {}
    batch = context.shape(node.input[0])[0]
    for tensor in sorted(inside):
        readers = [reader for reader in context.graph.consumers.get(tensor, []) if reader.name not in names]
        if not readers and tensor not in context.graph.outputs:
            continue
        producer = context.producer(tensor)
        if _perm(context, producer) == [1, 0, 2] and tensor not in context.graph.outputs:
            indices[tensor] = 0   # the output, batch-first again
            continue
        state = _state_index(context, tensor, recurrent)
        if state is None or tensor in context.graph.outputs or len(readers) != 1 or \
                _perm(context, readers[0]) != [1, 0, 2] or context.shape(tensor)[1] != batch:
            return None
        later.append(readers[0])
        indices[readers[0].output[0]] = state
    if not indices:
        return None
    first = cells[0]
    attributes = context.attributes_of(first)
    direction = attributes.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction == "reverse" or any(context.attributes_of(cell).get("hidden_size") != attributes.get("hidden_size")
                                     for cell in cells):
        return None
    kind = _ONNX_RECURRENT[first.op_type]
    arguments: dict[str, Any] = {"hidden_size": attributes["hidden_size"]}
    if len(cells) > 1:
        arguments["num_layers"] = len(cells)
    if direction == "bidirectional":
        arguments["bidirectional"] = True
    weights = [name for cell in cells for name in cell.input[1:4] if name]
    if all(len(cell.input) < 4 or not cell.input[3] for cell in cells):
        arguments["bias"] = False
    if kind == "rnn":
        nonlinearity = _text(attributes.get("activations", [NONLINEARITIES[0].encode()])[0]).lower()
        if nonlinearity not in NONLINEARITIES:
            return None
        if nonlinearity != NONLINEARITIES[0]:
            arguments["nonlinearity"] = nonlinearity
    arguments["batch_first"] = True
    for step in [*steps[1:], *later]:
        context.absorb(step)
    for tensor, index in indices.items():
        context.output_as(tensor, index)
    context.named_after = kind
    output = next((tensor for tensor, index in indices.items() if index == 0), "")   # checked against ONNX's shape
    return [context.layer(kind, arguments, [context.ref(node.input[0])], shape_of=output,
                          params=sum(context.numel(name) for name in weights))]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


ONNX_PATTERNS = {"Transpose": _recurrent_from_onnx}


__all__ = ["GRU", "LAYERS", "LSTM", "RNN"]
