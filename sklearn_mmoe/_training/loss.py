"""The multi-task loss: each task's loss from its kind, weighed (fixed weights or
learned uncertainty weights), plus the load-balancing, embedding and funnel terms."""

import numpy as np
import torch
from torch import nn

from .._tasks.kinds import task_groups
from .._tasks.registry import TASKS


class MultiTaskLoss(nn.Module):
    """Per-row, per-task losses and the training objective built from them: the one
    owner of the objective, used by the training step and the epoch summary alike.

    Parameters
    ----------
    kinds : sequence of {"classification", "regression", "count"}
        Each task's kind; its loss is that kind's (see
        :mod:`sklearn_mmoe._tasks.kinds`).
    task_weights : sequence of float or "uncertainty"
        Weight of each task in the summed loss, or ``"uncertainty"``: homoscedastic
        uncertainty weighting (Kendall, Gal and Cipolla, 2018) with one learned
        log-variance ``s`` per task, the objective being the sum over tasks of
        ``c * exp(-s) * loss + s / 2``, with ``c = 1/2`` for a regression task
        (Gaussian likelihood) and ``c = 1`` for a classification task (scaled
        softmax).
    balance_weight : float, default=0.0
        Weight of the module's load-balancing term in the training objective.
    penalty_weight : float, default=0.0
        Weight of the module's penalty on the categorical codes' rows (the
        embeddings, biases and factors a batch reads, each over its code's count:
        see :attr:`sklearn_mmoe._network.module.NetworkOutput.penalty`).
    calibration_weight : float, default=0.0
        Weight of a calibrated funnel's term (children's probabilities above their
        parents': see
        :attr:`sklearn_mmoe._network.module.NetworkOutput.funnel_violation`).
    """

    def __init__(
        self,
        kinds,
        task_weights,
        balance_weight=0.0,
        penalty_weight=0.0,
        calibration_weight=0.0,
    ):
        super().__init__()
        self.kinds = tuple(kinds)
        groups = task_groups(self.kinds)
        self.groups = [task for task, _ in groups]
        if len(groups) > 1:
            # Each kind's task positions and the permutation that puts the kinds'
            # losses back in task order, built once; buffers follow the device.
            for i, (_, index) in enumerate(groups):
                self.register_buffer(f"group{i}", torch.as_tensor(index))
            inverse = np.argsort(np.concatenate([index for _, index in groups]))
            self.register_buffer("inverse", torch.as_tensor(inverse))
        self.balance_weight = balance_weight
        self.penalty_weight = penalty_weight
        self.calibration_weight = calibration_weight
        self.uncertainty = isinstance(task_weights, str)
        if self.uncertainty:
            self.log_variances = nn.Parameter(torch.zeros(len(self.kinds)))
            factors = [TASKS[kind].uncertainty_factor for kind in self.kinds]
            self.register_buffer("task_weights", torch.tensor(factors))
        else:
            self.register_buffer(
                "task_weights", torch.as_tensor(task_weights, dtype=torch.float32)
            )

    def forward(self, out, y):  # out: (B, T, W) or (B, K, T, W), y: (B, T) -> (B, T)
        """Each row's loss on each task; with one output per ensemble member
        (``out`` of shape (B, K, T, W)), the mean of the members' losses, so that every
        member learns to predict on its own."""
        if out.dim() == 4:
            y = y.unsqueeze(1).expand(out.shape[:3])
        if len(self.groups) == 1:
            losses = self.groups[0].loss(out, y)
        else:  # each kind's tasks gathered, scored, and put back in task order
            parts = []
            for i, task in enumerate(self.groups):
                index = getattr(self, f"group{i}")
                parts.append(task.loss(out.index_select(-2, index), y[..., index]))
            losses = torch.cat(parts, -1).index_select(-1, self.inverse)
        return losses.mean(1) if out.dim() == 4 else losses

    @staticmethod
    def task_means(losses, row_weights=None):
        """Each task's (weighted) mean loss over a batch, shape ``(n_tasks,)``.

        ``row_weights`` (B, T) average one per task over the training set (see
        :func:`sklearn_mmoe._inputs.rows.task_row_weights`), so the batch mean of
        ``row_weights * losses`` estimates the task's weighted mean loss.
        """
        return (losses if row_weights is None else losses * row_weights).mean(0)

    def weights(self):
        """Each task's weight in the objective now (the learned ``c * exp(-s)``
        with uncertainty weighting)."""
        if self.uncertainty:
            return self.task_weights * torch.exp(-self.log_variances)
        return self.task_weights

    def objective(
        self,
        task_losses,
        balance=None,
        present=None,
        learned=True,
        penalty=None,
        calibration=None,
    ):
        """The training objective from each task's mean loss ``task_losses``: their
        weighted sum (plus the learned log-variances' ``s / 2`` with uncertainty
        weighting) plus the weighted ``balance`` term. ``present`` (bool per task)
        leaves out tasks without a label in the rows summarised.

        ``learned=False`` gives the yardstick early stopping watches on the
        validation rows: the task losses weighted by the fixed part of the weights
        only (``c``, the objective's weights at ``s = 0``, with uncertainty
        weighting), so that the weights' own learning does not move it. ``penalty``
        (training only) adds ``penalty_weight`` times the codes' penalty,
        ``calibration`` ``calibration_weight`` times a funnel's calibrator.
        """
        if present is not None:
            task_losses = torch.where(present, task_losses, 0.0)
        learned = learned and self.uncertainty
        total = task_losses @ (self.weights() if learned else self.task_weights)
        if learned:
            s = self.log_variances
            total = total + 0.5 * (s if present is None else s[present]).sum()
        if balance is not None:
            total = total + self.balance_weight * balance
        if penalty is not None:
            total = total + self.penalty_weight * penalty
        if calibration is not None:
            total = total + self.calibration_weight * calibration
        return total
