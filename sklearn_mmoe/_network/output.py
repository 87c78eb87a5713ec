"""What the network computes for a batch: its outputs, and the terms the loss reads
from them (gate weights, load balance, the embeddings' penalty, a funnel's
violation), each computed when read."""

import numpy as np

from .._tasks.funnels import violation
from .ops import _TorchOps


class NetworkOutput:
    """What the network computes for a batch of ``n`` rows, in every mode and on
    both backends (tensors from ``forward``, float64 arrays from ``forward_numpy``).

    Attributes
    ----------
    outputs : tensor or ndarray of shape (n, T, W)
        Every task's logits (classification) or values, the towers padded to the
        widest with ``-inf``; while training with ``ensemble_size > 1``, every
        member's, (n, K, T, W).
    gate_weights : tensor or ndarray of shape (n, T, n_visible)
        Each task's last-level mixing weights over the experts it sees (the members'
        mean); ones of shape (n, T, 1) for a network without gates. Computed when
        read.
    balance : scalar tensor or float
        The load-balancing term: the squared coefficient of variation of each gate's
        total weight per expert over the batch, averaged over gates and levels (0
        for a perfectly even use of the experts, and without gates). Computed when
        read.
    """

    __slots__ = ("outputs", "_module", "_p", "_gates", "_n", "_x")

    def __init__(self, outputs, module, p, gates, x):
        self.outputs = outputs
        self._module, self._p, self._gates = module, p, gates
        self._n, self._x = x.shape[0], x

    @property
    def gate_weights(self):
        module = self._module
        if not module.levels[-1].n_gates:
            shape = (self._n, module.n_tasks, 1)
            if isinstance(self.outputs, np.ndarray):
                return np.ones(shape)
            return self.outputs.new_ones(shape)
        return module._task_gates(self._gates[-1])

    @property
    def penalty(self):
        """The mean over the rows of the squared norms of the embedding, bias and
        factor rows each row reads (0 without categorical columns): a code is
        shrunk each time a batch reads it. On tensors, for training."""
        module, p = self._module, self._p
        if not module.encoder.embeddings:
            return self.outputs.new_zeros(())
        per_row = module.encoder.penalty(p, self._x)
        if module.interactions is not None:
            codes = module.encoder.codes(p, self._x, _TorchOps)
            per_row = per_row + module.interactions.penalty(p, codes)
        return per_row.mean()

    @property
    def funnel_violation(self):
        """The funnel calibrator's term (see
        :func:`sklearn_mmoe._tasks.funnels.violation`):
        how far, on average, children's probabilities exceed their parents'; 0
        without a calibrated funnel. On tensors, for training."""
        module, out = self._module, self.outputs
        if module._funnel is None or not module._funnel.calibrated:
            return out.new_zeros(())
        members = out if out.ndim == 4 else out[:, None]  # (B, K, T, W)
        return violation(members, module.funnel_edges)

    @property
    def balance(self):
        levels = self._module.levels
        terms = [
            self._module._imbalance(self._p, level, w)
            for level, w in zip(levels, self._gates)
        ]
        if not terms:
            if isinstance(self.outputs, np.ndarray):
                return 0.0
            return self.outputs.new_zeros(())
        return sum(terms) / len(terms)
