"""The learning rate's multiplier at each optimiser step (a warm-up, then half a
cosine), and the callback that sets the rate before every step."""

import math

from skorch.callbacks import Callback


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


class LearningRateScheduler(Callback):
    """Sets the learning rate before every training step, and counts the steps.

    The rate is the net's ``lr`` times the :class:`LearningRateSchedule`'s
    multiplier at the step (times each parameter group's ``lr_scale``); the
    schedule spreads over the net's ``max_epochs`` epochs, or over
    ``schedule_epochs`` when given (a refit trains the first epochs of a longer
    schedule at their rates). Each training run (a fit, a ``partial_fit`` pass)
    starts it again; a ``"constant"`` run (a ``partial_fit`` pass after a fit)
    trains at ``lr`` from its first step. Fitted: ``schedule_`` (None for
    ``"constant"``) and ``n_steps_``, the optimiser steps taken.

    Parameters
    ----------
    kind : {"cosine", "constant"}
        The schedule's shape; ``"constant"`` leaves the rate at ``lr``.
    warmup : float
        Fraction of the budget spent warming up.
    schedule_epochs : int or None
        The epochs the schedule spreads over, if not the net's ``max_epochs``.
    """

    def __init__(self, kind="constant", warmup=0.0, schedule_epochs=None):
        self.kind = kind
        self.warmup = warmup
        self.schedule_epochs = schedule_epochs

    def on_train_begin(self, net, **kwargs):
        self.schedule_ = None  # built on the first epoch, which knows its size
        self.n_steps_ = 0
        if self.kind == "constant":  # at lr, not where an earlier run's schedule ended
            for group in net.optimizer_.param_groups:
                group["lr"] = net.lr * group.get("lr_scale", 1.0)

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.schedule_ is None and self.kind != "constant":
            per_epoch = net.steps_per_epoch(dataset_train)
            epochs = self.schedule_epochs or net.max_epochs
            self.schedule_ = LearningRateSchedule(
                self.kind, per_epoch * epochs, self.warmup
            )

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        if self.schedule_ is not None:
            lr = net.lr * self.schedule_(self.n_steps_)
            for group in net.optimizer_.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
        self.n_steps_ += 1
