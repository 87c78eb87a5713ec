"""The skorch side: a lean ``NeuralNet``, the multi-task loss and the epoch monitor.

skorch drives training (``partial_fit`` -> ``fit_loop`` -> ``run_single_epoch``); this
subclass trims its per-batch bookkeeping to a running sum, returns per-task losses from
each step, and reads data through :mod:`sklearn_mmoe._inputs.tensors`.
"""

import math
import time
from contextlib import contextmanager

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch import nn

from .._tasks.kinds import TASKS, task_groups
from .progress import Progress


def _copy_state(state, into=None):
    """A detached copy of the state dict ``state``, written into ``into`` (a copy of
    the same module's state) when given instead of allocating a new one."""
    if into is None:
        return {key: value.detach().clone() for key, value in state.items()}
    for key, value in state.items():
        into[key].copy_(value)
    return into


class StopTraining(Exception):
    """Raised by :class:`EpochMonitor` to end training early. skorch's own way,
    ``KeyboardInterrupt``, would also swallow a user's Ctrl-C; this leaves it to
    reach the caller."""


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

    Batches are ``(X, Y, W)`` from :class:`sklearn_mmoe._inputs.tensors.BatchIterator`,
    ``W``
    the per-task row weights or None. History keeps, per epoch, ``train_loss`` (the
    training objective: the weighted sum over tasks of each task's weighted mean loss,
    plus the load-balancing term when it is weighted), ``valid_loss`` (the weighted sum
    over tasks, with the fixed weights: see :meth:`MultiTaskLoss.objective`),
    ``task_weights`` (each task's weight in the objective after the epoch) and
    ``train_task_losses`` / ``valid_task_losses`` (one float per task; NaN for a task
    without a label in that part of the data).

    ``lr_schedule`` spreads over ``max_epochs`` epochs, or over ``schedule_epochs``
    when given (a refit trains the first epochs of a longer schedule at their rates).

    With ``ema_decay`` (a float), the net keeps an exponential moving average of
    the module's weights (:class:`WeightAverage`), updated after every optimiser
    step; validation scores the averaged weights, and training ends with them in the
    module (the best epoch's, when :class:`EpochMonitor` restores one).
    """

    def __init__(
        self,
        *args,
        ema_decay=None,
        lr_schedule="constant",
        warmup=0.0,
        schedule_epochs=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.ema_decay = ema_decay
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.schedule_epochs = schedule_epochs

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, except that a ``KeyboardInterrupt`` (a user's
        Ctrl-C) propagates; :class:`StopTraining` ends training early instead."""
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, _routing_method="partial_fit", **fit_params)
        except StopTraining:
            pass
        self.notify("on_train_end", X=X, y=y)
        return self

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
        result = self.module_(Xi)
        y_pred, balance, penalty, calibration = result.outputs, None, None, None
        criterion = self.criterion_
        if training and criterion.balance_weight > 0:
            balance = result.balance
        if training and criterion.penalty_weight > 0:
            penalty = result.penalty
        if training and criterion.calibration_weight > 0:
            calibration = result.funnel_violation
        losses = criterion(y_pred, yi)
        task_losses = criterion.task_means(losses, wi)
        objective = criterion.objective(
            task_losses, balance, penalty=penalty, calibration=calibration
        )
        return {
            "loss": objective,
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

    def kept_state_dict(self, into=None):
        """A copy of the weights training would keep now (the averaged ones, if any),
        written into ``into`` (an earlier copy, reused) when given: a fit that
        improves on most epochs copies its weights that often."""
        if self.average_ is None:
            return _copy_state(self.module_.state_dict(), into)
        with self.average_.applied():
            return _copy_state(self.module_.state_dict(), into)

    def train_step(self, batch, **fit_params):
        if self.schedule_ is not None:
            lr = self.lr * self.schedule_(self.n_steps_)
            for group in self.optimizer_.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
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
            epochs = self.schedule_epochs or self.max_epochs
            self.schedule_ = LearningRateSchedule(
                self.lr_schedule, len(iterator) * epochs, self.warmup
            )
        if not training and self.average_ is not None:
            with self.average_.applied():  # validate the weights that will be kept
                return self._run_epoch(iterator, training, prefix, step_fn, fit_params)
        return self._run_epoch(iterator, training, prefix, step_fn, fit_params)

    def _run_epoch(self, iterator, training, prefix, step_fn, fit_params):
        # Sums stay on the device; one synchronisation per epoch, none per batch.
        sums, counts, balance, n_rows = 0.0, 0.0, 0.0, 0
        balance_weighted = self.criterion_.balance_weight > 0
        for batch in iterator:
            step = step_fn(batch, **fit_params)
            sums = sums + step["task_sums"].detach()
            counts = counts + step["task_counts"]
            if step["balance"] is not None:
                balance = balance + step["balance"].detach() * len(batch[0])
            n_rows += len(batch[0])
        counts = torch.as_tensor(counts, dtype=sums.dtype, device=sums.device)
        means = sums / counts  # each task's weighted mean loss over the epoch
        balance = balance / n_rows if training and balance_weighted else None
        with torch.no_grad():
            loss = self.criterion_.objective(
                means, balance, present=counts > 0, learned=training
            )
        self.history.record(prefix + "_task_losses", means.tolist())
        self.history.record(prefix + "_loss", float(loss))
        if training:
            self.history.record("task_weights", self.criterion_.weights().tolist())


class EpochMonitor(Callback):
    """Stopping rule, best-weight restoration and the verbose log, once per epoch.

    Watches ``valid_loss`` when a validation split exists (and then restores the best
    weights at the end), ``train_loss`` otherwise, as ``MLPClassifier`` does: training
    stops once ``n_iter_no_change`` epochs in a row failed to lower the watched loss by
    more than ``tol``. With ``verbose``, each epoch's news (its number out of the
    budget, the objective and each task's loss by ``task_names`` on the training and
    validation rows) goes to a :class:`~sklearn_mmoe._training.progress.Progress`,
    which draws
    a bar or prints lines; the end of training says why it stopped and which epoch's
    weights were kept. ``rows`` (set on the callback before a ``partial_fit`` pass:
    the rows of the call and the rows seen so far) makes the pass one line of them;
    ``refit_rows`` (set for a refit) says the run trained again on that many rows;
    ``member`` (set for a member of a cross-fitted ensemble: its number and the
    ensemble's size) says which member the run trained.
    """

    def __init__(
        self,
        n_iter_no_change,
        tol,
        restore_best,
        verbose,
        task_names=None,
        rows=None,
        refit_rows=None,
    ):
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best = restore_best
        self.verbose = verbose
        self.task_names = task_names
        self.rows = rows
        self.refit_rows = refit_rows
        self.member = None

    def on_train_begin(self, net, **kwargs):
        self.best_ = math.inf
        self.best_epoch_ = None
        self.best_state_ = None
        self.no_improvement_ = 0
        self.converged_ = False
        self._validated = False
        self._progress = Progress(
            self.verbose, net.max_epochs, self.task_names, self.rows
        )

    def on_epoch_begin(self, net, **kwargs):
        self._started = time.perf_counter()

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        row = net.history[-1]
        self._validated = dataset_valid is not None
        watched = row["valid_loss"] if self._validated else row["train_loss"]
        if not math.isfinite(row["train_loss"]):
            self._progress.close()
            raise ValueError(
                "Training diverged: the loss became non-finite at epoch "
                f"{row['epoch']}. Scale the inputs (and targets) or lower "
                "learning_rate."
            )
        # As in MLPClassifier: patience counts epochs that fail to beat the best by more
        # than tol, while the weights kept are those of the best epoch, however slight.
        self.no_improvement_ = (
            0 if watched < self.best_ - self.tol else self.no_improvement_ + 1
        )
        if watched < self.best_:
            self.best_ = watched
            self.best_epoch_ = row["epoch"]
            if self.restore_best and self._validated:
                self.best_state_ = net.kept_state_dict(self.best_state_)
        elapsed = time.perf_counter() - self._started
        net.history.record("dur", elapsed)  # skorch's name for an epoch's seconds
        self._progress.epoch(row, self._validated, self.best_epoch_, elapsed)
        if self.no_improvement_ >= self.n_iter_no_change:
            self.converged_ = True
            raise StopTraining

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # no copy of the weights is kept in the fitted model
        self._progress.close(self._summary(net) if len(net.history) else None)
        self._progress = None

    def __getstate__(self):
        # The news of a run in progress (its stream, a bar) is not part of the model.
        state = self.__dict__.copy()
        state.pop("_progress", None)
        return state

    def _summary(self, net):
        """Why training stopped and which epoch's weights were kept (and, for a
        member of a cross-fitted ensemble, which one)."""
        said = self._why(net)
        if self.member is None:
            return said
        k, n = self.member
        return f"member {k + 1} of {n} (fold {k + 1} held out): {said}"

    def _why(self, net):
        last = net.history[-1]["epoch"]
        if self.refit_rows is not None:
            return (
                f"trained again on all {self.refit_rows:,} rows for the {last} "
                "epochs the held-out rows chose (refit)."
            )
        watched = "validation" if self._validated else "training"
        why = (
            f"the {watched} loss did not improve by more than tol={self.tol} for "
            f"{self.n_iter_no_change} epochs"
            if self.converged_
            else "the epoch budget ran out"
        )
        kept = (
            f"kept the weights of epoch {self.best_epoch_}, the best validation "
            f"loss ({self.best_:.4f})"
            if self._validated and self.restore_best
            else f"kept the weights of the last epoch ({last})"
        )
        return f"stopped after epoch {last}: {why}; {kept}."
