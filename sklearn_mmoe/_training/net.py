"""The skorch side: a lean ``NeuralNet`` (its loss, weight average, schedule and
epoch monitor are the files beside this one).

skorch drives training (``partial_fit`` -> ``fit_loop`` -> ``run_single_epoch``); this
subclass trims its per-batch bookkeeping to a running sum, returns per-task losses from
each step, and reads data through :mod:`sklearn_mmoe._inputs.tensors`.
"""

import torch
from skorch import NeuralNet

from .average import WeightAverage
from .monitor import StopTraining
from .schedule import LearningRateSchedule


def _copy_state(state, into=None):
    """A detached copy of the state dict ``state``, written into ``into`` (a copy of
    the same module's state) when given instead of allocating a new one."""
    if into is None:
        return {key: value.detach().clone() for key, value in state.items()}
    for key, value in state.items():
        into[key].copy_(value)
    return into


class MultiTaskNet(NeuralNet):
    """A ``NeuralNet`` whose steps return per-task losses; epochs record only sums.

    Batches are ``(X, Y, W)`` from :class:`sklearn_mmoe._inputs.tensors.BatchIterator`,
    ``W`` the per-task row weights or None. History keeps, per epoch, ``train_loss``
    (the training objective: the weighted sum over tasks of each task's weighted mean
    loss, plus the load-balancing term when it is weighted), ``valid_loss`` (the
    weighted sum over tasks, with the fixed weights: see
    :meth:`MultiTaskLoss.objective`), ``task_weights`` (each task's weight in the
    objective after the epoch) and ``train_task_losses`` / ``valid_task_losses`` (one
    float per task; NaN for a task without a label in that part of the data).

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
