"""The MLP expert: feed-forward networks, whose first layer on the first level is
taken from the product that reads the input for every expert and gate at once."""

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

    def build(self, module, level, n_inputs, units):
        # the first level's first layers are in the input product
        sizes = (n_inputs, *units) if level.index else units
        level.expert_layers = module._stack(
            f"level{level.index}_expert", level.n_experts, sizes
        )

    def weights(self, module, level):
        """Each layer's ``weight<i>`` ``(E, in, out)`` and ``bias<i>`` ``(E, 1,
        out)``; on the first level, layer 0 is the experts' columns of the product
        that reads the input (``in``: the encoded input's width)."""
        layers = {}
        if not level.index:
            E = level.n_experts
            split = module._split
            n_in = module.input_weight.shape[0]
            w = module.input_weight[:, :split].reshape(n_in, E, -1)
            layers["weight0"] = w.permute(1, 0, 2)
            layers["bias0"] = module.input_bias[:split].reshape(E, 1, -1)
        first = len(layers) // 2
        for i, (w, b) in enumerate(level.expert_layers, first):
            layers[f"weight{i}"] = getattr(module, w)
            layers[f"bias{i}"] = getattr(module, b)
        return layers

    def run(self, module, p, ops, level, x):
        if not level.index:  # the first layer's pre-activations, (B, E * H1)
            x = ops.dropout(ops.act(x.reshape(x.shape[0], level.n_experts, -1)))
            x = x.swapaxes(0, 1)
        return module._mlp(p, ops, level.expert_layers, x, True, True)
