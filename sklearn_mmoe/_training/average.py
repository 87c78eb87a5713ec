"""An exponential moving average of a network's weights (Polyak averaging), kept
beside them during training, and the callback that keeps it."""

from contextlib import contextmanager

import torch
from skorch.callbacks import Callback


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


class WeightAveraging(Callback):
    """Keeps an exponential moving average of the weights while a net trains
    (:class:`WeightAverage`), updated after every optimiser step.

    Validation batches score the averaged weights (they stay in the module from the
    first validation batch to the next training batch, so that what
    :class:`~sklearn_mmoe._training.monitor.EarlyStopping` keeps of an epoch is
    them), and training ends with them in the module (before the best epoch's are
    restored, where they are). With ``decay`` None it does nothing. Fitted:
    ``average_``, during training only (a fitted model keeps one set of weights).

    Parameters
    ----------
    decay : float or None
        The average's decay (see :class:`WeightAverage`), or None for no average.
    """

    def __init__(self, decay=None):
        self.decay = decay

    def on_train_begin(self, net, **kwargs):
        self.average_ = (
            None if self.decay is None else WeightAverage(net.module_, self.decay)
        )
        self._applied = False  # whether the module holds the averages

    def on_batch_begin(self, net, training=False, **kwargs):
        if self.average_ is not None and self._applied == training:
            self.average_.swap()  # the averages to validate, the weights to train
            self._applied = not training

    def on_batch_end(self, net, training=False, **kwargs):
        if training and self.average_ is not None:
            self.average_.update()

    def on_train_end(self, net, **kwargs):
        if self.average_ is not None and not self._applied:
            self.average_.swap()  # in place: no copy of the weights
        self.average_ = None

    def on_train_abort(self, net):
        """A run that raised keeps no copy of the weights (its caller puts the
        weights back)."""
        self.average_ = None
