"""The MLP expert: feed-forward networks, whose first layer on the first level is
taken from the product that reads the input for every expert and gate at once."""

from ..layers import StackedMLP
from .base import ExpertType, register


@register
class MLP(ExpertType):
    name = "mlp"
    doc = (
        "feed-forward networks of ``expert_units`` hidden sizes; on the first level "
        "their first layer is part of the one product that reads the input."
    )

    def first_layer_width(self, n_experts, units):
        return n_experts * units[0]

    def build(self, level, n_inputs, units, columns):
        # the first level's first layers are in the input product
        sizes = (n_inputs, *units) if level.index else units
        return StackedMLP(level.n_experts, sizes)

    def weights(self, experts, level, first):
        """Each layer's ``weight<i>`` ``(E, in, out)`` and ``bias<i>`` ``(E, 1,
        out)``; on the first level, layer 0 is the experts' columns of the product
        that reads the input (``in``: the encoded input's width)."""
        layers = {}
        if not level.index:
            E = level.n_experts
            weight, bias = first
            layers["weight0"] = weight.reshape(weight.shape[0], E, -1).permute(1, 0, 2)
            layers["bias0"] = bias.reshape(E, 1, -1)
        shift = len(layers) // 2
        for i in range(experts.n_layers):
            layers[f"weight{i + shift}"] = getattr(experts, f"weight{i}")
            layers[f"bias{i + shift}"] = getattr(experts, f"bias{i}")
        return layers

    def run(self, experts, p, ops, level, x):
        if not level.index:  # the first layer's pre-activations, (B, E * H1)
            x = ops.dropout(ops.act(x.reshape(x.shape[0], level.n_experts, -1)))
            x = x.swapaxes(0, 1)
        return experts.run(p, ops, x, True, True)
