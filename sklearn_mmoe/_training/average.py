"""An exponential moving average of a network's weights (Polyak averaging), kept
beside them during training."""

from contextlib import contextmanager

import torch


class WeightAverage:
    """An exponential moving average of a module's parameters (Polyak averaging).

    After every optimiser step each average moves towards its parameter by
    ``1 - d``, with ``d = min(decay, (1 + t) / (10 + t))`` at update ``t``: the ramp
    keeps the first steps from tying the average to the initial weights.

    Parameters
    ----------
    module : torch.nn.Module
        The module whose trainable parameters are averaged; the averages start at
        their current values.
    decay : float
        The decay once the ramp has passed it, in [0, 1).
    """

    def __init__(self, module, decay):
        self.decay = decay
        # Detached views share the parameters' storage, so they follow the optimiser's
        # in-place updates without being rebuilt every step.
        self.params = [p.detach() for p in module.parameters() if p.requires_grad]
        self.averages = [p.clone() for p in self.params]
        self.n_updates = 0

    @torch.no_grad()
    def update(self):
        self.n_updates += 1
        t = self.n_updates
        decay = min(self.decay, (1 + t) / (10 + t))
        # One multi-tensor kernel for all parameters, as torch.optim.swa_utils does.
        torch._foreach_lerp_(self.averages, self.params, 1 - decay)

    @torch.no_grad()
    def swap(self):
        """Exchange the module's weights with the averages."""
        for p, a in zip(self.params, self.averages):
            current = p.clone()
            p.copy_(a)
            a.copy_(current)

    @contextmanager
    def applied(self):
        """Inside the block the module holds the averaged weights."""
        self.swap()
        try:
            yield
        finally:
            self.swap()
