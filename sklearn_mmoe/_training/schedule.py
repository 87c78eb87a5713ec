"""The learning rate's multiplier at each optimiser step: a warm-up, then half a
cosine."""

import math


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
