"""The skorch side: a lean ``NeuralNet``, the multi-task loss and the epoch monitor.

skorch drives training (``partial_fit`` -> ``fit_loop`` -> ``run_single_epoch``); this
subclass trims its per-batch bookkeeping to a running sum, returns per-task losses from
each step, and reads data through :mod:`sklearn_mmoe._data`.
"""

import copy
import math
import time
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch import nn


class MultiTaskLoss(nn.Module):
    """Per-row, per-task losses and the training objective built from them.

    Parameters
    ----------
    kind : {"regression", "classification"}
        Squared error on one output per task, or cross-entropy over each task's logits.
    task_weights : sequence of float
        Weight of each task in the summed loss.
    balance_weight : float, default=0.0
        Weight of the module's load-balancing term in the training objective.
    """

    def __init__(self, kind, task_weights, balance_weight=0.0):
        super().__init__()
        self.kind = kind
        self.balance_weight = balance_weight
        self.register_buffer(
            "task_weights", torch.as_tensor(task_weights, dtype=torch.float32)
        )

    def forward(self, out, y):  # out: (B, T, W) or (B, K, T, W), y: (B, T) -> (B, T)
        """Each row's loss on each task; with one output per ensemble member
        (``out`` of shape (B, K, T, W)), the mean of the members' losses, so that every
        member learns to predict on its own."""
        if out.dim() == 4:
            y = y.unsqueeze(1).expand(out.shape[:3])
        if self.kind == "regression":
            losses = (out[..., 0] - y).square()
        else:
            w = out.shape[-1]
            ce = F.cross_entropy(out.reshape(-1, w), y.reshape(-1), reduction="none")
            losses = ce.view(out.shape[:-1])
        return losses.mean(1) if out.dim() == 4 else losses

    @staticmethod
    def task_means(losses, row_weights=None):
        """Each task's (weighted) mean loss over a batch, shape ``(n_tasks,)``.

        ``row_weights`` (B, T) average one per task over the training set (see
        :func:`sklearn_mmoe._rows.task_row_weights`), so the batch mean of
        ``row_weights * losses`` estimates the task's weighted mean loss.
        """
        return (losses if row_weights is None else losses * row_weights).mean(0)

    def total(self, task_losses, balance=None):
        """The task-weighted sum of ``task_losses``, plus the weighted ``balance``."""
        total = task_losses @ self.task_weights
        if balance is not None:
            total = total + self.balance_weight * balance
        return total


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


class LearningRateSchedule:
    """The learning rate's multiplier at each optimiser step.

    ``"cosine"``: a linear warm-up from ``1 / w`` to 1 over the first ``w =
    max(1, round(warmup * total_steps))`` steps, then half a cosine from 1 down to 0 at
    ``total_steps``.

    Parameters
    ----------
    kind : {"cosine"}
        The shape of the schedule.
    total_steps : int
        Optimiser steps of the whole training budget.
    warmup : float
        Fraction of the budget spent warming up.
    """

    def __init__(self, kind, total_steps, warmup):
        self.kind = kind
        self.total_steps = total_steps
        self.warmup_steps = max(1, round(warmup * total_steps))

    def __call__(self, step):
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(
            1, self.total_steps - self.warmup_steps
        )
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


class MultiTaskNet(NeuralNet):
    """A ``NeuralNet`` whose steps return per-task losses; epochs record only sums.

    Batches are ``(X, Y, W)`` from :class:`sklearn_mmoe._data.BatchIterator`, ``W``
    the per-task row weights or None. History keeps, per epoch, ``train_loss`` (the
    training objective: the weighted sum over tasks of each task's weighted mean loss,
    plus the load-balancing term when it is weighted), ``valid_loss`` (the weighted sum
    over tasks) and ``train_task_losses`` / ``valid_task_losses`` (one float per task;
    NaN for a task without a label in that part of the data).

    With ``ema_decay`` (a float), the net keeps an exponential moving average of
    the module's weights (:class:`WeightAverage`), updated after every optimiser
    step; validation scores the averaged weights, and training ends with them in the
    module (the best epoch's, when :class:`EpochMonitor` restores one).
    """

    def __init__(
        self, *args, ema_decay=None, lr_schedule="constant", warmup=0.0, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.ema_decay = ema_decay
        self.lr_schedule = lr_schedule
        self.warmup = warmup

    def get_default_callbacks(self):
        # EpochTimer, PassthroughScoring and PrintLog are replaced by EpochMonitor.
        return []

    def _set_training(self, training=True):
        # skorch walks every submodule on every step; only walk them when the mode
        # changes.
        if self.module_.training != training:
            super()._set_training(training)

    def _step(self, batch, training):
        Xi, yi, wi = batch
        balance = None
        if training and self.criterion_.balance_weight > 0:
            y_pred, balance = self.module_(Xi, return_balance=True)
        else:
            y_pred = self.module_(Xi)
        losses = self.criterion_(y_pred, yi)
        task_losses = self.criterion_.task_means(losses, wi)
        return {
            "loss": self.criterion_.total(task_losses, balance),
            "task_sums": task_losses * len(Xi),
            "task_counts": len(Xi) if wi is None else wi.sum(0),
            "balance": balance,
            "y_pred": y_pred,
        }

    def on_train_begin(self, net, **kwargs):
        self.schedule_ = None  # built on the first training epoch, which knows its size
        self.n_steps_ = 0
        self.average_ = (
            None
            if self.ema_decay is None
            else WeightAverage(self.module_, self.ema_decay)
        )

    def on_train_end(self, net, **kwargs):
        # Callbacks run after this: EpochMonitor may still load its best epoch.
        if self.average_ is not None:
            self.average_.swap()  # in place: no copy of the weights
        self.average_ = None  # no copy of the weights is kept in the fitted model

    def kept_state_dict(self):
        """A copy of the weights training would keep now: the averaged ones, if any."""
        if self.average_ is None:
            return copy.deepcopy(self.module_.state_dict())
        with self.average_.applied():
            return copy.deepcopy(self.module_.state_dict())

    def train_step(self, batch, **fit_params):
        if self.schedule_ is not None:
            lr = self.lr * self.schedule_(self.n_steps_)
            for group in self.optimizer_.param_groups:
                group["lr"] = lr
        self.n_steps_ += 1
        step = super().train_step(batch, **fit_params)
        if self.average_ is not None:
            self.average_.update()
        return step

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        step = self._step(batch, training=True)
        step["loss"].backward()
        return step

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            return self._step(batch, training=False)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        if training and self.schedule_ is None and self.lr_schedule != "constant":
            self.schedule_ = LearningRateSchedule(
                self.lr_schedule, len(iterator) * self.max_epochs, self.warmup
            )
        if not training and self.average_ is not None:
            with self.average_.applied():  # validate the weights that will be kept
                return self._run_epoch(iterator, training, prefix, step_fn, fit_params)
        return self._run_epoch(iterator, training, prefix, step_fn, fit_params)

    def _run_epoch(self, iterator, training, prefix, step_fn, fit_params):
        # Sums stay on the device; one synchronisation per epoch, none per batch.
        sums, counts, balance, n_rows = 0.0, 0.0, 0.0, 0
        for batch in iterator:
            step = step_fn(batch, **fit_params)
            sums = sums + step["task_sums"].detach()
            counts = counts + step["task_counts"]
            if step["balance"] is not None:
                balance = balance + step["balance"].detach() * len(batch[0])
            n_rows += len(batch[0])
        counts = torch.as_tensor(counts, dtype=sums.dtype, device=sums.device)
        means = sums / counts  # each task's weighted mean loss over the epoch
        weights = self.criterion_.task_weights
        loss = torch.where(counts > 0, means * weights, 0.0).sum()
        if training and self.criterion_.balance_weight > 0:
            loss = loss + self.criterion_.balance_weight * balance / n_rows
        self.history.record(prefix + "_task_losses", means.tolist())
        self.history.record(prefix + "_loss", float(loss))


class EpochMonitor(Callback):
    """Stopping rule, best-weight restoration and the verbose log, once per epoch.

    Watches ``valid_loss`` when a validation split exists (and then restores the best
    weights at the end), ``train_loss`` otherwise, as ``MLPClassifier`` does: training
    stops once ``n_iter_no_change`` epochs in a row failed to lower the watched loss by
    more than ``tol``.
    """

    def __init__(self, n_iter_no_change, tol, restore_best, verbose):
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best = restore_best
        self.verbose = verbose

    def on_train_begin(self, net, **kwargs):
        self.best_ = math.inf
        self.best_state_ = None
        self.no_improvement_ = 0
        self.converged_ = False

    def on_epoch_begin(self, net, **kwargs):
        self._started = time.perf_counter()

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        row = net.history[-1]
        watched = row["valid_loss"] if dataset_valid is not None else row["train_loss"]
        if not math.isfinite(row["train_loss"]):
            raise ValueError(
                "Training diverged: the loss became non-finite at epoch "
                f"{row['epoch']}. Scale the inputs (and targets) or lower "
                "learning_rate."
            )
        if self.verbose:
            valid = (
                f", valid loss {row['valid_loss']:.6f}" if "valid_loss" in row else ""
            )
            print(
                f"epoch {row['epoch']:>4}: train loss {row['train_loss']:.6f}{valid}, "
                f"{time.perf_counter() - self._started:.2f} s",
                flush=True,
            )
        # As in MLPClassifier: patience counts epochs that fail to beat the best by more
        # than tol, while the weights kept are those of the best epoch, however slight.
        self.no_improvement_ = (
            0 if watched < self.best_ - self.tol else self.no_improvement_ + 1
        )
        if watched < self.best_:
            self.best_ = watched
            if self.restore_best and dataset_valid is not None:
                self.best_state_ = net.kept_state_dict()
        if self.no_improvement_ >= self.n_iter_no_change:
            self.converged_ = True
            raise KeyboardInterrupt  # skorch's own way to end fit_loop early

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # no copy of the weights is kept in the fitted model
