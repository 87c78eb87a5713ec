"""PyTorch modules of the Multi-gate Mixture-of-Experts family.

This module imports no scikit-learn: it holds the networks alone. Everything that reads
the input (the first layer of every expert and of every gate) is one matrix product;
every later layer of a group of parallel networks (experts, gates, towers) is one
batched product over weights stacked as ``(n_members, in, out)``.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {
    "relu": F.relu,
    "tanh": torch.tanh,
    "logistic": torch.sigmoid,
    "gelu": F.gelu,
    "silu": F.silu,
    "identity": lambda h: h,
}

ARCHITECTURES = ("mmoe", "omoe", "shared_bottom")


def _uniform(shape, fan_in):
    # nn.Linear's default range; each member is drawn independently, so that the
    # experts start (and stay) different from each other.
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


class BatchedMLP(nn.Module):
    """``n_members`` independent MLPs of equal shape, one batched product per layer.

    Layer ``l`` keeps the weights of every member in one ``(n_members, in, out)``
    tensor. With ``units=()`` the module is the identity.

    Parameters
    ----------
    n_members : int
        Number of parallel networks.
    n_inputs : int
        Width of each member's input.
    units : tuple of int
        Width of each layer, the last one included.
    activation : str
        Key of ``ACTIVATIONS`` applied after every hidden layer.
    dropout : float
        Dropout rate after every activated layer, while training.
    activate_last : bool
        Whether the last layer is followed by the activation (and dropout) too.
    """

    def __init__(self, n_members, n_inputs, units, activation, dropout, activate_last):
        super().__init__()
        self.n_members = n_members
        self.activation = activation
        self.dropout = dropout
        self.activate_last = activate_last
        self.n_layers = len(units)
        self.n_outputs = units[-1] if units else n_inputs
        for i, (n_in, n_out) in enumerate(zip((n_inputs, *units[:-1]), units)):
            self.register_parameter(
                f"weight{i}", _uniform((n_members, n_in, n_out), n_in)
            )
            self.register_parameter(f"bias{i}", _uniform((n_members, 1, n_out), n_in))
        self._keys = tuple((f"weight{i}", f"bias{i}") for i in range(self.n_layers))

    # Read from the parameter dict: indexing an nn.ParameterList costs more than the
    # arithmetic of a one-row forward pass.
    @property
    def weights(self):
        return [self._parameters[w] for w, _ in self._keys]

    @property
    def biases(self):
        return [self._parameters[b] for _, b in self._keys]

    def forward(self, x, detached=False):  # x: (M, B, in) -> (M, B, units[-1])
        """Apply every member to its input; ``detached``: see ``MMoEModule.forward``."""
        params, act, last = (
            self._parameters,
            ACTIVATIONS[self.activation],
            self.n_layers - 1,
        )
        for i, (w, b) in enumerate(self._keys):
            w, b = params[w], params[b]
            if detached:
                w, b = w.detach(), b.detach()
            x = torch.baddbmm(b, x, w)  # (M, B, in) @ (M, in, out) -> (M, B, out)
            if i < last or self.activate_last:
                x = act(x)
                if self.dropout > 0:
                    x = F.dropout(x, self.dropout, self.training)
        return x


class MMoEModule(nn.Module):
    """Multi-task network: Shared-Bottom, one-gate (OMoE) or multi-gate (MMoE) experts.

    Parameters
    ----------
    n_features : int
        Width of the input.
    output_sizes : tuple of int
        Number of outputs of each task's tower: 1 for a regression task, the number of
        classes for a classification task. Towers are padded to the largest size; padded
        logits are set to ``-inf`` so that a softmax gives them zero probability.
    architecture : {"mmoe", "omoe", "shared_bottom"}
        ``"mmoe"``: one softmax gate per task; ``"omoe"``: one gate shared by all tasks;
        ``"shared_bottom"``: a single shared network (``expert_units``), no gates.
    n_experts : int
        Number of experts (ignored by ``"shared_bottom"``).
    expert_units : tuple of int
        Hidden sizes of each expert (of the shared bottom); at least one layer.
    gate_units : tuple of int
        Hidden sizes of each gate network; ``()`` is the paper's linear softmax gate.
    tower_units : tuple of int
        Hidden sizes of each task tower.
    activation : str
        Hidden-layer activation.
    dropout : float
        Dropout rate after hidden layers of the experts and towers.
    """

    def __init__(
        self,
        n_features,
        output_sizes,
        architecture="mmoe",
        n_experts=8,
        expert_units=(64,),
        gate_units=(),
        tower_units=(32,),
        activation="relu",
        dropout=0.0,
    ):
        super().__init__()
        self.output_sizes = tuple(int(k) for k in output_sizes)
        self.n_tasks = T = len(self.output_sizes)
        self.architecture = architecture
        self.n_experts = E = 1 if architecture == "shared_bottom" else n_experts
        self.n_gates = G = {"mmoe": T, "omoe": 1, "shared_bottom": 0}[architecture]
        self.activation = activation
        self.dropout = dropout
        expert_units, gate_units = tuple(expert_units), tuple(gate_units)
        # The first layer of every expert and every gate side by side: (F, E*H1 + G*U1)
        gate_first = (gate_units or (E,))[0]
        self._split = (E * expert_units[0], G * gate_first)
        width_in = sum(self._split)
        self.input_weight = _uniform((n_features, width_in), n_features)
        self.input_bias = _uniform((width_in,), n_features)
        self.experts = BatchedMLP(
            E, expert_units[0], expert_units[1:], activation, dropout, True
        )
        self.gates = None
        if G:
            # Later gate layers; with gate_units=() the input layer gives the logits.
            rest = (*gate_units[1:], E) if gate_units else ()
            self.gates = BatchedMLP(G, gate_first, rest, activation, 0.0, False)
        self._gate_hidden = bool(gate_units)
        width = max(self.output_sizes)
        self.towers = BatchedMLP(
            T, self.experts.n_outputs, (*tower_units, width), activation, dropout, False
        )
        padded = torch.zeros(T, width, dtype=torch.bool)
        for t, k in enumerate(self.output_sizes):
            padded[t, k:] = True
        # (T, W): True where a tower's output slot is padding; a buffer, never saved.
        self.register_buffer("padding", padded, persistent=False)
        self._has_padding = bool(padded.any())

    def _first_layer(self, x, detached):  # x: (B, F) -> experts' (E, B, H1), gates' raw
        w, b = self.input_weight, self.input_bias
        if detached:
            w, b = w.detach(), b.detach()
        z = torch.addmm(b, x, w)  # (B, E*H1 + G*U1): one GEMM reads x for everyone
        n, n_h = x.shape[0], self._split[0]
        h = ACTIVATIONS[self.activation](z[:, :n_h].view(n, self.n_experts, -1))
        if self.dropout > 0:
            h = F.dropout(h, self.dropout, self.training)
        g = z[:, n_h:].view(n, self.n_gates, -1) if self.n_gates else None
        return h, g  # (B, E, H1), (B, G, U1)

    def _gates(self, g, detached):  # first-layer gate output (B, G, U1) -> (B, G, E)
        if self._gate_hidden:
            g = ACTIVATIONS[self.activation](g).transpose(0, 1)  # (G, B, U1)
            g = self.gates.forward(g, detached).transpose(0, 1)  # (B, G, E)
        return g.softmax(-1)

    def gate_weights(self, x, detached=False):
        """Mixing weights of each gate over the experts, shape (B, G, E)."""
        return self._gates(self._first_layer(x, detached)[1], detached)

    def forward(self, x, detached=False):  # x: (B, F)
        """Logits (or regression outputs) of every task, shape (B, T, W).

        ``detached=True`` computes with detached views of the weights, for inference
        under ``torch.inference_mode``: ops on plain tensors skip the ``nn.Parameter``
        subclass dispatch, which for a single row costs more than the arithmetic.
        Submodules are called through ``forward`` for the same reason (no hooks here).
        """
        h, g = self._first_layer(x, detached)  # (B, E, H1), (B, G, U1)
        if self.experts.n_layers:
            h = self.experts.forward(h.transpose(0, 1), detached).transpose(0, 1)
        if self.gates is None:
            mixed = h.transpose(0, 1).expand(self.n_tasks, -1, -1)  # (T, B, H): bottom
        else:
            # (B, G, E) @ (B, E, H) -> (B, G, H), seen as (G, B, H)
            mixed = torch.bmm(self._gates(g, detached), h).transpose(0, 1)
            if self.n_gates != self.n_tasks:
                mixed = mixed.expand(self.n_tasks, -1, -1)  # one gate for all tasks
        out = self.towers.forward(mixed, detached).transpose(0, 1)  # (B, T, W)
        if self._has_padding:
            out = out.masked_fill(self.padding, float("-inf"))
        return out
