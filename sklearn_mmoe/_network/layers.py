"""The network's building blocks: ``nn.Module`` parts that own their weights and
run from a dict of tensors (or float64 arrays) through an ops pair.

A group of parallel networks (the experts, the gates, the towers of a level) is one
:class:`StackedMLP`: every layer's weights stacked as ``(n_members, in, out)``, all
members run as one batched product per layer, as TabM's ``LinearEnsemble``. A block
never reads its weights from its attributes while running, but from ``p``, the
host's tensors by name (see :meth:`~sklearn_mmoe._network.module.MMoEModule._tensors`),
found under its :attr:`Block.prefix`, its own path in the host; so that the same
pass runs in PyTorch (training, ONNX) and in float64 NumPy (``predict``).
"""

import math

import torch
from torch import nn

from .ops import _TorchOps


def _uniform(shape, fan_in):
    # nn.Linear's default range; each member is drawn independently, so that the
    # experts start (and stay) different from each other.
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


class Block(nn.Module):
    """A part of the network whose pass reads its tensors from ``p``.

    ``prefix`` is the block's path in the network that holds it, dot-terminated
    (``"experts.0."``): where its tensors are in ``p``. The host sets it once
    built (see :func:`name_blocks`, which calls :meth:`named`); a block on its own
    has ``""``.
    """

    prefix = ""

    def named(self, prefix):
        """Take ``prefix`` as the block's path (subclasses also work out their
        tensors' names in ``p`` here, once)."""
        self.prefix = prefix

    def tensor(self, p, name):
        """The block's tensor ``name`` (its own attribute's name) in ``p``."""
        return p[self.prefix + name]

    def own_tensors(self):
        """The block's parameters and buffers under the names ``p`` gives them."""
        named = [*self.named_parameters(), *self.named_buffers()]
        return {self.prefix + name: t for name, t in named}


class StackedMLP(Block):
    """``n_members`` parallel MLPs ``sizes[0] -> sizes[1] -> ...``, stacked.

    Layer ``i`` is ``weight<i>`` ``(n_members, in, out)`` and ``bias<i>``
    ``(n_members, 1, out)``, each member drawn independently in nn.Linear's range
    (weights, then biases, layer by layer). ``sizes`` of fewer than two values is
    no layer at all (the identity).

    Parameters
    ----------
    n_members : int
        Number of parallel networks.
    sizes : tuple of int
        Input width, then each layer's output width.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mmoe._network.layers import StackedMLP
    >>> _ = torch.manual_seed(0)
    >>> mlp = StackedMLP(3, (5, 8, 2))
    >>> mlp(torch.randn(3, 4, 5)).shape  # (members, rows, out)
    torch.Size([3, 4, 2])
    """

    def __init__(self, n_members, sizes):
        super().__init__()
        self.n_layers = max(len(sizes) - 1, 0)
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            weight = _uniform((n_members, n_in, n_out), n_in)
            self.register_parameter(f"weight{i}", weight)
            self.register_parameter(f"bias{i}", _uniform((n_members, 1, n_out), n_in))
        self.named("")

    def named(self, prefix):
        super().named(prefix)
        # each layer's names in p, worked out once: a pass reads them per layer
        self._layers = tuple(
            (f"{prefix}weight{i}", f"{prefix}bias{i}") for i in range(self.n_layers)
        )

    def layer(self, p, i):
        """Layer ``i``'s weight and bias in ``p``."""
        weight, bias = self._layers[i]
        return p[weight], p[bias]

    def run(self, p, ops, x, activate_last=False, dropout=False, start=0, stop=None):
        """Layers ``start`` to ``stop`` (all by default) on ``x`` (M, B, in): the
        activation (then dropout, if ``dropout``) after every layer but the last,
        and after the last too if ``activate_last``; ``(M, B, out)``."""
        stop = self.n_layers if stop is None else stop
        for i in range(start, stop):
            weight, bias = self._layers[i]
            x = ops.blinear(x, p[weight], p[bias])
            if i < stop - 1 or activate_last:
                x = ops.act(x)
                if dropout:
                    x = ops.dropout(x)
        return x

    def forward(self, x):
        """Every layer on ``x`` (M, B, in) in PyTorch, ReLU between the layers."""
        return self.run(self.own_tensors(), _TorchOps("relu", 0.0), x)


class StackedNorm(Block):
    """A layer norm's scale (ones) and shift (zeros) per member: ``weight`` and
    ``bias`` ``(n_members, 1, width)``."""

    def __init__(self, n_members, width):
        super().__init__()
        self.weight = nn.Parameter(torch.full((n_members, 1, width), 1.0))
        self.bias = nn.Parameter(torch.full((n_members, 1, width), 0.0))

    def run(self, p, ops, x):  # x: (M, B, d) or (M, B, S, d)
        weight, bias = self.tensor(p, "weight"), self.tensor(p, "bias")
        if x.ndim == 4:
            weight, bias = weight[:, None], bias[:, None]
        return ops.layer_norm(x, weight, bias)


def name_blocks(module):
    """Tell every :class:`Block` inside ``module`` its path there (its
    ``prefix``), so that it finds its tensors in ``module``'s ``p``."""
    for name, block in module.named_modules():
        if isinstance(block, Block):
            block.named(f"{name}." if name else "")
