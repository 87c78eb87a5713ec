"""The skorch side: a lean ``NeuralNet`` (its loss and the training concerns, each a
callback: the learning-rate schedule, the weight average, early stopping and the
progress display, are the files beside this one).

skorch drives training (``partial_fit`` -> ``fit_loop`` -> ``run_single_epoch``); this
subclass trims its per-batch bookkeeping to a running sum (the callbacks still hear of
every batch), returns per-task losses from each step, and reads data through
:mod:`sklearn_mmoe._inputs.tensors`.
"""

import time

import torch
from skorch import NeuralNet

from .._distributed.gradients import GradientReduction
from .._distributed.group import current
from .monitor import StopTraining


class MultiTaskNet(NeuralNet):
    """A ``NeuralNet`` whose steps return per-task losses; epochs record only sums.

    Batches are ``(X, Y, W)`` from :class:`sklearn_mmoe._inputs.tensors.BatchIterator`,
    ``W`` the per-task row weights or None. History keeps, per epoch, ``train_loss``
    (the training objective: the weighted sum over tasks of each task's weighted mean
    loss, plus the load-balancing term when it is weighted), ``valid_loss`` (the
    weighted sum over tasks, with the fixed weights: see
    :meth:`MultiTaskLoss.objective`), ``task_weights`` (each task's weight in the
    objective after the epoch), ``train_task_losses`` / ``valid_task_losses`` (one
    float per task; NaN for a task without a label in that part of the data) and
    ``dur``, the epoch's seconds.

    Callbacks hear of every batch (``on_batch_begin`` and ``on_batch_end``, with
    ``training`` and the step's results) as skorch's own loop tells them; a callback
    with an ``on_train_abort(net)`` method hears of a run that raised (a
    ``KeyboardInterrupt`` included, which propagates).
    """

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, except that a ``KeyboardInterrupt`` (a user's
        Ctrl-C) propagates; :class:`StopTraining` ends training early instead."""
        if not self.initialized_:
            self.initialize()
        # a data-parallel fit adds each step's gradients over the ranks: a reduction
        # of this run's own (it learns which gradients are sparse on its first step)
        group = current()
        self._reduction = GradientReduction(group) if group.world > 1 else None
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, _routing_method="partial_fit", **fit_params)
        except StopTraining:
            pass
        except BaseException:
            for _, callback in self.callbacks_:
                abort = getattr(callback, "on_train_abort", None)
                if abort is not None:
                    abort(self)
            raise
        finally:
            del self._reduction  # it holds the fit's group: not kept
        self.notify("on_train_end", X=X, y=y)
        return self

    def get_iterator(self, dataset, training=False):
        # A rank of a data-parallel fit takes the steps every rank takes together.
        iterator = super().get_iterator(dataset, training)
        if training and current().world > 1:
            iterator.steps = self.steps_per_epoch(dataset)
        return iterator

    def steps_per_epoch(self, dataset):
        """Optimiser steps of an epoch over ``dataset`` (each rank's part of the
        training rows, in a data-parallel fit): batches of ``batch_size`` rows of
        them all."""
        return max(1, -(-int(current().sum(len(dataset))) // self.batch_size))

    def get_default_callbacks(self):
        # EpochTimer, PassthroughScoring and PrintLog: the net times its epochs, the
        # estimator's callbacks stop, keep and report.
        return []

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, net, **kwargs):
        # skorch's name for an epoch's seconds; the net's own hook runs first
        self.history.record("dur", time.perf_counter() - self._epoch_started)
        del self._epoch_started  # a time of this process's clock: not kept

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

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        rows = len(batch[0])
        if rows:
            step = self._step(batch, training=True)
            step["loss"].backward()
        else:  # a rank of a data-parallel fit with no rows left for this step
            step = self._empty_step()
        if self._reduction is not None:
            self._reduction((p for _, p in self.get_all_learnable_params()), rows)
        return step

    def _empty_step(self):
        """A step of no rows: no loss, nothing to add to the epoch's sums."""
        zero = torch.zeros((), device=self.device)
        n_tasks = len(self.criterion_.kinds)
        return {
            "loss": zero,
            "task_sums": torch.zeros(n_tasks, device=self.device),
            "task_counts": 0,
            "balance": None,
            "y_pred": None,
        }

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            return self._step(batch, training=False)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        # Sums stay on the device; one synchronisation per epoch, none per batch.
        sums, counts, balance, n_rows = 0.0, 0.0, 0.0, 0
        balance_weighted = self.criterion_.balance_weight > 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            sums = sums + step["task_sums"].detach()
            counts = counts + step["task_counts"]
            if step["balance"] is not None:
                balance = balance + step["balance"].detach() * len(batch[0])
            n_rows += len(batch[0])
            self.notify("on_batch_end", batch=batch, training=training, **step)
        group = current()
        if group.world > 1:  # the epoch's totals over every rank's rows
            if not torch.is_tensor(sums):  # this rank had no rows to validate
                sums = torch.zeros(len(self.criterion_.kinds), device=self.device)
            sums, counts, balance, n_rows = _epoch_totals(
                group, sums, counts, balance, n_rows
            )
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


def _epoch_totals(group, sums, counts, balance, n_rows):
    """An epoch's loss sums, label counts, balance sum and rows, added over the
    ranks in one exchange (in rank order: every rank decides the same from
    them)."""
    sums_ = sums.detach().double().cpu().reshape(-1)
    n_tasks = len(sums_)
    counts_ = torch.as_tensor(counts, dtype=torch.float64).cpu().reshape(-1)
    counts_ = counts_.expand(n_tasks) if len(counts_) == 1 else counts_
    balance_ = torch.as_tensor(balance, dtype=torch.float64).cpu().reshape(1)
    mine = torch.cat([sums_, counts_, balance_, torch.tensor([float(n_rows)])])
    total = torch.from_numpy(group.sum(mine.numpy()))
    as_sums = dict(dtype=sums.dtype, device=sums.device)
    return (
        total[:n_tasks].to(**as_sums),
        total[n_tasks : 2 * n_tasks].to(**as_sums),
        total[2 * n_tasks].to(**as_sums),
        int(total[-1]),
    )
