"""PyTorch modules of the Multi-gate Mixture-of-Experts family.

This module imports no scikit-learn: it holds the networks alone. Every group of
parallel networks (the experts, the gates, the towers) is one :class:`BatchedMLP` whose
weights are stacked along a leading "member" axis, so that a layer of all experts is one
matrix product.
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


class BatchedMLP(nn.Module):
    """``n_members`` independent MLPs of equal shape, evaluated together.

    Layer ``l`` of every member is one tensor of weights, so a layer of all members is
    one matrix product. With ``shared_input`` (experts and gates, which all read the
    same ``x``), the first layer is a single ``(in, n_members * out)`` matrix and one
    GEMM; every other layer is ``(n_members, in, out)`` and one batched product.

    Parameters
    ----------
    n_members : int
        Number of parallel networks.
    n_inputs : int
        Width of the input.
    units : tuple of int
        Width of each layer, the last one included.
    activation : str
        Key of ``ACTIVATIONS`` applied after every hidden layer.
    dropout : float
        Dropout rate after every activated layer, while training.
    activate_last : bool
        Whether the last layer is followed by the activation (and dropout) too.
    shared_input : bool
        Whether the input is one ``(B, in)`` matrix read by every member, rather than a
        ``(n_members, B, in)`` stack with one input per member.
    """

    def __init__(
        self,
        n_members,
        n_inputs,
        units,
        activation,
        dropout,
        activate_last,
        shared_input,
    ):
        super().__init__()
        self.n_members = n_members
        self.activation = activation
        self.dropout = dropout
        self.activate_last = activate_last
        self.shared_input = shared_input
        self.n_layers = len(units)
        for i, (n_in, n_out) in enumerate(zip((n_inputs, *units[:-1]), units)):
            # Each member is drawn independently, as nn.Linear would draw it, so that
            # the experts start (and stay) different from each other.
            bound = 1.0 / math.sqrt(n_in)
            if i == 0 and shared_input:
                w_shape, b_shape = (n_in, n_members * n_out), (n_members * n_out,)
            else:
                w_shape, b_shape = (n_members, n_in, n_out), (n_members, 1, n_out)
            w = torch.empty(w_shape).uniform_(-bound, bound)
            self.register_parameter(f"weight{i}", nn.Parameter(w))
            b = torch.empty(b_shape).uniform_(-bound, bound)
            self.register_parameter(f"bias{i}", nn.Parameter(b))
        self.n_outputs = units[-1]
        self._weight_keys = tuple(f"weight{i}" for i in range(self.n_layers))
        self._bias_keys = tuple(f"bias{i}" for i in range(self.n_layers))

    # Plain lists read from the parameter dict: indexing an nn.ParameterList costs more
    # than the arithmetic of a one-row forward pass.
    @property
    def weights(self):
        return [self._parameters[k] for k in self._weight_keys]

    @property
    def biases(self):
        return [self._parameters[k] for k in self._bias_keys]

    def forward(self, x, detached=False):  # x: (B, F) if shared_input else (M, B, F)
        """Apply every member to ``x``; ``detached``: see ``MMoEModule.forward``."""
        act = ACTIVATIONS[self.activation]
        last = self.n_layers - 1
        weights, biases = self.weights, self.biases
        if detached:
            weights = [w.detach() for w in weights]
            biases = [b.detach() for b in biases]
        for i, (w, b) in enumerate(zip(weights, biases)):
            if i == 0 and self.shared_input:
                # (B, F) @ (F, M*H) -> (B, M, H), seen as (M, B, H) without a copy
                x = torch.addmm(b, x, w).view(x.shape[0], self.n_members, -1)
                x = x.transpose(0, 1)
            else:
                x = torch.baddbmm(b, x, w)  # (M, B, in) @ (M, in, out) -> (M, B, out)
            if i < last or self.activate_last:
                x = act(x)
                if self.dropout > 0:
                    x = F.dropout(x, self.dropout, self.training)
        return x  # (M, B, units[-1])


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
        Hidden sizes of each expert (of the shared bottom).
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
        self.n_tasks = len(self.output_sizes)
        self.architecture = architecture
        self.n_experts = 1 if architecture == "shared_bottom" else n_experts
        self.experts = BatchedMLP(
            self.n_experts,
            n_features,
            tuple(expert_units),
            activation,
            dropout,
            activate_last=True,
            shared_input=True,
        )
        n_gates = {"mmoe": self.n_tasks, "omoe": 1, "shared_bottom": 0}[architecture]
        self.gates = None
        if n_gates:
            self.gates = BatchedMLP(
                n_gates,
                n_features,
                (*gate_units, self.n_experts),
                activation,
                0.0,
                activate_last=False,
                shared_input=True,
            )
        width = max(self.output_sizes)
        self.towers = BatchedMLP(
            self.n_tasks,
            self.experts.n_outputs,
            (*tower_units, width),
            activation,
            dropout,
            activate_last=False,
            shared_input=False,
        )
        padded = torch.zeros(self.n_tasks, width, dtype=torch.bool)
        for t, k in enumerate(self.output_sizes):
            padded[t, k:] = True
        # (T, W) True where a tower's output slot is padding; not a parameter, not
        # saved.
        self.register_buffer("padding", padded, persistent=False)
        self._has_padding = bool(padded.any())

    def gate_weights(self, x, detached=False):  # x: (B, F) -> (B, G, E), G = T or 1
        return self.gates.forward(x, detached).transpose(0, 1).softmax(-1)

    def forward(self, x, detached=False):  # x: (B, F)
        """Logits (or regression outputs) of every task, shape (B, T, W).

        ``detached=True`` computes with detached views of the weights, for inference
        under ``torch.inference_mode``: ops on plain tensors skip the ``nn.Parameter``
        subclass dispatch, which for a single row costs more than the arithmetic.
        Submodules are called through ``forward`` for the same reason (no hooks here).
        """
        h = self.experts.forward(x, detached)  # (E, B, H): one GEMM or bmm per layer
        if self.gates is None:
            mixed = h.expand(self.n_tasks, -1, -1)  # (T, B, H): the shared bottom
        else:
            g = self.gate_weights(x, detached)  # (B, G, E)
            # (B, G, E) @ (B, E, H) -> (B, G, H), seen as (G, B, H)
            mixed = torch.bmm(g, h.transpose(0, 1)).transpose(0, 1)
            if mixed.shape[0] != self.n_tasks:
                mixed = mixed.expand(self.n_tasks, -1, -1)  # one gate for all tasks
        out = self.towers.forward(mixed, detached).transpose(0, 1)  # (B, T, W)
        if self._has_padding:
            out = out.masked_fill(self.padding, float("-inf"))
        return out
